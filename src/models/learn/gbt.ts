/**
 * Gradient-boosted decision trees for binary log loss, histogram based as LightGBM and
 * sklearn's HistGradientBoostingClassifier (whose defaults these follow):
 * - Binning: per feature at most `maxBins` (≤ 255) bins. With at most maxBins distinct values
 *   the thresholds are the midpoints between consecutive distinct values; otherwise the
 *   numpy 'midpoint' percentiles at 100·k/maxBins, k = 1..maxBins−1, of (a seeded subsample
 *   of 200,000 rows of) the column, deduplicated. A value goes to bin = number of thresholds
 *   strictly below it, so bin b holds t[b−1] < x ≤ t[b] and a split "bin ≤ b" is "x ≤ t[b]".
 * - Boosting: raw score F starts at log(ȳ/(1−ȳ)); each round fits one tree to the gradients
 *   g = σ(F) − y and hessians h = σ(F)(1 − σ(F)).
 * - Trees grow leaf-wise (best first) until `maxLeafNodes` leaves, with optional `maxDepth`;
 *   a split needs `minSamplesLeaf` rows and hessian ≥ 1e-3 on each side and a positive gain
 *     gain = G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)     (λ = l2Regularization).
 *   Node values are −G/(H+λ)·learningRate (leaves are the shrunk Newton step). A child's
 *   histogram is built for the smaller child and the larger one is the parent's minus it.
 * - Early stopping (optional): a seeded `validationFraction` of rows is held out; training
 *   stops when none of the last `nIterNoChange` rounds improved the validation log loss of
 *   the round nIterNoChange before them by more than `tol` (sklearn's rule; rounds kept).
 * Everything is deterministic: fixed seeds, fixed orders, ties broken by lowest feature/bin.
 */
import { checkLabels, invalid, type DesignMatrix } from './matrix.js';
import { sigmoid } from './logistic.js';

export interface GbtOptions {
  readonly learningRate?: number;
  readonly maxIter?: number;
  readonly maxLeafNodes?: number;
  readonly maxDepth?: number | null;
  readonly minSamplesLeaf?: number;
  readonly l2Regularization?: number;
  readonly maxBins?: number;
  readonly earlyStopping?: boolean;
  readonly validationFraction?: number;
  readonly nIterNoChange?: number;
  readonly tol?: number;
  readonly seed?: number;
}

/** One tree as parallel arrays; node 0 is the root; a leaf has feature −1. */
export interface Tree {
  readonly feature: Int32Array;
  /** Go left when x[feature] ≤ threshold. */
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** −G/(H+λ)·learningRate, for every node (internal ones too, for path contributions). */
  readonly value: Float64Array;
  /** Split gain (0 at leaves). */
  readonly gain: Float64Array;
  readonly count: Int32Array;
}

export interface GbtModel {
  readonly kind: 'gbt';
  readonly names: readonly string[];
  readonly baseline: number;
  readonly learningRate: number;
  readonly trees: readonly Tree[];
  /** Training log loss after each round (index 0: the baseline alone). */
  readonly trainLoss: readonly number[];
  /** Validation log loss after each round when early stopping ran. */
  readonly validationLoss: readonly number[] | null;
}

interface Settings {
  readonly learningRate: number;
  readonly maxIter: number;
  readonly maxLeafNodes: number;
  readonly maxDepth: number;
  readonly minSamplesLeaf: number;
  readonly lambda: number;
  readonly maxBins: number;
}

const MIN_HESSIAN = 1e-3;
const BINNING_SUBSAMPLE = 200_000;

export function fitGbt(x: DesignMatrix, y: Uint8Array, options: GbtOptions = {}): GbtModel {
  checkLabels(x, y);
  const s = settings(options);
  const thresholds = findBinThresholds(x, s.maxBins, options.seed ?? 0);
  let train = allRows(x.n);
  let validation: Uint32Array | null = null;
  if (options.earlyStopping) [train, validation] = splitValidation(y, options.validationFraction ?? 0.1, options.seed ?? 0);
  if (train.length === 0) throw invalid('no training rows');
  const binned = binRows(x, thresholds);
  let positives = 0;
  for (const i of train) positives += y[i]!;
  const mean = positives / train.length;
  if (mean === 0 || mean === 1) throw invalid('gradient boosting needs both classes among the training rows');
  const baseline = Math.log(mean / (1 - mean));
  const raw = new Float64Array(x.n).fill(baseline);
  const trees: Tree[] = [];
  const trainLoss = [rawLogLoss(y, raw, train)];
  const validationLoss = validation ? [rawLogLoss(y, raw, validation)] : null;
  const grad = new Float64Array(x.n);
  const hess = new Float64Array(x.n);
  for (let round = 0; round < s.maxIter; round++) {
    for (const i of train) {
      const q = sigmoid(raw[i]!);
      grad[i] = q - y[i]!;
      hess[i] = q * (1 - q);
    }
    const grown = growTree(binned, x.p, thresholds, grad, hess, train, s);
    trees.push(grown.tree);
    // Training rows get their leaf's value directly; held-out rows walk the tree.
    for (const [leaf, rows] of grown.leafRows) {
      const v = grown.tree.value[leaf]!;
      for (const i of rows) raw[i]! += v;
    }
    if (validation) for (const i of validation) raw[i]! += binnedTreeValue(grown.tree, grown.splitBins, binned, x.p, i);
    trainLoss.push(rawLogLoss(y, raw, train));
    if (validation && validationLoss) {
      validationLoss.push(rawLogLoss(y, raw, validation));
      if (shouldStop(validationLoss, options.nIterNoChange ?? 10, options.tol ?? 1e-7)) break;
    }
  }
  return { kind: 'gbt', names: [...x.names], baseline, learningRate: s.learningRate, trees, trainLoss, validationLoss };
}

export function gbtDecision(model: GbtModel, x: DesignMatrix): Float64Array {
  checkNames(model.names, x);
  const out = new Float64Array(x.n);
  for (let i = 0; i < x.n; i++) {
    let f = model.baseline;
    for (const tree of model.trees) f += tree.value[leafOf(tree, x.values, i * x.p)]!;
    out[i] = f;
  }
  return out;
}

export function predictGbt(model: GbtModel, x: DesignMatrix): Float64Array {
  const raw = gbtDecision(model, x);
  for (let i = 0; i < raw.length; i++) raw[i] = sigmoid(raw[i]!);
  return raw;
}

/** The leaf a row (starting at `offset` in row-major `values`) falls into. */
export function leafOf(tree: Tree, values: Float64Array, offset: number): number {
  let node = 0;
  while (tree.feature[node]! >= 0) {
    node = values[offset + tree.feature[node]!]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
  }
  return node;
}

function settings(o: GbtOptions): Settings {
  const s: Settings = {
    learningRate: o.learningRate ?? 0.1,
    maxIter: o.maxIter ?? 100,
    maxLeafNodes: o.maxLeafNodes ?? 31,
    maxDepth: o.maxDepth ?? Infinity,
    minSamplesLeaf: o.minSamplesLeaf ?? 20,
    lambda: o.l2Regularization ?? 0,
    maxBins: o.maxBins ?? 255,
  };
  if (!(s.learningRate > 0)) throw invalid(`learningRate must be positive, got ${s.learningRate}`);
  if (!Number.isInteger(s.maxIter) || s.maxIter < 1) throw invalid(`maxIter must be a positive integer, got ${s.maxIter}`);
  if (!Number.isInteger(s.maxLeafNodes) || s.maxLeafNodes < 2) throw invalid(`maxLeafNodes must be an integer ≥ 2, got ${s.maxLeafNodes}`);
  if (!(s.maxDepth >= 1)) throw invalid(`maxDepth must be ≥ 1, got ${s.maxDepth}`);
  if (!Number.isInteger(s.minSamplesLeaf) || s.minSamplesLeaf < 1) throw invalid(`minSamplesLeaf must be a positive integer, got ${s.minSamplesLeaf}`);
  if (!(s.lambda >= 0)) throw invalid(`l2Regularization must be ≥ 0, got ${s.lambda}`);
  if (!Number.isInteger(s.maxBins) || s.maxBins < 2 || s.maxBins > 255) throw invalid(`maxBins must be an integer in [2, 255], got ${s.maxBins}`);
  return s;
}

// ---- binning -------------------------------------------------------------------------

export function findBinThresholds(x: DesignMatrix, maxBins: number, seed: number): Float64Array[] {
  const rows = x.n > BINNING_SUBSAMPLE ? sampleWithoutReplacement(x.n, BINNING_SUBSAMPLE, seed) : allRows(x.n);
  const column = new Float64Array(rows.length);
  const out: Float64Array[] = [];
  for (let j = 0; j < x.p; j++) {
    for (let k = 0; k < rows.length; k++) column[k] = x.values[rows[k]! * x.p + j]!;
    column.sort();
    out.push(columnThresholds(column, maxBins));
  }
  return out;
}

function columnThresholds(sorted: Float64Array, maxBins: number): Float64Array {
  const distinct: number[] = [];
  for (let k = 0; k < sorted.length; k++) if (k === 0 || sorted[k] !== sorted[k - 1]) distinct.push(sorted[k]!);
  if (distinct.length <= maxBins) {
    const mids = new Float64Array(Math.max(distinct.length - 1, 0));
    for (let k = 0; k < mids.length; k++) mids[k] = (distinct[k]! + distinct[k + 1]!) * 0.5;
    return mids;
  }
  const cuts: number[] = [];
  for (let k = 1; k < maxBins; k++) {
    const v = midpointPercentile(sorted, (k * (100 / maxBins)) / 100); // np.linspace(0, 100, ·) / 100
    if (cuts.length === 0 || v !== cuts[cuts.length - 1]) cuts.push(v);
  }
  return Float64Array.from(cuts);
}

/** numpy.percentile(method='midpoint'): x[h] when h = (n−1)·q is whole, else numpy's _lerp halfway. */
function midpointPercentile(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  if (lo === h) return sorted[lo]!;
  const a = sorted[lo]!;
  const b = sorted[lo + 1]!;
  return b - (b - a) * 0.5;
}

/** Row-major bins (row i, feature j at i·p + j). */
export function binRows(x: DesignMatrix, thresholds: readonly Float64Array[]): Uint8Array {
  const out = new Uint8Array(x.n * x.p);
  for (let i = 0; i < x.n; i++) {
    for (let j = 0; j < x.p; j++) out[i * x.p + j] = binOf(thresholds[j]!, x.values[i * x.p + j]!);
  }
  return out;
}

function binOf(t: Float64Array, v: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---- one tree ------------------------------------------------------------------------

interface Split {
  readonly feature: number;
  readonly bin: number;
  readonly gain: number;
}

interface OpenLeaf {
  readonly node: number;
  readonly start: number;
  readonly end: number;
  readonly depth: number;
  readonly hist: Float64Array;
  readonly g: number;
  readonly h: number;
  readonly split: Split | null;
}

interface TreeBuilder {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
  gain: number[];
  count: number[];
  splitBin: number[];
}

const HIST_BINS = 256;

function growTree(
  binned: Uint8Array,
  p: number,
  thresholds: readonly Float64Array[],
  grad: Float64Array,
  hess: Float64Array,
  train: Uint32Array,
  s: Settings,
): { tree: Tree; splitBins: Int32Array; leafRows: Map<number, Uint32Array> } {
  const rows = Uint32Array.from(train);
  const b: TreeBuilder = { feature: [], threshold: [], left: [], right: [], value: [], gain: [], count: [], splitBin: [] };
  const rootHist = buildHistogram(binned, p, grad, hess, rows, 0, rows.length);
  const open: OpenLeaf[] = [makeLeaf(b, rootHist, p, 0, rows.length, 0, thresholds, s)];
  let leaves = 1;
  while (leaves < s.maxLeafNodes) {
    let best = -1;
    for (let k = 0; k < open.length; k++) {
      const sp = open[k]!.split;
      if (sp && (best < 0 || sp.gain > open[best]!.split!.gain)) best = k;
    }
    if (best < 0) break;
    const leaf = open.splice(best, 1)[0]!;
    const split = leaf.split!;
    const mid = partition(binned, p, rows, leaf.start, leaf.end, split.feature, split.bin);
    const leftSmaller = mid - leaf.start <= leaf.end - mid;
    const small = leftSmaller ? [leaf.start, mid] : [mid, leaf.end];
    const smallHist = buildHistogram(binned, p, grad, hess, rows, small[0]!, small[1]!);
    const largeHist = leaf.hist;
    for (let k = 0; k < largeHist.length; k++) largeHist[k]! -= smallHist[k]!;
    const [leftHist, rightHist] = leftSmaller ? [smallHist, largeHist] : [largeHist, smallHist];
    const left = makeLeaf(b, leftHist, p, leaf.start, mid, leaf.depth + 1, thresholds, s);
    const right = makeLeaf(b, rightHist, p, mid, leaf.end, leaf.depth + 1, thresholds, s);
    b.feature[leaf.node] = split.feature;
    b.threshold[leaf.node] = thresholds[split.feature]![split.bin]!;
    b.splitBin[leaf.node] = split.bin;
    b.gain[leaf.node] = split.gain;
    b.left[leaf.node] = left.node;
    b.right[leaf.node] = right.node;
    open.push(left, right);
    leaves++;
  }
  const leafRows = new Map<number, Uint32Array>();
  for (const leaf of open) leafRows.set(leaf.node, rows.subarray(leaf.start, leaf.end));
  const tree: Tree = {
    feature: Int32Array.from(b.feature),
    threshold: Float64Array.from(b.threshold),
    left: Int32Array.from(b.left),
    right: Int32Array.from(b.right),
    value: Float64Array.from(b.value),
    gain: Float64Array.from(b.gain),
    count: Int32Array.from(b.count),
  };
  return { tree, splitBins: Int32Array.from(b.splitBin), leafRows };
}

function makeLeaf(b: TreeBuilder, hist: Float64Array, p: number, start: number, end: number, depth: number, thresholds: readonly Float64Array[], s: Settings): OpenLeaf {
  let g = 0;
  let h = 0;
  // Feature 0's bins hold every row of the node.
  for (let bin = 0; bin < HIST_BINS; bin++) {
    g += hist[bin * 3]!;
    h += hist[bin * 3 + 1]!;
  }
  const node = b.feature.length;
  b.feature.push(-1);
  b.threshold.push(0);
  b.left.push(-1);
  b.right.push(-1);
  b.value.push((-g / (h + s.lambda)) * s.learningRate);
  b.gain.push(0);
  b.count.push(end - start);
  b.splitBin.push(-1);
  const canSplit = depth < s.maxDepth && end - start >= 2 * s.minSamplesLeaf;
  const split = canSplit ? bestSplit(hist, p, g, h, end - start, thresholds, s) : null;
  return { node, start, end, depth, hist, g, h, split };
}

/** Interleaved (gradient, hessian, count) per (feature, bin): index ((j·256) + bin)·3. */
function buildHistogram(binned: Uint8Array, p: number, grad: Float64Array, hess: Float64Array, rows: Uint32Array, start: number, end: number): Float64Array {
  const hist = new Float64Array(p * HIST_BINS * 3);
  for (let k = start; k < end; k++) {
    const i = rows[k]!;
    const g = grad[i]!;
    const h = hess[i]!;
    const o = i * p;
    for (let j = 0; j < p; j++) {
      const at = (j * HIST_BINS + binned[o + j]!) * 3;
      hist[at]! += g;
      hist[at + 1]! += h;
      hist[at + 2]!++;
    }
  }
  return hist;
}

function bestSplit(hist: Float64Array, p: number, g: number, h: number, count: number, thresholds: readonly Float64Array[], s: Settings): Split | null {
  const parent = (g * g) / (h + s.lambda);
  let best: Split | null = null;
  for (let j = 0; j < p; j++) {
    const lastBin = thresholds[j]!.length; // bins 0..lastBin; a split at b < lastBin
    let gl = 0;
    let hl = 0;
    let cl = 0;
    for (let bin = 0; bin < lastBin; bin++) {
      const at = (j * HIST_BINS + bin) * 3;
      gl += hist[at]!;
      hl += hist[at + 1]!;
      cl += hist[at + 2]!;
      const cr = count - cl;
      if (cl < s.minSamplesLeaf) continue;
      if (cr < s.minSamplesLeaf) break;
      const hr = h - hl;
      if (hl < MIN_HESSIAN || hr < MIN_HESSIAN) continue;
      const gr = g - gl;
      const gain = (gl * gl) / (hl + s.lambda) + (gr * gr) / (hr + s.lambda) - parent;
      if (gain > 0 && (best === null || gain > best.gain)) best = { feature: j, bin, gain };
    }
  }
  return best;
}

/** Moves rows with bin ≤ splitBin to the front of [start, end); returns the boundary. */
function partition(binned: Uint8Array, p: number, rows: Uint32Array, start: number, end: number, feature: number, splitBin: number): number {
  let i = start;
  let j = end - 1;
  while (i <= j) {
    if (binned[rows[i]! * p + feature]! <= splitBin) i++;
    else {
      const t = rows[i]!;
      rows[i] = rows[j]!;
      rows[j] = t;
      j--;
    }
  }
  return i;
}

function binnedTreeValue(tree: Tree, splitBins: Int32Array, binned: Uint8Array, p: number, i: number): number {
  let node = 0;
  while (tree.feature[node]! >= 0) {
    node = binned[i * p + tree.feature[node]!]! <= splitBins[node]! ? tree.left[node]! : tree.right[node]!;
  }
  return tree.value[node]!;
}

// ---- helpers -------------------------------------------------------------------------

function rawLogLoss(y: Uint8Array, raw: Float64Array, rows: Uint32Array): number {
  let total = 0;
  for (const i of rows) {
    const z = raw[i]!;
    // log(1 + e^z) − y·z, stable.
    total += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[i]! * z;
  }
  return total / rows.length;
}

function shouldStop(losses: readonly number[], nIterNoChange: number, tol: number): boolean {
  if (losses.length <= nIterNoChange) return false;
  const reference = losses[losses.length - nIterNoChange - 1]!;
  for (let k = losses.length - nIterNoChange; k < losses.length; k++) if (losses[k]! < reference - tol) return false;
  return true;
}

function allRows(n: number): Uint32Array {
  const rows = new Uint32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  return rows;
}

/** A 32-bit generator (mulberry32): small, fast and fixed, so fits are reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled(n: number, seed: number): Uint32Array {
  const rows = allRows(n);
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const k = Math.floor(rand() * (i + 1));
    const t = rows[i]!;
    rows[i] = rows[k]!;
    rows[k] = t;
  }
  return rows;
}

function sampleWithoutReplacement(n: number, k: number, seed: number): Uint32Array {
  return shuffled(n, seed).subarray(0, k).sort();
}

/** A stratified split: the same fraction of each class held out, rows sorted. */
function splitValidation(y: Uint8Array, fraction: number, seed: number): [Uint32Array, Uint32Array] {
  if (!(fraction > 0 && fraction < 1)) throw invalid(`validationFraction must be in (0, 1), got ${fraction}`);
  const order = shuffled(y.length, seed ^ 0x9e3779b9);
  const train: number[] = [];
  const held: number[] = [];
  for (const cls of [0, 1]) {
    const members = Array.from(order).filter((i) => y[i] === cls);
    const k = Math.round(members.length * fraction);
    held.push(...members.slice(0, k));
    train.push(...members.slice(k));
  }
  if (held.length === 0) throw invalid('the validation fraction holds out no rows; use more rows or a larger fraction');
  return [Uint32Array.from(train).sort(), Uint32Array.from(held).sort()];
}

function checkNames(names: readonly string[], x: DesignMatrix): void {
  if (x.p !== names.length || x.names.some((n, j) => n !== names[j])) {
    throw invalid(`the matrix's features (${x.names.join(', ')}) differ from the model's (${names.join(', ')})`);
  }
}
