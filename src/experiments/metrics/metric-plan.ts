/**
 * What each metric of an experiment measures per user, as data the SQL is built from
 * (metric-sql.ts) and the tests' reference reads the same way (docs/experiments.md,
 * "Metrics and exposures"). Offsets are relative to the user's exposure instant x:
 *
 * | type       | per-user value y (and denominator d)                              | window          |
 * |------------|-------------------------------------------------------------------|-----------------|
 * | conversion | 1 if a matching event, else 0                                     | [x, x + within) |
 * | count      | matching events                                                   | [x, x + within) |
 * | sum        | Σ property over matching events (missing values ignored, 0 if none) | [x, x + within) |
 * | mean       | y = Σ property, d = matching events that have the property        | [x, x + within) |
 * | retention  | 1 if a matching event on day N, else 0                            | [x + N d, x + (N+1) d) |
 * | ratio      | y = numerator measure, d = denominator measure (count or Σ)        | [x, x + within) |
 *
 * No `within`: the window is [x, asOf). Every window also stops at asOf, and a user whose
 * window ends after asOf is immature (left out of that metric). The CUPED covariate is the
 * numerator's measure (0/1 for conversion and retention) over [x - covariate, x).
 *
 * Event references and `where` lists go through the segment language's ConditionChecker
 * (as a `did` condition), so a metric filters events exactly like a segment does.
 */
import { StrataError, type ErrorDetail } from '../../errors/errors.js';
import { propertyTypes, type TrackingPlan } from '../../schema/tracking-plan.js';
import type { EventFilter } from '../../segments/ir/nodes.js';
import { ConditionChecker } from '../../segments/language/condition-checker.js';
import type { EventMeasure, ExperimentDefinition, MetricDefinition } from '../design/types.js';

export const DAY_MS = 86_400_000;

/** One side of a metric: how many matching events, or the sum of a number property over them. */
export interface SidePlan {
  readonly filter: EventFilter;
  /** null: count events; else sum this property (missing values ignored). */
  readonly sum: string | null;
  /** Count only events where this property is present (the denominator of a `mean` metric). */
  readonly countPresent: string | null;
}

export type StatsKind = 'proportion' | 'mean' | 'ratio';

/** Contribution bounds for private releases: each user's value clamped into [lower, upper] before summing. */
export interface MetricClamp {
  readonly lower: number;
  readonly upper: number;
  /** The denominator's clamp (mean and ratio metrics). */
  readonly denominator?: { readonly lower: number; readonly upper: number };
}

export interface MetricPlan {
  readonly key: string;
  readonly definition: MetricDefinition;
  readonly stats: StatsKind;
  /** The numerator (or the only measure); binary: 1 when it is positive, else 0. */
  readonly numerator: SidePlan;
  readonly binary: boolean;
  readonly denominator: SidePlan | null;
  /** Window [x + fromMs, x + toMs) after the exposure instant x; toMs null: up to asOf (always mature). */
  readonly fromMs: number;
  readonly toMs: number | null;
  /** CUPED: the numerator's measure over [x - covariateMs, x). */
  readonly covariateMs: number | null;
  /** Clamp each user's value (and denominator) before the sums (`--private`); absent: exact sums. */
  readonly clamp?: MetricClamp;
}

/**
 * The metrics an analysis computes: `keys` in that order, or the primary, secondary and
 * guardrail metrics (deduplicated by key, first occurrence kept).
 */
export function selectMetrics(def: ExperimentDefinition, keys?: readonly string[]): MetricDefinition[] {
  const all = new Map<string, MetricDefinition>();
  for (const m of [def.primary, ...def.secondary, ...def.guardrails.map((g) => g.metric)]) if (!all.has(m.key)) all.set(m.key, m);
  if (keys === undefined) return [...all.values()];
  const unknown = keys.filter((k) => !all.has(k));
  if (unknown.length > 0) {
    throw new StrataError('INPUT_INVALID', `experiment ${def.key} has no metric ${unknown.join(', ')}`, [
      { path: 'metrics', message: `expected metric keys of the experiment: ${[...all.keys()].join(', ')}` },
    ]);
  }
  return [...new Set(keys)].map((k) => all.get(k)!);
}

/** Each metric's plan, its event references checked against the tracking plan. */
export function planMetrics(metrics: readonly MetricDefinition[], plan: TrackingPlan): MetricPlan[] {
  const checker = new ConditionChecker(plan);
  const errors: ErrorDetail[] = [];
  const side = (m: EventMeasure, path: string, countPresent = false): SidePlan => {
    const checked = checker.check(m.where.length === 0 ? { did: m.event } : { did: m.event, where: m.where }, path);
    for (const e of checker.errors.splice(0)) errors.push(e);
    const filter: EventFilter = checked?.kind === 'eventCount' ? checked.filter : { event: m.event === '*' ? null : m.event, where: [] };
    if (m.property !== null) checkNumberProperty(plan, m.property, `${path}.property`, errors);
    return countPresent ? { filter, sum: null, countPresent: m.property } : { filter, sum: m.property, countPresent: null };
  };
  const plans = metrics.map((m): MetricPlan => {
    const path = `metrics.${m.key}`;
    const window = { fromMs: 0, toMs: m.withinMs, covariateMs: m.covariateWindowMs };
    switch (m.type) {
      case 'conversion':
        return { key: m.key, definition: m, stats: 'proportion', numerator: side(m.measure, path), binary: true, denominator: null, ...window };
      case 'count':
      case 'sum':
        return { key: m.key, definition: m, stats: 'mean', numerator: side(m.measure, path), binary: false, denominator: null, ...window };
      case 'mean':
        return {
          key: m.key,
          definition: m,
          stats: 'ratio',
          numerator: side(m.measure, path),
          binary: false,
          denominator: side(m.measure, path, true),
          ...window,
        };
      case 'retention':
        return {
          key: m.key,
          definition: m,
          stats: 'proportion',
          numerator: side(m.measure, path),
          binary: true,
          denominator: null,
          fromMs: m.day * DAY_MS,
          toMs: (m.day + 1) * DAY_MS,
          covariateMs: m.covariateWindowMs,
        };
      case 'ratio':
        return {
          key: m.key,
          definition: m,
          stats: 'ratio',
          numerator: side(m.numerator, `${path}.numerator`),
          binary: false,
          denominator: side(m.denominator, `${path}.denominator`),
          ...window,
        };
    }
  });
  if (errors.length > 0) throw new StrataError('INPUT_INVALID', 'the experiment\'s metrics do not fit the tracking plan', errors);
  return plans;
}

function checkNumberProperty(plan: TrackingPlan, property: string, path: string, errors: ErrorDetail[]): void {
  const type = propertyTypes(plan).get(property);
  if (type === undefined) errors.push({ path, message: `no event of the tracking plan declares a property ${property}` });
  else if (type !== 'number') errors.push({ path, message: `property ${property} is a ${type}; a metric sums number properties` });
}
