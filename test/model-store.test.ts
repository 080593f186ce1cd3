/**
 * The model store (src/models/registry/model-store.ts) on DuckDB, a ClickHouse node and a
 * two-shard cluster: versions per key, scoring runs appended through `appendRows`, the run a
 * condition reads as of an instant, and erasure reaching `model_scores` (user-keyed).
 * Oracle for percentiles: scipy.stats.percentileofscore(kind='weak') in /usr/bin/python3.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getModelVersion,
  listModelVersions,
  listScoreRuns,
  modelCatalogue,
  percentileRanks,
  readScores,
  saveModelVersion,
  scoreRunsAsOf,
  writeScoreRun,
} from '../src/models/registry/index.js';
import type { EventStore } from '../src/store/event-store.js';
import { TABLES, USER_KEYED_TABLES } from '../src/store/schema.js';
import { closeEngineStores, openEngineStores, type Engine } from './support/agreement-stores.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';

const PY = '/usr/bin/python3';
const hasScipy = existsSync(PY) && (() => { try { execFileSync(PY, ['-c', 'import scipy']); return true; } catch { return false; } })();

describe.skipIf(!hasScipy)('percentileRanks (oracle: scipy.stats.percentileofscore, kind="weak")', () => {
  it('matches scipy on ties, singletons and a spread of values', () => {
    const scores = [0.5, 0.1, 0.5, 0.9, 0.3, 0.5, 0.0, 1.0, 0.3, 0.7];
    const want = JSON.parse(
      execFileSync(PY, ['-c', `import json,sys\nfrom scipy.stats import percentileofscore as p\ns=json.loads(sys.argv[1])\nprint(json.dumps([p(s, v, kind='weak') for v in s]))`, JSON.stringify(scores)]).toString(),
    ) as number[];
    const got = Array.from(percentileRanks(Float64Array.from(scores)));
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 12));
    expect(Array.from(percentileRanks(Float64Array.from([0.4])))).toEqual([100]);
    expect(percentileRanks(new Float64Array(0)).length).toBe(0);
  });
});

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

async function exercise(store: EventStore): Promise<void> {
  // Versions: the key keeps its kind, versions count up.
  const v1 = await saveModelVersion(store, { key: 'churn-risk', kind: 'churn', createdAtMs: T0, body: { family: 'logistic' } });
  const v2 = await saveModelVersion(store, { key: 'churn-risk', kind: 'churn', createdAtMs: T0 + DAY, body: { family: 'gbt' } });
  await saveModelVersion(store, { key: 'personas', kind: 'personas', createdAtMs: T0, body: { k: 3 } });
  expect([v1.version, v2.version]).toEqual([1, 2]);
  await expect(saveModelVersion(store, { key: 'churn-risk', kind: 'propensity', createdAtMs: T0, body: {} })).rejects.toThrow(/is a churn model/);
  await expect(saveModelVersion(store, { key: 'Bad Key', kind: 'churn', createdAtMs: T0, body: {} })).rejects.toThrow(/must match/);
  expect((await getModelVersion(store, 'churn-risk')).body).toEqual({ family: 'gbt' });
  expect((await getModelVersion(store, 'churn-risk', 1)).body).toEqual({ family: 'logistic' });
  await expect(getModelVersion(store, 'churn-risk', 7)).rejects.toThrow(/has no version 7 \(stored: 1, 2\)/);
  await expect(getModelVersion(store, 'nope')).rejects.toThrow(/no model "nope" \(stored: churn-risk, personas\)/);
  expect([...(await modelCatalogue(store))]).toEqual([['churn-risk', 'churn'], ['personas', 'personas']]);
  expect((await listModelVersions(store)).map((v) => `${v.key}@${v.version}`)).toEqual(['churn-risk@1', 'churn-risk@2', 'personas@1']);

  // Runs: two score runs as of different instants, one cluster run.
  const users = Array.from({ length: 2500 }, (_, i) => `u${String(i).padStart(5, '0')}`);
  const scores = Float64Array.from(users, (_, i) => ((i * 7919) % 1000) / 1000);
  const r1 = await writeScoreRun(store, { modelKey: 'churn-risk', modelVersion: 1, asOfMs: T0 + 10 * DAY, createdAtMs: T0 + 10 * DAY, userIds: users, scores });
  const r2 = await writeScoreRun(store, { modelKey: 'churn-risk', modelVersion: 2, asOfMs: T0 + 20 * DAY, createdAtMs: T0 + 20 * DAY, userIds: users.slice(0, 3), scores: Float64Array.from([0.2, 0.9, 0.2]) });
  const r3 = await writeScoreRun(store, { modelKey: 'personas', modelVersion: 1, asOfMs: T0 + 10 * DAY, createdAtMs: T0 + 10 * DAY, userIds: users.slice(0, 4), clusters: Int32Array.from([1, 2, 2, 3]) });
  expect([r1.runId, r2.runId, r3.runId]).toEqual([1, 2, 3]);
  expect((await listScoreRuns(store)).map((r) => [r.runId, r.modelKey, r.kind, r.users])).toEqual([[1, 'churn-risk', 'score', 2500], [2, 'churn-risk', 'score', 3], [3, 'personas', 'cluster', 4]]);

  const at = async (t: number) => Object.fromEntries(await scoreRunsAsOf(store, ['churn-risk', 'personas', 'unknown'], t));
  expect(await at(T0 + 9 * DAY)).toEqual({ 'churn-risk': null, personas: null, unknown: null });
  expect(await at(T0 + 10 * DAY)).toEqual({ 'churn-risk': 1, personas: 3, unknown: null });
  expect(await at(T0 + 25 * DAY)).toEqual({ 'churn-risk': 2, personas: 3, unknown: null });

  const all = await readScores(store, 1);
  expect(all.length).toBe(2500);
  const pct = percentileRanks(scores);
  all.forEach((row, i) => {
    expect(row.userId).toBe(users[i]);
    expect(row.score).toBe(scores[i]);
    expect(row.percentile).toBeCloseTo(pct[i]!, 12);
    expect(row.cluster).toBeNull();
  });
  expect(await readScores(store, 2)).toEqual([
    { userId: 'u00000', score: 0.2, percentile: 200 / 3, cluster: null },
    { userId: 'u00001', score: 0.9, percentile: 100, cluster: null },
    { userId: 'u00002', score: 0.2, percentile: 200 / 3, cluster: null },
  ]);
  expect((await readScores(store, 3, ['u00001', 'u00003'])).map((r) => [r.userId, r.cluster, r.score])).toEqual([['u00001', 2, null], ['u00003', 3, null]]);
  await expect(writeScoreRun(store, { modelKey: 'churn-risk', modelVersion: 1, asOfMs: T0, createdAtMs: T0, userIds: ['a'], scores: Float64Array.from([Number.NaN]) })).rejects.toThrow(/user "a" is NaN/);

  // model_scores is user-keyed: erasing a user through the catalogue removes their scores.
  expect(USER_KEYED_TABLES.some((t) => t.table === TABLES.modelScores)).toBe(true);
  await store.deleteWhere(TABLES.modelScores, `user_id = 'u00001'`);
  expect((await readScores(store, 2)).map((r) => r.userId)).toEqual(['u00000', 'u00002']);
}

describe('the model store on DuckDB', () => {
  it('versions models, appends scoring runs and resolves the run as of an instant', async () => {
    const store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    try {
      await store.migrate();
      await exercise(store);
    } finally {
      await store.close();
    }
  });

  it('rejects an append whose columns are not the table\'s', async () => {
    const store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    try {
      await store.migrate();
      await expect(store.appendRows(TABLES.modelScores, [{ name: 'user_id', type: 'string', values: ['a'] }], 1)).rejects.toThrow(/are not the table's \(run_id, user_id, score, percentile, cluster\)/);
    } finally {
      await store.close();
    }
  });
});

describe.skipIf(!clickhouseAvailable())('the model store on ClickHouse (node and two-shard cluster)', () => {
  let layouts: ClickHouseLayouts | undefined;
  let stores: Map<Engine, EventStore> | undefined;
  beforeAll(async () => {
    layouts = await startLayouts('model_store');
    stores = await openEngineStores(layouts);
  }, 120_000);
  afterAll(async () => {
    if (stores) await closeEngineStores(stores.values());
    await layouts?.stop();
  });
  it.each(['single', 'cluster'] as const)('%s', async (engine) => {
    await exercise(stores!.get(engine)!);
  }, 120_000);
});
