/**
 * The segment registry on ClickHouse gives the same answers as on DuckDB (the oracle):
 * the demo product (src/demo, a seeded synthetic SaaS) is ingested into a DuckDB store, a
 * single ClickHouse node and a two-shard cluster; the same calls (add the thirteen demo
 * segments, compute them at two instants, members, diff, report, overlap, list, show,
 * recompute) run on all three, and their results are compared. Report statistics combine
 * per-shard parts on the cluster, so fractional numbers are compared to 1e-9 relative;
 * everything else exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_END_MS, demoPlan, writeDemoFiles } from '../src/demo/index.js';
import type { SegmentDefinition } from '../src/segments/language/index.js';
import type { SegmentRegistry } from '../src/segments/registry/index.js';
import { lintSegments, type LintResult } from '../src/analysis/lint/index.js';
import type { PurchaseSettings } from '../src/analysis/rfm/rfm-config.js';
import type { EventStore } from '../src/store/event-store.js';
import { MS } from '../src/time/time.js';
import { ENGINES, closeEngineStores, ingestIntoEach, openEngineStores, registriesOn, withoutKeys, type Engine } from './support/agreement-stores.js';
import { demoDefinitions, writeVisitors } from './support/demo-fixtures.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';

const T1 = DEMO_END_MS;
const T0 = DEMO_END_MS - 30 * MS.d;
const plan = demoPlan();

let layouts: ClickHouseLayouts | undefined;
let dir = '';
let definitions: SegmentDefinition[] = [];
let stores = new Map<Engine, EventStore>();
let registries = new Map<Engine, SegmentRegistry>();

/** Run the same call on every engine; returns the results by engine. */
async function onAll<T>(call: (registry: SegmentRegistry) => Promise<T>): Promise<Record<Engine, T>> {
  const out = {} as Record<Engine, T>;
  for (const engine of ENGINES) out[engine] = await call(registries.get(engine)!);
  return out;
}

/** Results without wall times, which differ from run to run. */
const withoutTimes = (value: unknown) => withoutKeys(value, ['elapsedMs']);

/** Deep equality, numbers that are not whole to a relative 1e-9 (a cluster combines per-shard statistics). */
function expectClose(actual: unknown, expected: unknown, at = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number' && !(Number.isInteger(expected) && Number.isInteger(actual))) {
    expect(Math.abs(actual - expected), `${at}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
    return;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    expect(actual.length, `${at}.length`).toBe(expected.length);
    expected.forEach((e, i) => expectClose(actual[i], e, `${at}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === 'object' && actual !== null && typeof actual === 'object') {
    expect(Object.keys(actual).sort(), `${at} keys`).toEqual(Object.keys(expected).sort());
    for (const [k, e] of Object.entries(expected)) expectClose((actual as Record<string, unknown>)[k], e, `${at}.${k}`);
    return;
  }
  expect(actual, at).toEqual(expected);
}

function expectSame<T>(results: Record<Engine, T>): T {
  expectClose(withoutTimes(results.single), withoutTimes(results.duckdb));
  expectClose(withoutTimes(results.cluster), withoutTimes(results.duckdb));
  return results.duckdb;
}

async function collect(ids: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const id of ids) out.push(id);
  return out;
}

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  dir = mkdtempSync(path.join(tmpdir(), 'strata-ch-registry-test-'));
  const [started, files] = await Promise.all([
    startLayouts('strata_registry_test'),
    writeDemoFiles({ seed: 11, users: 250, eventsFile: path.join(dir, 'events.jsonl'), profilesFile: path.join(dir, 'profiles.jsonl') }),
  ]);
  layouts = started;
  definitions = await demoDefinitions(plan);
  stores = await openEngineStores(layouts, path.join(dir, 'oracle.duckdb'));
  // Users with events and no profile, some arriving between the two instants: the population grows.
  const visitors = await writeVisitors(path.join(dir, 'visitors.jsonl'), Array.from({ length: 12 }, (_, i) => T0 - 10 * MS.d + i * 3 * MS.d));
  await ingestIntoEach(stores, plan, dir, { events: [files.eventsFile, visitors], profiles: files.profilesFile });
  registries = await registriesOn(stores, plan, { now: () => T1 + MS.h });
}, 120_000);

afterAll(async () => {
  await closeEngineStores(stores.values());
  await layouts?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// One scenario in order: each step reads what the earlier ones stored.
describe.skipIf(!clickhouseAvailable()).sequential('the segment registry on ClickHouse matches DuckDB', () => {
  it('adds the demo segments with the same versions', async () => {
    const added = expectSame(await onAll((r) => r.add(definitions)));
    expect(added).toHaveLength(13);
    expect(added.every((a) => a.status === 'created' && a.version === 1)).toBe(true);
  });

  it('computes every segment at two instants with the same sizes, populations and snapshot ids', async () => {
    const t1 = expectSame(await onAll((r) => r.compute(undefined, { asOfMs: T1 })));
    const t0 = expectSame(await onAll((r) => r.compute(undefined, { asOfMs: T0 })));
    // The data is rich enough for the comparison to mean something: most segments have members.
    expect(t1.filter((c) => c.size > 0).length).toBeGreaterThanOrEqual(10);
    expect(t0.some((c, i) => c.size !== t1[i]!.size)).toBe(true);
    // 4 of the 12 visitors arrive before T0, all of them before T1.
    expect(t1[0]!.population - t0[0]!.population).toBe(8);
  });

  it('lists the same members, page by page', async () => {
    for (const { key } of definitions) {
      const ids = expectSame(await onAll(async (r) => collect((await r.members(key, { asOfMs: T1, pageSize: 7 })).ids)));
      expect([...ids].sort()).toEqual(ids);
    }
  });

  it('diffs the same users between the two instants', async () => {
    for (const { key } of definitions) {
      const diff = expectSame(await onAll((r) => r.diff(key, { fromMs: T0, toMs: T1, sampleLimit: 5 })));
      expect(diff.entered.count + diff.stayed.count).toBe(diff.to.size);
      expect(diff.left.count + diff.stayed.count).toBe(diff.from.size);
    }
  });

  it('reports the same shares, lifts and standardized differences', async () => {
    for (const key of ['power-users', 'stalled-onboarding', 'enterprise-prospects']) {
      const report = expectSame(await onAll((r) => r.report(key, { asOfMs: T1, minSupport: 3 })));
      expect(report.features.length).toBeGreaterThan(0);
      expect(report.numeric.length).toBeGreaterThan(0);
    }
  });

  it('reports the same engagement, conversion and revenue (per-shard sums and recency counts merged)', async () => {
    const purchase: PurchaseSettings = {
      event: 'purchase',
      value: 'amount',
      quantity: null,
      where: [{ property: 'billing', type: 'string', cmp: { op: 'eq', value: { kind: 'string', value: 'monthly' } } }],
    };
    for (const key of ['big-spenders', 'power-users']) {
      const report = expectSame(await onAll((r) => r.report(key, { asOfMs: T1, minSupport: 3, purchase, windowMs: 60 * MS.d })));
      expect(report.behavior.conversion!.population.mean!).toBeGreaterThan(0);
      expect(report.behavior.revenue!.perConverter.members.users).toBeGreaterThan(0);
      expect(report.behavior.engagement.recency.population.median).not.toBeNull();
    }
  });

  it('lints the same warnings and power calculations', async () => {
    const purchase: PurchaseSettings = { event: 'purchase', value: 'amount', quantity: null, where: [] };
    const results = {} as Record<Engine, LintResult>;
    for (const engine of ENGINES) {
      results[engine] = await lintSegments(registries.get(engine)!, stores.get(engine)!, plan, { asOfMs: T1, purchase, coreAction: { event: 'core_task_completed', where: [] }, overlap: 0.5 });
    }
    const lint = expectSame(results);
    const checked = lint.segments.filter((s) => s.power.status !== 'skipped');
    expect(new Set(checked.map((s) => s.power.test))).toEqual(new Set(['two-proportions', 'two-means']));
    expect(checked.length).toBeGreaterThanOrEqual(6);
    expect(lint.warnings.some((w) => w.kind === 'underpowered')).toBe(true);
  });

  it('overlaps the same pairs', async () => {
    const overlap = expectSame(await onAll((r) => r.overlap(undefined, { asOfMs: T1 })));
    expect(overlap.pairs).toHaveLength((13 * 12) / 2);
    expect(overlap.pairs.some((p) => p.intersection > 0)).toBe(true);
  });

  it('replaces a recomputed snapshot and lists and shows the same', async () => {
    const [before] = (await onAll((r) => r.compute(['power-users'], { asOfMs: T1 }))).duckdb;
    const again = expectSame(await onAll((r) => r.compute(['power-users'], { asOfMs: T1 })));
    expect(again[0]!.snapshotId).toBeGreaterThan(before!.snapshotId);
    expectSame(await onAll((r) => r.list()));
    const shown = expectSame(await onAll((r) => r.show('power-users')));
    // The replaced snapshot is gone: one snapshot per instant.
    expect(shown.snapshots.filter((s) => s.asOf === new Date(T1).toISOString())).toHaveLength(1);
    expectSame(await onAll(async (r) => collect((await r.members('power-users', { asOfMs: T1 })).ids)));
    const counts = await Promise.all([...stores.values()].map(async (s) => Number((await s.query(`SELECT count() AS n FROM snapshot_members`))[0]!.n)));
    expect(new Set(counts).size).toBe(1);
  });
});
