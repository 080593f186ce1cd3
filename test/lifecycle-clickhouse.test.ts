/**
 * `lifecycle report` and `lifecycle flow` on ClickHouse (a single node and a two-shard
 * cluster) give the answers DuckDB gives, and all three the independent classifier's
 * (test/support/lifecycle-oracle.ts): the demo product (250 users) plus visitors without a
 * profile, ingested with `ingestFiles` into each store. Plain, broken down by a trait and
 * by a segment, restricted to a segment; the flow plain and restricted. On the cluster each
 * shard computes its users' stages and the counts are summed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindBreakdown, resolveBreakdown } from '../src/analysis/breakdown.js';
import { lifecycleFlow, lifecycleReport, parseLifecycleSection, type LifecycleSettings } from '../src/analysis/lifecycle/index.js';
import { DEMO_DAYS, DEMO_END_MS, demoPlan } from '../src/demo/index.js';
import type { MemoryDataset } from '../src/segments/evaluate/index.js';
import type { SegmentRegistry } from '../src/segments/registry/index.js';
import type { EventStore } from '../src/store/event-store.js';
import { MS } from '../src/time/time.js';
import { ENGINES, closeEngineStores, ingestIntoEach, openEngineStores, registriesOn, type Engine } from './support/agreement-stores.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';
import { classifyUsers, countStages, demoFilesAndData, oracleDefaults } from './support/lifecycle-oracle.js';

const plan = demoPlan();
const T2 = DEMO_END_MS;
const T1 = DEMO_END_MS - 30 * MS.d;
const SEGMENT = { key: 'pro-or-team', name: 'Paying', objective: 'other', rationale: 'Restriction and breakdown.', owner: 'growth', match: { trait: 'plan', in: ['pro', 'team'] } } as const;
const oracle = oracleDefaults('core_task_completed', 'invite_sent');

let layouts: ClickHouseLayouts | undefined;
let dir = '';
let data: MemoryDataset;
let settings: LifecycleSettings;
let stores = new Map<Engine, EventStore>();
let registries = new Map<Engine, SegmentRegistry>();

async function onAll<T>(call: (store: EventStore, registry: SegmentRegistry) => Promise<T>): Promise<T> {
  const out = new Map<Engine, T>();
  for (const engine of ENGINES) out.set(engine, await call(stores.get(engine)!, registries.get(engine)!));
  // Counts are sums of whole numbers and shares their quotients: equal exactly.
  expect(out.get('single'), 'single node').toEqual(out.get('duckdb'));
  expect(out.get('cluster'), 'cluster').toEqual(out.get('duckdb'));
  return out.get('duckdb')!;
}

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  dir = mkdtempSync(path.join(tmpdir(), 'strata-lifecycle-ch-'));
  const [started, files] = await Promise.all([
    startLayouts('strata_lifecycle_test'),
    demoFilesAndData(dir, { seed: 3, users: 250, endMs: T2, days: DEMO_DAYS, visitors: 10, visitorsFrom: T1 - 6 * MS.d }),
  ]);
  layouts = started;
  data = files.data;
  const lifecycle = parseLifecycleSection({ core_action: 'core_task_completed', advocacy_event: 'invite_sent' }, plan, (p, m) => {
    throw new Error(`${p}: ${m}`);
  });
  settings = { plan, lifecycle };
  stores = await openEngineStores(layouts, path.join(dir, 'oracle.duckdb'));
  await ingestIntoEach(stores, plan, dir, { events: files.eventsFiles, profiles: files.profilesFile });
  registries = await registriesOn(stores, plan, { lifecycle, now: () => T2 + MS.h }, [SEGMENT]);
}, 180_000);

afterAll(async () => {
  await closeEngineStores(stores.values());
  await layouts?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!clickhouseAvailable()).sequential('lifecycle analyses on ClickHouse match DuckDB', () => {
  it('report: users per stage, equal to the classifier', async () => {
    const report = await onAll((store) => lifecycleReport(store, settings, { asOfMs: T2 }));
    const counts = countStages(classifyUsers(data, T2, oracle));
    expect(Object.fromEntries(report.stages.map((s) => [s.stage, s.users]))).toEqual(Object.fromEntries(report.stages.map((s) => [s.stage, counts.get(s.stage) ?? 0])));
    expect(report.stages.filter((s) => s.users > 0).length).toBeGreaterThanOrEqual(6);
  });

  it('report broken down by a trait and by a segment, and restricted to a segment', async () => {
    const byTrait = await onAll(async (store, registry) =>
      lifecycleReport(store, settings, { asOfMs: T2, by: await bindBreakdown(resolveBreakdown('plan', plan, []), registry, T2) }),
    );
    expect(byTrait.by!.groups.map((g) => g.group).sort()).toEqual(['(none)', 'free', 'pro', 'team']);
    await onAll(async (store, registry) =>
      lifecycleReport(store, settings, { asOfMs: T2, by: await bindBreakdown(resolveBreakdown(`segment:${SEGMENT.key}`, plan, [SEGMENT.key]), registry, T2) }),
    );
    const restricted = await onAll(async (store, registry) => {
      const snapshot = await registry.snapshot(SEGMENT.key, { asOfMs: T2 });
      return lifecycleReport(store, settings, { asOfMs: T2, segment: { key: SEGMENT.key, snapshotId: snapshot.snapshotId } });
    });
    const paying = new Map([...classifyUsers(data, T2, oracle)].filter(([u]) => ['pro', 'team'].includes(data.profiles.get(u)?.plan as string)));
    expect(restricted.population).toBe(paying.size);
    const counts = countStages(paying);
    for (const s of restricted.stages) expect(s.users, s.stage).toBe(counts.get(s.stage) ?? 0);
  });

  it('flow: the transition matrix, plain and restricted, equal to the classifier', async () => {
    const flow = await onAll((store) => lifecycleFlow(store, settings, { fromMs: T1, toMs: T2 }));
    const before = classifyUsers(data, T1, oracle);
    const after = classifyUsers(data, T2, oracle);
    for (const row of flow.rows) {
      for (const c of row.to) {
        const expected = [...after].filter(([u, to]) => to === c.stage && (before.get(u) ?? '(not yet seen)') === row.stage).length;
        expect(c.users, `${row.stage} -> ${c.stage}`).toBe(expected);
      }
    }
    // 10 visitors every 2 days from T1 - 6d: 7 arrive at or after T1.
    expect(flow.rows.at(-1)!.users).toBe(7);
    await onAll(async (store, registry) => {
      const snapshot = await registry.snapshot(SEGMENT.key, { asOfMs: T1 });
      return lifecycleFlow(store, settings, { fromMs: T1, toMs: T2, segment: { key: SEGMENT.key, snapshotId: snapshot.snapshotId } });
    });
  });
});
