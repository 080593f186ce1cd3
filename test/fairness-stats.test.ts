/**
 * The statistics of fairness audits (src/governance/fairness/fairness-stats.ts).
 * Oracles: hand computation for rates, ratios, differences, extremes and calibration in the
 * large; scipy 1.10 in /usr/bin/python3 for Katz's interval
 * (scipy.stats.contingency.relative_risk(...).confidence_interval()), Wilson's interval
 * (scipy.stats.binomtest(...).proportion_ci(method='wilson')), the 2x2 tests
 * (chi2_contingency(correction=False), fisher_exact) and the normal tail (norm.sf);
 * Newcombe's hybrid score interval by its formula (Newcombe 1998, method 10) from scipy's
 * Wilson bounds; Holm and Benjamini-Hochberg against hand-worked adjusted p-values.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adjustPValues } from '../src/experiments/stats/multiple.js';
import { calibrationCell, calibrationInTheLarge, compareRates, isFlagged, MISSING_GROUP, type GroupCount } from '../src/governance/fairness/index.js';

const PYTHON = '/usr/bin/python3';
const hasScipy =
  existsSync(PYTHON) &&
  (() => {
    try {
      execFileSync(PYTHON, ['-c', 'import scipy.stats.contingency'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

const COUNTS: GroupCount[] = [
  { group: 'a', population: 100, selected: 30 },
  { group: 'b', population: 100, selected: 10 },
  { group: 'c', population: 100, selected: 20 },
  { group: 'd', population: 12, selected: 3 },
  { group: MISSING_GROUP, population: 20, selected: 1 },
];

describe('selection rates and the disparate-impact ratio by hand', () => {
  const r = compareRates(COUNTS, 0.05);

  it('gives each group its rate, puts "(missing)" last and never compares it', () => {
    expect(r.groups.map((g) => [g.group, g.rate, g.compared])).toEqual([
      ['a', 0.3, true],
      ['b', 0.1, true],
      ['c', 0.2, true],
      ['d', 0.25, true],
      [MISSING_GROUP, 0.05, false],
    ]);
    // "(missing)" has the lowest rate but is not the lowest group.
    expect([r.highest, r.lowest]).toEqual(['a', 'b']);
    expect(r.ratio!.value).toBeCloseTo(1 / 3, 15);
    expect(r.difference!.value).toBeCloseTo(0.2, 15);
    expect(r.pairwise.map((p) => [p.group, p.reference])).toEqual([
      ['b', 'a'],
      ['c', 'a'],
      ['d', 'a'],
    ]);
    expect(r.pairwise[1]!.ratio).toBeCloseTo(2 / 3, 15);
    // d has 12 users: an expected count below 5, so Fisher's exact test.
    expect(r.pairwise.map((p) => p.test)).toEqual(['chi-square', 'chi-square', 'fisher']);
  });

  it('flags below four fifths on the point ratio only', () => {
    expect(isFlagged(r.ratio!.value)).toBe(true);
    expect(isFlagged(0.8)).toBe(false);
    expect(isFlagged(0.7999)).toBe(true);
    expect(isFlagged(null)).toBe(false);
    const fair = compareRates(
      [
        { group: 'x', population: 200, selected: 90 },
        { group: 'y', population: 300, selected: 120 },
      ],
      0.05,
    );
    // 0.4 / 0.45 = 0.889: not flagged.
    expect(fair.ratio!.value).toBeCloseTo(0.4 / 0.45, 15);
    expect(isFlagged(fair.ratio!.value)).toBe(false);
  });

  it('breaks ties for the highest rate by group size, then name; no ratio when nobody is selected or one group', () => {
    const tie = compareRates(
      [
        { group: 'small', population: 10, selected: 5 },
        { group: 'large', population: 100, selected: 50 },
        { group: 'low', population: 50, selected: 10 },
      ],
      0.05,
    );
    expect([tie.highest, tie.lowest]).toEqual(['large', 'low']);
    const none = compareRates(
      [
        { group: 'x', population: 10, selected: 0 },
        { group: 'y', population: 20, selected: 0 },
      ],
      0.05,
    );
    expect(none.ratio).toBeNull();
    expect(none.pairwise[0]!.pValue).toBe(1);
    const one = compareRates([{ group: 'x', population: 10, selected: 3 }, { group: MISSING_GROUP, population: 5, selected: 1 }], 0.05);
    expect([one.highest, one.ratio, one.pairwise.length]).toEqual([null, null, 0]);
  });

  it('calibration in the large: O, E and z = (O - E) / sqrt(sum p(1 - p)) by hand', () => {
    const outcomes = [
      { label: 1 as const, score: 0.8 },
      { label: 0 as const, score: 0.3 },
      { label: 1 as const, score: 0.5 },
      { label: 0 as const, score: 0.1 },
    ];
    const c = calibrationInTheLarge(outcomes);
    expect(c.observedOverExpected).toBeCloseTo(2 / 1.7, 14);
    expect(c.z).toBeCloseTo(0.3 / Math.sqrt(0.71), 14);
    const cell = calibrationCell(outcomes, 0.05);
    expect([cell.users, cell.positives, cell.observed]).toEqual([4, 2, 0.5]);
    expect(cell.meanPredicted).toBeCloseTo(0.425, 15);
    // Perfect predictions of 0 and 1: no variance, no miss, z = 0.
    expect(calibrationInTheLarge([{ label: 1, score: 1 }, { label: 0, score: 0 }]).z).toBe(0);
  });

  it('Holm and Benjamini-Hochberg adjust the family as worked by hand', () => {
    // p sorted: 0.005, 0.01, 0.03, 0.04 (m = 4).
    // Holm: 4(0.005) = 0.02, 3(0.01) = 0.03, 2(0.03) = 0.06, max(0.06, 1(0.04)) = 0.06.
    // BH: min over j >= i of 4 p(j) / j: 0.02, 0.02, 0.04, 0.04.
    const p = [0.01, 0.04, 0.03, 0.005];
    const holm = adjustPValues(p, 0.05, 'holm');
    expect(holm.pValues.map((x) => Number(x.toFixed(12)))).toEqual([0.03, 0.06, 0.06, 0.02]);
    expect(holm.rejected).toEqual([true, false, false, true]);
    const bh = adjustPValues(p, 0.05, 'benjamini-hochberg');
    expect(bh.pValues.map((x) => Number(x.toFixed(12)))).toEqual([0.02, 0.04, 0.04, 0.02]);
    expect(bh.rejected).toEqual([true, true, true, true]);
  });
});

describe.skipIf(!hasScipy)('fairness intervals and tests against scipy 1.10', () => {
  it('Katz ratio, Wilson rates, Newcombe difference, pairwise p-values and the calibration tail', () => {
    const r = compareRates(COUNTS, 0.05);
    const script = `import json
from scipy.stats import binomtest, chi2_contingency, fisher_exact, norm
from scipy.stats.contingency import relative_risk
counts = {'a': (30, 100), 'b': (10, 100), 'c': (20, 100), 'd': (3, 12), '(missing)': (1, 20)}
wilson = {g: list(binomtest(x, n).proportion_ci(confidence_level=0.95, method='wilson')) for g, (x, n) in counts.items()}
katz = relative_risk(10, 100, 30, 100).confidence_interval(0.95)
pairs = {}
for g in ['b', 'c', 'd']:
    x, n = counts[g]
    t = [[x, n - x], [30, 70]]
    chi = chi2_contingency(t, correction=False)
    pairs[g] = fisher_exact(t)[1] if chi[3].min() < 5 else chi[1]
print(json.dumps({'wilson': wilson, 'katz': [katz.low, katz.high], 'pairs': pairs, 'tail': 2 * norm.sf(0.3 / 0.71 ** 0.5)}))`;
    const ref = JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' })) as {
      wilson: Record<string, [number, number]>;
      katz: [number, number];
      pairs: Record<string, number>;
      tail: number;
    };
    for (const g of r.groups) {
      expect(g.ci[0], g.group).toBeCloseTo(ref.wilson[g.group]![0], 12);
      expect(g.ci[1], g.group).toBeCloseTo(ref.wilson[g.group]![1], 12);
    }
    expect(r.ratio!.ci![0]).toBeCloseTo(ref.katz[0], 12);
    expect(r.ratio!.ci![1]).toBeCloseTo(ref.katz[1], 12);
    // Newcombe (method 10): d = pH - pL; [d - sqrt((pH - lH)^2 + (uL - pL)^2), d + sqrt((uH - pH)^2 + (pL - lL)^2)].
    const [lH, uH] = ref.wilson.a!;
    const [lL, uL] = ref.wilson.b!;
    expect(r.difference!.ci[0]).toBeCloseTo(0.2 - Math.hypot(0.3 - lH, uL - 0.1), 12);
    expect(r.difference!.ci[1]).toBeCloseTo(0.2 + Math.hypot(uH - 0.3, 0.1 - lL), 12);
    for (const p of r.pairwise) expect(Math.abs(p.pValue - ref.pairs[p.group]!) / ref.pairs[p.group]!, p.group).toBeLessThan(1e-8);
    const c = calibrationInTheLarge([
      { label: 1, score: 0.8 },
      { label: 0, score: 0.3 },
      { label: 1, score: 0.5 },
      { label: 0, score: 0.1 },
    ]);
    expect(c.pValue).toBeCloseTo(ref.tail, 12);
  });
});
