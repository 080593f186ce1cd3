/**
 * The contract of `compareArms` (compare.ts): one treatment against the control for one
 * metric, by the chosen method, with CUPED when the arms carry a covariate and ratio
 * metrics by the delta method. `strata experiment stats` and `experiment analyze` both go
 * through it, so the same statistics give the same numbers everywhere.
 */
import type { AnalysisMethod } from '../design/types.js';
import type { NormalPrior } from './bayesian.js';
import type { Difference } from './effects.js';
import type { Sides } from './frequentist.js';
import type { Degenerate } from './result.js';

export interface CompareOptions {
  readonly method: AnalysisMethod;
  readonly difference: Difference;
  /** In (0, 1); intervals have coverage 1 - alpha. */
  readonly alpha: number;
  readonly sides: Sides;
  /** Sequential tuning N* (default 5000). */
  readonly sequentialTuning?: number;
  /** Bayesian prior on the relative effect; flat when absent. */
  readonly prior?: NormalPrior | null;
  /** Lower is better: chance to win and risk are taken on the negated effect. */
  readonly inverse?: boolean;
  /** Use the arms' covariates (CUPED) when both carry one; default true. */
  readonly cuped?: boolean;
}

export interface ArmEstimate {
  readonly n: number;
  /** The arm's mean (ratio: Σnum/Σden), unadjusted. */
  readonly mean: number;
  /** CUPED-adjusted mean when CUPED applied, else the mean. */
  readonly adjustedMean: number;
}

export interface Comparison {
  readonly ok: true;
  readonly method: AnalysisMethod;
  readonly difference: Difference;
  readonly sides: Sides;
  readonly control: ArmEstimate;
  readonly treatment: ArmEstimate;
  /** Absolute or relative (a fraction) effect, CUPED-adjusted when CUPED applied. */
  readonly effect: number;
  readonly se: number;
  /** [lo, hi]; null marks an open end (one-sided). Credible interval for Bayesian, confidence sequence for sequential. */
  readonly ci: readonly [number | null, number | null];
  /** Frequentist: Welch p-value; sequential: always-valid p-value; Bayesian: null. */
  readonly pValue: number | null;
  /** Bayesian: P(effect better than 0); otherwise null. */
  readonly chanceToWin: number | null;
  /** Bayesian: expected loss of keeping the control and of shipping the treatment; otherwise null. */
  readonly risk: { readonly control: number; readonly treatment: number } | null;
  /** Frequentist: Welch–Satterthwaite df; otherwise null. */
  readonly df: number | null;
  /** The CUPED coefficient when applied, with the variance reduction it achieved (1 - adjusted/unadjusted variance). */
  readonly cuped: { readonly theta: number; readonly varianceReduction: number } | null;
}

export type ComparisonResult = Comparison | Degenerate;
