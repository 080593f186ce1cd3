/**
 * Export, forget and retention on ClickHouse 18.16 (one node and a two-shard cluster, where
 * the user-keyed tables are local tables per shard behind Distributed tables and deletes
 * are asynchronous mutations, waited for) give the same answers as on DuckDB (the oracle),
 * on the hand-written product of test/support/privacy-erasure-fixtures.ts.
 *
 * The catalogue walk reads system.columns: every table with a user_id column (local or
 * Distributed) is in USER_KEYED_TABLES, and none holds a row of the forgotten user, read
 * physically (no FINAL: no older version of a replaced row may survive either).
 *
 * Retention after alpha is forgotten, as of 2025-06-01T09:00 (page_viewed 90 days,
 * snapshots and scores 30): page_viewed of bravo 01-04, charlie 02-01, echo 2024-10-01 = 3;
 * charlie's first event moves to 05-10, echo is removed; the 03-01 snapshot loses bravo;
 * the 03-01 run loses bravo's and charlie's scores (alpha's went with alpha).
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../src/ingest/index.js';
import { DEFAULT_PRIVACY_CONFIG } from '../src/privacy/privacy-config.js';
import { erasureTables, exportUser, forgetUsers, liveUserKeyedTables, type ForgetResult, type UserExport } from '../src/privacy/erasure/index.js';
import { enforceRetention, type EnforceResult } from '../src/privacy/retention/index.js';
import { suppressionHash } from '../src/privacy/suppression.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import type { ClickHouseStore } from '../src/store/clickhouse/clickhouse-store.js';
import type { EventStore } from '../src/store/event-store.js';
import { USER_KEYED_TABLES } from '../src/store/schema.js';
import { ENGINES, closeEngineStores, openEngineStores, withoutKeys, type Engine } from './support/agreement-stores.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';
import {
  ALPHA,
  BRAVO,
  CHARLIE,
  DELTA,
  SNAPSHOT_EARLY_MS,
  SNAPSHOT_LATE_MS,
  atMs,
  buyersDefinition,
  erasurePlan,
  physicalRows,
  populationIndex,
  writeFixtureFiles,
  writeFixtureScores,
} from './support/privacy-erasure-fixtures.js';

const plan = erasurePlan({ page_viewed: 90 });
const AS_OF_MS = Date.parse('2025-06-01T09:00:00Z');
const NOW_MS = Date.parse('2026-01-01T00:00:00Z');

let layouts: ClickHouseLayouts | undefined;
let dir = '';
let stores = new Map<Engine, EventStore>();

async function onAll<T>(call: (store: EventStore, engine: Engine) => Promise<T>): Promise<Record<Engine, T>> {
  const out = {} as Record<Engine, T>;
  for (const engine of ENGINES) out[engine] = await call(stores.get(engine)!, engine);
  return out;
}

function expectSame<T>(results: Record<Engine, T>): T {
  expect(results.single).toEqual(results.duckdb);
  expect(results.cluster).toEqual(results.duckdb);
  return results.duckdb;
}

const rejectsDir = (engine: Engine) => path.join(dir, engine, 'rejects');

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'strata-erasure-ch-'));
  const [started, files] = await Promise.all([startLayouts('strata_erasure_test'), writeFixtureFiles(dir)]);
  layouts = started;
  stores = await openEngineStores(layouts);
  for (const [engine, store] of stores) {
    await mkdir(rejectsDir(engine), { recursive: true });
    await store.applyPlan(plan);
    await ingestFiles(store, { kind: 'events', files: [files.events], plan, rejectsPath: path.join(rejectsDir(engine), 'events.jsonl') });
    await ingestFiles(store, { kind: 'profiles', files: [files.profiles], plan, rejectsPath: path.join(rejectsDir(engine), 'profiles.jsonl') });
    const registry = new SegmentRegistry(store, plan, { now: () => NOW_MS });
    await registry.add([buyersDefinition(plan)]);
    await registry.compute(['buyers'], { asOfMs: SNAPSHOT_EARLY_MS });
    await registry.compute(['buyers'], { asOfMs: SNAPSHOT_LATE_MS });
    await writeFixtureScores(store);
  }
}, 120_000);

afterAll(async () => {
  await closeEngineStores(stores.values());
  await layouts?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!clickhouseAvailable()).sequential('erasure, export and retention on ClickHouse match DuckDB', () => {
  it('finds the same user-keyed tables in every live catalogue, all listed', async () => {
    const live = expectSame(await onAll((store) => liveUserKeyedTables(store)));
    expect(live).toEqual(USER_KEYED_TABLES.map((t) => t.table).sort());
    // On the cluster the catalogue sees the shards' local tables (mapped to their plain names).
    const cluster = stores.get('cluster') as ClickHouseStore;
    const local = await cluster.query(`SELECT DISTINCT table FROM system.columns WHERE database = currentDatabase() AND name = 'user_id' AND endsWith(table, '_local') ORDER BY table`);
    expect(local.map((r) => String(r.table))).toEqual(live.map((t) => `${t}_local`));
    expect(expectSame(await onAll(async (store) => (await erasureTables(store)).unlisted))).toEqual([]);
  });

  it('exports the same document', async () => {
    const docs = await onAll((store) => exportUser(store, { given: ALPHA, stored: ALPHA }, { actor: 'test', privacy: DEFAULT_PRIVACY_CONFIG, nowMs: NOW_MS }));
    // Ingest instants (ingestedAt, the profile's updatedAt) are each store's own wall clock.
    const stamps = ['ingestedAt', 'updatedAt'];
    const doc = expectSame({ duckdb: withoutKeys(docs.duckdb, stamps), single: withoutKeys(docs.single, stamps), cluster: withoutKeys(docs.cluster, stamps) }) as UserExport;
    expect(Object.fromEntries(Object.entries(doc.tables).map(([t, c]) => [t, c.rows]))).toEqual({ events: 9, users: 1, profiles: 1, snapshot_members: 1, model_scores: 2 });
    expect(doc.consent.current.marketing).toEqual({ granted: false, from: 'record', at: '2025-04-01T09:00:00.000Z', source: 'settings' });
    expect(doc.segments.map((s) => s.asOf)).toEqual(['2025-05-25T09:00:00.000Z']);
  });

  it('forgets alike, and nothing of the user is left in any table or rejects file', async () => {
    const before = await onAll((store) => populationIndex(store));
    const sizes = await onAll((store) => store.query('SELECT snapshot_id, size FROM snapshots ORDER BY snapshot_id'));
    const results = await onAll((store, engine) =>
      forgetUsers(store, [{ given: ALPHA, stored: ALPHA }, { given: 'nobody', stored: 'nobody' }], { actor: 'test', rejectsDir: rejectsDir(engine), nowMs: NOW_MS }),
    );
    const strip = (r: ForgetResult) => ({ ...r, rejectsFiles: r.rejectsFiles.map((f) => path.basename(f)) });
    const result = expectSame({ duckdb: strip(results.duckdb), single: strip(results.single), cluster: strip(results.cluster) });
    expect(result.users.map((u) => [u.userId, u.status, u.rejectsLines])).toEqual([
      [ALPHA, 'forgotten', 1],
      ['nobody', 'unknown', 0],
    ]);
    expect(result.totals).toEqual({ events: 9, users: 1, profiles: 1, snapshot_members: 1, model_scores: 2 });
    for (const engine of ENGINES) {
      const store = stores.get(engine)!;
      for (const table of await liveUserKeyedTables(store)) expect(await physicalRows(store, table, ALPHA), `${engine} ${table}`).toBe(0);
      expect(await readFile(path.join(rejectsDir(engine), 'events.jsonl'), 'utf8')).not.toContain(ALPHA);
      const { [ALPHA]: gone, ...others } = before[engine];
      expect(gone).toBeDefined();
      expect(await populationIndex(store)).toEqual(others);
      expect(await store.query('SELECT snapshot_id, size FROM snapshots ORDER BY snapshot_id')).toEqual(sizes[engine]);
      const sup = await store.query(`SELECT user_hash, audit_seq FROM suppressions`);
      expect(sup.map((r) => [String(r.user_hash), Number(r.audit_seq)])).toEqual([[suppressionHash(ALPHA), result.users[0]!.auditSeq]]);
    }
    // Recomputed, the segment no longer has the user; the population as of 06-01 is bravo, charlie, echo and delta.
    const computed = await onAll(async (store) => {
      const registry = new SegmentRegistry(store, plan, { now: () => NOW_MS });
      const [c] = await registry.compute(['buyers'], { asOfMs: AS_OF_MS });
      const members: string[] = [];
      for await (const id of (await registry.members('buyers', { asOfMs: AS_OF_MS })).ids) members.push(id);
      return { size: c!.size, population: c!.population, members };
    });
    expect(expectSame(computed)).toEqual({ size: 1, population: 4, members: [BRAVO] });
  });

  it('refuses the forgotten user\'s rows when the same file is ingested again', async () => {
    const reports = await onAll(async (store, engine) => {
      const r = await ingestFiles(store, { kind: 'events', files: [path.join(dir, 'events.jsonl')], plan, rejectsPath: path.join(rejectsDir(engine), 'again.jsonl') });
      return { stored: r.stored, suppressed: r.privacy?.suppressed ?? null, alpha: await physicalRows(store, 'events', ALPHA) };
    });
    const r = expectSame(reports);
    // Everyone else's rows are duplicates; alpha's 9 valid rows (and perhaps the rejected refund) are refused.
    expect(r.stored).toBe(0);
    expect(r.suppressed).toBeGreaterThanOrEqual(9);
    expect(r.alpha).toBe(0);
  });

  it('enforces retention alike, keeping the population index right', async () => {
    const options = { plan, retention: { snapshotsDays: 30, scoresDays: 30 }, asOfMs: AS_OF_MS, actor: 'test' };
    const dry = expectSame(await onAll((store) => enforceRetention(store, { ...options, dryRun: true })));
    const r: EnforceResult = expectSame(await onAll((store) => enforceRetention(store, options)));
    // The dry run counted over the events that would remain: the same numbers.
    expect({ ...dry, dryRun: false, auditSeq: null }).toEqual({ ...r, auditSeq: null });
    expect(r.tables).toEqual({ events: 3, users: 1, snapshot_members: 1, model_scores: 2, score_runs: 1 });
    expect(r.users).toEqual({ updated: 1, removed: 1 });
    const index = expectSame(await onAll((store) => populationIndex(store)));
    expect(index).toEqual({
      [BRAVO]: { first: atMs(1, 3), profile: true },
      [CHARLIE]: { first: atMs(5, 10), profile: false },
      [DELTA]: { first: null, profile: true },
    });
    const again = expectSame(await onAll((store) => enforceRetention(store, { plan, retention: { snapshotsDays: 30, scoresDays: 30 }, asOfMs: AS_OF_MS, actor: 'test', dryRun: true })));
    expect(again.tables).toEqual({ events: 0, users: 0, snapshot_members: 0, model_scores: 0, score_runs: 0 });
  });
});
