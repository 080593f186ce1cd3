/**
 * Feature matrices and training sets on DuckDB. Oracles: the brute-force reference of
 * test/support/features-oracle.ts (written from docs/models.md, not from the SQL) over
 * seeded random logs, and hand-worked values for a small log. Leakage: appending events at
 * or after T changes nothing; a planted event just before T does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrataError } from '../src/errors/errors.js';
import { buildFeatures, featureRecord, forEachFeaturePage, labelledSnapshots, type FeatureMatrix } from '../src/models/features/index.js';
import type { MemoryDataset } from '../src/segments/evaluate/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { MS } from '../src/time/time.js';
import { FEATURE_AS_OF, FEATURE_PLAN, PURCHASE, concatPages, expectMatrixToMatch, featureCase, randomFeatureLog } from './support/features-cases.js';
import { referenceFeatures } from './support/features-oracle.js';
import { reloadStore, seedDataset, type SeedEvent } from './support/load-duckdb.js';

const T = FEATURE_AS_OF;
let store: DuckDbStore;

beforeAll(async () => {
  store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  await store.migrate();
  await store.applyPlan(FEATURE_PLAN);
});
afterAll(() => store.close());

async function load(data: MemoryDataset): Promise<void> {
  await reloadStore(store, FEATURE_PLAN, data);
}

describe('feature matrix against the brute-force reference (DuckDB)', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`random log ${seed}: every feature of every user`, async () => {
      const data = randomFeatureLog(seed);
      await load(data);
      const asOf = T + (seed % 3) * 7 * MS.h;
      const { options, oracle } = featureCase(asOf);
      expectMatrixToMatch(await buildFeatures(store, FEATURE_PLAN, options), referenceFeatures(FEATURE_PLAN, data, oracle));
    });
  }

  it('other options: chosen events and windows, a longer session gap, no purchase, top 1', async () => {
    const data = randomFeatureLog(11);
    await load(data);
    const { oracle } = featureCase(T);
    const options = { asOfMs: T, events: ['buy'], windowsDays: [3, 60], activeDaysWindows: [7], sessionGapMs: 3 * MS.h, oneHotTop: 1, traits: ['plan', 'email'] };
    const matrix = await buildFeatures(store, FEATURE_PLAN, options);
    const expected = referenceFeatures(FEATURE_PLAN, data, { ...oracle, ...options, purchase: null, depthProperty: null });
    expectMatrixToMatch(matrix, expected);
    // email is pii: asked for explicitly, it is one-hot encoded like any string trait.
    expect(matrix.names.filter((n) => n.startsWith('trait:email'))).toHaveLength(3);
  });
});

describe('hand-worked features', () => {
  // u1: views at T-40d, T-10d 10:00, 10:20, 11:00 (gap 40 min: a new session), a buy at T-3d (amount 10, qty 2) and T-1 ms (amount 5, no qty), a view at T (not read).
  const H = MS.h;
  const day = (n: number) => T - n * MS.d;
  const events: SeedEvent[] = [
    { user: 'u1', event: 'view', at: day(40), props: { page: 'home' } },
    { user: 'u1', event: 'view', at: day(10), props: { page: 'home' } },
    { user: 'u1', event: 'view', at: day(10) + H / 3, props: { page: 'docs' } },
    { user: 'u1', event: 'view', at: day(10) + H, props: {} },
    { user: 'u1', event: 'buy', at: day(3), props: { amount: 10, qty: 2 } },
    { user: 'u1', event: 'buy', at: T - 1, props: { amount: 5, qty: null } },
    { user: 'u1', event: 'view', at: T, props: { page: 'pricing' } },
    { user: 'later', event: 'view', at: T + 1, props: {} },
  ];

  it('matches values worked out by hand', async () => {
    await load(seedDataset({ events, profiles: { u1: { plan: 'pro', seats: 4, health: 'x' }, p: { beta: false } } }));
    const m = await buildFeatures(store, FEATURE_PLAN, { asOfMs: T, purchase: PURCHASE, depthProperty: 'page' });
    expect(m.userIds).toEqual(['p', 'u1']); // `later` is first seen after T
    const u1 = featureRecord(m, 1);
    expect(u1).toMatchObject({
      recency_days: 1 / MS.d,
      events: 6,
      purchase_recency_days: 1 / MS.d,
      purchases: 2,
      monetary: 20, // 10 x 2; the second buy has no quantity
      'count_7d:buy': 2,
      'count_28d:view': 3,
      'count_90d:view': 4,
      'count_7d:view': 0,
      active_days_28d: 3, // T-10d, T-3d, the day of T-1 ms
      active_days_90d: 4,
      trend_14d: (5 - 0) / (5 + 0 + 1), // all five events of the last 28 days are in the last 14
      sessions_28d: 4, // [+0, +20 min], [+60 min] (40 min after the last: a new session), [T-3d], [T-1 ms]
      session_minutes_28d: 20 / 4,
      events_per_session_28d: 5 / 4,
      distinct_events: 2,
      'distinct:page': 2,
      days_since_first_seen: 40,
      'trait:plan=pro': 1,
      'trait:plan=(missing)': 0,
      'trait:seats': 4,
      'trait:beta': 0,
      'trait:beta=(missing)': 1,
    });
  });
});

describe('purchases with a where', () => {
  it('counts and sums only the purchases that meet it (hand-worked)', async () => {
    const events: SeedEvent[] = [
      { user: 'u', event: 'buy', at: T - 5 * MS.d, props: { amount: 5, qty: 1 } },
      { user: 'u', event: 'buy', at: T - 2 * MS.d, props: { amount: 20, qty: 3 } },
      { user: 'u', event: 'buy', at: T - MS.d, props: { amount: 4, qty: 2 } },
    ];
    await load(seedDataset({ events }));
    const purchase = { ...PURCHASE, where: [{ property: 'amount', type: 'number' as const, cmp: { op: 'gt' as const, value: { kind: 'number' as const, value: 4.5 } } }] };
    const m = await buildFeatures(store, FEATURE_PLAN, { asOfMs: T, purchase, traits: [] });
    // amount > 4.5: the first two buys; 5 x 1 + 20 x 3 = 65; the last qualifying buy was 2 days before T.
    expect(featureRecord(m, 0)).toMatchObject({ purchases: 2, monetary: 65, purchase_recency_days: 2, events: 3, 'count_7d:buy': 3 });
  });
});

describe('no leakage: only events before T', () => {
  it('appending events at or after T (old and new users) leaves the matrix identical', async () => {
    const data = randomFeatureLog(21);
    const { options } = featureCase(T);
    await load(data);
    const before = await buildFeatures(store, FEATURE_PLAN, options);
    const later = data.events.map((e, i) => ({ ...e, ts: T + (i % 5) * MS.d * 3 + (i % 2) })); // every event copied to T .. T + 12 d
    const newcomers = [{ userId: 'zz-new', event: 'buy', ts: T, properties: { amount: 99, qty: 1 } }];
    await load({ events: [...data.events, ...later, ...newcomers], profiles: data.profiles });
    const after = await buildFeatures(store, FEATURE_PLAN, options);
    expect(after.userIds).toEqual(before.userIds);
    expect(after.names).toEqual(before.names);
    expect(Array.from(after.values)).toEqual(Array.from(before.values));
  });

  it('a planted event changes the features at T - 1 ms and not at T', async () => {
    const data = randomFeatureLog(22);
    const { options } = featureCase(T);
    const user = data.events[0]!.userId;
    const plant = (ts: number) => load({ events: [...data.events, { userId: user, event: 'signup', ts, properties: {} }], profiles: data.profiles });
    await load(data);
    const base = await buildFeatures(store, FEATURE_PLAN, options);
    const row = base.userIds.indexOf(user);
    await plant(T);
    expect(Array.from((await buildFeatures(store, FEATURE_PLAN, options)).values)).toEqual(Array.from(base.values));
    await plant(T - 1);
    const planted = await buildFeatures(store, FEATURE_PLAN, options);
    const was = featureRecord(base, row);
    const now = featureRecord(planted, row);
    expect(now['count_7d:signup']).toBe(was['count_7d:signup']! + 1);
    expect(now.events).toBe(was.events! + 1);
    expect(now.recency_days).toBe(1 / MS.d);
  });
});

describe('traits: governance and one-hot encoding', () => {
  beforeAll(() => load(randomFeatureLog(31)));

  it('never uses sensitive traits, and leaves pii out by default', async () => {
    const m = await buildFeatures(store, FEATURE_PLAN, { asOfMs: T });
    expect(m.names.some((n) => n.startsWith('trait:health') || n.startsWith('trait:email'))).toBe(false);
    expect(m.names).toContain('trait:seats');
  });

  it('refuses a sensitive trait asked for explicitly', async () => {
    const call = buildFeatures(store, FEATURE_PLAN, { asOfMs: T, traits: ['plan', 'health'] });
    await expect(call).rejects.toThrow(StrataError);
    await expect(call).rejects.toThrow(/trait "health" is sensitive/);
  });

  it('rejects undeclared traits, events and depth properties', async () => {
    await expect(buildFeatures(store, FEATURE_PLAN, { asOfMs: T, traits: ['nope'] })).rejects.toThrow(/trait "nope" is not declared/);
    await expect(buildFeatures(store, FEATURE_PLAN, { asOfMs: T, events: ['nope'] })).rejects.toThrow(/event "nope" is not declared/);
    await expect(buildFeatures(store, FEATURE_PLAN, { asOfMs: T, depthProperty: 'nope' })).rejects.toThrow(/no declared event has the property "nope"/);
    await expect(buildFeatures(store, FEATURE_PLAN, { asOfMs: T, purchase: { ...PURCHASE, value: 'page' } })).rejects.toThrow(/not a number property/);
  });

  it('top-N values by count with ties in byte order, and categories given back line up', async () => {
    await load(seedDataset({ profiles: { a: { plan: 'b' }, b: { plan: 'a' }, c: { plan: 'c' }, d: { plan: 'c' }, e: {} } }));
    const m = await buildFeatures(store, FEATURE_PLAN, { asOfMs: T, traits: ['plan'], oneHotTop: 2 });
    expect(m.names.filter((n) => n.startsWith('trait:'))).toEqual(['trait:plan=c', 'trait:plan=a', 'trait:plan=(other)', 'trait:plan=(missing)']);
    expect(m.categories).toEqual({ plan: ['c', 'a'] });
    const again = await buildFeatures(store, FEATURE_PLAN, { asOfMs: T, traits: ['plan'], categories: { plan: ['b'] } });
    expect(again.names.filter((n) => n.startsWith('trait:'))).toEqual(['trait:plan=b', 'trait:plan=(other)', 'trait:plan=(missing)']);
    expect(featureRecord(again, 0)).toMatchObject({ 'trait:plan=b': 1, 'trait:plan=(other)': 0 });
    expect(featureRecord(again, 2)).toMatchObject({ 'trait:plan=b': 0, 'trait:plan=(other)': 1 });
    expect(featureRecord(again, 4)).toMatchObject({ 'trait:plan=(missing)': 1, 'trait:plan=(other)': 0, recency_days: 365, days_since_first_seen: 0 });
  });
});

describe('restrictions', () => {
  it('to a snapshot\'s members, or by a predicate on user_id', async () => {
    const data = randomFeatureLog(41);
    await load(data);
    await store.execute('DELETE FROM snapshot_members');
    const { options, oracle } = featureCase(T);
    const all = referenceFeatures(FEATURE_PLAN, data, oracle);
    const members = all.userIds.filter((_, i) => i % 3 === 0);
    await store.execute(`INSERT INTO snapshot_members (snapshot_id, user_id) VALUES ${members.map((u) => `(7, ${store.dialect.stringLiteral(u)})`).join(', ')}, (8, 'u00')`);
    const bySnapshot = await buildFeatures(store, FEATURE_PLAN, { ...options, restrict: { snapshotId: 7 } });
    expectMatrixToMatch(bySnapshot, referenceFeatures(FEATURE_PLAN, data, { ...oracle, only: new Set(members) }));
    const byWhere = await buildFeatures(store, FEATURE_PLAN, { ...options, restrict: { where: (d) => `user_id >= ${d.stringLiteral('u20')}` } });
    expect(byWhere.userIds).toEqual(all.userIds.filter((u) => Buffer.compare(Buffer.from(u), Buffer.from('u20')) >= 0));
  });
});

describe('labelled snapshots', () => {
  const H = 7;
  const at = (days: number) => T + days * MS.d;
  // a: active at T exactly; b: active at T + 7d (outside [T, T + 7d)) and at T - 1 ms; c: converts at T + 7d - 1 ms.
  const events: SeedEvent[] = [
    { user: 'a', event: 'view', at: at(-20), props: {} },
    { user: 'a', event: 'view', at: T, props: {} },
    { user: 'b', event: 'view', at: T - 1, props: {} },
    { user: 'b', event: 'buy', at: at(7), props: { amount: 1, qty: 1 } },
    { user: 'c', event: 'view', at: at(-2), props: {} },
    { user: 'c', event: 'buy', at: at(7) - 1, props: { amount: 1, qty: 1 } },
    { user: 'd', event: 'view', at: at(30), props: {} }, // the data's end
  ];

  it('churn and conversion labels over [T, T + H), features before T', async () => {
    await load(seedDataset({ events }));
    const churn = await labelledSnapshots(store, FEATURE_PLAN, { snapshotsMs: [T], horizonDays: H, label: { kind: 'churn' } });
    const s = churn.snapshots[0]!;
    expect(s.features.userIds).toEqual(['a', 'b', 'c']);
    expect(Array.from(s.labels)).toEqual([0, 1, 0]);
    const conversion = await labelledSnapshots(store, FEATURE_PLAN, { snapshotsMs: [T], horizonDays: H, label: { kind: 'conversion', event: 'buy' }, purchase: PURCHASE });
    const c = conversion.snapshots[0]!;
    expect(Array.from(c.labels)).toEqual([0, 0, 1]);
    // The label's events are not features: nobody has bought before T.
    expect(c.features.userIds.map((_, i) => featureRecord(c.features, i).purchases)).toEqual([0, 0, 0]);
  });

  it('uses only snapshots whose horizon ended by the data\'s end, the edge included', async () => {
    await load(seedDataset({ events }));
    const r = await labelledSnapshots(store, FEATURE_PLAN, { snapshotsMs: [at(23) + 1, at(23), T], horizonDays: H, label: { kind: 'churn' } });
    expect(r.dataEndMs).toBe(at(30));
    expect(r.snapshots.map((s) => s.asOfMs)).toEqual([T, at(23)]);
    expect(r.skipped.map((s) => s.asOfMs)).toEqual([at(23) + 1]);
    expect(r.skipped[0]!.reason).toMatch(/after the data's end/);
    // At T + 23d: a, b and c are idle through T + 30d (churned); d is not in the population yet.
    const late = r.snapshots[1]!;
    expect(late.features.userIds).toEqual(['a', 'b', 'c']);
    expect(Array.from(late.labels)).toEqual([1, 1, 1]);
    expect(late.features.names).toEqual(r.snapshots[0]!.features.names);
  });
});

describe('paged builds', () => {
  it('pages of 7 users join back into the whole matrix, one-hot values fixed over everyone', async () => {
    const data = randomFeatureLog(51);
    await load(data);
    const { options } = featureCase(T);
    const whole = await buildFeatures(store, FEATURE_PLAN, options);
    const pages: FeatureMatrix[] = [];
    const count = await forEachFeaturePage(store, FEATURE_PLAN, options, 7, (p) => {
      pages.push(p);
    });
    expect(count).toBe(Math.ceil(whole.userIds.length / 7));
    expect(pages.map((p) => p.userIds.length).slice(0, -1).every((n) => n === 7)).toBe(true);
    const joined = concatPages(pages);
    expect(joined.names).toEqual(whole.names);
    expect(joined.userIds).toEqual(whole.userIds);
    expect(joined.values).toEqual(Array.from(whole.values));
    await expect(forEachFeaturePage(store, FEATURE_PLAN, options, 0, () => {})).rejects.toThrow(/pageUsers must be a positive/);
  });
});
