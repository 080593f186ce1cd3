/**
 * The retention query: one per-user query (run with `store.queryByUser`, so on a cluster
 * each shard answers for its own users) whose rows are additive counts
 * `(kind, cp, grp, k, n)`, summed over the parts by the caller:
 *
 *   kind 0  cohort sizes: n users in cohort period cp and group grp (k is 0)
 *   kind 1  returned: n users of (cp, grp) with a return event in their period k (0..periods)
 *   kind 2  last return: n users of (cp, grp) whose latest return event is in period k
 *           (any k: "on or after k" is the sum over the rows with k or more)
 *
 * `coh` (user_id, start, cp = the start's period key, and grp = the breakdown group when
 * there is one) is each cohort member; a return is a return event at or after start and
 * before asOf.
 * - Returned, calendar alignment: the events are reduced first, to each user's latest
 *   return event per calendar period (`GROUP BY user_id, p`), and only then joined to the
 *   cohorts: period p counts when that latest event is at or after the start (only the
 *   cohort's own period can hold events before it; for first-seen cohorts none can).
 * - Returned, elapsed alignment: each return event joins its user's start first
 *   (k = (ts - start) div unit), then one row per (user, k).
 * - Last return: a user's latest return event overall decides it (periods only grow with
 *   time, in both alignments), so one GROUP BY user_id over the events suffices; it is a
 *   return when it is at or after the start.
 * Written for DuckDB and ClickHouse 18.16 (registry-sql.ts lists the limits): one JOIN
 * per SELECT with USING (user_id), no window functions, CTEs only where the dialect has
 * them, aliases that never shadow a column.
 */
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { comparisonSql } from '../../segments/compile/comparison-sql.js';
import type { EventFilter } from '../../segments/ir/nodes.js';
import { TABLES, propertyColumn } from '../../store/schema.js';
import { breakdownRelation, defaultGroup, memberFilter, type BoundBreakdown } from '../breakdown.js';
import { FIXED_UNIT_MS, periodKey, periodKeySql, periodStartMs } from './periods.js';
import type { RetentionSpec } from './retention-definition.js';

export const ROW_KIND = { size: 0, returned: 1, lastReturn: 2 } as const;

export interface RetentionQuery {
  readonly spec: RetentionSpec;
  readonly asOfMs: number;
  readonly breakdown: BoundBreakdown | null;
  /** `--segment`: only this snapshot's members. */
  readonly memberSnapshotId: number | null;
}

/** The group of every user when there is no breakdown. */
export const ALL_GROUP = 'all';

export function retentionSql(d: SqlDialect, q: RetentionQuery): string {
  const { spec } = q;
  const cte = d.capabilities.commonTableExpressions;
  const coh = cohortRelation(d, q);
  // Used by every part: a CTE where the dialect has them, else inlined at each use.
  const cohortAs = (alias: string) => (cte ? `coh ${alias}` : `(${coh}) ${alias}`);
  // Without a breakdown every user is in one group: a literal, kept out of the GROUP BYs.
  const grp = q.breakdown === null ? `${d.stringLiteral(ALL_GROUP)} AS grp` : 'grp';
  const keys = q.breakdown === null ? 'cp' : 'cp, grp';
  const parts = [`SELECT ${ROW_KIND.size} AS kind, cp, ${grp}, cp - cp AS k, count() AS n FROM ${cohortAs('cs')} GROUP BY ${keys}`];
  if (spec.mode !== 'on-or-after') {
    const rk = spec.alignment === 'calendar' ? calendarReturns(d, q, cohortAs('c')) : elapsedReturns(d, q, cohortAs('c'));
    parts.push(`SELECT ${ROW_KIND.returned} AS kind, cp, ${grp}, k, count() AS n FROM (${rk}) rk WHERE k <= ${d.numberLiteral(spec.periods)} GROUP BY ${keys}, k`);
  }
  if (spec.mode !== 'returned') {
    parts.push(`SELECT ${ROW_KIND.lastReturn} AS kind, cp, ${grp}, k, count() AS n FROM (${lastReturns(d, q, cohortAs('c'))}) lr GROUP BY ${keys}, k`);
  }
  const body = parts.join('\nUNION ALL\n');
  return cte ? `WITH coh AS (${coh})\n${body}` : body;
}

/** The cohort columns the per-user relations carry on: cp, and grp with a breakdown. */
function cohortColumns(q: RetentionQuery): string {
  return q.breakdown === null ? 'cp' : 'cp, grp';
}

/** Users with their start instant in [from, to), their cohort period and group. */
function cohortRelation(d: SqlDialect, q: RetentionQuery): string {
  const { spec } = q;
  const lit = (ms: number) => d.timestampLiteral(ms);
  const range = (column: string) => [`${column} < ${lit(spec.toMs)}`, ...(spec.fromMs === null ? [] : [`${column} >= ${lit(spec.fromMs)}`])];
  const member = q.memberSnapshotId === null ? [] : [memberFilter(d, q.memberSnapshotId)];
  let base: string;
  if (spec.start === null) {
    // The population index holds each user's first event of any name (store/schema.ts).
    base = `SELECT user_id, first_event_at AS start FROM ${d.table(TABLES.users)} u WHERE ${[...range('first_event_at'), ...member].join(' AND ')}`;
  } else {
    const firsts = `SELECT user_id, min(ts) AS start FROM ${d.table(TABLES.events)} e WHERE ${[`ts < ${lit(q.asOfMs)}`, ...filterSql(d, spec.start, q.asOfMs), ...member].join(' AND ')} GROUP BY user_id`;
    base = `SELECT user_id, start FROM (${firsts}) f WHERE ${range('start').join(' AND ')}`;
  }
  const cp = periodKeySql(d, spec.cohort, d.epochMs('start'));
  if (q.breakdown === null) return `SELECT user_id, start, ${cp} AS cp FROM (${base}) cb`;
  const { keyword } = d.userJoin('left', 'cb', 'bg');
  return `SELECT user_id, start, ${cp} AS cp, coalesce(bgrp, ${d.stringLiteral(defaultGroup(q.breakdown))}) AS grp
FROM (${base}) cb
${keyword} (SELECT user_id, grp AS bgrp FROM ${breakdownRelation(d, q.breakdown)} br) bg USING (user_id)`;
}

/**
 * Calendar periods: each user's latest return event per period, joined to the cohorts.
 * First-seen cohorts start at the user's first event of any name, so every return event
 * is at or after the start and distinct (user, period) pairs suffice.
 */
function calendarReturns(d: SqlDialect, q: RetentionQuery, cohort: string): string {
  const p = periodKeySql(d, q.spec.cohort, d.epochMs('ts'));
  const conditions = returnEventConditions(d, q, returnedTableEnd(q)).join(' AND ');
  const { keyword } = d.userJoin('inner', 'r', 'c');
  const columns = cohortColumns(q);
  if (q.spec.start === null) {
    const periods = `SELECT user_id, ${p} AS p FROM ${d.table(TABLES.events)} e WHERE ${conditions} GROUP BY user_id, p`;
    return `SELECT user_id, ${columns}, p - cp AS k FROM (${periods}) r ${keyword} ${cohort} USING (user_id)`;
  }
  const latest = `SELECT user_id, ${p} AS p, max(ts) AS last FROM ${d.table(TABLES.events)} e WHERE ${conditions} GROUP BY user_id, p`;
  return `SELECT user_id, ${columns}, p - cp AS k FROM (${latest}) r ${keyword} ${cohort} USING (user_id) WHERE last >= start`;
}

/** Elapsed periods [start + k unit, start + (k+1) unit): every return event joined to its user's start. */
function elapsedReturns(d: SqlDialect, q: RetentionQuery, cohort: string): string {
  const unitMs = FIXED_UNIT_MS[q.spec.cohort as 'day' | 'week'];
  const events = `SELECT user_id, ts FROM ${d.table(TABLES.events)} e WHERE ${returnEventConditions(d, q, returnedTableEnd(q)).join(' AND ')}`;
  const k = d.intDiv(`${d.epochMs('ts')} - ${d.epochMs('start')}`, d.numberLiteral(unitMs));
  const { keyword } = d.userJoin('inner', 'r', 'c');
  const columns = cohortColumns(q);
  return `SELECT user_id, ${columns}, ${k} AS k FROM (${events}) r ${keyword} ${cohort} USING (user_id) WHERE ts >= start GROUP BY user_id, ${columns}, k`;
}

/** Per member, the period k of the latest return event (members without one have no row). */
function lastReturns(d: SqlDialect, q: RetentionQuery, cohort: string): string {
  const latest = `SELECT user_id, max(ts) AS last FROM ${d.table(TABLES.events)} e WHERE ${returnEventConditions(d, q, q.asOfMs).join(' AND ')} GROUP BY user_id`;
  const k =
    q.spec.alignment === 'calendar'
      ? `${periodKeySql(d, q.spec.cohort, d.epochMs('last'))} - cp`
      : d.intDiv(`${d.epochMs('last')} - ${d.epochMs('start')}`, d.numberLiteral(FIXED_UNIT_MS[q.spec.cohort as 'day' | 'week']));
  const { keyword } = d.userJoin('inner', 'r', 'c');
  return `SELECT ${cohortColumns(q)}, ${k} AS k FROM (${latest}) r ${keyword} ${cohort} USING (user_id) WHERE last >= start`;
}

/**
 * The return events that can matter: matching the filter, at or after the earliest start
 * (from), before `upperMs` (asOf, or for the returned table the end of the last period
 * shown of the last cohort).
 */
function returnEventConditions(d: SqlDialect, q: RetentionQuery, upperMs: number): string[] {
  return [
    `ts < ${d.timestampLiteral(upperMs)}`,
    ...(q.spec.fromMs === null ? [] : [`ts >= ${d.timestampLiteral(q.spec.fromMs)}`]),
    ...filterSql(d, q.spec.returnEvent, q.asOfMs),
  ];
}

/** The end of the last period the returned table shows, for the last possible member (at most asOf). */
function returnedTableEnd(q: RetentionQuery): number {
  const { spec } = q;
  const end =
    spec.alignment === 'calendar'
      ? periodStartMs(spec.cohort, periodKey(spec.cohort, spec.toMs - 1) + spec.periods + 1)
      : spec.toMs + (spec.periods + 1) * FIXED_UNIT_MS[spec.cohort as 'day' | 'week'];
  return Math.min(q.asOfMs, end);
}

/** An event filter as conditions on an events row (the event name, then each predicate; NULL filters out like false). */
function filterSql(d: SqlDialect, f: EventFilter, asOfMs: number): string[] {
  return [
    ...(f.event === null ? [] : [`event = ${d.stringLiteral(f.event)}`]),
    ...f.where.map((p) => `(${comparisonSql(d.quoteIdentifier(propertyColumn(p.property)), p.cmp, { dialect: d, asOfMs })})`),
  ];
}
