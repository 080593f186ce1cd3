/**
 * Sufficient statistics of one arm and the per-user mean and variance they imply, by the
 * conventions of issue 5 (the industry's; GrowthBook's gbstats uses the same):
 *   mean metric:  mean = sum / n,  variance = (sumSquares - sum² / n) / (n - 1)
 *   proportion:   p = sum / n (sum = conversions),  variance = p (1 - p)
 */
import { StrataError } from '../../errors/errors.js';
import { degenerate, type Degenerate } from './result.js';

export interface MeanStats {
  readonly type: 'mean';
  readonly n: number;
  readonly sum: number;
  readonly sumSquares: number;
  /** A pre-exposure covariate per user: present turns CUPED on. */
  readonly covariate?: CovariateSums;
}

export interface ProportionStats {
  readonly type: 'proportion';
  readonly n: number;
  /** The number of users who converted. */
  readonly sum: number;
  /** A pre-exposure covariate per user: present turns CUPED on. */
  readonly covariate?: CovariateSums;
}

/** Sums of one per-user quantity. */
export interface Sums {
  readonly sum: number;
  readonly sumSquares: number;
}

/**
 * A pre-exposure covariate X per user: Σx, Σx², and Σxy with the metric y (for a ratio
 * metric, y is the numerator and `sumProductsDenominator` is Σx·d with the denominator).
 */
export interface CovariateSums extends Sums {
  readonly sumProducts: number;
  readonly sumProductsDenominator?: number;
}

/**
 * A ratio metric: Σ numerator / Σ denominator over the arm's users (delta method);
 * `sumProducts` is Σ numerator·denominator per user.
 */
export interface RatioStats {
  readonly type: 'ratio';
  readonly n: number;
  readonly numerator: Sums;
  readonly denominator: Sums;
  readonly sumProducts: number;
  readonly covariate?: CovariateSums;
}

export type ArmStats = MeanStats | ProportionStats;

/** Every kind of per-arm statistics a metric can produce. */
export type MetricStats = ArmStats | RatioStats;

/** The per-user mean and variance of an arm with at least two users. */
export interface ArmSummary {
  readonly n: number;
  readonly mean: number;
  readonly variance: number;
}

/**
 * sumSquares - sum²/n cancels catastrophically when every value is equal; differences within
 * this relative distance of sumSquares are rounding, not spread, and count as zero. Larger
 * negative values mean the statistics cannot come from real data (Cauchy–Schwarz).
 */
const CANCELLATION = 1e-12;

function finite(value: number, what: string, arm: string): void {
  if (!Number.isFinite(value)) throw new StrataError('INPUT_INVALID', `${arm}: ${what} must be a finite number, got ${value}`);
}

function checkCount(n: number, arm: string): void {
  if (!Number.isInteger(n) || n < 0) throw new StrataError('INPUT_INVALID', `${arm}: n must be a non-negative integer, got ${n}`);
}

/** Validates the statistics (throws INPUT_INVALID for impossible ones) and summarizes them, or says why they cannot be. */
export function summarizeArm(stats: ArmStats, arm = 'arm'): ArmSummary | Degenerate {
  checkCount(stats.n, arm);
  finite(stats.sum, 'sum', arm);
  if (stats.type === 'proportion') {
    if (!Number.isInteger(stats.sum) || stats.sum < 0 || stats.sum > stats.n) {
      throw new StrataError('INPUT_INVALID', `${arm}: conversions (sum) must be an integer between 0 and n = ${stats.n}, got ${stats.sum}`);
    }
  } else {
    finite(stats.sumSquares, 'sumSquares', arm);
  }
  if (stats.n === 0) return degenerate('empty-arm', `${arm} has no users`);
  if (stats.n < 2) return degenerate('too-few-users', `${arm} has ${stats.n} user; a variance needs at least 2`);
  const mean = stats.sum / stats.n;
  if (stats.type === 'proportion') return { n: stats.n, mean, variance: mean * (1 - mean) };
  const spread = stats.sumSquares - (stats.sum * stats.sum) / stats.n;
  const slack = CANCELLATION * Math.abs(stats.sumSquares);
  if (spread < -slack) {
    throw new StrataError('INPUT_INVALID', `${arm}: sumSquares ${stats.sumSquares} is below sum²/n = ${(stats.sum * stats.sum) / stats.n}; no data has these statistics`);
  }
  return { n: stats.n, mean, variance: spread <= slack ? 0 : spread / (stats.n - 1) };
}

/** The sufficient statistics of raw per-user values (for tests and small inputs). */
export function meanStatsOf(values: readonly number[]): MeanStats {
  let sum = 0;
  let sumSquares = 0;
  for (const v of values) {
    sum += v;
    sumSquares += v * v;
  }
  return { type: 'mean', n: values.length, sum, sumSquares };
}
