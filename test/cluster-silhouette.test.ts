/**
 * Silhouettes and the choice of k. Oracle: sklearn.metrics.silhouette_score (scikit-learn 1.2,
 * Euclidean) on the same rows and labels, exact; the sampled path is checked as the exact score
 * of sklearn on the rows our seeded sample picked (numpy's sampler is not reproduced).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseK, kmeans, selectRows, silhouetteExact, silhouetteRows, silhouetteScores } from '../src/models/cluster/index.js';
import { blobs, randomCenters, runPython, sklearnAvailable } from './support/cluster-data.js';
import { prng } from './support/prng.js';

const HAS_SKLEARN = sklearnAvailable();

const SILHOUETTE_PY = `
from sklearn.metrics import silhouette_score
print(json.dumps([float(silhouette_score(Xs[c['x']], c['labels'])) for c in req['cases']]))
`;

describe.skipIf(!HAS_SKLEARN)('silhouette against sklearn.metrics.silhouette_score', () => {
  const small = blobs(61, 700, randomCenters(3, 4, 5, 5), [0.5, 1, 1.5, 0.8]);
  const large = blobs(62, 3000, randomCenters(4, 5, 6, 3), [1, 1, 1, 2, 0.5]);
  const rand = prng(63);
  const labelings = [
    small.truth,
    kmeans(small.x, { k: 3, nInit: 2, seed: 1 }).labels,
    kmeans(small.x, { k: 6, nInit: 2, seed: 1 }).labels,
    Int32Array.from({ length: small.x.rows }, () => Math.floor(rand() * 3)),
  ];
  // A singleton cluster (its row scores 0, as in sklearn) and a label value absent from the rows.
  const singleton = Int32Array.from(small.truth, (v) => (v === 3 ? 4 : v));
  singleton[0] = 3;
  labelings.push(singleton);
  const largeLabels = kmeans(large.x, { k: 5, nInit: 2, seed: 1 }).labels;
  const sample = silhouetteRows(large.x.rows, { sampleSize: 800, seed: 5 })!;
  const sampledX = selectRows(large.x, sample);
  const sampledLabels = Int32Array.from(sample, (i) => largeLabels[i]!);
  let sk: number[] = [];
  beforeAll(() => {
    sk = runPython<number[]>(SILHOUETTE_PY, [small.x, sampledX], {
      cases: [...labelings.map((l) => ({ x: 0, labels: Array.from(l) })), { x: 1, labels: Array.from(sampledLabels) }],
    });
  });

  it('exact on every labeling of the same rows, in one pass', () => {
    const ours = silhouetteExact(small.x, labelings);
    ours.forEach((s, i) => expect(s).toBeCloseTo(sk[i]!, 10));
  });

  it('on a seeded sample of a large population: sklearn on the same sampled rows', () => {
    expect(sample.length).toBe(800);
    expect(new Set(sample).size).toBe(800);
    const [ours] = silhouetteScores(large.x, [largeLabels], { sampleSize: 800, seed: 5 });
    expect(ours).toBeCloseTo(sk[labelings.length]!, 10);
    // The sampled score estimates the exact one.
    const [exact] = silhouetteExact(large.x, [largeLabels]);
    expect(Math.abs(ours! - exact!)).toBeLessThan(0.03);
  });
});

describe('choosing k by silhouette', () => {
  it('finds the number of well-separated blobs in 2..8, and keeps a given k', () => {
    // Four centres 10 apart from each other (a simplex), spread 1: the true k is unambiguous.
    const centers = [0, 1, 2, 3].map((b) => Array.from({ length: 6 }, (_, f) => (f === b ? 10 / Math.SQRT2 : 0)));
    const { x, truth } = blobs(71, 1200, centers, [1, 1, 1, 1]);
    const chosen = chooseK(x, { nInit: 3, seed: 2 });
    expect(chosen.k).toBe(4);
    expect(chosen.candidates.map((c) => c.k)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    const best = Math.max(...chosen.candidates.map((c) => c.silhouette));
    expect(chosen.silhouette).toBe(best);
    expect(silhouetteExact(x, [chosen.model.labels])[0]).toBeCloseTo(chosen.silhouette, 12);
    expect(silhouetteExact(x, [truth])[0]).toBeCloseTo(chosen.silhouette, 6);
    const fixed = chooseK(x, { k: 6, nInit: 2, seed: 2 });
    expect(fixed.k).toBe(6);
    expect(fixed.candidates).toHaveLength(1);
  });

  it('searches k on a sample of a large population, then fits the chosen k on every row', () => {
    const centers = [0, 1, 2].map((b) => Array.from({ length: 4 }, (_, f) => (f === b ? 8 : 0)));
    const { x } = blobs(73, 6000, centers, [1, 1, 1]);
    const chosen = chooseK(x, { nInit: 2, seed: 2, searchSampleSize: 1500, kMax: 5 });
    expect(chosen.k).toBe(3);
    expect(chosen.candidates.map((c) => c.k)).toEqual([2, 3, 4, 5]);
    expect(chosen.model.labels).toHaveLength(6000);
    expect(chosen.silhouette).toBeCloseTo(silhouetteScores(x, [chosen.model.labels])[0]!, 12);
  });

  it('rejects an empty k range', () => {
    const { x } = blobs(72, 50, [[0], [5]], [1, 1]);
    expect(() => chooseK(x, { kMin: 5, kMax: 3 })).toThrow(/k range/);
  });
});
