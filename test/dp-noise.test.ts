/**
 * Discrete DP noise (src/privacy/dp/discrete-noise.ts), tested as the reference DP libraries
 * test their samplers (OpenDP, Google's differential-privacy): the empirical mean and variance
 * within stated tolerances of the exact values, and a chi-square goodness of fit against the
 * exact probability mass function. Oracles: the closed-form pmf and variance of the discrete
 * Laplace (two-sided geometric), the pmf of the discrete Gaussian normalized numerically
 * (Canonne, Kamath & Steinke 2020, eq. 1), and the chi-square survival function as
 * @stdlib's regularized upper incomplete gamma. Samples come from node:crypto (the
 * production source); tolerances are 6 standard errors and the fit's p-value floor 1e-6, so
 * a correct sampler fails a run with probability below about 1e-5.
 */
import gammainc from '@stdlib/math-base-special-gammainc';
import { describe, expect, it } from 'vitest';
import { bernoulliExpMinus, discreteLaplaceVariance, rationalOf, sampleDiscreteGaussian, sampleDiscreteLaplace } from '../src/privacy/dp/discrete-noise.js';

const N = 100_000;

function moments(xs: readonly number[]): { mean: number; variance: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, variance };
}

/** Pearson chi-square p-value of observed counts against a pmf over [-k, k] (tails pooled into the end bins). */
function goodnessOfFit(xs: readonly number[], pmf: (x: number) => number, k: number): number {
  const observed = new Map<number, number>();
  for (const x of xs) {
    const bin = Math.max(-k, Math.min(k, x));
    observed.set(bin, (observed.get(bin) ?? 0) + 1);
  }
  let tail = 0;
  for (let x = k + 1; x < k + 10_000; x++) tail += pmf(x);
  let chi = 0;
  for (let x = -k; x <= k; x++) {
    const p = Math.abs(x) === k ? pmf(x) + tail : pmf(x);
    const e = p * xs.length;
    chi += ((observed.get(x) ?? 0) - e) ** 2 / e;
  }
  const df = 2 * k;
  return gammainc(chi / 2, df / 2, true, true);
}

describe('Bernoulli(exp(-γ)) by integer comparisons (CKS20 Algorithm 1)', () => {
  it('hits exp(-γ) within 6 standard errors for γ = 0, 1/3, 1, 2.5', () => {
    for (const [p, q] of [[0n, 1n], [1n, 3n], [1n, 1n], [5n, 2n]] as const) {
      let hits = 0;
      for (let i = 0; i < N; i++) if (bernoulliExpMinus(p, q)) hits++;
      const want = Math.exp(-Number(p) / Number(q));
      expect(Math.abs(hits / N - want)).toBeLessThanOrEqual(6 * Math.sqrt((want * (1 - want)) / N) + 1e-12);
    }
  });
});

describe('the discrete Laplace (two-sided geometric) sampler', () => {
  it('takes decimal parameters exactly', () => {
    expect(rationalOf(0.1)).toEqual({ p: 1n, q: 10n });
    expect(rationalOf(2.5)).toEqual({ p: 5n, q: 2n });
    expect(rationalOf(1e-7)).toEqual({ p: 1n, q: 10_000_000n });
    expect(() => rationalOf(0, 'epsilon')).toThrow(/epsilon must be a positive finite number/);
  });

  it.each([1, 2.5, 10])('scale %s: mean 0, variance 2e^{-1/b}/(1-e^{-1/b})^2 (about 2b^2), pmf by chi-square', (b) => {
    const xs = Array.from({ length: N }, () => Number(sampleDiscreteLaplace(rationalOf(b))));
    const { mean, variance } = moments(xs);
    const v = discreteLaplaceVariance(b);
    expect(Math.abs(mean)).toBeLessThanOrEqual(6 * Math.sqrt(v / N));
    // The sample variance's standard error: σ²·sqrt((κ − 1)/N), κ ≤ 6 (the continuous Laplace's kurtosis) bounds it.
    expect(Math.abs(variance - v)).toBeLessThanOrEqual(6 * v * Math.sqrt(5 / N));
    if (b === 10) expect(v).toBeCloseTo(2 * b * b - 1 / 6, 1);
    const r = Math.exp(-1 / b);
    const pmf = (x: number) => ((1 - r) / (1 + r)) * r ** Math.abs(x);
    expect(goodnessOfFit(xs, pmf, Math.ceil(4 * b))).toBeGreaterThan(1e-6);
  });
});

describe('the discrete Gaussian sampler (CKS20 Algorithm 3)', () => {
  it.each([1, 4, 30.25])('σ² = %s: mean 0, variance σ² (the exact discrete variance), pmf by chi-square', (s2) => {
    const xs = Array.from({ length: N }, () => Number(sampleDiscreteGaussian(rationalOf(s2))));
    const { mean, variance } = moments(xs);
    const span = Math.ceil(12 * Math.sqrt(s2)) + 5;
    let z = 0;
    let second = 0;
    for (let x = -span; x <= span; x++) {
      const w = Math.exp(-(x * x) / (2 * s2));
      z += w;
      second += x * x * w;
    }
    const v = second / z;
    expect(Math.abs(mean)).toBeLessThanOrEqual(6 * Math.sqrt(v / N));
    // Gaussian kurtosis 3: the sample variance's standard error is about σ²·sqrt(2/N).
    expect(Math.abs(variance - v)).toBeLessThanOrEqual(6 * v * Math.sqrt(2 / N));
    expect(goodnessOfFit(xs, (x) => Math.exp(-(x * x) / (2 * s2)) / z, Math.ceil(3 * Math.sqrt(s2)))).toBeGreaterThan(1e-6);
  });
});
