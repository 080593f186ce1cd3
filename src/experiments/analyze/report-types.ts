/**
 * The report `analyzeExperiment` returns and `strata experiment analyze --json` prints.
 * Every number in it comes from the statistics in src/experiments/stats; a comparison the
 * data cannot support is a `Degenerate` (reason and message), never a number.
 */
import type { AnalysisMethod } from '../design/types.js';
import type { GroupKey } from '../metrics/types.js';
import type { Comparison, ComparisonResult } from '../stats/compare-types.js';
import type { Difference } from '../stats/effects.js';
import type { Sides } from '../stats/frequentist.js';
import type { Degenerate } from '../stats/result.js';
import type { BanditUpdate } from '../stats/bandit.js';
import type { FactorialAnalysis } from '../stats/factorial.js';
import type { HeterogeneityResult } from '../stats/heterogeneity.js';

/** How p-values are corrected for multiple comparisons (`--correction`). */
export type CorrectionName = 'holm' | 'bh' | 'none';

export type MetricRole = 'primary' | 'secondary' | 'guardrail';

/**
 * The families a correction runs over (docs/experiments.md, "Analysing"):
 * - `primary`: the primary metric, whole experiment, every treatment against control (the decision);
 * - `secondary`: every secondary metric, whole experiment, every treatment;
 * - `breakdown-primary` / `breakdown-secondary`: the same metrics in every breakdown group;
 * - `guardrail`: never corrected (a guardrail is a safety check, each read on its own).
 */
export type FamilyName = 'primary' | 'secondary' | 'breakdown-primary' | 'breakdown-secondary' | 'guardrail';

export interface AdjustedResult {
  readonly family: FamilyName;
  /** Hypotheses in the family that had a p-value (degenerate comparisons are left out). */
  readonly familySize: number;
  /** The corrected p-value (the raw one when the correction is none or the family has one member). */
  readonly pValue: number;
  /** The interval at the family's interval alpha (Bonferroni for Holm, Benjamini–Yekutieli for BH). */
  readonly ci: readonly [number | null, number | null];
  readonly intervalAlpha: number;
}

/** Which way the estimate points, in the metric's own sense of better (`inverse` flips it). */
export type Direction = 'better' | 'worse' | 'flat';

export interface ComparisonReport {
  readonly variant: string;
  /** compareArms at the definition's alpha, uncorrected; or why it could not be computed. */
  readonly result: ComparisonResult;
  /** null for degenerate comparisons and for Bayesian analyses (no p-values to correct). */
  readonly adjusted: AdjustedResult | null;
  /**
   * Frequentist/sequential: the correction procedure rejects the null at alpha in its family.
   * Bayesian: chance to win ≥ 1 - alpha/2 or ≤ alpha/2 two-sided (1 - alpha, alpha one-sided). Degenerate: false.
   */
  readonly significant: boolean;
  /** The sign of the estimate in the metric's sense of better; flat for degenerate ones and an estimate of exactly 0. */
  readonly direction: Direction;
}

export interface MetricGroupReport {
  readonly group: GroupKey;
  /** Users left out because their metric window had not ended by asOf. */
  readonly immature: number;
  /** Users per variant in this metric and group (definition order, control first). */
  readonly users: readonly { readonly variant: string; readonly n: number }[];
  readonly comparisons: readonly ComparisonReport[];
}

export interface MetricReport {
  readonly key: string;
  readonly name: string;
  /** A metric used in several roles is reported once, under its first role: primary, secondary, guardrail. */
  readonly role: MetricRole;
  readonly type: string;
  readonly inverse: boolean;
  readonly cupedWindowMs: number | null;
  /** The whole experiment first, then the breakdown groups in display order. */
  readonly groups: readonly MetricGroupReport[];
}

export type SrmReport = { readonly group: GroupKey; readonly users: readonly number[]; readonly weights: readonly number[] } & (
  | { readonly ok: true; readonly chiSquare: number; readonly df: number; readonly pValue: number; readonly flagged: boolean }
  | Degenerate
);

export type GuardrailStatus = 'pass' | 'at-risk' | 'fail' | 'unknown';

export interface GuardrailCheck {
  readonly metric: string;
  readonly variant: string;
  readonly maxDegradation: number;
  readonly status: GuardrailStatus;
  /**
   * The interval of the degradation (positive = worse, in the metric's direction), in the
   * units of the effect: relative, or absolute with the threshold scaled by the control mean.
   */
  readonly degradation: readonly [number | null, number | null] | null;
  /** The threshold in the same units as `degradation`. */
  readonly threshold: number | null;
  readonly message: string;
}

export interface PowerReached {
  readonly variant: string;
  /** The definition's MDE (relative) and the absolute difference it means at the control mean. */
  readonly mde: number;
  readonly delta: number | null;
  /** The alpha power is computed at (alpha / treatments under a correction). */
  readonly alpha: number;
  readonly target: number;
  /** Power (two-sided, fixed horizon, normal approximation) at the current users; null when it cannot be computed. */
  readonly power: number | null;
  readonly reached: boolean;
  /** Users still needed in the experiment as a whole (all arms, by the weights); 0 when reached. */
  readonly additionalUsers: number | null;
  /** Days to get them at the exposure rate seen so far; null when the rate is unknown. */
  readonly days: number | null;
  /** CUPED's variance reduction used, when the primary metric has a covariate. */
  readonly varianceReduction: number | null;
  readonly message: string;
}

export interface HeterogeneityReport {
  readonly metric: string;
  readonly variant: string;
  /** Groups whose comparison had an effect and a standard error. */
  readonly groups: readonly string[];
  readonly result: HeterogeneityResult | Degenerate;
  /** p < alpha: the effect differs between groups. */
  readonly differs: boolean;
}

export interface FactorialReport {
  readonly metric: string;
  readonly analysis: FactorialAnalysis | Degenerate;
}

export type Decision = 'ship' | 'do-not-ship' | 'keep-running' | 'inconclusive';

/** The verdict on one treatment, from which the decision follows (docs/experiments.md, "Decisions"). */
export type TreatmentVerdict = 'better' | 'better-but-guardrail-failed' | 'worse' | 'guardrail-failed' | 'flat-powered' | 'flat-underpowered' | 'no-data';

export interface Recommendation {
  readonly decision: Decision;
  /** The treatment to ship, when the decision is ship. */
  readonly variant: string | null;
  readonly verdicts: readonly { readonly variant: string; readonly verdict: TreatmentVerdict }[];
  /** Why, first reason first; the rule that decided is the first line. */
  readonly reasons: readonly string[];
  /** When inconclusive or keep-running: what would help. */
  readonly diagnostics: readonly string[];
}

export interface ExperimentReport {
  readonly experiment: string;
  readonly name: string;
  readonly hypothesis: string;
  readonly version: number;
  readonly asOf: string;
  readonly start: string;
  readonly stop: string | null;
  readonly method: AnalysisMethod;
  readonly difference: Difference;
  readonly sides: Sides;
  readonly alpha: number;
  readonly correction: CorrectionName;
  readonly breakdown: string | null;
  readonly groups: readonly string[];
  readonly control: string;
  readonly variants: readonly { readonly key: string; readonly weight: number }[];
  /** Users per variant, whole experiment. */
  readonly exposures: readonly { readonly variant: string; readonly users: number }[];
  readonly multipleExposures: number;
  readonly unknownVariants: Readonly<Record<string, number>>;
  /** Whole experiment first, then each breakdown group. */
  readonly srm: readonly SrmReport[];
  readonly metrics: readonly MetricReport[];
  readonly guardrails: readonly GuardrailCheck[];
  readonly power: readonly PowerReached[];
  readonly heterogeneity: readonly HeterogeneityReport[];
  /** Factorial designs: main effects and interactions per primary/secondary metric (stats/factorial.ts), else null. */
  readonly factorial: readonly FactorialReport[] | null;
  /** Bandits: Thompson sampling weights for the next period from the primary metric (stats/bandit.ts), else null. */
  readonly bandit: BanditUpdate | Degenerate | null;
  readonly recommendation: Recommendation;
}

export type { Comparison, ComparisonResult };
