/**
 * Exact quantiles from frequency tables, the sufficient statistic a sharded store can merge:
 * each part counts users per value, the counts add up, and the quantile is read off the
 * merged table with the same definition as DuckDB's quantile_cont (numpy's default
 * "linear"): for n sorted values x_0..x_{n-1} and fraction p, h = (n - 1) p, f = h - floor(h)
 * and q = (1 - f) x_floor(h) + f x_ceil(h), computed in that form, which is DuckDB's to the
 * last bit (lo + f (hi - lo) can differ in the last place).
 */

/** value -> how many users have it. */
export type FrequencyTable = Map<number, number>;

export function addFrequency(table: FrequencyTable, value: number, count: number): void {
  table.set(value, (table.get(value) ?? 0) + count);
}

/** The quantiles at `fractions` of the values counted in `table`; null when it is empty. */
export function quantilesOf(table: FrequencyTable, fractions: readonly number[]): number[] | null {
  const values = [...table.keys()].sort((a, b) => a - b);
  const counts = values.map((v) => table.get(v)!);
  const total = counts.reduce((s, c) => s + c, 0);
  if (total === 0) return null;
  // ends[i]: rank (0-based) of the last copy of values[i].
  const ends: number[] = [];
  let acc = 0;
  for (const c of counts) {
    acc += c;
    ends.push(acc - 1);
  }
  const at = (rank: number): number => {
    let lo = 0;
    let hi = ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid]! < rank) lo = mid + 1;
      else hi = mid;
    }
    return values[lo]!;
  };
  return fractions.map((p) => {
    const h = (total - 1) * p;
    const below = Math.floor(h);
    const above = Math.ceil(h);
    const lo = at(below);
    if (above === below) return lo;
    const hi = at(above);
    const f = h - below;
    return lo * (1 - f) + hi * f;
  });
}
