/**
 * Silhouette coefficients (Rousseeuw 1987) as scikit-learn 1.2's `silhouette_score` computes them
 * with the Euclidean metric: for row i, a = mean distance to the other rows of its cluster,
 * b = the smallest mean distance to the rows of another cluster, s = (b − a) / max(a, b), and 0 for
 * a row alone in its cluster; the score is the mean of s.
 *
 * Exact on up to `sampleSize` rows (default 10,000: 5·10⁷ pairs, a few seconds); above that, on a
 * seeded uniform sample of that many rows, the distances taken within the sample (what sklearn's
 * `sample_size` does). Several labelings of the same rows (one per candidate k) share one pass
 * over the pairs, so choosing k costs one distance computation.
 */
import { StrataError } from '../../errors/errors.js';
import type { Matrix } from './matrix.js';
import { selectRows } from './matrix.js';
import { SeededRandom } from './random.js';

export const SILHOUETTE_SAMPLE_SIZE = 10_000;

export interface SilhouetteOptions {
  /** Rows above which a sample is scored (default 10,000). */
  readonly sampleSize?: number;
  readonly seed?: number;
}

/** Mean silhouette of each labeling over all rows of x (exact, O(n²·cols)); NaN when a labeling has fewer than 2 clusters or n − 1 or more. */
export function silhouetteExact(x: Matrix, labelings: readonly Int32Array[]): number[] {
  const { rows, cols, data } = x;
  for (const labels of labelings) {
    if (labels.length !== rows) throw new StrataError('INPUT_INVALID', `a labeling has ${labels.length} rows, the data ${rows}`);
  }
  const widths = labelings.map((labels) => {
    let max = -1;
    for (let i = 0; i < rows; i++) max = Math.max(max, labels[i]!);
    return max + 1;
  });
  // sums[l][i * width + c]: total distance from row i to the rows of cluster c under labeling l.
  const sums = labelings.map((_, l) => new Float64Array(rows * widths[l]!));
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = i + 1; j < rows; j++) {
      const p = j * cols;
      let s = 0;
      for (let f = 0; f < cols; f++) {
        const t = data[o + f]! - data[p + f]!;
        s += t * t;
      }
      const d = Math.sqrt(s);
      for (let l = 0; l < labelings.length; l++) {
        const labels = labelings[l]!;
        const w = widths[l]!;
        const sl = sums[l]!;
        sl[i * w + labels[j]!]! += d;
        sl[j * w + labels[i]!]! += d;
      }
    }
  }
  return labelings.map((labels, l) => meanSilhouette(labels, widths[l]!, sums[l]!));
}

function meanSilhouette(labels: Int32Array, width: number, sums: Float64Array): number {
  const n = labels.length;
  const sizes = new Float64Array(width);
  for (let i = 0; i < n; i++) sizes[labels[i]!]! += 1;
  let present = 0;
  for (let c = 0; c < width; c++) if (sizes[c]! > 0) present++;
  if (present < 2 || present > n - 1) return NaN;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const own = labels[i]!;
    if (sizes[own]! <= 1) continue; // sklearn: 0 for a row alone in its cluster
    const a = sums[i * width + own]! / (sizes[own]! - 1);
    let b = Infinity;
    for (let c = 0; c < width; c++) {
      if (c === own || sizes[c] === 0) continue;
      b = Math.min(b, sums[i * width + c]! / sizes[c]!);
    }
    const m = Math.max(a, b);
    total += m > 0 ? (b - a) / m : 0;
  }
  return total / n;
}

/** The rows silhouettes are computed on: all of them, or a seeded sample of `sampleSize` (sorted indices). */
export function silhouetteRows(rows: number, options: SilhouetteOptions = {}): Uint32Array | null {
  const size = options.sampleSize ?? SILHOUETTE_SAMPLE_SIZE;
  if (!Number.isInteger(size) || size < 2) throw new StrataError('INPUT_INVALID', `the silhouette sample size must be a whole number >= 2, got ${size}`);
  if (rows <= size) return null;
  return new SeededRandom(options.seed ?? 0).sampleIndices(rows, size);
}

/** Mean silhouette of each labeling: exact up to the sample size, else on the seeded sample. */
export function silhouetteScores(x: Matrix, labelings: readonly Int32Array[], options: SilhouetteOptions = {}): number[] {
  const sample = silhouetteRows(x.rows, options);
  if (sample === null) return silhouetteExact(x, labelings);
  const sub = selectRows(x, sample);
  const subLabelings = labelings.map((labels) => {
    const out = new Int32Array(sample.length);
    for (let r = 0; r < sample.length; r++) out[r] = labels[sample[r]!]!;
    return out;
  });
  return silhouetteExact(sub, subLabelings);
}
