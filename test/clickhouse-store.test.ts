/**
 * The ClickHouse store's schema on a single node and on a two-shard cluster: versioned
 * migrations applied once, tables where the layout puts them, typed plan columns, the
 * user-keyed catalogue (every table with a user column is in USER_KEYED_TABLES), every
 * user's rows on exactly one shard (the one cityHash64 names), a new shard brought up on
 * open, DELETE waited for, snapshot ids.
 */
import { writeScoreRun } from '../src/models/registry/index.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@clickhouse/client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles } from '../src/ingest/index.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import type { SegmentDefinition } from '../src/segments/language/index.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { ClickHouseStore } from '../src/store/clickhouse/clickhouse-store.js';
import { CLICKHOUSE_MIGRATIONS, SHARDED_TABLES } from '../src/store/clickhouse/migrations.js';
import { TABLES, USER_KEYED_TABLES } from '../src/store/schema.js';
import { clickhouseAvailable, startClickHouse, type LocalClickHouse } from './support/clickhouse-server.js';
import { LAYOUTS, startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';

let layouts: ClickHouseLayouts;
beforeAll(async () => {
  if (clickhouseAvailable()) layouts = await startLayouts('strata_store_test');
}, 60_000);
afterAll(async () => {
  await layouts?.stop();
});

const plan = parsePlan({
  events: { purchase: { properties: { amount: 'number', currency: 'string', gift: 'boolean', shipped_at: 'timestamp' } }, login: {} },
  traits: { plan: 'string', age: 'number', vip: 'boolean', signup_at: 'timestamp', user_id: 'string' },
});

const METADATA = [TABLES.segmentVersions, TABLES.snapshots, TABLES.ingestRuns, TABLES.migrations, TABLES.experimentVersions, TABLES.clvFits, TABLES.modelVersions, TABLES.scoreRuns, TABLES.suppressions, TABLES.auditLog, TABLES.privacyLedger, TABLES.fairnessAudits];
const sorted = (xs: Iterable<string>) => [...xs].sort();

async function columnTypes(store: ClickHouseStore, node: number, table: string): Promise<Record<string, string>> {
  const rows = await store.queryOn(
    store.shardClients[node]!,
    `SELECT name, type FROM system.columns WHERE database = '${store.options.database}' AND table = '${table}'`,
  );
  return Object.fromEntries(rows.map((r) => [String(r.name), String(r.type)]));
}

describe.skipIf(!clickhouseAvailable()).each(LAYOUTS)('the ClickHouse store schema (%s)', (layout) => {
  let store: ClickHouseStore;
  beforeEach(async () => {
    store = await layouts.open(layout);
  });
  afterEach(async () => {
    await store.dropDatabase();
    await store.close();
  });

  it('applies each migration once and puts every table where the layout says', async () => {
    const again = await ClickHouseStore.open(store.options);
    await again.close();
    const applied = await store.query(`SELECT version FROM schema_migrations ORDER BY version`);
    expect(applied.map((r) => Number(r.version))).toEqual(CLICKHOUSE_MIGRATIONS.map((m) => m.version));

    const userKeyed = USER_KEYED_TABLES.map((t) => t.table);
    const tables = await Promise.all(store.shardClients.map((c) => store.tablesOn(c)));
    if (layout === 'single') {
      expect(sorted(tables[0]!)).toEqual(sorted([...userKeyed, ...METADATA]));
    } else {
      // Every shard: a local table and a Distributed table over all shards; the initiator (shard 1) also the metadata.
      const sharded = userKeyed.flatMap((t) => [t, `${t}_local`]);
      expect(sorted(tables[0]!)).toEqual(sorted([...sharded, ...METADATA]));
      expect(sorted(tables[1]!)).toEqual(sorted(sharded));
      const engines = await store.query(`SELECT name, engine FROM system.tables WHERE database = '${store.options.database}' AND name IN ('events', 'events_local')`);
      expect(Object.fromEntries(engines.map((r) => [r.name, r.engine]))).toEqual({ events: 'Distributed', events_local: 'MergeTree' });
    }
  });

  it('adds the typed columns of the plan to every copy of a table, once', async () => {
    await store.applyPlan(plan);
    await store.applyPlan(plan);
    const tablesPerNode = layout === 'single' ? [['events', 'profiles']] : [0, 1].map(() => ['events', 'events_local', 'profiles', 'profiles_local']);
    for (const [node, names] of tablesPerNode.entries()) {
      for (const table of names) {
        const types = await columnTypes(store, node, table);
        if (table.startsWith('events')) {
          expect(types).toMatchObject({ p_amount: 'Nullable(Float64)', p_currency: 'Nullable(String)', p_gift: 'Nullable(UInt8)', p_shipped_at: 'Nullable(Int64)', ts: 'Int64' });
        } else {
          expect(types).toMatchObject({ t_plan: 'Nullable(String)', t_age: 'Nullable(Float64)', t_vip: 'Nullable(UInt8)', t_signup_at: 'Nullable(Int64)', t_user_id: 'Nullable(String)' });
        }
      }
    }
  });

  it('registers every table with a user column in USER_KEYED_TABLES, and shards exactly those', async () => {
    // A trait literally named user_id must not confuse the walk: columns are prefixed.
    await store.applyPlan(plan);
    const live = new Set<string>();
    for (const c of store.nodes) {
      const rows = await store.queryOn(c, `SELECT DISTINCT table FROM system.columns WHERE database = '${store.options.database}' AND name = 'user_id'`);
      for (const r of rows) live.add(String(r.table).replace(/_local$/, ''));
    }
    const catalogue = sorted(USER_KEYED_TABLES.map((t) => t.table));
    expect(sorted(live)).toEqual(catalogue);
    expect(sorted(SHARDED_TABLES)).toEqual(catalogue);
  });

  it('deletes rows and returns once the mutation is done', async () => {
    await store.execute(`INSERT INTO snapshot_members (snapshot_id, user_id) VALUES (1, 'a'), (1, 'b'), (2, 'a'), (3, 'c')`);
    await store.deleteWhere(TABLES.snapshotMembers, 'snapshot_id IN (1, 3)');
    expect(await store.query(`SELECT snapshot_id, user_id FROM snapshot_members ORDER BY snapshot_id, user_id`)).toEqual([{ snapshot_id: 2, user_id: 'a' }]);
    await store.execute(`INSERT INTO snapshots (snapshot_id, segment_key, version, as_of, computed_at, size) VALUES (7, 'k', 1, 0, 0, 0)`);
    expect(await store.nextSnapshotIds(3)).toEqual([8, 9, 10]);
    await store.deleteWhere(TABLES.snapshots, 'snapshot_id = 7');
    expect(await store.query(`SELECT count() AS n FROM snapshots`)).toEqual([{ n: 0 }]);
  });
});

describe.skipIf(!clickhouseAvailable())('the ClickHouse cluster', () => {
  let store: ClickHouseStore;
  let dir: string;
  beforeEach(async () => {
    store = await layouts.open('cluster');
    dir = mkdtempSync(path.join(tmpdir(), 'strata-ch-store-test-'));
  });
  afterEach(async () => {
    await store.dropDatabase();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps every user's rows on exactly one shard, the one cityHash64(user_id) names", async () => {
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const events = path.join(dir, 'events.jsonl');
    writeFileSync(events, users.map((u, i) => JSON.stringify({ user_id: u, event: 'purchase', timestamp: Date.UTC(2024, 0, 1 + (i % 20)), properties: { amount: i } })).join('\n'));
    const profiles = path.join(dir, 'profiles.csv');
    writeFileSync(profiles, `user_id,plan\n${users.map((u, i) => `${u},${i % 2 ? 'pro' : 'free'}`).join('\n')}\n`);
    await ingestFiles(store, { kind: 'events', files: [events], plan, rejectsPath: path.join(dir, 'r.jsonl') });
    await ingestFiles(store, { kind: 'profiles', files: [profiles], plan, rejectsPath: path.join(dir, 'r.jsonl') });
    const registry = new SegmentRegistry(store, plan);
    await registry.add([{ key: 'pro', name: 'Pro', objective: 'other', rationale: 'trait', owner: 'growth', match: { trait: 'plan', eq: 'pro' } }]);
    const [computed] = await registry.compute(['pro'], { asOfMs: Date.UTC(2024, 6, 1) });
    expect(computed!.size).toBe(20);
    // Scores are user-keyed too: a run appended through the Distributed table lands on each user's shard.
    await writeScoreRun(store, { modelKey: 'churn-risk', modelVersion: 1, asOfMs: Date.UTC(2024, 6, 1), createdAtMs: Date.UTC(2024, 6, 1), userIds: users, scores: Float64Array.from(users, (_, i) => i / 40) });

    const expectedShard = new Map(
      (await store.query(`SELECT user_id, cityHash64(user_id) % 2 AS shard FROM users FINAL`)).map((r) => [String(r.user_id), Number(r.shard)]),
    );
    expect(expectedShard.size).toBe(40);
    expect(new Set(expectedShard.values())).toEqual(new Set([0, 1]));
    for (const table of SHARDED_TABLES) {
      const perShard = await Promise.all(
        store.shardClients.map(async (c) => (await store.queryOn(c, `SELECT DISTINCT user_id FROM ${table}_local`)).map((r) => String(r.user_id))),
      );
      const seen = new Map<string, number>();
      perShard.forEach((ids, shard) => {
        for (const id of ids) {
          expect(seen.has(id), `${table}: ${id} on two shards`).toBe(false);
          seen.set(id, shard);
          expect(shard, `${table}: ${id}`).toBe(expectedShard.get(id));
        }
      });
      expect(seen.size).toBe(table === TABLES.snapshotMembers ? 20 : 40);
    }
  });

  it('creates the tables of a shard that has none when the store opens (adding a shard)', async () => {
    await store.applyPlan(plan);
    // Stand-in for a new, empty node: the second shard's database is gone.
    const bare = createClient({ url: store.options.cluster!.shards[1]! });
    await bare.command({ query: `DROP DATABASE ${store.options.database}` });
    await bare.close();
    const reopened = await ClickHouseStore.open(store.options);
    try {
      await reopened.applyPlan(plan);
      const tables = await reopened.tablesOn(reopened.shardClients[1]!);
      expect(sorted(tables)).toEqual(sorted(USER_KEYED_TABLES.flatMap((t) => [t.table, `${t.table}_local`])));
      expect(await columnTypes(reopened, 1, 'events_local')).toMatchObject({ p_amount: 'Nullable(Float64)' });
      expect(await columnTypes(reopened, 1, 'profiles')).toMatchObject({ t_plan: 'Nullable(String)' });
    } finally {
      await reopened.close();
    }
  });
});

/**
 * The procedure README.md gives for adding a shard, run as written: list the new server
 * in remote_servers, open the store (which creates its tables), re-insert each sharded
 * table through a Distributed table, swap the tables in. Before the rebalance some users'
 * rows are on a shard the hash no longer names; after it none are, and nothing is lost.
 */
describe.skipIf(!clickhouseAvailable())('adding a shard to a cluster', () => {
  let servers: LocalClickHouse;
  let dir: string;
  beforeAll(async () => {
    servers = await startClickHouse({ shards: 3, listed: 2 });
    dir = mkdtempSync(path.join(tmpdir(), 'strata-ch-reshard-test-'));
  }, 60_000);
  afterAll(async () => {
    await servers?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Rows (user_id, shard) where the user's rows sit on another shard than `cityHash64 % shards` names. */
  async function misplaced(store: ClickHouseStore): Promise<number> {
    let n = 0;
    for (const [i, c] of store.shardClients.entries()) {
      for (const table of SHARDED_TABLES) {
        const [r] = await store.queryOn(c, `SELECT count() AS n FROM ${table}_local WHERE cityHash64(user_id) % ${store.shardClients.length} != ${i}`);
        n += Number(r!.n);
      }
    }
    return n;
  }

  async function rebalance(store: ClickHouseStore, table: string, replacing: boolean): Promise<void> {
    const { database, cluster } = store.options;
    for (const c of store.shardClients) {
      await store.command(c, `CREATE TABLE ${table}_rebalance_local AS ${table}_local`);
      await store.command(c, `CREATE TABLE ${table}_rebalance AS ${table}_rebalance_local ENGINE = Distributed(${cluster!.name}, ${database}, ${table}_rebalance_local, cityHash64(user_id))`);
    }
    await store.execute(`INSERT INTO ${table}_rebalance SELECT * FROM ${table}${replacing ? ' FINAL' : ''}`);
    const [counts] = await store.query(`SELECT (SELECT count() FROM ${table}_rebalance) AS moved, (SELECT count() FROM ${table}${replacing ? ' FINAL' : ''}) AS stored`);
    expect(counts!.moved).toBe(counts!.stored);
    for (const c of store.shardClients) {
      await store.command(c, `RENAME TABLE ${table}_local TO ${table}_old_local, ${table}_rebalance_local TO ${table}_local`);
      await store.command(c, `DROP TABLE ${table}_rebalance`);
      await store.command(c, `DROP TABLE ${table}_old_local`);
    }
  }

  it('moves every user to the shard the hash names, keeping every row and every answer', async () => {
    const database = 'strata_reshard_test';
    const two = { url: servers.urls[0]!, database, cluster: { name: servers.cluster!, shards: servers.urls.slice(0, 2) } };
    const before = await ClickHouseStore.open(two);
    const users = Array.from({ length: 60 }, (_, i) => `user-${i}`);
    const events = path.join(dir, 'events.jsonl');
    writeFileSync(events, users.map((u, i) => JSON.stringify({ user_id: u, event: 'purchase', timestamp: Date.UTC(2024, 0, 1 + (i % 20)), properties: { amount: i } })).join('\n'));
    const profiles = path.join(dir, 'profiles.csv');
    writeFileSync(profiles, `user_id,plan,age\n${users.map((u, i) => `${u},${i % 3 ? 'pro' : 'free'},${20 + i}`).join('\n')}\n`);
    await ingestFiles(before, { kind: 'events', files: [events], plan, rejectsPath: path.join(dir, 'r.jsonl') });
    await ingestFiles(before, { kind: 'profiles', files: [profiles], plan, rejectsPath: path.join(dir, 'r.jsonl') });
    const asOfMs = Date.UTC(2024, 6, 1);
    const segments: SegmentDefinition[] = [
      { key: 'pro', name: 'Pro', objective: 'other', rationale: 'trait', owner: 'growth', match: { trait: 'plan', eq: 'pro' } },
      { key: 'big', name: 'Big', objective: 'other', rationale: 'events', owner: 'growth', match: { aggregate: 'sum', of: 'amount', on: 'purchase', gte: 30 } },
    ];
    const answers = async (store: ClickHouseStore) => {
      const registry = new SegmentRegistry(store, plan, { now: () => asOfMs });
      const computed = await registry.compute(undefined, { asOfMs: asOfMs - 1 });
      const members: string[] = [];
      for await (const id of (await registry.members('pro', { asOfMs: asOfMs - 1 })).ids) members.push(id);
      const counts = await store.query(`SELECT (SELECT count() FROM events) AS events, (SELECT count() FROM users FINAL) AS users, (SELECT count() FROM profiles FINAL) AS profiles`);
      return { sizes: computed.map((c) => [c.key, c.size, c.population]), members, counts };
    };
    await new SegmentRegistry(before, plan, { now: () => asOfMs }).add(segments);
    const expected = await answers(before);
    expect(expected.sizes).toEqual([
      ['big', 30, 60],
      ['pro', 40, 60],
    ]);
    await before.close();

    // 1. The third server joins the cluster on every node; 2. opening the store creates its tables.
    await servers.listShards(3);
    const three = { ...two, cluster: { ...two.cluster, shards: servers.urls } };
    const store = await ClickHouseStore.open(three);
    try {
      await store.applyPlan(plan);
      expect(sorted(await store.tablesOn(store.shardClients[2]!))).toEqual(sorted(USER_KEYED_TABLES.flatMap((t) => [t.table, `${t.table}_local`])));
      expect(await misplaced(store)).toBeGreaterThan(0);
      // 3. Rebalance every sharded table.
      for (const table of SHARDED_TABLES) await rebalance(store, table, table === TABLES.users || table === TABLES.profiles);
      expect(await misplaced(store)).toBe(0);
      const onThird = await store.queryOn(store.shardClients[2]!, `SELECT count() AS n FROM events_local`);
      expect(Number(onThird[0]!.n)).toBeGreaterThan(0);
      expect(await answers(store)).toEqual(expected);
    } finally {
      await store.dropDatabase();
      await store.close();
    }
  });
});
