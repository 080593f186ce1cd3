import { StrataError } from '../../errors/errors.js';
import type { SqlDialect } from './dialect.js';

function assertNoNul(value: string): void {
  if (value.includes('\u0000')) throw new StrataError('INPUT_INVALID', 'NUL characters are not allowed in names or values');
}

export const duckdbDialect: SqlDialect = {
  name: 'duckdb',
  capabilities: { commonTableExpressions: true, multipleJoins: true, windowFunctions: true, asofJoin: true },
  table(name) {
    return name;
  },
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
  booleanLiteral(value) {
    return value ? 'TRUE' : 'FALSE';
  },
  epochMs(timestamp) {
    return `epoch_ms(${timestamp})`;
  },
  utcDay(timestamp) {
    // Timestamps are stored zone-less in UTC, so the date part is the UTC day.
    return `CAST(${timestamp} AS DATE)`;
  },
  intDiv(dividend, divisor) {
    return `((${dividend}) // (${divisor}))`;
  },
  divide(dividend, divisor) {
    // `/` is always a floating-point division in DuckDB; the cast keeps a 128-bit sum exact up to 2^53.
    return `(CAST(${dividend} AS DOUBLE) / ${divisor})`;
  },
  aggregate(fn, arg, filter) {
    const call =
      fn === 'count' ? `count(${arg ?? '*'})` : fn === 'countDistinct' ? `count(DISTINCT ${arg ?? '*'})` : `${fn}(${arg ?? '*'})`;
    return filter === null ? call : `${call} FILTER (WHERE ${filter})`;
  },
  notIn(operand, values) {
    return `${operand} NOT IN (${values.join(', ')})`;
  },
  contains(haystack, needle) {
    return `contains(${haystack}, ${needle})`;
  },
  startsWith(value, prefix) {
    return `starts_with(${value}, ${prefix})`;
  },
  userJoin(kind, left, right) {
    if (kind === 'full') return { keyword: 'FULL JOIN', condition: 'USING (user_id)' };
    return { keyword: kind === 'left' ? 'LEFT JOIN' : 'JOIN', condition: `ON ${right}.user_id = ${left}.user_id` };
  },
  previousValue(expr, partitionBy, orderBy) {
    return `lag(${expr}) OVER (PARTITION BY ${partitionBy} ORDER BY ${orderBy.join(', ')})`;
  },
  nextValue(expr, partitionBy, orderBy) {
    return `lead(${expr}) OVER (PARTITION BY ${partitionBy} ORDER BY ${orderBy.join(', ')})`;
  },
  nextMatchJoin({ leftKey, rightKey, leftTime, rightTime }) {
    // An ASOF join with a strict inequality picks the nearest later right row per left row.
    return { keyword: 'ASOF JOIN', condition: `${rightKey} = ${leftKey} AND ${rightTime} > ${leftTime}` };
  },
  nthSmallest(expr, n) {
    // A list index past the end is NULL.
    return `list_sort(list(${expr}))[${Math.trunc(n)}]`;
  },
  argMin(arg, key) {
    // A parenthesised list of two or more expressions is a STRUCT, compared field by field.
    return `arg_min(${arg}, ${key.length === 1 ? key[0] : `(${key.join(', ')})`})`;
  },
  exactQuantiles(arg, fractions, filter) {
    const call = `quantile_cont(${arg}, [${fractions.map((f) => duckdbDialect.numberLiteral(f)).join(', ')}])`;
    return filter === null ? call : `${call} FILTER (WHERE ${filter})`;
  },
  orderedSum(expr) {
    // An ordered aggregate feeds the group's values to sum in sorted order.
    return `coalesce(sum(${expr} ORDER BY ${expr}), 0)`;
  },
  hashBucket(stringExpr) {
    // sha256 gives lowercase hex; its first 8 digits are the first 4 bytes, big-endian.
    return `(('0x' || substr(sha256(${stringExpr}), 1, 8))::UBIGINT % 10000)::INTEGER`;
  },
};
