/**
 * UTC days, ISO weeks and calendar months of epoch-millisecond instants, as integer keys
 * computed with integer arithmetic only (`dialect.intDiv` on non-negative numbers), so
 * every engine computes the same keys and none needs a date function. Instants are first
 * shifted to days since 0000-03-01, which keeps every operand non-negative for any instant
 * from year 0 on; months then follow Howard Hinnant's `civil_from_days`
 * (https://howardhinnant.github.io/date_algorithms.html), counting years from March so
 * that the leap day ends a year.
 *
 * Each key has a TypeScript twin (`*Key`, `*StartMs`), the readable reference the SQL is
 * tested against and what turns a key back into an instant for people.
 */
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { MS } from '../../time/time.js';

/** Days from 0000-03-01 (proleptic Gregorian) to 1970-01-01. */
const EPOCH_SHIFT_DAYS = 719_468;
/** A shift that is a whole number of weeks from a Monday (1970-01-05 is one) and at least EPOCH_SHIFT_DAYS. */
const WEEK_SHIFT_DAYS = 719_470;

/** SQL: the UTC day of an epoch-ms expression, as days since 0000-03-01. */
export function daySql(d: SqlDialect, epochMs: string): string {
  return d.intDiv(`${epochMs} + ${d.numberLiteral(EPOCH_SHIFT_DAYS * MS.d)}`, d.numberLiteral(MS.d));
}

/** SQL: the ISO week (Monday to Sunday, UTC) of an epoch-ms expression, as an integer key. */
export function weekSql(d: SqlDialect, epochMs: string): string {
  return d.intDiv(`${epochMs} + ${d.numberLiteral(WEEK_SHIFT_DAYS * MS.d)}`, d.numberLiteral(MS.w));
}

/**
 * SQL: the UTC calendar month of a day key (`daySql`) as an integer key: 12 per year
 * counted from March, plus the month's place from March. Equal within a month, ordered.
 */
export function monthOfDaySql(d: SqlDialect, day: string): string {
  const div = (a: string, b: number) => d.intDiv(a, d.numberLiteral(b));
  const era = div(day, 146_097);
  const doe = `(${day} - ${era} * 146097)`;
  const yoe = div(`${doe} - ${div(doe, 1460)} + ${div(doe, 36_524)} - ${div(doe, 146_096)}`, 365);
  const doy = `(${doe} - (365 * ${yoe} + ${div(yoe, 4)} - ${div(yoe, 100)}))`;
  const mp = div(`5 * ${doy} + 2`, 153);
  return `((${era} * 400 + ${yoe}) * 12 + ${mp})`;
}

/** The period key SQL of a threshold or a summary bucket. */
export function periodSql(d: SqlDialect, per: 'week' | 'month', epochMs: string): string {
  return per === 'week' ? weekSql(d, epochMs) : monthOfDaySql(d, daySql(d, epochMs));
}

// ---- the TypeScript twins ----------------------------------------------------------------

export function dayKey(ms: number): number {
  return Math.floor(ms / MS.d) + EPOCH_SHIFT_DAYS;
}

export function weekKey(ms: number): number {
  return Math.floor((ms + WEEK_SHIFT_DAYS * MS.d) / MS.w);
}

export function monthKey(ms: number): number {
  const date = new Date(ms);
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth(); // 0 = January
  // Years count from March: January and February belong to the year before.
  return m >= 2 ? y * 12 + (m - 2) : (y - 1) * 12 + (m + 10);
}

export function periodKey(per: 'week' | 'month', ms: number): number {
  return per === 'week' ? weekKey(ms) : monthKey(ms);
}

/** The first instant (Monday 00:00 UTC) of a week key. */
export function weekStartMs(key: number): number {
  return key * MS.w - WEEK_SHIFT_DAYS * MS.d;
}

/** The first instant (the 1st, 00:00 UTC) of a month key. */
export function monthStartMs(key: number): number {
  const marchYear = Math.floor(key / 12);
  const fromMarch = key - marchYear * 12;
  return fromMarch <= 9 ? firstOfMonthMs(marchYear, fromMarch + 2) : firstOfMonthMs(marchYear + 1, fromMarch - 10);
}

/** Date.UTC reads years 0 to 99 as 1900 to 1999; setUTCFullYear does not. */
function firstOfMonthMs(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 1);
  return date.getTime();
}

export function periodStartMs(per: 'week' | 'month', key: number): number {
  return per === 'week' ? weekStartMs(key) : monthStartMs(key);
}
