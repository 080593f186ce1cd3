/**
 * Key moments in SQL: per moment, a relation `(user_id, at_ms)` with one row per user who
 * reached it before asOf, `at_ms` its instant in epoch milliseconds (a 64-bit integer).
 *
 * Each row depends on one user's rows only, so the queries run through
 * `store.queryByUser` and, on a ClickHouse cluster, on each shard against its own users.
 * Written once for DuckDB and ClickHouse 18.16 (registry-sql.ts lists the limits): one
 * JOIN per SELECT, `USING (user_id)`, right-hand columns read by unique unqualified names
 * (`anchor_ms`, `hits`), no window functions (the n-th of a group is the dialect's
 * `nthSmallest` aggregate), calendar keys from integer arithmetic (utc-calendar.ts).
 * Time comparisons against an anchor are on epoch ms, which both engines add durations to
 * without interval types.
 */
import { comparisonSql, type SqlContext } from '../../segments/compile/comparison-sql.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import type { Anchor, EventFilter } from '../../segments/ir/nodes.js';
import { propertyColumn, TABLES, traitColumn } from '../../store/schema.js';
import { memberFilter } from '../breakdown.js';
import type { MomentDefinition, MomentRule } from './moments-config.js';
import { daySql, periodSql } from './utc-calendar.js';

export interface MomentSqlOptions {
  /** Only events with timestamp < asOf exist; a moment whose instant is not before asOf has not happened. */
  readonly asOfMs: number;
  /** Only these users (`strata user`, tests). */
  readonly userIds?: readonly string[];
  /** Only the members of this segment snapshot (`--segment KEY`). */
  readonly snapshotId?: number;
}

/**
 * `SELECT user_id, at_ms`: the users who reached the moment before asOf, with its instant.
 * @example momentSql(duckdbDialect, {kind: 'first', filter: {event: 'signed_up', where: []}, after: null, withinMs: null}, {asOfMs})
 * // SELECT user_id, at_ms FROM (SELECT user_id, epoch_ms(min(ts)) AS at_ms FROM events
 * //   WHERE ts < make_timestamp(...) AND event = 'signed_up' GROUP BY user_id) AS r
 */
export function momentSql(d: SqlDialect, rule: MomentRule, options: MomentSqlOptions): string {
  const body = RULE_SQL[rule.kind](new MomentQuery(d, options), rule as never);
  const where = options.snapshotId === undefined ? '' : `\nWHERE ${memberFilter(d, options.snapshotId)}`;
  return `SELECT user_id, at_ms FROM (\n${body}\n) AS r${where}`;
}

/** `SELECT moment, user_id, at_ms` for several moments at once (UNION ALL), `moment` being the key. */
export function momentsSql(d: SqlDialect, moments: readonly MomentDefinition[], options: MomentSqlOptions): string {
  return moments.map((m, i) => `SELECT ${d.stringLiteral(m.key)} AS moment, user_id, at_ms FROM (\n${momentSql(d, m.rule, options)}\n) AS m${i}`).join('\nUNION ALL\n');
}

/** The pieces every rule's query is built from, for one dialect and one asOf. */
class MomentQuery {
  readonly ctx: SqlContext;

  constructor(
    readonly d: SqlDialect,
    readonly options: MomentSqlOptions,
  ) {
    this.ctx = { dialect: d, asOfMs: options.asOfMs };
  }

  get events(): string {
    return this.d.table(TABLES.events);
  }

  /** Events before asOf that match the filter (and the user restriction), as WHERE conjuncts. */
  matching(filter: EventFilter, prefix = ''): string {
    const d = this.d;
    const conjuncts = [`${prefix}ts < ${d.timestampLiteral(this.options.asOfMs)}`];
    if (filter.event !== null) conjuncts.push(`${prefix}event = ${d.stringLiteral(filter.event)}`);
    for (const p of filter.where) conjuncts.push(comparisonSql(`${prefix}${d.quoteIdentifier(propertyColumn(p.property))}`, p.cmp, this.ctx));
    const users = this.userRestriction(`${prefix}user_id`);
    if (users !== null) conjuncts.push(users);
    return conjuncts.join(' AND ');
  }

  userRestriction(column: string): string | null {
    const ids = this.options.userIds;
    if (ids === undefined) return null;
    if (ids.length === 0) return this.d.booleanLiteral(false);
    return `${column} IN (${ids.map((id) => this.d.stringLiteral(id)).join(', ')})`;
  }

  /**
   * `SELECT user_id, anchor_ms`: the user's first event matching the anchor's filter before
   * asOf, or the timestamp trait. Users without one have no row, so no moment.
   */
  anchor(anchor: Anchor): string {
    const d = this.d;
    if (anchor.kind === 'event') {
      return `SELECT user_id, ${d.epochMs('min(ts)')} AS anchor_ms FROM ${this.events} WHERE ${this.matching(anchor.filter)} GROUP BY user_id`;
    }
    const column = d.quoteIdentifier(traitColumn(anchor.trait));
    const users = this.userRestriction('user_id');
    return `SELECT user_id, ${d.epochMs(column)} AS anchor_ms FROM ${d.table(TABLES.profiles)} WHERE ${column} IS NOT NULL${users === null ? '' : ` AND ${users}`}`;
  }

  ms(value: number): string {
    return this.d.numberLiteral(value);
  }
}

type RuleSql = { readonly [K in MomentRule['kind']]: (q: MomentQuery, rule: Extract<MomentRule, { kind: K }>) => string };

const RULE_SQL: RuleSql = {
  first: (q, rule) => {
    const d = q.d;
    if (rule.after === null) {
      return `SELECT user_id, ${d.epochMs('min(ts)')} AS at_ms FROM ${q.events} WHERE ${q.matching(rule.filter)} GROUP BY user_id`;
    }
    const t = d.epochMs('e.ts');
    // Strictly after the anchor, so `first: '*'` after the first signed_up is not that event itself.
    const bounds = [`${t} > anchor_ms`, ...(rule.withinMs === null ? [] : [`${t} < anchor_ms + ${q.ms(rule.withinMs)}`])];
    return `SELECT user_id, min(${t}) AS at_ms
FROM ${q.events} AS e
JOIN (${q.anchor(rule.after)}) AS a USING (user_id)
WHERE ${q.matching(rule.filter, 'e.')} AND ${bounds.join(' AND ')}
GROUP BY user_id`;
  },

  threshold: (q, rule) => {
    const d = q.d;
    const where = q.matching(rule.filter);
    // The instants that count (as `ct`; ClickHouse reads `min(t) AS t` as a cycle): each
    // active day's first event, or every event.
    const counted =
      rule.measure === 'activeDays'
        ? `SELECT user_id, min(t) AS ct FROM (SELECT user_id, ${d.epochMs('ts')} AS t, ${daySql(d, d.epochMs('ts'))} AS day FROM ${q.events} WHERE ${where}) AS s GROUP BY user_id, day`
        : `SELECT user_id, ${d.epochMs('ts')} AS ct FROM ${q.events} WHERE ${where}`;
    const perPeriod = `SELECT user_id, ${d.nthSmallest('ct', rule.n)} AS reached
FROM (SELECT user_id, ct, ${periodSql(d, rule.per, 'ct')} AS period FROM (${counted}) AS c) AS p
GROUP BY user_id, period`;
    // Periods are ordered in time, so the earliest period's instant is the smallest.
    return `SELECT user_id, min(reached) AS at_ms FROM (${perPeriod}) AS n WHERE reached IS NOT NULL GROUP BY user_id`;
  },

  absence: (q, rule) => {
    const d = q.d;
    const t = d.epochMs('e.ts');
    // Only anchors whose window ends before asOf: anchor + within < asOf.
    const anchors = `SELECT user_id, anchor_ms FROM (${q.anchor(rule.after)}) AS a0 WHERE anchor_ms < ${q.ms(q.options.asOfMs - rule.withinMs)}`;
    const hits = `SELECT user_id, count() AS hits
FROM ${q.events} AS e
JOIN (${anchors}) AS a2 USING (user_id)
WHERE ${q.matching(rule.filter, 'e.')} AND ${t} >= anchor_ms AND ${t} < anchor_ms + ${q.ms(rule.withinMs)}
GROUP BY user_id`;
    return `SELECT user_id, anchor_ms + ${q.ms(rule.withinMs)} AS at_ms
FROM (${anchors}) AS a
LEFT JOIN (${hits}) AS h USING (user_id)
WHERE hits IS NULL`;
  },
};
