/**
 * The assignment step with Hamerly's bounds (Hamerly 2010, "Making k-means even faster"): the
 * same labels as plain Lloyd assignment, computing far fewer distances once centroids settle.
 * Per row it keeps an upper bound on the distance to its centroid and a lower bound on the
 * distance to every other centroid; after centroids move by δ the upper bound grows by its
 * centroid's δ and the lower bound shrinks by the largest δ. A row whose upper bound is below
 * max(lower bound, half the distance from its centroid to the nearest other centroid) cannot
 * change cluster and is skipped; otherwise its upper bound is made exact, and only if the test
 * still fails are all k distances computed.
 *
 * Distances here are exact (Σ(x − c)², then √), not the |c|² − 2x·c form, so a row within about
 * 1e-12 (relative) of two centroids may be labelled differently than by sklearn; skips keep a
 * 1e-9 relative margin so rounding never skips a row that should move.
 *
 * Per-cluster sums of rows are kept up to date by moving only the rows that changed cluster (the
 * full pass over every row was most of an iteration's time once bounds skip most rows); they are
 * recomputed from scratch in row order on the first pass and whenever more than 1/8 of the rows
 * moved, so the drift of the incremental updates stays at the last bits of the centroids.
 */
import type { AssignResult, Assigner } from './parallel-assign.js';

const MARGIN = 1 - 1e-9;

export class BoundedAssigner implements Assigner {
  readonly labels: Int32Array;
  private readonly upper: Float64Array;
  private readonly lower: Float64Array;
  private readonly previous: Float64Array;
  private readonly half: Float64Array;
  private readonly move: Float64Array;
  /** Sums of rows and counts per cluster, matching `labels`. */
  private readonly sums: Float64Array;
  private readonly counts: Float64Array;
  private readonly result: AssignResult;
  private started = false;

  constructor(
    private readonly data: Float64Array,
    private readonly rows: number,
    private readonly cols: number,
    private readonly k: number,
  ) {
    this.labels = new Int32Array(rows);
    this.upper = new Float64Array(rows);
    this.lower = new Float64Array(rows);
    this.previous = new Float64Array(k * cols);
    this.half = new Float64Array(k);
    this.move = new Float64Array(k);
    this.sums = new Float64Array(k * cols);
    this.counts = new Float64Array(k);
    this.result = { sums: new Float64Array(k * cols), counts: new Float64Array(k) };
  }

  assign(centers: Float64Array, withSums: boolean): AssignResult {
    const { data, rows, cols, k, labels, upper, lower, sums, counts } = this;
    const incremental = this.started;
    const maxMove = incremental ? this.updateMoves(centers) : 0;
    this.halfGaps(centers);
    let moved = 0;
    for (let i = 0; i < rows; i++) {
      const o = i * cols;
      const a = labels[i]!;
      if (incremental) {
        upper[i]! += this.move[a]!;
        lower[i]! -= maxMove;
        const bound = Math.max(this.half[a]!, lower[i]!) * MARGIN;
        if (upper[i]! <= bound) continue;
        upper[i] = distance(data, o, centers, a * cols, cols);
        if (upper[i]! <= bound) continue;
      }
      let best = Infinity;
      let second = Infinity;
      let bestC = 0;
      for (let c = 0; c < k; c++) {
        const d = distance(data, o, centers, c * cols, cols);
        if (d < best) {
          second = best;
          best = d;
          bestC = c;
        } else if (d < second) {
          second = d;
        }
      }
      labels[i] = bestC;
      upper[i] = best;
      lower[i] = second;
      if (incremental && bestC !== a) {
        moved++;
        counts[a]! -= 1;
        counts[bestC]! += 1;
        const from = a * cols;
        const to = bestC * cols;
        for (let f = 0; f < cols; f++) {
          const v = data[o + f]!;
          sums[from + f]! -= v;
          sums[to + f]! += v;
        }
      }
    }
    if (!incremental || moved * 8 > rows) this.recomputeSums();
    this.started = true;
    this.previous.set(centers);
    // Copies: the caller may adjust them (empty-cluster relocation) without touching our state.
    this.result.counts.set(counts);
    if (withSums) this.result.sums.set(sums);
    else this.result.sums.fill(0);
    return this.result;
  }

  private recomputeSums(): void {
    const { data, rows, cols, labels, sums, counts } = this;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < rows; i++) {
      const c = labels[i]!;
      counts[c]! += 1;
      const so = c * cols;
      const o = i * cols;
      for (let f = 0; f < cols; f++) sums[so + f]! += data[o + f]!;
    }
  }

  /** How far each centroid moved since the last pass; returns the largest move. */
  private updateMoves(centers: Float64Array): number {
    let max = 0;
    for (let c = 0; c < this.k; c++) {
      const d = distance(centers, c * this.cols, this.previous, c * this.cols, this.cols);
      this.move[c] = d;
      max = Math.max(max, d);
    }
    return max;
  }

  /** Half the distance from each centroid to its nearest other centroid. */
  private halfGaps(centers: Float64Array): void {
    const { k, cols } = this;
    this.half.fill(Infinity);
    for (let a = 0; a < k; a++) {
      for (let b = a + 1; b < k; b++) {
        const d = distance(centers, a * cols, centers, b * cols, cols) / 2;
        if (d < this.half[a]!) this.half[a] = d;
        if (d < this.half[b]!) this.half[b] = d;
      }
    }
  }

  close(): void {}
}

function distance(a: Float64Array, ao: number, b: Float64Array, bo: number, cols: number): number {
  let s = 0;
  for (let f = 0; f < cols; f++) {
    const t = a[ao + f]! - b[bo + f]!;
    s += t * t;
  }
  return Math.sqrt(s);
}
