/**
 * The adjusted Rand index of two labelings of the same rows, as scikit-learn 1.2's
 * `adjusted_rand_score` computes it: from the pair confusion matrix (pairs together in both,
 * in one only, in neither), 2(tp·tn − fn·fp) / ((tp+fn)(fn+tn) + (tp+fp)(fp+tn)), and 1 when
 * no pair is split differently. Label values are arbitrary integers; only the partition counts.
 */
import { StrataError } from '../../errors/errors.js';

export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new StrataError('INPUT_INVALID', `the labelings have ${a.length} and ${b.length} rows`);
  const n = a.length;
  const cells = new Map<string, number>();
  const rowsA = new Map<number, number>();
  const rowsB = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = `${a[i]}\u0000${b[i]}`;
    cells.set(key, (cells.get(key) ?? 0) + 1);
    rowsA.set(a[i]!, (rowsA.get(a[i]!) ?? 0) + 1);
    rowsB.set(b[i]!, (rowsB.get(b[i]!) ?? 0) + 1);
  }
  let sumSquares = 0;
  for (const v of cells.values()) sumSquares += v * v;
  let squaresA = 0;
  for (const v of rowsA.values()) squaresA += v * v;
  let squaresB = 0;
  for (const v of rowsB.values()) squaresB += v * v;
  // Ordered pairs, as sklearn's pair_confusion_matrix (the factor 2 cancels in the ratio).
  const tp = sumSquares - n;
  const fp = squaresB - sumSquares;
  const fn = squaresA - sumSquares;
  const tn = n * n - fp - fn - sumSquares;
  if (fn === 0 && fp === 0) return 1;
  return (2 * (tp * tn - fn * fp)) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}
