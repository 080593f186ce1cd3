/**
 * The supervised model document (YAML or JSON; docs/models.md, "Models: churn and
 * propensity"): what to predict (churn, or a declared event), over which horizon, for whom,
 * with which learner and features. Validation collects every error; each names the JSON path
 * and, through `validateModelText`, the file and line (`models/churn.yaml:7 horizon`).
 */
import { LineCounter, parseDocument } from 'yaml';
import { StrataError, type ErrorDetail } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { parseSegmentText } from '../../segments/language/parse-segment-text.js';
import { yamlPathLocator } from '../../segments/language/yaml-locate.js';
import { MS } from '../../time/time.js';
import { MODEL_KEY_PATTERN } from './model-store.js';

export type SupervisedKind = 'churn' | 'propensity';
export type ModelFamily = 'logistic' | 'gbt';

/** Learner settings, in the learners' own (camelCase) names. */
export type LearnerParams = Readonly<Record<string, number | boolean | null>>;

export interface ModelFeatureSettings {
  readonly events?: readonly string[];
  readonly windowsDays?: readonly number[];
  readonly activeDaysWindows?: readonly number[];
  readonly traits?: readonly string[];
  readonly depthProperty?: string;
  readonly oneHotTop?: number;
  readonly recencyCapDays?: number;
}

/** A checked document with every default applied. */
export interface ModelDefinition {
  readonly key: string;
  readonly name: string;
  readonly description: string | null;
  readonly owner: string | null;
  readonly kind: SupervisedKind;
  /** The conversion event (propensity); null for churn. */
  readonly event: string | null;
  readonly horizonDays: number;
  readonly family: ModelFamily;
  readonly params: LearnerParams;
  /** A stored segment key whose members as of each T are the population; null: the kind's default. */
  readonly population: string | null;
  readonly training: { readonly snapshots: number; readonly everyDays: number; readonly holdout: number };
  readonly features: ModelFeatureSettings;
}

export interface ModelContext {
  /** Stored segment keys (population must be one); null: not checked here. */
  readonly segmentKeys: ReadonlySet<string> | null;
}

export const MODEL_DEFAULTS = { family: 'logistic' as ModelFamily, snapshots: 6, everyDays: 14, holdout: 1 };
/** The default churn population: users with an event in the 28 days before T. */
export const DEFAULT_ACTIVE_DAYS = 28;

const TOP_KEYS = ['key', 'name', 'description', 'owner', 'kind', 'event', 'horizon', 'family', 'params', 'population', 'training', 'features'];
const TRAINING_KEYS = ['snapshots', 'every', 'holdout'];
const FEATURE_KEYS = ['events', 'windows', 'active_days', 'traits', 'depth_property', 'one_hot_top', 'recency_cap'];
/** Document name -> learner option name, and what each accepts. */
const PARAMS: Record<ModelFamily, Record<string, { name: string; check: (v: unknown) => boolean; expected: string }>> = {
  logistic: { C: { name: 'C', check: (v) => typeof v === 'number' && v > 0 && Number.isFinite(v), expected: 'a positive number (inverse regularization, as sklearn)' } },
  gbt: {
    learning_rate: { name: 'learningRate', check: (v) => typeof v === 'number' && v > 0 && v <= 1, expected: 'a number in (0, 1]' },
    max_iter: { name: 'maxIter', check: (v) => Number.isSafeInteger(v) && (v as number) >= 1, expected: 'a whole number >= 1' },
    max_leaf_nodes: { name: 'maxLeafNodes', check: (v) => Number.isSafeInteger(v) && (v as number) >= 2, expected: 'a whole number >= 2' },
    max_depth: { name: 'maxDepth', check: (v) => v === null || (Number.isSafeInteger(v) && (v as number) >= 1), expected: 'a whole number >= 1, or null' },
    min_samples_leaf: { name: 'minSamplesLeaf', check: (v) => Number.isSafeInteger(v) && (v as number) >= 1, expected: 'a whole number >= 1' },
    l2_regularization: { name: 'l2Regularization', check: (v) => typeof v === 'number' && v >= 0 && Number.isFinite(v), expected: 'a number >= 0' },
    max_bins: { name: 'maxBins', check: (v) => Number.isSafeInteger(v) && (v as number) >= 2 && (v as number) <= 255, expected: 'a whole number in [2, 255]' },
    early_stopping: { name: 'earlyStopping', check: (v) => typeof v === 'boolean', expected: 'true or false' },
    validation_fraction: { name: 'validationFraction', check: (v) => typeof v === 'number' && v > 0 && v < 1, expected: 'a share in (0, 1)' },
    n_iter_no_change: { name: 'nIterNoChange', check: (v) => Number.isSafeInteger(v) && (v as number) >= 1, expected: 'a whole number >= 1' },
    tol: { name: 'tol', check: (v) => typeof v === 'number' && v >= 0 && Number.isFinite(v), expected: 'a number >= 0' },
    seed: { name: 'seed', check: (v) => Number.isSafeInteger(v) && (v as number) >= 0, expected: 'a whole number >= 0' },
  },
};

type Raw = Record<string, unknown>;
const isRecord = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v));

class Checker {
  readonly errors: ErrorDetail[] = [];
  constructor(
    private readonly plan: TrackingPlan,
    private readonly context: ModelContext,
  ) {}

  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  unknown(raw: Raw, allowed: readonly string[], at: string): void {
    for (const k of Object.keys(raw)) if (!allowed.includes(k)) this.error(join(at, k), `unknown field "${k}"; expected one of ${allowed.join(', ')}`);
  }

  text(raw: Raw, k: string, required: boolean): string | null {
    const v = raw[k];
    if (v === undefined) {
      if (required) this.error(k, `missing "${k}": expected a non-empty string`);
      return null;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      this.error(k, `expected a non-empty string, got ${show(v)}`);
      return null;
    }
    return v;
  }

  days(v: unknown, path: string, fallback: number | null): number | null {
    if (v === undefined) {
      if (fallback === null) this.error(path, `missing "${path}": expected whole days such as 28d`);
      return fallback;
    }
    const m = typeof v === 'string' ? /^(\d{1,6})([dw])$/.exec(v) : null;
    const days = m ? Number(m[1]) * (m[2] === 'w' ? 7 : 1) : Number.NaN;
    if (!(days >= 1)) {
      this.error(path, `expected whole days or weeks such as 28d or 4w, got ${show(v)}`);
      return null;
    }
    return days;
  }

  whole(v: unknown, path: string, fallback: number, min: number): number {
    if (v === undefined) return fallback;
    if (!(Number.isSafeInteger(v) && (v as number) >= min)) {
      this.error(path, `expected a whole number >= ${min}, got ${show(v)}`);
      return fallback;
    }
    return v as number;
  }

  list<T>(v: unknown, path: string, item: (x: unknown, at: string) => T | null): T[] | undefined {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length === 0) {
      this.error(path, `expected a non-empty list, got ${show(v)}`);
      return undefined;
    }
    const out: T[] = [];
    v.forEach((x, i) => {
      const r = item(x, `${path}[${i}]`);
      if (r !== null) out.push(r);
    });
    return out;
  }

  event(v: unknown, at: string): string | null {
    if (typeof v !== 'string' || !Object.hasOwn(this.plan.events, v)) {
      this.error(at, `expected an event declared in the tracking plan (${Object.keys(this.plan.events).join(', ')}), got ${show(v)}`);
      return null;
    }
    return v;
  }

  definition(raw: Raw): ModelDefinition | null {
    this.unknown(raw, TOP_KEYS, '');
    const key = this.text(raw, 'key', true);
    if (key !== null && !MODEL_KEY_PATTERN.test(key)) this.error('key', `expected a model key (lower-case letters, digits and -, at most 63 characters, such as churn-risk), got ${show(key)}`);
    const name = this.text(raw, 'name', true);
    const description = this.text(raw, 'description', false);
    const owner = this.text(raw, 'owner', false);
    const kind = raw.kind;
    if (kind !== 'churn' && kind !== 'propensity') this.error('kind', `expected churn (no event at all in the horizon) or propensity (the event in the horizon), got ${show(kind)}`);
    let event: string | null = null;
    if (kind === 'propensity') event = raw.event === undefined ? (this.error('event', 'missing "event": a propensity model predicts a declared event'), null) : this.event(raw.event, 'event');
    else if (kind === 'churn' && raw.event !== undefined) this.error('event', 'a churn model has no event (churn is no event at all in the horizon); remove it or use kind: propensity');
    const horizonDays = this.days(raw.horizon, 'horizon', null);
    const family = raw.family === undefined ? MODEL_DEFAULTS.family : raw.family;
    if (family !== 'logistic' && family !== 'gbt') this.error('family', `expected logistic or gbt, got ${show(family)}`);
    const params = family === 'logistic' || family === 'gbt' ? this.params(raw.params, family) : {};
    const population = this.population(raw.population);
    const training = this.training(raw.training);
    const features = this.features(raw.features);
    if (this.errors.length > 0 || key === null || name === null || horizonDays === null || (kind !== 'churn' && kind !== 'propensity')) return null;
    return { key, name, description, owner, kind, event, horizonDays, family: family as ModelFamily, params, population, training, features };
  }

  params(v: unknown, family: ModelFamily): LearnerParams {
    if (v === undefined) return {};
    if (!isRecord(v)) {
      this.error('params', `expected a mapping of ${family} settings, got ${show(v)}`);
      return {};
    }
    const known = PARAMS[family];
    const out: Record<string, number | boolean | null> = {};
    for (const [k, x] of Object.entries(v)) {
      const spec = Object.hasOwn(known, k) ? known[k]! : undefined;
      if (!spec) this.error(join('params', k), `unknown ${family} setting "${k}"; expected one of ${Object.keys(known).join(', ')}`);
      else if (!spec.check(x)) this.error(join('params', k), `expected ${spec.expected}, got ${show(x)}`);
      else out[spec.name] = x as number | boolean | null;
    }
    return out;
  }

  population(v: unknown): string | null {
    if (v === undefined) return null;
    if (typeof v !== 'string' || !MODEL_KEY_PATTERN.test(v)) {
      this.error('population', `expected a stored segment key, got ${show(v)}`);
      return null;
    }
    if (this.context.segmentKeys !== null && !this.context.segmentKeys.has(v)) {
      const known = [...this.context.segmentKeys];
      this.error('population', `no stored segment "${v}" (stored: ${known.join(', ') || 'none'}); add it with strata segment add first`);
    }
    return v;
  }

  training(v: unknown): ModelDefinition['training'] {
    const d = MODEL_DEFAULTS;
    if (v === undefined) return { snapshots: d.snapshots, everyDays: d.everyDays, holdout: d.holdout };
    if (!isRecord(v)) {
      this.error('training', `expected a mapping such as {snapshots: 6, every: 14d, holdout: 1}, got ${show(v)}`);
      return { snapshots: d.snapshots, everyDays: d.everyDays, holdout: d.holdout };
    }
    this.unknown(v, TRAINING_KEYS, 'training');
    return {
      snapshots: this.whole(v.snapshots, 'training.snapshots', d.snapshots, 1),
      everyDays: this.days(v.every, 'training.every', d.everyDays) ?? d.everyDays,
      holdout: this.whole(v.holdout, 'training.holdout', d.holdout, 1),
    };
  }

  features(v: unknown): ModelFeatureSettings {
    if (v === undefined) return {};
    if (!isRecord(v)) {
      this.error('features', `expected a mapping (events, windows, active_days, traits, depth_property, one_hot_top, recency_cap), got ${show(v)}`);
      return {};
    }
    this.unknown(v, FEATURE_KEYS, 'features');
    const positive = (x: unknown, at: string) => (Number.isSafeInteger(x) && (x as number) > 0 ? (x as number) : (this.error(at, `expected whole days such as 7, got ${show(x)}`), null));
    const out: { -readonly [K in keyof ModelFeatureSettings]: ModelFeatureSettings[K] } = {};
    const events = this.list(v.events, 'features.events', (x, at) => this.event(x, at));
    if (events) out.events = events;
    const windows = this.list(v.windows, 'features.windows', positive);
    if (windows) out.windowsDays = windows;
    const active = this.list(v.active_days, 'features.active_days', positive);
    if (active) out.activeDaysWindows = active;
    // `traits: []` is a choice: no trait features at all.
    const traits = Array.isArray(v.traits) && v.traits.length === 0 ? [] : this.list(v.traits, 'features.traits', (x, at) => {
      const spec = typeof x === 'string' && Object.hasOwn(this.plan.traits, x) ? this.plan.traits[x]! : undefined;
      if (!spec) return (this.error(at, `expected a trait declared in the tracking plan, got ${show(x)}`), null);
      // Governance (issue 7): a sensitive trait never reaches a model.
      if (spec.sensitive === true) return (this.error(at, `trait "${x as string}" is sensitive: sensitive traits are never model features`), null);
      return x as string;
    });
    if (traits) out.traits = traits;
    if (v.depth_property !== undefined) {
      const p = v.depth_property;
      const declared = typeof p === 'string' && Object.values(this.plan.events).some((e) => Object.hasOwn(e.properties, p) && e.properties[p]!.type !== 'timestamp');
      if (!declared) this.error('features.depth_property', `expected a string, number or boolean property declared on an event, got ${show(p)}`);
      else out.depthProperty = p;
    }
    if (v.one_hot_top !== undefined) out.oneHotTop = this.whole(v.one_hot_top, 'features.one_hot_top', 10, 0);
    if (v.recency_cap !== undefined) {
      const cap = typeof v.recency_cap === 'number' ? v.recency_cap : this.days(v.recency_cap, 'features.recency_cap', null);
      if (cap !== null && !(cap > 0)) this.error('features.recency_cap', `expected positive days such as 365, got ${show(v.recency_cap)}`);
      else if (cap !== null) out.recencyCapDays = cap;
    }
    return out;
  }
}

function join(at: string, key: string): string {
  return at === '' ? key : `${at}.${key}`;
}

/** Check a parsed document (or a stored one); MODEL_INVALID lists every error with its JSON path. */
export function validateModel(raw: unknown, plan: TrackingPlan, context: ModelContext): ModelDefinition {
  if (!isRecord(raw)) {
    throw new StrataError('MODEL_INVALID', 'the model definition is invalid', [{ path: '', message: `expected a mapping with key, name, kind, horizon, got ${show(raw)}` }]);
  }
  const c = new Checker(plan, context);
  const def = c.definition(raw);
  if (def === null || c.errors.length > 0) {
    const key = typeof raw.key === 'string' ? `model "${raw.key}"` : 'the model definition';
    throw new StrataError('MODEL_INVALID', `${key} is invalid (${c.errors.length} error${c.errors.length === 1 ? '' : 's'})`, c.errors);
  }
  return def;
}

export interface ValidatedModel {
  /** The document as written, stored with the version (retraining by key revalidates it). */
  readonly document: Raw;
  readonly definition: ModelDefinition;
}

/**
 * Parse and validate the text of one file: one document or a list of them. Every error of
 * every document is reported at once, each as `source:LINE path`.
 */
export function validateModelText(text: string, source: string, plan: TrackingPlan, context: ModelContext): ValidatedModel[] {
  let value: unknown;
  try {
    value = parseSegmentText(text, source);
  } catch (e) {
    if (!(e instanceof StrataError) || e.code !== 'SEGMENT_INVALID') throw e;
    const details = e.details.map((d) => (d.message.startsWith('the file holds no definition') ? { ...d, message: 'the file holds no definition; expected a mapping with key, name, kind and horizon' } : d));
    throw new StrataError('MODEL_INVALID', `${details[0]?.path ?? source}: ${details[0]?.message ?? e.message}`, details, { cause: e });
  }
  const lineCounter = new LineCounter();
  const locate = yamlPathLocator(parseDocument(text, { lineCounter, uniqueKeys: true, version: '1.2' }), lineCounter, source);
  const items = Array.isArray(value) ? value.map((raw: unknown, i) => ({ raw, at: `[${i}]` })) : [{ raw: value, at: '' }];
  const out: ValidatedModel[] = [];
  const errors: ErrorDetail[] = [];
  for (const { raw, at } of items) {
    try {
      out.push({ document: raw as Raw, definition: validateModel(raw, plan, context) });
    } catch (e) {
      if (!(e instanceof StrataError) || e.code !== 'MODEL_INVALID') throw e;
      for (const d of e.details) {
        const inner = at === '' ? (d.path ?? '') : `${at}${d.path ? '.' : ''}${d.path ?? ''}`;
        errors.push({ path: [locate(inner), inner].filter(Boolean).join(' '), message: d.message });
      }
    }
  }
  if (errors.length > 0) throw new StrataError('MODEL_INVALID', `${source}: ${errors.length} problem${errors.length === 1 ? '' : 's'}`, errors);
  return out;
}

export const horizonMs = (def: ModelDefinition): number => def.horizonDays * MS.d;

/** A document that validates back to `def` (what the library stores when it is given no document). */
export function modelDocument(def: ModelDefinition): Record<string, unknown> {
  const snake = new Map(Object.values(PARAMS).flatMap((family) => Object.entries(family).map(([doc, spec]) => [spec.name, doc] as const)));
  const f = def.features;
  const features: Record<string, unknown> = {
    ...(f.events ? { events: [...f.events] } : {}),
    ...(f.windowsDays ? { windows: [...f.windowsDays] } : {}),
    ...(f.activeDaysWindows ? { active_days: [...f.activeDaysWindows] } : {}),
    ...(f.traits ? { traits: [...f.traits] } : {}),
    ...(f.depthProperty !== undefined ? { depth_property: f.depthProperty } : {}),
    ...(f.oneHotTop !== undefined ? { one_hot_top: f.oneHotTop } : {}),
    ...(f.recencyCapDays !== undefined ? { recency_cap: f.recencyCapDays } : {}),
  };
  return {
    key: def.key,
    name: def.name,
    ...(def.description !== null ? { description: def.description } : {}),
    ...(def.owner !== null ? { owner: def.owner } : {}),
    kind: def.kind,
    ...(def.event !== null ? { event: def.event } : {}),
    horizon: `${def.horizonDays}d`,
    family: def.family,
    params: Object.fromEntries(Object.entries(def.params).map(([k, v]) => [snake.get(k) ?? k, v])),
    ...(def.population !== null ? { population: def.population } : {}),
    training: { snapshots: def.training.snapshots, every: `${def.training.everyDays}d`, holdout: def.training.holdout },
    ...(Object.keys(features).length > 0 ? { features } : {}),
  };
}
