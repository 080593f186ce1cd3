/**
 * Standardization (z-scores) before clustering, as scikit-learn's StandardScaler: mean and
 * population standard deviation (ddof 0) per column. A constant column keeps scale 1, so it
 * standardizes to all zeros: it is kept (column indices stay those of the features) but adds
 * nothing to any distance. `constant` lists those columns.
 */
import type { Matrix } from './matrix.js';
import { matrix } from './matrix.js';

export interface Scaler {
  readonly mean: Float64Array;
  /** Population standard deviation; 1 for a constant column. */
  readonly scale: Float64Array;
  /** Column indices whose values were all equal (standardized to 0). */
  readonly constant: readonly number[];
}

/** Below this relative spread a column counts as constant (floating-point noise around one value). */
const CONSTANT_EPS = 1e-12;

export function fitScaler(m: Matrix): Scaler {
  const { rows, cols, data } = m;
  const mean = new Float64Array(cols);
  const scale = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) mean[j]! += data[o + j]!;
  }
  for (let j = 0; j < cols; j++) mean[j] = rows > 0 ? mean[j]! / rows : 0;
  // Two-pass variance: sums of squared deviations, exact enough for counts in the millions.
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      const t = data[o + j]! - mean[j]!;
      scale[j]! += t * t;
    }
  }
  const constant: number[] = [];
  for (let j = 0; j < cols; j++) {
    const sd = rows > 0 ? Math.sqrt(scale[j]! / rows) : 0;
    if (sd <= CONSTANT_EPS * Math.max(1, Math.abs(mean[j]!))) {
      scale[j] = 1;
      constant.push(j);
    } else {
      scale[j] = sd;
    }
  }
  return { mean, scale, constant };
}

export function standardize(m: Matrix, s: Scaler): Matrix {
  const { rows, cols, data } = m;
  const out = new Float64Array(rows * cols);
  const constant = new Uint8Array(cols);
  for (const j of s.constant) constant[j] = 1;
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) out[o + j] = constant[j] ? 0 : (data[o + j]! - s.mean[j]!) / s.scale[j]!;
  }
  return matrix(rows, cols, out);
}

/** Standardized values back to original units (centroids for reports and for the next refresh). */
export function unstandardize(m: Matrix, s: Scaler): Matrix {
  const { rows, cols, data } = m;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) out[o + j] = data[o + j]! * s.scale[j]! + s.mean[j]!;
  }
  return matrix(rows, cols, out);
}

/** `log1p` of every value, for skewed counts before standardizing (negative values are clamped to 0). */
export function log1pMatrix(m: Matrix): Matrix {
  const out = new Float64Array(m.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.log1p(Math.max(0, m.data[i]!));
  return matrix(m.rows, m.cols, out);
}
