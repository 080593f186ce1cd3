/**
 * The tracking plan (DESIGN.md, "Data model"): declared events with typed properties,
 * declared traits with `sensitive` and `pii` flags, what happens to undeclared fields,
 * and the session gap. It lives under `plan:` in strata.yaml.
 *
 * One rule beyond DESIGN.md: a property name has one type across all events, because the
 * store keeps each property in one typed column (see store/schema.ts).
 */
import { StrataError, type ErrorDetail } from '../errors/errors.js';
import { formatDuration, parseDurationMs } from '../time/time.js';

export const FIELD_TYPES = ['string', 'number', 'boolean', 'timestamp'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface FieldSpec {
  readonly type: FieldType;
  /** Personal data: hashed or dropped at ingest by the privacy layer. */
  readonly pii?: boolean;
  /** May not be used for targeting; for audits only. */
  readonly sensitive?: boolean;
  /**
   * An IP address (string fields only): truncated or dropped at ingest (`privacy.ip`).
   * Absent: a string field named `ip` or `ip_address` is treated as one; `false` opts out.
   */
  readonly ip?: boolean;
  readonly description?: string;
}

export interface EventSpec {
  readonly properties: Readonly<Record<string, FieldSpec>>;
  readonly retentionDays?: number;
  readonly description?: string;
}

export interface TrackingPlan {
  readonly undeclared: 'drop' | 'reject';
  readonly sessionGapMs: number;
  readonly events: Readonly<Record<string, EventSpec>>;
  readonly traits: Readonly<Record<string, FieldSpec>>;
}

export const DEFAULT_SESSION_GAP_MS = 30 * 60_000;

export function emptyPlan(): TrackingPlan {
  return { undeclared: 'drop', sessionGapMs: DEFAULT_SESSION_GAP_MS, events: {}, traits: {} };
}

const NAME_MAX = 128;

/** Names may hold any printable character (they are always quoted in SQL), but no control characters. */
export function isValidName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return name.length > 0 && name.length <= NAME_MAX && !/[\u0000-\u001f\u007f]/.test(name);
}

/** The single type of each property name across all events. */
export function propertyTypes(plan: TrackingPlan): ReadonlyMap<string, FieldType> {
  const out = new Map<string, FieldType>();
  for (const spec of Object.values(plan.events)) {
    for (const [name, field] of Object.entries(spec.properties)) out.set(name, field.type);
  }
  return out;
}

/** Validate the raw `plan:` object from YAML or JSON; errors name the path under `base`. */
export function parsePlan(raw: unknown, base = 'plan'): TrackingPlan {
  const errors: ErrorDetail[] = [];
  const err = (path: string, message: string) => errors.push({ path, message });
  if (raw === undefined || raw === null) return emptyPlan();
  if (!isObject(raw)) throw new StrataError('PLAN_INVALID', 'the tracking plan is invalid', [{ path: base, message: 'expected a mapping' }]);

  for (const key of Object.keys(raw)) {
    if (!['undeclared', 'session_gap', 'events', 'traits'].includes(key)) err(`${base}.${key}`, 'unknown key; expected undeclared, session_gap, events or traits');
  }
  let undeclared: 'drop' | 'reject' = 'drop';
  if (raw.undeclared !== undefined) {
    if (raw.undeclared === 'drop' || raw.undeclared === 'reject') undeclared = raw.undeclared;
    else err(`${base}.undeclared`, 'expected "drop" or "reject"');
  }
  let sessionGapMs = DEFAULT_SESSION_GAP_MS;
  if (raw.session_gap !== undefined) {
    const ms = typeof raw.session_gap === 'string' ? parseDurationMs(raw.session_gap) : undefined;
    if (ms === undefined || ms <= 0) err(`${base}.session_gap`, 'expected a positive duration such as 30m');
    else sessionGapMs = ms;
  }

  const seenProperty = new Map<string, { type: FieldType; path: string }>();
  // Maps, turned into objects with fromEntries (own properties): a name such as
  // "__proto__" stays data instead of setting a prototype.
  const events = new Map<string, EventSpec>();
  if (raw.events !== undefined && raw.events !== null) {
    if (!isObject(raw.events)) err(`${base}.events`, 'expected a mapping of event name to its spec');
    else {
      for (const [name, spec] of Object.entries(raw.events)) {
        const path = childPath(`${base}.events`, name);
        if (!isValidName(name)) err(path, `event names are 1 to ${NAME_MAX} characters without control characters`);
        if (name === '*') err(path, '"*" means any event in segments and cannot be declared');
        const s = spec ?? {};
        if (!isObject(s)) {
          err(path, 'expected a mapping (properties, retention_days, description)');
          continue;
        }
        for (const key of Object.keys(s)) {
          if (!['properties', 'retention_days', 'description'].includes(key)) err(`${path}.${key}`, 'unknown key; expected properties, retention_days or description');
        }
        const properties = new Map<string, FieldSpec>();
        if (s.properties !== undefined && s.properties !== null) {
          if (!isObject(s.properties)) err(`${path}.properties`, 'expected a mapping of property name to its type');
          else {
            for (const [pname, pspec] of Object.entries(s.properties)) {
              const ppath = childPath(`${path}.properties`, pname);
              if (!isValidName(pname)) err(ppath, `property names are 1 to ${NAME_MAX} characters without control characters`);
              const field = parseField(pspec, ppath, err);
              if (!field) continue;
              const prior = seenProperty.get(pname);
              if (prior && prior.type !== field.type) {
                err(`${ppath}.type`, `property "${pname}" is ${prior.type} at ${prior.path}; a property name has one type across all events`);
              } else seenProperty.set(pname, { type: field.type, path: ppath });
              properties.set(pname, field);
            }
          }
        }
        let retentionDays: number | undefined;
        if (s.retention_days !== undefined) {
          if (typeof s.retention_days !== 'number' || !Number.isInteger(s.retention_days) || s.retention_days <= 0) err(`${path}.retention_days`, 'expected a positive whole number of days');
          else retentionDays = s.retention_days;
        }
        events.set(name, {
          properties: Object.fromEntries(properties),
          ...(retentionDays !== undefined ? { retentionDays } : {}),
          ...(typeof s.description === 'string' ? { description: s.description } : {}),
        });
      }
    }
  }

  const traits = new Map<string, FieldSpec>();
  if (raw.traits !== undefined && raw.traits !== null) {
    if (!isObject(raw.traits)) err(`${base}.traits`, 'expected a mapping of trait name to its type');
    else {
      for (const [name, spec] of Object.entries(raw.traits)) {
        const path = childPath(`${base}.traits`, name);
        if (!isValidName(name)) err(path, `trait names are 1 to ${NAME_MAX} characters without control characters`);
        const field = parseField(spec, path, err);
        if (field) traits.set(name, field);
      }
    }
  }

  if (errors.length > 0) throw new StrataError('PLAN_INVALID', 'the tracking plan is invalid', errors);
  return { undeclared, sessionGapMs, events: Object.fromEntries(events), traits: Object.fromEntries(traits) };
}

function parseField(raw: unknown, path: string, err: (p: string, m: string) => void): FieldSpec | undefined {
  // Shorthand: `amount: number`.
  const spec = typeof raw === 'string' ? { type: raw } : raw;
  if (!isObject(spec)) {
    err(path, `expected a type (${FIELD_TYPES.join(', ')}) or a mapping with type, pii, sensitive, ip`);
    return undefined;
  }
  for (const key of Object.keys(spec)) {
    if (!['type', 'pii', 'sensitive', 'ip', 'description'].includes(key)) err(`${path}.${key}`, 'unknown key; expected type, pii, sensitive, ip or description');
  }
  if (!FIELD_TYPES.includes(spec.type as FieldType)) {
    err(`${path}.type`, `expected one of ${FIELD_TYPES.join(', ')}`);
    return undefined;
  }
  for (const flag of ['pii', 'sensitive', 'ip'] as const) {
    if (spec[flag] !== undefined && typeof spec[flag] !== 'boolean') err(`${path}.${flag}`, 'expected true or false');
  }
  if (spec.ip === true && spec.type !== 'string') err(`${path}.ip`, `an IP address is held in a string field; this field is ${String(spec.type)}`);
  return {
    type: spec.type as FieldType,
    ...(spec.pii === true ? { pii: true } : {}),
    ...(spec.sensitive === true ? { sensitive: true } : {}),
    // false is kept: it opts a field named ip or ip_address out of IP handling.
    ...(typeof spec.ip === 'boolean' ? { ip: spec.ip } : {}),
    ...(typeof spec.description === 'string' ? { description: spec.description } : {}),
  };
}

/** The plan as it is written in strata.yaml (snake_case keys). */
export function planToYaml(plan: TrackingPlan): Record<string, unknown> {
  const field = (f: FieldSpec) => (f.pii || f.sensitive || f.ip !== undefined || f.description ? { ...f } : f.type);
  return {
    undeclared: plan.undeclared,
    session_gap: formatDuration(plan.sessionGapMs),
    events: Object.fromEntries(
      Object.entries(plan.events).map(([name, e]) => [
        name,
        {
          ...(e.description ? { description: e.description } : {}),
          properties: Object.fromEntries(Object.entries(e.properties).map(([p, f]) => [p, field(f)])),
          ...(e.retentionDays !== undefined ? { retention_days: e.retentionDays } : {}),
        },
      ]),
    ),
    traits: Object.fromEntries(Object.entries(plan.traits).map(([t, f]) => [t, field(f)])),
  };
}

/** A JSON path to a map key: `base.name` when plain, `base["we.ird"]` otherwise. */
export function childPath(base: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
