/**
 * Retention tables: cohorts of users by the period of their start (first seen, or their
 * first start event), and for each period k after it the users who came back.
 *
 * Semantics (README "Retention"):
 * - Period k of a user: calendar alignment, the k-th calendar period after the cohort's
 *   (period 0 is the cohort's own period, from the start instant on); elapsed alignment,
 *   [start + k unit, start + (k+1) unit) (days and weeks only).
 * - A return is a return event at or after the start instant and before asOf; the start
 *   event itself is one when it matches the return event (so with the default `*`,
 *   period 0 is always 100%).
 * - returned[k]: users with a return in period k. onOrAfter[k]: users with a return in
 *   period k or any later period before asOf.
 * - A cell is present once its period has started for some possible member before asOf,
 *   and complete once it has ended for every possible member (calendar: the period
 *   [P(c+k), P(c+k+1)) ends by asOf; elapsed: the last instant of the cohort's start range
 *   plus (k+1) units is at most asOf). Incomplete cells can still grow.
 * - `overall[k]`: over the cohorts whose cell k is complete, users counted / cohort sizes.
 */
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { SegmentRegistry } from '../../segments/registry/index.js';
import { byteOrder, toNumber } from '../../segments/registry/registry-sql.js';
import type { EventStore } from '../../store/event-store.js';
import { bindBreakdown, defaultGroup, resolveBreakdown, type BoundBreakdown } from '../breakdown.js';
import { FIXED_UNIT_MS, periodLabel, periodStartMs, type CohortUnit } from './periods.js';
import { checkRetentionDefinition, describeEventFilter, type Alignment, type RetentionMode, type RetentionSpec } from './retention-definition.js';
import { ALL_GROUP, ROW_KIND, retentionSql } from './retention-sql.js';

export interface RetentionCell {
  readonly period: number;
  /** Calendar alignment: the period's first instant (ISO); elapsed: null (each user's own). */
  readonly periodStart: string | null;
  /** False while the period has not ended for every possible member at asOf. */
  readonly complete: boolean;
  /** Mode returned or both. */
  readonly returned?: number;
  readonly returnedRate?: number;
  /** Mode on-or-after or both. */
  readonly onOrAfter?: number;
  readonly onOrAfterRate?: number;
}

export interface RetentionCohort {
  /** `2024-05-01`, `2024-W18` or `2024-05`. */
  readonly cohort: string;
  /** The cohort period [start, end) (ISO). */
  readonly start: string;
  readonly end: string;
  readonly size: number;
  readonly cells: readonly RetentionCell[];
}

/** Period k over the cohorts whose cell k is complete. */
export interface RetentionOverallCell {
  readonly period: number;
  readonly cohorts: number;
  readonly users: number;
  readonly returned?: number;
  readonly returnedRate?: number;
  readonly onOrAfter?: number;
  readonly onOrAfterRate?: number;
}

export interface RetentionGroup {
  /** `all` without a breakdown; else the trait value or member / non-member. */
  readonly group: string;
  readonly size: number;
  readonly cohorts: readonly RetentionCohort[];
  readonly overall: readonly RetentionOverallCell[];
}

export interface RetentionResult {
  readonly asOf: string;
  readonly cohort: CohortUnit;
  readonly alignment: Alignment;
  readonly periods: number;
  readonly mode: RetentionMode;
  /** null: first seen. */
  readonly startEvent: { readonly event: string; readonly where: readonly string[] } | null;
  readonly returnEvent: { readonly event: string; readonly where: readonly string[] };
  readonly from: string | null;
  readonly to: string;
  /** `trait plan`, `segment power-users`; null without --by. */
  readonly breakdown: string | null;
  readonly segment: { readonly key: string; readonly snapshotId: number } | null;
  readonly groups: readonly RetentionGroup[];
}

export interface RetentionContext {
  readonly store: EventStore;
  readonly plan: TrackingPlan;
  /** For `by` (segment keys, snapshots) and `segment`. */
  readonly registry: SegmentRegistry;
}

/**
 * Check a retention definition (RetentionDefinition, e.g. from a file) and compute its
 * table as of asOf. `where` locates a definition path for error messages.
 */
export async function computeRetention(ctx: RetentionContext, definition: unknown, options: { readonly asOfMs: number; readonly where?: (path: string) => string }): Promise<RetentionResult> {
  const spec = checkRetentionDefinition(definition, ctx.plan, options.asOfMs, options.where);
  return retentionTable(ctx, spec, options.asOfMs);
}

/** The table of a checked definition. */
export async function retentionTable(ctx: RetentionContext, spec: RetentionSpec, asOfMs: number): Promise<RetentionResult> {
  let breakdown: BoundBreakdown | null = null;
  if (spec.by !== null) {
    const keys = (await ctx.registry.list()).map((s) => s.key);
    breakdown = await bindBreakdown(resolveBreakdown(spec.by, ctx.plan, keys), ctx.registry, asOfMs);
  }
  const member = spec.segment === null ? null : await ctx.registry.snapshot(spec.segment, { asOfMs });
  const rows = await ctx.store.queryByUser((d) => retentionSql(d, { spec, asOfMs, breakdown, memberSnapshotId: member?.snapshotId ?? null }));
  const counts = sumParts(rows);
  return {
    asOf: new Date(asOfMs).toISOString(),
    cohort: spec.cohort,
    alignment: spec.alignment,
    periods: spec.periods,
    mode: spec.mode,
    startEvent: spec.start === null ? null : describeEventFilter(spec.start),
    returnEvent: describeEventFilter(spec.returnEvent),
    from: spec.fromMs === null ? null : new Date(spec.fromMs).toISOString(),
    to: new Date(spec.toMs).toISOString(),
    breakdown: breakdown?.label ?? null,
    segment: member === null ? null : { key: spec.segment!, snapshotId: member.snapshotId },
    groups: assembleGroups(counts, spec, asOfMs, breakdown),
  };
}

/** Counts by group, cohort key, kind and period, summed over the parts of a sharded store. */
type Counts = Map<string, Map<number, { size: number; returned: Map<number, number>; lastReturn: Map<number, number> }>>;

function sumParts(rows: readonly Record<string, unknown>[]): Counts {
  const out: Counts = new Map();
  for (const r of rows) {
    const group = String(r.grp);
    const cp = toNumber(r.cp);
    const k = toNumber(r.k);
    const n = toNumber(r.n);
    let cohorts = out.get(group);
    if (!cohorts) out.set(group, (cohorts = new Map()));
    let c = cohorts.get(cp);
    if (!c) cohorts.set(cp, (c = { size: 0, returned: new Map(), lastReturn: new Map() }));
    const kind = toNumber(r.kind);
    if (kind === ROW_KIND.size) c.size += n;
    else {
      const m = kind === ROW_KIND.returned ? c.returned : c.lastReturn;
      m.set(k, (m.get(k) ?? 0) + n);
    }
  }
  return out;
}

function assembleGroups(counts: Counts, spec: RetentionSpec, asOfMs: number, breakdown: BoundBreakdown | null): RetentionGroup[] {
  const fallback = breakdown === null ? ALL_GROUP : defaultGroup(breakdown);
  const names = [...counts.keys()].sort((a, b) => (a === fallback ? 1 : b === fallback ? -1 : byteOrder(a, b)));
  return names.map((group) => {
    const cohorts = [...counts.get(group)!]
      .filter(([, c]) => c.size > 0)
      .sort(([a], [b]) => a - b)
      .map(([key, c]) => cohortRow(key, c, spec, asOfMs));
    return { group, size: cohorts.reduce((s, c) => s + c.size, 0), cohorts, overall: overallRow(cohorts, spec) };
  });
}

function cohortRow(key: number, c: { size: number; returned: Map<number, number>; lastReturn: Map<number, number> }, spec: RetentionSpec, asOfMs: number): RetentionCohort {
  const start = periodStartMs(spec.cohort, key);
  const end = periodStartMs(spec.cohort, key + 1);
  const withReturned = spec.mode !== 'on-or-after';
  const withOnOrAfter = spec.mode !== 'returned';
  const cells: RetentionCell[] = [];
  // On or after k: users whose last period with a return is k or later.
  let later = [...c.lastReturn].filter(([k]) => k > spec.periods).reduce((s, [, n]) => s + n, 0);
  const onOrAfter: number[] = [];
  for (let k = spec.periods; k >= 0; k--) {
    later += c.lastReturn.get(k) ?? 0;
    onOrAfter[k] = later;
  }
  for (let k = 0; k <= spec.periods; k++) {
    const timing = cellTiming(spec, key, k, asOfMs);
    if (timing === null) break;
    const returned = c.returned.get(k) ?? 0;
    cells.push({
      period: k,
      periodStart: timing.periodStartMs === null ? null : new Date(timing.periodStartMs).toISOString(),
      complete: timing.complete,
      ...(withReturned ? { returned, returnedRate: returned / c.size } : {}),
      ...(withOnOrAfter ? { onOrAfter: onOrAfter[k]!, onOrAfterRate: onOrAfter[k]! / c.size } : {}),
    });
  }
  return { cohort: periodLabel(spec.cohort, key), start: new Date(start).toISOString(), end: new Date(end).toISOString(), size: c.size, cells };
}

/**
 * When cell k of cohort `key` exists at asOf (null: not yet) and whether it is complete
 * (see the header). Elapsed cells use the cohort's range of possible start instants: the
 * cohort period cut to [from, to).
 */
export function cellTiming(spec: RetentionSpec, key: number, k: number, asOfMs: number): { periodStartMs: number | null; complete: boolean } | null {
  if (spec.alignment === 'calendar') {
    const begin = periodStartMs(spec.cohort, key + k);
    if (begin >= asOfMs) return null;
    return { periodStartMs: begin, complete: periodStartMs(spec.cohort, key + k + 1) <= asOfMs };
  }
  const unit = FIXED_UNIT_MS[spec.cohort as 'day' | 'week'];
  const earliest = Math.max(periodStartMs(spec.cohort, key), spec.fromMs ?? -Infinity);
  const latest = Math.min(periodStartMs(spec.cohort, key + 1), spec.toMs) - 1;
  if (earliest + k * unit >= asOfMs) return null;
  return { periodStartMs: null, complete: latest + (k + 1) * unit <= asOfMs };
}

function overallRow(cohorts: readonly RetentionCohort[], spec: RetentionSpec): RetentionOverallCell[] {
  const out: RetentionOverallCell[] = [];
  for (let k = 0; k <= spec.periods; k++) {
    const cells = cohorts.flatMap((c) => {
      const cell = c.cells[k];
      return cell?.complete ? [{ size: c.size, cell }] : [];
    });
    if (cells.length === 0) continue;
    const users = cells.reduce((s, x) => s + x.size, 0);
    const returned = cells.reduce((s, x) => s + (x.cell.returned ?? 0), 0);
    const onOrAfter = cells.reduce((s, x) => s + (x.cell.onOrAfter ?? 0), 0);
    out.push({
      period: k,
      cohorts: cells.length,
      users,
      ...(spec.mode !== 'on-or-after' ? { returned, returnedRate: returned / users } : {}),
      ...(spec.mode !== 'returned' ? { onOrAfter, onOrAfterRate: onOrAfter / users } : {}),
    });
  }
  return out;
}
