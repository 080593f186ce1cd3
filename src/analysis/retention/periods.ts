/**
 * Cohort periods: UTC days, ISO weeks (Monday to Sunday, UTC) and UTC calendar months as
 * consecutive integer keys, in SQL and in TypeScript. The keys and their SQL come from
 * the shared UTC calendar (analysis/moments/utc-calendar.ts: integer arithmetic only, so
 * every engine computes the same keys); consecutive periods have consecutive keys, so
 * "calendar period k after the cohort's" is a key difference.
 */
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { MS } from '../../time/time.js';
import { dayKey, daySql, monthKey, monthOfDaySql, monthStartMs, weekKey, weekSql, weekStartMs } from '../moments/utc-calendar.js';

export const COHORT_UNITS = ['day', 'week', 'month'] as const;
export type CohortUnit = (typeof COHORT_UNITS)[number];

/** The length of a fixed-length unit (elapsed alignment); months have none. */
export const FIXED_UNIT_MS: Readonly<Record<Exclude<CohortUnit, 'month'>, number>> = { day: MS.d, week: MS.w };

const DAY_KEY_OF_EPOCH = dayKey(0);

/** SQL: the period key of an epoch-ms expression. */
export function periodKeySql(d: SqlDialect, unit: CohortUnit, epochMs: string): string {
  if (unit === 'day') return daySql(d, epochMs);
  if (unit === 'week') return weekSql(d, epochMs);
  return monthOfDaySql(d, daySql(d, epochMs));
}

/** The period key of an instant (the TypeScript twin of periodKeySql). */
export function periodKey(unit: CohortUnit, ms: number): number {
  if (unit === 'day') return dayKey(ms);
  if (unit === 'week') return weekKey(ms);
  return monthKey(ms);
}

/** The first instant of a period. */
export function periodStartMs(unit: CohortUnit, key: number): number {
  if (unit === 'day') return (key - DAY_KEY_OF_EPOCH) * MS.d;
  if (unit === 'week') return weekStartMs(key);
  return monthStartMs(key);
}

/** `2024-05-01` (day), `2024-W18` (ISO week-year and week), `2024-05` (month). */
export function periodLabel(unit: CohortUnit, key: number): string {
  const start = new Date(periodStartMs(unit, key)).toISOString();
  if (unit === 'day') return start.slice(0, 10);
  if (unit === 'month') return start.slice(0, 7);
  // The ISO week belongs to the year of its Thursday.
  const thursday = new Date(periodStartMs(unit, key) + 3 * MS.d);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / MS.w) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}
