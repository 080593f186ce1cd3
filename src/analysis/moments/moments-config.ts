/**
 * The `moments:` section of strata.yaml: named key moments, each computed per user with
 * its instant (README, "Key moments", states the exact rules). A moment is a mapping with
 * one kind key, the way a segment condition has one:
 *
 * ```yaml
 * moments:
 *   first-core-action:
 *     first: core_task_completed                 # the first matching event
 *   first-action-after-signup:
 *     first: '*'
 *     after: {event: signed_up}                  # strictly after the anchor (within: D optional)
 *   monthly-regular:
 *     threshold: core_task_completed
 *     activeDays: 8                              # or events: N; per: month (default) or week
 *   stalled-activation:
 *     absence: core_task_completed
 *     after: {trait: signup_at}
 *     within: 3d                                 # none in [anchor, anchor + 3d)
 * ```
 *
 * Event names, `where` predicates and anchors are the segment language's own, checked by
 * the same ConditionChecker against the plan, so errors name exact paths
 * (`moments.monthly-regular.where[0].property`).
 */
import type { ErrorDetail } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { Type, type TObject } from '@sinclair/typebox';
import type { Anchor, EventFilter } from '../../segments/ir/nodes.js';
import { ConditionChecker, MAX_DURATION_MS, isRecord } from '../../segments/language/condition-checker.js';
import { SEGMENT_KEY_PATTERN } from '../../segments/language/definition.js';
import { closest, keyPath, listOf, quote, show } from '../../segments/language/messages.js';
import { PositiveDurationSchema } from '../../segments/language/schemas.js';
import { schemaErrors } from '../../segments/language/schema-errors.js';
import { parseDurationMs } from '../../time/time.js';

export const MOMENT_KINDS = ['first', 'threshold', 'absence'] as const;
export type MomentKind = (typeof MOMENT_KINDS)[number];

/** The calendar periods a threshold counts in (UTC): months, or ISO weeks starting Monday. */
export const THRESHOLD_PERIODS = ['month', 'week'] as const;
export type ThresholdPeriod = (typeof THRESHOLD_PERIODS)[number];

export type MomentRule =
  /**
   * The first matching event; with an anchor, the first strictly after it (and, with
   * withinMs, strictly before anchor + withinMs). No anchor (no such first event, no trait
   * value): the moment never happens.
   */
  | { readonly kind: 'first'; readonly filter: EventFilter; readonly after: Anchor | null; readonly withinMs: number | null }
  /**
   * The first period (UTC calendar month or ISO week) in which the user reaches `n` active
   * days (distinct UTC days with a matching event) or `n` matching events; the instant is
   * the first matching event of the n-th active day, or the n-th matching event.
   */
  | { readonly kind: 'threshold'; readonly filter: EventFilter; readonly measure: 'activeDays' | 'events'; readonly n: number; readonly per: ThresholdPeriod }
  /** anchor + withinMs, when no matching event lies in [anchor, anchor + withinMs) and anchor + withinMs < asOf. */
  | { readonly kind: 'absence'; readonly filter: EventFilter; readonly after: Anchor; readonly withinMs: number };

export interface MomentDefinition {
  /** Like a segment key: `^[a-z0-9][a-z0-9-]{0,62}$`. */
  readonly key: string;
  /** For people; the key when strata.yaml gives none. */
  readonly name: string;
  readonly description: string | null;
  readonly rule: MomentRule;
  /** The mapping as written in strata.yaml, for `moments show`. */
  readonly source: Readonly<Record<string, unknown>>;
}

export interface MomentsConfig {
  /** In the order strata.yaml lists them. */
  readonly moments: readonly MomentDefinition[];
}

const KEY_RE = new RegExp(SEGMENT_KEY_PATTERN);
const MAX_DURATION_TEXT = '36500d (about 100 years)';

const text = (what: string) => Type.String({ pattern: '\\S', description: `a non-empty ${what}` });
const common = { name: Type.Optional(text('name')), description: Type.Optional(text('description')) };
const strict = (description: string) => ({ additionalProperties: false, description });
const count = (what: string) => Type.Integer({ minimum: 1, description: `${what}: a whole number of at least 1` });

/**
 * Shapes only; events, `where` and `after` are left to the ConditionChecker (Unknown here).
 * Each description reads as what was expected.
 */
const MOMENT_SCHEMAS: Readonly<Record<MomentKind, TObject>> = {
  first: Type.Object(
    { ...common, first: Type.Unknown(), where: Type.Optional(Type.Unknown()), after: Type.Optional(Type.Unknown()), within: Type.Optional(PositiveDurationSchema) },
    strict('{first: E, where?, after?: {event: E} | {trait: T}, within?: D}'),
  ),
  threshold: Type.Object(
    {
      ...common,
      threshold: Type.Unknown(),
      where: Type.Optional(Type.Unknown()),
      activeDays: Type.Optional(count('the number of active days')),
      events: Type.Optional(count('the number of matching events')),
      per: Type.Optional(Type.Union(THRESHOLD_PERIODS.map((p) => Type.Literal(p)), { description: `a period: ${THRESHOLD_PERIODS.join(' or ')}` })),
    },
    strict('{threshold: E, where?, activeDays: N | events: N, per?: month | week}'),
  ),
  absence: Type.Object(
    { ...common, absence: Type.Unknown(), where: Type.Optional(Type.Unknown()), after: Type.Unknown(), within: PositiveDurationSchema },
    strict('{absence: E, where?, after: {event: E} | {trait: T}, within: D}'),
  ),
};

/**
 * The `moments:` section (absent or null: no moments), checked against the plan. Problems go
 * to `err` with the JSON path of the setting, which config.ts maps to a strata.yaml line.
 */
export function parseMomentsSection(value: unknown, plan: TrackingPlan, err: (jsonPath: string, message: string) => void): MomentsConfig {
  if (value === undefined || value === null) return { moments: [] };
  if (!isRecord(value)) {
    err('moments', `expected a mapping of moment keys to definitions ({first: E}, {threshold: E, activeDays: N}, {absence: E, after, within}), got ${show(value)}`);
    return { moments: [] };
  }
  const moments: MomentDefinition[] = [];
  for (const [key, raw] of Object.entries(value)) {
    const path = keyPath('moments', key);
    if (!KEY_RE.test(key)) {
      err(path, 'a moment key is like a segment key: lowercase letters, digits and hyphens, 1 to 63 characters, not starting with a hyphen');
      continue;
    }
    const errors: ErrorDetail[] = [];
    const moment = parseMoment(key, raw, path, plan, errors);
    for (const e of errors) err(e.path ?? path, e.message);
    if (moment && errors.length === 0) moments.push(moment);
  }
  return { moments };
}

function parseMoment(key: string, raw: unknown, path: string, plan: TrackingPlan, errors: ErrorDetail[]): MomentDefinition | undefined {
  if (!isRecord(raw)) {
    errors.push({ path, message: `expected a moment: a mapping with one kind key (${MOMENT_KINDS.join(', ')}), got ${show(raw)}` });
    return undefined;
  }
  const keys = Object.keys(raw);
  const kinds = MOMENT_KINDS.filter((k) => Object.hasOwn(raw, k));
  if (kinds.length !== 1) {
    const suggestion = keys.map((k) => closest(k, MOMENT_KINDS)).find((s) => s !== undefined);
    errors.push({
      path,
      message:
        kinds.length === 0
          ? `expected one kind key: first (the first matching event), threshold (a monthly activity threshold) or absence (no matching event for a while after an anchor)${suggestion ? ` (did you mean ${suggestion}?)` : ''}`
          : `a moment has exactly one kind key; found ${listOf(kinds)}`,
    });
    return undefined;
  }
  const kind = kinds[0]!;
  errors.push(...schemaErrors(MOMENT_SCHEMAS[kind], raw, path));
  const filter = eventFilter(raw[kind], raw.where, path, kind, plan, errors);
  const rule = RULES[kind](raw, path, filter, plan, errors);
  if (!rule || errors.length > 0) return undefined;
  return {
    key,
    name: typeof raw.name === 'string' ? raw.name : key,
    description: typeof raw.description === 'string' ? raw.description : null,
    rule,
    source: raw,
  };
}

type RuleParser = (raw: Record<string, unknown>, path: string, filter: EventFilter | undefined, plan: TrackingPlan, errors: ErrorDetail[]) => MomentRule | undefined;

const RULES: Readonly<Record<MomentKind, RuleParser>> = {
  first: (raw, path, filter, plan, errors) => {
    const after = Object.hasOwn(raw, 'after') ? anchor(raw.after, path, plan, errors) : null;
    const withinMs = Object.hasOwn(raw, 'within') ? duration(raw.within, keyPath(path, 'within'), errors) : null;
    if (withinMs !== null && !Object.hasOwn(raw, 'after')) {
      errors.push({ path: keyPath(path, 'within'), message: 'within bounds the time after an anchor: add after: {event: E} or {trait: T}, or remove within' });
      return undefined;
    }
    return filter && after !== undefined && withinMs !== undefined ? { kind: 'first', filter, after, withinMs } : undefined;
  },
  threshold: (raw, path, filter, _plan, errors) => {
    const given = (['activeDays', 'events'] as const).filter((k) => Object.hasOwn(raw, k));
    if (given.length !== 1) {
      errors.push({
        path,
        message: given.length === 0 ? 'expected activeDays: N (distinct UTC days with a matching event) or events: N (matching events) per period' : 'expected one of activeDays and events, not both',
      });
      return undefined;
    }
    const measure = given[0]!;
    const n = raw[measure];
    const per: ThresholdPeriod = raw.per === 'week' ? 'week' : 'month';
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return undefined;
    const days = per === 'month' ? 31 : 7;
    if (measure === 'activeDays' && n > days) {
      errors.push({ path: keyPath(path, measure), message: `a ${per} has at most ${days} days, so ${n} active days in one ${per} can never happen` });
      return undefined;
    }
    return filter && { kind: 'threshold', filter, measure, n, per };
  },
  absence: (raw, path, filter, plan, errors) => {
    const after = anchor(raw.after, path, plan, errors);
    const withinMs = duration(raw.within, keyPath(path, 'within'), errors);
    return filter && after && withinMs !== undefined ? { kind: 'absence', filter, after, withinMs } : undefined;
  },
};

/**
 * The event name under the kind key and `where`, checked as the segment language's
 * `{did: E, where}`; the checker's `did` path is renamed to the kind key.
 */
function eventFilter(event: unknown, where: unknown, path: string, kind: MomentKind, plan: TrackingPlan, errors: ErrorDetail[]): EventFilter | undefined {
  const checker = new ConditionChecker(plan);
  const checked = checker.check(where === undefined ? { did: event } : { did: event, where }, path);
  const didPath = keyPath(path, 'did');
  for (const e of checker.errors) {
    const at = e.path ?? path;
    const renamed = at === didPath || at.startsWith(`${didPath}.`) || at.startsWith(`${didPath}[`) ? keyPath(path, kind) + at.slice(didPath.length) : at;
    errors.push({ path: renamed, message: e.message });
  }
  return checked?.kind === 'eventCount' && checker.errors.length === 0 ? checked.filter : undefined;
}

/** `after: {event: E, where?} | {trait: T}`, checked as a segment window's anchor (its paths are already `after...`). */
function anchor(value: unknown, path: string, plan: TrackingPlan, errors: ErrorDetail[]): Anchor | undefined {
  if (value === undefined) return undefined;
  const checker = new ConditionChecker(plan);
  // The window length is irrelevant here; within is checked by the moment's own schema.
  const checked = checker.check({ did: '*', after: value, within: '1d' }, path);
  errors.push(...checker.errors);
  if (checked?.kind !== 'eventCount' || checked.window.kind !== 'anchored' || checker.errors.length > 0) return undefined;
  return checked.window.anchor;
}

/** A positive duration whose syntax the schema checked; only the cap is left. */
function duration(value: unknown, path: string, errors: ErrorDetail[]): number | undefined {
  const ms = typeof value === 'string' ? parseDurationMs(value) : undefined;
  if (ms === undefined || ms === 0) return undefined;
  if (ms > MAX_DURATION_MS) {
    errors.push({ path, message: `expected a duration of at most ${MAX_DURATION_TEXT}, got ${quote(value as string)}` });
    return undefined;
  }
  return ms;
}
