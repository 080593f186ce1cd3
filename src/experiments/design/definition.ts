/**
 * Experiment documents (YAML or JSON, docs/experiments.md "Defining an experiment") to
 * ExperimentDefinition: parsing with positions, validation against the tracking plan and
 * the stored segments, and the canonical text and hash the registry versions by.
 *
 * Validation collects every error before throwing (as validateSegment does), each with the
 * JSON path of the offending value (`metrics.guardrails[0].max_degradation`);
 * `parseExperimentText` keeps the document's positions so a file's errors also name the
 * line (`experiments/a.yaml:14 metrics.primary`). Metric events and `where` filters are
 * checked by the segment language's ConditionChecker (as `{did: E, where}`, or as a `sum`
 * aggregate when a property is summed), so their messages are the language's.
 *
 * Normalization: weights divided by their sum; factorial variants expanded to the cross
 * product (first factor varies slowest, keys joined with '.'); durations in ms, instants in
 * epoch ms; a retention metric's `withinMs` is (day + 1) days, the end of its day window,
 * so maturity works as for every other windowed metric.
 */
import { createHash } from 'node:crypto';
import { LineCounter, parseDocument } from 'yaml';
import { StrataError, type ErrorDetail } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { ConditionChecker, MAX_DURATION_MS, isRecord } from '../../segments/language/condition-checker.js';
import { closest, indexPath, keyPath, listOf, quote, show } from '../../segments/language/messages.js';
import { SEGMENT_KEY_PATTERN, parseSegmentText } from '../../segments/language/index.js';
import { dedupe, withoutUndefined } from '../../segments/language/validate-segment.js';
import { closeKeys } from '../../segments/registry/close-keys.js';
import { MS, parseDurationMs, parseInstantMs } from '../../time/time.js';
import type { Difference } from '../stats/effects.js';
import type { Sides } from '../stats/frequentist.js';
import type {
  AnalysisMethod,
  EventMeasure,
  ExperimentDefinition,
  ExposureSource,
  FactorDefinition,
  GuardrailDefinition,
  MetricDefinition,
  VariantDefinition,
  WhereList,
} from './types.js';
import { yamlPathLocator } from '../../segments/language/yaml-locate.js';
import { EXPOSURE_PLAN_FIX, exposurePlanProblems } from './exposure.js';

export const EXPERIMENT_KEY_PATTERN = SEGMENT_KEY_PATTERN;
/** Variant, factor level and metric keys: lower case, digits, '-' and '_'. */
export const VARIANT_KEY_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$';
export const METRIC_KEY_PATTERN = VARIANT_KEY_PATTERN;
export const SEED_PATTERN = '^[A-Za-z0-9._-]{1,128}$';
export const METRIC_TYPES = ['conversion', 'count', 'sum', 'mean', 'retention', 'ratio'] as const;
export const ANALYSIS_METHODS: readonly AnalysisMethod[] = ['frequentist', 'bayesian', 'sequential'];
export const SIDES: readonly Sides[] = ['two', 'greater', 'lesser'];
export const DIFFERENCES: readonly Difference[] = ['relative', 'absolute'];

/** The defaults of docs/experiments.md. */
export const EXPERIMENT_DEFAULTS = {
  coverage: 1,
  hashVersion: 1,
  exposure: 'event' as ExposureSource,
  mde: 0.05,
  alpha: 0.05,
  power: 0.8,
  method: 'frequentist' as AnalysisMethod,
  sides: 'two' as Sides,
  difference: 'relative' as Difference,
  sequentialTuning: 5000,
} as const;

/** What a definition is checked against besides the plan. */
export interface ExperimentContext {
  /** The stored segment keys that `targeting` and `segments` may name. */
  readonly segmentKeys: readonly string[];
}

const TOP_KEYS = [
  'key',
  'name',
  'hypothesis',
  'owner',
  'tags',
  'targeting',
  'segments',
  'variants',
  'factors',
  'weights',
  'coverage',
  'seed',
  'hash_version',
  'start',
  'stop',
  'exposure',
  'metrics',
  'definitions',
  'mde',
  'alpha',
  'power',
  'method',
  'sides',
  'difference',
  'sequential_tuning',
  'prior',
  'bandit',
];
const VARIANT_KEYS = ['key', 'weight'];
const METRICS_KEYS = ['primary', 'secondary', 'guardrails'];
const GUARDRAIL_KEYS = ['metric', 'max_degradation'];
const MEASURE_KEYS = ['event', 'property', 'where'];
const COMMON_METRIC_KEYS = ['type', 'name', 'inverse', 'within', 'covariate'];
const METRIC_KEYS_BY_TYPE: Readonly<Record<MetricType, readonly string[]>> = {
  conversion: [...COMMON_METRIC_KEYS, 'event', 'where'],
  count: [...COMMON_METRIC_KEYS, 'event', 'where'],
  sum: [...COMMON_METRIC_KEYS, ...MEASURE_KEYS],
  mean: [...COMMON_METRIC_KEYS, ...MEASURE_KEYS],
  retention: ['type', 'name', 'inverse', 'covariate', 'event', 'where', 'day'],
  ratio: [...COMMON_METRIC_KEYS, 'numerator', 'denominator'],
};

type MetricType = (typeof METRIC_TYPES)[number];
type Raw = Record<string, unknown>;

// ---------------------------------------------------------------------------------------
// Text

export interface ParsedExperimentText {
  /** The document: one definition, or a list of them. */
  readonly value: unknown;
  /** `source:LINE` of the deepest node that exists on a JSON path (`metrics.guardrails[0].metric`), else `source`. */
  readonly locate: (path: string) => string;
}

/**
 * Parse YAML or JSON text. Syntax errors are the segment language's (`source:line:col`,
 * JSON-specific messages for JSON), thrown as EXPERIMENT_INVALID.
 */
export function parseExperimentText(text: string, source: string): ParsedExperimentText {
  let value: unknown;
  try {
    value = parseSegmentText(text, source);
  } catch (e) {
    if (!(e instanceof StrataError) || e.code !== 'SEGMENT_INVALID') throw e;
    const details = e.details.map((d) =>
      d.message.startsWith('the file holds no definition') ? { ...d, message: 'the file holds no definition; expected a mapping with key, name, hypothesis, variants, start and metrics' } : d,
    );
    throw new StrataError('EXPERIMENT_INVALID', `${details[0]?.path ?? source}: ${details[0]?.message ?? e.message}`, details, { cause: e });
  }
  // A second parse keeps the nodes and their positions (the first one only checked and converted).
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, version: '1.2' });
  const locate = yamlPathLocator(doc, lineCounter, source);
  return { value, locate };
}


export interface ValidatedExperiment {
  /** The document as written (a private copy), which the registry stores canonically. */
  readonly document: Raw;
  readonly definition: ExperimentDefinition;
}

/**
 * Parse and validate every definition in one file's text (one definition, or a list).
 * Errors of every definition are collected; each path reads `source:LINE [i] path`.
 */
export function validateExperimentText(text: string, source: string, plan: TrackingPlan, context: ExperimentContext): ValidatedExperiment[] {
  const { value, locate } = parseExperimentText(text, source);
  const items = Array.isArray(value) ? value.map((v, i) => ({ raw: v as unknown, at: `[${i}]` })) : [{ raw: value, at: '' }];
  const out: ValidatedExperiment[] = [];
  const errors: ErrorDetail[] = [];
  for (const { raw, at } of items) {
    try {
      out.push(checkExperiment(raw, plan, context));
    } catch (e) {
      if (!(e instanceof StrataError) || e.code !== 'EXPERIMENT_INVALID') throw e;
      for (const d of e.details) {
        const inner = at === '' ? (d.path ?? '') : `${at}${d.path && !d.path.startsWith('[') ? '.' : ''}${d.path ?? ''}`;
        errors.push({ path: [locate(inner), inner].filter(Boolean).join(' '), message: d.message });
      }
    }
  }
  if (errors.length > 0) {
    throw new StrataError('EXPERIMENT_INVALID', `${source}: ${errors.length} problem${errors.length === 1 ? '' : 's'}`, errors);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Validation

/**
 * Check a raw definition (from parseExperimentText, JSON, or a stored version) and return
 * it normalized; throws EXPERIMENT_INVALID listing every error with its JSON path.
 */
export function validateExperiment(raw: unknown, plan: TrackingPlan, context: ExperimentContext): ExperimentDefinition {
  return checkExperiment(raw, plan, context).definition;
}

/** validateExperiment, also returning the document as written (what the registry stores). */
export function checkExperiment(input: unknown, plan: TrackingPlan, context: ExperimentContext): ValidatedExperiment {
  const raw = withoutUndefined(input);
  if (!isRecord(raw)) {
    throw new StrataError('EXPERIMENT_INVALID', 'the experiment definition is invalid', [
      { path: '', message: `expected an experiment definition: a mapping with key, name, hypothesis, variants, start and metrics, got ${show(raw)}` },
    ]);
  }
  const v = new Validator(plan, context);
  const definition = v.experiment(raw);
  const errors = dedupe(v.errors);
  if (errors.length > 0 || !definition) {
    const key = typeof raw.key === 'string' && raw.key !== '' ? raw.key : undefined;
    const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
    throw new StrataError('EXPERIMENT_INVALID', `${key !== undefined ? `experiment ${quote(key)}` : 'the experiment definition'} is invalid (${count})`, errors);
  }
  return { document: raw, definition };
}

class Validator {
  readonly errors: ErrorDetail[] = [];

  constructor(
    private readonly plan: TrackingPlan,
    private readonly context: ExperimentContext,
  ) {}

  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  experiment(raw: Raw): ExperimentDefinition | undefined {
    this.unknownKeys(raw, TOP_KEYS, '');
    const key = this.pattern(raw, 'key', '', EXPERIMENT_KEY_PATTERN, 'an experiment key: lower case letters, digits and -, starting with a letter or digit, at most 63 characters');
    const name = this.text(raw, 'name', '', true);
    const hypothesis = this.text(raw, 'hypothesis', '', true);
    const owner = this.text(raw, 'owner', '', false);
    const tags = this.stringList(raw, 'tags', '', (t) => t.length > 0, 'a non-empty tag');
    const targeting = this.segmentList(raw, 'targeting');
    const segments = this.segmentList(raw, 'segments');
    const design = this.design(raw);
    const coverage = this.number(raw, 'coverage', '', EXPERIMENT_DEFAULTS.coverage, (n) => n > 0 && n <= 1, 'a share in (0, 1]');
    const seed = has(raw, 'seed')
      ? this.pattern(raw, 'seed', '', SEED_PATTERN, 'a seed: 1 to 128 letters, digits, ".", "_" or "-"')
      : key;
    const hashVersion = this.number(raw, 'hash_version', '', EXPERIMENT_DEFAULTS.hashVersion, (n) => n === 1, 'hash version 1 (the only one this Strata knows)');
    const schedule = this.schedule(raw);
    const exposure = this.choice(raw, 'exposure', '', ['event', 'assignment'] as const, EXPERIMENT_DEFAULTS.exposure);
    if (exposure === 'event') this.exposurePlan(has(raw, 'exposure') ? 'exposure' : '');
    const metrics = this.metrics(raw);
    const mde = this.number(raw, 'mde', '', EXPERIMENT_DEFAULTS.mde, (n) => n > 0 && n < 1, 'a relative effect in (0, 1), such as 0.05 for 5%');
    const alpha = this.number(raw, 'alpha', '', EXPERIMENT_DEFAULTS.alpha, (n) => n > 0 && n <= 0.5, 'a significance level in (0, 0.5]');
    const power = this.number(raw, 'power', '', EXPERIMENT_DEFAULTS.power, (n) => n > 0 && n < 1, 'a power in (0, 1), such as 0.8');
    const method = this.choice(raw, 'method', '', ANALYSIS_METHODS, EXPERIMENT_DEFAULTS.method);
    const sides = this.choice(raw, 'sides', '', SIDES, EXPERIMENT_DEFAULTS.sides);
    const difference = this.choice(raw, 'difference', '', DIFFERENCES, EXPERIMENT_DEFAULTS.difference);
    const sequentialTuning = this.number(raw, 'sequential_tuning', '', EXPERIMENT_DEFAULTS.sequentialTuning, (n) => n > 0, 'a positive number of users (N*)');
    const prior = this.prior(raw);
    const bandit = this.bandit(raw, design?.variants.length);

    if (
      this.errors.length > 0 ||
      key === undefined ||
      name === undefined ||
      hypothesis === undefined ||
      !design ||
      coverage === undefined ||
      seed === undefined ||
      !schedule ||
      !metrics
    ) {
      return undefined;
    }
    return {
      key,
      name,
      hypothesis,
      owner: owner ?? null,
      tags: tags ?? [],
      targeting: targeting ?? [],
      segments: segments ?? [],
      variants: design.variants,
      factors: design.factors,
      coverage,
      seed,
      hashVersion: hashVersion as 1,
      startMs: schedule.startMs,
      stopMs: schedule.stopMs,
      exposure: exposure!,
      primary: metrics.primary,
      secondary: metrics.secondary,
      guardrails: metrics.guardrails,
      mde: mde!,
      alpha: alpha!,
      power: power!,
      method: method!,
      sides: sides!,
      difference: difference!,
      sequentialTuning: sequentialTuning!,
      prior: prior ?? null,
      bandit: bandit ?? null,
    };
  }

  // --- variants and factors -----------------------------------------------------------

  private design(raw: Raw): { variants: VariantDefinition[]; factors: FactorDefinition[] | null } | undefined {
    const hasVariants = has(raw, 'variants');
    const hasFactors = has(raw, 'factors');
    if (hasVariants && hasFactors) {
      this.error('factors', 'give either variants or factors, not both: factors define the variants as the cross product of their levels');
      return undefined;
    }
    if (!hasVariants && !hasFactors) {
      this.error('variants', 'required: expected a list of at least two variants [{key: control, weight: 1}, ...] (the first is the control), or factors');
      return undefined;
    }
    if (hasVariants) {
      if (has(raw, 'weights')) this.error('weights', 'weights: is for factorial designs; with variants, give each variant its weight');
      return this.variants(raw.variants);
    }
    return this.factors(raw.factors, raw.weights);
  }

  private variants(value: unknown): { variants: VariantDefinition[]; factors: null } | undefined {
    if (!Array.isArray(value) || value.length < 2) {
      this.error('variants', `expected a list of at least two variants [{key: control, weight: 1}, ...] (the first is the control), got ${show(value)}`);
      return undefined;
    }
    const seen = new Map<string, string>();
    const parsed = value.map((item, i) => {
      const path = indexPath('variants', i);
      if (!isRecord(item)) {
        this.error(path, `expected a variant {key: KEY, weight: W}, got ${show(item)}`);
        return undefined;
      }
      this.unknownKeys(item, VARIANT_KEYS, path);
      const key = this.pattern(item, 'key', path, VARIANT_KEY_PATTERN, 'a variant key: lower case letters, digits, - and _, at most 63 characters');
      if (key !== undefined) {
        const prior = seen.get(key);
        if (prior !== undefined) this.error(keyPath(path, 'key'), `variant ${quote(key)} is already defined at ${prior}; variant keys are unique`);
        else seen.set(key, keyPath(path, 'key'));
      }
      const weight = this.number(item, 'weight', path, 1, (n) => n > 0, 'a positive weight');
      return key !== undefined && weight !== undefined ? { key, weight } : undefined;
    });
    if (parsed.some((p) => p === undefined)) return undefined;
    return { variants: normalize(parsed as { key: string; weight: number }[]), factors: null };
  }

  private factors(value: unknown, weightsValue: unknown): { variants: VariantDefinition[]; factors: FactorDefinition[] } | undefined {
    if (!isRecord(value) || Object.keys(value).length === 0) {
      this.error('factors', `expected a mapping of factors to their levels, such as {checklist: [off, on], reminder: [none, email]} (the first level is the baseline), got ${show(value)}`);
      return undefined;
    }
    const factors: FactorDefinition[] = [];
    let ok = true;
    for (const [factor, levels] of Object.entries(value)) {
      const path = keyPath('factors', factor);
      if (!new RegExp(VARIANT_KEY_PATTERN).test(factor)) {
        this.error(path, `expected a factor name: lower case letters, digits, - and _, at most 63 characters; got ${quote(factor)}`);
        ok = false;
      }
      if (!Array.isArray(levels) || levels.length < 2) {
        this.error(path, `expected a list of at least two levels (the first is the baseline), got ${show(levels)}`);
        ok = false;
        continue;
      }
      const seen = new Set<string>();
      levels.forEach((level, i) => {
        const at = indexPath(path, i);
        if (typeof level !== 'string' || !new RegExp(VARIANT_KEY_PATTERN).test(level)) {
          this.error(at, `expected a level: lower case letters, digits, - and _, at most 63 characters; got ${show(level)}`);
          ok = false;
        } else if (seen.has(level)) {
          this.error(at, `level ${quote(level)} is given twice; levels of a factor are unique`);
          ok = false;
        } else seen.add(level);
      });
      factors.push({ key: factor, levels: levels as string[] });
    }
    if (!ok) return undefined;
    const cells = crossProduct(factors);
    let weights = new Map(cells.map((c) => [c.key, 1]));
    if (weightsValue !== undefined) {
      const given = this.factorWeights(weightsValue, cells.map((c) => c.key));
      if (!given) return undefined;
      weights = given;
    }
    const variants = normalize(cells.map((c) => ({ key: c.key, weight: weights.get(c.key)!, levels: c.levels })));
    return { variants, factors };
  }

  private factorWeights(value: unknown, keys: readonly string[]): Map<string, number> | undefined {
    if (!isRecord(value)) {
      this.error('weights', `expected a mapping of variant keys to weights, such as {${keys[0]}: 2}, got ${show(value)}`);
      return undefined;
    }
    const out = new Map<string, number>();
    let ok = true;
    for (const [key, w] of Object.entries(value)) {
      const path = keyPath('weights', key);
      if (!keys.includes(key)) {
        const near = closest(key, keys);
        this.error(path, `no variant ${quote(key)} in the cross product of the factors${near ? ` (did you mean ${near}?)` : ''}; variants are ${listOf(keys)}`);
        ok = false;
      } else if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) {
        this.error(path, `expected a positive weight, got ${show(w)}`);
        ok = false;
      } else out.set(key, w);
    }
    const missing = keys.filter((k) => !Object.hasOwn(value, k));
    if (ok && missing.length > 0) {
      this.error('weights', `give a weight to every variant, or leave weights out for equal weights; missing ${listOf(missing.map(quote))}`);
      ok = false;
    }
    return ok ? out : undefined;
  }

  // --- schedule, exposure, segments ----------------------------------------------------

  private schedule(raw: Raw): { startMs: number; stopMs: number | null } | undefined {
    const startMs = this.instant(raw, 'start', true);
    const stopMs = this.instant(raw, 'stop', false);
    if (startMs === undefined || startMs === null || stopMs === undefined) return undefined;
    if (stopMs !== null && stopMs <= startMs) {
      this.error('stop', `expected stop after start (${quote(String(raw.start))}), got ${quote(String(raw.stop))}`);
      return undefined;
    }
    return { startMs, stopMs };
  }

  /** Required: a number or error (undefined); optional: null when absent. */
  private instant(raw: Raw, key: string, required: boolean): number | null | undefined {
    if (!has(raw, key)) {
      if (!required) return null;
      this.error(key, 'required: expected an ISO-8601 date or instant (2026-10-01, 2026-10-01T09:00:00Z)');
      return undefined;
    }
    const value = raw[key];
    const ms = typeof value === 'string' ? parseInstantMs(value) : undefined;
    if (ms === undefined) {
      this.error(key, `expected an ISO-8601 date or instant (2026-10-01, 2026-10-01T09:00:00Z; UTC when no zone), got ${show(value)}`);
      return undefined;
    }
    return ms;
  }

  /** `exposure: event` reads `$exposure` events: the plan must declare them with string experiment and variant. */
  private exposurePlan(path: string): void {
    for (const problem of exposurePlanProblems(this.plan)) this.error(path || 'exposure', `${problem}; ${EXPOSURE_PLAN_FIX}`);
  }

  private segmentList(raw: Raw, key: 'targeting' | 'segments'): string[] | undefined {
    const list = this.stringList(raw, key, '', (s) => new RegExp(SEGMENT_KEY_PATTERN).test(s), 'a segment key');
    if (!list) return undefined;
    const known = this.context.segmentKeys;
    let ok = true;
    const seen = new Set<string>();
    list.forEach((s, i) => {
      const path = indexPath(key, i);
      if (seen.has(s)) {
        this.error(path, `segment ${quote(s)} is listed twice`);
        ok = false;
      }
      seen.add(s);
      if (!known.includes(s)) {
        const close = closeKeys(s, known);
        const hint =
          close.length > 0 ? `did you mean ${close.map(quote).join(', ')}?` : known.length === 0 ? 'no segments are stored yet: add it with strata segment add' : 'add it with strata segment add first';
        this.error(path, `no stored segment ${quote(s)}; ${hint}`);
        ok = false;
      }
    });
    return ok ? list : undefined;
  }

  // --- metrics -------------------------------------------------------------------------

  private metrics(raw: Raw): { primary: MetricDefinition; secondary: MetricDefinition[]; guardrails: GuardrailDefinition[] } | undefined {
    const definitions = this.definitions(raw.definitions);
    if (!has(raw, 'metrics')) {
      this.error('metrics', 'required: expected {primary: METRIC, secondary?: [METRIC...], guardrails?: [{metric: METRIC, max_degradation: 0.02}...]}');
      return undefined;
    }
    const m = raw.metrics;
    if (!isRecord(m)) {
      this.error('metrics', `expected {primary: METRIC, secondary?: [...], guardrails?: [...]}, got ${show(m)}`);
      return undefined;
    }
    this.unknownKeys(m, METRICS_KEYS, 'metrics');
    const used = new Map<string, string>();
    const use = (metric: MetricDefinition | undefined, path: string): MetricDefinition | undefined => {
      if (!metric) return undefined;
      const prior = used.get(metric.key);
      if (prior !== undefined) {
        this.error(path, `metric ${quote(metric.key)} is already used at ${prior}; each metric appears once among primary, secondary and guardrails`);
        return undefined;
      }
      used.set(metric.key, path);
      return metric;
    };
    let primary: MetricDefinition | undefined;
    if (!has(m, 'primary')) this.error('metrics.primary', 'required: expected a metric key from definitions, or an inline metric {key, type, ...}');
    else primary = use(this.metricRef(m.primary, 'metrics.primary', definitions), 'metrics.primary');

    const secondary: MetricDefinition[] = [];
    if (has(m, 'secondary')) {
      if (!Array.isArray(m.secondary)) this.error('metrics.secondary', `expected a list of metrics (keys from definitions, or inline metrics), got ${show(m.secondary)}`);
      else
        m.secondary.forEach((ref, i) => {
          const path = indexPath('metrics.secondary', i);
          const metric = use(this.metricRef(ref, path, definitions), path);
          if (metric) secondary.push(metric);
        });
    }

    const guardrails: GuardrailDefinition[] = [];
    if (has(m, 'guardrails')) {
      if (!Array.isArray(m.guardrails)) this.error('metrics.guardrails', `expected a list of guardrails [{metric: METRIC, max_degradation: 0.02}...], got ${show(m.guardrails)}`);
      else
        m.guardrails.forEach((g, i) => {
          const path = indexPath('metrics.guardrails', i);
          if (!isRecord(g)) {
            this.error(path, `expected a guardrail {metric: METRIC, max_degradation: 0.02}, got ${show(g)}`);
            return;
          }
          this.unknownKeys(g, GUARDRAIL_KEYS, path);
          let metric: MetricDefinition | undefined;
          if (!has(g, 'metric')) this.error(keyPath(path, 'metric'), 'required: expected a metric key from definitions, or an inline metric');
          else metric = use(this.metricRef(g.metric, keyPath(path, 'metric'), definitions), keyPath(path, 'metric'));
          let maxDegradation: number | undefined;
          if (!has(g, 'max_degradation')) this.error(keyPath(path, 'max_degradation'), 'required: expected the largest tolerated degradation as a fraction of the control mean in [0, 1), such as 0.02');
          else maxDegradation = this.number(g, 'max_degradation', path, 0, (n) => n >= 0 && n < 1, 'a fraction in [0, 1), such as 0.02 for 2% worse');
          if (metric && maxDegradation !== undefined) guardrails.push({ metric, maxDegradation });
        });
    }
    return primary ? { primary, secondary, guardrails } : undefined;
  }

  /** `definitions`: metric key to metric; an invalid entry maps to undefined (its errors are reported once, here). */
  private definitions(value: unknown): Map<string, MetricDefinition | undefined> {
    const out = new Map<string, MetricDefinition | undefined>();
    if (value === undefined) return out;
    if (!isRecord(value)) {
      this.error('definitions', `expected a mapping of metric keys to metrics, such as {activated: {type: conversion, event: E, within: 7d}}, got ${show(value)}`);
      return out;
    }
    for (const [key, def] of Object.entries(value)) {
      const path = keyPath('definitions', key);
      if (!new RegExp(METRIC_KEY_PATTERN).test(key)) {
        this.error(path, `expected a metric key: lower case letters, digits, - and _, at most 63 characters; got ${quote(key)}`);
        out.set(key, undefined);
        continue;
      }
      out.set(key, this.metric(def, path, key, false));
    }
    return out;
  }

  private metricRef(ref: unknown, path: string, definitions: Map<string, MetricDefinition | undefined>): MetricDefinition | undefined {
    if (typeof ref === 'string') {
      if (!definitions.has(ref)) {
        const near = closest(ref, definitions.keys());
        this.error(
          path,
          definitions.size === 0
            ? `no metric ${quote(ref)}: there are no definitions; define it under definitions, or write the metric inline`
            : `no metric ${quote(ref)} in definitions${near ? ` (did you mean ${near}?)` : ''}; defined: ${listOf([...definitions.keys()])}`,
        );
        return undefined;
      }
      return definitions.get(ref);
    }
    if (!isRecord(ref)) {
      this.error(path, `expected a metric key from definitions, or an inline metric {key, type, ...}, got ${show(ref)}`);
      return undefined;
    }
    const key = this.pattern(ref, 'key', path, METRIC_KEY_PATTERN, 'a metric key: lower case letters, digits, - and _, at most 63 characters');
    if (key !== undefined && definitions.has(key)) {
      this.error(keyPath(path, 'key'), `metric ${quote(key)} is also defined under definitions; use the key alone, or give the inline metric another key`);
      return undefined;
    }
    const metric = this.metric(ref, path, key ?? '', true);
    return key === undefined ? undefined : metric;
  }

  private metric(raw: unknown, path: string, key: string, inline: boolean): MetricDefinition | undefined {
    if (!isRecord(raw)) {
      this.error(path, `expected a metric {type: ${METRIC_TYPES.join('|')}, ...}, got ${show(raw)}`);
      return undefined;
    }
    const type = this.choice(raw, 'type', path, METRIC_TYPES, undefined);
    if (type === undefined) {
      if (!has(raw, 'type')) this.error(keyPath(path, 'type'), `required: expected one of ${METRIC_TYPES.join(', ')}`);
      this.unknownKeys(raw, [...new Set([...Object.values(METRIC_KEYS_BY_TYPE).flat(), ...(inline ? ['key'] : [])])], path);
      return undefined;
    }
    // A property where none belongs gets its own message from measure().
    const propertyChecked = type === 'conversion' || type === 'count' || type === 'retention';
    const keys = propertyChecked ? Object.fromEntries(Object.entries(raw).filter(([k]) => k !== 'property')) : raw;
    this.unknownKeys(keys, [...METRIC_KEYS_BY_TYPE[type], ...(inline ? ['key'] : [])], path, type);
    const name = this.text(raw, 'name', path, false) ?? key;
    const inverse = this.boolean(raw, 'inverse', path, false);
    const withinMs = type === 'retention' ? null : this.duration(raw, 'within', path);
    const covariateWindowMs = this.duration(raw, 'covariate', path);
    const base = { key, name, inverse: inverse ?? false, withinMs: withinMs ?? null, covariateWindowMs: covariateWindowMs ?? null };
    const failed = inverse === undefined || withinMs === undefined || covariateWindowMs === undefined;

    switch (type) {
      case 'conversion': {
        const measure = this.measure(raw, path, { anyEvent: false, property: 'forbidden', type });
        return measure && !failed ? { ...base, type, measure: { ...measure, property: null } } : undefined;
      }
      case 'count': {
        const measure = this.measure(raw, path, { anyEvent: true, property: 'forbidden', type });
        return measure && !failed ? { ...base, type, measure } : undefined;
      }
      case 'sum': {
        const measure = this.measure(raw, path, { anyEvent: false, property: 'required', type });
        return measure && !failed ? { ...base, type, measure } : undefined;
      }
      case 'mean': {
        const measure = this.measure(raw, path, { anyEvent: false, property: 'required', type });
        return measure && !failed ? { ...base, type, measure: { ...measure, property: measure.property! } } : undefined;
      }
      case 'retention': {
        const measure = this.measure(raw, path, { anyEvent: true, property: 'forbidden', type });
        let day: number | undefined;
        if (!has(raw, 'day')) this.error(keyPath(path, 'day'), 'required: expected the day after exposure, a whole number >= 0 (7: active in [exposure + 7d, exposure + 8d))');
        else day = this.number(raw, 'day', path, 0, (n) => Number.isInteger(n) && n >= 0 && n <= 36_500, 'a whole number of days >= 0');
        if (!measure || failed || day === undefined) return undefined;
        return { ...base, withinMs: (day + 1) * MS.d, type, measure: { ...measure, property: null }, day };
      }
      case 'ratio': {
        const numerator = this.side(raw, 'numerator', path);
        const denominator = this.side(raw, 'denominator', path);
        return numerator && denominator && !failed ? { ...base, type, numerator, denominator } : undefined;
      }
    }
  }

  /** A ratio's numerator or denominator: `{event, property?, where?}`, counted or summed per user. */
  private side(raw: Raw, key: 'numerator' | 'denominator', path: string): EventMeasure | undefined {
    const at = keyPath(path, key);
    if (!has(raw, key)) {
      this.error(at, 'required: expected {event: E, property?: NUMBER_PROPERTY, where?: [...]} (events counted, or the property summed, per user)');
      return undefined;
    }
    const value = raw[key];
    if (!isRecord(value)) {
      this.error(at, `expected {event: E, property?: NUMBER_PROPERTY, where?: [...]}, got ${show(value)}`);
      return undefined;
    }
    this.unknownKeys(value, MEASURE_KEYS, at);
    return this.measure(value, at, { anyEvent: !has(value, 'property'), property: 'optional', type: 'ratio' });
  }

  /**
   * The event, optional number property and `where` of a measure, checked by the segment
   * language's condition checker: `{did: E, where}` for counts, a `sum` aggregate for a
   * property (declared on the event, a number). The checker's key paths are renamed to ours.
   */
  private measure(raw: Raw, path: string, rule: { anyEvent: boolean; property: 'required' | 'forbidden' | 'optional'; type: MetricType }): EventMeasure | undefined {
    const eventPath = keyPath(path, 'event');
    if (!has(raw, 'event')) {
      this.error(eventPath, `required: expected an event name declared in the tracking plan${rule.anyEvent ? ', or "*" for any event' : ''}`);
      return undefined;
    }
    const event = raw.event;
    if (event === '*' && !rule.anyEvent) {
      this.error(eventPath, `a ${rule.type} metric needs one event, not "*" (any event is allowed for count and retention metrics and for counted ratio sides)`);
      return undefined;
    }
    const hasProperty = has(raw, 'property');
    if (rule.property === 'forbidden' && hasProperty) {
      this.error(keyPath(path, 'property'), `a ${rule.type} metric ${rule.type === 'conversion' ? 'counts users who did the event' : rule.type === 'count' ? 'counts events' : 'counts active users'}; remove property (type: sum totals a property per user)`);
      return undefined;
    }
    if (rule.property === 'required' && !hasProperty) {
      this.error(keyPath(path, 'property'), `required: a ${rule.type} metric needs a number property of the event`);
      return undefined;
    }
    const where = has(raw, 'where') ? { where: raw.where } : {};
    const checker = new ConditionChecker(this.plan);
    const rename: Record<string, string> = hasProperty ? { on: 'event', of: 'property' } : { did: 'event' };
    const checked = hasProperty ? checker.check({ aggregate: 'sum', of: raw.property, on: event, ...where, gte: 0 }, path) : checker.check({ did: event, ...where }, path);
    for (const e of checker.errors) this.error(renamePath(e.path ?? path, path, rename), e.message);
    if (!checked || checker.errors.length > 0) return undefined;
    return {
      event: event as string,
      where: (has(raw, 'where') ? raw.where : []) as WhereList,
      property: hasProperty ? (raw.property as string) : null,
    };
  }

  private prior(raw: Raw): { mean: number; variance: number } | undefined {
    if (!has(raw, 'prior')) return undefined;
    const p = raw.prior;
    if (!isRecord(p)) {
      this.error('prior', `expected a normal prior on the relative effect {mean: 0, variance: 0.09}, got ${show(p)}`);
      return undefined;
    }
    this.unknownKeys(p, ['mean', 'variance'], 'prior');
    const mean = this.number(p, 'mean', 'prior', 0, () => true, 'a finite number');
    if (!has(p, 'variance')) this.error('prior.variance', 'required: expected a positive variance, such as 0.09');
    const variance = has(p, 'variance') ? this.number(p, 'variance', 'prior', 0, (n) => n > 0, 'a positive variance') : undefined;
    return mean !== undefined && variance !== undefined ? { mean, variance } : undefined;
  }

  private bandit(raw: Raw, variants: number | undefined): { minWeight: number } | undefined {
    if (!has(raw, 'bandit')) return undefined;
    const b = raw.bandit;
    if (!isRecord(b)) {
      this.error('bandit', `expected {min_weight: 0.05}, got ${show(b)}`);
      return undefined;
    }
    this.unknownKeys(b, ['min_weight'], 'bandit');
    const max = variants === undefined ? 1 : 1 / variants;
    const minWeight = this.number(b, 'min_weight', 'bandit', 0, (n) => n >= 0 && n <= max, `a weight floor per arm in [0, ${variants === undefined ? '1/variants' : `1/${variants}`}]`);
    return minWeight === undefined ? undefined : { minWeight };
  }

  // --- scalar helpers --------------------------------------------------------------------

  private unknownKeys(raw: Raw, allowed: readonly string[], path: string, type?: string): void {
    for (const key of Object.keys(raw)) {
      if (allowed.includes(key)) continue;
      const suggestion = closest(key, allowed);
      this.error(keyPath(path, key), `unknown key${type ? ` for a ${type} metric` : ''}${suggestion ? ` (did you mean ${suggestion}?)` : ''}; expected one of ${allowed.join(', ')}`);
    }
  }

  private text(raw: Raw, key: string, base: string, required: boolean): string | undefined {
    if (!has(raw, key)) {
      if (required) this.error(keyPath(base, key), 'required: expected a non-empty text');
      return undefined;
    }
    const value = raw[key];
    if (typeof value !== 'string' || value.trim() === '') {
      this.error(keyPath(base, key), `expected a non-empty text, got ${show(value)}`);
      return undefined;
    }
    return value;
  }

  private pattern(raw: Raw, key: string, base: string, pattern: string, expected: string): string | undefined {
    const path = keyPath(base, key);
    if (!has(raw, key)) {
      this.error(path, `required: expected ${expected}`);
      return undefined;
    }
    const value = raw[key];
    if (typeof value !== 'string' || !new RegExp(pattern).test(value)) {
      this.error(path, `expected ${expected}, got ${show(value)}`);
      return undefined;
    }
    return value;
  }

  private stringList(raw: Raw, key: string, base: string, ok: (s: string) => boolean, expected: string): string[] | undefined {
    if (!has(raw, key)) return undefined;
    const value = raw[key];
    const path = keyPath(base, key);
    if (!Array.isArray(value)) {
      this.error(path, `expected a list of ${expected}s, got ${show(value)}`);
      return undefined;
    }
    let good = true;
    value.forEach((item, i) => {
      if (typeof item !== 'string' || !ok(item)) {
        this.error(indexPath(path, i), `expected ${expected}, got ${show(item)}`);
        good = false;
      }
    });
    return good ? (value as string[]) : undefined;
  }

  /** The value, the default when absent, undefined (with an error) when not a finite number passing `check`. */
  private number(raw: Raw, key: string, base: string, fallback: number, check: (n: number) => boolean, expected: string): number | undefined {
    if (!has(raw, key)) return fallback;
    const value = raw[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) {
      this.error(keyPath(base, key), `expected ${expected}, got ${show(value)}`);
      return undefined;
    }
    return value;
  }

  private boolean(raw: Raw, key: string, base: string, fallback: boolean): boolean | undefined {
    if (!has(raw, key)) return fallback;
    const value = raw[key];
    if (typeof value !== 'boolean') {
      this.error(keyPath(base, key), `expected true or false, got ${show(value)}`);
      return undefined;
    }
    return value;
  }

  private choice<T extends string>(raw: Raw, key: string, base: string, options: readonly T[], fallback: T | undefined): T | undefined {
    if (!has(raw, key)) return fallback;
    const value = raw[key];
    if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
      const near = typeof value === 'string' ? closest(value, options) : undefined;
      this.error(keyPath(base, key), `expected one of ${options.join(', ')}${near ? ` (did you mean ${near}?)` : ''}, got ${show(value)}`);
      return undefined;
    }
    return value as T;
  }

  /** null when absent; undefined (with an error) when not a positive duration within the cap. */
  private duration(raw: Raw, key: string, base: string): number | null | undefined {
    if (!has(raw, key)) return null;
    const value = raw[key];
    const ms = typeof value === 'string' ? parseDurationMs(value) : undefined;
    if (ms === undefined || ms === 0) {
      this.error(keyPath(base, key), `expected a positive duration: a whole number and a unit m, h, d or w (45m, 12h, 7d, 2w), got ${show(value)}`);
      return undefined;
    }
    if (ms > MAX_DURATION_MS) {
      this.error(keyPath(base, key), `expected a duration of at most 36500d (about 100 years), got ${show(value)}`);
      return undefined;
    }
    return ms;
  }
}

function has(raw: Raw, key: string): boolean {
  return Object.hasOwn(raw, key);
}

/** The checker's `path.did...` (or `on`, `of`) renamed to `path.event...` (`property`). */
function renamePath(at: string, base: string, rename: Readonly<Record<string, string>>): string {
  for (const [from, to] of Object.entries(rename)) {
    const old = keyPath(base, from);
    if (at === old || at.startsWith(`${old}.`) || at.startsWith(`${old}[`)) return keyPath(base, to) + at.slice(old.length);
  }
  return at;
}

function normalize<T extends { key: string; weight: number }>(items: readonly T[]): (T & VariantDefinition)[] {
  const total = items.reduce((s, v) => s + v.weight, 0);
  return items.map((v) => ({ ...v, weight: v.weight / total }));
}

/** Every combination of levels, the first factor varying slowest: [off.none, off.email, on.none, on.email]. */
function crossProduct(factors: readonly FactorDefinition[]): { key: string; levels: Record<string, string> }[] {
  let cells: { parts: string[]; levels: Record<string, string> }[] = [{ parts: [], levels: {} }];
  for (const f of factors) {
    cells = cells.flatMap((c) => f.levels.map((level) => ({ parts: [...c.parts, level], levels: { ...c.levels, [f.key]: level } })));
  }
  return cells.map((c) => ({ key: c.parts.join('.'), levels: c.levels }));
}

// ---------------------------------------------------------------------------------------
// Canonical text and hash

/** The top-level keys in the order of docs/experiments.md; nested mappings sorted, lists kept in order. */
const CANONICAL_ORDER = TOP_KEYS;

/**
 * The canonical JSON of a document: the same text for any key order or formatting (YAML
 * or JSON), so the registry stores a new version only when the meaning may have changed.
 * Top-level keys in document order, nested keys sorted (UTF-16), list order kept
 * (variants, levels and metrics are ordered). Factor order is meaningful (it orders the
 * variants), so `factors` keeps its key order.
 */
export function canonicalExperimentJson(document: unknown): string {
  const raw = withoutUndefined(document);
  if (!isRecord(raw)) return JSON.stringify(raw);
  const keys = Object.keys(raw).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, k === 'factors' && isRecord(raw[k]) ? keepOrder(raw[k]) : sorted(raw[k])])));
}

/** sha256 (hex) of canonicalExperimentJson: the registry's version identity. */
export function experimentDefinitionHash(document: unknown): string {
  return createHash('sha256').update(canonicalExperimentJson(document), 'utf8').digest('hex');
}

function rank(key: string): number {
  const i = CANONICAL_ORDER.indexOf(key);
  return i === -1 ? CANONICAL_ORDER.length : i;
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (!isRecord(value)) return value;
  const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(keys.map((k) => [k, sorted(value[k])]));
}

function keepOrder(value: Raw): Raw {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sorted(v)]));
}
