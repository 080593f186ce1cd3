/**
 * The noise of one query of a release (issue 7): its scale from the query's sensitivity
 * and its share of the budget, its exact tail probabilities, and the partition-selection
 * threshold.
 *
 * Sensitivities (add/remove one user; each user in at most G = maxGroupsPerUser groups):
 * - counts, at most R = maxRowsPerUser per group: L1 Δ1 = G·R, L2 Δ2 = sqrt(G)·R;
 * - sums of per-user values clamped to [lower, upper], M = max(|lower|, |upper|): Δ1 = G·M,
 *   Δ2 = sqrt(G)·M, on the grid below.
 * Mechanisms, with the query's share ε_q = ε/n or ρ_q = ρ/n of an n-query release:
 * - discrete Laplace (the two-sided geometric mechanism, Ghosh, Roughgarden & Sundararajan
 *   2009) with scale b = Δ1/ε_q: ε_q-DP;
 * - discrete Gaussian with σ² = Δ2²/(2ρ_q): ρ_q-zCDP (Canonne, Kamath & Steinke 2020,
 *   Theorem 14).
 * Every scale is an exact rational; noise comes from discrete-noise.ts (integer
 * comparisons on node:crypto randomness, never a floating-point inverse CDF).
 *
 * Sums are real numbers, the noise is integer: a sum is released on a decimal grid of step
 * r = the largest power of ten not above M/1000. The exact sum S is rounded to the grid
 * (k = round(S/r)), the noise is added in grid units, and (k + Z)·r is released. A user
 * moves S by at most M per group, so k moves by at most K = ceil(M/r) (between 1000 and
 * 10000) grid units: the grid sensitivities are Δ1 = G·K, Δ2 = sqrt(G)·K. The noise in
 * real units is the same as without the grid to within 0.1%, and the rounding moves a sum
 * by at most r/2 ≤ M/2000.
 */
import { StrataError } from '../../errors/errors.js';
import { discreteLaplaceVariance, rationalOf, sampleDiscreteGaussian, sampleDiscreteLaplace, type Rational, type UniformSource } from './discrete-noise.js';
import { div, mul, ratio, toNumber, whole } from './rational.js';

export type NoiseSpec = { readonly kind: 'laplace'; readonly scale: Rational } | { readonly kind: 'gaussian'; readonly sigma2: Rational };

/** A sum's grid: step r = 10^exponent and the grid sensitivity per group K = ceil(M/r). */
export interface SumGrid {
  readonly exponent: number;
  readonly step: number;
  readonly unitsPerGroup: bigint;
}

export function sumGrid(lower: number, upper: number): SumGrid {
  const m = Math.max(Math.abs(lower), Math.abs(upper));
  if (!(m > 0 && Number.isFinite(m))) throw new StrataError('INPUT_INVALID', `a sum needs a clamp [lower, upper] with a non-zero finite bound, got [${lower}, ${upper}]`);
  let exponent = Math.floor(Math.log10(m / 1000));
  // log10 can be off by one at exact powers of ten; settle on the exact rule 10^e ≤ M/1000 < 10^(e+1).
  if (10 ** exponent > m / 1000) exponent--;
  if (10 ** (exponent + 1) <= m / 1000) exponent++;
  const exact = rationalOf(m, 'the clamp bound');
  const step: Rational = exponent >= 0 ? { p: 10n ** BigInt(exponent), q: 1n } : { p: 1n, q: 10n ** BigInt(-exponent) };
  const units = div(exact, step);
  const unitsPerGroup = (units.p + units.q - 1n) / units.q;
  return { exponent, step: 10 ** exponent, unitsPerGroup };
}

/** The grid value of a sum: round(S / r), halves up. */
export function toGrid(sum: number, grid: SumGrid): bigint {
  const scaled = grid.exponent >= 0 ? sum / 10 ** grid.exponent : sum * 10 ** -grid.exponent;
  return BigInt(Math.floor(scaled + 0.5));
}

/** k · r as a clean decimal (0.1·3 is 0.3, not 0.30000000000000004). */
export function fromGrid(k: bigint, grid: SumGrid): number {
  return grid.exponent >= 0 ? Number(k * 10n ** BigInt(grid.exponent)) : Number(`${k}e${grid.exponent}`);
}

/**
 * The noise for sensitivity units Δ per group, G groups per user, and the query's share of
 * the spend (`share`: ε_q or ρ_q as an exact rational).
 */
export function laplaceNoise(unitsPerGroup: bigint, groupsPerUser: number, epsilonShare: Rational): NoiseSpec {
  // b = Δ1/ε_q with Δ1 = G·units.
  return { kind: 'laplace', scale: div(whole(BigInt(groupsPerUser) * unitsPerGroup), epsilonShare) };
}

export function gaussianNoise(unitsPerGroup: bigint, groupsPerUser: number, rhoShare: Rational): NoiseSpec {
  // σ² = Δ2²/(2ρ_q) with Δ2² = G·units².
  return { kind: 'gaussian', sigma2: div(whole(BigInt(groupsPerUser) * unitsPerGroup * unitsPerGroup), mul(whole(2), rhoShare)) };
}

export function sampleNoise(spec: NoiseSpec, u?: UniformSource): bigint {
  return spec.kind === 'laplace' ? sampleDiscreteLaplace(spec.scale, u) : sampleDiscreteGaussian(spec.sigma2, u);
}

/**
 * The discrete Gaussian's weights exp(−k²/(2σ²)) for k = 0..K, far enough that the terms
 * left out are below e^-60 of the total, and its normalizer Σ over all of ℤ.
 */
function gaussianWeights(sigma2: number, smallestTail: number): { weights: Float64Array; total: number } {
  const reach = Math.ceil(Math.sqrt(2 * sigma2 * (Math.log(1 / smallestTail) + 60))) + 2;
  const weights = new Float64Array(reach + 1);
  let total = 0;
  for (let k = 0; k <= reach; k++) {
    weights[k] = Math.exp(-(k * k) / (2 * sigma2));
    total += k === 0 ? weights[k]! : 2 * weights[k]!;
  }
  return { weights, total };
}

/** The exact variance of the noise (the discrete distributions' own, not the continuous 2b² or σ²). */
export function noiseVariance(spec: NoiseSpec): number {
  if (spec.kind === 'laplace') return discreteLaplaceVariance(toNumber(spec.scale));
  const { weights, total } = gaussianWeights(toNumber(spec.sigma2), 1e-20);
  let second = 0;
  for (let k = 1; k < weights.length; k++) second += 2 * k * k * weights[k]!;
  return second / total;
}

/**
 * The smallest whole m ≥ 1 with P(Z ≥ m) ≤ p (double precision on the exact pmfs).
 * Discrete Laplace, r = e^{−1/b}: P(Z = k) = (1−r)/(1+r)·r^|k|, so P(Z ≥ m) = r^m/(1+r)
 * for m ≥ 1. Discrete Gaussian: the tail summed term by term over the normalized pmf.
 */
export function tailBound(spec: NoiseSpec, p: number): number {
  if (!(p > 0 && p < 1)) throw new StrataError('INPUT_INVALID', `a tail probability must be in (0, 1), got ${p}`);
  if (spec.kind === 'laplace') {
    const b = toNumber(spec.scale);
    const logTail = (m: number) => -m / b - Math.log1p(Math.exp(-1 / b));
    let m = Math.max(1, Math.ceil(b * (Math.log(1 / p) - Math.log1p(Math.exp(-1 / b)))));
    while (logTail(m) > Math.log(p)) m++;
    while (m > 1 && logTail(m - 1) <= Math.log(p)) m--;
    return m;
  }
  const { weights, total } = gaussianWeights(toNumber(spec.sigma2), p);
  // Walk down from the far end while the tail stays within p.
  let tail = 0;
  let m = weights.length;
  while (m > 1 && (tail + weights[m - 1]!) / total <= p) tail += weights[--m]!;
  return m;
}

/** The half-width w of the noise's central 95% interval: the smallest w with P(|Z| > w) ≤ 0.05. */
export function ci95HalfWidth(spec: NoiseSpec): number {
  return tailBound(spec, 0.025) - 1;
}

/**
 * Partition selection (keys from the data): a group is released only if its noisy count is
 * at least τ. A group holding one user has a true count of at most R (maxRowsPerUser), and
 * that user is in at most G groups, so with τ = R + m, m the smallest with
 * P(Z ≥ m) ≤ δ/G, any of that user's lone groups shows with probability at most δ (union
 * bound): the selection is (ε, δ)-DP on top of the count's own guarantee. This is the
 * "Laplace thresholding" of Korolova, Kenthapadi, Mishra & Ntoulas, "Releasing Search
 * Queries and Clicks Privately" (WWW 2009), and Wilson et al., "Differentially Private SQL
 * with Bounded User Contribution" (PoPETs 2020), as in Google's differential-privacy
 * library's partition selection; with the discrete Gaussian the same bound holds for its
 * exact tail.
 */
export function selectionThreshold(spec: NoiseSpec, maxRowsPerUser: number, maxGroupsPerUser: number, delta: number): number {
  return maxRowsPerUser + tailBound(spec, delta / maxGroupsPerUser);
}

/** A spend's exact share for one of n queries. */
export function shareOf(total: number, queries: number, what: string): Rational {
  const r = rationalOf(total, what);
  return ratio(r.p, r.q * BigInt(queries));
}
