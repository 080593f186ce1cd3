/**
 * Evaluation of probability scores against 0/1 labels, each defined as the named sklearn/numpy
 * computation (the tests run those as oracles):
 * - auc: the area under the ROC curve with tied scores as sklearn.metrics.roc_auc_score (the
 *   trapezoid across a tie group, i.e. Mann–Whitney with ties counted ½):
 *   AUC = Σ_groups neg_g · (pos_above_g + pos_g/2) / (P·N), in exact integer arithmetic.
 * - logLoss: sklearn.metrics.log_loss with eps = 2⁻⁵² (float64 eps, its 'auto'): p clipped to
 *   [eps, 1 − eps], mean of −log p (y = 1) or −log(1 − p) (y = 0).
 * - calibrationTable: sklearn.calibration.calibration_curve(strategy='quantile'): edges at the
 *   numpy percentiles (linear) of the scores at i/bins, bin = number of inner edges strictly
 *   below the score (np.searchsorted, side left), empty bins left out; plus each bin's count.
 * - liftTable: users sorted by score descending (stable: ties keep row order, as
 *   np.argsort(-score, kind='stable')), split into `groups` parts as np.array_split (the first
 *   n mod k parts one larger); per part its rate, lift = rate / overall rate, and cumulative
 *   gains = share of all positives in parts 1..k, cumulative lift = cumulative rate / overall.
 */
import { invalid } from './matrix.js';

export function auc(y: Uint8Array, score: Float64Array): number {
  checkScores(y, score);
  const order = sortedByScoreDescending(score);
  let positives = 0;
  let negatives = 0;
  // 2·Σ neg_g·pos_above + neg_g·pos_g keeps everything integral.
  let twiceArea = 0;
  for (let start = 0; start < order.length; ) {
    const s = score[order[start]!]!;
    let pos = 0;
    let neg = 0;
    let end = start;
    while (end < order.length && score[order[end]!] === s) {
      if (y[order[end]!] === 1) pos++;
      else neg++;
      end++;
    }
    twiceArea += neg * (2 * positives + pos);
    positives += pos;
    negatives += neg;
    start = end;
  }
  if (positives === 0 || negatives === 0) throw invalid('AUC is undefined when the labels hold only one class');
  return twiceArea / 2 / (positives * negatives);
}

export const LOG_LOSS_EPS = 2 ** -52;

export function logLoss(y: Uint8Array, probability: Float64Array): number {
  checkScores(y, probability);
  if (y.length === 0) throw invalid('log loss needs at least one row');
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    const p = Math.min(Math.max(probability[i]!, LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
    total -= y[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return total / y.length;
}

export interface CalibrationBin {
  /** 0-based bin index among all `bins` (empty bins are left out of the table). */
  readonly bin: number;
  readonly meanPredicted: number;
  readonly observedRate: number;
  readonly count: number;
}

export function calibrationTable(y: Uint8Array, probability: Float64Array, bins = 10): CalibrationBin[] {
  checkScores(y, probability);
  if (!Number.isInteger(bins) || bins < 1) throw invalid(`bins must be a positive integer, got ${bins}`);
  if (y.length === 0) throw invalid('a calibration table needs at least one row');
  const sorted = Float64Array.from(probability).sort();
  if (sorted[0]! < 0 || sorted[sorted.length - 1]! > 1) throw invalid('probabilities must lie in [0, 1]');
  // np.linspace(0, 1, bins + 1) * 100, then np.percentile divides by 100 again.
  const step = 1 / bins;
  const inner: number[] = [];
  for (let i = 1; i < bins; i++) inner.push(numpyPercentile(sorted, ((i * step) * 100) / 100));
  const sums = new Float64Array(bins);
  const trues = new Float64Array(bins);
  const counts = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const b = countBelow(inner, probability[i]!);
    sums[b]! += probability[i]!;
    trues[b]! += y[i]!;
    counts[b]!++;
  }
  const table: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (counts[b]! > 0) table.push({ bin: b, meanPredicted: sums[b]! / counts[b]!, observedRate: trues[b]! / counts[b]!, count: counts[b]! });
  }
  return table;
}

export interface LiftRow {
  /** 1 = the highest scores. */
  readonly group: number;
  readonly count: number;
  readonly positives: number;
  readonly minScore: number;
  readonly maxScore: number;
  readonly rate: number;
  readonly lift: number;
  /** Share of all positives in groups 1..group. */
  readonly cumulativeGains: number;
  readonly cumulativeLift: number;
}

export function liftTable(y: Uint8Array, score: Float64Array, groups = 10): LiftRow[] {
  checkScores(y, score);
  const n = y.length;
  if (!Number.isInteger(groups) || groups < 1 || groups > n) throw invalid(`groups must be an integer in [1, ${n}], got ${groups}`);
  const order = sortedByScoreDescending(score);
  let totalPositives = 0;
  for (let i = 0; i < n; i++) totalPositives += y[i]!;
  if (totalPositives === 0) throw invalid('lift is undefined when there are no positive labels');
  const overall = totalPositives / n;
  const base = Math.floor(n / groups);
  const extra = n % groups;
  const rows: LiftRow[] = [];
  let start = 0;
  let cumPositives = 0;
  for (let g = 0; g < groups; g++) {
    const size = base + (g < extra ? 1 : 0);
    let positives = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let k = start; k < start + size; k++) {
      const i = order[k]!;
      positives += y[i]!;
      min = Math.min(min, score[i]!);
      max = Math.max(max, score[i]!);
    }
    start += size;
    cumPositives += positives;
    const rate = positives / size;
    rows.push({
      group: g + 1,
      count: size,
      positives,
      minScore: min,
      maxScore: max,
      rate,
      lift: rate / overall,
      cumulativeGains: cumPositives / totalPositives,
      cumulativeLift: cumPositives / start / overall,
    });
  }
  return rows;
}

/** numpy.percentile(a, q·100) with the default linear method, a sorted; q in [0, 1]. */
export function numpyPercentile(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  // numpy's _compute_virtual_index with alpha = beta = 1.
  let h = n * q + (1 + q * (1 - 1 - 1)) - 1;
  h = Math.min(Math.max(h, 0), n - 1);
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const t = h - lo;
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** Row indices sorted by score descending, ties in row order. */
export function sortedByScoreDescending(score: Float64Array): Uint32Array {
  const order = new Uint32Array(score.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => score[b]! - score[a]! || a - b);
  return order;
}

function countBelow(edges: readonly number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function checkScores(y: Uint8Array, score: Float64Array): void {
  if (y.length !== score.length) throw invalid(`labels (${y.length}) and scores (${score.length}) differ in length`);
  for (let i = 0; i < score.length; i++) if (Number.isNaN(score[i])) throw invalid(`score ${i} is NaN`);
}
