/**
 * The 2x2 statistics of `discover drivers` (src/models/discover/drivers-stats.ts). Oracles:
 * - Katz's lift interval: Sahai & Khurshid, "Statistics in Epidemiology" (1996), Example
 *   3.1 (27/122 against 44/487: RR 2.4495, 95% CI 1.584 to 3.789), which scipy's
 *   relative_risk documents, and scipy.stats.contingency.relative_risk on random tables;
 * - Newcombe's hybrid score interval: Newcombe (1998, Stat. Med. 17:873–890), Table II,
 *   method 10, examples (a) 56/70 - 48/80 = 0.2000 (0.0524, 0.3339) and (b) 9/10 - 3/10 =
 *   0.6000 (0.1705, 0.8090);
 * - phi and chi-square by hand on a = 10, b = 20, c = 30, d = 40: phi = (400 - 600) /
 *   √(30·70·40·60) = -200/√5040000 = -0.0890870806…, chi² = N phi² = 100/126;
 * - p-values: scipy 1.10 chi2_contingency(correction=False) and fisher_exact; the phi
 *   interval: scipy's pearsonr(x, y).confidence_interval (Fisher z, se 1/√(N-3)) on the
 *   table expanded to 0/1 pairs;
 * - Benjamini–Hochberg: the 15 p-values of Benjamini & Hochberg (1995, JRSS B 57:289–300,
 *   section 4.2), where BH at 0.05 rejects the four smallest.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adjustPValues } from '../src/experiments/stats/multiple.js';
import {
  fisherExactPValue,
  newcombeDifference,
  pearsonChiSquare,
  phiCoefficient,
  riskRatioKatz,
  tableStatistics,
  type TwoByTwo,
} from '../src/models/discover/drivers-index.js';
import { prng } from './support/prng.js';

const PYTHON = '/usr/bin/python3';
const hasScipy = existsSync(PYTHON) && (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import scipy.stats.contingency'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const Z95 = 1.959963984540054;
const RUNS = process.env.CI ? 400 : 150;

describe('2x2 statistics against textbook examples', () => {
  it('Katz interval: Sahai & Khurshid Example 3.1', () => {
    const { ratio, ci } = riskRatioKatz({ a: 27, b: 95, c: 44, d: 443 }, Z95);
    expect(ratio!).toBeCloseTo(2.4495, 4);
    expect(ci![0]).toBeCloseTo(1.5837, 4);
    expect(ci![1]).toBeCloseTo(3.7887, 4);
    expect(riskRatioKatz({ a: 0, b: 10, c: 5, d: 5 }, Z95)).toEqual({ ratio: 0, ci: null });
    expect(riskRatioKatz({ a: 3, b: 7, c: 0, d: 10 }, Z95)).toEqual({ ratio: null, ci: null });
  });

  it('Newcombe hybrid score interval: Newcombe 1998, Table II (a) and (b)', () => {
    const a = newcombeDifference(56, 70, 48, 80, Z95);
    expect(a.difference).toBeCloseTo(0.2, 12);
    expect(a.ci[0]).toBeCloseTo(0.0524, 4);
    expect(a.ci[1]).toBeCloseTo(0.3339, 4);
    const b = newcombeDifference(9, 10, 3, 10, Z95);
    expect(b.ci[0]).toBeCloseTo(0.1705, 4);
    expect(b.ci[1]).toBeCloseTo(0.809, 4);
  });

  it('phi and chi-square by hand', () => {
    const t = { a: 10, b: 20, c: 30, d: 40 };
    expect(phiCoefficient(t)).toBeCloseTo(-200 / Math.sqrt(5_040_000), 15);
    expect(pearsonChiSquare(t)).toBeCloseTo(100 / 126, 14);
    const s = tableStatistics(t, 0.05);
    expect(s.test).toBe('chi-square');
    expect(s.p1).toBeCloseTo(1 / 3, 15);
    expect(s.p0).toBeCloseTo(3 / 7, 15);
    expect(s.lift!).toBeCloseTo(7 / 9, 15);
    // A table with an expected count under 5 takes Fisher's exact test.
    expect(tableStatistics({ a: 1, b: 9, c: 8, d: 3 }, 0.05).test).toBe('fisher');
    expect(tableStatistics({ a: 1, b: 9, c: 11, d: 3 }, 0.05).test).toBe('chi-square'); // smallest expected 10·12/24 = 5
  });

  it('Benjamini–Hochberg on the 1995 paper example rejects the four smallest', () => {
    const p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 0.759, 1];
    const bh = adjustPValues(p, 0.05, 'benjamini-hochberg');
    expect(bh.rejected).toEqual(p.map((_, i) => i < 4));
    expect(bh.pValues[3]).toBeCloseTo((15 * 0.0095) / 4, 15);
    expect(bh.pValues[4]).toBeCloseTo((15 * 0.0201) / 5, 15);
    expect(bh.intervalAlpha).toBeCloseTo((0.05 * 4) / 15, 15);
  });
});

/** Random tables: a quarter small (Fisher's territory), the rest up to a few hundred per cell. */
function randomTables(n: number, seed: number): TwoByTwo[] {
  const rand = prng(seed);
  const cell = (max: number) => Math.floor(rand() * max);
  return Array.from({ length: n }, (_, i) => {
    const max = i % 4 === 0 ? 8 : 300;
    const t = { a: cell(max), b: cell(max) + 1, c: cell(max), d: cell(max) + 1 };
    return t.a + t.c === 0 ? { ...t, a: 1 } : t;
  });
}

describe.skipIf(!hasScipy)('2x2 statistics against scipy 1.10 on random tables', () => {
  it(`chi-square and Fisher p-values, Katz and Fisher z intervals for ${RUNS} tables`, () => {
    const tables = randomTables(RUNS, 2024);
    const script = `import json, sys
import numpy as np
from scipy.stats import chi2_contingency, fisher_exact, pearsonr
from scipy.stats.contingency import relative_risk
out = []
for t in json.load(sys.stdin):
    a, b, c, d = t['a'], t['b'], t['c'], t['d']
    chi = chi2_contingency([[a, b], [c, d]], correction=False)
    fisher = fisher_exact([[a, b], [c, d]])[1]
    rr = relative_risk(a, a + b, c, c + d)
    ci = rr.confidence_interval(0.9) if a > 0 and c > 0 else None
    x = np.array([1] * (a + b) + [0] * (c + d))
    y = np.array([1] * a + [0] * b + [1] * c + [0] * d)
    r = pearsonr(x, y)
    pci = r.confidence_interval(0.9)
    out.append([chi[0], chi[1], float(chi[3].min()), fisher, None if ci is None else [ci.low, ci.high], r.statistic, pci.low, pci.high])
print(json.dumps(out))`;
    const ref = JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(tables), encoding: 'utf8' })) as [number, number, number, number, [number, number] | null, number, number, number][];
    let fishers = 0;
    tables.forEach((t, i) => {
      const [chi2, chiP, minExpected, fisherP, katz, phi, lo, hi] = ref[i]!;
      const s = tableStatistics(t, 0.1);
      const at = JSON.stringify(t);
      expect(s.chiSquare, at).toBeCloseTo(chi2, 9);
      const expectedP = minExpected < 5 ? fisherP : chiP;
      expect(s.test, at).toBe(minExpected < 5 ? 'fisher' : 'chi-square');
      if (s.test === 'fisher') fishers++;
      expect(Math.abs(s.pValue - expectedP) / Math.max(expectedP, 1e-300), at).toBeLessThan(1e-8);
      expect(Math.abs(fisherExactPValue(t) - fisherP) / fisherP, at).toBeLessThan(1e-8);
      if (katz === null) expect(s.liftCi).toBeNull();
      else {
        expect(s.liftCi![0], at).toBeCloseTo(katz[0], 10);
        expect(s.liftCi![1], at).toBeCloseTo(katz[1], 10);
      }
      expect(s.phi, at).toBeCloseTo(phi, 12);
      expect(s.phiCi[0], at).toBeCloseTo(lo, 10);
      expect(s.phiCi[1], at).toBeCloseTo(hi, 10);
    });
    expect(fishers).toBeGreaterThan(RUNS / 10);
  });
});
