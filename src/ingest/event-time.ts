/**
 * The timestamps ingest accepts, as a reference implementation. The store does the same
 * parsing set-based in SQL (store/duckdb/ingest-values.ts `timestampFromText`); a test
 * compares the two on a table of inputs, so this file is the readable statement of the rule:
 *
 * - ISO-8601 as `parseInstantMs` reads it: `2024-05-01`, `2024-05-01T12:30`,
 *   `2024-05-01T12:30:05.123456Z`, `2024-05-01 12:30:05+02:00`, `YYYY-MM-DD HH:MM:SS`;
 *   no zone means UTC.
 * - Epoch numbers (digits, optional fraction, no sign): an integer part below 1e11 is
 *   seconds, below 1e14 milliseconds. 1e11 seconds is the year 5138 and 1e11 milliseconds
 *   is March 1973, so real event times are never ambiguous; larger values (microseconds,
 *   nanoseconds) are rejected rather than guessed.
 * - Everything is truncated to the millisecond.
 */
import { parseInstantMs } from '../time/time.js';

export const EPOCH_SECONDS_BELOW = 1e11;
export const EPOCH_MILLIS_BELOW = 1e14;

const EPOCH_RE = /^(\d{1,18})(?:\.(\d+))?$/;

/** Epoch milliseconds for an accepted timestamp text, else undefined. */
export function parseEventTimeMs(text: string): number | undefined {
  const m = EPOCH_RE.exec(text);
  if (!m) return parseInstantMs(text);
  const whole = Number(m[1]);
  if (whole < EPOCH_SECONDS_BELOW) return whole * 1000 + Number((m[2] ?? '').slice(0, 3).padEnd(3, '0'));
  if (whole < EPOCH_MILLIS_BELOW) return whole;
  return undefined;
}
