/**
 * The SQL fragments the registry shares between its queries. Every name, value and
 * engine-specific expression goes through the store's dialect.
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
 * A CTE `pop(user_id, member)`: every user of the population as of asOf, with member = 1
 * when the snapshot holds them, else 0.
 */
export function populationWithMembersCte(dialect: SqlDialect, snapshotId: number, asOfMs: number): string {
  return `pop AS (
    SELECT u.user_id, CASE WHEN m.user_id IS NULL THEN 0 ELSE 1 END AS member
    FROM ${TABLES.users} u
    LEFT JOIN (SELECT user_id FROM ${TABLES.snapshotMembers} WHERE snapshot_id = ${dialect.numberLiteral(snapshotId)}) m ON m.user_id = u.user_id
    WHERE ${populationPredicate(dialect, asOfMs)}
  )`;
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
