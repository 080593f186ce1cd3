/**
 * Assignment in SQL: the same buckets and variants as assign.ts, computed inside the store
 * (DuckDB and ClickHouse 18.16 alike) through the dialect's `hashBucket` hook, for derived
 * exposures (`exposure: assignment`) and for checks over many users at once. Only CASE,
 * concat, comparisons and the hook: no window functions, nothing 18.16 lacks.
 *
 * The bucket bounds are computed in TypeScript (variantBounds, coverageThreshold) and enter
 * the SQL as integer literals, so the rounding rule lives in one place. The user id
 * expression is a String/VARCHAR (ClickHouse: String or Nullable(String); 18.16 fails on
 * LowCardinality(String) here); a NULL id gives NULL buckets and a NULL variant.
 */
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { HASH_BUCKETS, hashInput, type HashPurpose } from './hash.js';
import { coverageThreshold, variantBounds, type AssignmentDefinition } from './assign.js';
import { StrataError } from '../../errors/errors.js';

/** The bucket in [0, 10000) of a user id expression (a String/VARCHAR) for one purpose; NULL for a NULL id. */
export function bucketSql(d: SqlDialect, def: Pick<AssignmentDefinition, 'seed' | 'hashVersion'>, purpose: HashPurpose, userIdExpr: string): string {
  if (def.hashVersion !== 1) throw new StrataError('INPUT_INVALID', `unknown hash version ${String(def.hashVersion)} (this Strata knows version 1)`);
  // `||` on both engines, since it keeps NULL (DuckDB's concat reads NULL as ''); the prefix is
  // `<seed>:<purpose>:` exactly as hash.ts builds it.
  return d.hashBucket(`(${d.stringLiteral(hashInput(def.seed, purpose, ''))} || ${userIdExpr})`);
}

/** True (the engine's boolean) when the user is inside coverage; the literal true at coverage 1. */
export function coveredSql(d: SqlDialect, def: AssignmentDefinition, userIdExpr: string): string {
  const threshold = coverageThreshold(def.coverage);
  if (threshold >= HASH_BUCKETS) return d.booleanLiteral(true);
  return `(${bucketSql(d, def, 'coverage', userIdExpr)} < ${threshold})`;
}

/** The variant key the variant bucket picks, whether or not the user is covered (assignVariant's `variant`). */
export function hashedVariantSql(d: SqlDialect, def: AssignmentDefinition, userIdExpr: string): string {
  const ranges = variantBounds(def).filter((r) => r.to > r.from);
  if (ranges.length === 0) throw new StrataError('INTERNAL', 'variant bounds cover no bucket');
  const bucket = bucketSql(d, def, 'variant', userIdExpr);
  // The same bucket expression in every branch: both engines compute an identical
  // subexpression once (DuckDB's EXPLAIN shows one sha256 projection). No ELSE: a NULL id (NULL bucket) matches no branch and reads NULL.
  const branches = ranges.map((r) => `WHEN ${bucket} < ${r.to} THEN ${d.stringLiteral(r.key)}`);
  return `CASE ${branches.join(' ')} END`;
}

/**
 * The variant key of a user inside coverage, NULL outside coverage: the SQL twin of
 * `assignVariant(def, id)` (covered ? variant : null). Targeting and start/stop are the
 * caller's (they depend on segments and instants, not on the hash).
 */
export function variantSql(d: SqlDialect, def: AssignmentDefinition, userIdExpr: string): string {
  const variant = hashedVariantSql(d, def, userIdExpr);
  if (coverageThreshold(def.coverage) >= HASH_BUCKETS) return variant;
  return `CASE WHEN ${coveredSql(d, def, userIdExpr)} THEN ${variant} ELSE NULL END`;
}
