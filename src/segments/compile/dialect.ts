/**
 * Dialect hooks for the SQL compiler. A back end is this small set of hooks plus
 * capability flags, never a copy of the compiler. Every user string reaches SQL through
 * `quoteIdentifier` or `stringLiteral`, which are the only escaping functions.
 *
 * The hooks are deliberately fine-grained (one expression each) so that an engine with
 * an older SQL surface (ClickHouse 18.16: `countIf` instead of FILTER, UInt8 instead of
 * BOOLEAN) plugs in by overriding expressions. Where an engine lacks a whole query shape,
 * a capability flag tells the one compiler (batch-plan.ts) to render the same relation
 * another way, from the same measures:
 *
 * | capability off          | what the compiler renders instead                                   |
 * |-------------------------|---------------------------------------------------------------------|
 * | commonTableExpressions  | each relation inlined as a derived table where it is used           |
 * | multipleJoins           | each JOIN after the first nests the query so far as a derived table; |
 * |                         | relation columns get names unique in the whole query (`ev_m0`) and  |
 * |                         | are read unqualified, so references survive the nesting             |
 * | windowFunctions         | session edges from each user's sorted array of event times: a start |
 * |                         | or an end where the gap to the neighbour is at least the session    |
 * |                         | gap, sessions numbered by a running count of starts (`arrays`)      |
 * | asofJoin                | each sequence or funnel in one pass: per user, sorted arrays of     |
 * |                         | each step's times; per start, each next step is the first later     |
 * |                         | element of its step's array (`arrays`)                              |
 *
 * Joins are always on user_id, between relations with at most one row per user on the
 * right (`userJoin`), or FULL between parts of one pass.
 */
export type AggregateFunction = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'countDistinct';

export interface DialectCapabilities {
  /**
   * `WITH name AS (subquery)` is available. Without it the compiler inlines each relation
   * as a derived table where it is used (a relation used twice is then computed twice).
   */
  readonly commonTableExpressions: boolean;
  /** More than one JOIN in a SELECT. Without it joins nest, see the table above. */
  readonly multipleJoins: boolean;
  /** `previousValue` / `nextValue` (window functions). Without them sessions use `arrays`. */
  readonly windowFunctions: boolean;
  /** `nextMatchJoin` (an ASOF join). Without it sequences and funnels use `arrays`. */
  readonly asofJoin: boolean;
}

/** How one relation is joined to another on user_id. */
export type UserJoinKind = 'left' | 'full' | 'inner';

/**
 * Per-user arrays, for engines without window functions or ASOF joins. Arrays are 1-based.
 * A lambda (`params`, `body`, over the elements of `arrays` in step) reads its parameters
 * only, never another column: ClickHouse 18.16 loses columns that only a lambda reads when
 * it prunes a subquery's columns, so a column goes in as one more array (`repeat`).
 */
export interface ArrayFunctions {
  /** Aggregate: the values of `expr` on the group's rows where `filter` holds (all when null or absent), as an array in ascending order. */
  sortedGroupArray(expr: string, filter?: string | null): string;
  /** The element at a 1-based index; outside the array, some value of the element type, never an error (callers guard it). */
  element(array: string, index: string): string;
  /** An array as long as `array` holding `value` in every place. */
  repeat(value: string, array: string): string;
  /** Each element minus the one before; the first gives 0. */
  differences(array: string): string;
  /** Running sums. */
  cumulativeSum(array: string): string;
  /** The array without its first element. */
  dropFirst(array: string): string;
  prepend(value: string, array: string): string;
  append(array: string, value: string): string;
  map(params: readonly string[], body: string, arrays: readonly string[]): string;
  /** The elements of the first array for which the lambda holds. */
  filter(params: readonly string[], body: string, arrays: readonly string[]): string;
  /** The 1-based index of the first place where the lambda holds; 0 when it holds nowhere. */
  firstIndex(params: readonly string[], body: string, arrays: readonly string[]): string;
  /**
   * What follows a FROM source to get one row per place of the arrays (all as long as
   * each other; rows with empty arrays disappear), each array's element under its alias.
   */
  unnest(arrays: readonly { readonly array: string; readonly alias: string }[]): string;
}

export interface SqlDialect {
  readonly name: string;
  readonly capabilities: DialectCapabilities;
  /**
   * How a query names one of the store's tables (src/store/schema.ts TABLES): the table
   * itself, or an expression that reads it (ClickHouse: `(SELECT * FROM users FINAL)` for a
   * table whose rows are replaced by version; a shard's local table in a cluster).
   */
  table(name: string): string;
  /** Quote any identifier (table, column); safe for every printable string. */
  quoteIdentifier(name: string): string;
  /** A string literal; safe for every string. */
  stringLiteral(value: string): string;
  /** A finite number literal. */
  numberLiteral(value: number): string;
  /** A TIMESTAMP literal for epoch milliseconds (UTC). */
  timestampLiteral(epochMs: number): string;
  /** The engine's true / false. */
  booleanLiteral(value: boolean): string;
  /** Whole epoch milliseconds (a 64-bit integer) of a TIMESTAMP expression. */
  epochMs(timestamp: string): string;
  /** The UTC calendar day of a TIMESTAMP expression, as a value compared for equality only. */
  utcDay(timestamp: string): string;
  /** Integer division of two non-negative integer expressions, rounding down. */
  intDiv(dividend: string, divisor: string): string;
  /** Division of two integer expressions as a double (the divisor is never 0). */
  divide(dividend: string, divisor: string): string;
  /**
   * An aggregate over the group's rows where `filter` holds (all rows when null). `count`
   * with a null argument counts rows. Over no rows `count` and `countDistinct` give 0,
   * the others SQL NULL; NULL arguments are ignored.
   */
  aggregate(fn: AggregateFunction, arg: string | null, filter: string | null): string;
  /**
   * `operand` is none of `values` (a non-empty list of literals); false or NULL when
   * `operand` is NULL (ClickHouse 18.16 says true for `NULL NOT IN (...)`).
   */
  notIn(operand: string, values: readonly string[]): string;
  /** Case-sensitive substring test on strings. */
  contains(haystack: string, needle: string): string;
  /** Case-sensitive prefix test on strings. */
  startsWith(value: string, prefix: string): string;
  /**
   * The keyword before the right relation and the condition after it, joining rows of
   * `left` to those of `right` with the same user_id (the right side holds at most one
   * row per user, except for `full`). Unmatched columns must read as SQL NULL.
   */
  userJoin(kind: UserJoinKind, left: string, right: string): { readonly keyword: string; readonly condition: string };
  /** The value of `expr` on the previous row of the partition in `orderBy` order; NULL on the first (capability windowFunctions). */
  previousValue(expr: string, partitionBy: string, orderBy: readonly string[]): string;
  /** The value of `expr` on the next row of the partition in `orderBy` order; NULL on the last (capability windowFunctions). */
  nextValue(expr: string, partitionBy: string, orderBy: readonly string[]): string;
  /**
   * A join of each left row to the one right row with an equal key whose time is the
   * smallest strictly greater than the left row's (left rows without one are dropped): the
   * keyword to put before the right relation and the condition after its ON (capability asofJoin).
   */
  nextMatchJoin(on: { readonly leftKey: string; readonly rightKey: string; readonly leftTime: string; readonly rightTime: string }): {
    readonly keyword: string;
    readonly condition: string;
  };
  /** Required when windowFunctions or asofJoin is off. */
  readonly arrays?: ArrayFunctions;
  /**
   * Aggregate: the n-th smallest value (1-based, equal values counted separately) of a
   * non-NULL expression over the group's rows; NULL when the group has fewer than n rows.
   * Key moments use it for "the N-th active day / event of a month".
   */
  nthSmallest(expr: string, n: number): string;
  /**
   * Aggregate: `arg` on the group's row with the smallest `key` (a list of expressions
   * compared in order, like a tuple); rows where `arg` is NULL are skipped. Funnels use it
   * to pick each user's attempt (deepest step first, then the earliest start).
   */
  argMin(arg: string, key: readonly string[]): string;
  /**
   * Aggregate, where the engine has one: the exact quantiles of `arg` at `fractions`, each
   * interpolated linearly between the two nearest ranks (h = p(n-1), as DuckDB's
   * quantile_cont and numpy's default), as a list in the order of `fractions`, over the
   * rows where `filter` holds; NULL over no rows. Absent where the engine has no such
   * aggregate: callers then merge exact frequency tables (which is also how a sharded store
   * merges its parts).
   */
  readonly exactQuantiles?: (arg: string, fractions: readonly number[], filter: string | null) => string;
  /**
   * Aggregate: the sum of a number expression over the group's rows, added in ascending
   * order of the values, so that the result has the same bits however the rows are split
   * or ordered (a plain sum of doubles does not: parallel partial sums round differently
   * from run to run); rows where it is NULL are skipped; 0 when none is left. RFM's
   * monetary value uses it, since cut points and scores are computed in separate passes.
   */
  orderedSum(expr: string): string;
  /**
   * Experiment hash buckets (src/experiments/design/hash.ts, version 1): the first 4 bytes
   * of the SHA-256 digest of the UTF-8 bytes of a string expression, read as a big-endian
   * unsigned 32-bit integer, modulo 10000; an integer in [0, 10000). NULL for NULL.
   */
  hashBucket(stringExpr: string): string;
}
