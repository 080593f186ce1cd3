/**
 * Behaviour per user over a window before asOf, and its sufficient statistics per group
 * of users: what `segment report` compares between members and the population
 * (engagement, conversion, revenue) and what `segment lint` takes its baselines from.
 *
 * Per user (events before asOf only; the window is [asOf - window, asOf)):
 * - frequency: events in the window (0 for a user with none);
 * - active days: distinct UTC days with an event in the window;
 * - depth: distinct event names in the window;
 * - recency: whole days from the user's last event (any time before asOf) to asOf,
 *   floor((asOf - last) / 1d); users without an event have none and are left out;
 * - converted: 1 when the user did the purchase event (with its `where`) in the window;
 * - revenue: the sum of value (x quantity when set) over those purchases, ignoring
 *   purchases where either is missing; 0 for a user with none.
 *
 * The SQL returns sums and sums of squares (n, Σx, Σx²) per group, which add up over the
 * parts of a cluster; means, standard deviations and standardized differences are computed
 * here from the merged sums. Recency's median is exact: the query groups by recency day,
 * so each part returns how many users have each value.
 */
import type { PurchaseSettings } from '../../analysis/rfm/rfm-config.js';
import { StrataError } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { SqlDialect } from '../compile/dialect.js';
import { twoValuedComparison } from '../compile/comparison-sql.js';
import type { EventFilter } from '../ir/nodes.js';
import type { Row } from '../../store/event-store.js';
import { TABLES, propertyColumn } from '../../store/schema.js';
import { MS, formatDuration, formatInstant } from '../../time/time.js';
import { populationWithMembers, toNullableNumber, toNumber } from './registry-sql.js';
import type { BehaviorMetric, BehaviorMetricName, BehaviorReport, GroupValue } from './registry-types.js';

export const DEFAULT_REPORT_WINDOW_MS = 28 * MS.d;

export interface ActivitySettings {
  readonly asOfMs: number;
  readonly windowMs: number;
  /** The purchase event; null: no conversion or revenue columns. */
  readonly purchase: PurchaseSettings | null;
  /** Read all history before asOf for each user's last event (recency); else only the window. */
  readonly recency: boolean;
  /** Count events matching this filter in the window (`core_actions`). */
  readonly coreAction?: EventFilter | null;
  /** Count events in the last `recentMs` before asOf (`recent_events`). */
  readonly recentMs?: number | null;
}

const EVENTS_ALIAS = 'e';

/**
 * Throws unless the window is a positive whole number of ms and the purchase event and
 * its value and quantity are numbers declared in the plan (strata.yaml's `rfm:` parser
 * checks the same; library callers may pass anything).
 */
export function checkActivitySettings(s: ActivitySettings, plan: TrackingPlan): void {
  if (!(Number.isSafeInteger(s.windowMs) && s.windowMs > 0)) {
    throw new StrataError('INPUT_INVALID', `the behaviour window must be a positive duration, got ${s.windowMs} ms`, [{ path: 'window', message: 'expected a duration such as 28d' }]);
  }
  if (s.purchase !== null) checkPurchaseSettings(s.purchase, plan, 'rfm');
}

/** Throws unless the purchase event is declared and its value and quantity are number properties of it; paths start with `prefix`. */
export function checkPurchaseSettings(p: PurchaseSettings, plan: TrackingPlan, prefix: string): void {
  const spec = Object.hasOwn(plan.events, p.event) ? plan.events[p.event]! : undefined;
  if (spec === undefined) {
    throw new StrataError('INPUT_INVALID', `the purchase event "${p.event}" is not in the tracking plan`, [{ path: `${prefix}.event`, message: 'expected a declared event' }]);
  }
  for (const [role, name] of [
    ['value', p.value],
    ['quantity', p.quantity],
  ] as const) {
    if (name === null) continue;
    const type = Object.hasOwn(spec.properties, name) ? spec.properties[name]!.type : undefined;
    if (type !== 'number') {
      throw new StrataError('INPUT_INVALID', `the purchase ${role} "${name}" is not a number property of "${p.event}"`, [
        { path: `${prefix}.${role}`, message: `expected a number property of ${p.event}` },
      ]);
    }
  }
}

function filterSql(d: SqlDialect, filter: EventFilter, asOfMs: number): string {
  const parts = [
    ...(filter.event === null ? [] : [`${EVENTS_ALIAS}.event = ${d.stringLiteral(filter.event)}`]),
    ...filter.where.map((p) => twoValuedComparison(`${EVENTS_ALIAS}.${d.quoteIdentifier(propertyColumn(p.property))}`, true, p.cmp, { dialect: d, asOfMs })),
  ];
  return parts.length === 0 ? d.booleanLiteral(true) : parts.map((p) => `(${p})`).join(' AND ');
}

function purchaseValue(d: SqlDialect, purchase: PurchaseSettings): string | null {
  if (purchase.value === null) return null;
  const col = (name: string) => `${EVENTS_ALIAS}.${d.quoteIdentifier(propertyColumn(name))}`;
  return purchase.quantity === null ? col(purchase.value) : `${col(purchase.value)} * ${col(purchase.quantity)}`;
}

/**
 * A subquery with one row per user who has an event in scope: `user_id`, `events`,
 * `active_days`, `depth`, and as the settings ask `last_ms`, `purchases`, `revenue`,
 * `core_actions`, `recent_events`. Per user: on a cluster it runs on each shard.
 */
export function userActivitySql(d: SqlDialect, s: ActivitySettings): string {
  const start = d.timestampLiteral(s.asOfMs - s.windowMs);
  const inWindow = `${EVENTS_ALIAS}.ts >= ${start}`;
  const and = (a: string, b: string) => `(${a}) AND (${b})`;
  const cols = [
    `${EVENTS_ALIAS}.user_id AS user_id`,
    `${d.aggregate('count', null, inWindow)} AS events`,
    `${d.aggregate('countDistinct', d.utcDay(`${EVENTS_ALIAS}.ts`), inWindow)} AS active_days`,
    `${d.aggregate('countDistinct', `${EVENTS_ALIAS}.event`, inWindow)} AS depth`,
  ];
  if (s.recency) cols.push(`${d.epochMs(`max(${EVENTS_ALIAS}.ts)`)} AS last_ms`);
  if (s.purchase !== null) {
    const bought = and(inWindow, filterSql(d, { event: s.purchase.event, where: s.purchase.where }, s.asOfMs));
    cols.push(`${d.aggregate('count', null, bought)} AS purchases`);
    const value = purchaseValue(d, s.purchase);
    if (value !== null) cols.push(`${d.aggregate('sum', value, bought)} AS revenue`);
  }
  if (s.coreAction) cols.push(`${d.aggregate('count', null, and(inWindow, filterSql(d, s.coreAction, s.asOfMs)))} AS core_actions`);
  if (s.recentMs !== undefined && s.recentMs !== null) {
    cols.push(`${d.aggregate('count', null, `${EVENTS_ALIAS}.ts >= ${d.timestampLiteral(s.asOfMs - s.recentMs)}`)} AS recent_events`);
  }
  const where = [`${EVENTS_ALIAS}.ts < ${d.timestampLiteral(s.asOfMs)}`, ...(s.recency ? [] : [inWindow])];
  return `(SELECT ${cols.join(',\n    ')}
  FROM ${d.table(TABLES.events)} ${EVENTS_ALIAS}
  WHERE ${where.join(' AND ')}
  GROUP BY ${EVENTS_ALIAS}.user_id)`;
}

/** A per-user value after the LEFT JOIN of users to their activity (no activity reads as 0). */
export type ActivityMeasure = 'events' | 'activeDays' | 'depth' | 'converted' | 'revenue' | 'coreAction' | 'activeRecently';

const MEASURE_SQL: Readonly<Record<ActivityMeasure, { readonly sql: string; readonly indicator: boolean }>> = {
  events: { sql: 'coalesce(events, 0)', indicator: false },
  activeDays: { sql: 'coalesce(active_days, 0)', indicator: false },
  depth: { sql: 'coalesce(depth, 0)', indicator: false },
  converted: { sql: 'CASE WHEN coalesce(purchases, 0) > 0 THEN 1 ELSE 0 END', indicator: true },
  revenue: { sql: 'coalesce(revenue, 0)', indicator: false },
  coreAction: { sql: 'CASE WHEN coalesce(core_actions, 0) > 0 THEN 1 ELSE 0 END', indicator: true },
  activeRecently: { sql: 'CASE WHEN coalesce(recent_events, 0) > 0 THEN 1 ELSE 0 END', indicator: true },
};

/** The measures a query can compute with these settings. */
export function activityMeasures(s: ActivitySettings): ActivityMeasure[] {
  const out: ActivityMeasure[] = ['events', 'activeDays', 'depth'];
  if (s.purchase !== null) out.push('converted');
  if (s.purchase !== null && s.purchase.value !== null) out.push('revenue');
  if (s.coreAction) out.push('coreAction');
  if (s.recentMs !== undefined && s.recentMs !== null) out.push('activeRecently');
  return out;
}

/** `sum(x) AS k_s` and, unless x is 0/1 (where Σx² = Σx), `sum(x * x) AS k_q` per measure. */
function sumColumns(measures: readonly ActivityMeasure[]): string[] {
  return measures.flatMap((m) => {
    const { sql, indicator } = MEASURE_SQL[m];
    return indicator ? [`sum(${sql}) AS ${m}_s`] : [`sum(${sql}) AS ${m}_s`, `sum((${sql}) * (${sql})) AS ${m}_q`];
  });
}

/** n, Σx and Σx² of a per-user value over a group of users. */
export interface SufficientStats {
  readonly n: number;
  readonly sum: number;
  readonly sumSquares: number;
}

export const EMPTY_STATS: SufficientStats = { n: 0, sum: 0, sumSquares: 0 };

export function addStats(a: SufficientStats, b: SufficientStats): SufficientStats {
  return { n: a.n + b.n, sum: a.sum + b.sum, sumSquares: a.sumSquares + b.sumSquares };
}

export function statsMean(s: SufficientStats): number | null {
  return s.n > 0 ? s.sum / s.n : null;
}

/** The sample variance (n - 1), null under two values. */
export function statsVariance(s: SufficientStats): number | null {
  if (s.n < 2) return null;
  // Σ(x - mean)² = Σx² - Σx·mean; rounding can take an all-equal group a hair below 0.
  return Math.max(0, s.sumSquares - s.sum * (s.sum / s.n)) / (s.n - 1);
}

export function statsSd(s: SufficientStats): number | null {
  const v = statsVariance(s);
  return v === null ? null : Math.sqrt(v);
}

/** Cohen's d of a versus b with the pooled sample variance; null when either has under two values or there is no spread. */
export function standardizedDifference(a: SufficientStats, b: SufficientStats): number | null {
  const va = statsVariance(a);
  const vb = statsVariance(b);
  if (va === null || vb === null) return null;
  const pooled = ((a.n - 1) * va + (b.n - 1) * vb) / (a.n + b.n - 2);
  return pooled > 0 ? (a.sum / a.n - b.sum / b.n) / Math.sqrt(pooled) : null;
}

/** The exact median of values given as value → count (the mean of the two middle values for an even count). */
export function medianOfCounts(counts: ReadonlyMap<number, number>): number | null {
  const entries = [...counts].filter(([, c]) => c > 0).sort(([a], [b]) => a - b);
  const total = entries.reduce((s, [, c]) => s + c, 0);
  if (total === 0) return null;
  const at = (rank: number): number => {
    let seen = 0;
    for (const [v, c] of entries) {
      seen += c;
      if (rank < seen) return v;
    }
    return entries[entries.length - 1]![0];
  };
  return total % 2 === 1 ? at((total - 1) / 2) : (at(total / 2 - 1) + at(total / 2)) / 2;
}

/** The sums of one measure from a row of `sumColumns`. */
export function measureStats(row: Row, measure: ActivityMeasure, n: number): SufficientStats {
  const sum = toNumber(row[`${measure}_s`]);
  const q = MEASURE_SQL[measure].indicator ? sum : toNumber(row[`${measure}_q`]);
  return { n, sum, sumSquares: q };
}

/**
 * Per member flag (1 members, 0 the rest) and recency day (NULL: no event before asOf):
 * users and the sums of every measure. Rows of several parts add up.
 */
export function behaviorSql(d: SqlDialect, snapshotId: number, s: ActivitySettings): string {
  const recency = d.intDiv(`${d.numberLiteral(s.asOfMs)} - last_ms`, d.numberLiteral(MS.d));
  return `SELECT member, ${recency} AS recency_days, count() AS n,
  ${sumColumns(activityMeasures(s)).join(',\n  ')}
FROM ${populationWithMembers(d, snapshotId, s.asOfMs)} pop
LEFT JOIN ${userActivitySql(d, { ...s, recency: true })} act USING (user_id)
GROUP BY member, recency_days`;
}

/**
 * Per snapshot: members and the sums of every measure (each member's activity in the
 * window). Rows of several parts add up.
 */
export function snapshotActivitySql(d: SqlDialect, snapshotIds: readonly number[], s: ActivitySettings): string {
  return `SELECT snapshot_id, count() AS n,
  ${sumColumns(activityMeasures(s)).join(',\n  ')}
FROM (SELECT snapshot_id, user_id FROM ${d.table(TABLES.snapshotMembers)} WHERE snapshot_id IN (${snapshotIds.map((id) => d.numberLiteral(id)).join(', ')})) sm
LEFT JOIN ${userActivitySql(d, { ...s, recency: false })} act USING (user_id)
GROUP BY snapshot_id`;
}

/** Per snapshot id: member count and each measure's sums, merged over parts. */
export function mergeSnapshotActivity(rows: readonly Row[], s: ActivitySettings): Map<number, { n: number; stats: Map<ActivityMeasure, SufficientStats> }> {
  const out = new Map<number, { n: number; stats: Map<ActivityMeasure, SufficientStats> }>();
  for (const r of rows) {
    const id = toNumber(r.snapshot_id);
    const n = toNumber(r.n);
    const prior = out.get(id) ?? { n: 0, stats: new Map<ActivityMeasure, SufficientStats>() };
    for (const m of activityMeasures(s)) prior.stats.set(m, addStats(prior.stats.get(m) ?? EMPTY_STATS, measureStats(r, m, n)));
    out.set(id, { n: prior.n + n, stats: prior.stats });
  }
  return out;
}

type Side = 'members' | 'rest';

/** The rows of `behaviorSql` (from every part) folded into members' and the rest's statistics. */
interface BehaviorSums {
  readonly measures: Map<ActivityMeasure, Record<Side, SufficientStats>>;
  readonly recency: Record<Side, SufficientStats>;
  readonly recencyCounts: Record<Side, Map<number, number>>;
}

function foldBehaviorRows(rows: readonly Row[], measures: readonly ActivityMeasure[]): BehaviorSums {
  const sums: BehaviorSums = {
    measures: new Map(measures.map((m) => [m, { members: EMPTY_STATS, rest: EMPTY_STATS }])),
    recency: { members: EMPTY_STATS, rest: EMPTY_STATS },
    recencyCounts: { members: new Map(), rest: new Map() },
  };
  for (const r of rows) {
    const side: Side = toNumber(r.member) === 1 ? 'members' : 'rest';
    const n = toNumber(r.n);
    for (const m of measures) {
      const bySide = sums.measures.get(m)!;
      bySide[side] = addStats(bySide[side], measureStats(r, m, n));
    }
    const days = toNullableNumber(r.recency_days);
    if (days !== null) {
      sums.recency[side] = addStats(sums.recency[side], { n, sum: n * days, sumSquares: n * days * days });
      sums.recencyCounts[side].set(days, (sums.recencyCounts[side].get(days) ?? 0) + n);
    }
  }
  return sums;
}

function groupValue(s: SufficientStats): GroupValue {
  return { users: s.n, mean: statsMean(s), sd: statsSd(s) };
}

/** Members against the population (members and the rest together). */
export function compareGroups(
  metric: BehaviorMetricName,
  label: string,
  kind: BehaviorMetric['kind'],
  members: SufficientStats,
  rest: SufficientStats,
  medians?: { readonly members: number | null; readonly population: number | null; readonly rest: number | null },
): BehaviorMetric {
  const population = addStats(members, rest);
  const [m, p] = [statsMean(members), statsMean(population)];
  return {
    metric,
    label,
    kind,
    members: { ...groupValue(members), ...(medians ? { median: medians.members } : {}) },
    population: { ...groupValue(population), ...(medians ? { median: medians.population } : {}) },
    rest: { ...groupValue(rest), ...(medians ? { median: medians.rest } : {}) },
    lift: m !== null && p !== null && p !== 0 ? m / p : null,
    difference: m !== null && p !== null ? m - p : null,
    standardizedDifference: standardizedDifference(members, rest),
  };
}

/** Converters only: a user's revenue counts among converters when they converted (non-converters add 0 to the sums). */
function convertersOnly(revenue: SufficientStats, converted: SufficientStats): SufficientStats {
  return { n: converted.sum, sum: revenue.sum, sumSquares: revenue.sumSquares };
}

export function rfmSettingsNote(): string {
  return 'conversion and revenue need `rfm:` settings in strata.yaml (the purchase event and its value property)';
}

/** The behaviour section of a segment report from the rows of `behaviorSql` of every part. */
export function behaviorReport(rows: readonly Row[], s: ActivitySettings): BehaviorReport {
  const measures = activityMeasures(s);
  const sums = foldBehaviorRows(rows, measures);
  const stat = (m: ActivityMeasure) => sums.measures.get(m)!;
  const compare = (m: ActivityMeasure, metric: BehaviorMetricName, label: string, kind: BehaviorMetric['kind']) =>
    compareGroups(metric, label, kind, stat(m).members, stat(m).rest);
  // Days read better than weeks here (28d, not 4w).
  const window = s.windowMs % MS.d === 0 ? `${s.windowMs / MS.d}d` : formatDuration(s.windowMs);
  const allCounts = new Map(sums.recencyCounts.rest);
  for (const [v, c] of sums.recencyCounts.members) allCounts.set(v, (allCounts.get(v) ?? 0) + c);

  const notes: string[] = [];
  const purchase = s.purchase;
  if (purchase === null) notes.push(rfmSettingsNote());
  else if (purchase.value === null) notes.push('revenue needs a value property in the `rfm:` settings of strata.yaml');
  const revenueLabel = purchase?.quantity ? `${purchase.value} x ${purchase.quantity}` : (purchase?.value ?? '');
  return {
    window,
    windowStart: formatInstant(s.asOfMs - s.windowMs),
    engagement: {
      frequency: compare('events', 'frequency', `events per user in the last ${window}`, 'mean'),
      activeDays: compare('activeDays', 'activeDays', `active days in the last ${window}`, 'mean'),
      recency: compareGroups('recency', 'days since the last event (users with one)', 'mean', sums.recency.members, sums.recency.rest, {
        members: medianOfCounts(sums.recencyCounts.members),
        population: medianOfCounts(allCounts),
        rest: medianOfCounts(sums.recencyCounts.rest),
      }),
      depth: compare('depth', 'depth', `distinct events used in the last ${window}`, 'mean'),
    },
    conversion: purchase === null ? null : compare('converted', 'conversion', `did ${purchase.event} in the last ${window}`, 'share'),
    revenue:
      purchase === null || purchase.value === null
        ? null
        : {
            perUser: compare('revenue', 'revenuePerUser', `revenue (${revenueLabel}) per user in the last ${window}`, 'mean'),
            perConverter: compareGroups(
              'revenuePerConverter',
              `revenue (${revenueLabel}) per converter in the last ${window}`,
              'mean',
              convertersOnly(stat('revenue').members, stat('converted').members),
              convertersOnly(stat('revenue').rest, stat('converted').rest),
            ),
          },
    purchase: purchase === null ? null : { event: purchase.event, value: purchase.value, quantity: purchase.quantity },
    notes,
  };
}
