/**
 * Dialect hooks for the SQL compiler. A back end is this small set of hooks plus
 * capability flags, never a copy of the compiler. Every user string reaches SQL through
 * `quoteIdentifier` or `stringLiteral`, which are the only escaping functions.
 *
 * The hooks are deliberately fine-grained (one expression each) so that an engine with
 * an older SQL surface (ClickHouse 18.16: `countIf` instead of FILTER, no CTE subqueries,
 * UInt8 instead of BOOLEAN) can plug in by overriding expressions, not query shapes.
 */
export type AggregateFunction = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'countDistinct';

export interface DialectCapabilities {
  /**
   * `WITH name AS (subquery)` is available. Without it the compiler inlines each relation
   * as a derived table where it is used (a relation used twice is then computed twice).
   */
  readonly commonTableExpressions: boolean;
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
  /** Case-sensitive substring test on strings. */
  contains(haystack: string, needle: string): string;
  /** Case-sensitive prefix test on strings. */
  startsWith(value: string, prefix: string): string;
  /** The value of `expr` on the previous row of the partition in `orderBy` order; NULL on the first. */
  previousValue(expr: string, partitionBy: string, orderBy: readonly string[]): string;
  /** The value of `expr` on the next row of the partition in `orderBy` order; NULL on the last. */
  nextValue(expr: string, partitionBy: string, orderBy: readonly string[]): string;
  /**
   * A join of each left row to the one right row with an equal key whose time is the
   * smallest strictly greater than the left row's (left rows without one are dropped): the
   * keyword to put before the right relation and the condition after its ON.
   */
  nextMatchJoin(on: { readonly leftKey: string; readonly rightKey: string; readonly leftTime: string; readonly rightTime: string }): {
    readonly keyword: string;
    readonly condition: string;
  };
}
