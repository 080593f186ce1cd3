/**
 * The SQL fragments the registry shares between its queries. Every name, value and
 * engine-specific expression goes through the store's dialect, and every query is written
 * in the SQL both engines accept (DuckDB, and ClickHouse back to 18.16): no VALUES lists,
 * no window functions, one JOIN per SELECT (nested subqueries for more), joins on equal
 * keys only (`USING (user_id)`), `count()`, no CASE-with-operand. A relation used twice is
 * a CTE where the dialect has them and an inlined subquery where it does not.
 */
import type { SqlDialect } from '../compile/dialect.js';
import { TABLES } from '../../store/schema.js';

/**
 * The population as of an instant: users with a profile or an event before it
 * (DESIGN.md, "Evaluation"). `u` is the alias of the users table.
 */
export function populationPredicate(dialect: SqlDialect, asOfMs: number, alias = 'u'): string {
  return `(${alias}.has_profile OR ${alias}.first_event_at < ${dialect.timestampLiteral(asOfMs)})`;
}

/**
 * A subquery `(user_id, member)`: every user of the population as of asOf, with member = 1
 * when the snapshot holds them, else 0. Per user: on a cluster it runs on each shard.
 */
export function populationWithMembers(dialect: SqlDialect, snapshotId: number, asOfMs: number): string {
  return `(SELECT user_id, coalesce(member, 0) AS member
  FROM (SELECT u.user_id AS user_id FROM ${dialect.table(TABLES.users)} u WHERE ${populationPredicate(dialect, asOfMs)}) pu
  LEFT JOIN (SELECT user_id, 1 AS member FROM ${dialect.table(TABLES.snapshotMembers)} WHERE snapshot_id = ${dialect.numberLiteral(snapshotId)}) sm USING (user_id))`;
}

/**
 * A query over a relation it reads more than once: `WITH name AS (body) SELECT ...` where
 * the dialect has CTEs, else the body inlined at each use. `parts` are the SELECTs, each
 * naming the relation as `from`.
 */
export function withRelation(dialect: SqlDialect, name: string, body: string, parts: (from: string) => string): string {
  if (dialect.capabilities.commonTableExpressions) return `WITH ${name} AS ${body}\n${parts(name)}`;
  return parts(`${body} ${name}`);
}

/** A compiled query as a subquery: trailing semicolons would end the outer statement. */
export function asSubquery(sql: string): string {
  return `(${sql.trim().replace(/;+\s*$/, '')})`;
}

/** BIGINT and HUGEINT come back as bigint; counts fit a double exactly up to 2^53. */
export function toNumber(value: unknown): number {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return value;
  if (value === null || value === undefined) return 0;
  return Number(value);
}

export function toNullableNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = toNumber(value);
  return Number.isFinite(n) ? n : null;
}

/** Byte order of the UTF-8 encodings, the order both engines sort strings in. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Sum a numeric column of per-part rows (a cluster's shards each answer for their users) by a key. */
export function sumByKey<K>(rows: readonly Record<string, unknown>[], key: (r: Record<string, unknown>) => K, column: string): Map<K, number> {
  const out = new Map<K, number>();
  for (const r of rows) out.set(key(r), (out.get(key(r)) ?? 0) + toNumber(r[column]));
  return out;
}
