/**
 * Statistics of one 2x2 table for `discover drivers`, pure functions. The table, with the
 * behaviour in rows and the outcome in columns:
 *
 *                 outcome   no outcome
 *   did it           a          b        n1 = a + b,  p1 = a / n1
 *   did not          c          d        n0 = c + d,  p0 = c / n0
 *                 m1 = a + c  m0 = b + d   N = n1 + n0
 *
 * - Lift (risk ratio) RR = p1 / p0 with Katz's log interval (Katz, Baptista, Azen & Pike
 *   1978, Biometrics 34:469–474; Altman, Machin, Bryant & Gardner, "Statistics with
 *   Confidence", 2000): se(ln RR) = √(1/a - 1/n1 + 1/c - 1/n0), exp(ln RR ± z se).
 *   Undefined (null) when a = 0 or c = 0. scipy.stats.contingency.relative_risk computes
 *   the same interval.
 * - Difference p1 - p0 with Newcombe's hybrid score interval (Newcombe 1998, Stat. Med.
 *   17:873–890, method 10) from the Wilson intervals [l, u] of each proportion:
 *   [d - √((p1 - l1)² + (u0 - p0)²), d + √((u1 - p1)² + (p0 - l0)²)]. Chosen over Wald
 *   because it stays inside [-1, 1] and keeps its coverage for rare outcomes and small groups.
 * - phi = (ad - bc) / √(n1 n0 m1 m0), the Pearson correlation of the two 0/1 variables
 *   (signed: positive when doing the behaviour goes with the outcome), N phi² = chi².
 *   Interval by Fisher's z: tanh(atanh(phi) ± z / √(N - 3)). This treats phi as a Pearson
 *   correlation; under independence its variance is 1/N (N phi² is chi-square with 1 df),
 *   so near 0, where drivers usually are, the interval has about its nominal coverage,
 *   and atanh keeps the bounds inside [-1, 1]. It is approximate for strong associations
 *   with very unequal margins; the test below, not this interval, decides significance.
 * - p-value: Pearson's chi-square without continuity correction, chi² = N (ad - bc)² /
 *   (n1 n0 m1 m0), p = Q(1/2, chi²/2) (scipy.stats.chi2_contingency(correction=False));
 *   when an expected count n·m/N is below 5, Fisher's exact test, two-sided as R and scipy
 *   define it: the probability under the hypergeometric null of every table no more likely
 *   than the observed one (relative tolerance 1e-7, as R's fisher.test).
 */
import gammainc from '@stdlib/math-base-special-gammainc';
import gammaln from '@stdlib/math-base-special-gammaln';
import { zQuantile } from '../../analysis/power.js';
import { StrataError } from '../../errors/errors.js';

export interface TwoByTwo {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
}

export type Interval = readonly [number, number];

export type TableTest = 'chi-square' | 'fisher';

export interface TableStatistics {
  readonly p1: number;
  readonly p0: number;
  /** p1 / p0; null when p0 = 0. */
  readonly lift: number | null;
  /** Katz log interval; null when a = 0 or c = 0. */
  readonly liftCi: Interval | null;
  readonly difference: number;
  /** Newcombe's hybrid score interval. */
  readonly differenceCi: Interval;
  readonly phi: number;
  /** Fisher z interval. */
  readonly phiCi: Interval;
  readonly test: TableTest;
  /** Pearson's chi-square (also reported when Fisher's test gives the p-value). */
  readonly chiSquare: number;
  readonly pValue: number;
}

function checkTable(t: TwoByTwo): void {
  for (const [k, v] of Object.entries(t)) {
    if (!(Number.isInteger(v) && v >= 0)) throw new StrataError('INPUT_INVALID', `2x2 table cell ${k} must be a non-negative integer, got ${v}`);
  }
  if (t.a + t.b === 0 || t.c + t.d === 0) throw new StrataError('INPUT_INVALID', 'a 2x2 table needs users in both rows');
}

/** The two-sided normal quantile for an interval at 1 - alpha. */
export function twoSidedZ(alpha: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new StrataError('INPUT_INVALID', `alpha must be in (0, 1), got ${alpha}`);
  return zQuantile(1 - alpha / 2);
}

/** Katz's log interval of the risk ratio (a/n1)/(c/n0); null when a or c is 0. */
export function riskRatioKatz(t: TwoByTwo, z: number): { readonly ratio: number | null; readonly ci: Interval | null } {
  const n1 = t.a + t.b;
  const n0 = t.c + t.d;
  const ratio = t.c === 0 ? null : t.a / n1 / (t.c / n0);
  if (t.a === 0 || t.c === 0 || ratio === null) return { ratio, ci: null };
  const se = Math.sqrt(1 / t.a - 1 / n1 + 1 / t.c - 1 / n0);
  const log = Math.log(ratio);
  return { ratio, ci: [Math.exp(log - z * se), Math.exp(log + z * se)] };
}

/** Wilson's score interval of x successes in n (Wilson 1927). */
export function wilsonInterval(x: number, n: number, z: number): Interval {
  const z2 = z * z;
  const center = (x + z2 / 2) / (n + z2);
  const half = (z * Math.sqrt((x * (n - x)) / n + z2 / 4)) / (n + z2);
  return [Math.max(0, center - half), Math.min(1, center + half)];
}

/** Newcombe's hybrid score interval of x1/n1 - x0/n0 (method 10). */
export function newcombeDifference(x1: number, n1: number, x0: number, n0: number, z: number): { readonly difference: number; readonly ci: Interval } {
  const p1 = x1 / n1;
  const p0 = x0 / n0;
  const [l1, u1] = wilsonInterval(x1, n1, z);
  const [l0, u0] = wilsonInterval(x0, n0, z);
  const d = p1 - p0;
  return { difference: d, ci: [d - Math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + Math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)] };
}

/** The phi coefficient; 0 when a margin is empty (no association can be seen). */
export function phiCoefficient(t: TwoByTwo): number {
  const denominator = Math.sqrt((t.a + t.b) * (t.c + t.d) * (t.a + t.c) * (t.b + t.d));
  return denominator === 0 ? 0 : (t.a * t.d - t.b * t.c) / denominator;
}

/** Fisher's z interval of a correlation r from N pairs. */
export function fisherZInterval(r: number, n: number, z: number): Interval {
  if (n <= 3) return [-1, 1];
  const center = Math.atanh(r);
  const half = z / Math.sqrt(n - 3);
  return [Math.tanh(center - half), Math.tanh(center + half)];
}

/** Pearson's chi-square without continuity correction; 0 when a margin is empty. */
export function pearsonChiSquare(t: TwoByTwo): number {
  const n = t.a + t.b + t.c + t.d;
  const margins = (t.a + t.b) * (t.c + t.d) * (t.a + t.c) * (t.b + t.d);
  if (margins === 0) return 0;
  const cross = t.a * t.d - t.b * t.c;
  // Divided step by step: N (ad - bc)² overflows no double, but keeps more bits this way.
  return (((n * cross) / ((t.a + t.b) * (t.c + t.d))) * cross) / ((t.a + t.c) * (t.b + t.d));
}

/** The upper tail of chi-square with 1 df. */
export function chiSquarePValue(chiSquare: number): number {
  return chiSquare <= 0 ? 1 : gammainc(chiSquare / 2, 0.5, true, true);
}

/**
 * Fisher's exact test, two-sided: the null probability (margins fixed, hypergeometric) of
 * every table whose probability is at most the observed one's times 1 + 1e-7. Summed
 * relative to the largest term and divided by the whole support's sum, so the lgamma
 * constants cancel.
 */
export function fisherExactPValue(t: TwoByTwo): number {
  const n1 = t.a + t.b;
  const n0 = t.c + t.d;
  const m1 = t.a + t.c;
  const lo = Math.max(0, m1 - n0);
  const hi = Math.min(n1, m1);
  const logP = (x: number) => -(gammaln(x + 1) + gammaln(n1 - x + 1) + gammaln(m1 - x + 1) + gammaln(n0 - m1 + x + 1));
  const logs = new Float64Array(hi - lo + 1);
  let max = -Infinity;
  for (let x = lo; x <= hi; x++) {
    const v = logP(x);
    logs[x - lo] = v;
    if (v > max) max = v;
  }
  const observed = logs[t.a - lo]! + Math.log1p(1e-7);
  let total = 0;
  let tail = 0;
  for (const v of logs) {
    const w = Math.exp(v - max);
    total += w;
    if (v <= observed) tail += w;
  }
  return Math.min(1, tail / total);
}

/** The smallest expected count n·m/N of the table. */
export function smallestExpected(t: TwoByTwo): number {
  const n = t.a + t.b + t.c + t.d;
  const rows = [t.a + t.b, t.c + t.d];
  const cols = [t.a + t.c, t.b + t.d];
  return Math.min(...rows.flatMap((r) => cols.map((c) => (r * c) / n)));
}

/** Every statistic of a 2x2 table with intervals at 1 - alpha (see the header). */
export function tableStatistics(t: TwoByTwo, alpha: number): TableStatistics {
  checkTable(t);
  const z = twoSidedZ(alpha);
  const n1 = t.a + t.b;
  const n0 = t.c + t.d;
  const n = n1 + n0;
  const { ratio, ci } = riskRatioKatz(t, z);
  const diff = newcombeDifference(t.a, n1, t.c, n0, z);
  const phi = phiCoefficient(t);
  const chiSquare = pearsonChiSquare(t);
  const test: TableTest = smallestExpected(t) < 5 ? 'fisher' : 'chi-square';
  return {
    p1: t.a / n1,
    p0: t.c / n0,
    lift: ratio,
    liftCi: ci,
    difference: diff.difference,
    differenceCi: diff.ci,
    phi,
    phiCi: fisherZInterval(phi, n, z),
    test,
    chiSquare,
    pValue: test === 'fisher' ? fisherExactPValue(t) : chiSquarePValue(chiSquare),
  };
}
