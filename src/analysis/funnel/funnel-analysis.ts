/**
 * The funnel analysis: per step, the users who reached it as of asOf, conversion, drop-off
 * and the time from the previous step, overall or per group of a breakdown, optionally
 * restricted to a segment's members (both as of the same asOf).
 *
 * Definitions (README "Funnels"):
 * - K, per user, is the furthest step reached (funnel-sql.ts gives the rule per order;
 *   sequential order is exactly the segment language's `funnel` condition). A user
 *   "reached step k" when K >= k; users who never entered (K = 0) are not counted.
 * - Times come from one attempt per user: the earliest start among those reaching K.
 *   "Time from the previous step" at step k is c_k - c_{k-1} of that attempt, over users
 *   with K >= k, as exact quantiles (p25, median, p75; linear interpolation between ranks,
 *   DuckDB's quantile_cont).
 */
import { StrataError } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { SegmentRegistry } from '../../segments/registry/index.js';
import { byteOrder, toNullableNumber, toNumber } from '../../segments/registry/registry-sql.js';
import type { EventStore, Row } from '../../store/event-store.js';
import { formatInstant } from '../../time/time.js';
import { bindBreakdown, resolveBreakdown, type BoundBreakdown } from '../breakdown.js';
import type { FunnelDefinition, FunnelDocument, FunnelOrder } from './funnel-definition.js';
import { addFrequency, quantilesOf, type FrequencyTable } from './funnel-quantiles.js';
import { FUNNEL_COLUMNS, QUANTILE_FRACTIONS, funnelFrequencySql, funnelTableSql, quantilesInSql, type FunnelQuery } from './funnel-sql.js';

export interface FunnelOptions {
  /** The instant the funnel is evaluated as of (only events before it exist). */
  readonly asOfMs: number;
  /** `--segment KEY`: only the segment's members as of asOf. */
  readonly segment?: string;
  /** `--by NAME`: trait:T, segment:KEY or a bare name (src/analysis/breakdown.ts). */
  readonly by?: string;
}

/** Milliseconds from the previous step: quartiles over the users who reached the step. */
export interface StepTimes {
  readonly p25: number;
  readonly median: number;
  readonly p75: number;
}

export interface FunnelStepResult {
  /** 1-based. */
  readonly step: number;
  readonly label: string;
  /** Users with K >= step. */
  readonly reached: number;
  /** reached / reached at the previous step; null at step 1 or when no one reached the previous step. */
  readonly conversionFromPrevious: number | null;
  /** reached / reached at step 1; null when no one entered. */
  readonly conversionFromFirst: number | null;
  /** Users who reached the previous step but not this one (K = step - 1); null at step 1. */
  readonly droppedOff: number | null;
  /** Null at step 1 and when no one reached the step. */
  readonly timeFromPrevious: StepTimes | null;
}

export interface FunnelGroupResult {
  /** The breakdown's group (a trait value, `(none)`, `member` or `non-member`); null without a breakdown. */
  readonly group: string | null;
  readonly steps: readonly FunnelStepResult[];
}

export interface FunnelResult {
  readonly asOf: string;
  readonly name: string | null;
  readonly order: FunnelOrder;
  readonly span: string;
  /** The entry window as written, or null (all history). */
  readonly window: FunnelDocument['window'];
  readonly steps: readonly { readonly step: number; readonly label: string }[];
  readonly segment: { readonly key: string; readonly snapshotId: number; readonly size: number } | null;
  readonly by: string | null;
  /** One group without a breakdown; with one, every group with at least one user entering, largest first. */
  readonly groups: readonly FunnelGroupResult[];
}

/**
 * Run the funnel. The store must hold the plan's columns (openStore applies the plan).
 * @example
 *   const funnel = funnelFromArguments({ steps: ['signed_up', 'core_task_completed'], span: '7d', within: '90d' }, plan);
 *   const result = await analyzeFunnel(store, registry, plan, funnel, { asOfMs: Date.now(), by: 'plan' });
 *   result.groups[0].steps[1].conversionFromFirst // 0.42
 */
export async function analyzeFunnel(store: EventStore, registry: SegmentRegistry, plan: TrackingPlan, funnel: FunnelDefinition, options: FunnelOptions): Promise<FunnelResult> {
  const { asOfMs } = options;
  if (!Number.isSafeInteger(asOfMs)) throw new StrataError('INPUT_INVALID', `asOf must be whole epoch milliseconds, got ${asOfMs}`);
  let breakdown: BoundBreakdown | null = null;
  if (options.by !== undefined) {
    const keys = (await registry.list()).map((s) => s.key);
    breakdown = await bindBreakdown(resolveBreakdown(options.by, plan, keys), registry, asOfMs);
  }
  const restriction = options.segment === undefined ? null : await registry.snapshot(options.segment, { asOfMs });
  const query: FunnelQuery = {
    steps: funnel.steps,
    spanMs: funnel.spanMs,
    window: funnel.window,
    order: funnel.order,
    asOfMs,
    memberSnapshotId: restriction?.snapshotId ?? null,
    breakdown,
  };
  // Every part gets the same kind of query (the store's parts share one dialect and count).
  const mode = { inSql: false };
  const rows = await store.queryByUser((d, target) => {
    mode.inSql = quantilesInSql(d, target.parts);
    return mode.inSql ? funnelTableSql(d, query) : funnelFrequencySql(d, query);
  });
  const n = funnel.steps.length;
  const tallies = mode.inSql ? talliesFromTable(rows, n, breakdown !== null) : talliesFromFrequencies(rows, n, breakdown !== null);
  const groups = [...tallies.entries()]
    .map(([group, t]) => ({ group, steps: stepResults(funnel, t) }))
    .filter((g) => breakdown === null || g.steps[0]!.reached > 0)
    .sort((a, b) => b.steps[0]!.reached - a.steps[0]!.reached || byteOrder(a.group ?? '', b.group ?? ''));
  return {
    asOf: formatInstant(asOfMs),
    name: funnel.document.name ?? null,
    order: funnel.order,
    span: funnel.document.span,
    window: funnel.document.window,
    steps: funnel.labels.map((label, i) => ({ step: i + 1, label })),
    segment: restriction === null ? null : { key: options.segment!, snapshotId: restriction.snapshotId, size: restriction.size },
    by: breakdown?.label ?? null,
    groups: groups.length > 0 || breakdown !== null ? groups : [{ group: null, steps: stepResults(funnel, emptyTally(n)) }],
  };
}

/** Per group: users reached per step, and per step (from 2) either quantiles or a frequency table. */
interface Tally {
  readonly reached: number[];
  readonly quantiles: (number[] | null)[];
}

function emptyTally(n: number): Tally {
  return { reached: Array.from({ length: n }, () => 0), quantiles: Array.from({ length: n }, () => null) };
}

function groupOf(row: Row, grouped: boolean): string | null {
  return grouped ? String(row[FUNNEL_COLUMNS.group]) : null;
}

/** Rows of funnelTableSql: one per group (per part, but a store with quantiles in SQL answers in one part). */
function talliesFromTable(rows: readonly Row[], n: number, grouped: boolean): Map<string | null, Tally> {
  const out = new Map<string | null, Tally>();
  for (const row of rows) {
    const tally = emptyTally(n);
    for (let j = 1; j <= n; j++) tally.reached[j - 1] = toNumber(row[FUNNEL_COLUMNS.reached(j)]);
    for (let j = 2; j <= n; j++) {
      const q = row[FUNNEL_COLUMNS.quantiles(j)];
      tally.quantiles[j - 1] = Array.isArray(q) ? q.map((x) => toNumber(x)) : null;
    }
    out.set(groupOf(row, grouped), tally);
  }
  return out;
}

/** Rows of funnelFrequencySql from every part: counts add up, quantiles come from the merged tables. */
function talliesFromFrequencies(rows: readonly Row[], n: number, grouped: boolean): Map<string | null, Tally> {
  const merged = new Map<string | null, { reached: number[]; tables: FrequencyTable[] }>();
  for (const row of rows) {
    const group = groupOf(row, grouped);
    let m = merged.get(group);
    if (!m) merged.set(group, (m = { reached: Array.from({ length: n }, () => 0), tables: Array.from({ length: n }, () => new Map()) }));
    const k = toNumber(row[FUNNEL_COLUMNS.level]);
    const users = toNumber(row[FUNNEL_COLUMNS.users]);
    for (let j = 1; j <= Math.min(k, n); j++) {
      m.reached[j - 1]! += users;
      if (j >= 2) {
        const delta = toNullableNumber(row[FUNNEL_COLUMNS.delta(j)]);
        if (delta === null) throw new StrataError('INTERNAL', `funnel frequency row with K = ${k} lacks the time to step ${j}`);
        addFrequency(m.tables[j - 1]!, delta, users);
      }
    }
  }
  const out = new Map<string | null, Tally>();
  for (const [group, m] of merged) out.set(group, { reached: m.reached, quantiles: m.tables.map((t, i) => (i === 0 ? null : quantilesOf(t, QUANTILE_FRACTIONS))) });
  return out;
}

function stepResults(funnel: FunnelDefinition, t: Tally): FunnelStepResult[] {
  const first = t.reached[0] ?? 0;
  return funnel.labels.map((label, i) => {
    const reached = t.reached[i]!;
    const previous = i === 0 ? null : t.reached[i - 1]!;
    const q = t.quantiles[i];
    return {
      step: i + 1,
      label,
      reached,
      conversionFromPrevious: previous === null || previous === 0 ? null : reached / previous,
      conversionFromFirst: first === 0 ? null : reached / first,
      droppedOff: previous === null ? null : previous - reached,
      timeFromPrevious: i === 0 || q === null || q === undefined ? null : { p25: q[0]!, median: q[1]!, p75: q[2]! },
    };
  });
}
