/**
 * The pure parts of persona discovery. Oracles: the cluster core's `chooseK` (the k search here
 * is its rule run k by k, so the results must be identical, on all rows and on the search
 * sample), the blob each row was drawn from (ids matched when the feature set changes), and the
 * stored-body checks.
 */
import { describe, expect, it } from 'vitest';
import { chooseK, fitScaler, log1pMatrix, matrix, matrixFromRows, standardize } from '../src/models/cluster/index.js';
import { assignPersonaIds, fitPersonas, isLoggedFeature, log1pColumns, parsePersonaBody, searchK, type PersonaModelBody } from '../src/models/discover/index.js';
import { BEHAVIOUR_FEATURES, behaviour } from './support/cluster-data.js';

const { x: raw } = behaviour(7, 900);
const z = standardize(log1pMatrix(raw), fitScaler(log1pMatrix(raw)));

describe('searchK (oracle: chooseK of the cluster core)', () => {
  it('gives chooseK\'s k, silhouettes, inertias and model on all rows', async () => {
    const ours = await searchK(z, { seed: 3, kMax: 6 });
    const core = chooseK(z, { seed: 3, kMax: 6 });
    expect(ours.k).toBe(core.k);
    expect(ours.candidates).toEqual(core.candidates);
    expect(ours.silhouette).toBe(core.silhouette);
    expect(Array.from(ours.model.labels)).toEqual(Array.from(core.model.labels));
    expect(ours.candidateLabels).toHaveLength(5);
  });

  it('gives chooseK\'s answer when the search runs on a sample and the winner is refitted', async () => {
    const o = { seed: 4, kMax: 5, searchSampleSize: 400, sampleSize: 300 };
    const ours = await searchK(z, o);
    const core = chooseK(z, o);
    expect(ours.k).toBe(core.k);
    expect(ours.candidates).toEqual(core.candidates);
    expect(ours.silhouette).toBe(core.silhouette);
    expect(Array.from(ours.model.labels)).toEqual(Array.from(core.model.labels));
    expect(ours.candidateLabels).toBeNull();
  });

  it('fits a given k and still reports its silhouette', async () => {
    const ours = await searchK(z, { k: 4, seed: 1 });
    const core = chooseK(z, { k: 4, seed: 1 });
    expect(ours).toMatchObject({ k: 4, chosenBy: 'given', silhouette: core.silhouette, candidates: core.candidates });
  });

  it('reports progress for each k of the search', async () => {
    const seen: string[] = [];
    await fitPersonas(raw, BEHAVIOUR_FEATURES, { kMax: 4, onProgress: (p) => seen.push(`${p.phase} ${p.done}/${p.total}`) });
    expect(seen).toEqual(['k search 0/3', 'k search 1/3', 'k search 2/3', 'silhouette 3/3', 'describing 0/1']);
  });
});

describe('the persona transform', () => {
  it('log1p on every column but the trend and traits, as log1pMatrix does', () => {
    expect(['events', 'count_28d:view', 'monetary', 'recency_days', 'trend_14d', 'trait:plan=pro'].map(isLoggedFeature)).toEqual([true, true, true, true, false, false]);
    const m = matrixFromRows([[0, -0.5, 3], [2, 0.25, 0]]);
    const out = log1pColumns(m, [true, false, true]);
    const all = log1pMatrix(m);
    expect(Array.from(out.data)).toEqual([all.data[0], -0.5, all.data[2], all.data[3], 0.25, all.data[5]]);
  });
});

describe('assignPersonaIds across feature sets (oracle: which centroid is which)', () => {
  const previous = (features: string[], centroids: number[][], ids: number[], nextId: number) =>
    ({ body: { features, centroids, ids, nextId } as unknown as PersonaModelBody });
  const scaler = (cols: number) => ({ mean: new Float64Array(cols), scale: new Float64Array(cols).fill(1), constant: [] });

  it('matches on the features both versions share when the feature set changed', () => {
    // New features [a, c, d]; previous [a, b, c]; the new cluster 0 sits where old id 7 was on (a, c).
    const centroids = matrix(2, 3, Float64Array.from([10, 0, 5, 0, 10, -5]));
    const prev = previous(['a', 'b', 'c'], [[0, 99, 10], [10, -99, 0]], [3, 7], 9);
    const got = assignPersonaIds(['a', 'c', 'd'], centroids, scaler(3), prev, null);
    expect(got).toMatchObject({ ids: [7, 3], created: [], vanished: [], nextId: 9, comparedFeatures: 2 });
  });

  it('gives every persona a fresh id when no feature is shared, and a fresh id beyond maxDistance', () => {
    const centroids = matrix(2, 1, Float64Array.from([0, 100]));
    const none = assignPersonaIds(['z'], centroids, scaler(1), previous(['a'], [[0], [1]], [1, 2], 3), null);
    expect(none).toMatchObject({ ids: [3, 4], created: [0, 1], vanished: [1, 2], nextId: 5, comparedFeatures: 0 });
    const far = assignPersonaIds(['a'], centroids, scaler(1), previous(['a'], [[0], [1]], [1, 2], 3), 10);
    expect(far).toMatchObject({ ids: [1, 3], created: [1], vanished: [2], nextId: 4 });
  });
});

describe('parsePersonaBody', () => {
  it('refuses a body that is not a persona model, naming the model and version', () => {
    expect(() => parsePersonaBody('personas', 2, { format: 'strata-model' })).toThrow(/model "personas" version 2 is not a persona model this version of Strata reads: format is "strata-model"/);
    const body = { format: 'strata-personas', formatVersion: 1, features: ['a', 'b'], ids: [1], centroids: [[1]], scaler: { mean: [0, 0], scale: [1, 1], constant: [] }, nextId: 2 };
    expect(() => parsePersonaBody('p', 1, body)).toThrow(/centroids are not 1 x 2 numbers/);
    expect(parsePersonaBody('p', 1, { ...body, centroids: [[1, 2]], silhouette: null }).silhouette).toBeNaN();
  });
});
