/**
 * Experiment definitions as the rest of Strata sees them, after parsing and validation
 * (`definition.ts` turns the YAML/JSON document into these; every field below is checked
 * there, with errors at the document path). The document form is described in
 * docs/experiments.md; this is the normalized form: defaults applied, durations in ms,
 * instants in epoch ms, factorial variants expanded.
 */
import type { Difference } from '../stats/effects.js';
import type { Sides } from '../stats/frequentist.js';

/** The analysis method named in a definition (and by `analyze --method`). */
export type AnalysisMethod = 'frequentist' | 'bayesian' | 'sequential';

/** Where exposures come from: `$exposure` events, or derived from assignment (offline analysis). */
export type ExposureSource = 'event' | 'assignment';

/** The hashing scheme; version 1 never changes meaning (docs/experiments.md, spec/hash.json). */
export type HashVersion = 1;

export interface VariantDefinition {
  /** ^[a-z0-9][a-z0-9_-]{0,62}$; factorial variants are the factor levels joined with '.'. */
  readonly key: string;
  /** Relative weight; weights are normalized to sum to 1 (`weight` below is normalized). */
  readonly weight: number;
  /** Factorial designs: the level of each factor for this variant, in factor order. */
  readonly levels?: Readonly<Record<string, string>>;
}

export interface FactorDefinition {
  readonly key: string;
  /** The first level is the factor's baseline. */
  readonly levels: readonly string[];
}

/** Property filters: the segment language's `where` list, kept as written (checked against the plan). */
export type WhereList = readonly Readonly<Record<string, unknown>>[];

/** What one side of a metric counts per user: events (count) or the sum of a number property. */
export interface EventMeasure {
  readonly event: string;
  readonly where: WhereList;
  /** Absent: count events; present: sum this number property (missing values ignored). */
  readonly property: string | null;
}

interface MetricBase {
  /** ^[a-z0-9][a-z0-9_-]{0,62}$, unique within the experiment. */
  readonly key: string;
  readonly name: string;
  /** Lower is better (errors, latency, churn). */
  readonly inverse: boolean;
  /**
   * Window after the user's first exposure, [exposure, exposure + within); null means
   * [exposure, asOf). Users whose window has not ended by asOf are left out of the metric
   * (counted as `immature`).
   */
  readonly withinMs: number | null;
  /** CUPED: the same measure over [exposure - covariateWindow, exposure); null turns CUPED off. */
  readonly covariateWindowMs: number | null;
}

/** Did the event happen (0/1 per user). */
export interface ConversionMetric extends MetricBase {
  readonly type: 'conversion';
  readonly measure: EventMeasure & { readonly property: null };
}

/** Events per user, or the sum of a property per user (`property` set): a mean metric over users. */
export interface CountOrSumMetric extends MetricBase {
  readonly type: 'count' | 'sum';
  readonly measure: EventMeasure;
}

/**
 * The mean of a property over events (sum over users of the property / sum of matching
 * events): a ratio metric whose denominator is the event count, analysed by the delta method.
 */
export interface PropertyMeanMetric extends MetricBase {
  readonly type: 'mean';
  readonly measure: EventMeasure & { readonly property: string };
}

/** Active (any event matching `measure`) on day N after exposure: [exposure + N days, exposure + N+1 days). */
export interface RetentionMetric extends MetricBase {
  readonly type: 'retention';
  readonly measure: EventMeasure & { readonly property: null };
  readonly day: number;
}

/** Sum over users of the numerator over sum of the denominator (delta method). */
export interface RatioMetric extends MetricBase {
  readonly type: 'ratio';
  readonly numerator: EventMeasure;
  readonly denominator: EventMeasure;
}

export type MetricDefinition = ConversionMetric | CountOrSumMetric | PropertyMeanMetric | RetentionMetric | RatioMetric;

export interface GuardrailDefinition {
  readonly metric: MetricDefinition;
  /**
   * The largest degradation tolerated, as a fraction of the control mean (0.02: 2% worse);
   * "worse" follows the metric's direction (`inverse`).
   */
  readonly maxDegradation: number;
}

export interface ExperimentDefinition {
  /** Same rule as segment keys. */
  readonly key: string;
  readonly name: string;
  readonly hypothesis: string;
  readonly owner: string | null;
  readonly tags: readonly string[];
  /** Segment keys a user must all be in (as of assignment) to enter; empty = everyone. */
  readonly targeting: readonly string[];
  /** Segments to break results down by by default (heterogeneous effects); may repeat targeting ones. */
  readonly segments: readonly string[];
  /** The first variant is the control. Weights normalized to sum to 1. */
  readonly variants: readonly VariantDefinition[];
  /** Present for factorial designs: variants are the cross product of the levels. */
  readonly factors: readonly FactorDefinition[] | null;
  /** Share of eligible users in the experiment, (0, 1]. */
  readonly coverage: number;
  /** Hash seed; defaults to the key. Changing it reshuffles everyone. */
  readonly seed: string;
  readonly hashVersion: HashVersion;
  readonly startMs: number;
  readonly stopMs: number | null;
  readonly exposure: ExposureSource;
  readonly primary: MetricDefinition;
  readonly secondary: readonly MetricDefinition[];
  readonly guardrails: readonly GuardrailDefinition[];
  /** Minimum detectable effect, relative (0.05 = 5%). */
  readonly mde: number;
  readonly alpha: number;
  readonly power: number;
  readonly method: AnalysisMethod;
  readonly sides: Sides;
  readonly difference: Difference;
  /** Sequential tuning N* (default 5000). */
  readonly sequentialTuning: number;
  /** Optional normal prior on the relative effect (Bayesian). */
  readonly prior: { readonly mean: number; readonly variance: number } | null;
  /** Bandit: Thompson sampling weights with this floor per arm; null for a fixed split. */
  readonly bandit: { readonly minWeight: number } | null;
}

/** A stored, versioned experiment (like segment versions: a new version only when the definition changes). */
export interface StoredExperiment {
  readonly definition: ExperimentDefinition;
  readonly version: number;
  readonly createdAtMs: number;
  readonly definitionHash: string;
}

/** Why a user is or is not in an experiment, and where the hash put them. */
export type AssignmentOutcome =
  | { readonly inExperiment: true; readonly variant: string; readonly coverageBucket: number; readonly variantBucket: number }
  | {
      readonly inExperiment: false;
      readonly reason: 'not-targeted' | 'outside-coverage' | 'not-started' | 'stopped';
      readonly coverageBucket: number;
      readonly variantBucket: number;
      /** The variant the user would get if covered (so raising coverage is predictable). */
      readonly wouldBe: string;
    };
