/**
 * The numeric input of clustering: a dense row-major matrix of Float64 values (one row per
 * user, one column per feature), so the hot loops index one flat typed array.
 */
import { StrataError } from '../../errors/errors.js';

export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** Row-major: value (i, j) is `data[i * cols + j]`. */
  readonly data: Float64Array;
}

export function matrix(rows: number, cols: number, data: Float64Array = new Float64Array(rows * cols)): Matrix {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 1) {
    throw new StrataError('INPUT_INVALID', `a matrix needs a whole number of rows (>= 0) and columns (>= 1), got ${rows} x ${cols}`);
  }
  if (data.length !== rows * cols) {
    throw new StrataError('INPUT_INVALID', `a ${rows} x ${cols} matrix needs ${rows * cols} values, got ${data.length}`);
  }
  return { rows, cols, data };
}

/** From an array of rows (tests and small inputs). */
export function matrixFromRows(rows: readonly (readonly number[])[]): Matrix {
  const cols = rows[0]?.length ?? 0;
  const data = new Float64Array(rows.length * cols);
  rows.forEach((row, i) => {
    if (row.length !== cols) throw new StrataError('INPUT_INVALID', `row ${i} has ${row.length} values, expected ${cols}`);
    data.set(row, i * cols);
  });
  return matrix(rows.length, cols, data);
}

/** The rows at `indices`, copied into a new matrix. */
export function selectRows(m: Matrix, indices: ArrayLike<number>): Matrix {
  const out = new Float64Array(indices.length * m.cols);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r]!;
    out.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), r * m.cols);
  }
  return matrix(indices.length, m.cols, out);
}

/** Throws unless every value is finite (NaN or Infinity would silently poison every distance). */
export function assertFinite(m: Matrix, what: string): void {
  const d = m.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]!)) {
      const row = Math.floor(i / m.cols);
      throw new StrataError('INPUT_INVALID', `${what}: row ${row}, column ${i - row * m.cols} is ${d[i]}, expected a finite number`);
    }
  }
}

/** Squared Euclidean distance between row i of `a` and row j of `b` (same width). */
export function squaredDistance(a: Float64Array, i: number, b: Float64Array, j: number, cols: number): number {
  let s = 0;
  const ai = i * cols;
  const bj = j * cols;
  for (let f = 0; f < cols; f++) {
    const t = a[ai + f]! - b[bj + f]!;
    s += t * t;
  }
  return s;
}
