/**
 * The SQL of experiment metrics, written once for every dialect (registry-sql.ts lists the
 * limits: ClickHouse 18.16 has no CTEs, one JOIN per SELECT, joins on user_id with at most
 * one row per user on the right). Every query is per user, for `store.queryByUser`: on a
 * cluster each shard answers for its own users and the rows (one per group and variant)
 * are summed by the caller.
 *
 * The exposure relation `x` has one row per exposed user: `user_id, xv` (the variant),
 * `xms` (the exposure instant in epoch ms) and `grp` with a breakdown.
 * - event exposures: the user's `$exposure` events of the experiment with a known variant
 *   in [start, min(stop, asOf)), grouped per user; xms is the earliest, and a user whose
 *   events name two or more variants gets the variant '' (multiple exposures: counted,
 *   then left out of every metric).
 * - derived exposures: the members of every targeting segment as of start (the population
 *   as of start without targeting), covered by the hash, their variant from the hash, xms =
 *   start.
 *
 * The metric sums come from ONE pass over the events any metric reads (their names, from
 * the earliest covariate window to asOf) joined to the exposed users, keeping only events
 * within reach of some window of their user; one GROUP BY per user computes every metric's
 * per-user values with conditional aggregates, then one GROUP BY (group, variant) adds the
 * values, their squares and products over the users whose window is over by asOf.
 * - DuckDB: the pass starts from the exposed users and LEFT JOINs their events, so users
 *   without events are in it and the exposure counts (users per group and variant, and
 *   per metric how many are mature) come out of the same query.
 * - ClickHouse holds a join's right side in memory, so the events stay on the left of an
 *   inner join to the users (at most one row per user on the right). Users without events
 *   add 0 to every sum, so only their number is missing: the exposure counts are a query
 *   of their own over the exposure relation.
 * The unknown variants (`$exposure` events naming none of the variants) are a small query
 * over the `$exposure` events.
 */
import { comparisonSql } from '../../segments/compile/comparison-sql.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { TABLES, propertyColumn } from '../../store/schema.js';
import { breakdownRelation, defaultGroup, memberFilter, type BoundBreakdown } from '../../analysis/breakdown.js';
import { NOT_YET_SEEN, stageRelation } from '../../analysis/lifecycle/lifecycle-report.js';
import type { StageIR } from '../../analysis/lifecycle/lifecycle-stages.js';
import { populationPredicate } from '../../segments/registry/registry-sql.js';
import { EXPERIMENT_PROPERTY, EXPOSURE_EVENT, VARIANT_PROPERTY } from '../design/exposure.js';
import type { ExperimentDefinition } from '../design/types.js';
import type { MetricPlan, SidePlan } from './metric-plan.js';

/** The variant of a user seen in two or more variants (variant keys are never empty). */
export const MULTIPLE_VARIANT = '';

/** How exposed users are split into groups (pre-treatment: bound as of the experiment's start). */
export type GroupSource =
  | { readonly kind: 'breakdown'; readonly breakdown: BoundBreakdown }
  | {
      readonly kind: 'lifecycle';
      readonly conditions: readonly StageIR[];
      readonly fallbackKey: string;
      /** The scoring runs as of start of the models stage conditions read (none read: empty). */
      readonly scoreRuns?: ReadonlyMap<string, number | null>;
    };

export interface ExposureScope {
  readonly definition: ExperimentDefinition;
  readonly asOfMs: number;
  readonly groups: GroupSource | null;
  /** `segment`: only members of this snapshot (taken as of start). */
  readonly memberSnapshotId: number | null;
  /** Derived exposures: the targeting segments' snapshots as of start. */
  readonly targetingSnapshotIds: readonly number[];
  /**
   * Derived exposures: the variant of a user id expression, NULL when the hash leaves the
   * user out (coverage); from design/assignment-sql.ts.
   */
  readonly assignedVariant: ((d: SqlDialect, userIdExpr: string) => string) | null;
}

/** The end of the exposure period: min(stop, asOf). */
export function exposureEndMs(scope: ExposureScope): number {
  const stop = scope.definition.stopMs;
  return stop === null ? scope.asOfMs : Math.min(stop, scope.asOfMs);
}

const col = (d: SqlDialect, property: string) => d.quoteIdentifier(propertyColumn(property));

/** The conditions on an events row for the experiment's `$exposure` events in [start, end). */
function exposureEventConditions(d: SqlDialect, scope: ExposureScope): string[] {
  const def = scope.definition;
  return [
    `event = ${d.stringLiteral(EXPOSURE_EVENT)}`,
    `${col(d, EXPERIMENT_PROPERTY)} = ${d.stringLiteral(def.key)}`,
    `ts >= ${d.timestampLiteral(def.startMs)}`,
    `ts < ${d.timestampLiteral(exposureEndMs(scope))}`,
    ...(scope.memberSnapshotId === null ? [] : [memberFilter(d, scope.memberSnapshotId)]),
  ];
}

function variantList(d: SqlDialect, def: ExperimentDefinition): string {
  return def.variants.map((v) => d.stringLiteral(v.key)).join(', ');
}

/** `(user_id, xv, xms)` before groups; `keepMultiple`: users seen in several variants stay, with xv = ''. */
function exposedUsers(d: SqlDialect, scope: ExposureScope, keepMultiple: boolean): string {
  const def = scope.definition;
  if (def.exposure === 'assignment') return assignedUsers(d, scope);
  const variant = col(d, VARIANT_PROPERTY);
  const grouped = `SELECT user_id, min(${variant}) AS vmin, max(${variant}) AS vmax, ${d.epochMs('min(ts)')} AS xms
  FROM ${d.table(TABLES.events)}
  WHERE ${[...exposureEventConditions(d, scope), `${variant} IN (${variantList(d, def)})`].join(' AND ')}
  GROUP BY user_id`;
  if (keepMultiple) {
    return `SELECT user_id, CASE WHEN vmin = vmax THEN vmin ELSE ${d.stringLiteral(MULTIPLE_VARIANT)} END AS xv, xms FROM (${grouped}) xg`;
  }
  return `SELECT user_id, vmin AS xv, xms FROM (${grouped}) xg WHERE vmin = vmax`;
}

/** Derived exposures: targeted users of the population as of start, covered by the hash, exposed at start. */
function assignedUsers(d: SqlDialect, scope: ExposureScope): string {
  const def = scope.definition;
  const conditions = [
    populationPredicate(d, def.startMs),
    ...scope.targetingSnapshotIds.map((id) => memberFilter(d, id, 'u.user_id')),
    ...(scope.memberSnapshotId === null ? [] : [memberFilter(d, scope.memberSnapshotId, 'u.user_id')]),
  ];
  const variant = scope.assignedVariant!(d, 'u.user_id');
  const start = d.numberLiteral(def.startMs);
  const users = `SELECT u.user_id AS user_id, ${variant} AS av FROM ${d.table(TABLES.users)} u WHERE ${conditions.join(' AND ')}`;
  return `SELECT user_id, av AS xv, ${start} AS xms FROM (${users}) au WHERE av IS NOT NULL`;
}

/** The exposure relation `(user_id, xv, xms[, grp])`. */
export function exposureRelation(d: SqlDialect, scope: ExposureScope, keepMultiple: boolean): string {
  const users = exposedUsers(d, scope, keepMultiple);
  const g = scope.groups;
  if (g === null) return users;
  const groups =
    g.kind === 'breakdown'
      ? `(SELECT user_id, grp AS bgrp FROM ${breakdownRelation(d, g.breakdown)} br)`
      : stageRelation(d, g.conditions, g.fallbackKey, scope.definition.startMs, 'bgrp', undefined, g.scoreRuns);
  const fallback = g.kind === 'breakdown' ? defaultGroup(g.breakdown) : NOT_YET_SEEN;
  const { keyword } = d.userJoin('left', 'xu', 'bg');
  return `SELECT user_id, xv, xms, coalesce(bgrp, ${d.stringLiteral(fallback)}) AS grp
FROM (${users}) xu
${keyword} ${groups} bg USING (user_id)`;
}

/** The window [x + from, x + to) of a metric is over by asOf (to null: it always is). */
function matureCondition(d: SqlDialect, m: MetricPlan, asOfMs: number): string | null {
  return m.toMs === null ? null : `xms <= ${d.numberLiteral(asOfMs - m.toMs)}`;
}

/** `mat_i`: how many users of the group have metric i's window over by asOf. */
function matureCount(d: SqlDialect, m: MetricPlan, i: number, asOfMs: number): string {
  const cond = matureCondition(d, m, asOfMs);
  return `${cond === null ? 'count()' : `sum(CASE WHEN ${cond} THEN 1 ELSE 0 END)`} AS mat_${i}`;
}

/**
 * `(grp, xv, n, mat_0, ...)`: exposed users per group and variant (xv '' = seen in several
 * variants), and how many of them have each metric's window over by asOf.
 */
export function exposureCountsSql(d: SqlDialect, scope: ExposureScope, plans: readonly MetricPlan[]): string {
  const grouped = scope.groups !== null;
  const mature = plans.map((m, i) => matureCount(d, m, i, scope.asOfMs));
  const keys = grouped ? 'grp, xv' : 'xv';
  const grp = grouped ? 'grp' : `${d.stringLiteral('')} AS grp`;
  return `SELECT ${[grp, 'xv', 'count() AS n', ...mature].join(', ')}
FROM (${exposureRelation(d, scope, true)}) x
GROUP BY ${keys}`;
}

/** `(uv, n)`: `$exposure` events of the experiment naming no variant of it (uv NULL: no variant at all). */
export function unknownVariantsSql(d: SqlDialect, scope: ExposureScope): string {
  const variant = col(d, VARIANT_PROPERTY);
  return `SELECT ${variant} AS uv, count() AS n
FROM ${d.table(TABLES.events)}
WHERE ${[...exposureEventConditions(d, scope), `(${variant} IS NULL OR ${variant} NOT IN (${variantList(d, scope.definition)}))`].join(' AND ')}
GROUP BY ${variant}`;
}

/** The columns the sums query returns for metric i (absent ones are not computed). */
export function sumColumns(m: MetricPlan, i: number): string[] {
  const out = [`s${i}_y`, `s${i}_yy`];
  if (m.denominator !== null) out.push(`s${i}_d`, `s${i}_dd`, `s${i}_yd`);
  if (m.covariateMs !== null) {
    out.push(`s${i}_x`, `s${i}_xx`, `s${i}_xy`);
    if (m.denominator !== null) out.push(`s${i}_xd`);
  }
  return out;
}

/**
 * The conditions (ANDed) for an event row to match a side's event filter. Any event (`'*'`)
 * means any product event: `$exposure` rows record what the experiment showed, not what the
 * user did, so counting them would make every exposed user active and bias activity metrics.
 */
function matchConditions(d: SqlDialect, side: SidePlan, asOfMs: number): string[] {
  return [
    side.filter.event === null ? `event <> ${d.stringLiteral(EXPOSURE_EVENT)}` : `event = ${d.stringLiteral(side.filter.event)}`,
    ...side.filter.where.map((p) => `(${comparisonSql(col(d, p.property), p.cmp, { dialect: d, asOfMs })})`),
  ];
}

/** Window [xms + from, xms + to) on `ems`; to null: no upper bound (the pass stops at asOf). */
function windowConditions(d: SqlDialect, fromMs: number, toMs: number | null): string[] {
  const offset = (ms: number) => (ms === 0 ? 'xms' : ms > 0 ? `xms + ${d.numberLiteral(ms)}` : `xms - ${d.numberLiteral(-ms)}`);
  return [`ems >= ${offset(fromMs)}`, ...(toMs === null ? [] : [`ems < ${offset(toMs)}`])];
}

/** A side's per-user value over a window, as an aggregate of the per-user GROUP BY. */
function sideValue(d: SqlDialect, side: SidePlan, window: string[], asOfMs: number, binary: boolean): string {
  const filter = [...matchConditions(d, side, asOfMs), ...window].join(' AND ');
  if (side.sum !== null) return `coalesce(${d.aggregate('sum', col(d, side.sum), filter)}, 0)`;
  const count = d.aggregate('count', side.countPresent === null ? null : col(d, side.countPresent), filter);
  return binary ? `CASE WHEN ${count} > 0 THEN 1 ELSE 0 END` : count;
}

/** The per-user value columns of metric i: u{i}_y, u{i}_d (ratio), u{i}_x (covariate). */
function perUserColumns(d: SqlDialect, m: MetricPlan, i: number, asOfMs: number): string[] {
  const window = windowConditions(d, m.fromMs, m.toMs);
  const out = [`${sideValue(d, m.numerator, window, asOfMs, m.binary)} AS u${i}_y`];
  if (m.denominator !== null) out.push(`${sideValue(d, m.denominator, window, asOfMs, false)} AS u${i}_d`);
  if (m.covariateMs !== null) out.push(`${sideValue(d, m.numerator, windowConditions(d, -m.covariateMs, 0), asOfMs, m.binary)} AS u${i}_x`);
  return out;
}

/** The sums of metric i over the mature users of a group. */
function sumExpressions(d: SqlDialect, m: MetricPlan, i: number, asOfMs: number): string[] {
  const cond = matureCondition(d, m, asOfMs);
  const total = (expr: string) => (cond === null ? `sum(${expr})` : `sum(CASE WHEN ${cond} THEN ${expr} ELSE 0 END)`);
  const clamp = (value: string, bounds: { lower: number; upper: number } | undefined) => (bounds === undefined ? value : clampSql(d, value, bounds));
  const [y, dd, x] = [clamp(`u${i}_y`, m.clamp), clamp(`u${i}_d`, m.clamp?.denominator), `u${i}_x`];
  const names = sumColumns(m, i);
  const exprs: Record<string, string> = {
    [`s${i}_y`]: y,
    [`s${i}_yy`]: `${y} * ${y}`,
    [`s${i}_d`]: dd,
    [`s${i}_dd`]: `${dd} * ${dd}`,
    [`s${i}_yd`]: `${y} * ${dd}`,
    [`s${i}_x`]: x,
    [`s${i}_xx`]: `${x} * ${x}`,
    [`s${i}_xy`]: `${x} * ${y}`,
    [`s${i}_xd`]: `${x} * ${dd}`,
  };
  return names.map((n) => `${total(exprs[n]!)} AS ${n}`);
}

/** A per-user value clamped into [lower, upper], as a float on every engine (no common-supertype surprises). */
function clampSql(d: SqlDialect, value: string, bounds: { lower: number; upper: number }): string {
  const v = d.divide(value, '1');
  const [lo, hi] = [d.divide(d.numberLiteral(bounds.lower), '1'), d.divide(d.numberLiteral(bounds.upper), '1')];
  return `(CASE WHEN ${v} < ${lo} THEN ${lo} WHEN ${v} > ${hi} THEN ${hi} ELSE ${v} END)`;
}

/**
 * Bounds on `ems - xms` outside of which no metric or covariate window reaches: from the
 * earliest covariate start (or window start) to the latest window end, when every window
 * has one (a window up to asOf is bounded by the pass itself).
 */
function reachConditions(d: SqlDialect, plans: readonly MetricPlan[]): string[] {
  const from = Math.min(...plans.map((m) => (m.covariateMs === null ? m.fromMs : Math.min(m.fromMs, -m.covariateMs))));
  const ends = plans.map((m) => m.toMs);
  return windowConditions(d, from, ends.includes(null) ? null : Math.max(...(ends as number[])));
}

/** Names of the events any metric reads, or null when one reads every event. */
function eventNames(plans: readonly MetricPlan[]): string[] | null {
  const names = new Set<string>();
  for (const m of plans) {
    for (const side of [m.numerator, m.denominator]) {
      if (side === null) continue;
      if (side.filter.event === null) return null;
      names.add(side.filter.event);
    }
  }
  return [...names].sort();
}

/** The properties the metrics read (sums, presence counts, `where` predicates). */
function propertiesRead(plans: readonly MetricPlan[]): string[] {
  const names = new Set<string>();
  for (const m of plans) {
    for (const side of [m.numerator, m.denominator]) {
      if (side === null) continue;
      if (side.sum !== null) names.add(side.sum);
      if (side.countPresent !== null) names.add(side.countPresent);
      for (const p of side.filter.where) names.add(p.property);
    }
  }
  return [...names].sort();
}

/**
 * Whether the metric pass starts from the exposed users and LEFT JOINs their events (many
 * rows per user on the right), so that users without events are in the pass and the
 * exposure counts come out of it too: DuckDB, one query. ClickHouse holds a join's right
 * side in memory, so there the events stay on the left of an inner join to the users and
 * the exposure counts are a query of their own (exposureCountsSql).
 */
export function countsInMetricPass(d: SqlDialect): boolean {
  return d.name !== 'clickhouse';
}

/**
 * `(grp, xv, s0_y, s0_yy, ...)`: per group and variant, the sums over mature users of each
 * metric's per-user values, squares and products (sumColumns), in one pass over the events.
 * Where `countsInMetricPass(d)`, also the columns of exposureCountsSql (n, mat_0, ...), and
 * the rows of users seen in several variants (xv '', whose sums are not used).
 */
export function metricSumsSql(d: SqlDialect, scope: ExposureScope, plans: readonly MetricPlan[]): string {
  const def = scope.definition;
  const asOf = scope.asOfMs;
  const earliest = def.startMs - Math.max(0, ...plans.map((m) => m.covariateMs ?? 0));
  const names = eventNames(plans);
  const eventConditions = [
    ...(names === null ? [] : [names.length === 1 ? `event = ${d.stringLiteral(names[0]!)}` : `event IN (${names.map((n) => d.stringLiteral(n)).join(', ')})`]),
    `ts >= ${d.timestampLiteral(earliest)}`,
    `ts < ${d.timestampLiteral(asOf)}`,
  ];
  const props = propertiesRead(plans).map((p) => col(d, p));
  const events = `SELECT ${['user_id', 'event', `${d.epochMs('ts')} AS ems`, ...props].join(', ')}
    FROM ${d.table(TABLES.events)}
    WHERE ${eventConditions.join(' AND ')}`;
  const grouped = scope.groups !== null;
  const withCounts = countsInMetricPass(d);
  // Qualified where the join is ON (both sides have user_id), plain after USING.
  const userKeys = `${withCounts ? 'x.user_id' : 'user_id'}, ${grouped ? 'grp, xv, xms' : 'xv, xms'}`;
  const perUser = plans.flatMap((m, i) => perUserColumns(d, m, i, asOf));
  const exposed = `(${exposureRelation(d, scope, withCounts)}) x`;
  // Only events inside some metric's or covariate's window of their user can count.
  const reach = reachConditions(d, plans);
  const join = withCounts
    ? `FROM ${exposed}\n  LEFT JOIN (${events}) e ON ${['e.user_id = x.user_id', ...reach].join(' AND ')}`
    : `FROM (${events}) e\n  ${d.userJoin('inner', 'e', 'x').keyword} ${exposed} USING (user_id)${reach.length === 0 ? '' : `\n  WHERE ${reach.join(' AND ')}`}`;
  const users = `SELECT ${[userKeys, ...perUser].join(',\n    ')}
  ${join}
  GROUP BY ${userKeys}`;
  const counts = withCounts ? ['count() AS n', ...plans.map((m, i) => matureCount(d, m, i, asOf))] : [];
  const sums = plans.flatMap((m, i) => sumExpressions(d, m, i, asOf));
  const grp = grouped ? 'grp' : `${d.stringLiteral('')} AS grp`;
  return `SELECT ${[grp, 'xv', ...counts, ...sums].join(',\n  ')}
FROM (${users}) pu
GROUP BY ${grouped ? 'grp, xv' : 'xv'}`;
}
