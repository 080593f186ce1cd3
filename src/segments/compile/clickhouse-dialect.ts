/**
 * The ClickHouse dialect: hooks only, for the same compiler as DuckDB. It targets the
 * oldest ClickHouse Strata supports, Debian's 18.16, and avoids whatever later releases
 * changed the meaning of, so it runs unchanged on current ones. What 18.16 lacks, and how
 * the hooks and capability flags (dialect.ts) make up for it:
 * - no query parameters: every literal goes through `stringLiteral` / `quoteIdentifier`
 *   (backslash escapes; tested against hostile strings on a real server);
 * - no DateTime64: timestamps are Int64 epoch milliseconds (`timestampLiteral`, `epochMs`);
 * - no BOOLEAN: UInt8 0/1;
 * - `minIf`/`sumIf`/`avgIf` over no matching rows give 0 or nan, not NULL: `aggregate`
 *   guards them with a count;
 * - `NULL NOT IN (...)` is 1: `notIn` tests presence first;
 * - no CTE subqueries (`WITH name AS (SELECT ...)`): the compiler inlines relations;
 * - one JOIN per SELECT: the compiler nests the others, naming relation columns uniquely
 *   (`ev_m0`) and reading them unqualified; nested FULL JOINs name their columns, since
 *   18.16 fails on `SELECT *` over one ("Block structure mismatch in UNION stream");
 * - no window functions and no ASOF JOIN: sessions and sequence/funnel chains use per-user
 *   sorted arrays (`arrays` below); lambdas read only their parameters, a column going in
 *   through `replicate`, because 18.16 prunes from a subquery a column only a lambda reads.
 *
 * Minimum version assumptions (all present in 18.16.1, probed against the real server by
 * compile-clickhouse.test.ts over the spec vectors and demo segments): functions count,
 * countIf, uniqExact, uniqExactIf, minIf, maxIf, sumIf, avgIf, if, coalesce, intDiv, modulo,
 * toInt64, toFloat64, position, startsWith, groupArray, arraySort, arrayElement,
 * arrayDifference, arrayCumSum, arrayPopFront, arrayPushFront, arrayPushBack, arrayMap,
 * arrayFilter, arrayFirstIndex, replicate; syntax ANY LEFT JOIN, ANY INNER JOIN, ALL FULL
 * OUTER JOIN with USING, ARRAY JOIN, FINAL, UNION ALL, HAVING, CASE WHEN, BETWEEN, NOT IN.
 * Join strictness is always written out (the default changed across releases), integer
 * types are fixed with toInt64 / toFloat64 where branches must agree, and the compiled SQL
 * relies on the session setting join_use_nulls = 1 (unmatched join columns read NULL),
 * which the store sets on every query.
 *
 * Tables: `users` and `profiles` are ReplacingMergeTree tables (a new row per change,
 * the highest `version` wins), read through FINAL. In a cluster the same dialect names
 * either the Distributed tables (queries sent to the initiator) or one shard's local
 * tables (per-user queries run on each shard).
 */
import { StrataError } from '../../errors/errors.js';
import type { ArrayFunctions, SqlDialect } from './dialect.js';
import { TABLES } from '../../store/schema.js';

/** Tables whose rows are replaced by version: read with FINAL so only the latest row counts. */
export const REPLACING_TABLES: ReadonlySet<string> = new Set([TABLES.users, TABLES.profiles]);

/** The suffix of a shard's local table behind a Distributed table of the plain name. */
export const LOCAL_SUFFIX = '_local';

function assertNoNul(value: string): void {
  if (value.includes('\u0000')) throw new StrataError('INPUT_INVALID', 'NUL characters are not allowed in names or values');
}

/**
 * The one escaping function for ClickHouse string literals: backslash is the escape
 * character inside quotes, so both the backslash and the quote are escaped with it.
 */
export function clickhouseString(value: string): string {
  assertNoNul(value);
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** A back-quoted identifier, escaped the same way as strings. */
export function clickhouseIdentifier(name: string): string {
  assertNoNul(name);
  return `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
}

const lambda = (params: readonly string[], body: string, arrays: readonly string[]) =>
  `${params.length === 1 ? params[0] : `(${params.join(', ')})`} -> ${body}, ${arrays.join(', ')}`;

const CLICKHOUSE_ARRAYS: ArrayFunctions = {
  sortedGroupArray: (expr, filter) => (filter ? `arraySort(groupArrayIf(${expr}, ${filter}))` : `arraySort(groupArray(${expr}))`),
  element: (array, index) => `arrayElement(${array}, ${index})`,
  // replicate is also how ClickHouse itself passes captured columns to lambdas.
  repeat: (value, array) => `replicate(${value}, ${array})`,
  differences: (array) => `arrayDifference(${array})`,
  cumulativeSum: (array) => `arrayCumSum(${array})`,
  dropFirst: (array) => `arrayPopFront(${array})`,
  prepend: (value, array) => `arrayPushFront(${array}, ${value})`,
  append: (array, value) => `arrayPushBack(${array}, ${value})`,
  map: (params, body, arrays) => `arrayMap(${lambda(params, body, arrays)})`,
  filter: (params, body, arrays) => `arrayFilter(${lambda(params, body, arrays)})`,
  firstIndex: (params, body, arrays) => `arrayFirstIndex(${lambda(params, body, arrays)})`,
  unnest: (arrays) => `ARRAY JOIN ${arrays.map((a) => `${a.array} AS ${a.alias}`).join(', ')}`,
};

/** `IS NOT NULL` of an expression, parenthesised unless it is a plain column. */
function isNotNull(expr: string): string {
  return `${/^[\w.`]+$/.test(expr) ? expr : `(${expr})`} IS NOT NULL`;
}

export interface ClickHouseDialectOptions {
  /** `local`: name a shard's local tables (`events_local`), for queries run on each shard. */
  readonly tables?: 'plain' | 'local';
  /** Tables that exist as `<name>_local` on each shard (cluster mode); others are plain everywhere. */
  readonly sharded?: ReadonlySet<string>;
}

export function clickhouseDialect(options: ClickHouseDialectOptions = {}): SqlDialect {
  const local = options.tables === 'local';
  const sharded = options.sharded ?? new Set<string>();
  return {
    name: 'clickhouse',
    capabilities: { commonTableExpressions: false, multipleJoins: false, windowFunctions: false, asofJoin: false },
    table(name) {
      const physical = local && sharded.has(name) ? `${name}${LOCAL_SUFFIX}` : name;
      return REPLACING_TABLES.has(name) ? `(SELECT * FROM ${physical} FINAL)` : physical;
    },
    quoteIdentifier: clickhouseIdentifier,
    stringLiteral: clickhouseString,
    numberLiteral(value) {
      if (!Number.isFinite(value)) throw new StrataError('INPUT_INVALID', `not a finite number: ${value}`);
      // Integers outside Int64 and every fraction are Float64; toFloat64 keeps the type fixed.
      return Number.isSafeInteger(value) ? `${value}` : `toFloat64(${value})`;
    },
    timestampLiteral(epochMs) {
      if (!Number.isFinite(epochMs)) throw new StrataError('INPUT_INVALID', `not a finite instant: ${epochMs}`);
      return `toInt64(${Math.trunc(epochMs)})`;
    },
    booleanLiteral(value) {
      return value ? '1' : '0';
    },
    epochMs(timestamp) {
      return timestamp;
    },
    utcDay(timestamp) {
      // intDiv truncates toward zero; a negative remainder means the day before (pre-1970).
      return `(intDiv(${timestamp}, 86400000) - if(modulo(${timestamp}, 86400000) < 0, 1, 0))`;
    },
    intDiv(dividend, divisor) {
      return `intDiv(${dividend}, ${divisor})`;
    },
    divide(dividend, divisor) {
      return `(toFloat64(${dividend}) / ${divisor})`;
    },
    aggregate(fn, arg, filter) {
      const where = (extra: string | null) => [extra, filter].filter((x): x is string => x !== null).map((x) => `(${x})`).join(' AND ');
      if (fn === 'count') {
        const cond = where(arg === null ? null : isNotNull(arg));
        return cond === '' ? 'count()' : `countIf(${cond})`;
      }
      if (fn === 'countDistinct') {
        if (arg === null) throw new StrataError('INTERNAL', 'countDistinct needs an argument');
        return filter === null ? `uniqExact(${arg})` : `uniqExactIf(${arg}, ${filter})`;
      }
      if (arg === null) throw new StrataError('INTERNAL', `${fn} needs an argument`);
      // 18.16 returns 0 (min, max, sum) or nan (avg) over no rows, even for Nullable arguments.
      const present = where(isNotNull(arg));
      return `if(countIf(${present}) = 0, NULL, ${fn}If(${arg}, ${present}))`;
    },
    notIn(operand, values) {
      // NULL NOT IN (...) is 1 on 18.16: test presence first.
      return `(${operand} IS NOT NULL AND ${operand} NOT IN (${values.join(', ')}))`;
    },
    contains(haystack, needle) {
      return `(position(${haystack}, ${needle}) > 0)`;
    },
    startsWith(value, prefix) {
      return `startsWith(${value}, ${prefix})`;
    },
    userJoin(kind) {
      // Explicit strictness: the default (join_default_strictness) differs between releases.
      const keyword = kind === 'left' ? 'ANY LEFT JOIN' : kind === 'inner' ? 'ANY INNER JOIN' : 'ALL FULL OUTER JOIN';
      return { keyword, condition: 'USING user_id' };
    },
    arrays: CLICKHOUSE_ARRAYS,
    previousValue() {
      throw new StrataError('INTERNAL', 'ClickHouse has no window functions before 21.x; the compiler must not ask for previousValue');
    },
    nextValue() {
      throw new StrataError('INTERNAL', 'ClickHouse has no window functions before 21.x; the compiler must not ask for nextValue');
    },
    nextMatchJoin() {
      throw new StrataError('INTERNAL', 'ClickHouse 18.16 has no ASOF JOIN; the compiler must not ask for nextMatchJoin');
    },
    nthSmallest(expr, n) {
      // arrayElement past the end gives the type's default, not NULL: guard with the count.
      const index = Math.trunc(n);
      return `if(count() >= ${index}, arrayElement(arraySort(groupArray(${expr})), ${index}), NULL)`;
    },
    argMin(arg, key) {
      // Tuples compare element by element (argMin with a tuple key is in 18.16); NULL args are skipped.
      return `argMin(${arg}, tuple(${key.join(', ')}))`;
    },
    // No exactQuantiles: quantileExact picks an element rather than interpolating, so parts send frequency tables.
    orderedSum(expr) {
      // Sorted first, then added left to right; arraySum of an empty array is 0.
      return `arraySum(arraySort(groupArrayIf(assumeNotNull(${expr}), ${isNotNull(expr)})))`;
    },
    hashBucket(stringExpr) {
      // SHA256 gives the raw 32 bytes; reinterpretAsUInt32 reads little-endian, so the first 4 are reversed first
      // (all four functions are in 18.16.1: test/experiment-hash-clickhouse.test.ts runs spec/hash.json on it).
      return `toUInt32(reinterpretAsUInt32(reverse(substring(SHA256(${stringExpr}), 1, 4))) % 10000)`;
    },
  };
}
