/**
 * compareArms: one treatment against the control for one metric (contract: compare-types.ts).
 *
 * Each arm is first reduced to a per-user quantity y with mean, variance and (for CUPED) its
 * covariance with the pre-exposure covariate x:
 * - mean metric: y itself, v = (Σy² - (Σy)²/n)/(n - 1); proportion: v = p(1 - p) (issue 5).
 * - ratio metric, R = Σnum/Σden (delta method; Deng, Knoblich & Lu, KDD 2018): y is the
 *   linearization L = (num - R·den)/d̄ with d̄ = Σden/n, whose per-user variance is
 *   v = v_num/d̄² + v_den·n̄²/d̄⁴ - 2 c_num,den·n̄/d̄³ (n̄ = Σnum/n; gbstats' variance_of_ratios),
 *   all per-user (co)variances with n - 1 denominators. The arm's estimate is R, se² = v/n.
 * CUPED (Deng, Xu, Kohavi & Walker, WSDM 2013), when both arms carry a covariate and
 * options.cuped !== false; θ is treated as fixed, as gbstats does:
 * - θ for mean/proportion metrics pools the two arms' sums into one sample (GrowthBook gbstats
 *   `compute_theta`, models/statistics.py): with Σ over both arms and N = nA + nB,
 *   θ = (Σxy - Σx·Σy/N) / (Σx² - (Σx)²/N)   (= joint cov(y, x) / joint var(x)).
 *   For ratio metrics θ sums the arms' per-user moments of the linearization (gbstats
 *   `compute_theta_regression_adjusted_ratio`): θ = (c_A(L, x) + c_B(L, x)) / (v_A(x) + v_B(x)),
 *   c(L, x) = (c(num, x) - R·c(den, x))/d̄, using covariate.sumProductsDenominator = Σx·den.
 *   θ = 0 when the pooled covariate variance (or, mean metrics, the joint metric variance) is 0.
 * - adjusted mean of each arm: ȳ - θ(x̄ - x̄_pooled), x̄_pooled = (ΣxA + ΣxB)/(nA + nB) (the
 *   common shift keeps it in the metric's units; differences are gbstats' ȳ - θx̄ exactly);
 *   adjusted per-user variance v - 2θ c(y, x) + θ² v(x) (clamped at 0 against rounding).
 * Effects (treatment B against control A; m = unadjusted means, m' = adjusted, v' = adjusted):
 * - absolute m'B - m'A, variance vA'/nA + vB'/nB;
 * - relative (m'B - m'A)/|mA| — the UNADJUSTED control mean — with the delta-method variance
 *   vB'/(nB mA²) + vA' mB²/(nA mA⁴) on the unadjusted means (gbstats' frequentist_variance
 *   called with stat.variance and stat.unadjusted_mean). Without CUPED this is effects.ts.
 * Methods: frequentist Welch t with the Welch–Satterthwaite df computed from the (adjusted)
 * per-user variances (for ratios: the linearization's), as gbstats does; Bayesian
 * (bayesian.ts, prior scaled by the unadjusted |mA| for absolute effects); sequential
 * (sequential.ts, N = nA + nB). `cuped.varianceReduction` = 1 - (vA'/nA + vB'/nB)/(vA/nA + vB/nB).
 * Degenerate data (empty arm, n < 2, zero variance in both arms, zero control mean for a
 * relative effect, a ratio arm whose denominators sum to 0) returns Degenerate; impossible
 * input throws StrataError INPUT_INVALID.
 */
import { StrataError } from '../../errors/errors.js';
import type { AnalysisMethod } from '../design/types.js';
import { bayesianFromEffect } from './bayesian.js';
import type { ArmEstimate, CompareOptions, ComparisonResult } from './compare-types.js';
import { effectOf, type Effect } from './effects.js';
import { tInterval, tPValue, welchDf } from './frequentist.js';
import { degenerate, isDegenerate, type Degenerate } from './result.js';
import { sequentialFromEffect } from './sequential.js';
import { summarizeArm, type ArmSummary, type CovariateSums, type MetricStats, type RatioStats, type Sums } from './sufficient.js';

/** Rounding slack for sums-of-squares differences (as sufficient.ts). */
const CANCELLATION = 1e-12;

/** An arm reduced to one per-user quantity y (ratio: its linearization) plus the covariate moments CUPED needs. */
interface LinearArm {
  readonly n: number;
  /** The arm's estimate (ratio: Σnum/Σden). */
  readonly mean: number;
  /** Per-user variance of y. */
  readonly variance: number;
  readonly covariate: CovariateMoments | null;
}

interface CovariateMoments {
  readonly sums: CovariateSums;
  /** Per-user variance of x and covariance of y with x. */
  readonly variance: number;
  readonly covariance: number;
}

interface AdjustedArm {
  readonly n: number;
  readonly mean: number;
  readonly adjustedMean: number;
  readonly variance: number;
  readonly adjustedVariance: number;
}

const METHODS: readonly AnalysisMethod[] = ['frequentist', 'bayesian', 'sequential'];

function checkOptions(options: CompareOptions): void {
  if (!METHODS.includes(options.method)) throw new StrataError('INPUT_INVALID', `method must be frequentist, bayesian or sequential, got ${String(options.method)}`);
  if (options.difference !== 'absolute' && options.difference !== 'relative') {
    throw new StrataError('INPUT_INVALID', `difference must be absolute or relative, got ${String(options.difference)}`);
  }
  if (!(options.alpha > 0 && options.alpha < 1)) throw new StrataError('INPUT_INVALID', `alpha must be in (0, 1), got ${options.alpha}`);
  if (!['two', 'greater', 'lesser'].includes(options.sides)) throw new StrataError('INPUT_INVALID', `sides must be two, greater or lesser, got ${String(options.sides)}`);
}

function finite(value: number, what: string): void {
  if (!Number.isFinite(value)) throw new StrataError('INPUT_INVALID', `${what} must be a finite number, got ${value}`);
}

/** (Σa² - (Σa)²/n)/(n - 1), validated: below zero by more than rounding means no data has these sums. */
function sampleVariance(s: Sums, n: number, what: string): number {
  finite(s.sum, `${what}.sum`);
  finite(s.sumSquares, `${what}.sumSquares`);
  const spread = s.sumSquares - (s.sum * s.sum) / n;
  const slack = CANCELLATION * Math.abs(s.sumSquares);
  if (spread < -slack) throw new StrataError('INPUT_INVALID', `${what}: sumSquares ${s.sumSquares} is below sum²/n = ${(s.sum * s.sum) / n}; no data has these statistics`);
  return spread <= slack ? 0 : spread / (n - 1);
}

function sampleCovariance(sumProducts: number, sumA: number, sumB: number, n: number): number {
  return (sumProducts - (sumA * sumB) / n) / (n - 1);
}

function countOf(stats: MetricStats, arm: string): number {
  if (!Number.isInteger(stats.n) || stats.n < 0) throw new StrataError('INPUT_INVALID', `${arm}: n must be a non-negative integer, got ${stats.n}`);
  return stats.n;
}

function tooFew(n: number, arm: string): Degenerate | null {
  if (n === 0) return degenerate('empty-arm', `${arm} has no users`);
  if (n < 2) return degenerate('too-few-users', `${arm} has ${n} user; a variance needs at least 2`);
  return null;
}

/** Covariate moments of an arm: var(x) and cov(y, x) by the metric's own rule (ratio: of the linearization). */
function covariateMoments(cov: CovariateSums, n: number, covarianceWithY: (c: CovariateSums) => number, arm: string): CovariateMoments {
  finite(cov.sumProducts, `${arm}.covariate.sumProducts`);
  const variance = sampleVariance(cov, n, `${arm}.covariate`);
  return { sums: cov, variance, covariance: covarianceWithY(cov) };
}

function linearMeanArm(stats: Exclude<MetricStats, RatioStats>, arm: string): LinearArm | Degenerate {
  const summary = summarizeArm(stats, arm);
  if (isDegenerate(summary)) return summary;
  const covariate = stats.covariate
    ? covariateMoments(stats.covariate, stats.n, (c) => sampleCovariance(c.sumProducts, c.sum, stats.sum, stats.n), arm)
    : null;
  return { n: summary.n, mean: summary.mean, variance: summary.variance, covariate };
}

/** Ratio arm by the delta method: R = Σnum/Σden and the per-user variance of its linearization. */
function linearRatioArm(stats: RatioStats, arm: string): LinearArm | Degenerate {
  const n = countOf(stats, arm);
  finite(stats.numerator.sum, `${arm}.numerator.sum`);
  finite(stats.denominator.sum, `${arm}.denominator.sum`);
  finite(stats.sumProducts, `${arm}.sumProducts`);
  const few = tooFew(n, arm);
  if (few) return few;
  const vNum = sampleVariance(stats.numerator, n, `${arm}.numerator`);
  const vDen = sampleVariance(stats.denominator, n, `${arm}.denominator`);
  if (stats.denominator.sum === 0) return degenerate('zero-denominator', `${arm}: the denominators sum to 0, so the ratio is undefined`);
  const mNum = stats.numerator.sum / n;
  const mDen = stats.denominator.sum / n;
  const ratio = stats.numerator.sum / stats.denominator.sum;
  const cNumDen = sampleCovariance(stats.sumProducts, stats.numerator.sum, stats.denominator.sum, n);
  const raw = vNum / mDen ** 2 + (vDen * mNum * mNum) / mDen ** 4 - (2 * cNumDen * mNum) / mDen ** 3;
  if (!Number.isFinite(raw)) return degenerate('zero-denominator', `${arm}: the mean denominator ${mDen} is too close to zero for the delta method`);
  // Cancellation can leave a tiny negative number when num is proportional to den.
  const slack = CANCELLATION * (vNum / mDen ** 2 + (vDen * mNum * mNum) / mDen ** 4);
  const variance = raw <= slack ? 0 : raw;
  let covariate: CovariateMoments | null = null;
  if (stats.covariate) {
    const sumXDen = stats.covariate.sumProductsDenominator;
    if (sumXDen === undefined || !Number.isFinite(sumXDen)) {
      throw new StrataError('INPUT_INVALID', `${arm}.covariate: a ratio metric's covariate needs sumProductsDenominator (Σ x·denominator), got ${String(sumXDen)}`);
    }
    covariate = covariateMoments(
      stats.covariate,
      n,
      (c) => (sampleCovariance(c.sumProducts, c.sum, stats.numerator.sum, n) - ratio * sampleCovariance(sumXDen, c.sum, stats.denominator.sum, n)) / mDen,
      arm,
    );
  }
  return { n, mean: ratio, variance, covariate };
}

function linearArm(stats: MetricStats, arm: string): LinearArm | Degenerate {
  return stats.type === 'ratio' ? linearRatioArm(stats, arm) : linearMeanArm(stats, arm);
}

/** θ by gbstats' pooling (see the header). */
function cupedTheta(control: MetricStats, treatment: MetricStats, a: CovariateMoments, b: CovariateMoments): number {
  if (control.type === 'ratio') {
    const vx = a.variance + b.variance;
    return vx === 0 ? 0 : (a.covariance + b.covariance) / vx;
  }
  const t = treatment as Exclude<MetricStats, RatioStats>;
  const n = control.n + t.n;
  const sx = a.sums.sum + b.sums.sum;
  const sxx = a.sums.sumSquares + b.sums.sumSquares;
  const sxy = a.sums.sumProducts + b.sums.sumProducts;
  const sy = control.sum + t.sum;
  const syy = control.type === 'proportion' ? sy : control.sumSquares + (t as typeof control).sumSquares;
  const vx = sxx - (sx * sx) / n;
  const vy = syy - (sy * sy) / n;
  if (vx <= CANCELLATION * Math.abs(sxx) || vy <= CANCELLATION * Math.abs(syy)) return 0;
  return (sxy - (sx * sy) / n) / vx;
}

function adjustArm(arm: LinearArm, theta: number, pooledX: number): AdjustedArm {
  const cov = arm.covariate as CovariateMoments;
  const xMean = cov.sums.sum / arm.n;
  const raw = arm.variance - 2 * theta * cov.covariance + theta * theta * cov.variance;
  const slack = CANCELLATION * (arm.variance + theta * theta * cov.variance);
  return { n: arm.n, mean: arm.mean, adjustedMean: arm.mean - theta * (xMean - pooledX), variance: arm.variance, adjustedVariance: raw <= slack ? 0 : raw };
}

function unadjusted(arm: LinearArm): AdjustedArm {
  return { n: arm.n, mean: arm.mean, adjustedMean: arm.mean, variance: arm.variance, adjustedVariance: arm.variance };
}

/** The effect on (possibly adjusted) arms; relative effects divide by the unadjusted control mean. */
function effectOfAdjusted(a: AdjustedArm, b: AdjustedArm, difference: CompareOptions['difference']): Effect | Degenerate {
  const plain = effectOf({ n: a.n, mean: a.mean, variance: a.adjustedVariance }, { n: b.n, mean: b.mean, variance: b.adjustedVariance }, difference);
  if (isDegenerate(plain)) return plain;
  // effectOf's variance uses the unadjusted means already; only the estimate takes the adjusted means.
  const diff = b.adjustedMean - a.adjustedMean;
  const estimate = difference === 'absolute' ? diff : diff / Math.abs(a.mean);
  return { ...plain, estimate };
}

function estimate(arm: AdjustedArm): ArmEstimate {
  return { n: arm.n, mean: arm.mean, adjustedMean: arm.adjustedMean };
}

/** Control and treatment arms, CUPED-adjusted when both carry a covariate and CUPED is on. */
function prepareArms(control: MetricStats, treatment: MetricStats, options: CompareOptions): { a: AdjustedArm; b: AdjustedArm; theta: number | null } | Degenerate {
  const la = linearArm(control, 'control');
  if (isDegenerate(la)) return la;
  const lb = linearArm(treatment, 'treatment');
  if (isDegenerate(lb)) return lb;
  if (la.variance === 0 && lb.variance === 0) return degenerate('zero-variance', 'both arms have zero variance; there is no uncertainty to test against');
  if (options.cuped === false || !la.covariate || !lb.covariate) return { a: unadjusted(la), b: unadjusted(lb), theta: null };
  const theta = cupedTheta(control, treatment, la.covariate, lb.covariate);
  const pooledX = (la.covariate.sums.sum + lb.covariate.sums.sum) / (la.n + lb.n);
  return { a: adjustArm(la, theta, pooledX), b: adjustArm(lb, theta, pooledX), theta };
}

/** Compares one treatment against the control for one metric (compare-types.ts). */
export function compareArms(control: MetricStats, treatment: MetricStats, options: CompareOptions): ComparisonResult {
  checkOptions(options);
  if (control.type !== treatment.type) throw new StrataError('INPUT_INVALID', `control is a ${control.type} metric but treatment is a ${treatment.type} metric`);
  countOf(control, 'control');
  countOf(treatment, 'treatment');
  const arms = prepareArms(control, treatment, options);
  if (isDegenerate(arms)) return arms;
  const { a, b, theta } = arms;
  const effect = effectOfAdjusted(a, b, options.difference);
  if (isDegenerate(effect)) return effect;
  const cuped = theta === null ? null : { theta, varianceReduction: 1 - (a.adjustedVariance / a.n + b.adjustedVariance / b.n) / (a.variance / a.n + b.variance / b.n) };
  const common = { ok: true as const, method: options.method, difference: options.difference, sides: options.sides, control: estimate(a), treatment: estimate(b), effect: effect.estimate, se: effect.se, cuped };
  if (options.method === 'frequentist') {
    const df = welchDf({ n: a.n, mean: a.mean, variance: a.adjustedVariance }, { n: b.n, mean: b.mean, variance: b.adjustedVariance });
    return { ...common, ci: tInterval(effect.estimate, effect.se, df, options.alpha, options.sides), pValue: tPValue(effect.estimate / effect.se, df, options.sides), chanceToWin: null, risk: null, df };
  }
  if (options.method === 'bayesian') {
    const r = bayesianFromEffect(effect, a.mean, { difference: options.difference, alpha: options.alpha, sides: options.sides, inverse: options.inverse ?? false, ...(options.prior ? { prior: options.prior } : {}) });
    if (isDegenerate(r)) return r;
    return { ...common, effect: r.mean, se: r.sd, ci: r.ci, pValue: null, chanceToWin: r.chanceToWin, risk: r.risk, df: null };
  }
  const s = sequentialFromEffect(effect, a.n + b.n, { difference: options.difference, alpha: options.alpha, sides: options.sides, ...(options.sequentialTuning !== undefined ? { tuning: options.sequentialTuning } : {}) });
  return { ...common, ci: s.ci, pValue: s.pValue, chanceToWin: null, risk: null, df: null };
}

/**
 * The arm's estimate and per-user variance without CUPED (ratio: R = Σnum/Σden and the
 * variance of its linearization), so se² = variance/n; for bandits and factorial contrasts.
 */
export function metricSummary(stats: MetricStats, arm = 'arm'): ArmSummary | Degenerate {
  countOf(stats, arm);
  const l = linearArm(stats, arm);
  if (isDegenerate(l)) return l;
  return { n: l.n, mean: l.mean, variance: l.variance };
}
