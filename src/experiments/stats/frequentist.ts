/**
 * Welch's t test on sufficient statistics. Degrees of freedom by Welch–Satterthwaite from the
 * per-user variances (Welch 1947, Biometrika 34; Satterthwaite 1946):
 *   df = (vA/nA + vB/nB)² / ((vA/nA)²/(nA-1) + (vB/nB)²/(nB-1))
 * used for the absolute and the relative effect alike (as gbstats does); t = effect / se;
 * Student-t CDF and quantiles from @stdlib. Sides: 'two' (H1: effect ≠ 0), 'greater'
 * (H1: effect > 0, interval [lo, null)), 'lesser' (H1: effect < 0, interval (null, hi]).
 */
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { StrataError } from '../../errors/errors.js';
import { effectOf, type Difference } from './effects.js';
import { isDegenerate, type Degenerate } from './result.js';
import { summarizeArm, type ArmStats, type ArmSummary } from './sufficient.js';

export type Sides = 'two' | 'greater' | 'lesser';

export interface TestOptions {
  readonly difference: Difference;
  /** Significance level in (0, 1); the interval has coverage 1 - alpha. */
  readonly alpha: number;
  readonly sides: Sides;
}

export interface WelchResult {
  readonly ok: true;
  readonly difference: Difference;
  readonly effect: number;
  readonly se: number;
  readonly t: number;
  readonly df: number;
  readonly pValue: number;
  /** [lo, hi]; null marks the open end of a one-sided interval. */
  readonly ci: readonly [number | null, number | null];
}

/** Welch–Satterthwaite degrees of freedom; at least one arm has a positive variance. */
export function welchDf(control: ArmSummary, treatment: ArmSummary): number {
  const a = control.variance / control.n;
  const b = treatment.variance / treatment.n;
  return (a + b) ** 2 / ((a * a) / (control.n - 1) + (b * b) / (treatment.n - 1));
}

function checkOptions(options: TestOptions): void {
  if (!(options.alpha > 0 && options.alpha < 1)) throw new StrataError('INPUT_INVALID', `alpha must be in (0, 1), got ${options.alpha}`);
  if (!['two', 'greater', 'lesser'].includes(options.sides)) throw new StrataError('INPUT_INVALID', `sides must be two, greater or lesser, got ${String(options.sides)}`);
  if (options.difference !== 'absolute' && options.difference !== 'relative') {
    throw new StrataError('INPUT_INVALID', `difference must be absolute or relative, got ${String(options.difference)}`);
  }
}

/** p-value of t with df degrees of freedom; tails by symmetry so small p-values keep their precision. */
export function tPValue(t: number, df: number, sides: Sides): number {
  if (sides === 'two') return Math.min(1, 2 * tCdf(-Math.abs(t), df));
  return sides === 'greater' ? tCdf(-t, df) : tCdf(t, df);
}

export function tInterval(effect: number, se: number, df: number, alpha: number, sides: Sides): readonly [number | null, number | null] {
  if (sides === 'two') {
    const half = tQuantile(1 - alpha / 2, df) * se;
    return [effect - half, effect + half];
  }
  const half = tQuantile(1 - alpha, df) * se;
  return sides === 'greater' ? [effect - half, null] : [null, effect + half];
}

/** Welch's test of treatment against control from already summarized arms. */
export function welchFromSummaries(control: ArmSummary, treatment: ArmSummary, options: TestOptions): WelchResult | Degenerate {
  checkOptions(options);
  const effect = effectOf(control, treatment, options.difference);
  if (isDegenerate(effect)) return effect;
  const df = welchDf(control, treatment);
  const t = effect.estimate / effect.se;
  return {
    ok: true,
    difference: options.difference,
    effect: effect.estimate,
    se: effect.se,
    t,
    df,
    pValue: tPValue(t, df, options.sides),
    ci: tInterval(effect.estimate, effect.se, df, options.alpha, options.sides),
  };
}

/** Welch's test of treatment B against control A from their sufficient statistics (same metric type). */
export function welchTest(control: ArmStats, treatment: ArmStats, options: TestOptions): WelchResult | Degenerate {
  if (control.type !== treatment.type) throw new StrataError('INPUT_INVALID', `control is a ${control.type} metric but treatment is a ${treatment.type} metric`);
  const a = summarizeArm(control, 'control');
  if (isDegenerate(a)) return a;
  const b = summarizeArm(treatment, 'treatment');
  if (isDegenerate(b)) return b;
  return welchFromSummaries(a, b, options);
}
