/**
 * The persona fit on a workspace's real feature matrix (planted groups loaded in DuckDB, features
 * built in SQL as of T), held to scikit-learn 1.2 in /usr/bin/python3 on the same rows:
 * - the matrix clustered: numpy's log1p on the logged columns then StandardScaler;
 * - the k search: sklearn.metrics.silhouette_score of every candidate's labels (exact: fewer rows
 *   than the sample size), and the chosen k is the candidate with the best score;
 * - k-means: KMeans(init=<the same k-means++ starting centroids>, n_init=1, algorithm='lloyd')
 *   inertia within 1% and adjusted_rand_score >= 0.95; and the stored model (10 seeded restarts)
 *   against KMeans(n_init=10): inertia within 1%, ARI >= 0.95.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom, kmeansFromCentroids, kmeansPlusPlus } from '../src/models/cluster/index.js';
import { discoverPersonas, type DiscoveredPersonas } from '../src/models/discover/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { AS_OF_MS, PERSONA_PLAN, PURCHASE, mergePlanted, plantedUsers } from './personas-fixtures.js';
import { runPython, sklearnAvailable } from './support/cluster-data.js';
import { loadIntoStore, seedDataset } from './support/load-duckdb.js';

const HAS_SKLEARN = sklearnAvailable();
let found: DiscoveredPersonas;

beforeAll(async () => {
  const store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  try {
    await store.applyPlan(PERSONA_PLAN);
    const data = mergePlanted(plantedUsers(21, [120, 90, 60, 0], 'a'), plantedUsers(22, [0, 0, 40, 80], 'b'));
    await loadIntoStore(store, PERSONA_PLAN, seedDataset({ events: data.events }));
    found = await discoverPersonas(store, PERSONA_PLAN, { asOfMs: AS_OF_MS, purchase: PURCHASE, save: false, seed: 5 });
  } finally {
    await store.close();
  }
}, 60_000);

interface Oracle {
  standardized: number[];
  silhouettes: number[];
  fromStart: { inertia: number; ari: number };
  restarts: { inertia: number; ari: number };
}

describe.skipIf(!HAS_SKLEARN)('persona fit against scikit-learn on the workspace matrix', () => {
  let oracle: Oracle;
  let ours: { inertia: number };

  beforeAll(() => {
    const fit = found.fit;
    const x = fit.standardized;
    const init = kmeansPlusPlus(x, fit.k, new SeededRandom(3));
    const fromStart = kmeansFromCentroids(x, init);
    ours = { inertia: fromStart.inertia };
    const labels = [...fit.candidateLabels!, fromStart.labels, fit.model.labels].map((l) => Array.from(l));
    oracle = runPython<Oracle>(
      `
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler
X, R, init = Xs
# The clustering matrix: numpy's log1p on the logged columns of the raw features, then StandardScaler.
T = R.copy()
logged = np.array(req['logged'])
T[:, logged] = np.log1p(T[:, logged])
Z = StandardScaler().fit_transform(T)
labels = [np.array(l) for l in req['labels']]
sil = [float(silhouette_score(X, l)) for l in labels[:-2]]
a = KMeans(n_clusters=init.shape[0], init=init, n_init=1, algorithm='lloyd').fit(X)
b = KMeans(n_clusters=init.shape[0], n_init=10, random_state=0, algorithm='lloyd').fit(X)
print(json.dumps({
  'standardized': Z.ravel().tolist(),
  'silhouettes': sil,
  'fromStart': {'inertia': float(a.inertia_), 'ari': float(adjusted_rand_score(a.labels_, labels[-2]))},
  'restarts': {'inertia': float(b.inertia_), 'ari': float(adjusted_rand_score(b.labels_, labels[-1]))},
}))
`,
      [x, fit.raw, init],
      { labels, logged: fit.logged },
    );
  }, 60_000);

  it('clusters the StandardScaler z-scores of the log1p features', () => {
    const z = found.fit.standardized.data;
    oracle.standardized.forEach((v, i) => expect(z[i]).toBeCloseTo(v, 10));
    expect(found.fit.logged).toEqual(found.fit.features.map((f) => f !== 'trend_14d'));
  });

  it('scores every candidate k as silhouette_score does and keeps the best', () => {
    const cands = found.report.candidates;
    expect(cands.map((c) => c.k)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    cands.forEach((c, i) => expect(c.silhouette).toBeCloseTo(oracle.silhouettes[i]!, 10));
    const best = oracle.silhouettes.indexOf(Math.max(...oracle.silhouettes));
    expect(found.report.k).toBe(cands[best]!.k);
    expect(found.report.k).toBe(4);
  });

  it('runs k-means as sklearn does from the same starting centroids (inertia within 1%, ARI >= 0.95)', () => {
    expect(Math.abs(ours.inertia - oracle.fromStart.inertia) / oracle.fromStart.inertia).toBeLessThan(0.01);
    expect(oracle.fromStart.ari).toBeGreaterThanOrEqual(0.95);
  });

  it('reaches the inertia of KMeans(n_init=10) with its 10 seeded restarts (within 1%, ARI >= 0.95)', () => {
    expect(found.report.inertia).toBeLessThanOrEqual(oracle.restarts.inertia * 1.01);
    expect(oracle.restarts.ari).toBeGreaterThanOrEqual(0.95);
  });
});

