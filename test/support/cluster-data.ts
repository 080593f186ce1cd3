/**
 * Synthetic data for the clustering tests and the bench: Gaussian blobs of chosen spreads, and a
 * skewed behavioural population (counts and money by latent persona), all from a seeded PRNG,
 * plus the scikit-learn oracle run in /usr/bin/python3 on the same rows (written to a temp file).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Matrix } from '../../src/models/cluster/index.js';
import { matrix } from '../../src/models/cluster/index.js';
import { prng } from './prng.js';

export const PYTHON = '/usr/bin/python3';

export function sklearnAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import sklearn, scipy, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function normal(rand: () => number): () => number {
  return () => {
    const u = 1 - rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

export interface Blobs {
  readonly x: Matrix;
  /** The blob each row was drawn from. */
  readonly truth: Int32Array;
}

/** `rows` points around `centers` (one spread each), blob chosen uniformly per row. */
export function blobs(seed: number, rows: number, centers: readonly (readonly number[])[], spreads: readonly number[]): Blobs {
  const rand = prng(seed);
  const gauss = normal(rand);
  const cols = centers[0]!.length;
  const data = new Float64Array(rows * cols);
  const truth = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const b = Math.floor(rand() * centers.length);
    truth[i] = b;
    for (let f = 0; f < cols; f++) data[i * cols + f] = centers[b]![f]! + spreads[b]! * gauss();
  }
  return { x: matrix(rows, cols, data), truth };
}

/** Random blob centres in [-scale, scale]^cols. */
export function randomCenters(seed: number, k: number, cols: number, scale: number): number[][] {
  const rand = prng(seed);
  return Array.from({ length: k }, () => Array.from({ length: cols }, () => (rand() * 2 - 1) * scale));
}

export function poisson(rand: () => number, mean: number): number {
  // Knuth for small means, a rounded normal for large ones (shape is what matters here).
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(rand)()));
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rand();
  } while (p > l);
  return k - 1;
}

export const BEHAVIOUR_FEATURES = ['sessions_28d', 'events_28d', 'projects_created', 'active_days_28d', 'days_since_first_seen', 'revenue_90d', 'invites_sent'] as const;

/** A skewed SaaS population: four latent personas (casual, heavy creators, new, paying teams), gamma-mixed Poisson counts. */
export function behaviour(seed: number, rows: number): Blobs {
  const rand = prng(seed);
  const gauss = normal(rand);
  const personas = [
    { share: 0.5, sessions: 3, events: 20, projects: 0.3, tenure: 200, revenue: 0, invites: 0.05 },
    { share: 0.2, sessions: 25, events: 400, projects: 6, tenure: 300, revenue: 5, invites: 0.5 },
    { share: 0.2, sessions: 6, events: 60, projects: 1, tenure: 7, revenue: 0, invites: 0.2 },
    { share: 0.1, sessions: 15, events: 200, projects: 3, tenure: 400, revenue: 300, invites: 4 },
  ];
  const cols = BEHAVIOUR_FEATURES.length;
  const data = new Float64Array(rows * cols);
  const truth = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let u = rand();
    let p = 0;
    while (p < personas.length - 1 && u >= personas[p]!.share) u -= personas[p++]!.share;
    const q = personas[p]!;
    truth[i] = p;
    const activity = Math.exp(0.5 * gauss()); // per-user multiplier: heavy right tail
    const sessions = poisson(rand, q.sessions * activity);
    const row = [
      sessions,
      poisson(rand, q.events * activity),
      poisson(rand, q.projects * activity),
      Math.min(28, poisson(rand, Math.min(26, q.sessions * 0.7 * activity))),
      Math.max(0, Math.round(q.tenure * Math.exp(0.4 * gauss()))),
      q.revenue > 0 ? Math.round(q.revenue * Math.exp(0.8 * gauss()) * 100) / 100 : 0,
      poisson(rand, q.invites * activity),
    ];
    data.set(row, i * cols);
  }
  return { x: matrix(rows, cols, data), truth };
}

/**
 * Runs a python script (after PY_PRELUDE) with the JSON request at argv[1] and each matrix written
 * as little-endian float64 at argv[2..]; the prelude reads them into `req` and `Xs`. One process
 * per test file keeps sklearn's import cost (about a second) paid once.
 */
export function runPython<T>(script: string, matrices: readonly Matrix[], request: object): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'strata-cluster-'));
  try {
    const reqPath = path.join(dir, 'request.json');
    const paths = matrices.map((x, i) => {
      const p = path.join(dir, `x${i}.f64`);
      writeFileSync(p, Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength));
      return p;
    });
    writeFileSync(reqPath, JSON.stringify({ shapes: matrices.map((x) => [x.rows, x.cols]), ...request }));
    const out = execFileSync(PYTHON, ['-c', PY_PRELUDE + script, reqPath, ...paths], { encoding: 'utf8', maxBuffer: 256 << 20 });
    return JSON.parse(out) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PY_PRELUDE = `
import json, sys, warnings
import numpy as np
warnings.filterwarnings('ignore')
req = json.load(open(sys.argv[1]))
Xs = [np.fromfile(p, dtype='<f8').reshape(r, c) for p, (r, c) in zip(sys.argv[2:], req['shapes'])]
`;
