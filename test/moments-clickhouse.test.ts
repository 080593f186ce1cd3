/**
 * Key moments on ClickHouse (a single node and a two-shard cluster, real 18.16 servers)
 * give the same answers as on DuckDB: on the demo product with the suggested demo moments
 * (summaries per week and month, every instant, per-user moments, a segment restriction),
 * and on random logs against the oracle of test/moments-support.ts, where the cluster
 * computes each shard's users on that shard.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { momentInstants, momentSummaries, parseMomentsSection, userMoments, type MomentsConfig } from '../src/analysis/moments/index.js';
import { DEMO_ANALYSIS_YAML, DEMO_END_MS, demoPlan, demoSegmentFiles, writeDemoFiles } from '../src/demo/index.js';
import { parseSegmentText, validateSegment } from '../src/segments/language/index.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import type { EventStore } from '../src/store/event-store.js';
import type { TrackingPlan } from '../src/schema/tracking-plan.js';
import { MS } from '../src/time/time.js';
import { ENGINES, closeEngineStores, ingestIntoEach, openEngineStores, type Engine } from './support/agreement-stores.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';
import { reloadStore } from './support/load-duckdb.js';
import { BASE_MS, MOMENT_PLAN, gridMs, logArb, momentDocArb, oracleInstants, toDataset } from './moments-support.js';

function parseMoments(section: unknown, plan: TrackingPlan): MomentsConfig {
  const errors: string[] = [];
  const config = parseMomentsSection(section, plan, (p, m) => errors.push(`${p}: ${m}`));
  expect(errors).toEqual([]);
  return config;
}

const available = clickhouseAvailable();
let layouts: ClickHouseLayouts | undefined;
let dir = '';

beforeAll(async () => {
  if (!available) return;
  dir = mkdtempSync(path.join(tmpdir(), 'strata-moments-ch-'));
  layouts = await startLayouts('strata_moments_test');
}, 120_000);

afterAll(async () => {
  await layouts?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!available)('key moments on ClickHouse agree with DuckDB', () => {
  const plan = demoPlan();
  let stores = new Map<Engine, EventStore>();
  // The demo workspace's own moments: block (src/demo/demo-analysis-config.ts).
  const source = { moments: parseMoments((parseYaml(DEMO_ANALYSIS_YAML) as { moments: unknown }).moments, plan) };
  const asOfMs = DEMO_END_MS;

  beforeAll(async () => {
    const files = await writeDemoFiles({ seed: 5, users: 200, eventsFile: path.join(dir, 'events.jsonl'), profilesFile: path.join(dir, 'profiles.jsonl') });
    stores = await openEngineStores(layouts!, path.join(dir, 'oracle.duckdb'));
    await ingestIntoEach(stores, plan, dir, { events: [files.eventsFile], profiles: files.profilesFile });
  }, 120_000);

  afterAll(async () => closeEngineStores(stores.values()));

  async function onAll<T>(call: (store: EventStore) => Promise<T>): Promise<T> {
    const answers = new Map<Engine, T>();
    for (const engine of ENGINES) answers.set(engine, await call(stores.get(engine)!));
    expect(answers.get('single')).toEqual(answers.get('duckdb'));
    expect(answers.get('cluster')).toEqual(answers.get('duckdb'));
    return answers.get('duckdb')!;
  }

  it('summaries per week and per month', async () => {
    const weekly = await onAll((store) => momentSummaries(store, source, { asOfMs }));
    // The demo reaches every moment with some of its 200 users (a moment nobody reaches would compare nothing).
    expect(weekly.moments.every((m) => m.reached > 0 && m.reached < weekly.population)).toBe(true);
    await onAll((store) => momentSummaries(store, source, { asOfMs: asOfMs - 45 * MS.d, per: 'month' }));
  });

  it("every instant of every moment, and each user's moments", async () => {
    for (const m of source.moments.moments) await onAll((store) => momentInstants(store, source, m.key, { asOfMs }));
    const some = (await momentInstants(stores.get('duckdb')!, source, 'first-core-action', { asOfMs, limit: 4 })).map((i) => i.userId);
    for (const userId of [...some, 'u000000', 'nobody']) await onAll((store) => userMoments(store, source, userId, { asOfMs }));
  });

  it('restricted to a segment', async () => {
    const file = (await demoSegmentFiles()).find((f) => f.endsWith('02-power-users.yaml'))!;
    const definition = validateSegment(parseSegmentText(await readFile(file, 'utf8'), file), plan);
    await onAll(async (store) => {
      const registry = new SegmentRegistry(store, plan, { now: () => asOfMs + MS.h });
      await registry.add([definition]);
      const { snapshotId, size } = await registry.snapshot('power-users', { asOfMs });
      const report = await momentSummaries(store, source, { asOfMs, snapshotId });
      expect(report.population).toBe(size);
      return { report, instants: await momentInstants(store, source, 'stalled-activation', { asOfMs, snapshotId, limit: 10 }) };
    });
  });
});

describe.skipIf(!available)('key moments on ClickHouse against the oracle on random logs', () => {
  const stores = new Map<Engine, EventStore>();

  beforeAll(async () => {
    stores.set('single', await layouts!.open('single'));
    stores.set('cluster', await layouts!.open('cluster'));
    for (const store of stores.values()) await store.applyPlan(MOMENT_PLAN);
  }, 120_000);

  afterAll(async () => closeEngineStores(stores.values()));

  it('every kind, on a node and on a cluster', async () => {
    const FAR = BASE_MS + 400 * MS.d;
    await fc.assert(
      fc.asyncProperty(logArb, fc.array(momentDocArb, { minLength: 2, maxLength: 4 }), gridMs, async (log, docs, cut) => {
        const config = parseMoments(Object.fromEntries(docs.map((doc, i) => [`m${i}`, doc])), MOMENT_PLAN);
        await Promise.all(
          [...stores.values()].map((store) => reloadStore(store, MOMENT_PLAN, toDataset(log))),
        );
        for (const [engine, store] of stores) {
          for (const asOfMs of [cut, FAR]) {
            for (const m of config.moments) {
              const got = await momentInstants(store, { moments: config }, m.key, { asOfMs });
              expect(new Map(got.map((i) => [i.userId, i.atMs])), `${engine} ${JSON.stringify(m.source)} as of ${new Date(asOfMs).toISOString()}`).toEqual(
                oracleInstants(m.rule, log, asOfMs),
              );
            }
          }
        }
      }),
      { numRuns: process.env.CI ? 40 : 10 },
    );
  });
});
