/**
 * Exact quantiles over a frequency table (sorted distinct values with their counts: what
 * each part of the store sends, merged here), computed the way numpy.quantile does for the
 * methods RFM offers, so cut points match numpy and pandas to the bit:
 *
 * For n sorted values x[0..n-1] and a fraction p, h = (n - 1) * p (in doubles, as numpy):
 * - linear (numpy's and pandas' default): x[j] + (h - j) * (x[j+1] - x[j]), j = floor(h),
 *   computed as numpy's `_lerp` does (from the upper end when h - j >= 0.5);
 * - lower: x[floor(h)]; higher: x[ceil(h)]; nearest: x[round(h)], halves to even (np.around);
 * - midpoint: x[h] when h is whole, else halfway between x[floor(h)] and x[ceil(h)].
 *
 * Scores use cut points at the i/k quantiles, i = 1..k-1, with right-closed bins as
 * pandas.qcut: score = 1 + the number of cut points strictly below the value (value <= c1
 * gives 1, c1 < value <= c2 gives 2, ...). Equal cut points (many tied values) leave a band
 * empty rather than renumbering the bands (pandas.qcut fails on them, or renumbers with
 * duplicates='drop'), so a score always names the same quantile band.
 */

export const QUANTILE_METHODS = ['linear', 'lower', 'higher', 'nearest', 'midpoint'] as const;
export type QuantileMethod = (typeof QUANTILE_METHODS)[number];

/** Distinct values in ascending order, each with how many users have it. */
export interface FrequencyTable {
  readonly values: readonly number[];
  readonly counts: readonly number[];
  /** The number of values counted (the sum of counts). */
  readonly n: number;
}

/** Merge (value, count) pairs from any number of parts into one table. */
export function frequencyTable(pairs: Iterable<readonly [number, number]>): FrequencyTable {
  const byValue = new Map<number, number>();
  for (const [v, c] of pairs) {
    if (!Number.isFinite(v)) continue;
    // -0 and 0 are one value.
    const key = v === 0 ? 0 : v;
    byValue.set(key, (byValue.get(key) ?? 0) + c);
  }
  const values = [...byValue.keys()].sort((a, b) => a - b);
  const counts = values.map((v) => byValue.get(v)!);
  return { values, counts, n: counts.reduce((a, b) => a + b, 0) };
}

/** A frequency table with fast access to the value at a rank. */
class RankedValues {
  private readonly ends: number[] = [];

  constructor(private readonly table: FrequencyTable) {
    let total = 0;
    for (const c of table.counts) {
      total += c;
      this.ends.push(total);
    }
  }

  /** The value at 0-based rank `i` of the sorted sample. */
  at(i: number): number {
    let lo = 0;
    let hi = this.ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid]! > i) hi = mid;
      else lo = mid + 1;
    }
    return this.table.values[lo]!;
  }
}

/** numpy's `_lerp`: a + (b - a) t, or b - (b - a)(1 - t) when t >= 0.5, for a result exact at both ends. */
function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** np.around: the nearest integer, halves to the even one. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** numpy.quantile(sample, p, method) for the sample a frequency table describes; null when it is empty. */
export function quantile(table: FrequencyTable, p: number, method: QuantileMethod): number | null {
  return quantiles(table, [p], method)[0]!;
}

/** quantile() at several fractions, sharing one rank index. */
export function quantiles(table: FrequencyTable, ps: readonly number[], method: QuantileMethod): (number | null)[] {
  if (table.n === 0) return ps.map(() => null);
  const ranked = new RankedValues(table);
  const last = table.n - 1;
  const at = (i: number) => ranked.at(Math.min(Math.max(i, 0), last));
  return ps.map((p) => {
    const h = last * p;
    switch (method) {
      case 'lower':
        return at(Math.floor(h));
      case 'higher':
        return at(Math.ceil(h));
      case 'nearest':
        return at(roundHalfEven(h));
      case 'midpoint': {
        const j = Math.floor(h);
        return j === h ? at(j) : lerp(at(j), at(j + 1), 0.5);
      }
      case 'linear': {
        if (h >= last) return at(last);
        const j = Math.floor(h);
        return lerp(at(j), at(j + 1), h - j);
      }
    }
  });
}

/** The cut points of `levels` scores: the i/levels quantiles, i = 1..levels-1; [] for an empty sample. */
export function cutPoints(table: FrequencyTable, levels: number, method: QuantileMethod): number[] {
  if (table.n === 0) return [];
  const ps = Array.from({ length: levels - 1 }, (_, i) => (i + 1) / levels);
  return quantiles(table, ps, method) as number[];
}

/** The band a value falls in: 1 + the number of cut points strictly below it (right-closed bins). */
export function bandOf(value: number, cuts: readonly number[]): number {
  let band = 1;
  for (const c of cuts) if (c < value) band++;
  return band;
}

/** Mean, median (as numpy.median), min and max of a frequency table; nulls when it is empty. */
export function describeTable(table: FrequencyTable): { readonly mean: number | null; readonly median: number | null; readonly min: number | null; readonly max: number | null } {
  if (table.n === 0) return { mean: null, median: null, min: null, max: null };
  let sum = 0;
  table.values.forEach((v, i) => {
    sum += v * table.counts[i]!;
  });
  return { mean: sum / table.n, median: median(table), min: table.values[0]!, max: table.values[table.values.length - 1]! };
}

/** numpy.median: the middle value, or the mean of the two middle values ((a + b) / 2, as np.mean adds them). */
function median(table: FrequencyTable): number {
  const ranked = new RankedValues(table);
  const mid = Math.floor(table.n / 2);
  return table.n % 2 === 1 ? ranked.at(mid) : (ranked.at(mid - 1) + ranked.at(mid)) / 2;
}
