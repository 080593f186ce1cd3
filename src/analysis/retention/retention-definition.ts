/**
 * What a retention table is: the cohorts (by first-seen day, week or month, or by the
 * user's first matching start event), the return event, how periods are counted, how
 * many, the cohort range, and which tables. A definition comes from `strata retention`'s
 * options, from a retention file (`--file retention.yaml`), or from code; it is checked
 * against the tracking plan here, every error naming its path.
 *
 * Event references and their `where` lists are checked by the segment language's own
 * checker, so a start or return event filters exactly like a `did` condition would.
 */
import { StrataError, type ErrorDetail } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { EventFilter, Literal, PropertyPredicate } from '../../segments/ir/nodes.js';
import { ConditionChecker, isRecord } from '../../segments/language/condition-checker.js';
import { show } from '../../segments/language/messages.js';
import { formatDuration, parseInstantMs, parseRelativeOffsetMs } from '../../time/time.js';
import { COHORT_UNITS, type CohortUnit } from './periods.js';

export const ALIGNMENTS = ['calendar', 'elapsed'] as const;
export type Alignment = (typeof ALIGNMENTS)[number];

export const RETENTION_MODES = ['returned', 'on-or-after', 'both'] as const;
export type RetentionMode = (typeof RETENTION_MODES)[number];

/** Periods after period 0 shown when none is given. */
export const DEFAULT_PERIODS: Readonly<Record<CohortUnit, number>> = { day: 30, week: 12, month: 12 };
export const MAX_PERIODS = 1000;

/** An event reference as written: a name (`*` for any event) or `{event: E, where: [P...]}`. */
export type EventSpec = string | { readonly event: string; readonly where?: readonly unknown[] };

/** A retention definition as written (file keys; the CLI options map onto the same keys). */
export interface RetentionDefinition {
  readonly cohort?: CohortUnit;
  readonly alignment?: Alignment;
  /** The start event; absent, null or `first-seen`: the user's first event of any name. */
  readonly start?: EventSpec | null;
  /** The return event; default `*` (any event). */
  readonly return?: EventSpec;
  readonly periods?: number;
  /** Cohort range [from, to): ISO dates or instants, or offsets from asOf (`-12w`). */
  readonly from?: string;
  readonly to?: string;
  readonly mode?: RetentionMode;
  /** `--by NAME`: trait:T, segment:KEY or a bare name (analysis/breakdown.ts). */
  readonly by?: string;
  /** `--segment KEY`: only the segment's members as of asOf. */
  readonly segment?: string;
}

/** A checked definition, bound to asOf. */
export interface RetentionSpec {
  readonly cohort: CohortUnit;
  readonly alignment: Alignment;
  /** null: cohorts by first seen (each user's first event of any name). */
  readonly start: EventFilter | null;
  readonly returnEvent: EventFilter;
  /** Periods 0..periods are shown. */
  readonly periods: number;
  /** Users whose start instant lies in [fromMs, toMs); null: no lower bound. toMs is at most asOf. */
  readonly fromMs: number | null;
  readonly toMs: number;
  readonly mode: RetentionMode;
  readonly by: string | null;
  readonly segment: string | null;
}

const KEYS = ['cohort', 'alignment', 'start', 'return', 'periods', 'from', 'to', 'mode', 'by', 'segment'] as const;
const FIRST_SEEN = 'first-seen';
const ANY_EVENT: EventFilter = { event: null, where: [] };

/**
 * Check a definition against the plan and bind it to asOf. `where(path)` says where a
 * path was written (a file line, a CLI option) for error messages; the default is the path.
 * Throws INPUT_INVALID with every problem found.
 */
export function checkRetentionDefinition(
  raw: unknown,
  plan: TrackingPlan,
  asOfMs: number,
  where: (path: string) => string = (p) => p,
): RetentionSpec {
  const errors: ErrorDetail[] = [];
  const err = (path: string, message: string) => errors.push({ path: where(path), message });
  if (!isRecord(raw)) {
    throw new StrataError('INPUT_INVALID', 'a retention definition is a mapping', [{ path: where(''), message: `expected a mapping with keys ${KEYS.join(', ')}, got ${show(raw)}` }]);
  }
  for (const key of Object.keys(raw)) {
    if (!(KEYS as readonly string[]).includes(key)) err(key, `unknown key; expected one of ${KEYS.join(', ')}`);
  }
  const cohort = oneOf(raw.cohort, COHORT_UNITS, 'week', 'cohort', err);
  const alignment = oneOf(raw.alignment, ALIGNMENTS, 'calendar', 'alignment', err);
  if (cohort === 'month' && alignment === 'elapsed') {
    err(
      'alignment',
      'elapsed periods need a fixed length and months have none: use --cohort month with calendar alignment (calendar month k after the cohort month), or --cohort week or day with --alignment elapsed',
    );
  }
  const mode = oneOf(raw.mode, RETENTION_MODES, 'both', 'mode', err);
  const periods = raw.periods === undefined ? DEFAULT_PERIODS[cohort] : raw.periods;
  if (typeof periods !== 'number' || !Number.isInteger(periods) || periods < 0 || periods > MAX_PERIODS) {
    err('periods', `expected a whole number of periods after period 0, from 0 to ${MAX_PERIODS}, got ${show(raw.periods)}`);
  }

  const checker = new ConditionChecker(plan);
  const start = raw.start === undefined || raw.start === null || raw.start === FIRST_SEEN ? null : eventFilter(raw.start, 'start', plan, checker, err);
  const returnEvent = raw.return === undefined ? ANY_EVENT : eventFilter(raw.return, 'return', plan, checker, err);
  // The checker names the event `did`: `start.event` in a mapping, `start` itself when written as a name.
  const eventKey = (key: 'start' | 'return') => (isRecord(raw[key]) ? `${key}.event` : key);
  for (const e of checker.errors) err((e.path ?? '').replace(/^(start|return)\.did$/, (_, key: 'start' | 'return') => eventKey(key)), e.message);

  const fromMs = raw.from === undefined ? null : instant(raw.from, 'from', asOfMs, err);
  const toRaw = raw.to === undefined ? asOfMs : instant(raw.to, 'to', asOfMs, err);
  if (fromMs !== null && fromMs !== undefined && toRaw !== undefined && fromMs >= Math.min(toRaw, asOfMs)) {
    err(raw.to === undefined ? 'from' : 'to', `expected from before ${raw.to === undefined ? 'asOf' : 'to (and asOf)'}: no user can start in an empty range`);
  }
  const by = optionalName(raw.by, 'by', err);
  const segment = optionalName(raw.segment, 'segment', err);

  if (errors.length > 0) {
    throw new StrataError('INPUT_INVALID', 'the retention definition is invalid', errors);
  }
  return {
    cohort,
    alignment,
    start: start ?? null,
    returnEvent: returnEvent ?? ANY_EVENT,
    periods: periods as number,
    fromMs: fromMs ?? null,
    toMs: Math.min(toRaw ?? asOfMs, asOfMs),
    mode,
    by: by ?? null,
    segment: segment ?? null,
  };
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, path: string, err: (path: string, message: string) => void): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  err(path, `expected one of ${allowed.join(', ')}, got ${show(value)}`);
  return fallback;
}

function optionalName(value: unknown, path: string, err: (path: string, message: string) => void): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  err(path, `expected a name, got ${show(value)}`);
  return undefined;
}

/** An instant or an offset from asOf (`-12w`). */
function instant(value: unknown, path: string, asOfMs: number, err: (path: string, message: string) => void): number | undefined {
  if (typeof value === 'string') {
    const offset = parseRelativeOffsetMs(value);
    if (offset !== undefined) return asOfMs + offset;
    const ms = parseInstantMs(value);
    if (ms !== undefined) return ms;
  }
  err(path, `expected an ISO-8601 date or instant (2024-05-01, 2024-05-01T12:00:00Z) or an offset from asOf (-12w), got ${show(value)}`);
  return undefined;
}

/**
 * `E` or `{event: E, where: [P...]}`, checked as the language checks `{did: E, where}`
 * (the checker's errors are reported by the caller).
 */
function eventFilter(
  value: unknown,
  path: string,
  plan: TrackingPlan,
  checker: ConditionChecker,
  err: (path: string, message: string) => void,
): EventFilter | undefined {
  let event: unknown = value;
  let where: unknown;
  if (isRecord(value)) {
    for (const key of Object.keys(value)) {
      if (key !== 'event' && key !== 'where') err(`${path}.${key}`, 'unknown key; expected event and where');
    }
    event = value.event;
    where = value.where;
    if (where !== undefined && (!Array.isArray(where) || where.some((p) => !isRecord(p)))) {
      err(`${path}.where`, `expected a list of property predicates [{property: NAME, <op>: VALUE}, ...], got ${show(where)}`);
      return undefined;
    }
  }
  if (typeof event !== 'string' || event === '') {
    err(isRecord(value) ? `${path}.event` : path, `expected an event name declared in the tracking plan (${Object.keys(plan.events).join(', ') || 'none declared'}) or "*" for any event, got ${show(event)}`);
    return undefined;
  }
  const checked = checker.check(where === undefined ? { did: event } : { did: event, where }, path);
  return checked?.kind === 'eventCount' ? checked.filter : undefined;
}

/** How an event filter reads in output: `{event: 'purchase', where: ['Quantity gt 0']}`; `*` is any event. */
export function describeEventFilter(f: EventFilter): { readonly event: string; readonly where: readonly string[] } {
  return { event: f.event ?? '*', where: f.where.map(predicateText) };
}

function predicateText(p: PropertyPredicate): string {
  const c = p.cmp;
  switch (c.op) {
    case 'in':
    case 'notIn':
      return `${p.property} ${c.op} [${c.values.map(literalText).join(', ')}]`;
    case 'between':
      return `${p.property} between [${literalText(c.lo)}, ${literalText(c.hi)}]`;
    case 'exists':
      return `${p.property} exists ${c.value}`;
    default:
      return `${p.property} ${c.op} ${literalText(c.value)}`;
  }
}

function literalText(l: Literal): string {
  switch (l.kind) {
    case 'timestamp':
      return new Date(l.epochMs).toISOString();
    case 'relativeTime':
      return `asOf${l.offsetMs < 0 ? '-' : '+'}${formatDuration(Math.abs(l.offsetMs))}`;
    case 'duration':
      return formatDuration(l.ms);
    default:
      return JSON.stringify(l.value);
  }
}
