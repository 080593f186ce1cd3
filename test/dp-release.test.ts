/**
 * Differentially private releases (src/privacy/dp/release.ts, mechanisms.ts), tested as the
 * reference DP libraries test theirs (Google's differential-privacy statistical tests,
 * OpenDP): one release with many groups of a known exact value gives many independent
 * draws of the released noise (released − exact), whose empirical mean and variance must
 * lie within 6 standard errors of the exact values and whose histogram must fit the exact
 * pmf (Pearson chi-square, p-value floor 1e-6). A correct mechanism fails one check with
 * probability below about 1e-8.
 *
 * Oracles: the closed-form discrete Laplace pmf (1−r)/(1+r)·r^|k|, r = e^{−1/b}, and its
 * exact variance 2r/(1−r)² (the continuous Laplace's 2b² minus about 1/6 for large b);
 * the discrete Gaussian pmf e^{−k²/2σ²} normalized by direct summation in this file; the
 * scales b = Δ1/ε_q and σ² = Δ2²/(2ρ_q) computed by hand in each test; the chi-square
 * survival function as @stdlib's regularized upper incomplete gamma.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import gammainc from '@stdlib/math-base-special-gammainc';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readAuditLog } from '../src/governance/audit-log.js';
import { readLedger } from '../src/privacy/dp/ledger.js';
import { ci95HalfWidth, noiseVariance, tailBound } from '../src/privacy/dp/mechanisms.js';
import { releasePrivately } from '../src/privacy/dp/release.js';
import type { CountQuery, DpSpend, NoisyQuery, ReleaseRequest, SumQuery } from '../src/privacy/dp/release-types.js';
import { DEFAULT_PRIVACY_CONFIG, type PrivacyConfig } from '../src/privacy/privacy-config.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import type { EventStore } from '../src/store/event-store.js';

/** A budget large enough for every release in a test. */
const ROOMY: PrivacyConfig = { ...DEFAULT_PRIVACY_CONFIG, budget: { epsilon: 1e9, rho: 1e9, delta: 1e-6 } };

let store: EventStore;
beforeEach(async () => {
  store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  await store.migrate();
});
afterEach(async () => {
  await store.close();
});

function moments(xs: readonly number[]): { mean: number; variance: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, variance };
}

function chiSquarePValue(chi: number, df: number): number {
  return gammainc(chi / 2, df / 2, true, true);
}

/** Pearson chi-square p-value of integer samples against a pmf over [-k, k], tails pooled into the end bins. */
function pmfFit(xs: readonly number[], pmf: (x: number) => number, k: number): number {
  const observed = new Map<number, number>();
  for (const x of xs) {
    const bin = Math.max(-k, Math.min(k, x));
    observed.set(bin, (observed.get(bin) ?? 0) + 1);
  }
  let tail = 0;
  for (let x = k + 1; x < k + 20_000; x++) tail += pmf(x);
  let chi = 0;
  for (let x = -k; x <= k; x++) {
    const e = (Math.abs(x) === k ? pmf(x) + tail : pmf(x)) * xs.length;
    chi += ((observed.get(x) ?? 0) - e) ** 2 / e;
  }
  return chiSquarePValue(chi, 2 * k);
}

/** Chi-square p-value of integer samples against a cdf, binned at the given integer edges (bins (e_i, e_{i+1}]). */
function binnedFit(xs: readonly number[], cdf: (x: number) => number, edges: readonly number[]): number {
  const bounds = [-Infinity, ...edges, Infinity];
  const counts = new Array<number>(bounds.length - 1).fill(0);
  for (const x of xs) counts[bounds.findIndex((b, i) => x > b && x <= bounds[i + 1]!)]!++;
  let chi = 0;
  for (let i = 0; i < counts.length; i++) {
    const lo = bounds[i]! === -Infinity ? 0 : cdf(bounds[i]!);
    const hi = bounds[i + 1]! === Infinity ? 1 : cdf(bounds[i + 1]!);
    const e = (hi - lo) * xs.length;
    chi += (counts[i]! - e) ** 2 / e;
  }
  return chiSquarePValue(chi, counts.length - 1);
}

const laplacePmf = (b: number) => {
  const r = Math.exp(-1 / b);
  return (x: number) => ((1 - r) / (1 + r)) * r ** Math.abs(x);
};
const laplaceVariance = (b: number) => {
  const r = Math.exp(-1 / b);
  return (2 * r) / (1 - r) ** 2;
};
/** P(Z ≤ x) for the discrete Laplace, x whole: 1 − r^{x+1}/(1+r) for x ≥ 0, r^{−x}/(1+r) below. */
const laplaceCdf = (b: number) => {
  const r = Math.exp(-1 / b);
  return (x: number) => (x >= 0 ? 1 - r ** (x + 1) / (1 + r) : r ** -x / (1 + r));
};

/** The discrete Gaussian's pmf and exact variance by direct summation. */
function discreteGaussian(sigma2: number): { pmf: (x: number) => number; variance: number; tail: (m: number) => number } {
  const span = Math.ceil(40 * Math.sqrt(sigma2)) + 10;
  let z = 0;
  let second = 0;
  for (let x = -span; x <= span; x++) {
    const w = Math.exp(-(x * x) / (2 * sigma2));
    z += w;
    second += x * x * w;
  }
  const pmf = (x: number) => Math.exp(-(x * x) / (2 * sigma2)) / z;
  const tail = (m: number) => {
    let t = 0;
    for (let x = m; x <= span; x++) t += pmf(x);
    return t;
  };
  return { pmf, variance: second / z, tail };
}

function count(name: string, groups: number, value: number, extra: Partial<CountQuery> = {}): CountQuery {
  return { name, kind: 'count', keys: 'public', maxGroupsPerUser: 1, maxRowsPerUser: 1, groups: Array.from({ length: groups }, (_, i) => ({ key: `g${i}`, value })), ...extra };
}

function request(spend: DpSpend, queries: ReleaseRequest['queries'], extra: Partial<ReleaseRequest> = {}): ReleaseRequest {
  return { release: 'test release', actor: 'tester', spend, queries, ...extra };
}

/** released − exact for every group of a query whose groups all hold `exact`. */
function noiseOf(q: NoisyQuery, exact: number): number[] {
  return q.groups.map((g) => g.value! - exact);
}

const N = 40_000;
const BIG = 1_000_000; // far from 0: the clamp at 0 never binds, and no group is small

describe('counts with the discrete Laplace (geometric) mechanism', () => {
  it('b = Δ1/ε_q: G = 2 groups per user, R = 3 rows, ε = 2 over 2 queries gives b = 2·3/(2/2) = 6', async () => {
    const r = await releasePrivately(
      store,
      ROOMY,
      request({ mechanism: 'laplace', epsilon: 2 }, [count('rows', N, BIG, { maxGroupsPerUser: 2, maxRowsPerUser: 3 }), count('other', 1, BIG)]),
    );
    const b = 6;
    const xs = noiseOf(r.queries[0]!, BIG);
    const { mean, variance } = moments(xs);
    const v = laplaceVariance(b);
    // The exact discrete variance; the continuous Laplace's 2b² = 72 is 1/6 too high (2b² − 1/6 + O(1/b²)).
    expect(v).toBeCloseTo(2 * b * b - 1 / 6, 2);
    expect(Math.abs(mean)).toBeLessThanOrEqual(6 * Math.sqrt(v / N));
    // Sample variance standard error σ²·sqrt((κ − 1)/N), the kurtosis κ ≤ 6 (continuous Laplace).
    expect(Math.abs(variance - v)).toBeLessThanOrEqual(6 * v * Math.sqrt(5 / N));
    expect(pmfFit(xs, laplacePmf(b), 4 * b)).toBeGreaterThan(1e-6);
    // What readers are told: sd = sqrt(exact variance); the 95% half-width from the exact tail.
    expect(r.queries[0]!.noiseSd).toBeCloseTo(Math.sqrt(v), 10);
    const w = r.queries[0]!.ci95;
    const outside = (x: number) => 2 * laplaceCdf(b)(-x - 1); // P(|Z| > x)
    expect(outside(w)).toBeLessThanOrEqual(0.05);
    expect(outside(w - 1)).toBeGreaterThan(0.05);
    const covered = xs.filter((x) => Math.abs(x) <= w).length / N;
    const p = 1 - outside(w);
    expect(Math.abs(covered - p)).toBeLessThanOrEqual(6 * Math.sqrt((p * (1 - p)) / N));
    // The ledger keeps the exact scale and the sensitivities.
    const [entry] = await readLedger(store);
    expect(entry!.detail.queries[0]).toMatchObject({ sensitivityL1: 6, sensitivityL2: 3 * Math.SQRT2, share: '1', scale: '6', groups: N });
  });

  it('ε = 0.3 for one count of users: b = 1/0.3 = 10/3 exactly', async () => {
    const r = await releasePrivately(store, ROOMY, request({ mechanism: 'laplace', epsilon: 0.3 }, [count('users', N, BIG)]));
    const b = 10 / 3;
    const xs = noiseOf(r.queries[0]!, BIG);
    const { mean, variance } = moments(xs);
    const v = laplaceVariance(b);
    expect(Math.abs(mean)).toBeLessThanOrEqual(6 * Math.sqrt(v / N));
    expect(Math.abs(variance - v)).toBeLessThanOrEqual(6 * v * Math.sqrt(5 / N));
    expect(pmfFit(xs, laplacePmf(b), 14)).toBeGreaterThan(1e-6);
    expect((await readLedger(store))[0]!.detail.queries[0]!.scale).toBe('10/3');
  });
});

describe('counts with the discrete Gaussian under zCDP', () => {
  it('σ² = Δ2²/(2ρ_q): G = 4, R = 1, ρ = 0.5 over one query gives σ² = (2·1)²/(2·0.5) = 4', async () => {
    const r = await releasePrivately(store, ROOMY, request({ mechanism: 'gaussian', rho: 0.5 }, [count('users', N, BIG, { maxGroupsPerUser: 4 })]));
    const dg = discreteGaussian(4);
    const xs = noiseOf(r.queries[0]!, BIG);
    const { mean, variance } = moments(xs);
    expect(Math.abs(mean)).toBeLessThanOrEqual(6 * Math.sqrt(dg.variance / N));
    // Gaussian kurtosis 3: the sample variance's standard error is about σ²·sqrt(2/N).
    expect(Math.abs(variance - dg.variance)).toBeLessThanOrEqual(6 * dg.variance * Math.sqrt(2 / N));
    expect(pmfFit(xs, dg.pmf, 6)).toBeGreaterThan(1e-6);
    expect(r.queries[0]!.noiseSd).toBeCloseTo(Math.sqrt(dg.variance), 8);
    expect(r.epsilon).toBe(0);
    expect(r.rho).toBe(0.5);
    const [entry] = await readLedger(store);
    expect(entry!.detail.queries[0]).toMatchObject({ sensitivityL1: 4, sensitivityL2: 2, scale: '4' });
  });
});

describe('sums of clamped values on a decimal grid', () => {
  it('clamp [0, 50], ε = 1: grid step 0.01, 5000 units per user, so the noise is discrete Laplace with b = 5000 steps (= 50 in value)', async () => {
    const n = 20_000;
    const exact = 123_456.789; // rounds to 123456.79 on the grid
    const sum: SumQuery = { name: 'sum:amount', kind: 'sum', keys: 'public', maxGroupsPerUser: 1, lower: 0, upper: 50, groups: Array.from({ length: n }, (_, i) => ({ key: `g${i}`, value: exact })) };
    const r = await releasePrivately(store, ROOMY, request({ mechanism: 'laplace', epsilon: 1 }, [sum]));
    const steps = r.queries[0]!.groups.map((g) => Math.round((g.value! - 123_456.79) * 100));
    // Every released value lies on the grid, written as a clean decimal.
    for (const g of r.queries[0]!.groups.slice(0, 200)) expect(Number(g.value!.toFixed(2))).toBe(g.value);
    const b = 5000;
    const { mean, variance } = moments(steps);
    const v = laplaceVariance(b);
    expect(Math.abs(mean)).toBeLessThanOrEqual(6 * Math.sqrt(v / n));
    expect(Math.abs(variance - v)).toBeLessThanOrEqual(6 * v * Math.sqrt(5 / n));
    const edges = [-3, -2, -1.5, -1, -0.75, -0.5, -0.25, -0.1, 0, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3].map((x) => Math.round(x * b));
    expect(binnedFit(steps, laplaceCdf(b), edges)).toBeGreaterThan(1e-6);
    expect(r.queries[0]!.noiseSd).toBeCloseTo(Math.sqrt(v) / 100, 6);
    const [entry] = await readLedger(store);
    expect(entry!.detail.queries[0]).toMatchObject({ resolution: 0.01, sensitivityL1: 50, scale: '5000', clamp: [0, 50] });
  });

  it('clamp [-20, 7.5] with the discrete Gaussian: M = 20, step 0.01, σ² = 2000²/(2ρ) steps²; sums may go negative', async () => {
    const n = 20_000;
    const sum: SumQuery = { name: 'sum:delta', kind: 'sum', keys: 'public', maxGroupsPerUser: 1, lower: -20, upper: 7.5, groups: Array.from({ length: n }, (_, i) => ({ key: `g${i}`, value: -3 })) };
    const r = await releasePrivately(store, ROOMY, request({ mechanism: 'gaussian', rho: 2 }, [sum]));
    const sigma2 = (2000 * 2000) / (2 * 2);
    const steps = r.queries[0]!.groups.map((g) => Math.round((g.value! + 3) * 100));
    const { mean, variance } = moments(steps);
    expect(Math.abs(mean)).toBeLessThanOrEqual(6 * Math.sqrt(sigma2 / n));
    const exactVariance = discreteGaussian(sigma2).variance; // equal to σ² to many digits at σ = 1000 steps
    expect(Math.abs(variance - exactVariance)).toBeLessThanOrEqual(6 * exactVariance * Math.sqrt(2 / n));
    expect(r.queries[0]!.groups.some((g) => g.value! < 0)).toBe(true);
    expect((await readLedger(store))[0]!.detail.queries[0]).toMatchObject({ resolution: 0.01, sensitivityL2: 20, scale: '1000000' });
  });
});

describe('partition selection for keys from the data', () => {
  it('Laplace: τ = R + m with m the smallest whole number where P(Z ≥ m) = r^m/(1+r) ≤ δ/G; hand-computed τ = 15 for b = 1, δ = 1e-6', async () => {
    // b = 1, r = e^-1: r^m/(1+r) ≤ 1e-6 iff m ≥ ln(1e6) − ln(1 + e^-1) = 13.50, so m = 14, τ = 1 + 14.
    const r = await releasePrivately(
      store,
      ROOMY,
      request({ mechanism: 'laplace', epsilon: 1 }, [{ ...count('users', 0, 0), keys: 'private', groups: [{ key: 'big', value: 5000 }] }]),
    );
    expect(r.queries[0]!.threshold).toBe(15);
    expect(r.delta).toBe(1e-6);
    const [entry] = await readLedger(store);
    expect(entry!.detail.selection).toEqual({ query: 'users', threshold: 15, delta: 1e-6 });
    expect(entry!.delta).toBe(1e-6);
  });

  it('a 1-user group shows with probability ≤ δ (empirically, within 6 standard errors of the exact tail) and a big group always shows; unselected keys are left out', async () => {
    const n = 20_000;
    const delta = 0.05;
    const groups = [...Array.from({ length: n }, (_, i) => ({ key: `lone${i}`, value: 1 })), ...Array.from({ length: 50 }, (_, i) => ({ key: `big${i}`, value: 200 }))];
    const sum: SumQuery = { name: 'sum:x', kind: 'sum', keys: 'private', maxGroupsPerUser: 1, lower: 0, upper: 1, groups: [{ key: 'big0', value: 150 }, { key: 'lone0', value: 1 }] };
    const r = await releasePrivately(store, ROOMY, request({ mechanism: 'laplace', epsilon: 1 }, [{ ...count('users', 0, 0), keys: 'private', groups }, sum], { selectionDelta: delta, minGroupSize: 0 }));
    // Two queries share ε = 1, so b = 1/(1/2) = 2, r = e^-0.5: r^5/(1+r) = 0.0511 > 0.05 ≥ r^6/(1+r) = 0.0310, so m = 6 and τ = 1 + 6.
    const rr = Math.exp(-0.5);
    const tail = (m: number) => rr ** m / (1 + rr);
    expect(r.queries[0]!.threshold).toBe(7);
    expect(tail(6)).toBeLessThanOrEqual(delta);
    expect(tail(5)).toBeGreaterThan(delta);
    const shown = r.queries[0]!.groups;
    const lone = shown.filter((g) => g.key.startsWith('lone')).length / n;
    const se = Math.sqrt((tail(6) * (1 - tail(6))) / n);
    expect(lone).toBeLessThanOrEqual(delta + 6 * se);
    expect(Math.abs(lone - tail(6))).toBeLessThanOrEqual(6 * se);
    expect(shown.filter((g) => g.key.startsWith('big')).length).toBe(50);
    // Keys that fail selection are not shown at all, not even as suppressed.
    expect(shown.every((g) => g.value !== null && g.value >= 7 && g.suppressed === null)).toBe(true);
    // The private-keyed sum shows exactly the selected keys, in the same order.
    expect(r.queries[1]!.groups.map((g) => g.key)).toEqual(shown.map((g) => g.key));
    expect(r.queries[1]!.groups.every((g) => g.value! >= 0)).toBe(true);
    // The ledger counts what was shown, never the number of keys in the data.
    expect((await readLedger(store))[0]!.detail.queries.map((q) => q.groups)).toEqual([shown.length, shown.length]);
  });

  it('G groups per user: each lone group gets δ/G, so the user\'s G lone groups together show with probability ≤ δ', async () => {
    // G = 3, R = 1, ε = 3: b = 3·1/3 = 1, r = e^-1; δ/G = 1e-3: m = ceil(ln(1000) − ln(1 + e^-1)) = ceil(6.595) = 7, τ = 8.
    const r = await releasePrivately(
      store,
      ROOMY,
      request({ mechanism: 'laplace', epsilon: 3 }, [{ ...count('users', 0, 0), keys: 'private', maxGroupsPerUser: 3, groups: [{ key: 'a', value: 100 }] }], { selectionDelta: 3e-3 }),
    );
    expect(r.queries[0]!.threshold).toBe(8);
    const tail = (m: number) => Math.exp(-m) / (1 + Math.exp(-1));
    expect(tail(7)).toBeLessThanOrEqual(1e-3);
    expect(tail(6)).toBeGreaterThan(1e-3);
  });

  it('discrete Gaussian: τ = R + the smallest m with P(Z ≥ m) ≤ δ/G on the exact pmf, and the release probability of a 1-user group matches it', async () => {
    // G = 2, R = 2: Δ2 = sqrt(2)·2, ρ = 0.25: σ² = 8/(2·0.25) = 16.
    const delta = 0.02;
    const n = 10_000;
    const groups = [...Array.from({ length: n }, (_, i) => ({ key: `lone${i}`, value: 2 })), { key: 'big', value: 500 }];
    const r = await releasePrivately(
      store,
      ROOMY,
      request({ mechanism: 'gaussian', rho: 0.25 }, [{ ...count('users', 0, 0), keys: 'private', maxGroupsPerUser: 2, maxRowsPerUser: 2, groups }], { selectionDelta: delta, minGroupSize: 0 }),
    );
    const dg = discreteGaussian(16);
    const m = r.queries[0]!.threshold! - 2;
    expect(dg.tail(m)).toBeLessThanOrEqual(delta / 2);
    expect(dg.tail(m - 1)).toBeGreaterThan(delta / 2);
    const shown = r.queries[0]!.groups;
    const lone = shown.filter((g) => g.key.startsWith('lone')).length / n;
    const p = dg.tail(m);
    expect(Math.abs(lone - p)).toBeLessThanOrEqual(6 * Math.sqrt((p * (1 - p)) / n));
    expect(shown.some((g) => g.key === 'big')).toBe(true);
  });

  it('a private-keyed sum needs a private-keyed count to select its groups', async () => {
    const sum: SumQuery = { name: 'sum:x', kind: 'sum', keys: 'private', maxGroupsPerUser: 1, lower: 0, upper: 1, groups: [{ key: 'a', value: 1 }] };
    await expect(releasePrivately(store, ROOMY, request({ mechanism: 'laplace', epsilon: 1 }, [sum]))).rejects.toThrow(/partition selection needs a count query with keys 'private'/);
    expect(await readLedger(store)).toEqual([]);
  });
});

describe('minimum group size and post-processing', () => {
  // ε = 1e6 over at most 3 queries: b ≤ 3000/(1e6/3) grid units (a sum's 1000 steps per user), so
  // P(Z ≠ 0) ≤ 2e^-111, which never happens: the values come out exact.
  const exact = { mechanism: 'laplace', epsilon: 1e6 } as const;

  it('groups whose noisy size is below min_group_size are shown as null in every query of the release', async () => {
    const sizes: CountQuery = { name: 'users', kind: 'count', keys: 'public', maxGroupsPerUser: 1, maxRowsPerUser: 1, groups: [{ key: 'a', value: 3 }, { key: 'b', value: 10 }, { key: 'c', value: 250 }] };
    const conversions: CountQuery = { ...sizes, name: 'conversions', groups: [{ key: 'a', value: 1 }, { key: 'b', value: 2 }, { key: 'c', value: 40 }] };
    const revenue: SumQuery = { name: 'sum:revenue', kind: 'sum', keys: 'public', maxGroupsPerUser: 1, lower: 0, upper: 100, groups: [{ key: 'a', value: 120 }, { key: 'b', value: 300 }, { key: 'c', value: 9000.5 }] };
    const r = await releasePrivately(store, ROOMY, request(exact, [sizes, conversions, revenue]));
    expect(r.queries.map((q) => q.groups)).toEqual([
      [{ key: 'a', value: null, suppressed: 'min_group_size' }, { key: 'b', value: 10, suppressed: null }, { key: 'c', value: 250, suppressed: null }],
      [{ key: 'a', value: null, suppressed: 'min_group_size' }, { key: 'b', value: 2, suppressed: null }, { key: 'c', value: 40, suppressed: null }],
      [{ key: 'a', value: null, suppressed: 'min_group_size' }, { key: 'b', value: 300, suppressed: null }, { key: 'c', value: 9000.5, suppressed: null }],
    ]);
    // The request's own minimum overrides privacy.min_group_size (10).
    const r2 = await releasePrivately(store, ROOMY, request(exact, [sizes], { minGroupSize: 11 }));
    expect(r2.queries[0]!.groups.map((g) => g.suppressed)).toEqual(['min_group_size', 'min_group_size', null]);
  });

  it('noisy counts are never negative: clamped at 0 (post-processing)', async () => {
    // b = 1/0.05 = 20 around a true 0: about half the raw draws are negative.
    const r = await releasePrivately(store, ROOMY, request({ mechanism: 'laplace', epsilon: 0.05 }, [count('users', 2000, 0)], { minGroupSize: 0 }));
    const values = r.queries[0]!.groups.map((g) => g.value!);
    expect(Math.min(...values)).toBe(0);
    const zeros = values.filter((v) => v === 0).length / values.length;
    // P(max(0, Z) = 0) = P(Z ≤ 0) = 1 − r/(1+r) with r = e^-1/20.
    const rr = Math.exp(-1 / 20);
    const p = 1 - rr / (1 + rr);
    expect(Math.abs(zeros - p)).toBeLessThanOrEqual(6 * Math.sqrt((p * (1 - p)) / values.length));
  });

  it('rejects malformed queries before spending anything', async () => {
    const bad: [ReleaseRequest['queries'], RegExp][] = [
      [[count('users', 1, 1.5)], /a count must be a whole number >= 0, got 1.5/],
      [[count('users', 1, 1, { maxRowsPerUser: 0 })], /maxRowsPerUser must be a whole number >= 1/],
      [[count('users', 1, 1), count('users', 1, 1)], /query names must be non-empty and distinct/],
      [[{ ...count('users', 0, 0), groups: [{ key: 'a', value: 1 }, { key: 'a', value: 2 }] }], /group key "a" appears twice/],
      [[{ name: 's', kind: 'sum', keys: 'public', maxGroupsPerUser: 1, lower: 5, upper: 1, groups: [] }], /the clamp needs finite lower <= upper/],
      [[{ name: 's', kind: 'sum', keys: 'public', maxGroupsPerUser: 1, lower: 0, upper: 0, groups: [] }], /non-zero finite bound/],
      [[], /no queries to release/],
    ];
    for (const [queries, message] of bad) await expect(releasePrivately(store, ROOMY, request({ mechanism: 'laplace', epsilon: 1 }, queries))).rejects.toThrow(message);
    await expect(releasePrivately(store, ROOMY, request({ mechanism: 'gaussian', rho: -1 }, [count('users', 1, 1)]))).rejects.toThrow(/rho must be a positive number/);
    expect(await readLedger(store)).toEqual([]);
    expect(await readAuditLog(store)).toEqual([]);
  });
});

const PY = '/usr/bin/python3';
const hasScipy = existsSync(PY) && (() => { try { execFileSync(PY, ['-c', 'import scipy.stats']); return true; } catch { return false; } })();

describe.skipIf(!hasScipy)('discrete Laplace tails, thresholds and variance (oracle: scipy.stats.dlaplace with a = 1/b)', () => {
  it('the smallest m with P(Z ≥ m) ≤ p, the 95% half-width and the exact variance agree with scipy', () => {
    const scales = [{ p: 1n, q: 2n }, { p: 1n, q: 1n }, { p: 10n, q: 3n }, { p: 6n, q: 1n }, { p: 50n, q: 1n }, { p: 2469n, q: 2n }];
    const probs = [0.025, 1e-3, 1e-6, 1e-9];
    const script = [
      'import json, sys, numpy as np',
      'from scipy.stats import dlaplace',
      'out = []',
      'for p, q in json.loads(sys.argv[1]):',
      '  a = q / p',
      '  ks = np.arange(1, int(p / q * 25) + 50)',
      '  sf = dlaplace.sf(ks - 1, a)  # P(Z > k - 1) = P(Z >= k)',
      '  ms = [int(ks[sf <= t][0]) for t in json.loads(sys.argv[2])]',
      '  out.append({"m": ms, "var": float(dlaplace.var(a))})',
      'print(json.dumps(out))',
    ].join('\n');
    const want = JSON.parse(execFileSync(PY, ['-c', script, JSON.stringify(scales.map((r) => [Number(r.p), Number(r.q)])), JSON.stringify(probs)]).toString()) as { m: number[]; var: number }[];
    scales.forEach((scale, i) => {
      const spec = { kind: 'laplace', scale } as const;
      expect(probs.map((p) => tailBound(spec, p))).toEqual(want[i]!.m);
      expect(ci95HalfWidth(spec)).toBe(want[i]!.m[0]! - 1);
      expect(noiseVariance(spec)).toBeCloseTo(want[i]!.var, 6);
    });
  });
});
