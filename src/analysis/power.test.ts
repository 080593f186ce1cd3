/**
 * Sample sizes and power against two oracles:
 * - published examples: R's documentation of stats::power.prop.test,
 *   `power.prop.test(p1 = .50, p2 = .75, power = .90)` gives n = 76.7 per group; the normal
 *   approximation for two means at d = 0.5, alpha 0.05, power 0.8 gives 62.8 per group
 *   (2 (1.95996 + 0.84162)² / 0.25; Chow, Shao & Wang, section 3.2.1; Cohen's t-based
 *   table gives 64, the t correction the normal approximation leaves out);
 * - scipy.stats.norm (ppf, cdf) and scipy.optimize.brentq in /usr/bin/python3, evaluating
 *   the same formulas independently on a grid. .ci/run installs scipy; without it, outside
 *   CI, those cases are skipped with a notice.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  minimumDetectableMeanDifference,
  minimumDetectableProportion,
  powerTwoMeans,
  powerTwoProportions,
  sampleSizeTwoMeans,
  sampleSizeTwoProportions,
  zQuantile,
} from './power.js';

const PYTHON = '/usr/bin/python3';

function scipyAvailable(): boolean {
  const ok = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import scipy'], { encoding: 'utf8' }).status === 0;
  if (!ok && process.env.CI) throw new Error(`${PYTHON} with scipy is required in CI (the oracle of the power tests)`);
  if (!ok) console.warn(`SKIPPING the scipy oracle cases: ${PYTHON} with scipy is not installed`);
  return ok;
}

/** Run a Python program that reads JSON on stdin and prints JSON. */
function python<T>(program: string, input: unknown): T {
  const run = spawnSync(PYTHON, ['-c', program], { input: JSON.stringify(input), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

describe('published examples', () => {
  it("R's power.prop.test(p1 = .50, p2 = .75, power = .90): n = 76.7 per group", () => {
    expect(sampleSizeTwoProportions(0.5, 0.75, { alpha: 0.05, power: 0.9 })).toBeCloseTo(76.7, 1);
    // The power of that n is the power asked for.
    expect(powerTwoProportions(0.5, 0.75, 76.70692845, 0.05)).toBeCloseTo(0.9, 6);
  });

  it('two means, d = 0.5, alpha 0.05, power 0.8: 62.8 per group (normal approximation)', () => {
    expect(sampleSizeTwoMeans(1, 0.5, { alpha: 0.05, power: 0.8 })).toBeCloseTo(62.79, 2);
    expect(sampleSizeTwoMeans(10, 5, { alpha: 0.05, power: 0.8 })).toBeCloseTo(62.79, 2);
    expect(minimumDetectableMeanDifference(1, 62.79103787, { alpha: 0.05, power: 0.8 })).toBeCloseTo(0.5, 6);
  });

  it('standard normal quantiles: z(0.975) = 1.959964, z(0.8) = 0.841621 (printed tables)', () => {
    expect(zQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(zQuantile(0.8)).toBeCloseTo(0.841621, 6);
  });

  it('edge cases: equal targets need infinitely many users, settings are checked', () => {
    expect(sampleSizeTwoProportions(0.3, 0.3, { alpha: 0.05, power: 0.8 })).toBe(Infinity);
    expect(sampleSizeTwoMeans(1, 0, { alpha: 0.05, power: 0.8 })).toBe(Infinity);
    expect(() => sampleSizeTwoMeans(1, 1, { alpha: 0, power: 0.8 })).toThrow(/alpha/);
    expect(() => sampleSizeTwoProportions(0.1, 1.2, { alpha: 0.05, power: 0.8 })).toThrow(/proportions/);
    expect(minimumDetectableProportion(0.5, 3, { alpha: 0.05, power: 0.8 })).toBeNull();
  });
});

describe.skipIf(!scipyAvailable())('against scipy.stats.norm', () => {
  const grid = [
    { p1: 0.05, p2: 0.06, alpha: 0.05, power: 0.8 },
    { p1: 0.3, p2: 0.33, alpha: 0.05, power: 0.8 },
    { p1: 0.6, p2: 0.54, alpha: 0.01, power: 0.9 },
    { p1: 0.914, p2: 0.96, alpha: 0.1, power: 0.95 },
    { p1: 0.002, p2: 0.0025, alpha: 0.05, power: 0.5 },
  ];

  it('sample size and power of two proportions', () => {
    const oracle = python<{ n: number; power: number }[]>(
      `
import json, math, sys
from scipy.stats import norm
out = []
for c in json.load(sys.stdin):
    p1, p2, a, pw = c['p1'], c['p2'], c['alpha'], c['power']
    pbar = (p1 + p2) / 2
    za, zb = norm.ppf(1 - a / 2), norm.ppf(pw)
    n = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2
    half = math.ceil(n / 2)
    power = norm.cdf((abs(p2 - p1) * math.sqrt(half) - za * math.sqrt(2 * pbar * (1 - pbar))) / math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)))
    out.append({'n': n, 'power': power})
print(json.dumps(out))
`,
      grid,
    );
    grid.forEach((c, i) => {
      const n = sampleSizeTwoProportions(c.p1, c.p2, c);
      expect(n / oracle[i]!.n).toBeCloseTo(1, 9);
      expect(powerTwoProportions(c.p1, c.p2, Math.ceil(n / 2), c.alpha)).toBeCloseTo(oracle[i]!.power, 9);
    });
  });

  it('sample size, power and minimum detectable difference of two means', () => {
    const cases = [
      { sigma: 4.64, delta: 0.73, alpha: 0.05, power: 0.8, n: 81 },
      { sigma: 120, delta: 6, alpha: 0.01, power: 0.9, n: 500 },
      { sigma: 0.3, delta: 0.02, alpha: 0.1, power: 0.95, n: 12 },
    ];
    const oracle = python<{ n: number; power: number; mdd: number }[]>(
      `
import json, math, sys
from scipy.stats import norm
out = []
for c in json.load(sys.stdin):
    za, zb = norm.ppf(1 - c['alpha'] / 2), norm.ppf(c['power'])
    out.append({
        'n': 2 * (za + zb) ** 2 * c['sigma'] ** 2 / c['delta'] ** 2,
        'power': norm.cdf(abs(c['delta']) * math.sqrt(c['n'] / 2) / c['sigma'] - za),
        'mdd': (za + zb) * c['sigma'] * math.sqrt(2 / c['n']),
    })
print(json.dumps(out))
`,
      cases,
    );
    cases.forEach((c, i) => {
      expect(sampleSizeTwoMeans(c.sigma, c.delta, c) / oracle[i]!.n).toBeCloseTo(1, 9);
      expect(powerTwoMeans(c.sigma, c.delta, c.n, c.alpha)).toBeCloseTo(oracle[i]!.power, 9);
      expect(minimumDetectableMeanDifference(c.sigma, c.n, c)).toBeCloseTo(oracle[i]!.mdd, 9);
    });
  });

  it('minimum detectable proportion: the root of power(p2) = target found by scipy.optimize.brentq', () => {
    const cases = [
      { p1: 0.077, n: 110, alpha: 0.05, power: 0.8, up: true },
      { p1: 0.3, n: 2000, alpha: 0.05, power: 0.8, up: true },
      { p1: 0.914, n: 99, alpha: 0.05, power: 0.8, up: false },
      { p1: 0.5, n: 40, alpha: 0.01, power: 0.9, up: true },
    ];
    const oracle = python<number[]>(
      `
import json, math, sys
from scipy.stats import norm
from scipy.optimize import brentq
def power(p1, p2, n, a):
    pbar = (p1 + p2) / 2
    return norm.cdf((abs(p2 - p1) * math.sqrt(n) - norm.ppf(1 - a / 2) * math.sqrt(2 * pbar * (1 - pbar))) / math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)))
out = []
for c in json.load(sys.stdin):
    far = 1.0 if c['up'] else 0.0
    near = c['p1'] + (1e-9 if c['up'] else -1e-9)
    out.append(brentq(lambda p2: power(c['p1'], p2, c['n'], c['alpha']) - c['power'], near, far, xtol=1e-14))
print(json.dumps(out))
`,
      cases,
    );
    cases.forEach((c, i) => {
      expect(minimumDetectableProportion(c.p1, c.n, c, c.up ? 'up' : 'down')).toBeCloseTo(oracle[i]!, 9);
    });
  });
});
