import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StrataError } from '../../errors/errors.js';
import { parsePlan } from '../../schema/tracking-plan.js';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.js';
import { TABLES } from '../../store/schema.js';
import type { SegmentDefinition } from '../language/index.js';
import { SegmentRegistry } from './segment-registry.js';
import { seedStore, type SeedEvent } from './test/seed-store.js';

const plan = parsePlan({
  events: { signup: {}, login: {}, purchase: { properties: { amount: 'number' } } },
  traits: { plan: 'string', country: 'string' },
});

const T1 = Date.UTC(2024, 2, 1); // 2024-03-01
const T2 = Date.UTC(2024, 3, 1); // 2024-04-01
const FEB15 = Date.UTC(2024, 1, 15);
const MAR20 = Date.UTC(2024, 2, 20);

function segment(key: string, match: unknown, extra: Partial<SegmentDefinition> = {}): SegmentDefinition {
  return { key, name: `Segment ${key}`, objective: 'other', rationale: `test segment ${key}`, owner: 'growth', match, ...extra };
}

const pro = segment('pro', { trait: 'plan', eq: 'pro' });
const buyers = segment('buyers', { did: 'purchase', within: '30d' });
const proBuyers = segment('pro-buyers', { all: [{ segment: 'pro' }, { segment: 'buyers' }] });

/**
 * Ten users with a profile or an early event, one who arrives later:
 * - u01..u04 plan pro, u05..u08 and u10 plan free, u09 no profile (a login in January);
 * - purchases on Feb 15 by u01 u02 u05, on Mar 20 by u02 u03 u06 u07 u11 (u11's first event).
 * As of T1 = Mar 1: population 10 (u11 not yet), pro {u01..u04}, buyers {u01 u02 u05}.
 * As of T2 = Apr 1: population 11, buyers (within 30d = [Mar 2, Apr 1)) {u02 u03 u06 u07 u11}.
 */
async function seedSmall(store: DuckDbStore): Promise<void> {
  const events: SeedEvent[] = [
    { user: 'u09', event: 'login', at: Date.UTC(2024, 0, 10) },
    ...['u01', 'u02', 'u05'].map((user) => ({ user, event: 'purchase', at: FEB15, props: { amount: 10 } })),
    ...['u02', 'u03', 'u06', 'u07', 'u11'].map((user) => ({ user, event: 'purchase', at: MAR20, props: { amount: 20 } })),
  ];
  const profiles: Record<string, Record<string, string>> = {};
  for (const u of ['u01', 'u02', 'u03', 'u04']) profiles[u] = { plan: 'pro' };
  for (const u of ['u05', 'u06', 'u07', 'u08', 'u10']) profiles[u] = { plan: 'free' };
  await seedStore(store, plan, { events, profiles });
}

async function collect(ids: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const id of ids) out.push(id);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<StrataError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StrataError) return e;
    throw e;
  }
  throw new Error('expected a StrataError, the call succeeded');
}

let store: DuckDbStore;
let clock: number;
let registry: SegmentRegistry;

beforeEach(async () => {
  store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  clock = Date.UTC(2024, 5, 1);
  registry = new SegmentRegistry(store, plan, { now: () => clock });
});

afterEach(async () => {
  await store.close();
});

describe('add: versioning', () => {
  it('stores version 1, keeps it for an unchanged definition, and adds version 2 when it changes', async () => {
    expect(await registry.add([pro])).toEqual([{ key: 'pro', version: 1, status: 'created' }]);
    clock += 1000;
    expect(await registry.add([{ ...pro }])).toEqual([{ key: 'pro', version: 1, status: 'unchanged' }]);
    clock += 1000;
    const renamed = { ...pro, name: 'Pro plan users' };
    expect(await registry.add([renamed])).toEqual([{ key: 'pro', version: 2, status: 'updated' }]);
    clock += 1000;
    expect(await registry.add([renamed, buyers])).toEqual([
      { key: 'pro', version: 2, status: 'unchanged' },
      { key: 'buyers', version: 1, status: 'created' },
    ]);

    const shown = await registry.show('pro');
    expect(shown.version).toBe(2);
    expect(shown.definition.name).toBe('Pro plan users');
    expect(shown.versions.map((v) => [v.version, v.createdAt])).toEqual([
      [1, new Date(Date.UTC(2024, 5, 1)).toISOString()],
      [2, new Date(Date.UTC(2024, 5, 1) + 2000).toISOString()],
    ]);
    expect(shown.versions[0]!.hash).not.toBe(shown.versions[1]!.hash);

    const list = await registry.list();
    expect(list.map((s) => [s.key, s.version, s.name, s.createdAt, s.updatedAt])).toEqual([
      ['buyers', 1, 'Segment buyers', new Date(Date.UTC(2024, 5, 1) + 3000).toISOString(), new Date(Date.UTC(2024, 5, 1) + 3000).toISOString()],
      ['pro', 2, 'Pro plan users', new Date(Date.UTC(2024, 5, 1)).toISOString(), new Date(Date.UTC(2024, 5, 1) + 2000).toISOString()],
    ]);
    expect(list.every((s) => s.lastSnapshot === null)).toBe(true);
  });

  it('changing the match is a new version; list shows owner and tags', async () => {
    await registry.add([segment('x', { trait: 'plan', eq: 'pro' }, { owner: 'growth', tags: ['a', 'b'] })]);
    const out = await registry.add([segment('x', { trait: 'plan', eq: 'free' }, { owner: 'growth', tags: ['a', 'b'] })]);
    expect(out).toEqual([{ key: 'x', version: 2, status: 'updated' }]);
    const [item] = await registry.list();
    expect(item).toMatchObject({ key: 'x', version: 2, owner: 'growth', tags: ['a', 'b'], objective: 'other' });
  });

  it('rejects the same key twice in one call and an invalid definition, storing nothing', async () => {
    const twice = await rejection(registry.add([pro, { ...pro, name: 'other' }]));
    expect(twice.code).toBe('SEGMENT_INVALID');
    const invalid = await rejection(registry.add([buyers, segment('bad', { trait: 'no_such_trait', eq: 'x' })]));
    expect(invalid.code).toBe('SEGMENT_INVALID');
    expect(await registry.list()).toEqual([]);
  });
});

describe('add: references and cycles', () => {
  it('resolves references among stored and new definitions, across calls', async () => {
    await registry.add([pro]);
    // buyers arrives in the same call as the segment that needs it; pro is already stored.
    expect(await registry.add([proBuyers, buyers])).toEqual([
      { key: 'pro-buyers', version: 1, status: 'created' },
      { key: 'buyers', version: 1, status: 'created' },
    ]);
  });

  it('rejects an unknown reference and stores nothing of the call', async () => {
    const e = await rejection(registry.add([pro, segment('orphan', { segment: 'missing' })]));
    expect(e.code).toBe('SEGMENT_NOT_FOUND');
    expect(await registry.list()).toEqual([]);
  });

  it('rejects a cycle within one call and a cycle closed by a later call', async () => {
    const inOneCall = await rejection(registry.add([segment('a', { segment: 'b' }), segment('b', { segment: 'a' })]));
    expect(inOneCall.code).toBe('SEGMENT_CYCLE');
    expect(await registry.list()).toEqual([]);

    await registry.add([segment('a', { trait: 'plan', eq: 'pro' })]);
    await registry.add([segment('b', { not: { segment: 'a' } })]);
    const closing = await rejection(registry.add([segment('a', { segment: 'b' })]));
    expect(closing.code).toBe('SEGMENT_CYCLE');
    expect((await registry.show('a')).version).toBe(1);
  });
});

describe('show: unknown keys', () => {
  it('names the close keys', async () => {
    await registry.add([pro, buyers, proBuyers]);
    const e = await rejection(registry.show('buyer'));
    expect(e.code).toBe('SEGMENT_NOT_FOUND');
    expect(e.message).toContain('"buyers"');
    const none = await rejection(registry.compute(['zzz-unrelated-key'], { asOfMs: T1 }));
    expect(none.code).toBe('SEGMENT_NOT_FOUND');
  });
});

describe('compute, members, diff, overlap', () => {
  beforeEach(async () => {
    await seedSmall(store);
    await registry.add([pro, buyers, proBuyers]);
  });

  it('computes every segment in one call with the hand-counted sizes', async () => {
    const out = await registry.compute(undefined, { asOfMs: T1 });
    expect(out.map((r) => [r.key, r.version, r.size, r.population, r.asOf])).toEqual([
      ['buyers', 1, 3, 10, '2024-03-01T00:00:00.000Z'],
      ['pro', 1, 4, 10, '2024-03-01T00:00:00.000Z'],
      ['pro-buyers', 1, 2, 10, '2024-03-01T00:00:00.000Z'],
    ]);
    expect(new Set(out.map((r) => r.snapshotId)).size).toBe(3);
    expect((await collect((await registry.members('pro-buyers', { asOfMs: T1 })).ids))).toEqual(['u01', 'u02']);

    const list = await registry.list();
    expect(list.find((s) => s.key === 'pro')!.lastSnapshot).toMatchObject({ size: 4, asOf: '2024-03-01T00:00:00.000Z', version: 1 });
    const shown = await registry.show('buyers');
    expect(shown.snapshots.map((s) => [s.size, s.asOf])).toEqual([[3, '2024-03-01T00:00:00.000Z']]);
  });

  it('members computes the snapshot on demand, then reuses it', async () => {
    const first = await registry.members('buyers', { asOfMs: T2, pageSize: 2 });
    expect(await collect(first.ids)).toEqual(['u02', 'u03', 'u06', 'u07', 'u11']);
    expect(first.snapshot).toMatchObject({ key: 'buyers', version: 1, size: 5, population: 11, asOf: '2024-04-01T00:00:00.000Z' });
    const again = await registry.members('buyers', { asOfMs: T2 });
    expect(again.snapshot.snapshotId).toBe(first.snapshot.snapshotId);
    const rows = await store.query(`SELECT count(*) AS n FROM ${TABLES.snapshots}`);
    expect(Number(rows[0]!.n)).toBe(1);
  });

  it('recomputing the same key, version and asOf replaces the snapshot and its members', async () => {
    const [first] = await registry.compute(['buyers'], { asOfMs: T1 });
    clock += 60_000;
    const [second] = await registry.compute(['buyers'], { asOfMs: T1 });
    expect(second!.snapshotId).not.toBe(first!.snapshotId);
    const snaps = await store.query(`SELECT snapshot_id FROM ${TABLES.snapshots} WHERE segment_key = 'buyers'`);
    expect(snaps.map((r) => Number(r.snapshot_id))).toEqual([second!.snapshotId]);
    const members = await store.query(`SELECT snapshot_id, count(*) AS n FROM ${TABLES.snapshotMembers} GROUP BY snapshot_id`);
    expect(members.map((r) => [Number(r.snapshot_id), Number(r.n)])).toEqual([[second!.snapshotId, 3]]);

    // A new version at the same asOf is a new snapshot; the old version's snapshot stays for tracing.
    await registry.add([{ ...buyers, match: { did: 'purchase', within: '60d' } }]);
    const [third] = await registry.compute(['buyers'], { asOfMs: T1 });
    expect(third).toMatchObject({ version: 2, size: 3 });
    const versions = await store.query(`SELECT version FROM ${TABLES.snapshots} WHERE segment_key = 'buyers' ORDER BY version`);
    expect(versions.map((r) => Number(r.version))).toEqual([1, 2]);
  });

  it('diff counts who entered, left and stayed, computing both snapshots', async () => {
    const diff = await registry.diff('buyers', { fromMs: T1, toMs: T2 });
    // T1 {u01 u02 u05} -> T2 {u02 u03 u06 u07 u11}
    expect(diff.entered).toEqual({ count: 4, sample: ['u03', 'u06', 'u07', 'u11'], complete: true });
    expect(diff.left).toEqual({ count: 2, sample: ['u01', 'u05'], complete: true });
    expect(diff.stayed).toEqual({ count: 1, sample: ['u02'], complete: true });
    expect([diff.from.size, diff.to.size]).toEqual([3, 5]);

    const sampled = await registry.diff('buyers', { fromMs: T1, toMs: T2, sampleLimit: 2 });
    expect(sampled.entered).toEqual({ count: 4, sample: ['u03', 'u06'], complete: false });
    expect(sampled.stayed).toEqual({ count: 1, sample: ['u02'], complete: true });
    // Both snapshots were computed once by the first diff and reused.
    const rows = await store.query(`SELECT count(*) AS n FROM ${TABLES.snapshots}`);
    expect(Number(rows[0]!.n)).toBe(2);
  });

  it('overlap gives pairwise intersections and Jaccard indexes', async () => {
    const out = await registry.overlap(undefined, { asOfMs: T1 });
    expect(out.segments.map((s) => [s.key, s.size])).toEqual([
      ['buyers', 3],
      ['pro', 4],
      ['pro-buyers', 2],
    ]);
    // By hand: buyers {u01 u02 u05}, pro {u01..u04}, pro-buyers {u01 u02}.
    // buyers∩pro = {u01 u02}: 2, union 3 + 4 - 2 = 5, J = 2/5.
    // buyers∩pro-buyers = 2, union 3, J = 2/3.  pro∩pro-buyers = 2, union 4, J = 1/2.
    expect(out.pairs).toEqual([
      { a: 'buyers', b: 'pro', intersection: 2, union: 5, jaccard: 2 / 5 },
      { a: 'buyers', b: 'pro-buyers', intersection: 2, union: 3, jaccard: 2 / 3 },
      { a: 'pro', b: 'pro-buyers', intersection: 2, union: 4, jaccard: 1 / 2 },
    ]);
    const at2 = await registry.overlap(['pro', 'buyers'], { asOfMs: T2 });
    // T2: pro {u01..u04}, buyers {u02 u03 u06 u07 u11}: ∩ {u02 u03} = 2, union 4 + 5 - 2 = 7.
    expect(at2.pairs).toEqual([{ a: 'pro', b: 'buyers', intersection: 2, union: 7, jaccard: 2 / 7 }]);
  });

  it('writes members as CSV and JSONL, page by page', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-members-'));
    try {
      const csv = join(dir, 'm.csv');
      const out = await registry.writeMembers('pro', { asOfMs: T1, format: 'csv', out: csv, pageSize: 3 });
      expect(out).toMatchObject({ format: 'csv', out: csv, written: 4 });
      expect(await readFile(csv, 'utf8')).toBe('user_id\nu01\nu02\nu03\nu04\n');
      const jsonl = join(dir, 'm.jsonl');
      await registry.writeMembers('pro-buyers', { asOfMs: T1, format: 'jsonl', out: jsonl });
      expect(await readFile(jsonl, 'utf8')).toBe('{"user_id":"u01"}\n{"user_id":"u02"}\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an empty segment has a snapshot of size 0', async () => {
    await registry.add([segment('nobody', { trait: 'plan', eq: 'enterprise' })]);
    const [r] = await registry.compute(['nobody'], { asOfMs: T1 });
    expect(r).toMatchObject({ size: 0, population: 10 });
    expect(await collect((await registry.members('nobody', { asOfMs: T1 })).ids)).toEqual([]);
    const o = await registry.overlap(['nobody', 'pro'], { asOfMs: T1 });
    expect(o.pairs).toEqual([{ a: 'nobody', b: 'pro', intersection: 0, union: 4, jaccard: 0 }]);
  });
});

describe('members: ids that need escaping', () => {
  it('quotes CSV fields and pages past ids with quotes', async () => {
    const ids = ['a,b', 'q"uote', "o'neil", 'plain', 'ü-unicode'];
    await seedStore(store, plan, { profiles: Object.fromEntries(ids.map((id) => [id, { plan: 'pro' }])) });
    await registry.add([pro]);
    const { ids: stream } = await registry.members('pro', { asOfMs: T1, pageSize: 1 });
    // Byte order of the UTF-8 ids, as the store sorts them.
    expect(await collect(stream)).toEqual(["a,b", "o'neil", 'plain', 'q"uote', 'ü-unicode']);
    const dir = await mkdtemp(join(tmpdir(), 'strata-members-'));
    try {
      const csv = join(dir, 'm.csv');
      await registry.writeMembers('pro', { asOfMs: T1, format: 'csv', out: csv });
      expect(await readFile(csv, 'utf8')).toBe('user_id\n"a,b"\no\'neil\nplain\n"q""uote"\nü-unicode\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
