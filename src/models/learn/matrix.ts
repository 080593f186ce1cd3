/**
 * The dense design matrix every learner reads: row-major Float64Array (row i, feature j at
 * i·p + j), with n rows, p features and their names; labels are a separate Uint8Array of 0/1.
 * Standardization stores means and population standard deviations (ddof 0, as sklearn's
 * StandardScaler); a constant column (sd 0) keeps sd 1, so it transforms to all zeros.
 */
import { StrataError } from '../../errors/errors.js';

export interface DesignMatrix {
  readonly n: number;
  readonly p: number;
  readonly names: readonly string[];
  /** Row-major values, length n·p. */
  readonly values: Float64Array;
}

export function designMatrix(values: Float64Array, n: number, names: readonly string[]): DesignMatrix {
  const p = names.length;
  if (!Number.isInteger(n) || n < 0) throw invalid(`n must be a non-negative integer, got ${n}`);
  if (values.length !== n * p) throw invalid(`values has length ${values.length}, expected n·p = ${n}·${p} = ${n * p}`);
  if (new Set(names).size !== p) throw invalid('feature names must be distinct');
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k]!)) {
      throw invalid(`row ${Math.floor(k / p)}, feature "${names[k % p]}" is ${values[k]}; features must be finite numbers`);
    }
  }
  return { n, p, names: [...names], values };
}

/** Builds a matrix from rows of numbers (tests and small inputs). */
export function matrixFromRows(rows: readonly (readonly number[])[], names: readonly string[]): DesignMatrix {
  const p = names.length;
  const values = new Float64Array(rows.length * p);
  rows.forEach((row, i) => {
    if (row.length !== p) throw invalid(`row ${i} has ${row.length} values, expected ${p}`);
    values.set(row, i * p);
  });
  return designMatrix(values, rows.length, names);
}

/** Checks labels are 0/1, one per row. */
export function checkLabels(x: DesignMatrix, y: Uint8Array): void {
  if (y.length !== x.n) throw invalid(`labels have length ${y.length}, expected one per row (${x.n})`);
  for (let i = 0; i < y.length; i++) if (y[i]! > 1) throw invalid(`label ${i} is ${y[i]}, expected 0 or 1`);
}

export interface Standardizer {
  readonly names: readonly string[];
  readonly means: Float64Array;
  /** Population standard deviations; 1 for a constant column. */
  readonly sds: Float64Array;
}

export function fitStandardizer(x: DesignMatrix): Standardizer {
  const { n, p, values } = x;
  const means = new Float64Array(p);
  const sds = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) means[j]! += values[i * p + j]!;
  for (let j = 0; j < p; j++) means[j] = n > 0 ? means[j]! / n : 0;
  // Two-pass variance: the sums of squared deviations, not E[x²] − mean², which cancels badly.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const d = values[i * p + j]! - means[j]!;
      sds[j]! += d * d;
    }
  }
  for (let j = 0; j < p; j++) {
    const sd = n > 0 ? Math.sqrt(sds[j]! / n) : 0;
    sds[j] = sd > 0 ? sd : 1;
  }
  return { names: [...x.names], means, sds };
}

export function standardize(s: Standardizer, x: DesignMatrix): DesignMatrix {
  if (x.p !== s.names.length || x.names.some((name, j) => name !== s.names[j])) {
    throw invalid(`the matrix's features (${x.names.join(', ')}) differ from the standardizer's (${s.names.join(', ')})`);
  }
  const { n, p, values } = x;
  const out = new Float64Array(values.length);
  for (let i = 0; i < n; i++) {
    const o = i * p;
    for (let j = 0; j < p; j++) out[o + j] = (values[o + j]! - s.means[j]!) / s.sds[j]!;
  }
  return { n, p, names: x.names, values: out };
}

/** The rows at the given indices, as a new matrix. */
export function selectRows(x: DesignMatrix, rows: ArrayLike<number>): DesignMatrix {
  const { p } = x;
  const out = new Float64Array(rows.length * p);
  for (let k = 0; k < rows.length; k++) out.set(x.values.subarray(rows[k]! * p, rows[k]! * p + p), k * p);
  return { n: rows.length, p, names: x.names, values: out };
}

export function invalid(message: string): StrataError {
  return new StrataError('INPUT_INVALID', message);
}
