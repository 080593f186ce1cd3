/**
 * Backfill, history and the user profile on ClickHouse give the same answers as on DuckDB
 * (the oracle): the demo product (seeded) is ingested into a DuckDB store, a single
 * ClickHouse node and a two-shard cluster, and the same calls run on all three: backfill of
 * three demo segments weekly and every 3 days (then again, kept, and with force), their
 * histories (whole, a window, every version after a new version), a snapshot scheduler run,
 * and the profiles of several users. Everything is compared exactly (there is no fractional
 * statistic combined from shards here except Jaccard, a ratio of exact counts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLifecycleModel, lifecycleStageIRs } from '../src/analysis/lifecycle/index.js';
import { userProfile, type UserProfile } from '../src/analysis/user/index.js';
import { DEMO_END_MS, demoPlan, writeDemoFiles } from '../src/demo/index.js';
import type { SegmentDefinition } from '../src/segments/language/index.js';
import { createSnapshotScheduler, SegmentRegistry, type SnapshotRefresh } from '../src/segments/registry/index.js';
import type { EventStore } from '../src/store/event-store.js';
import { MS } from '../src/time/time.js';
import { ENGINES, closeEngineStores, ingestIntoEach, openEngineStores, registriesOn, withoutKeys, type Engine } from './support/agreement-stores.js';
import { demoDefinitions, writeVisitors } from './support/demo-fixtures.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';

const plan = demoPlan();
const KEYS = ['power-users', 'gone-quiet', 'weekly-regulars'];
const FROM = Date.UTC(2025, 3, 7);
const TO = Date.UTC(2025, 5, 2);

let layouts: ClickHouseLayouts | undefined;
let dir = '';
let definitions: SegmentDefinition[] = [];
let stores = new Map<Engine, EventStore>();
let registries = new Map<Engine, SegmentRegistry>();

async function onAll<T>(call: (registry: SegmentRegistry, store: EventStore) => Promise<T>): Promise<Record<Engine, T>> {
  const out = {} as Record<Engine, T>;
  for (const engine of ENGINES) out[engine] = await call(registries.get(engine)!, stores.get(engine)!);
  return out;
}

/** Results without wall times (elapsedMs, the scheduler's clock stamps). */
const withoutTimes = (value: unknown) => withoutKeys(value, ['elapsedMs', 'startedMs', 'finishedMs', 'computedAt', 'profileUpdatedAt']);

function expectSame<T>(results: Record<Engine, T>): T {
  expect(withoutTimes(results.single)).toEqual(withoutTimes(results.duckdb));
  expect(withoutTimes(results.cluster)).toEqual(withoutTimes(results.duckdb));
  return results.duckdb;
}

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  dir = mkdtempSync(path.join(tmpdir(), 'strata-ch-history-test-'));
  const [started, files] = await Promise.all([
    startLayouts('strata_history_test'),
    writeDemoFiles({ seed: 21, users: 200, eventsFile: path.join(dir, 'events.jsonl'), profilesFile: path.join(dir, 'profiles.jsonl') }),
  ]);
  layouts = started;
  definitions = await demoDefinitions(plan);
  stores = await openEngineStores(layouts, path.join(dir, 'oracle.duckdb'));
  // Visitors without a profile, arriving over the backfilled range: the population grows.
  const visitors = await writeVisitors(path.join(dir, 'visitors.jsonl'), Array.from({ length: 10 }, (_, i) => FROM + i * 5 * MS.d), { page: 'home' });
  await ingestIntoEach(stores, plan, dir, { events: [files.eventsFile, visitors], profiles: files.profilesFile });
  registries = await registriesOn(stores, plan, { now: () => DEMO_END_MS + MS.h }, definitions);
}, 180_000);

afterAll(async () => {
  await closeEngineStores(stores.values());
  await layouts?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!clickhouseAvailable()).sequential('backfill, history and user on ClickHouse match DuckDB', () => {
  it('backfills the same snapshots, keeps them, and replaces them with force', async () => {
    const weekly = expectSame(await onAll((r) => r.backfill(KEYS.slice(0, 2), { fromMs: FROM, toMs: TO, stepMs: 7 * MS.d })));
    expect(weekly).toMatchObject({ computed: 18, kept: 0 });
    const threeDays = expectSame(await onAll((r) => r.backfill([KEYS[2]!], { fromMs: FROM, toMs: TO, stepMs: 3 * MS.d })));
    expect(threeDays.instants).toHaveLength(19);
    const kept = expectSame(await onAll((r) => r.backfill(KEYS.slice(0, 2), { fromMs: FROM, toMs: TO, stepMs: 7 * MS.d })));
    expect(kept).toMatchObject({ computed: 0, kept: 18 });
    const forced = expectSame(await onAll((r) => r.backfill([KEYS[0]!], { fromMs: FROM, toMs: FROM + 14 * MS.d, stepMs: 7 * MS.d, force: true })));
    expect(forced).toMatchObject({ computed: 3, kept: 0 });
  });

  it('gives the same histories: whole, a window, and across versions', async () => {
    for (const key of KEYS) {
      const h = expectSame(await onAll((r) => r.history(key)));
      expect(h.points.length).toBeGreaterThan(8);
      expect(h.points.some((p) => (p.entered ?? 0) > 0 && (p.left ?? 0) > 0)).toBe(true);
      expect(h.summary.meanWeeklyJaccard).not.toBeNull();
      expectSame(await onAll((r) => r.history(key, { fromMs: FROM + 20 * MS.d, toMs: TO - 10 * MS.d })));
    }
    const v2 = { ...definitions.find((d) => d.key === 'power-users')!, rationale: 'A second version for the history test.', owner: 'growth' };
    expectSame(await onAll((r) => r.add([v2])));
    expectSame(await onAll((r) => r.backfill(['power-users'], { fromMs: TO - 14 * MS.d, toMs: TO, stepMs: 7 * MS.d })));
    const every = expectSame(await onAll((r) => r.history('power-users', { allVersions: true })));
    expect(every.points.filter((p) => p.versionChanged)).toHaveLength(1);
  });

  it('runs the scheduler with the same snapshots', async () => {
    const refreshes = await onAll(async (registry) => {
      let now = TO + 5 * MS.h + 10 * MS.m;
      const timers: { at: number; fn: () => void }[] = [];
      const got: SnapshotRefresh[] = [];
      const scheduler = createSnapshotScheduler({
        registry,
        everyMs: 6 * MS.h,
        keys: KEYS,
        now: () => now,
        timers: { setTimeout: (fn, ms) => timers.push({ at: now + ms, fn }), clearTimeout: () => undefined },
        onRefresh: (r) => void got.push(r),
      });
      scheduler.start();
      const timer = timers.shift()!;
      now = timer.at;
      timer.fn();
      await scheduler.stop();
      return got;
    });
    const [refresh] = expectSame(refreshes);
    expect(refresh!.asOf).toBe('2025-06-02T06:00:00.000Z');
  });

  it('assembles the same user profiles', async () => {
    const asOfMs = TO;
    const users = ['visitor-3', 'visitor-9', ...(await stores.get('duckdb')!.query(`SELECT user_id FROM users ORDER BY user_id LIMIT 6`)).map((r) => String(r.user_id))];
    const stages = lifecycleStageIRs(defaultLifecycleModel(), plan);
    for (const userId of users) {
      const profile: UserProfile = expectSame(
        await onAll(async (registry, store) =>
          userProfile({ store, plan, segments: await registry.currentSegments(), lifecycleStages: stages }, userId, { asOfMs, recentEvents: 5 }),
        ),
      );
      expect(profile.membershipHistory.length).toBe(KEYS.length);
      if (!userId.startsWith('visitor')) expect(profile.totalEvents).toBeGreaterThan(0);
    }
  });
});
