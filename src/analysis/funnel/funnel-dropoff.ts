/**
 * A drop-off step saved as a segment: the users who reached step K-1 but not step K are
 * exactly those whose furthest step is K-1, which is the segment language's
 * `{funnel: STEPS, span: D, reached: {eq: K-1}, <window>}` (restricted to `{segment: KEY}`
 * when the analysis was). Its size as of the analysis's asOf equals the analysis's drop-off
 * at step K. Strict and any order have no `funnel` condition to express them, so they
 * cannot be saved.
 */
import { LIBRARY_ACTOR } from '../../governance/audit-log.js';
import { StrataError } from '../../errors/errors.js';
import type { SegmentDefinition } from '../../segments/language/index.js';
import type { AddResult, SegmentRegistry, SnapshotSummary } from '../../segments/registry/index.js';
import type { FunnelDefinition } from './funnel-definition.js';

export interface DropoffOptions {
  /** K: save the users who reached step K-1 and not step K (2 <= K <= number of steps). */
  readonly step: number;
  readonly key: string;
  /** Default: "Dropped at step K (<step>) of <funnel>". */
  readonly name?: string;
  /** The analysis's `--segment`: the saved segment is restricted to it too. */
  readonly segment?: string;
  /** Who is accountable for the saved segment (segments require an owner), and who saves it, for the audit log. Default `library`. */
  readonly actor?: string;
}

export interface DropoffSaved extends AddResult {
  readonly step: number;
  readonly definition: SegmentDefinition;
  /** The saved segment's snapshot as of the analysis's asOf. */
  readonly snapshot: SnapshotSummary;
}

/** Check that a drop-off can be saved at all, before any work: sequential order and a step in 2..n. */
export function checkDropoff(funnel: FunnelDefinition, step: number, option = '--save-dropoff'): void {
  if (funnel.order !== 'sequential') {
    throw new StrataError('INPUT_INVALID', `${option}: a funnel in ${funnel.order} order cannot be saved as a segment`, [
      {
        path: option,
        message: `the segment language's funnel condition follows steps in sequential order only (strictly increasing times, other events allowed between); run the funnel with --order sequential to save a drop-off`,
      },
    ]);
  }
  const n = funnel.steps.length;
  if (!Number.isInteger(step) || step < 2 || step > n) {
    throw new StrataError('INPUT_INVALID', `${option} ${step}: expected a step from 2 to ${n} (the users who reached the step before it but not it)`, [
      { path: option, message: n < 2 ? 'a one-step funnel has no drop-off to save' : `expected a whole number from 2 to ${n}` },
    ]);
  }
}

/** The segment definition for a drop-off at `options.step`. */
export function dropoffDefinition(funnel: FunnelDefinition, options: DropoffOptions): SegmentDefinition {
  checkDropoff(funnel, options.step);
  const k = options.step;
  const doc = funnel.document;
  const condition: Record<string, unknown> = { funnel: doc.funnel, span: doc.span, reached: { eq: k - 1 }, ...(doc.window ?? {}) };
  const path = doc.name ?? funnel.labels.join(' -> ');
  const window = doc.window === null ? '' : ` (step 1 ${windowText(doc.window)})`;
  return {
    key: options.key,
    name: options.name ?? `Dropped at step ${k} (${funnel.labels[k - 1]}) of ${path}`,
    objective: 'conversion',
    owner: options.actor ?? LIBRARY_ACTOR,
    rationale:
      `Users who reached step ${k - 1} (${funnel.labels[k - 2]}) of the funnel ${funnel.labels.join(' -> ')} but not step ${k} ` +
      `(${funnel.labels[k - 1]}) within ${doc.span} of step 1${window}${options.segment === undefined ? '' : `, among members of segment ${options.segment}`}: ` +
      'the drop-off to win back. Saved from strata funnel --save-dropoff.',
    tags: ['funnel-dropoff'],
    match: options.segment === undefined ? condition : { all: [{ segment: options.segment }, condition] },
  };
}

/** Store the drop-off segment and compute its snapshot as of `asOfMs`. */
export async function saveDropoffSegment(registry: SegmentRegistry, funnel: FunnelDefinition, options: DropoffOptions & { readonly asOfMs: number }): Promise<DropoffSaved> {
  const definition = dropoffDefinition(funnel, options);
  const [added] = await registry.add([definition], { ...(options.actor !== undefined ? { actor: options.actor } : {}) });
  const snapshot = await registry.snapshot(definition.key, { asOfMs: options.asOfMs });
  return { ...added!, step: options.step, definition, snapshot };
}

function windowText(window: NonNullable<FunnelDefinition['document']['window']>): string {
  if ('within' in window) return `within the last ${window.within}`;
  if ('since' in window) return `since ${window.since}`;
  return `during ${window.during[0]} to ${window.during[1]}`;
}
