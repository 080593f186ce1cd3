/**
 * k-means, standardization and the adjusted Rand index against scikit-learn 1.2 (Debian's
 * python3-sklearn in /usr/bin/python3) on the same rows:
 * - StandardScaler: mean_, scale_ and the transform (constant columns give zeros);
 * - KMeans(init=<our starting centroids>, n_init=1, algorithm='lloyd'): inertia within 1% and
 *   adjusted Rand index >= 0.95 (the oracle), on blobs of several spreads and on a skewed
 *   behavioural population after log1p + standardization; with Hamerly's bounds (the default)
 *   and with the plain step on worker threads;
 * - our k-means++ with 10 restarts reaches an inertia within 1% of sklearn's own
 *   KMeans(n_init=10) (seedings differ: numpy's RNG is not reproduced);
 * - adjusted_rand_score on random and edge-case labelings.
 * One python process answers every case (sklearn's import is the slow part).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  adjustedRandIndex,
  fitScaler,
  kmeans,
  kmeansFromCentroids,
  kmeansPlusPlus,
  log1pMatrix,
  matrixFromRows,
  SeededRandom,
  standardize,
  unstandardize,
  type KMeansResult,
  type Matrix,
} from '../src/models/cluster/index.js';
import { behaviour, blobs, randomCenters, runPython, sklearnAvailable } from './support/cluster-data.js';
import { prng } from './support/prng.js';

const HAS_SKLEARN = sklearnAvailable();

interface Case {
  name: string;
  x: Matrix;
  init: Matrix;
  ours: KMeansResult;
  restarted: KMeansResult;
}

function rowsOf(m: Matrix): number[][] {
  return Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
}

function buildCases(): Case[] {
  const wide = blobs(11, 3000, randomCenters(5, 5, 8, 6), [0.3, 1, 2, 0.6, 1.5]);
  const tight = blobs(12, 2000, randomCenters(6, 4, 3, 10), [0.5, 0.5, 0.5, 0.5]);
  const overlapping = blobs(13, 2500, randomCenters(7, 6, 4, 2), [1, 1.2, 0.8, 1, 1.5, 0.7]);
  const many = blobs(14, 4000, randomCenters(8, 8, 30, 3), [1, 2, 0.5, 1, 1.5, 1, 0.8, 2.5]);
  const skewed = log1pMatrix(behaviour(15, 4000).x);
  const skewedZ = standardize(skewed, fitScaler(skewed));
  const specs: [string, Matrix, number][] = [
    ['blobs of spreads 0.3..2 in 8 dims, k=5', wide.x, 5],
    ['tight separated blobs in 3 dims, k=4', tight.x, 4],
    ['overlapping blobs in 4 dims, k=6', overlapping.x, 6],
    ['30 features, k=8', many.x, 8],
    ['skewed behaviour after log1p + z-scores, k=4', skewedZ, 4],
    ['skewed behaviour after log1p + z-scores, k=7 (misspecified)', skewedZ, 7],
  ];
  const cases = specs.map(([name, x, k]) => {
    const init = kmeansPlusPlus(x, k, new SeededRandom(42));
    return { name, x, init, ours: kmeansFromCentroids(x, init), restarted: kmeans(x, { k, nInit: 10, seed: 3 }) };
  });
  // The plain step (every distance, sklearn's own form) on the same cases, held to the same oracle.
  cases.slice(0, 2).forEach((c) => {
    cases.push({ ...c, name: `${c.name}, unbounded step on 2 threads`, ours: kmeansFromCentroids(c.x, c.init, { bounds: false, threads: 2 }) });
  });
  // Two starting centroids far from every row: their clusters start empty and are relocated.
  const empty = blobs(21, 600, [[0, 0], [8, 8], [-8, 8]], [1, 1, 1]).x;
  const emptyInit = matrixFromRows([[0, 0], [100, 100], [-100, 100], [8, 8]]);
  cases.push({ name: 'empty clusters relocated to the farthest rows', x: empty, init: emptyInit, ours: kmeansFromCentroids(empty, emptyInit), restarted: kmeans(empty, { k: 4, nInit: 10, seed: 3 }) });
  return cases;
}

const KMEANS_PY = `
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
out = []
for X, c in zip(Xs, req['cases']):
    init = np.array(c['init'], dtype=float)
    km = KMeans(n_clusters=init.shape[0], init=init, n_init=1, algorithm='lloyd', max_iter=300, tol=1e-4).fit(X)
    best = KMeans(n_clusters=init.shape[0], n_init=10, algorithm='lloyd', random_state=0).fit(X)
    out.append({'inertia': float(km.inertia_), 'labels': km.labels_.tolist(), 'n_iter': int(km.n_iter_),
      'ari': adjusted_rand_score(km.labels_, c['ours']), 'best_inertia': float(best.inertia_)})
print(json.dumps(out))
`;

interface SklearnKMeans {
  inertia: number;
  labels: number[];
  n_iter: number;
  ari: number;
  best_inertia: number;
}

describe.skipIf(!HAS_SKLEARN)('k-means against sklearn.cluster.KMeans (same starting centroids, lloyd)', () => {
  const cases = buildCases();
  let sk: SklearnKMeans[] = [];
  beforeAll(() => {
    sk = runPython<SklearnKMeans[]>(KMEANS_PY, cases.map((c) => c.x), {
      cases: cases.map((c) => ({ init: rowsOf(c.init), ours: Array.from(c.ours.labels) })),
    });
  });

  cases.forEach((c, i) => {
    it(`${c.name}: inertia within 1%, ARI >= 0.95`, () => {
      const s = sk[i]!;
      expect(Math.abs(c.ours.inertia - s.inertia) / s.inertia).toBeLessThan(0.01);
      expect(s.ari).toBeGreaterThanOrEqual(0.95);
      // Our ARI gives sklearn's number on the same two labelings.
      expect(adjustedRandIndex(c.ours.labels, s.labels)).toBeCloseTo(s.ari, 12);
      expect(c.ours.converged).toBe(true);
      expect(Array.from(c.ours.sizes).every((n) => n > 0)).toBe(true);
      // Restarts from our k-means++: within 1% of sklearn's best of 10 seedings, and no worse than one run.
      expect(c.restarted.inertia).toBeLessThanOrEqual(s.best_inertia * 1.01);
      expect(c.restarted.inertia).toBeLessThanOrEqual(c.ours.inertia * (1 + 1e-12));
    });
  });
});

describe('k-means invariants', () => {
  it('is deterministic for a seed, and every label is the nearest centroid', () => {
    const { x } = blobs(31, 800, randomCenters(2, 3, 5, 4), [1, 1, 1]);
    const a = kmeans(x, { k: 3, nInit: 3, seed: 9 });
    const b = kmeans(x, { k: 3, nInit: 3, seed: 9 });
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(a.inertia).toBe(b.inertia);
    const cols = x.cols;
    for (let i = 0; i < x.rows; i++) {
      const d = (c: number) => {
        let s = 0;
        for (let f = 0; f < cols; f++) s += (x.data[i * cols + f]! - a.centroids.data[c * cols + f]!) ** 2;
        return s;
      };
      for (let c = 0; c < 3; c++) expect(d(a.labels[i]!)).toBeLessThanOrEqual(d(c) + 1e-9);
    }
    expect(Array.from(a.sizes).reduce((s, v) => s + v, 0)).toBe(x.rows);
  });

  it("Hamerly's bounds and worker threads give the plain single-thread model (labels equal, inertia to 1e-12)", () => {
    const { x } = blobs(32, 30_000, randomCenters(3, 6, 12, 3), [1, 1.5, 0.7, 1, 2, 1]);
    const init = kmeansPlusPlus(x, 6, new SeededRandom(4));
    const one = kmeansFromCentroids(x, init, { bounds: false, threads: 1 });
    const bounded = kmeansFromCentroids(x, init);
    expect(bounded.iterations).toBe(one.iterations);
    expect(Array.from(bounded.labels)).toEqual(Array.from(one.labels));
    expect(Math.abs(bounded.inertia - one.inertia) / one.inertia).toBeLessThan(1e-12);
    const three = kmeansFromCentroids(x, init, { bounds: false, threads: 3 });
    expect(three.iterations).toBe(one.iterations);
    expect(Array.from(three.labels)).toEqual(Array.from(one.labels));
    expect(Math.abs(three.inertia - one.inertia) / one.inertia).toBeLessThan(1e-12);
    three.centroids.data.forEach((v, i) => expect(v).toBeCloseTo(one.centroids.data[i]!, 9));
  });

  it('rejects k larger than the rows and mismatched centroids', () => {
    const x = matrixFromRows([[0], [1]]);
    expect(() => kmeans(x, { k: 3 })).toThrow(/at least 3 rows/);
    expect(() => kmeansFromCentroids(x, matrixFromRows([[0, 1]]))).toThrow(/columns/);
  });
});

const SCALER_AND_ARI_PY = `
from sklearn.preprocessing import StandardScaler
from sklearn.metrics import adjusted_rand_score
s = StandardScaler().fit(Xs[0])
print(json.dumps({'mean': s.mean_.tolist(), 'scale': s.scale_.tolist(), 'z': s.transform(Xs[0]).ravel().tolist(),
  'ari': [adjusted_rand_score(a, b) for a, b in req['pairs']]}))
`;

describe.skipIf(!HAS_SKLEARN)('StandardScaler and adjusted_rand_score (sklearn.preprocessing, sklearn.metrics)', () => {
  const raw = behaviour(41, 500).x;
  // A constant last column exercises the rule: kept, scale 1, all zeros.
  const cols = raw.cols + 1;
  const data = new Float64Array(raw.rows * cols);
  for (let i = 0; i < raw.rows; i++) {
    data.set(raw.data.subarray(i * raw.cols, (i + 1) * raw.cols), i * cols);
    data[i * cols + raw.cols] = 7.5;
  }
  const x: Matrix = { rows: raw.rows, cols, data };
  const rand = prng(51);
  const randomLabels = (n: number, k: number) => Array.from({ length: n }, () => Math.floor(rand() * k));
  const base = randomLabels(300, 4);
  const noisy = base.map((v) => (rand() < 0.1 ? Math.floor(rand() * 4) : v));
  const pairs: [number[], number[]][] = [
    [base, noisy],
    [base, base.map((v) => (v + 2) % 4)],
    [randomLabels(500, 3), randomLabels(500, 5)],
    [[0, 0, 0, 0], [1, 1, 1, 1]],
    [[0, 1, 2, 3], [3, 2, 1, 0]],
    [[0, 0, 1, 1], [0, 1, 0, 1]],
    [randomLabels(50, 10), randomLabels(50, 2)],
  ];
  let sk: { mean: number[]; scale: number[]; z: number[]; ari: number[] };
  beforeAll(() => {
    sk = runPython(SCALER_AND_ARI_PY, [x], { pairs });
  });

  it('standardization: the same means, scales and z-scores; a constant column is zeroed', () => {
    const scaler = fitScaler(x);
    scaler.mean.forEach((m, j) => expect(m).toBeCloseTo(sk.mean[j]!, 9));
    scaler.scale.forEach((s, j) => expect(s / sk.scale[j]!).toBeCloseTo(1, 12));
    expect(scaler.constant).toEqual([raw.cols]);
    const z = standardize(x, scaler);
    z.data.forEach((v, i) => expect(v).toBeCloseTo(sk.z[i]!, 9));
    const back = unstandardize(z, scaler);
    back.data.forEach((v, i) => expect(v).toBeCloseTo(x.data[i]!, 9));
  });

  it('adjusted Rand index on random, permuted and degenerate labelings', () => {
    pairs.forEach(([a, b], i) => expect(adjustedRandIndex(a, b)).toBeCloseTo(sk.ari[i]!, 12));
  });
});
