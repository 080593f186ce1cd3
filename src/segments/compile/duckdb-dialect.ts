import { StrataError } from '../../errors/errors.js';
import type { SqlDialect } from './dialect.js';

function assertNoNul(value: string): void {
  if (value.includes('\u0000')) throw new StrataError('INPUT_INVALID', 'NUL characters are not allowed in names or values');
}

export const duckdbDialect: SqlDialect = {
  name: 'duckdb',
  quoteIdentifier(name) {
    assertNoNul(name);
    return `"${name.replaceAll('"', '""')}"`;
  },
  stringLiteral(value) {
    assertNoNul(value);
    // DuckDB's standard strings: only the quote is special; backslashes are literal.
    return `'${value.replaceAll("'", "''")}'`;
  },
  numberLiteral(value) {
    if (!Number.isFinite(value)) throw new StrataError('INPUT_INVALID', `not a finite number: ${value}`);
    return Number.isInteger(value) ? `${value}` : `${value}::DOUBLE`;
  },
  timestampLiteral(epochMs) {
    if (!Number.isFinite(epochMs)) throw new StrataError('INPUT_INVALID', `not a finite instant: ${epochMs}`);
    return `make_timestamp(${Math.trunc(epochMs)}000::BIGINT)`;
  },
};
