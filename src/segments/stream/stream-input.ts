/**
 * JSON lines for `strata stream`: events and profiles, checked against the tracking plan
 * with ingest's rules (src/store/duckdb/ingest-sql.ts states them in SQL,
 * src/ingest/event-time.ts for timestamps), and rows of model scoring runs, one record at
 * a time:
 *
 *   {"user_id": "u1", "event": "purchase", "timestamp": "2024-05-01T12:00:00Z", "properties": {"amount": 30}}
 *   {"type": "profile", "user_id": "u1", "traits": {"plan": "pro"}}
 *   {"type": "score", "model": "churn-risk", "run": 12, "as_of": "2024-05-01T00:00:00Z", "user_id": "u1", "score": 0.83, "percentile": 91.5}
 *   {"type": "score", "model": "personas", "run": 3, "as_of": "2024-05-01T00:00:00Z", "user_id": "u1", "cluster": 2}
 *
 * - The user is `user_id` (or `userId`): a non-empty string, or a number (its digits).
 * - Events name a declared event; the timestamp is ISO-8601 or epoch seconds or
 *   milliseconds (a string or a JSON number), truncated to the millisecond.
 * - Properties sit under `properties` (traits under `traits`); a declared one may also be
 *   a top-level key, as in ingest's flat JSON. Values convert to the declared type: numbers
 *   from numbers or numeric text, booleans from true/false/1/0, timestamps as above,
 *   strings from any scalar (an empty text is no value for the other types). null is no value.
 * - Undeclared properties and traits are dropped, or make the record invalid when the
 *   plan says `undeclared: reject`.
 * - `type` is reserved for "event" (the default), "profile" and "score".
 * - Score records are one user's row of a scoring run (what `strata model score` stores,
 *   src/models/registry/model-store.ts): `model` a stored model's key (the parser's
 *   catalogue; any other is an error), `run` its run id (a positive whole number; one run
 *   keeps one `as_of`), `as_of` the instant the run is effective from (a timestamp as
 *   above). A churn or propensity model's row has `score` (a finite number) and
 *   `percentile` (0..100, the weak percentile rank within the run); a personas model's row
 *   has `cluster` (a whole number), and nothing else. Other keys are errors (a misspelt
 *   field would otherwise go unnoticed). A run replaces the model's previous run as a
 *   whole once the clock reaches its as_of (users without a row in it have no value); the
 *   stream applies the consecutive rows of one run together (stream-scores.ts).
 * An invalid record throws a StrataError naming the field and what was expected; the
 * caller (the CLI) reports it with its line number and goes on.
 */
import { StrataError } from '../../errors/errors.js';
import { parseEventTimeMs } from '../../ingest/event-time.js';
import type { FieldType, TrackingPlan } from '../../schema/tracking-plan.js';
import { MS, parseInstantMs } from '../../time/time.js';
import type { MemoryValue } from '../evaluate/index.js';
import type { StreamEvent } from './stream-evaluator.js';
import type { StreamScoreRow } from './stream-scores.js';

/** A parsed line: an event (itself a StreamEvent, ready to push), a profile, or one row of a scoring run. */
export type StreamRecord = StreamEventRecord | StreamProfileRecord | StreamScoreRecord;

export interface StreamEventRecord extends StreamEvent {
  readonly kind: 'event';
}

export interface StreamProfileRecord {
  readonly kind: 'profile';
  readonly userId: string;
  readonly traits: Readonly<Record<string, MemoryValue>>;
}

export interface StreamScoreRecord extends StreamScoreRow {
  readonly kind: 'score';
  readonly model: string;
  readonly runId: number;
  readonly asOfMs: number;
}

/** The model kinds of the store's catalogue (model-store.ts ModelKind), as the parser needs them. */
export type StreamModelKind = 'churn' | 'propensity' | 'personas';

export interface StreamRecordParserOptions {
  /** The stored models, key -> kind (`modelCatalogue(store)`): score records must name one. */
  readonly models?: ReadonlyMap<string, StreamModelKind>;
}

/** What ingest says a value should have been (ingest-sql.ts EXPECTED), so both report alike. */
const EXPECTED: Readonly<Record<FieldType, string>> = {
  string: 'a string',
  number: 'a finite number',
  boolean: 'a boolean (true, false, 1 or 0)',
  timestamp: 'a timestamp (ISO-8601, YYYY-MM-DD HH:MM:SS, or epoch seconds or milliseconds)',
};

const EVENT_KEYS = new Set(['type', 'user_id', 'userId', 'event', 'timestamp', 'event_id', 'properties']);
const PROFILE_KEYS = new Set(['type', 'user_id', 'userId', 'traits']);
const SCORE_KEYS = new Set(['type', 'user_id', 'userId', 'model', 'run', 'as_of', 'score', 'percentile', 'cluster']);
/**
 * Numeric text as DuckDB's cast to DOUBLE reads it: surrounding blanks, optional sign,
 * digits (with `_` between them), fraction, exponent. Not hex, not Infinity or NaN.
 */
const NUMERIC_TEXT = /^\s*[+-]?(\d+(_\d+)*\.?(\d+(_\d+)*)?|\.\d+(_\d+)*)([eE][+-]?\d+)?\s*$/;

/** Where a record came from: a label such as `line 12`, or its line number (labels are built only for errors). */
export type RecordPlace = string | number;

function label(where: RecordPlace, field?: string): string {
  const base = typeof where === 'number' ? `line ${where}` : where;
  return field === undefined ? base : `${base}: ${field}`;
}

function invalid(where: RecordPlace, message: string, field?: string): StrataError {
  const at = label(where, field);
  return new StrataError('INPUT_INVALID', `${at}: ${message}`, [{ path: at, message }]);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class StreamRecordParser {
  /** Per event name: its declared properties and their types, and those that may also sit at the top level. */
  private readonly events = new Map<string, ReadonlyMap<string, FieldType>>();
  private readonly flat = new Map<string, readonly string[]>();
  private readonly traits = new Map<string, FieldType>();
  private readonly flatTraits: readonly string[];
  private readonly rejectUndeclared: boolean;
  private readonly models: ReadonlyMap<string, StreamModelKind>;
  private cachedDate = '';
  private cachedDayMs = NaN;

  constructor(plan: TrackingPlan, options: StreamRecordParserOptions = {}) {
    this.models = options.models ?? new Map();
    for (const [name, spec] of Object.entries(plan.events)) {
      this.events.set(name, new Map(Object.entries(spec.properties).map(([p, f]) => [p, f.type])));
      // A reserved key (user_id, event, ...) names the record's own field, never a flat property.
      this.flat.set(name, Object.keys(spec.properties).filter((p) => !EVENT_KEYS.has(p)));
    }
    for (const [name, spec] of Object.entries(plan.traits)) this.traits.set(name, spec.type);
    this.flatTraits = Object.keys(plan.traits).filter((t) => !PROFILE_KEYS.has(t));
    this.rejectUndeclared = plan.undeclared === 'reject';
  }

  /** A JSON line (blank lines give null); `where` names it in errors: a line number or a label. */
  parseLine(line: string, where: RecordPlace): StreamRecord | null {
    if (line.trim() === '') return null;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw invalid(where, `not valid JSON (${(e as Error).message})`);
    }
    return this.parse(value, where);
  }

  parse(value: unknown, where: RecordPlace): StreamRecord {
    if (!isObject(value)) {
      throw invalid(where, 'expected a JSON object: an event {"user_id", "event", "timestamp", "properties"}, a profile {"type": "profile", "user_id", "traits"} or a score {"type": "score", "model", "run", "as_of", "user_id", ...}');
    }
    const type = value.type;
    if (type === undefined || type === 'event') return this.event(value, where);
    if (type === 'profile') return this.profile(value, where);
    if (type === 'score') return this.score(value, where);
    throw invalid(where, `expected "event", "profile" or "score", got ${JSON.stringify(type)}`, 'type');
  }

  private score(value: Record<string, unknown>, where: RecordPlace): StreamScoreRecord {
    for (const key in value) {
      if (!SCORE_KEYS.has(key)) throw invalid(where, `unknown field of a score record (expected type, model, run, as_of, user_id, and score and percentile, or cluster)`, key);
    }
    const model = value.model;
    if (typeof model !== 'string' || model === '') throw invalid(where, `expected a model key, got ${JSON.stringify(model)}`, 'model');
    const kind = this.models.get(model);
    if (kind === undefined) {
      const known = [...this.models.keys()];
      throw invalid(where, `model ${JSON.stringify(model)} is not in the model catalogue (stored: ${known.length > 0 ? known.join(', ') : 'none'}; train it with strata model train)`, 'model');
    }
    const runId = value.run;
    if (typeof runId !== 'number' || !Number.isSafeInteger(runId) || runId < 1) throw invalid(where, `expected a run id (a whole number >= 1), got ${JSON.stringify(runId)}`, 'run');
    const rawAsOf = value.as_of;
    if (rawAsOf === undefined || rawAsOf === null || rawAsOf === '') throw invalid(where, 'missing the instant the run is as of (as_of)', 'as_of');
    const asOfMs = typeof rawAsOf === 'string' || typeof rawAsOf === 'number' ? this.timeMs(String(rawAsOf)) : undefined;
    if (asOfMs === undefined) throw invalid(where, `unparseable timestamp: expected ${EXPECTED.timestamp}, got ${JSON.stringify(rawAsOf)}`, 'as_of');
    const userId = this.userOf(value, where);
    const base = { kind: 'score' as const, model, runId, asOfMs, userId };
    if (kind === 'personas') {
      for (const key of ['score', 'percentile']) {
        if (value[key] !== undefined) throw invalid(where, `"${model}" is a personas model: its rows hold a cluster, not a ${key}`, key);
      }
      const cluster = value.cluster;
      if (typeof cluster !== 'number' || !Number.isSafeInteger(cluster)) throw invalid(where, `expected a persona id (a whole number), got ${JSON.stringify(cluster)}`, 'cluster');
      return { ...base, score: null, percentile: null, cluster };
    }
    if (value.cluster !== undefined) throw invalid(where, `"${model}" is a ${kind} model: its rows hold a score and a percentile, not a cluster`, 'cluster');
    const score = value.score;
    if (typeof score !== 'number' || !Number.isFinite(score)) throw invalid(where, `expected a finite number, got ${JSON.stringify(score)}`, 'score');
    const percentile = value.percentile;
    if (typeof percentile !== 'number' || !(percentile >= 0 && percentile <= 100)) {
      throw invalid(where, `expected the score's percentile rank within the run (a number from 0 to 100), got ${JSON.stringify(percentile)}`, 'percentile');
    }
    return { ...base, score, percentile, cluster: null };
  }

  private userOf(value: Record<string, unknown>, where: RecordPlace): string {
    const raw = value.user_id !== undefined ? value.user_id : value.userId;
    if (typeof raw === 'string' && raw !== '') return raw;
    if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
    throw invalid(where, raw === undefined || raw === null || raw === '' ? 'missing user (user_id)' : `expected a string, got ${JSON.stringify(raw)}`, 'user_id');
  }

  private event(value: Record<string, unknown>, where: RecordPlace): StreamEventRecord {
    const userId = this.userOf(value, where);
    const name = value.event;
    if (typeof name !== 'string' || name === '') throw invalid(where, 'missing event (event)', 'event');
    const declared = this.events.get(name);
    if (!declared) throw invalid(where, `event ${JSON.stringify(name)} is not in the tracking plan`, 'event');
    const ts = this.timestamp(value.timestamp, where);
    const container = value.properties;
    let properties: Record<string, MemoryValue>;
    if (container !== undefined && container !== null) {
      if (!isObject(container)) throw invalid(where, '"properties" is not an object', 'properties');
      if (alreadyTyped(container, declared)) properties = container as Record<string, MemoryValue>;
      else {
        properties = {};
        // Parsed JSON holds own properties only, so for-in needs no hasOwn check.
        for (const key in container) this.field(properties, declared, key, container[key], where, 'properties.', 'property');
      }
    } else properties = {};
    // Declared properties may also be flat, at the top level (the container wins).
    for (const key of this.flat.get(name)!) {
      if (Object.hasOwn(value, key) && !Object.hasOwn(properties, key)) this.field(properties, declared, key, value[key], where, '', 'property');
    }
    if (this.rejectUndeclared) {
      for (const key in value) if (!EVENT_KEYS.has(key) && !declared.has(key)) this.field(properties, declared, key, value[key], where, '', 'property');
    }
    return { kind: 'event', userId, event: name, ts, properties };
  }

  private profile(value: Record<string, unknown>, where: RecordPlace): StreamRecord {
    const userId = this.userOf(value, where);
    const traits: Record<string, MemoryValue> = {};
    const container = value.traits;
    if (container !== undefined && container !== null) {
      if (!isObject(container)) throw invalid(where, '"traits" is not an object', 'traits');
      for (const key in container) this.field(traits, this.traits, key, container[key], where, 'traits.', 'trait');
    }
    for (const key of this.flatTraits) {
      if (Object.hasOwn(value, key) && !Object.hasOwn(traits, key)) this.field(traits, this.traits, key, value[key], where, '', 'trait');
    }
    if (this.rejectUndeclared) {
      for (const key in value) if (!PROFILE_KEYS.has(key) && !this.traits.has(key)) this.field(traits, this.traits, key, value[key], where, '', 'trait');
    }
    return { kind: 'profile', userId, traits };
  }

  /** Convert one field into `out` (absent values are left out). */
  private field(out: Record<string, MemoryValue>, declared: ReadonlyMap<string, FieldType>, key: string, raw: unknown, where: RecordPlace, container: string, noun: string): void {
    const type = declared.get(key);
    if (type === undefined) {
      if (this.rejectUndeclared && raw !== null && raw !== undefined) throw invalid(where, `undeclared ${noun} ${JSON.stringify(key)} (the plan rejects undeclared fields)`, container + key);
      return;
    }
    const v = this.convert(raw, type);
    if (v === null) throw invalid(where, `${noun} ${JSON.stringify(key)}: expected ${EXPECTED[type]}, got ${JSON.stringify(raw)}`, container + key);
    if (v === undefined) return;
    // A property named __proto__ must stay data, not set the prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }

  /** The typed value; undefined for no value, null when it does not fit the type. */
  private convert(raw: unknown, type: FieldType): MemoryValue | undefined | null {
    if (raw === null || raw === undefined) return undefined;
    if (type === 'string') return typeof raw === 'string' ? raw : typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
    if (raw === '') return undefined;
    switch (type) {
      case 'number':
        if (typeof raw === 'number') return Number.isFinite(raw) ? raw : null;
        if (typeof raw === 'string' && NUMERIC_TEXT.test(raw)) {
          const n = Number(raw.replaceAll('_', ''));
          return Number.isFinite(n) ? n : null;
        }
        return null;
      case 'boolean':
        if (typeof raw === 'boolean') return raw;
        if (raw === 1 || raw === 0) return raw === 1;
        if (typeof raw === 'string') {
          const t = raw.toLowerCase();
          if (t === 'true' || t === '1') return true;
          if (t === 'false' || t === '0') return false;
        }
        return null;
      case 'timestamp':
        if (typeof raw !== 'string' && typeof raw !== 'number') return null;
        return this.timeMs(typeof raw === 'string' ? raw : String(raw)) ?? null;
    }
  }

  private timestamp(raw: unknown, where: RecordPlace): number {
    if (raw === undefined || raw === null || raw === '') throw invalid(where, 'missing timestamp (timestamp)', 'timestamp');
    const ms = typeof raw === 'string' || typeof raw === 'number' ? this.timeMs(typeof raw === 'string' ? raw : String(raw)) : undefined;
    if (ms === undefined) throw invalid(where, `unparseable timestamp: expected ${EXPECTED.timestamp}, got ${JSON.stringify(raw)}`, 'timestamp');
    return ms;
  }

  /**
   * `parseEventTimeMs`, with a fast path for the common `YYYY-MM-DDTHH:MM:SS[.mmm]Z`: the
   * date part is parsed once per day seen and cached, the time of day read digit by digit.
   */
  timeMs(text: string): number | undefined {
    const n = text.length;
    if ((n === 24 || n === 20) && text.charCodeAt(n - 1) === 90 /* Z */ && text.charCodeAt(10) === 84 /* T */) {
      if (this.cachedDate === '' || !text.startsWith(this.cachedDate)) {
        const date = text.slice(0, 10);
        const day = parseInstantMs(date);
        if (day === undefined) return parseEventTimeMs(text);
        this.cachedDate = date;
        this.cachedDayMs = day;
      }
      const h = twoDigits(text, 11);
      const m = twoDigits(text, 14);
      const s = twoDigits(text, 17);
      const frac = n === 24 ? (text.charCodeAt(19) === 46 /* . */ ? threeDigits(text, 20) : -1) : 0;
      if (h >= 0 && h <= 23 && m >= 0 && m <= 59 && s >= 0 && s <= 59 && frac >= 0 && text.charCodeAt(13) === 58 && text.charCodeAt(16) === 58) {
        return this.cachedDayMs + h * MS.h + m * MS.m + s * 1000 + frac;
      }
    }
    return parseEventTimeMs(text);
  }
}

/**
 * Whether a parsed container already is what conversion would build: every key declared,
 * every value of its type as it stands (strings, finite numbers, booleans; timestamps
 * always convert). Then it is used as is, saving an object per line.
 */
function alreadyTyped(container: Record<string, unknown>, declared: ReadonlyMap<string, FieldType>): boolean {
  for (const key in container) {
    const v = container[key];
    switch (declared.get(key)) {
      case 'string':
        if (typeof v !== 'string') return false;
        break;
      case 'number':
        if (typeof v !== 'number' || !Number.isFinite(v)) return false;
        break;
      case 'boolean':
        if (typeof v !== 'boolean') return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function digit(text: string, i: number): number {
  const c = text.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1000;
}

function twoDigits(text: string, i: number): number {
  const v = digit(text, i) * 10 + digit(text, i + 1);
  return v >= 0 ? v : -1;
}

function threeDigits(text: string, i: number): number {
  const v = digit(text, i) * 100 + digit(text, i + 1) * 10 + digit(text, i + 2);
  return v >= 0 ? v : -1;
}
