/**
 * From a definition to the frozen IR every back end consumes: the definition is checked
 * against the plan again (a stored definition may predate a plan change), and each
 * `{segment: KEY}` is replaced by the referenced segment's own root, so back ends never
 * see references and membership of another segment is evaluated at the same asOf.
 * `{lifecycle: STAGE}` is lowered by the checker to the stage's exclusive condition over
 * the context's lifecycle model (the default model when none is given). A targeting segment
 * (`purpose: personalization | marketing`) becomes AND {consent: purpose} around its root,
 * wherever it is evaluated, referenced segments included, so no back end can miss it.
 */
import { StrataError, isStrataError, type ErrorDetail } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { freezeDeep, type Condition, type SegmentIR } from '../ir/nodes.js';
import type { CheckedCondition } from './condition-checker.js';
import { withTargetingConsent } from './consent-check.js';
import type { SegmentDefinition } from './definition.js';
import { checkSegment, type SegmentContext } from './validate-segment.js';

/** One segment on the way from the root to a reference: its key and where its referrer named it. */
interface Hop {
  readonly key: string;
  readonly referencedAt?: string;
}

/**
 * @example
 *   buildSegmentIR(def, plan, (key) => registry.get(key))
 *   // { key: 'buyers', root: { kind: 'eventCount', filter: { event: 'purchase', where: [] },
 *   //   window: { kind: 'relative', startMs: 2592000000, endMs: 0 }, cmp: { op: 'gte', value: { kind: 'number', value: 1 } } } }
 */
export function buildSegmentIR(
  def: SegmentDefinition,
  plan: TrackingPlan,
  resolve: (key: string) => SegmentDefinition | undefined,
  context: SegmentContext = {},
): SegmentIR {
  const { root } = checkSegment(def, plan, context);
  // A segment referenced twice (a diamond) is checked and lowered once.
  const inlined = new Map<string, Condition>();

  const lower = (node: CheckedCondition, chain: readonly Hop[]): Condition => {
    switch (node.kind) {
      case 'and':
      case 'or':
        return { kind: node.kind, children: node.children.map((c) => lower(c, chain)) };
      case 'not':
        return { kind: 'not', child: lower(node.child, chain) };
      case 'segmentRef':
        return reference(node.key, node.path, chain);
      default:
        return node;
    }
  };

  const reference = (key: string, path: string, chain: readonly Hop[]): Condition => {
    const referrer = chain[chain.length - 1]!.key;
    const start = chain.findIndex((hop) => hop.key === key);
    if (start >= 0) throw cycleError([...chain.slice(start), { key, referencedAt: path }], chain.slice(0, start));
    const done = inlined.get(key);
    if (done) return done;
    const referenced = resolve(key);
    if (!referenced) {
      throw new StrataError('SEGMENT_NOT_FOUND', `segment ${JSON.stringify(key)} does not exist (referenced by segment ${JSON.stringify(referrer)} at ${path})`, [
        { path, message: `no segment with key ${JSON.stringify(key)}; referenced by segment ${JSON.stringify(referrer)}` },
      ]);
    }
    let checked: CheckedCondition;
    try {
      checked = checkSegment(referenced, plan, context).root;
    } catch (e) {
      if (!isStrataError(e) || e.code !== 'SEGMENT_INVALID') throw e;
      throw new StrataError(
        'SEGMENT_INVALID',
        `segment ${JSON.stringify(key)}, referenced by segment ${JSON.stringify(referrer)} at ${path}, is invalid`,
        e.details.map((d): ErrorDetail => ({ ...d, message: `in segment ${JSON.stringify(key)}: ${d.message}` })),
        { cause: e },
      );
    }
    const condition = withTargetingConsent(lower(checked, [...chain, { key, referencedAt: path }]), referenced, context.consentDefaults);
    inlined.set(key, condition);
    return condition;
  };

  return freezeDeep({ key: def.key, root: withTargetingConsent(lower(root, [{ key: def.key }]), def, context.consentDefaults) });
}

/** `cycle` starts and ends with the same key; `lead` is how the root reached it, when the root is not part of it. */
function cycleError(cycle: readonly Hop[], lead: readonly Hop[]): StrataError {
  const names = cycle.map((hop) => hop.key).join(' -> ');
  const reachedFrom = lead.length > 0 ? ` (reached from segment ${JSON.stringify(lead[0]!.key)})` : '';
  const details: ErrorDetail[] = cycle.slice(1).map((hop, i) => ({
    path: hop.referencedAt!,
    message: `segment ${JSON.stringify(cycle[i]!.key)} references ${JSON.stringify(hop.key)}`,
  }));
  return new StrataError('SEGMENT_CYCLE', `segments reference each other in a cycle: ${names}${reachedFrom}`, details);
}
