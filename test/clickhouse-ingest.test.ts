/**
 * Ingestion into ClickHouse, on a single node and on a two-shard cluster: the same
 * validator as DuckDB (the oracle: every file set below is ingested into a DuckDB store
 * too, and reports, rejects files and stored rows must be equal), dedupe by content hash
 * and by given id (across shards), the users index and trait-by-trait profiles, all or
 * nothing on errors and on a killed process, the run record and progress.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { clickhouseString } from '../src/segments/compile/clickhouse-dialect.js';
import { ingestFiles, type IngestProgress, type IngestReport } from '../src/ingest/index.js';
import type { ClickHouseStore } from '../src/store/clickhouse/clickhouse-store.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import type { EventStore } from '../src/store/event-store.js';
import { TEST_PLAN, ms } from './ingest-helpers.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { LAYOUTS, startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';

const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

let layouts: ClickHouseLayouts;
let dir: string;
beforeAll(async () => {
  if (clickhouseAvailable()) layouts = await startLayouts('strata_ingest_test');
}, 60_000);
afterAll(async () => {
  await layouts?.stop();
});
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'strata-ch-ingest-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, name.endsWith('.gz') ? gzipSync(content) : content);
  return p;
}

function ingest(store: EventStore, kind: 'events' | 'profiles', files: string[], rejects = 'rejects.jsonl', onProgress?: (p: IngestProgress) => void) {
  return ingestFiles(store, { kind, files, plan: TEST_PLAN, rejectsPath: path.join(dir, rejects), ...(onProgress ? { onProgress } : {}) });
}

function rejectsFile(name: string): string {
  const p = path.join(dir, name);
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

/** A report without what differs from run to run. */
function comparable(r: IngestReport) {
  const { runId: _r, elapsedMs: _e, rowsPerSecond: _s, rejectsPath, ...rest } = r;
  return { ...rest, rejectsPath: rejectsPath === null ? null : path.basename(rejectsPath) };
}

const plain = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);
const bool = (v: unknown) => (v === null || v === undefined ? null : v === true || v === 1);
const rows = (rs: Record<string, unknown>[]): Record<string, unknown>[] => rs.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])));

/** What the store holds, engine-neutral: timestamps as epoch ms, booleans as booleans, replaced rows at their latest version. */
async function contents(store: EventStore) {
  const duck = store.engine === 'duckdb';
  const t = (c: string) => (duck ? `epoch_ms(${c})` : c);
  const events = rows(
    await store.query(
      `SELECT event_id, user_id, event, ${t('ts')} AS ts, p_amount, p_currency, p_gift, ${t('p_shipped_at')} AS p_shipped_at, p_channel, p_path FROM events ORDER BY event_id`,
    ),
  ).map((r): Record<string, unknown> => ({ ...r, p_gift: bool(r.p_gift) }));
  const users = rows(
    await store.query(`SELECT user_id, ${t('first_event_at')} AS first, has_profile FROM ${store.dialect.table('users')} u ORDER BY user_id`),
  ).map((r): Record<string, unknown> => ({ ...r, has_profile: bool(r.has_profile) }));
  const profiles = rows(
    await store.query(`SELECT user_id, t_plan, t_age, t_vip, ${t('t_signup_at')} AS t_signup_at FROM ${store.dialect.table('profiles')} p ORDER BY user_id`),
  ).map((r): Record<string, unknown> => ({ ...r, t_vip: bool(r.t_vip) }));
  const runs = rows(await store.query(`SELECT kind, files, read, stored, rejected, duplicates, dropped FROM ingest_runs`))
    .map((r) => JSON.stringify(r))
    .sort();
  return { events, users, profiles, runs };
}

async function counts(store: EventStore) {
  const [r] = await store.query(
    `SELECT (SELECT count() FROM events) AS events, (SELECT count() FROM ${store.dialect.table('users')} u) AS users,
            (SELECT count() FROM ${store.dialect.table('profiles')} p) AS profiles, (SELECT count() FROM ingest_runs) AS runs`,
  );
  return Object.fromEntries(Object.entries(r!).map(([k, v]) => [k, Number(v)]));
}

/** Tables of the store's database on every node whose name starts with the staging prefix. */
async function stagingTables(store: ClickHouseStore): Promise<string[]> {
  const names = await Promise.all(
    store.nodes.map((c) => store.queryOn(c, `SELECT name FROM system.tables WHERE database = '${store.options.database}' AND startsWith(name, 'strata_ingest_')`)),
  );
  return names.flat().map((r) => String(r.name));
}

/** Two user ids that the cluster places on different shards (the server's own hash decides). */
async function usersOnDifferentShards(store: ClickHouseStore): Promise<[string, string]> {
  const [r] = await store.query(`SELECT cityHash64('a') % 2 AS a, cityHash64('other') % 2 AS o, cityHash64('b') % 2 AS b`);
  if (r!.a !== r!.o) return ['a', 'other'];
  if (r!.a !== r!.b) return ['a', 'b'];
  throw new Error('pick other user ids: a, other and b hash to the same shard');
}

const GOOD = [
  { user_id: 'a', event: 'signup', timestamp: '2024-01-02T00:00:00Z', properties: { channel: 'ads' } },
  { user_id: 'a', event: 'purchase', timestamp: '2024-01-03T00:00:00Z', properties: { amount: 10 } },
  { user_id: 'b', event: 'signup', timestamp: '2024-01-05T00:00:00Z' },
];

describe.skipIf(!clickhouseAvailable()).each(LAYOUTS)('ClickHouse ingest (%s)', (layout) => {
  let store: ClickHouseStore;
  beforeEach(async () => {
    store = await layouts.open(layout);
  });
  afterEach(async () => {
    await store.dropDatabase();
    await store.close();
  });

  it('validates exactly like DuckDB: the same reports, rejects files and stored rows', async () => {
    const hostile = `quote ' dq " back \\ tab \t nl \n ü 😀 \u0001 end`;
    const events = file(
      'events.jsonl',
      jsonl([
        { user_id: 'a', event: 'purchase', timestamp: '2024-01-01T10:00:00.123Z', properties: { amount: 1.5, currency: hostile, gift: 'TRUE', shipped_at: 1704100000 } },
        { user_id: hostile, event: 'signup', timestamp: 1704067200123, properties: { channel: 42, ghost: 'x' } },
        { user_id: 'b', event: 'purchase', timestamp: '2024-02-30' },
        { user_id: 'b', event: 'refund', timestamp: '2024-01-01' },
        { user_id: 'b', event: 'purchase', timestamp: '2024-01-01', properties: { amount: 'abc' } },
        { user_id: 'b', event: 'page_view', timestamp: '2024-01-03', properties: { path: '/x', amount: 0.1, gift: true } },
        { user_id: '', event: 'signup', timestamp: '2024-01-01' },
        { user_id: 'c', event: 'purchase', timestamp: '2024-01-04', properties: { amount: -1e300, shipped_at: '2024-01-05 10:11:12' } },
      ]),
    );
    const csv = file('more.csv.gz', 'user_id,event,timestamp,amount,gift,extra\nd,purchase,2024-01-06,2.25,false,zz\n,purchase,2024-01-06,1,true,\ne,purchase,2024-01-07,x,true,\n');
    const profiles = file('profiles.csv', `user_id,plan,age,vip,signup_at\na,pro,30,true,2023-05-01\nb,free,abc,false,\n"${hostile.replaceAll('"', '""')}",team,41.5,,2023-01-01T00:00:00Z\n`);

    const duck = await DuckDbStore.open({ path: path.join(dir, 'oracle.duckdb') });
    try {
      await duck.applyPlan(TEST_PLAN);
      await store.applyPlan(TEST_PLAN);
      const expected = [
        comparable(await ingest(duck, 'events', [events, csv], 'duck-events.jsonl')),
        comparable(await ingest(duck, 'profiles', [profiles], 'duck-profiles.jsonl')),
      ];
      const actual = [
        comparable(await ingest(store, 'events', [events, csv], 'ch-events.jsonl')),
        comparable(await ingest(store, 'profiles', [profiles], 'ch-profiles.jsonl')),
      ];
      expect(actual.map((r) => ({ ...r, rejectsPath: r.rejectsPath?.replace('ch-', '') }))).toEqual(
        expected.map((r) => ({ ...r, rejectsPath: r.rejectsPath?.replace('duck-', '') })),
      );
      // By hand: 4 + 1 stored events, 4 + 2 rejects; ghost (undeclared), gift (not a page_view property), extra (a CSV column) dropped once each.
      expect(actual[0]).toMatchObject({ read: 11, stored: 5, rejected: 6, droppedFields: { ghost: 1, gift: 1, extra: 1 } });
      expect(rejectsFile('ch-events.jsonl')).toBe(rejectsFile('duck-events.jsonl'));
      expect(rejectsFile('ch-profiles.jsonl')).toBe(rejectsFile('duck-profiles.jsonl'));
      expect(rejectsFile('ch-events.jsonl').length).toBeGreaterThan(0);
      const stored = await contents(store);
      expect(stored).toEqual(await contents(duck));
      expect(stored.events.find((e) => e.user_id === hostile)).toMatchObject({ p_channel: '42', ts: 1704067200123 });
    } finally {
      await duck.close();
    }
  });

  it('dedupes by content hash and by given id, within a run, across runs and across shards', async () => {
    const same = file('same.csv', 'user_id,event,timestamp,amount\na,purchase,2024-01-01,10\na,purchase,2024-01-01,10.0\na,purchase,2024-01-01,11\n');
    // Rows 1 and 2 are the same event (10 and 10.0 are the same number).
    expect(await ingest(store, 'events', [same])).toMatchObject({ read: 3, stored: 2, duplicates: 1 });
    expect(await ingest(store, 'events', [same])).toMatchObject({ read: 3, stored: 0, duplicates: 3 });
    const hashed = await store.query(`SELECT event_id FROM events`);
    expect(hashed).toHaveLength(2);
    expect(hashed.every((r) => /^h:[0-9a-f]{32}$/.test(String(r.event_id)))).toBe(true);

    const [owner, elsewhere] = layout === 'cluster' ? await usersOnDifferentShards(store) : ['a', 'other'];
    const given = file(
      'given.jsonl',
      jsonl([
        { event_id: 'x1', user_id: owner, event: 'purchase', timestamp: '2024-01-01', properties: { amount: 1 } },
        { event_id: 'x1', user_id: owner, event: 'purchase', timestamp: '2024-01-02', properties: { amount: 2 } },
        { event_id: 'x2', user_id: owner, event: 'purchase', timestamp: '2024-01-01', properties: { amount: 1 } },
      ]),
    );
    expect(await ingest(store, 'events', [given])).toMatchObject({ stored: 2, duplicates: 1 });
    expect(await store.query(`SELECT event_id, p_amount FROM events WHERE event_id IN ('x1', 'x2') ORDER BY event_id`)).toEqual([
      { event_id: 'x1', p_amount: 1 },
      { event_id: 'x2', p_amount: 1 },
    ]);
    // The same id for a user on the other shard is still a duplicate.
    const again = file('again.jsonl', jsonl([{ event_id: 'x2', user_id: elsewhere, event: 'signup', timestamp: '2024-03-01' }]));
    expect(await ingest(store, 'events', [again])).toMatchObject({ stored: 0, duplicates: 1 });
    // A duplicate row puts no one in the population index (as in DuckDB: test/ingest-store.test.ts).
    expect(await store.query(`SELECT user_id FROM users FINAL WHERE user_id = ${clickhouseString(elsewhere!)}`)).toEqual([]);

    const a = file('a.jsonl', jsonl(GOOD));
    const b = file('b.jsonl', jsonl([...GOOD.slice(0, 2), { user_id: 'c', event: 'signup', timestamp: '2024-01-09' }]));
    expect(await ingest(store, 'events', [a, b])).toMatchObject({ read: 6, stored: 4, duplicates: 2 });
    expect(Number((await store.query(`SELECT count() AS n FROM events`))[0]!.n)).toBe(2 + 2 + 4);
  });

  it('keeps the earliest event per user and upserts profiles trait by trait', async () => {
    await ingest(store, 'events', [file('1.jsonl', jsonl(GOOD))]);
    await ingest(store, 'events', [
      file(
        '2.jsonl',
        jsonl([
          { user_id: 'a', event: 'signup', timestamp: '2023-12-31T00:00:00Z' },
          { user_id: 'b', event: 'signup', timestamp: '2024-02-01T00:00:00Z' },
        ]),
      ),
    ]);
    await ingest(store, 'profiles', [file('p.csv', 'user_id,plan,age,vip\nb,pro,40,true\nc,free,,\n')]);
    const users = async () => (await contents(store)).users;
    expect(await users()).toEqual([
      { user_id: 'a', first: ms('2023-12-31T00:00:00Z'), has_profile: false },
      { user_id: 'b', first: ms('2024-01-05T00:00:00Z'), has_profile: true },
      { user_id: 'c', first: null, has_profile: true },
    ]);
    // Events for a profile-only user set its first event and keep the profile flag.
    await ingest(store, 'events', [file('3.jsonl', jsonl([{ user_id: 'c', event: 'signup', timestamp: '2024-03-01T00:00:00Z' }]))]);
    expect((await users()).find((u) => u.user_id === 'c')).toEqual({ user_id: 'c', first: ms('2024-03-01T00:00:00Z'), has_profile: true });

    const second = file(
      '2p.jsonl',
      jsonl([
        { user_id: 'b', traits: { plan: 'team', age: null } },
        { user_id: 'b', traits: { vip: false } },
        { user_id: 'c', plan: 'pro' },
      ]),
    );
    expect(await ingest(store, 'profiles', [second, file('3p.csv', 'user_id,age\nc,41\n')])).toMatchObject({ read: 4, stored: 4, duplicates: 0 });
    expect((await contents(store)).profiles).toEqual([
      { user_id: 'b', t_plan: 'team', t_age: 40, t_vip: false, t_signup_at: null },
      { user_id: 'c', t_plan: 'pro', t_age: 41, t_vip: null, t_signup_at: null },
    ]);
  });

  it('stores nothing when a later file of the run is malformed, and leaves no staging tables', async () => {
    const good = file('good.jsonl', jsonl(GOOD));
    const bad = file('bad.jsonl', '{"user_id": "c", "event": "signup", "timestamp": "2024-01-01"}\n{"user_id": \n');
    await expect(ingest(store, 'events', [good, bad])).rejects.toMatchObject({ code: 'INPUT_INVALID', message: expect.stringContaining(bad) });
    await expect(ingest(store, 'events', [good, path.join(dir, 'missing.csv')])).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    expect(await counts(store)).toEqual({ events: 0, users: 0, profiles: 0, runs: 0 });
    expect(await stagingTables(store)).toEqual([]);
    expect((await ingest(store, 'events', [good])).stored).toBe(3);
    expect(await stagingTables(store)).toEqual([]);
  });

  it('leaves the store unchanged when the process is killed mid-run; the next run drops what it left', async () => {
    await ingest(store, 'events', [file('first.jsonl', jsonl(GOOD))]);
    const before = await counts(store);
    const second = file('second.jsonl', jsonl(GOOD.map((e) => ({ ...e, user_id: `${e.user_id}2` }))));
    const third = file('third.jsonl', jsonl([{ user_id: 'z', event: 'signup', timestamp: '2024-02-01' }]));
    // The child stages and stores the second file (into staging tables), then is killed while storing the third.
    const child = `
      const { ClickHouseStore } = await import(${JSON.stringify(path.resolve('src/store/clickhouse/clickhouse-store.js'))});
      const { ingestFiles } = await import(${JSON.stringify(path.resolve('src/ingest/index.js'))});
      const { TEST_PLAN } = await import(${JSON.stringify(path.resolve('test/ingest-helpers.js'))});
      const store = await ClickHouseStore.open(${JSON.stringify(store.options)});
      let files = 0;
      await ingestFiles(store, {
        kind: 'events', files: [${JSON.stringify(second)}, ${JSON.stringify(third)}], plan: TEST_PLAN, rejectsPath: ${JSON.stringify(path.join(dir, 'r.jsonl'))},
        onProgress: (p) => {
          if (p.phase === 'storing' && p.done === p.total && ++files === 1) console.log('stored the second file');
          if (p.phase === 'storing' && files === 1 && p.done === 0 && p.total === 1) process.kill(process.pid, 'SIGKILL');
        },
      });
      console.log('finished');
    `;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { encoding: 'utf8', cwd: process.cwd() });
    expect(result.signal, result.stderr + result.stdout).toBe('SIGKILL');
    expect(result.stdout).toContain('stored the second file');
    expect(result.stdout).not.toContain('finished');

    expect(await counts(store)).toEqual(before);
    expect(await store.query(`SELECT count() AS n FROM events WHERE user_id IN ('a2', 'b2', 'z')`)).toEqual([{ n: 0 }]);
    // The killed run's staging tables hold the second file's rows, never attached.
    expect((await stagingTables(store)).length).toBeGreaterThan(0);
    expect(await ingest(store, 'events', [third])).toMatchObject({ stored: 1 });
    expect(await stagingTables(store)).toEqual([]);
    expect(await counts(store)).toEqual({ ...before, events: before.events! + 1, users: before.users! + 1, runs: before.runs! + 1 });
  });

  it('records the run and reports reading, validating and storing', async () => {
    const f = file('e.jsonl', jsonl([...GOOD, { user_id: '', event: 'signup', timestamp: '2024-01-01' }]));
    const seen: IngestProgress[] = [];
    const report = await ingest(store, 'events', [f], 'rejects.jsonl', (p) => seen.push(p));
    expect(new Set(seen.map((p) => p.phase))).toEqual(new Set(['reading', 'validating', 'storing']));
    expect(seen.every((p) => p.done >= 0 && p.done <= p.total)).toBe(true);
    expect(seen.filter((p) => p.phase === 'storing').at(-1)).toEqual({ phase: 'storing', done: 3, total: 3 });
    const [run] = await store.query('SELECT run_id, kind, files, read, stored, rejected, duplicates, dropped, finished_at >= started_at AS ordered FROM ingest_runs');
    expect(run).toEqual({ run_id: report.runId, kind: 'events', files: JSON.stringify([f]), read: 4, stored: 3, rejected: 1, duplicates: 0, dropped: '{}', ordered: 1 });
  });
});
