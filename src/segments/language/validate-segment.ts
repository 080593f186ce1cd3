/**
 * Validation of a whole segment definition: the envelope (key, name, objective,
 * rationale, owner, tags) and its one condition, against the language and the tracking
 * plan. Every error is collected before anything is thrown, so an author fixes a file in
 * one pass rather than one error per run.
 */
import { StrataError, type ErrorDetail } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { LifecycleModel } from '../../analysis/lifecycle/lifecycle-model.js';
import type { Condition } from '../ir/nodes.js';
import { ConditionChecker, isRecord, type CheckedCondition } from './condition-checker.js';
import { targetingPlanErrors, type ConsentDefaults } from './consent-check.js';
import type { ModelKindName, Objective, SegmentDefinition, SegmentPurpose } from './definition.js';
import { show } from './messages.js';
import { ENVELOPE_SCHEMA } from './schemas.js';
import { schemaErrors } from './schema-errors.js';

/**
 * What a definition is checked and lowered against besides the plan: the workspace's
 * lifecycle model, which `{lifecycle: STAGE}` refers to (the default model when absent).
 */
export interface SegmentContext {
  readonly lifecycle?: LifecycleModel;
  /**
   * The stored models, key -> kind (`modelCatalogue(store)` in src/models/registry):
   * `{score: MODEL}` must name a churn or propensity model of it, `{cluster: MODEL}` a
   * personas model. Absent: no model is stored, so every such condition is an error.
   */
  readonly models?: ReadonlyMap<string, ModelKindName>;
  /**
   * Consent a user without any `$consent` record has, per purpose (Config.privacy.consentDefaults):
   * what `{consent: PURPOSE}` and a targeting segment's consent read then. Absent: the built-in defaults.
   */
  readonly consentDefaults?: ConsentDefaults;
  /**
   * The definition was read back from the store: a version stored before `owner` became
   * required (issue 7) still loads (and shows its owner as "(none)"); new definitions never set this.
   */
  readonly storedDefinition?: boolean;
}

export interface CheckedSegment {
  readonly definition: SegmentDefinition;
  readonly root: CheckedCondition;
}

/**
 * Check a raw definition (from parseSegmentText, JSON, or a stored version) and return
 * it as a SegmentDefinition; throws SEGMENT_INVALID listing every error with its path.
 *
 * @example
 *   validateSegment({ key: 'buyers', name: 'Buyers', objective: 'monetization',
 *     rationale: 'Upsell target', owner: 'growth', match: { did: 'purchase', within: '30d' } }, plan)
 */
export function validateSegment(raw: unknown, plan: TrackingPlan, context: SegmentContext = {}): SegmentDefinition {
  return checkSegment(raw, plan, context).definition;
}

/** validateSegment plus the typed condition tree that buildSegmentIR lowers. */
export function checkSegment(input: unknown, plan: TrackingPlan, context: SegmentContext = {}): CheckedSegment {
  const raw = withoutUndefined(input);
  if (!isRecord(raw)) {
    throw new StrataError('SEGMENT_INVALID', 'the segment definition is invalid', [
      { message: `expected a segment definition: a mapping with key, name, objective, rationale, owner and match, got ${show(raw)}` },
    ]);
  }
  const checker = new ConditionChecker(plan, {
    ...(context.lifecycle ? { lifecycle: context.lifecycle } : {}),
    ...(context.models ? { models: context.models } : {}),
    ...(context.consentDefaults ? { consentDefaults: context.consentDefaults } : {}),
  });
  const root = Object.hasOwn(raw, 'match') ? checker.check(raw.match, 'match') : undefined;
  const errors = dedupe([...envelopeErrors(raw, context), ...targetingPlanErrors(raw, plan), ...checker.errors]);

  const key = typeof raw.key === 'string' && raw.key !== '' ? raw.key : undefined;
  if (errors.length > 0) {
    const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
    throw new StrataError('SEGMENT_INVALID', `${key !== undefined ? `segment ${JSON.stringify(key)}` : 'the segment definition'} is invalid (${count})`, errors);
  }
  if (!root) {
    throw new StrataError('INTERNAL', `segment ${JSON.stringify(key)}: the condition checker produced no condition and no error`);
  }

  const definition: SegmentDefinition = {
    key: raw.key as string,
    name: raw.name as string,
    objective: raw.objective as Objective,
    rationale: raw.rationale as string,
    ...(typeof raw.owner === 'string' ? { owner: raw.owner } : {}),
    ...(Array.isArray(raw.tags) ? { tags: [...(raw.tags as string[])] } : {}),
    ...(typeof raw.purpose === 'string' ? { purpose: raw.purpose as SegmentPurpose } : {}),
    // `raw` is a private copy: the caller's object may change after validation, the definition may not.
    match: raw.match,
  };
  return { definition, root };
}

/** The envelope's errors; a stored version without an owner (it predates the requirement) is not one. */
function envelopeErrors(raw: Record<string, unknown>, context: SegmentContext): ErrorDetail[] {
  const errors = schemaErrors(ENVELOPE_SCHEMA, raw, '');
  if (context.storedDefinition !== true || Object.hasOwn(raw, 'owner')) return errors;
  return errors.filter((e) => e.path !== 'owner');
}

/**
 * A bare condition document (no envelope) checked against the plan, reporting errors
 * under `path`: the lifecycle model's stages are checked with it. `stageCondition` forbids
 * `segment` and `lifecycle` conditions, so the result holds no references and is IR.
 */
export function checkConditionDocument(
  raw: unknown,
  plan: TrackingPlan,
  path: string,
  options: {
    readonly lifecycle?: LifecycleModel;
    readonly stageCondition?: boolean;
    readonly models?: ReadonlyMap<string, ModelKindName>;
    readonly consentDefaults?: ConsentDefaults;
  } = {},
): { readonly condition: Condition | undefined; readonly errors: readonly ErrorDetail[] } {
  const checker = new ConditionChecker(plan, options);
  const checked = checker.check(withoutUndefined(raw), path);
  const errors = dedupe(checker.errors);
  if (errors.length > 0 || !checked) return { condition: undefined, errors };
  if (containsReference(checked)) {
    return { condition: undefined, errors: [{ path, message: 'expected a condition without {segment: KEY} references' }] };
  }
  return { condition: checked as Condition, errors };
}

function containsReference(c: CheckedCondition): boolean {
  if (c.kind === 'segmentRef') return true;
  if (c.kind === 'and' || c.kind === 'or') return c.children.some(containsReference);
  if (c.kind === 'not') return containsReference(c.child);
  return false;
}

/**
 * A copy of plain data without undefined-valued keys: a definition built in code with
 * `owner: undefined` means the same as one without an owner, as it would after JSON.
 */
export function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (!isRecord(value) || (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)) return value;
  // fromEntries defines own properties, so a "__proto__" key stays data (and is then reported as unknown).
  return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : [[k, withoutUndefined(v)]])));
}

/** The errors without repeats of the same path and message. */
export function dedupe(errors: readonly ErrorDetail[]): ErrorDetail[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const id = `${e.path ?? ''}\u0000${e.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
