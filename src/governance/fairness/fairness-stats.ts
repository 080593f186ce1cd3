/**
 * The statistics of a fairness audit, pure functions over counts per group.
 *
 * Selection (a segment's members, or a model's users scoring at or above a threshold) per
 * group g of a sensitive attribute: n_g users, x_g selected, rate r_g = x_g / n_g with
 * Wilson's score interval (Wilson 1927). Users without the attribute form the group
 * "(missing)": reported, but left out of every comparison (they are not a group of the
 * attribute, and their share depends on how the trait was collected).
 *
 * - Disparate-impact ratio: r_L / r_H, L the least-selected group and H the most-selected
 *   (ties: the larger group, then byte order of the name). Flagged below 0.8: the
 *   four-fifths rule of the Uniform Guidelines on Employee Selection Procedures (EEOC et
 *   al. 1978, 29 CFR 1607.4(D)). The flag is the point ratio only; whether the gap is
 *   statistically significant is reported beside it, never folded into the flag.
 *   Interval: Katz's log interval of the ratio of two independent proportions (Katz,
 *   Baptista, Azen & Pike 1978), se(ln R) = √(1/x_L − 1/n_L + 1/x_H − 1/n_H)
 *   (drivers-stats.ts; scipy.stats.contingency.relative_risk computes the same). None when
 *   x_L = 0 or x_H = 0. L and H are chosen after looking at the rates, so the interval is
 *   conditional on that choice (it describes the two named groups, not the worst pair).
 * - Demographic-parity difference: r_H − r_L with Newcombe's hybrid score interval
 *   (Newcombe 1998, method 10).
 * - Pairwise tests: every group against H, Pearson's chi-square on the 2x2 table, or
 *   Fisher's exact test when an expected count is below 5 (the drivers' rule). Every
 *   p-value of an audit (all subjects, attributes, groups, and for models the
 *   equal-opportunity and calibration tests) forms one family, corrected by Holm (default)
 *   or Benjamini-Hochberg (experiments/stats/multiple.ts).
 *
 * Models with known outcomes (labels over [run as_of, as_of + horizon)):
 * - Equal opportunity (Hardt, Price & Srebro 2016): the true-positive rate per group
 *   TPR_g = selected positives / positives; the difference highest − lowest with
 *   Newcombe's interval, and each group tested against the highest as above.
 * - Calibration by group: mean predicted probability against the observed rate (Wilson
 *   interval), overall and by score decile (the run's weak percentile rank, decile
 *   ⌈percentile / 10⌉). Calibration in the large: O = Σy, E = Σp, V = Σp(1 − p),
 *   z = (O − E) / √V, two-sided normal p-value: the one-group Hosmer-Lemeshow statistic
 *   (z² = (O − E)² / V; Hosmer & Lemeshow 1980), exact in expectation when the predictions
 *   are the true probabilities and users are independent.
 */
import erfc from '@stdlib/math-base-special-erfc';
import { newcombeDifference, riskRatioKatz, tableStatistics, twoSidedZ, wilsonInterval, type Interval, type TableTest } from '../../models/discover/drivers-stats.js';

export type { Interval };

/** The four-fifths rule. */
export const FOUR_FIFTHS = 0.8;
/** Users without a value of the attribute. */
export const MISSING_GROUP = '(missing)';

export interface GroupCount {
  readonly group: string;
  readonly population: number;
  readonly selected: number;
}

export interface GroupRate extends GroupCount {
  /** selected / population. */
  readonly rate: number;
  /** Wilson's score interval. */
  readonly ci: Interval;
  /** False for "(missing)": reported, never compared. */
  readonly compared: boolean;
}

/** One hypothesis test of the audit's family; `adjustedP` and `significant` are filled once every test is known. */
export interface FamilyTest {
  readonly pValue: number;
  adjustedP: number;
  significant: boolean;
}

export interface PairwiseComparison extends FamilyTest {
  readonly group: string;
  /** The most-selected group it is compared with. */
  readonly reference: string;
  /** rate(group) / rate(reference); null when the reference rate is 0. */
  readonly ratio: number | null;
  readonly ratioCi: Interval | null;
  /** rate(reference) − rate(group). */
  readonly difference: number;
  readonly differenceCi: Interval;
  readonly test: TableTest;
}

export interface RateComparison {
  readonly groups: readonly GroupRate[];
  /** The most- and least-selected compared groups; null with fewer than two compared groups. */
  readonly highest: string | null;
  readonly lowest: string | null;
  /** Lowest rate / highest rate with Katz's interval; null when no group is selected or fewer than two groups. */
  readonly ratio: { readonly value: number; readonly ci: Interval | null } | null;
  /** Highest rate − lowest rate with Newcombe's interval. */
  readonly difference: { readonly value: number; readonly ci: Interval } | null;
  /** Every compared group but the highest, against the highest. */
  readonly pairwise: readonly PairwiseComparison[];
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Rates and Wilson intervals per group, "(missing)" last and not compared. */
export function groupRates(counts: readonly GroupCount[], alpha: number): GroupRate[] {
  const z = twoSidedZ(alpha);
  return [...counts]
    .filter((c) => c.population > 0)
    .sort((a, b) => Number(a.group === MISSING_GROUP) - Number(b.group === MISSING_GROUP) || byteOrder(a.group, b.group))
    .map((c) => ({ ...c, rate: c.selected / c.population, ci: wilsonInterval(c.selected, c.population, z), compared: c.group !== MISSING_GROUP }));
}

/** Highest first: rate, then the larger group, then byte order. */
function extremes(groups: readonly GroupRate[]): { highest: GroupRate; lowest: GroupRate } | null {
  const compared = groups.filter((g) => g.compared);
  if (compared.length < 2) return null;
  const order = [...compared].sort((a, b) => b.rate - a.rate || b.population - a.population || byteOrder(a.group, b.group));
  return { highest: order[0]!, lowest: order[order.length - 1]! };
}

/** The ratio and difference of two groups' rates (x/n against the reference's), with intervals and a test. */
export function compareToReference(group: GroupCount, reference: GroupCount, alpha: number): Omit<PairwiseComparison, 'adjustedP' | 'significant'> {
  const z = twoSidedZ(alpha);
  const table = { a: group.selected, b: group.population - group.selected, c: reference.selected, d: reference.population - reference.selected };
  const katz = riskRatioKatz(table, z);
  const diff = newcombeDifference(reference.selected, reference.population, group.selected, group.population, z);
  const stats = tableStatistics(table, alpha);
  return {
    group: group.group,
    reference: reference.group,
    ratio: katz.ratio,
    ratioCi: katz.ci,
    difference: diff.difference,
    differenceCi: diff.ci,
    test: stats.test,
    pValue: stats.pValue,
  };
}

/** Selection rates per group, the disparate-impact ratio, the parity difference and the pairwise tests. */
export function compareRates(counts: readonly GroupCount[], alpha: number): RateComparison {
  const groups = groupRates(counts, alpha);
  const ends = extremes(groups);
  if (!ends) return { groups, highest: null, lowest: null, ratio: null, difference: null, pairwise: [] };
  const { highest, lowest } = ends;
  const z = twoSidedZ(alpha);
  const pairwise = groups
    .filter((g) => g.compared && g.group !== highest.group)
    .map((g): PairwiseComparison => ({ ...compareToReference(g, highest, alpha), adjustedP: Number.NaN, significant: false }));
  const katz = riskRatioKatz({ a: lowest.selected, b: lowest.population - lowest.selected, c: highest.selected, d: highest.population - highest.selected }, z);
  const diff = newcombeDifference(highest.selected, highest.population, lowest.selected, lowest.population, z);
  return {
    groups,
    highest: highest.group,
    lowest: lowest.group,
    ratio: katz.ratio === null ? null : { value: katz.ratio, ci: katz.ci },
    difference: { value: diff.difference, ci: diff.ci },
    pairwise,
  };
}

/** The four-fifths flag: the point ratio below the threshold (null ratio: nothing selected, nothing to flag). */
export function isFlagged(ratio: number | null | undefined, threshold = FOUR_FIFTHS): boolean {
  return ratio !== null && ratio !== undefined && ratio < threshold;
}

/** Two-sided p-value of a standard normal statistic. */
export function normalTwoSidedP(z: number): number {
  return Number.isFinite(z) ? Math.min(1, erfc(Math.abs(z) / Math.SQRT2)) : 0;
}

export interface CalibrationCell {
  readonly users: number;
  readonly positives: number;
  readonly meanPredicted: number;
  readonly observed: number;
  /** Wilson interval of the observed rate. */
  readonly observedCi: Interval;
}

export interface CalibrationInTheLarge extends FamilyTest {
  /** Observed / expected positives; null when none are expected. */
  readonly observedOverExpected: number | null;
  readonly z: number;
}

/** Users with a 0/1 outcome and a predicted probability. */
export interface Outcome {
  readonly label: 0 | 1;
  readonly score: number;
}

/** Mean predicted against observed, with the observed rate's Wilson interval. */
export function calibrationCell(outcomes: readonly Outcome[], alpha: number): CalibrationCell {
  const n = outcomes.length;
  let positives = 0;
  let predicted = 0;
  for (const o of outcomes) {
    positives += o.label;
    predicted += o.score;
  }
  return {
    users: n,
    positives,
    meanPredicted: n > 0 ? predicted / n : Number.NaN,
    observed: n > 0 ? positives / n : Number.NaN,
    observedCi: n > 0 ? wilsonInterval(positives, n, twoSidedZ(alpha)) : [0, 1],
  };
}

/** z = (O − E) / √Σp(1 − p) and its two-sided p-value (see the header). */
export function calibrationInTheLarge(outcomes: readonly Outcome[]): CalibrationInTheLarge {
  let o = 0;
  let e = 0;
  let v = 0;
  for (const x of outcomes) {
    o += x.label;
    e += x.score;
    v += x.score * (1 - x.score);
  }
  // No variance: every prediction is 0 or 1; any miss is then infinitely unlikely.
  const z = v > 0 ? (o - e) / Math.sqrt(v) : o === e ? 0 : Math.sign(o - e) * Infinity;
  return { observedOverExpected: e > 0 ? o / e : null, z, pValue: normalTwoSidedP(z), adjustedP: Number.NaN, significant: false };
}
