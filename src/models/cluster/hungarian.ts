/**
 * Minimum-cost assignment (the Hungarian method, Kuhn–Munkres with potentials, O(n²m)) on a
 * rectangular cost matrix. Hand-written (50 lines, held to scipy's linear_sum_assignment and
 * brute force in the tests) rather than a dependency: persona matching needs a few dozen rows.
 */
import { StrataError } from '../../errors/errors.js';

/** For each row, the column assigned to it (-1 when there are more rows than columns and the row is left out). Minimizes the total cost. */
export function minimumCostAssignment(cost: readonly (readonly number[])[]): number[] {
  const n = cost.length;
  const m = n === 0 ? 0 : cost[0]!.length;
  for (const [i, row] of cost.entries()) {
    if (row.length !== m) throw new StrataError('INPUT_INVALID', `cost row ${i} has ${row.length} values, expected ${m}`);
    for (const v of row) if (!Number.isFinite(v)) throw new StrataError('INPUT_INVALID', `cost row ${i} holds ${v}, expected finite numbers`);
  }
  if (n === 0 || m === 0) return new Array<number>(n).fill(-1);
  if (n > m) {
    const transposed = Array.from({ length: m }, (_, j) => cost.map((row) => row[j]!));
    const colOfRow = new Array<number>(n).fill(-1);
    minimumCostAssignment(transposed).forEach((i, j) => {
      if (i >= 0) colOfRow[i] = j;
    });
    return colOfRow;
  }
  return assignRowsToColumns(cost, n, m);
}

/** n <= m: every row gets a column. 1-based potentials u (rows), v (columns); p[j] = row holding column j. */
function assignRowsToColumns(cost: readonly (readonly number[])[], n: number, m: number): number[] {
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1);
  const way = new Int32Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Infinity);
    const used = new Uint8Array(m + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = cost[i0 - 1]![j - 1]! - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minv[j]! -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const colOfRow = new Array<number>(n).fill(-1);
  for (let j = 1; j <= m; j++) if (p[j]! > 0) colOfRow[p[j]! - 1] = j - 1;
  return colOfRow;
}
