/**
 * The SQL of `discover drivers`, written once for DuckDB and ClickHouse back to 18.16 (the
 * registry's limits: no CTEs, one JOIN per SELECT on user_id with at most one row per user
 * on the right, `count()` and conditional aggregates through the dialect). It is per user,
 * for `store.queryByUser`: each shard answers with at most four rows (early outcome x
 * outcome) of additive sums, which the caller adds up.
 *
 * - The cohort `c` (user_id, fms): users first seen (users.first_event_at, epoch ms fms)
 *   in [cohortFrom, cohortTo) with fms + early + within <= asOf, so both windows are over;
 *   optionally members of a snapshot.
 * - One GROUP BY per user over the cohort's events in [fms, fms + early + within) (events
 *   on the left of an inner join to the cohort, which ClickHouse holds in memory): per
 *   candidate event i, c{i} = its events in the early window [fms, fms + early); oe = the
 *   outcome event in the early window (conversion only); oc = outcome events in the
 *   outcome window [fms + early, fms + early + within) (retention: any event but
 *   `$exposure`); with revenue, rev = the purchases' value (x quantity) in the outcome
 *   window and np = their number. Every cohort user has an event at fms, inside the early
 *   window, so the inner join loses nobody.
 * - Then per (early, outcome) group: the users, and per candidate event i and threshold j
 *   the users with c{i} >= threshold j (w{i}_{j}); with revenue also their revenue sum,
 *   sum of squares and payers, and the same totals for the group.
 */
import { comparisonSql } from '../../segments/compile/comparison-sql.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { TABLES, propertyColumn } from '../../store/schema.js';
import { memberFilter } from '../../analysis/breakdown.js';
import { purchaseAmountSql } from '../../analysis/rfm/rfm-sql.js';
import type { PurchaseSettings } from '../../analysis/rfm/rfm-config.js';
import { SYSTEM_EVENTS } from '../../schema/system-events.js';

export interface DriversScope {
  readonly asOfMs: number;
  readonly earlyMs: number;
  readonly withinMs: number;
  /** First seen at or after this instant; null: no lower bound. */
  readonly cohortFromMs: number | null;
  /** First seen before this instant (the maturity bound applies too); null: none. */
  readonly cohortToMs: number | null;
  readonly memberSnapshotId: number | null;
  /** The conversion event; null: retention (any event but `$exposure`). */
  readonly outcomeEvent: string | null;
  /** Candidate events, in column order. */
  readonly events: readonly string[];
  /** The index of events[0] in the whole candidate list (column names use whole-list indices). */
  readonly firstEventIndex?: number;
  /** Ascending positive integers. */
  readonly thresholds: readonly number[];
  /** Revenue in the outcome window (value required); null: no revenue columns. */
  readonly purchase: PurchaseSettings | null;
}

/** Column names of the aggregate row. */
export const COLUMNS = {
  with: (i: number, j: number) => `w${i}_${j}`,
  revenue: (i: number, j: number) => `r${i}_${j}`,
  revenueSquares: (i: number, j: number) => `rr${i}_${j}`,
  payers: (i: number, j: number) => `p${i}_${j}`,
  totalRevenue: 'rt',
  totalRevenueSquares: 'rrt',
  totalPayers: 'pt',
} as const;

/** The last first-seen instant whose windows are over by asOf. */
export function latestMatureFirstMs(scope: DriversScope): number {
  return scope.asOfMs - scope.earlyMs - scope.withinMs;
}

function cohortRelation(d: SqlDialect, s: DriversScope): string {
  const conditions = ['u.first_event_at IS NOT NULL', `u.first_event_at <= ${d.timestampLiteral(latestMatureFirstMs(s))}`];
  if (s.cohortFromMs !== null) conditions.push(`u.first_event_at >= ${d.timestampLiteral(s.cohortFromMs)}`);
  if (s.cohortToMs !== null) conditions.push(`u.first_event_at < ${d.timestampLiteral(s.cohortToMs)}`);
  if (s.memberSnapshotId !== null) conditions.push(memberFilter(d, s.memberSnapshotId, 'u.user_id'));
  return `SELECT u.user_id AS user_id, ${d.epochMs('u.first_event_at')} AS fms FROM ${d.table(TABLES.users)} u WHERE ${conditions.join(' AND ')}`;
}

/** The purchase conditions on an events row (event and where), as a 0/1 flag column. */
function purchaseFlag(d: SqlDialect, p: PurchaseSettings, asOfMs: number): string {
  const conditions = [`event = ${d.stringLiteral(p.event)}`, ...p.where.map((w) => `(${comparisonSql(d.quoteIdentifier(propertyColumn(w.property)), w.cmp, { dialect: d, asOfMs })})`)];
  return `CASE WHEN ${conditions.join(' AND ')} THEN 1 ELSE 0 END`;
}

function eventsRelation(d: SqlDialect, s: DriversScope): string {
  const columns = ['user_id', 'event', `${d.epochMs('ts')} AS ems`];
  if (s.purchase !== null) columns.push(`${purchaseFlag(d, s.purchase, s.asOfMs)} AS pq`, `${purchaseAmountSql(d, s.purchase)} AS amt`);
  const conditions = [`ts < ${d.timestampLiteral(s.asOfMs)}`];
  if (s.cohortFromMs !== null) conditions.push(`ts >= ${d.timestampLiteral(s.cohortFromMs)}`);
  return `SELECT ${columns.join(', ')} FROM ${d.table(TABLES.events)} WHERE ${conditions.join(' AND ')}`;
}

const offset = (d: SqlDialect, ms: number) => (ms === 0 ? 'fms' : `fms + ${d.numberLiteral(ms)}`);

/** Per cohort user: c{i}, oe, oc[, rev, np]. */
function perUserSql(d: SqlDialect, s: DriversScope): string {
  const early = `ems < ${offset(d, s.earlyMs)}`;
  const outcomeWindow = `ems >= ${offset(d, s.earlyMs)} AND ems < ${offset(d, s.earlyMs + s.withinMs)}`;
  const count = (filter: string) => d.aggregate('count', null, filter);
  const columns = ['user_id', ...s.events.map((e, i) => `${count(`event = ${d.stringLiteral(e)} AND ${early}`)} AS c${i}`)];
  if (s.outcomeEvent === null) {
    columns.push(`0 AS oe`, `${count(`${SYSTEM_EVENTS.map((e) => `event <> ${d.stringLiteral(e)}`).join(' AND ')} AND ${outcomeWindow}`)} AS oc`);
  } else {
    const outcome = `event = ${d.stringLiteral(s.outcomeEvent)}`;
    columns.push(`${count(`${outcome} AND ${early}`)} AS oe`, `${count(`${outcome} AND ${outcomeWindow}`)} AS oc`);
  }
  if (s.purchase !== null) {
    const bought = `pq = 1 AND ${outcomeWindow}`;
    columns.push(`coalesce(${d.aggregate('sum', 'amt', bought)}, 0) AS rev`, `${count(bought)} AS np`);
  }
  const join = d.userJoin('inner', 'e', 'c').keyword;
  return `SELECT ${columns.join(',\n    ')}
  FROM (${eventsRelation(d, s)}) e
  ${join} (${cohortRelation(d, s)}) c USING (user_id)
  WHERE ems >= fms AND ems < ${offset(d, s.earlyMs + s.withinMs)}
  GROUP BY user_id`;
}

/** The aggregate query: rows `(early, outcome, n, w{i}_{j}...[, revenue columns])`. */
export function driversSql(d: SqlDialect, s: DriversScope): string {
  const when = (cond: string, value: string) => `sum(CASE WHEN ${cond} THEN ${value} ELSE 0 END)`;
  const columns = ['CASE WHEN oe > 0 THEN 1 ELSE 0 END AS early', 'CASE WHEN oc > 0 THEN 1 ELSE 0 END AS outcome', 'count() AS n'];
  if (s.purchase !== null) {
    columns.push(`sum(rev) AS ${COLUMNS.totalRevenue}`, `sum(rev * rev) AS ${COLUMNS.totalRevenueSquares}`, `${when('np > 0', '1')} AS ${COLUMNS.totalPayers}`);
  }
  const first = s.firstEventIndex ?? 0;
  s.events.forEach((_, local) => {
    const i = first + local;
    s.thresholds.forEach((n, j) => {
      const did = `c${local} >= ${d.numberLiteral(n)}`;
      columns.push(`${when(did, '1')} AS ${COLUMNS.with(i, j)}`);
      if (s.purchase !== null) {
        columns.push(
          `${when(did, 'rev')} AS ${COLUMNS.revenue(i, j)}`,
          `${when(did, 'rev * rev')} AS ${COLUMNS.revenueSquares(i, j)}`,
          `${when(`${did} AND np > 0`, '1')} AS ${COLUMNS.payers(i, j)}`,
        );
      }
    });
  });
  return `SELECT ${columns.join(',\n  ')}
FROM (${perUserSql(d, s)}) pu
GROUP BY early, outcome`;
}
