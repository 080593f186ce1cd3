/**
 * Durations and instants, the way the segment language and the CLI spell them.
 * Everything is UTC and millisecond precision: the store truncates timestamps to the
 * millisecond at ingest, so SQL engines and the in-memory evaluator see the same values.
 */
import { StrataError } from '../errors/errors.js';

export const MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
export type DurationUnit = keyof typeof MS;

const DURATION_RE = /^(\d{1,9})([mhdw])$/;

/** `45m`, `12h`, `30d`, `2w` to milliseconds; undefined when the text is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const m = DURATION_RE.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * MS[m[2] as DurationUnit];
}

export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm'] as const) {
    if (ms % MS[unit] === 0) return `${ms / MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/** A relative instant such as `-30d` (asOf minus 30 days): the signed offset in ms. */
export function parseRelativeOffsetMs(text: string): number | undefined {
  const m = /^([+-])(\d{1,9}[mhdw])$/.exec(text);
  if (!m) return undefined;
  const ms = parseDurationMs(m[2]!)!;
  return m[1] === '-' ? -ms : ms;
}

const ISO_DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_INSTANT_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * An ISO-8601 date (00:00 UTC) or instant, with or without a zone (none = UTC), or
 * `YYYY-MM-DD HH:MM:SS`. Returns epoch milliseconds, truncated, or undefined.
 */
export function parseInstantMs(text: string): number | undefined {
  const d = ISO_DATE_RE.exec(text);
  if (d) return checkedUtc(+d[1]!, +d[2]!, +d[3]!, 0, 0, 0, 0);
  const m = ISO_INSTANT_RE.exec(text);
  if (!m) return undefined;
  const frac = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const base = checkedUtc(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, m[6] ? +m[6] : 0, frac);
  if (base === undefined) return undefined;
  const zone = m[8];
  if (!zone || zone === 'Z') return base;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offset = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  return base - sign * offset;
}

function checkedUtc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
  return t;
}

/** Parse an instant for a user-facing option, or throw a TIME_INVALID error naming it. */
export function requireInstantMs(text: string, where: string): number {
  const ms = text === 'now' ? Date.now() : parseInstantMs(text);
  if (ms === undefined) {
    throw new StrataError('TIME_INVALID', `${where}: expected an ISO-8601 date or instant, got ${JSON.stringify(text)}`, [
      { path: where, message: 'expected an ISO-8601 date or instant (2024-05-01, 2024-05-01T12:00:00Z) or "now"' },
    ]);
  }
  return ms;
}

export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}

/** Start of the UTC day holding `ms`. */
export function utcDayStart(ms: number): number {
  return Math.floor(ms / MS.d) * MS.d;
}
