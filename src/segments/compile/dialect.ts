/**
 * Dialect hooks for the SQL compiler. A back end is this small set of hooks plus
 * capability flags, never a copy of the compiler. Every user string reaches SQL through
 * `quoteIdentifier` or `stringLiteral`, which are the only escaping functions.
 */
export interface SqlDialect {
  readonly name: string;
  /** Quote any identifier (table, column); safe for every printable string. */
  quoteIdentifier(name: string): string;
  /** A string literal; safe for every string. */
  stringLiteral(value: string): string;
  /** A finite number literal. */
  numberLiteral(value: number): string;
  /** A TIMESTAMP literal for epoch milliseconds (UTC). */
  timestampLiteral(epochMs: number): string;
}
