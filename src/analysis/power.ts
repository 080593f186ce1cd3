/**
 * Sample sizes, power and minimum detectable effects for comparing two groups of equal
 * size (a 50/50 split) with a two-sided test at level alpha, by the normal approximation.
 * Pure functions; normal quantiles and the CDF come from @stdlib.
 *
 * Two proportions, baseline p1 and target p2, q = 1 - p, p̄ = (p1 + p2) / 2 (Fleiss, Levin
 * & Paik, "Statistical Methods for Rates and Proportions", 3rd ed., eq. 4.14 without the
 * continuity correction; R's power.prop.test solves the same equation):
 *
 *   n = (z_{1-α/2} √(2 p̄ q̄) + z_{1-β} √(p1 q1 + p2 q2))² / (p2 - p1)²   per group
 *
 * Two means with a common standard deviation σ and a difference δ (Chow, Shao & Wang,
 * "Sample Size Calculations in Clinical Research", two-sample parallel design, test for
 * equality, large-sample form):
 *
 *   n = 2 (z_{1-α/2} + z_{1-β})² σ² / δ²   per group
 *
 * The power of a given n inverts each equation (the far tail of the two-sided test, under
 * 1e-6 in practice, is left out, as both references do).
 */
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { StrataError } from '../errors/errors.js';

export interface TestSettings {
  /** Two-sided significance level, in (0, 1). */
  readonly alpha: number;
  /** The probability of detecting the effect when it is there (1 - β), in (0, 1). */
  readonly power: number;
}

export const PROPORTIONS_FORMULA = 'n = (z(1-a/2)*sqrt(2*pbar*(1-pbar)) + z(1-b)*sqrt(p1*(1-p1) + p2*(1-p2)))^2 / (p2 - p1)^2, pbar = (p1 + p2)/2';
export const MEANS_FORMULA = 'n = 2*(z(1-a/2) + z(1-b))^2 * sigma^2 / delta^2';

/** The standard normal quantile z_p. */
export function zQuantile(p: number): number {
  return normalQuantile(p, 0, 1);
}

function standardNormalCdf(x: number): number {
  return normalCdf(x, 0, 1);
}

/** Throws unless alpha and power are probabilities strictly between 0 and 1. */
export function checkTestSettings(settings: TestSettings): void {
  for (const [name, value] of [
    ['alpha', settings.alpha],
    ['power', settings.power],
  ] as const) {
    if (!(Number.isFinite(value) && value > 0 && value < 1)) {
      throw new StrataError('INPUT_INVALID', `${name} must be a probability strictly between 0 and 1, got ${value}`, [{ path: name, message: 'expected 0 < value < 1' }]);
    }
  }
}

function zAlpha(settings: TestSettings): number {
  return zQuantile(1 - settings.alpha / 2);
}

function zBeta(settings: TestSettings): number {
  return zQuantile(settings.power);
}

function isProbability(p: number): boolean {
  return Number.isFinite(p) && p >= 0 && p <= 1;
}

/**
 * Users needed per group to detect p1 versus p2 (not rounded; round up to plan).
 * Infinity when p1 = p2.
 * @example sampleSizeTwoProportions(0.5, 0.75, { alpha: 0.05, power: 0.9 }) // 76.7 (R: power.prop.test(p1 = .50, p2 = .75, power = .90))
 */
export function sampleSizeTwoProportions(p1: number, p2: number, settings: TestSettings): number {
  checkTestSettings(settings);
  if (!isProbability(p1) || !isProbability(p2)) throw new StrataError('INPUT_INVALID', `proportions must be in [0, 1], got ${p1} and ${p2}`);
  if (p1 === p2) return Infinity;
  const pbar = (p1 + p2) / 2;
  const root = zAlpha(settings) * Math.sqrt(2 * pbar * (1 - pbar)) + zBeta(settings) * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return (root * root) / ((p2 - p1) * (p2 - p1));
}

/** The power of the two-sided two-proportion test with n users per group. */
export function powerTwoProportions(p1: number, p2: number, nPerGroup: number, alpha: number): number {
  if (p1 === p2 || nPerGroup <= 0) return alpha / 2;
  const pbar = (p1 + p2) / 2;
  const spread = Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  const za = zQuantile(1 - alpha / 2);
  const x = (Math.abs(p2 - p1) * Math.sqrt(nPerGroup) - za * Math.sqrt(2 * pbar * (1 - pbar))) / spread;
  return standardNormalCdf(x);
}

/**
 * Users needed per group to detect a difference delta in means with standard deviation
 * sigma (not rounded). Infinity when delta = 0.
 * @example sampleSizeTwoMeans(1, 0.5, { alpha: 0.05, power: 0.8 }) // 62.79
 */
export function sampleSizeTwoMeans(sigma: number, delta: number, settings: TestSettings): number {
  checkTestSettings(settings);
  if (!(Number.isFinite(sigma) && sigma >= 0) || !Number.isFinite(delta)) throw new StrataError('INPUT_INVALID', `sigma must be >= 0 and delta finite, got ${sigma} and ${delta}`);
  if (delta === 0) return Infinity;
  const z = zAlpha(settings) + zBeta(settings);
  return (2 * z * z * sigma * sigma) / (delta * delta);
}

/** The power of the two-sided two-sample z-test for means with n users per group. */
export function powerTwoMeans(sigma: number, delta: number, nPerGroup: number, alpha: number): number {
  if (delta === 0 || nPerGroup <= 0) return alpha / 2;
  if (sigma === 0) return 1;
  return standardNormalCdf((Math.abs(delta) * Math.sqrt(nPerGroup / 2)) / sigma - zQuantile(1 - alpha / 2));
}

/** The smallest difference in means detectable with n users per group: (z_{1-α/2} + z_{1-β}) σ √(2/n). */
export function minimumDetectableMeanDifference(sigma: number, nPerGroup: number, settings: TestSettings): number {
  checkTestSettings(settings);
  if (nPerGroup <= 0) return Infinity;
  return (zAlpha(settings) + zBeta(settings)) * sigma * Math.sqrt(2 / nPerGroup);
}

/**
 * The target proportion closest to p1, in the given direction, that n users per group
 * detect with the requested power; null when not even 0 or 1 would be. Found by bisection
 * on the power, which grows with the distance from p1.
 */
export function minimumDetectableProportion(p1: number, nPerGroup: number, settings: TestSettings, direction: 'up' | 'down' = 'up'): number | null {
  checkTestSettings(settings);
  const far = direction === 'up' ? 1 : 0;
  if (nPerGroup <= 0 || p1 === far || powerTwoProportions(p1, far, nPerGroup, settings.alpha) < settings.power) return null;
  let near = p1;
  let out = far;
  for (let i = 0; i < 200 && Math.abs(out - near) > 1e-12; i++) {
    const mid = (near + out) / 2;
    if (powerTwoProportions(p1, mid, nPerGroup, settings.alpha) >= settings.power) out = mid;
    else near = mid;
  }
  return out;
}
