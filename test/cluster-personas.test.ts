/**
 * Persona descriptions, names and stable ids.
 * Oracles: numpy for the standardized mean differences (cluster vs rest, pooled sd with ddof 1);
 * scipy.optimize.linear_sum_assignment and brute force over permutations for the Hungarian method;
 * known assignments from the textbook 3x3 example; the blob each row was drawn from for stable ids.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  chooseK,
  describeClusters,
  fitScaler,
  kmeans,
  log1pMatrix,
  matchPersonaIds,
  minimumCostAssignment,
  standardize,
  unstandardize,
  uniqueNames,
  TYPICAL_NAME,
  SMD_CAP,
  type KMeansResult,
} from '../src/models/cluster/index.js';
import { BEHAVIOUR_FEATURES, behaviour, blobs, runPython, sklearnAvailable } from './support/cluster-data.js';
import { prng } from './support/prng.js';

const HAS_SCIPY = sklearnAvailable();

const SMD_PY = `
X = Xs[0]
labels = np.array(req['labels'])
out = []
for c in range(req['k']):
    a, b = X[labels == c], X[labels != c]
    pooled = np.sqrt(((len(a) - 1) * a.var(axis=0, ddof=1) + (len(b) - 1) * b.var(axis=0, ddof=1)) / (len(a) + len(b) - 2))
    out.append(((a.mean(axis=0) - b.mean(axis=0)) / pooled).tolist())
print(json.dumps(out))
`;

describe.skipIf(!HAS_SCIPY)('persona descriptions on a skewed behavioural population', () => {
  const raw = behaviour(81, 5000);
  const logged = log1pMatrix(raw.x);
  const scaler = fitScaler(logged);
  const z = standardize(logged, scaler);
  const model = kmeans(z, { k: 4, nInit: 4, seed: 1 });
  const personas = describeClusters(logged, model.labels, 4, BEHAVIOUR_FEATURES);
  let smd: number[][] = [];
  beforeAll(() => {
    smd = runPython<number[][]>(SMD_PY, [logged], { labels: Array.from(model.labels), k: 4 });
  });

  it('standardized mean differences equal numpy (pooled sd, ddof 1), the same on raw and standardized features', () => {
    const onZ = describeClusters(z, model.labels, 4, BEHAVIOUR_FEATURES, { top: 7 });
    for (const p of personas) {
      for (const f of p.features) {
        const j = BEHAVIOUR_FEATURES.indexOf(f.feature as (typeof BEHAVIOUR_FEATURES)[number]);
        expect(f.smd).toBeCloseTo(smd[p.cluster]![j]!, 9);
        expect(onZ[p.cluster]!.features.find((g) => g.feature === f.feature)!.smd).toBeCloseTo(f.smd, 9);
      }
    }
  });

  it('top 3 features by |d| with signs, readable names, unique', () => {
    for (const p of personas) {
      expect(p.features.length).toBeLessThanOrEqual(3);
      const ds = p.features.map((f) => Math.abs(f.smd));
      expect([...ds].sort((a, b) => b - a)).toEqual(ds);
      // Every feature not listed is less distinguishing than the last listed one.
      const listed = new Set(p.features.map((f) => f.feature));
      smd[p.cluster]!.forEach((d, j) => {
        if (!listed.has(BEHAVIOUR_FEATURES[j]!)) expect(Math.abs(d)).toBeLessThanOrEqual(ds[ds.length - 1] ?? Infinity);
      });
      for (const f of p.features) expect(f.phrase.startsWith(f.smd > 0 ? (Math.abs(f.smd) >= 1.2 ? 'very high' : 'high') : Math.abs(f.smd) >= 1.2 ? 'very low' : 'low')).toBe(true);
      expect(p.name.length).toBeGreaterThan(0);
    }
    expect(new Set(personas.map((p) => p.name)).size).toBe(4);
    expect(personas.reduce((s, p) => s + p.size, 0)).toBe(5000);
    // The paying-team persona (latent 3) is described by revenue first.
    const paying = personas.find((p) => p.features[0]?.feature === 'revenue_90d' && p.features[0].smd > 0);
    expect(paying?.name).toMatch(/^Very high revenue 90d/);
    // The newcomers (latent 2) are low on days since first seen.
    expect(personas.some((p) => p.features.some((f) => f.feature === 'days_since_first_seen' && f.smd <= -1.2))).toBe(true);
  });

  it('uses feature labels and phrases when given', () => {
    const labelled = describeClusters(logged, model.labels, 4, BEHAVIOUR_FEATURES, {
      labels: { revenue_90d: { high: 'paying customers' }, days_since_first_seen: { label: 'tenure', low: 'newcomers' } },
    });
    expect(labelled.some((p) => p.name.startsWith('Paying customers'))).toBe(true);
    expect(labelled.some((p) => p.description.includes('newcomers') || p.name.includes('Newcomers'))).toBe(true);
  });
});

describe('standardized mean difference of a feature constant inside each cluster', () => {
  it('is capped at ±SMD_CAP (perfect separation), not a rounding-level spread blown up to ~1e7; equal constants give 0', () => {
    // Column 0: 0.1 in cluster 0 and 0.7 in cluster 1 (0.1 and 0.7 are not exact in binary, so
    // Σx² − n·m² leaves ~1e-17 of noise); column 1: the same value everywhere.
    const rows = 1000;
    const data = new Float64Array(rows * 2);
    const labels = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      labels[i] = i < 300 ? 0 : 1;
      data[i * 2] = i < 300 ? 0.1 : 0.7;
      data[i * 2 + 1] = 0.3;
    }
    const [c0, c1] = describeClusters({ rows, cols: 2, data }, labels, 2, ['constant_per_cluster', 'constant']);
    expect(c0!.features.map((f) => [f.feature, f.smd])).toEqual([['constant_per_cluster', -SMD_CAP]]);
    expect(c1!.features.map((f) => [f.feature, f.smd])).toEqual([['constant_per_cluster', SMD_CAP]]);
  });
});

describe('persona naming rule', () => {
  it('extends a taken name with the next phrase, then numbers it; no distinguishing feature is "Typical users"', () => {
    const names = uniqueNames([
      { cluster: 0, size: 10, phrases: ['high sessions', 'high projects', 'low tenure'] },
      { cluster: 1, size: 50, phrases: ['high sessions', 'high projects', 'high invites'] },
      { cluster: 2, size: 5, phrases: ['high sessions', 'high projects'] },
      { cluster: 3, size: 30, phrases: [] },
      { cluster: 4, size: 3, phrases: [] },
    ]);
    expect(names).toEqual([
      'High sessions & high projects & low tenure',
      'High sessions & high projects',
      'High sessions & high projects (2)',
      TYPICAL_NAME,
      `${TYPICAL_NAME} (2)`,
    ]);
  });
});

const LSA_PY = `
from scipy.optimize import linear_sum_assignment
out = []
for c in req['costs']:
    r, col = linear_sum_assignment(np.array(c))
    out.append(float(np.array(c)[r, col].sum()))
print(json.dumps(out))
`;

function totalCost(cost: number[][], assignment: number[]): number {
  return assignment.reduce((s, j, i) => s + (j >= 0 ? cost[i]![j]! : 0), 0);
}

function bruteForce(cost: number[][]): number {
  const n = cost.length;
  const m = cost[0]!.length;
  let best = Infinity;
  const used = new Array<boolean>(m).fill(false);
  const rec = (i: number, acc: number, assigned: number) => {
    if (assigned === Math.min(n, m) || i === n) {
      if (assigned === Math.min(n, m)) best = Math.min(best, acc);
      return;
    }
    if (n - i > m - assigned) rec(i + 1, acc, assigned); // row i left out (only when rows outnumber columns)
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      used[j] = true;
      rec(i + 1, acc + cost[i]![j]!, assigned + 1);
      used[j] = false;
    }
  };
  rec(0, 0, 0);
  return best;
}

describe.skipIf(!HAS_SCIPY)('Hungarian method against scipy.optimize.linear_sum_assignment and brute force', () => {
  it('the textbook 3x3 case', () => {
    expect(minimumCostAssignment([[4, 1, 3], [2, 0, 5], [3, 2, 2]])).toEqual([1, 0, 2]);
    expect(minimumCostAssignment([])).toEqual([]);
  });

  it('random square and rectangular matrices', () => {
    const rand = prng(91);
    const shapes: [number, number][] = [[1, 1], [2, 2], [3, 3], [5, 5], [6, 6], [4, 7], [7, 4], [2, 6], [6, 2], [8, 8], [5, 5]];
    const costs = shapes.map(([n, m], s) => Array.from({ length: n }, () => Array.from({ length: m }, () => (s % 2 ? Math.floor(rand() * 5) : rand() * 100))));
    const scipy = runPython<number[]>(LSA_PY, [], { costs });
    costs.forEach((cost, i) => {
      const a = minimumCostAssignment(cost);
      const cols = a.filter((j) => j >= 0);
      expect(new Set(cols).size).toBe(cols.length);
      expect(cols.length).toBe(Math.min(cost.length, cost[0]!.length));
      expect(totalCost(cost, a)).toBeCloseTo(scipy[i]!, 9);
      expect(totalCost(cost, a)).toBeCloseTo(bruteForce(cost), 9);
    });
  });
});

describe('stable persona ids across refreshes', () => {
  /** The blob most rows of each cluster came from. */
  function majority(model: KMeansResult, truth: Int32Array, blobsCount: number): number[] {
    const counts = Array.from({ length: model.k }, () => new Array<number>(blobsCount).fill(0));
    model.labels.forEach((c, i) => counts[c]![truth[i]!]!++);
    return counts.map((row) => row.indexOf(Math.max(...row)));
  }

  it('keeps the id of each persona that persists, gives new ids to new ones and reports vanished ones', () => {
    const before = [[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]];
    // Next refresh: blobs 0..2 drift a little, the old blob 3 is gone, a new blob appears (index 3 of `after`).
    const after = [[0.5, 0, 0], [10, 0.5, 0], [0, 10, -0.5], [10, 10, 10]];
    const t0 = blobs(101, 2000, before, [1, 1, 1, 1]);
    const t1 = blobs(102, 2500, after, [1.2, 1, 1, 1]);
    const s0 = fitScaler(t0.x);
    const m0 = chooseK(standardize(t0.x, s0), { k: 4, nInit: 3, seed: 1 }).model;
    const ids0 = matchPersonaIds(m0.centroids, s0, null);
    expect(ids0.ids).toEqual([1, 2, 3, 4]);
    const s1 = fitScaler(t1.x);
    const m1 = kmeans(standardize(t1.x, s1), { k: 4, nInit: 3, seed: 1 });
    const previous = { ids: ids0.ids, centroids: unstandardize(m0.centroids, s0), nextId: ids0.nextId };
    const ids1 = matchPersonaIds(unstandardize(m1.centroids, s1), s1, previous, { maxDistance: 1 });
    const blob0 = majority(m0, t0.truth, 4);
    const blob1 = majority(m1, t1.truth, 4); // blob 3 of `after` is the new one
    const idOfBlob0 = new Map(blob0.map((b, c) => [b, ids0.ids[c]!]));
    blob1.forEach((b, c) => {
      if (b <= 2) expect(ids1.ids[c]).toBe(idOfBlob0.get(b));
      else expect(ids1.ids[c]).toBe(5); // the new blob: a fresh id
    });
    expect(ids1.vanished).toEqual([idOfBlob0.get(3)]);
    expect(ids1.created).toEqual([blob1.indexOf(3)]);
    expect(ids1.nextId).toBe(6);
    expect(ids1.matched).toHaveLength(3);
  });

  it('with no distance limit, the assignment minimizes the total distance; extra clusters get new ids', () => {
    const s = fitScaler(blobs(103, 100, [[0, 0], [5, 5]], [1, 1]).x);
    const oldCentroids = unstandardize(standardize({ rows: 2, cols: 2, data: Float64Array.from([0, 0, 5, 5]) }, s), s);
    const now = { rows: 3, cols: 2, data: Float64Array.from([5.2, 4.9, 9, 9, 0.1, -0.2]) };
    const r = matchPersonaIds(now, s, { ids: [7, 3], centroids: oldCentroids, nextId: 9 });
    expect(r.ids).toEqual([3, 9, 7]);
    expect(r.vanished).toEqual([]);
    expect(r.created).toEqual([1]);
  });
});
