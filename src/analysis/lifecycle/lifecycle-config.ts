/**
 * The `lifecycle:` section of strata.yaml: parameters, stage overrides and additions, the
 * priority order and the fallback stage, checked against the tracking plan. Every problem
 * goes to `err` with the JSON path of its setting (`lifecycle.stages.engaged.match.activeDays`),
 * which config.ts maps to a strata.yaml line.
 *
 * ```yaml
 * lifecycle:
 *   core_action: core_task_completed      # or {event: E, where: [P...]}
 *   advocacy_event: invite_sent
 *   activity: '*'                         # what counts as activity (default any event)
 *   new_within: 7d
 *   engaged: {active_days: 10, of: 28d}
 *   at_risk_drop: 0.5
 *   dormant_after: 30d
 *   resurrected_within: 14d
 *   fallback: unactivated                 # or {key, name, description}
 *   stages:
 *     engaged: {match: {activeDays: {gte: 12}, within: 28d}}   # override a default stage
 *     power: {name: Power users, match: {...}}                 # add a stage
 *     new: false                                               # remove a default stage
 *   order: [dormant, resurrected, at_risk, advocate, power, engaged, activated, new]
 * ```
 */
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { checkConditionDocument } from '../../segments/language/validate-segment.js';
import { closest } from '../../segments/language/messages.js';
import { MS, parseDurationMs } from '../../time/time.js';
import {
  DEFAULT_FALLBACK,
  DEFAULT_ORDER,
  DEFAULT_PARAMETERS,
  STAGE_KEY_PATTERN,
  defaultStage,
  isDefaultStageKey,
  isUnavailable,
  type FallbackStage,
  type LifecycleEvent,
  type LifecycleModel,
  type LifecycleParameters,
  type LifecycleStage,
  type UnavailableStage,
} from './lifecycle-model.js';

export type { LifecycleModel } from './lifecycle-model.js';

type Err = (jsonPath: string, message: string) => void;

const SECTION_KEYS = [
  'activity',
  'core_action',
  'advocacy_event',
  'new_within',
  'engaged',
  'at_risk_drop',
  'dormant_after',
  'resurrected_within',
  'fallback',
  'stages',
  'order',
] as const;
const STAGE_KEYS = ['name', 'description', 'match'] as const;
const FALLBACK_KEYS = ['key', 'name', 'description'] as const;
const STAGE_KEY_RE = new RegExp(STAGE_KEY_PATTERN);
const MAX_DAYS = 36_500;

/**
 * The `lifecycle:` section of strata.yaml, checked against the plan. Problems go to `err` with
 * the JSON path of the setting (`lifecycle.something`), which config.ts maps to a strata.yaml line.
 * An absent section gives the default model (see lifecycle-model.ts).
 */
export function parseLifecycleSection(value: unknown, plan: TrackingPlan, err: Err): LifecycleModel {
  if (value === undefined || value === null) return buildModel(DEFAULT_PARAMETERS, new Map(), undefined, DEFAULT_FALLBACK, plan, err);
  if (!isRecord(value)) {
    err('lifecycle', 'expected a mapping of lifecycle settings (core_action, advocacy_event, engaged, stages, order, ...)');
    return buildModel(DEFAULT_PARAMETERS, new Map(), undefined, DEFAULT_FALLBACK, plan, () => {});
  }
  for (const key of Object.keys(value)) {
    if (!(SECTION_KEYS as readonly string[]).includes(key)) err(`lifecycle.${key}`, `unknown key${hint(key, SECTION_KEYS)}; expected one of ${SECTION_KEYS.join(', ')}`);
  }
  const parameters = parseParameters(value, plan, err);
  const stages = parseStages(value.stages, err);
  const order = parseOrder(value.order, err);
  const fallback = parseFallback(value.fallback, err);
  return buildModel(parameters, stages, order, fallback, plan, err);
}

function parseParameters(section: Record<string, unknown>, plan: TrackingPlan, err: Err): LifecycleParameters {
  const d = DEFAULT_PARAMETERS;
  const engaged = parseEngaged(section.engaged, err);
  const drop = section.at_risk_drop;
  let atRiskDrop = d.atRiskDrop;
  if (drop !== undefined) {
    if (typeof drop === 'number' && Number.isFinite(drop) && drop > 0 && drop < 1) atRiskDrop = drop;
    else err('lifecycle.at_risk_drop', `expected a fraction between 0 and 1 (0.5: active on less than half the engaged days), got ${show(drop)}`);
  }
  return {
    activity: parseEvent(section.activity, 'lifecycle.activity', plan, err, true),
    coreAction: parseEvent(section.core_action, 'lifecycle.core_action', plan, err, false),
    advocacyEvent: parseEvent(section.advocacy_event, 'lifecycle.advocacy_event', plan, err, false),
    newWithin: duration(section.new_within, 'lifecycle.new_within', d.newWithin, err),
    engaged,
    atRiskDrop,
    dormantAfter: duration(section.dormant_after, 'lifecycle.dormant_after', d.dormantAfter, err),
    resurrectedWithin: duration(section.resurrected_within, 'lifecycle.resurrected_within', d.resurrectedWithin, err),
  };
}

function parseEngaged(value: unknown, err: Err): LifecycleParameters['engaged'] {
  const d = DEFAULT_PARAMETERS.engaged;
  if (value === undefined) return d;
  if (!isRecord(value)) {
    err('lifecycle.engaged', `expected {active_days: N, of: D} (default {active_days: ${d.activeDays}, of: ${d.of}}), got ${show(value)}`);
    return d;
  }
  for (const key of Object.keys(value)) {
    if (key !== 'active_days' && key !== 'of') err(`lifecycle.engaged.${key}`, 'unknown key; expected active_days or of');
  }
  const of = duration(value.of, 'lifecycle.engaged.of', d.of, err);
  const ofDays = Math.ceil((parseDurationMs(of) ?? 0) / MS.d);
  let activeDays = d.activeDays;
  if (value.active_days !== undefined) {
    const n = value.active_days;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= ofDays) activeDays = n;
    else err('lifecycle.engaged.active_days', `expected a whole number of days from 1 to ${ofDays} (the days in ${of}), got ${show(n)}`);
  } else if (activeDays > ofDays) {
    err('lifecycle.engaged.active_days', `the default ${activeDays} active days do not fit in ${of}; set active_days to at most ${ofDays}`);
  }
  return { activeDays, of };
}

/**
 * An event parameter: `E` or `{event: E, where: [P...]}`, checked against the plan by
 * checking the condition it becomes (`{did: E, where}`) and moving its error paths back.
 */
function parseEvent(value: unknown, path: string, plan: TrackingPlan, err: Err, anyAllowed: boolean): LifecycleEvent | null {
  if (value === undefined || value === null || (anyAllowed && value === '*')) return null;
  const expected = `expected an event name declared in the tracking plan${anyAllowed ? ' ("*" for any event)' : ''} or {event: E, where: [{property: P, <op>: V}...]}`;
  let event: unknown;
  let where: unknown;
  const objectForm = isRecord(value);
  if (typeof value === 'string') event = value;
  else if (objectForm) {
    for (const key of Object.keys(value)) if (key !== 'event' && key !== 'where') err(`${path}.${key}`, 'unknown key; expected event or where');
    event = value.event;
    where = value.where;
  }
  if (typeof event !== 'string' || event === '') {
    err(objectForm ? `${path}.event` : path, `${expected}, got ${show(objectForm ? event : value)}`);
    return null;
  }
  if (event === '*' && !anyAllowed) {
    err(objectForm ? `${path}.event` : path, `expected one declared event, not "*"`);
    return null;
  }
  if (where !== undefined && !Array.isArray(where)) {
    err(`${path}.where`, `expected a list of property predicates [{property: P, <op>: V}...], got ${show(where)}`);
    return null;
  }
  const { errors } = checkConditionDocument({ did: event, ...(where !== undefined ? { where } : {}) }, plan, path);
  if (errors.length > 0) {
    for (const e of errors) err(movePath(e.path ?? path, `${path}.did`, objectForm ? `${path}.event` : path), e.message);
    return null;
  }
  return { event, ...(where !== undefined ? { where: where as unknown[] } : {}) };
}

function movePath(p: string, from: string, to: string): string {
  return p === from || p.startsWith(`${from}.`) || p.startsWith(`${from}[`) ? to + p.slice(from.length) : p;
}

/** A configured stage: a default stage's override, a new stage, or `false` (remove a default stage). */
type StageSetting = { readonly remove: true } | { readonly name?: string; readonly description?: string; readonly match?: Record<string, unknown> };

function parseStages(value: unknown, err: Err): Map<string, StageSetting> {
  const out = new Map<string, StageSetting>();
  if (value === undefined || value === null) return out;
  if (!isRecord(value)) {
    err('lifecycle.stages', `expected a mapping of stage key to {name, description, match} (or false to remove a default stage), got ${show(value)}`);
    return out;
  }
  for (const [key, setting] of Object.entries(value)) {
    const path = `lifecycle.stages.${key}`;
    if (!STAGE_KEY_RE.test(key)) {
      err(path, `a stage key is a lowercase letter then lowercase letters, digits or _ (at most 63), got ${JSON.stringify(key)}`);
      continue;
    }
    if (setting === false) {
      if (isDefaultStageKey(key)) out.set(key, { remove: true });
      else err(path, `only a default stage (${DEFAULT_ORDER.join(', ')}) can be removed with false`);
      continue;
    }
    if (!isRecord(setting)) {
      err(path, `expected {name, description, match: CONDITION}, or false to remove a default stage, got ${show(setting)}`);
      continue;
    }
    let ok = true;
    for (const k of Object.keys(setting)) {
      if (!(STAGE_KEYS as readonly string[]).includes(k)) {
        err(`${path}.${k}`, `unknown key${hint(k, STAGE_KEYS)}; expected name, description or match`);
        ok = false;
      }
    }
    for (const k of ['name', 'description'] as const) {
      if (setting[k] !== undefined && (typeof setting[k] !== 'string' || !/\S/.test(setting[k]))) {
        err(`${path}.${k}`, `expected a non-empty text, got ${show(setting[k])}`);
        ok = false;
      }
    }
    if (setting.match !== undefined && !isRecord(setting.match)) {
      err(`${path}.match`, `expected a condition of the segment language (such as {activeDays: {gte: 12}, within: 28d}), got ${show(setting.match)}`);
      ok = false;
    }
    if (!isDefaultStageKey(key)) {
      for (const k of ['name', 'match'] as const) {
        if (setting[k] === undefined) {
          err(`${path}`, `a new stage needs ${k}${k === 'match' ? ' (its condition in the segment language)' : ''}; the default stages are ${DEFAULT_ORDER.join(', ')}`);
          ok = false;
        }
      }
    }
    if (ok) {
      out.set(key, {
        ...(typeof setting.name === 'string' ? { name: setting.name } : {}),
        ...(typeof setting.description === 'string' ? { description: setting.description } : {}),
        ...(isRecord(setting.match) ? { match: setting.match } : {}),
      });
    }
  }
  return out;
}

function parseOrder(value: unknown, err: Err): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((k) => typeof k === 'string')) {
    err('lifecycle.order', `expected a non-empty list of stage keys, highest priority first, got ${show(value)}`);
    return undefined;
  }
  return value as string[];
}

function parseFallback(value: unknown, err: Err): FallbackStage {
  if (value === undefined || value === null) return DEFAULT_FALLBACK;
  const key = typeof value === 'string' ? value : isRecord(value) ? value.key : undefined;
  if (isRecord(value)) {
    for (const k of Object.keys(value)) if (!(FALLBACK_KEYS as readonly string[]).includes(k)) err(`lifecycle.fallback.${k}`, 'unknown key; expected key, name or description');
  }
  if (typeof key !== 'string' || !STAGE_KEY_RE.test(key)) {
    err(isRecord(value) ? 'lifecycle.fallback.key' : 'lifecycle.fallback', `expected a stage key (a lowercase letter then lowercase letters, digits or _), got ${show(key)}`);
    return DEFAULT_FALLBACK;
  }
  const text = (k: 'name' | 'description', fallback: string): string => {
    const v = isRecord(value) ? value[k] : undefined;
    if (v === undefined) return fallback;
    if (typeof v === 'string' && /\S/.test(v)) return v;
    err(`lifecycle.fallback.${k}`, `expected a non-empty text, got ${show(v)}`);
    return fallback;
  };
  const isDefaultKey = key === DEFAULT_FALLBACK.key;
  return {
    key,
    name: text('name', isDefaultKey ? DEFAULT_FALLBACK.name : key),
    description: text('description', isDefaultKey ? DEFAULT_FALLBACK.description : 'In the population but in no other stage.'),
  };
}

/**
 * The stages: default ones (unless removed or left out for a missing setting), overridden
 * and added ones, in `order` (default: the default order, then added stages as written),
 * each stage's condition checked against the plan.
 */
function buildModel(
  parameters: LifecycleParameters,
  settings: Map<string, StageSetting>,
  order: readonly string[] | undefined,
  fallback: FallbackStage,
  plan: TrackingPlan,
  err: Err,
): LifecycleModel {
  const available = new Map<string, LifecycleStage>();
  const unavailable: UnavailableStage[] = [];
  for (const key of DEFAULT_ORDER) {
    const setting = settings.get(key);
    if (setting && 'remove' in setting) continue;
    const built = defaultStage(key, parameters);
    if (isUnavailable(built)) {
      if (setting?.match) available.set(key, { key, name: setting.name ?? built.name, description: setting.description ?? '', match: setting.match, origin: 'overridden' });
      else unavailable.push(built);
      continue;
    }
    available.set(key, {
      ...built,
      ...(setting && !('remove' in setting) && setting.name !== undefined ? { name: setting.name } : {}),
      ...(setting && !('remove' in setting) && setting.description !== undefined ? { description: setting.description } : {}),
      ...(setting && !('remove' in setting) && setting.match !== undefined ? { match: setting.match, origin: 'overridden' as const } : {}),
    });
  }
  for (const [key, setting] of settings) {
    if (isDefaultStageKey(key) || 'remove' in setting || !setting.match || !setting.name) continue;
    available.set(key, { key, name: setting.name, description: setting.description ?? '', match: setting.match, origin: 'added' });
  }
  if (available.has(fallback.key)) err('lifecycle.fallback', `the fallback stage ${JSON.stringify(fallback.key)} has the key of a stage; choose another key`);

  let stages: LifecycleStage[];
  if (order === undefined) {
    const added = [...available.values()].filter((s) => s.origin === 'added');
    stages = [...DEFAULT_ORDER.flatMap((k) => (available.has(k) ? [available.get(k)!] : [])), ...added];
  } else {
    stages = orderedStages(order, available, unavailable, fallback, err);
  }
  if (stages.length === 0) err('lifecycle', 'the model has no stages left; keep at least one stage');

  // Each stage's own condition against the plan, with the path of where it is written.
  for (const stage of stages) {
    const where = stage.origin === 'default' ? parameterPath(stage.key) : `lifecycle.stages.${stage.key}.match`;
    const { errors } = checkConditionDocument(stage.match, plan, `lifecycle.stages.${stage.key}.match`, { stageCondition: true });
    for (const e of errors) err(stage.origin === 'default' ? where : (e.path ?? where), stage.origin === 'default' ? `stage ${stage.key}: ${e.message}` : e.message);
  }
  return { parameters, stages: stages.length > 0 ? stages : [...available.values()].slice(0, 1), fallback, unavailable };
}

/** Where a default stage's condition comes from, for an error in it (the plan changed under a parameter). */
function parameterPath(key: string): string {
  if (key === 'activated') return 'lifecycle.core_action';
  if (key === 'advocate') return 'lifecycle.advocacy_event';
  return 'lifecycle.activity';
}

function orderedStages(
  order: readonly string[],
  available: Map<string, LifecycleStage>,
  unavailable: readonly UnavailableStage[],
  fallback: FallbackStage,
  err: Err,
): LifecycleStage[] {
  const out: LifecycleStage[] = [];
  const seen = new Set<string>();
  order.forEach((key, i) => {
    const path = `lifecycle.order[${i}]`;
    if (seen.has(key)) return err(path, `stage ${JSON.stringify(key)} is listed twice`);
    seen.add(key);
    if (key === fallback.key) return err(path, `${JSON.stringify(key)} is the fallback stage, always last; leave it out of order`);
    const stage = available.get(key);
    if (stage) return void out.push(stage);
    const missing = unavailable.find((u) => u.key === key);
    if (missing) return err(path, `stage ${JSON.stringify(key)} (${missing.name}) needs ${missing.setting}; set it, or give stages.${key}.match`);
    const near = closest(key, [...available.keys()]);
    err(path, `unknown stage ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; the stages are ${[...available.keys()].join(', ')}`);
  });
  const left = [...available.keys()].filter((k) => !seen.has(k));
  if (left.length > 0) {
    err('lifecycle.order', `order must list every stage; missing ${left.join(', ')} (remove a default stage with stages: {KEY: false})`);
  }
  return out;
}

function duration(value: unknown, path: string, fallback: string, err: Err): string {
  if (value === undefined) return fallback;
  const ms = typeof value === 'string' ? parseDurationMs(value) : undefined;
  if (ms === undefined || ms === 0) {
    err(path, `expected a positive duration: a whole number and a unit m, h, d or w (30d, 2w), got ${show(value)}`);
    return fallback;
  }
  if (ms > MAX_DAYS * MS.d) {
    err(path, `expected a duration of at most ${MAX_DAYS}d, got ${show(value)}`);
    return fallback;
  }
  return value as string;
}

function hint(key: string, candidates: readonly string[]): string {
  const near = closest(key, candidates);
  return near ? ` (did you mean ${near}?)` : '';
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
