/**
 * `npm run bench -- cluster`: k-means on 1M users x 30 features (`--users`), Strata's
 * `kmeansFromCentroids` (Lloyd on one thread: by default with Hamerly's bounds, which give the same
 * labels with fewer distances; and the plain step, every distance, for context) against
 * scikit-learn 1.2's
 * `KMeans(init=<the same centroids>, n_init=1, algorithm='lloyd')` in /usr/bin/python3 on the same
 * data, same k (8), same max_iter (300) and tol (1e-4). sklearn's time is measured inside python
 * around `fit` (its default threads: all cores, via OpenMP); it is also run with one thread
 * (OMP_NUM_THREADS=1) against Strata's plain step, the like-for-like single-thread ratio. Contenders alternate per repetition; each figure is the median.
 * The data: 8 Gaussian blobs of spreads 0.5..2.5 (seeded), the starting centroids from Strata's
 * k-means++ (timed apart). The runs must agree (inertia within 1e-6 relative, same iterations),
 * otherwise the ratio compares different work and the bench exits 1.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { kmeansFromCentroids, kmeansPlusPlus, SeededRandom } from '../src/models/cluster/index.js';
import { blobs, PYTHON, randomCenters } from '../test/support/cluster-data.js';
import { printTable, ratio, seconds } from './support/report.js';

export const CLUSTER_GOAL = 2;

export interface ClusterBenchOptions {
  readonly users: number;
  readonly repetitions: number;
  readonly dir?: string;
  readonly keep: boolean;
}

export interface ClusterBenchResult {
  readonly users: number;
  readonly features: number;
  readonly k: number;
  readonly seedingSeconds: number;
  readonly strata: { seconds: number; iterations: number; inertia: number };
  /** The plain step (bounds: false), one thread. */
  readonly strataPlain: { seconds: number; iterations: number; inertia: number };
  readonly sklearn: { seconds: number; iterations: number; inertia: number };
  readonly sklearnOneThread: { seconds: number; iterations: number; inertia: number };
  /** strata (its defaults: bounds, one thread) / sklearn (its default threads); the goal is <= 2. */
  readonly ratio: number;
  /** strata plain step / sklearn, one thread each. */
  readonly ratioOneThread: number;
  readonly agree: boolean;
}

const FEATURES = 30;
const K = 8;

const SKLEARN_FIT = `
import json, sys, time, warnings
import numpy as np
from sklearn.cluster import KMeans
warnings.filterwarnings('ignore')
rows, cols, k = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
X = np.fromfile(sys.argv[1], dtype='<f8').reshape(rows, cols)
init = np.fromfile(sys.argv[2], dtype='<f8').reshape(k, cols)
km = KMeans(n_clusters=k, init=init, n_init=1, algorithm='lloyd', max_iter=300, tol=1e-4)
t = time.perf_counter()
km.fit(X)
print(json.dumps({'seconds': time.perf_counter() - t, 'iterations': int(km.n_iter_), 'inertia': float(km.inertia_)}))
`;

interface Run {
  seconds: number;
  iterations: number;
  inertia: number;
}

function sklearnFit(files: { x: string; init: string }, rows: number, threads: number | null): Run {
  const env = threads === null ? process.env : { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  const out = execFileSync(PYTHON, ['-c', SKLEARN_FIT, files.x, files.init, String(rows), String(FEATURES), String(K)], { encoding: 'utf8', env });
  return JSON.parse(out) as Run;
}

function median(runs: readonly Run[]): Run {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export async function runClusterBench(options: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const base = options.dir ?? path.join(tmpdir(), 'strata-bench');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(path.join(base, 'cluster-'));
  try {
    process.stdout.write(`cluster: generating ${options.users.toLocaleString('en-US')} x ${FEATURES}\n`);
    const { x } = blobs(1, options.users, randomCenters(2, K, FEATURES, 3), [1, 2, 0.5, 1, 1.5, 1, 0.8, 2.5]);
    const t0 = performance.now();
    const init = kmeansPlusPlus(x, K, new SeededRandom(1));
    const seedingSeconds = (performance.now() - t0) / 1000;
    const files = { x: path.join(dir, 'x.f64'), init: path.join(dir, 'init.f64') };
    writeFileSync(files.x, Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength));
    writeFileSync(files.init, Buffer.from(init.data.buffer, init.data.byteOffset, init.data.byteLength));
    const strataRuns: Run[] = [];
    const strataOneRuns: Run[] = [];
    const sklearnRuns: Run[] = [];
    const oneThreadRuns: Run[] = [];
    for (let r = 0; r < options.repetitions; r++) {
      // Alternate who goes first, as the other benchmarks do on shared machines.
      const strata = () => {
        let t = performance.now();
        let fit = kmeansFromCentroids(x, init);
        strataRuns.push({ seconds: (performance.now() - t) / 1000, iterations: fit.iterations, inertia: fit.inertia });
        t = performance.now();
        fit = kmeansFromCentroids(x, init, { bounds: false });
        strataOneRuns.push({ seconds: (performance.now() - t) / 1000, iterations: fit.iterations, inertia: fit.inertia });
      };
      if (r % 2 === 1) strata();
      sklearnRuns.push(sklearnFit(files, x.rows, null));
      oneThreadRuns.push(sklearnFit(files, x.rows, 1));
      if (r % 2 === 0) strata();
    }
    const s = median(strataRuns);
    const s1 = median(strataOneRuns);
    const p = median(sklearnRuns);
    const p1 = median(oneThreadRuns);
    const agree = [s, s1, p1].every((r) => r.iterations === p.iterations && Math.abs(r.inertia - p.inertia) <= 1e-6 * p.inertia);
    const result: ClusterBenchResult = {
      users: x.rows,
      features: FEATURES,
      k: K,
      seedingSeconds,
      strata: s,
      strataPlain: s1,
      sklearn: p,
      sklearnOneThread: p1,
      ratio: s.seconds / p.seconds,
      ratioOneThread: s1.seconds / p1.seconds,
      agree,
    };
    printTable(
      `k-means (Lloyd) on ${x.rows.toLocaleString('en-US')} x ${FEATURES}, k = ${K}, same starting centroids (goal: strata / sklearn <= ${CLUSTER_GOAL})`,
      ['contender', 'seconds', 'iterations', 's / iteration', 'inertia', 'strata / sklearn'],
      [
        ['strata kmeansFromCentroids (Hamerly bounds, 1 thread)', seconds(s.seconds), s.iterations, seconds(s.seconds / s.iterations), s.inertia.toFixed(1), ratio(result.ratio)],
        ['sklearn KMeans lloyd (default threads)', seconds(p.seconds), p.iterations, seconds(p.seconds / p.iterations), p.inertia.toFixed(1), ''],
        ['strata kmeansFromCentroids (plain step, 1 thread)', seconds(s1.seconds), s1.iterations, seconds(s1.seconds / s1.iterations), s1.inertia.toFixed(1), ratio(result.ratioOneThread)],
        ['sklearn KMeans lloyd (OMP_NUM_THREADS=1)', seconds(p1.seconds), p1.iterations, seconds(p1.seconds / p1.iterations), p1.inertia.toFixed(1), ''],
      ],
    );
    process.stdout.write(`k-means++ seeding (strata, not compared): ${seconds(seedingSeconds)} s\n`);
    process.stdout.write(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (${availableParallelism()} cores)\n`);
    if (!agree) process.stdout.write('cluster: the fits disagree (iterations or inertia); the ratios compare different work\n');
    return result;
  } finally {
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
}
