/**
 * `discoverPersonas` on a DuckDB store with planted behaviour groups (personas-fixtures.ts).
 * Oracles: the planted group of each user (adjusted Rand index, and which id each group gets
 * across refreshes); the stored run read back with `readScores` (exactly the labels); the
 * population rules counted from the rows written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adjustedRandIndex } from '../src/models/cluster/index.js';
import { discoverPersonas, showPersonas, type DiscoveredPersonas } from '../src/models/discover/index.js';
import { listModelVersions, listScoreRuns, readScores, saveModelVersion } from '../src/models/registry/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { AS_OF_MS, PERSONA_PLAN, PURCHASE, mergePlanted, plantedUsers, type PlantedUsers } from './personas-fixtures.js';
import { loadIntoStore, seedDataset } from './support/load-duckdb.js';

let store: DuckDbStore;
const DAY = 86_400_000;

async function load(part: PlantedUsers): Promise<void> {
  await loadIntoStore(store, PERSONA_PLAN, seedDataset({ events: part.events }));
}

function ari(found: DiscoveredPersonas, truth: ReadonlyMap<string, number>): number {
  return adjustedRandIndex(Int32Array.from(found.userIds, (u) => truth.get(u)!), found.assignments);
}

/** The persona id most users of each planted group got. */
function idOfGroup(found: DiscoveredPersonas, truth: ReadonlyMap<string, number>): number[] {
  const votes = new Map<number, Map<number, number>>();
  found.userIds.forEach((u, i) => {
    const g = truth.get(u)!;
    const m = votes.get(g) ?? new Map<number, number>();
    m.set(found.assignments[i]!, (m.get(found.assignments[i]!) ?? 0) + 1);
    votes.set(g, m);
  });
  return [...votes.keys()].sort().map((g) => [...votes.get(g)!].sort((a, b) => b[1] - a[1])[0]![0]);
}

const first = plantedUsers(11, [150, 150, 150, 0], 'a');
const more = plantedUsers(12, [60, 60, 60, 0], 'b');
const sharers = plantedUsers(13, [0, 0, 0, 150], 'c');
const run = (extra: Partial<Parameters<typeof discoverPersonas>[2]> = {}) => discoverPersonas(store, PERSONA_PLAN, { asOfMs: AS_OF_MS, purchase: PURCHASE, nowMs: AS_OF_MS, ...extra });

let v1: DiscoveredPersonas;
let v2: DiscoveredPersonas;
let v3: DiscoveredPersonas;

beforeAll(async () => {
  store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  await store.applyPlan(PERSONA_PLAN);
  await load(first);
  v1 = await run();
  await load(more);
  v2 = await run();
  await load(sharers);
  v3 = await run();
}, 60_000);

afterAll(async () => {
  await store?.close();
});

describe('discoverPersonas (oracle: the planted behaviour groups)', () => {
  it('finds the three planted groups, with distinct names and ids 1..3', () => {
    expect(v1.report.k).toBe(3);
    expect(v1.report.chosenBy).toBe('silhouette');
    expect(ari(v1, first.truth)).toBeGreaterThanOrEqual(0.95);
    expect(v1.report.personas.map((p) => p.id)).toEqual([1, 2, 3]);
    expect(new Set(v1.report.personas.map((p) => p.name)).size).toBe(3);
    expect(v1.report.personas.reduce((a, p) => a + p.size, 0)).toBe(450);
    expect(v1.report.changes).toMatchObject({ previousVersion: null, created: [1, 2, 3], vanished: [] });
    expect(v1.report.candidates.map((c) => c.k)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    const best = Math.max(...v1.report.candidates.map((c) => c.silhouette));
    expect(v1.report.silhouette).toBe(best);
  });

  it('uses behavioural features only (no traits unless asked), log1p on all but the trend', () => {
    expect(v1.report.features.some((f) => f.startsWith('trait:'))).toBe(false);
    expect(v1.report.features).toEqual(expect.arrayContaining(['recency_days', 'events', 'purchases', 'monetary', 'count_28d:view', 'active_days_28d', 'trend_14d', 'sessions_28d', 'days_since_first_seen']));
    expect(v1.fit.logged).toEqual(v1.report.features.map((f) => f !== 'trend_14d'));
  });

  it('describes each persona by its distinguishing features with raw means against the rest', () => {
    const buyers = v1.report.personas.find((p) => p.id === idOfGroup(v1, first.truth)[2])!;
    const monetary = buyers.features.find((f) => f.feature === 'monetary' || f.feature === 'purchases' || f.feature === 'count_28d:purchase');
    expect(monetary).toBeDefined();
    expect(monetary!.smd).toBeGreaterThan(1.2);
    expect(monetary!.restMean).toBe(0);
    expect(monetary!.mean).toBeGreaterThan(1);
    // Oracle for the raw means: the planted purchases before T (amount 999 at or after T must not count).
    const members = v1.userIds.filter((_, i) => v1.assignments[i] === buyers.id);
    const spend = (u: string) => first.events.filter((e) => e.user === u && e.event === 'purchase' && e.at < AS_OF_MS).reduce((a, e) => a + (e.props!.amount as number), 0);
    const spendMean = members.reduce((a, u) => a + spend(u), 0) / members.length;
    const reported = buyers.features.find((f) => f.feature === 'monetary');
    if (reported) expect(reported.mean).toBeCloseTo(spendMean, 9);
    const j = v1.fit.features.indexOf('monetary');
    const c = v1.fit.model.labels[v1.assignments.indexOf(buyers.id)]!;
    expect(v1.fit.clusterMeans.data[c * v1.fit.features.length + j]).toBeCloseTo(spendMean, 9);
  });

  it('writes exactly the assignments as the cluster run of the stored version', async () => {
    const runs = await listScoreRuns(store, 'personas');
    expect(runs.map((r) => [r.modelVersion, r.kind, r.asOfMs, r.users])).toEqual([
      [1, 'cluster', AS_OF_MS, 450],
      [2, 'cluster', AS_OF_MS, 630],
      [3, 'cluster', AS_OF_MS, 780],
    ]);
    for (const [found, r] of [[v1, runs[0]!], [v3, runs[2]!]] as const) {
      const rows = await readScores(store, r.runId);
      expect(rows.map((x) => x.userId)).toEqual(found.userIds);
      expect(rows.map((x) => x.cluster)).toEqual(Array.from(found.assignments));
      expect(Array.from(found.assignments)).toEqual(Array.from(found.fit.model.labels, (l) => found.report.personas.find((p) => p.name === found.fit.descriptions[l]!.name)!.id));
      expect(found.report.runId).toBe(r.runId);
    }
  });

  it('keeps the ids of the same clusters after users are added (a refresh)', () => {
    expect(v2.report.version).toBe(2);
    expect(v2.report.k).toBe(3);
    expect(ari(v2, mergePlanted(first, more).truth)).toBeGreaterThanOrEqual(0.95);
    expect(idOfGroup(v2, mergePlanted(first, more).truth)).toEqual(idOfGroup(v1, first.truth));
    expect(v2.report.changes).toMatchObject({ previousVersion: 1, created: [], vanished: [] });
    expect(v2.report.changes.matched.map((m) => m.id)).toEqual([1, 2, 3]);
  });

  it('gives a new cluster a fresh id and keeps the others', () => {
    const truth = mergePlanted(first, more, sharers).truth;
    expect(v3.report.k).toBe(4);
    expect(ari(v3, truth)).toBeGreaterThanOrEqual(0.95);
    const ids = idOfGroup(v3, truth);
    expect(ids.slice(0, 3)).toEqual(idOfGroup(v1, first.truth));
    expect(ids[3]).toBe(4);
    expect(v3.report.changes).toMatchObject({ previousVersion: 2, created: [4], vanished: [] });
  });

  it('reports vanished ids, and --no-save stores nothing', async () => {
    const versions = (await listModelVersions(store, 'personas')).length;
    const runs = (await listScoreRuns(store)).length;
    const fewer = await run({ k: 3, save: false });
    expect(fewer.report).toMatchObject({ version: null, runId: null, k: 3, chosenBy: 'given' });
    expect(fewer.report.changes.previousVersion).toBe(3);
    expect(fewer.report.changes.vanished).toHaveLength(1);
    expect(fewer.report.changes.matched).toHaveLength(3);
    expect(new Set([...fewer.report.changes.matched.map((m) => m.id), fewer.report.changes.vanished[0]!.id])).toEqual(new Set([1, 2, 3, 4]));
    expect((await listModelVersions(store, 'personas')).length).toBe(versions);
    expect((await listScoreRuns(store)).length).toBe(runs);
  });

  it('shows a stored version as it was reported', async () => {
    const shown = await showPersonas(store, 'personas', 1);
    const { createdAtMs: _c, ...want } = v1.report;
    expect(JSON.parse(JSON.stringify(shown))).toMatchObject(JSON.parse(JSON.stringify(want)));
    expect((await showPersonas(store)).version).toBe(3);
    await expect(showPersonas(store, 'personas', 9)).rejects.toThrow(/has no version 9/);
  });
});

describe('discoverPersonas populations and options', () => {
  it('clusters the users active in [T - 90d, T) by default, everyone with activeDays null', async () => {
    const lapsed = Array.from({ length: 5 }, (_, i) => ({ user: `lapsed-${i}`, event: 'view', at: AS_OF_MS - (100 + i) * DAY, props: { page: 'home' } }));
    await loadIntoStore(store, PERSONA_PLAN, seedDataset({ events: lapsed }));
    const active = await run({ save: false, k: 3 });
    const everyone = await run({ save: false, k: 3, population: { activeDays: null } });
    const recent = await run({ save: false, k: 3, population: { activeDays: 101.5 } });
    expect(active.report.population).toEqual({ segment: null, activeDays: 90, users: 780 });
    expect(everyone.report.population.users).toBe(785);
    expect(recent.report.population.users).toBe(782);
    expect(active.userIds.some((u) => u.startsWith('lapsed'))).toBe(false);
  });

  it('adds traits only when named, and never a sensitive one', async () => {
    const withPlan = await run({ save: false, k: 3, traits: ['plan'] });
    expect(withPlan.report.features.filter((f) => f.startsWith('trait:'))).toEqual(['trait:plan=(other)', 'trait:plan=(missing)']);
    await expect(run({ save: false, traits: ['health'] })).rejects.toThrow(/sensitive traits are never model features/);
  });

  it('refuses a key that holds another kind of model, and too small a population', async () => {
    await saveModelVersion(store, { key: 'churn-risk', kind: 'churn', createdAtMs: AS_OF_MS, body: {} });
    await expect(run({ key: 'churn-risk', save: false })).rejects.toThrow(/is a churn model; personas need another key/);
    await expect(run({ save: false, asOfMs: Date.UTC(2020, 0, 1) })).rejects.toThrow(/personas need at least 3 users, the population has 0/);
    await expect(run({ save: false, k: 1 })).rejects.toThrow(/k must be a whole number from 2/);
  });
});
