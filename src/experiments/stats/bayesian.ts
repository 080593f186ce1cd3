/**
 * Bayesian analysis of an effect (issue 5; the form GrowthBook's gbstats uses):
 * likelihood N(effect, se²) with the effect and se of effects.ts; optional normal prior
 * N(m₀, v₀) on the RELATIVE effect (improper flat prior by default). For an absolute effect
 * the prior is rescaled to the metric's units, N(m₀|mA|, v₀mA²), since relative = absolute/|mA|.
 * A proper prior combines by precision weighting:
 *   posterior variance s² = 1/(1/se² + 1/v₀),  mean μ = s² (effect/se² + m₀/v₀)
 * (flat prior: μ = effect, s = se). With X ~ N(μ, s²) the effect, "better" is X > 0, or X < 0
 * for an inverse metric (lower is better; X is negated throughout):
 *   chance to win = P(X > 0) = Φ(μ/s);  credible interval μ ± z₁₋α/₂ s (two-sided);
 *   one-sided (alpha not halved, the open end null): 'greater' [μ - z₁₋α s, null],
 *   'lesser' [null, μ + z₁₋α s] (the effect's sign, not the metric's direction, picks the side);
 *   risk of keeping control = E[max(X, 0)] = μ Φ(μ/s) + s φ(μ/s)   (what is given up if B is better)
 *   risk of shipping B     = E[max(-X, 0)] = -μ Φ(-μ/s) + s φ(μ/s)
 * in the effect's units (relative effects: fractions of |mA|).
 */
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { StrataError } from '../../errors/errors.js';
import { effectOf, type Difference, type Effect } from './effects.js';
import type { Sides } from './frequentist.js';
import { degenerate, isDegenerate, type Degenerate } from './result.js';
import { summarizeArm, type ArmStats } from './sufficient.js';

export interface NormalPrior {
  /** Prior mean of the relative effect (a fraction). */
  readonly mean: number;
  /** Prior variance of the relative effect, > 0. */
  readonly variance: number;
}

export interface BayesianOptions {
  readonly difference: Difference;
  /** The credible interval has probability 1 - alpha. */
  readonly alpha: number;
  readonly prior?: NormalPrior;
  /** Lower is better (e.g. latency): chance to win is P(effect < 0) and the risks swap. */
  readonly inverse?: boolean;
  /** Credible interval: two-sided (default) or one-sided with the open end null. */
  readonly sides?: Sides;
}

export interface BayesianResult {
  readonly ok: true;
  readonly difference: Difference;
  /** Posterior mean and standard deviation of the effect. */
  readonly mean: number;
  readonly sd: number;
  readonly chanceToWin: number;
  /** [lo, hi]; null marks the open end of a one-sided interval. */
  readonly ci: readonly [number | null, number | null];
  /** Expected loss of keeping control and of shipping the treatment, in the effect's units. */
  readonly risk: { readonly control: number; readonly treatment: number };
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

function phi(x: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** E[max(X, 0)] for X ~ N(mu, s²), s > 0: mu Φ(mu/s) + s φ(mu/s). */
export function expectedPositivePart(mu: number, s: number): number {
  const z = mu / s;
  return Math.max(0, mu * normalCdf(z, 0, 1) + s * phi(z));
}

/** Normal credible interval of N(mean, sd²); one-sided intervals put all of alpha in one tail. */
export function credibleInterval(mean: number, sd: number, alpha: number, sides: Sides): readonly [number | null, number | null] {
  if (sides === 'two') {
    const half = normalQuantile(1 - alpha / 2, 0, 1) * sd;
    return [mean - half, mean + half];
  }
  const half = normalQuantile(1 - alpha, 0, 1) * sd;
  return sides === 'greater' ? [mean - half, null] : [null, mean + half];
}

function checkOptions(options: BayesianOptions): void {
  if (!(options.alpha > 0 && options.alpha < 1)) throw new StrataError('INPUT_INVALID', `alpha must be in (0, 1), got ${options.alpha}`);
  const prior = options.prior;
  if (prior && !(Number.isFinite(prior.mean) && Number.isFinite(prior.variance) && prior.variance > 0)) {
    throw new StrataError('INPUT_INVALID', `prior must have a finite mean and a positive finite variance, got mean ${prior.mean}, variance ${prior.variance}`);
  }
  if (options.sides !== undefined && !['two', 'greater', 'lesser'].includes(options.sides)) {
    throw new StrataError('INPUT_INVALID', `sides must be two, greater or lesser, got ${String(options.sides)}`);
  }
}

/** Posterior of an effect already estimated by effectOf; controlMean rescales a relative prior for absolute effects. */
export function bayesianFromEffect(effect: Effect, controlMean: number, options: BayesianOptions): BayesianResult | Degenerate {
  checkOptions(options);
  let mean = effect.estimate;
  let variance = effect.variance;
  if (options.prior) {
    const scale = effect.difference === 'absolute' ? Math.abs(controlMean) : 1;
    if (scale === 0) return degenerate('zero-control-mean', 'the control mean is zero, so a prior on the relative effect says nothing about the absolute one (drop the prior or use the relative difference)');
    const priorMean = options.prior.mean * scale;
    const priorVariance = options.prior.variance * scale * scale;
    const precision = 1 / variance + 1 / priorVariance;
    mean = (effect.estimate / variance + priorMean / priorVariance) / precision;
    variance = 1 / precision;
  }
  const sd = Math.sqrt(variance);
  const better = options.inverse ? -mean : mean;
  return {
    ok: true,
    difference: effect.difference,
    mean,
    sd,
    chanceToWin: normalCdf(better / sd, 0, 1),
    ci: credibleInterval(mean, sd, options.alpha, options.sides ?? 'two'),
    risk: { control: expectedPositivePart(better, sd), treatment: expectedPositivePart(-better, sd) },
  };
}

/** Bayesian comparison of treatment B against control A from their sufficient statistics. */
export function bayesianTest(control: ArmStats, treatment: ArmStats, options: BayesianOptions): BayesianResult | Degenerate {
  if (control.type !== treatment.type) throw new StrataError('INPUT_INVALID', `control is a ${control.type} metric but treatment is a ${treatment.type} metric`);
  checkOptions(options);
  const a = summarizeArm(control, 'control');
  if (isDegenerate(a)) return a;
  const b = summarizeArm(treatment, 'treatment');
  if (isDegenerate(b)) return b;
  const effect = effectOf(a, b, options.difference);
  if (isDegenerate(effect)) return effect;
  return bayesianFromEffect(effect, a.mean, options);
}
