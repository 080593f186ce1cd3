/**
 * The SQL of RFM, written once for every dialect (the registry's limits: no CTEs required,
 * no window functions, `count()` through the dialect, GROUP BY on plain columns). Every
 * query is per user, for `store.queryByUser`: on a sharded store each shard measures its
 * own users and answers with small tables (value counts, score-cell totals) or its users'
 * rows.
 *
 * Per user, over the qualifying purchases (the purchase event, its `where`, before asOf,
 * in the `--within` window, members of `--segment`):
 *   recency   = floor((asOf - last purchase) / 1 day) + 1, whole days counting the asOf day
 *   frequency = the number of qualifying purchases
 *   monetary  = the sum of value (x quantity) over those with a value, 0 when none has one,
 *               added in ascending order (dialect.orderedSum) so that every pass sees the
 *               same bits for the same user, and a score never moves between passes.
 */
import { comparisonSql } from '../../segments/compile/comparison-sql.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { TABLES, propertyColumn } from '../../store/schema.js';
import { memberFilter } from '../breakdown.js';
import type { PurchaseSettings } from './rfm-config.js';

export const DAY_MS = 86_400_000;

/** Which purchases and users an RFM table covers. */
export interface RfmScope {
  readonly purchase: PurchaseSettings;
  readonly asOfMs: number;
  /** Only purchases in [asOf - within, asOf); null: all history. */
  readonly withinMs: number | null;
  /** Only members of this snapshot (`--segment`); null: everyone. */
  readonly memberSnapshotId: number | null;
}

export type RfmMeasure = 'recency' | 'frequency' | 'monetary';
export const RFM_MEASURES: readonly RfmMeasure[] = ['recency', 'frequency', 'monetary'];

/** Cut points per measure and the score levels, for the scoring passes. */
export interface RfmCuts {
  readonly levels: number;
  readonly recency: readonly number[];
  readonly frequency: readonly number[];
  readonly monetary: readonly number[];
}

/** The conditions (ANDed) a row of the events table must meet to count as a qualifying purchase. */
export function purchaseConditions(d: SqlDialect, scope: RfmScope): string[] {
  const p = scope.purchase;
  const out = [`event = ${d.stringLiteral(p.event)}`, `ts < ${d.timestampLiteral(scope.asOfMs)}`];
  if (scope.withinMs !== null) out.push(`ts >= ${d.timestampLiteral(scope.asOfMs - scope.withinMs)}`);
  for (const w of p.where) out.push(comparisonSql(d.quoteIdentifier(propertyColumn(w.property)), w.cmp, { dialect: d, asOfMs: scope.asOfMs }));
  if (scope.memberSnapshotId !== null) out.push(memberFilter(d, scope.memberSnapshotId));
  return out;
}

/** The amount of one purchase: value, times quantity when configured; NULL when either is missing. */
export function purchaseAmountSql(d: SqlDialect, purchase: PurchaseSettings): string | null {
  if (purchase.value === null) return null;
  const value = d.quoteIdentifier(propertyColumn(purchase.value));
  return purchase.quantity === null ? value : `${value} * ${d.quoteIdentifier(propertyColumn(purchase.quantity))}`;
}

/** `(user_id, recency, frequency, monetary)`, one row per user with a qualifying purchase. */
export function measuresSql(d: SqlDialect, scope: RfmScope): string {
  const amount = purchaseAmountSql(d, scope.purchase);
  const recency = `${d.intDiv(`${d.numberLiteral(scope.asOfMs)} - ${d.epochMs('max(ts)')}`, d.numberLiteral(DAY_MS))} + 1`;
  return `SELECT user_id, ${recency} AS recency, ${d.aggregate('count', null, null)} AS frequency, ${amount === null ? d.numberLiteral(0) : d.orderedSum(amount)} AS monetary
FROM ${d.table(TABLES.events)}
WHERE ${purchaseConditions(d, scope).join('\n  AND ')}
GROUP BY user_id`;
}

/** `(v, n)`: how many users have each value of one measure. */
export function valueCountsSql(d: SqlDialect, scope: RfmScope, measure: RfmMeasure): string {
  return `SELECT ${measure} AS v, ${d.aggregate('count', null, null)} AS n FROM (${measuresSql(d, scope)}) rfm GROUP BY ${measure}`;
}

/** A score from a measure's cut points (right-closed bands), reversed for recency: the most recent get the top score. */
export function scoreSql(d: SqlDialect, column: string, cuts: readonly number[], levels: number, reversed: boolean): string {
  if (cuts.length === 0) return d.numberLiteral(reversed ? levels : 1);
  const score = (band: number) => d.numberLiteral(reversed ? levels + 1 - band : band);
  const arms = cuts.map((c, i) => `WHEN ${column} <= ${d.numberLiteral(c)} THEN ${score(i + 1)}`);
  return `CASE ${arms.join(' ')} ELSE ${score(cuts.length + 1)} END`;
}

/** Each user's measures and scores `r`, `f`, `m`. */
export function scoredSql(d: SqlDialect, scope: RfmScope, cuts: RfmCuts): string {
  return `SELECT user_id, recency, frequency, monetary,
  ${scoreSql(d, 'recency', cuts.recency, cuts.levels, true)} AS r,
  ${scoreSql(d, 'frequency', cuts.frequency, cuts.levels, false)} AS f,
  ${scoreSql(d, 'monetary', cuts.monetary, cuts.levels, false)} AS m
FROM (${measuresSql(d, scope)}) rfm`;
}

/**
 * Users and measure sums per (r, f, m) cell: at most levels^3 rows per part. (Sums are
 * named apart from their columns: ClickHouse would read `sum(x) AS x` as a cyclic alias.)
 */
export function cellTotalsSql(d: SqlDialect, scope: RfmScope, cuts: RfmCuts): string {
  return `SELECT r, f, m, ${d.aggregate('count', null, null)} AS n, sum(recency) AS sum_r, sum(frequency) AS sum_f, sum(monetary) AS sum_m
FROM (${scoredSql(d, scope, cuts)}) scored
GROUP BY r, f, m`;
}
