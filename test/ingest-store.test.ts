/**
 * What an ingest run does to the store: all or nothing (errors and crashes), dedupe by
 * event id and by content hash, the users population index, profiles upserted trait by
 * trait, the run record and progress.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles, type IngestProgress } from '../src/ingest/index.js';
import { TEST_PLAN, ms, sandbox, type Sandbox } from './ingest-helpers.js';

let box: Sandbox;
beforeEach(async () => {
  box = await sandbox();
});
afterEach(async () => {
  await box.close();
});

const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

async function events(files: string[]) {
  return ingestFiles(box.store, { kind: 'events', files, plan: TEST_PLAN, rejectsPath: box.rejectsPath() });
}

async function profiles(files: string[]) {
  return ingestFiles(box.store, { kind: 'profiles', files, plan: TEST_PLAN, rejectsPath: box.rejectsPath() });
}

async function counts(): Promise<Record<string, number>> {
  const [r] = await box.rows(
    `SELECT (SELECT count(*) FROM events)::INTEGER AS events, (SELECT count(*) FROM users)::INTEGER AS users,
            (SELECT count(*) FROM profiles)::INTEGER AS profiles, (SELECT count(*) FROM ingest_runs)::INTEGER AS runs`,
  );
  return r as Record<string, number>;
}

const GOOD = [
  { user_id: 'a', event: 'signup', timestamp: '2024-01-02T00:00:00Z', properties: { channel: 'ads' } },
  { user_id: 'a', event: 'purchase', timestamp: '2024-01-03T00:00:00Z', properties: { amount: 10 } },
  { user_id: 'b', event: 'signup', timestamp: '2024-01-05T00:00:00Z' },
];

describe('all or nothing', () => {
  it('stores nothing from the first file when the second is malformed', async () => {
    const good = box.file('good.jsonl', jsonl(GOOD));
    const bad = box.file('bad.jsonl', '{"user_id": "c", "event": "signup", "timestamp": "2024-01-01"}\n{"user_id": \n');
    await expect(events([good, bad])).rejects.toMatchObject({ code: 'INPUT_INVALID', message: expect.stringContaining(bad) });
    expect(await counts()).toEqual({ events: 0, users: 0, profiles: 0, runs: 0 });
    await box.reopen();
    expect(await counts()).toEqual({ events: 0, users: 0, profiles: 0, runs: 0 });
  });

  it('stores nothing when the second file lacks a mapped column or cannot be found', async () => {
    const good = box.file('good.jsonl', jsonl(GOOD));
    const noUser = box.file('no-user.csv', 'uid,event,timestamp\nx,signup,2024-01-01\n');
    await expect(events([good, noUser])).rejects.toMatchObject({ code: 'MAPPING_INVALID' });
    await expect(events([good, `${box.dir}/missing.csv`])).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    expect(await counts()).toEqual({ events: 0, users: 0, profiles: 0, runs: 0 });
    // The store is usable after a failed run.
    expect((await events([good])).stored).toBe(3);
  });

  it('leaves the store as it was when the process dies in the middle of a run', async () => {
    const first = box.file('first.jsonl', jsonl(GOOD));
    await events([first]);
    const before = await counts();
    const dbPath = path.join(box.dir, 'store.duckdb');
    await box.store.close();

    const second = box.file('second.jsonl', jsonl(GOOD.map((e) => ({ ...e, user_id: `${e.user_id}2` }))));
    const third = box.file('third.jsonl', jsonl([{ user_id: 'z', event: 'signup', timestamp: '2024-02-01' }]));
    // The child stores the second file inside the run's transaction, then is killed while
    // storing the third, before the commit.
    const child = `
      const { DuckDbStore } = await import(${JSON.stringify(path.resolve('src/store/duckdb/duckdb-store.js'))});
      const { ingestFiles } = await import(${JSON.stringify(path.resolve('src/ingest/index.js'))});
      const { TEST_PLAN } = await import(${JSON.stringify(path.resolve('test/ingest-helpers.js'))});
      const store = await DuckDbStore.open({ path: ${JSON.stringify(dbPath)} });
      let files = 0;
      await ingestFiles(store, {
        kind: 'events', files: [${JSON.stringify(second)}, ${JSON.stringify(third)}], plan: TEST_PLAN, rejectsPath: ${JSON.stringify(box.rejectsPath())},
        onProgress: (p) => {
          if (p.phase === 'storing' && p.done === p.total && ++files === 1) console.log('stored the second file');
          if (p.phase === 'storing' && files === 1 && p.done === 0 && p.total === 1) process.kill(process.pid, 'SIGKILL');
        },
      });
      console.log('committed');
    `;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { encoding: 'utf8', cwd: process.cwd() });
    expect(result.signal).toBe('SIGKILL');
    expect(result.stdout).toContain('stored the second file');
    expect(result.stdout).not.toContain('committed');

    await box.reopen();
    expect(await counts()).toEqual(before);
    expect(await box.rows(`SELECT count(*)::INTEGER AS n FROM events WHERE user_id IN ('a2', 'b2', 'z')`)).toEqual([{ n: 0 }]);
  });
});

describe('inside a caller\'s transaction', () => {
  it('keeps line numbers and commits with the caller', async () => {
    const file = box.file('e.csv', 'user_id,event,timestamp\na,signup,2024-01-01\n,signup,2024-01-01\n');
    const report = await box.store.transaction(() => events([file]));
    expect(report).toMatchObject({ stored: 1, rejected: 1 });
    expect(box.rejects().map((r) => r.line)).toEqual([3]);
    await box.reopen();
    expect(await counts()).toEqual({ events: 1, users: 1, profiles: 0, runs: 1 });
  });
});

describe('dedupe', () => {
  it('adds nothing when the same file is ingested again (content hash)', async () => {
    const file = box.file('e.csv', 'user_id,event,timestamp,amount\na,purchase,2024-01-01,10\na,purchase,2024-01-01,10.0\na,purchase,2024-01-01,11\n');
    // Rows 1 and 2 are the same event (10 and 10.0 are the same number): a duplicate within the batch.
    expect(await events([file])).toMatchObject({ read: 3, stored: 2, duplicates: 1 });
    expect(await events([file])).toMatchObject({ read: 3, stored: 0, duplicates: 3 });
    const ids = await box.rows('SELECT event_id FROM events');
    expect(ids.every((r) => /^h:[0-9a-f]{32}$/.test(String(r.event_id)))).toBe(true);
    expect(ids).toHaveLength(2);
  });

  it('dedupes by event_id when given, keeping the first occurrence', async () => {
    const file = box.file(
      'e.jsonl',
      jsonl([
        { event_id: 'x1', user_id: 'a', event: 'purchase', timestamp: '2024-01-01', properties: { amount: 1 } },
        { event_id: 'x1', user_id: 'a', event: 'purchase', timestamp: '2024-01-02', properties: { amount: 2 } },
        { event_id: 'x2', user_id: 'a', event: 'purchase', timestamp: '2024-01-01', properties: { amount: 1 } },
      ]),
    );
    expect(await events([file])).toMatchObject({ stored: 2, duplicates: 1 });
    expect(await box.rows('SELECT event_id, p_amount FROM events ORDER BY event_id')).toEqual([
      { event_id: 'x1', p_amount: 1 },
      { event_id: 'x2', p_amount: 1 },
    ]);
    const again = box.file('again.jsonl', jsonl([{ event_id: 'x2', user_id: 'other', event: 'signup', timestamp: '2024-03-01' }]));
    expect(await events([again])).toMatchObject({ stored: 0, duplicates: 1 });
  });

  it('puts no user in the population index from a row that was a duplicate', async () => {
    const first = box.file('first.jsonl', jsonl([{ event_id: 'x1', user_id: 'a', event: 'signup', timestamp: '2024-02-01' }]));
    await events([first]);
    // x1 again, for another user and for a with an earlier instant; x3 repeats x2 within the run for user d.
    const second = box.file(
      'second.jsonl',
      jsonl([
        { event_id: 'x1', user_id: 'ghost', event: 'signup', timestamp: '2024-01-01' },
        { event_id: 'x1', user_id: 'a', event: 'signup', timestamp: '2024-01-01' },
        { event_id: 'x2', user_id: 'c', event: 'signup', timestamp: '2024-03-01' },
        { event_id: 'x2', user_id: 'd', event: 'signup', timestamp: '2024-01-05' },
      ]),
    );
    expect(await events([second])).toMatchObject({ stored: 1, duplicates: 3 });
    expect(await box.rows(`SELECT user_id, strftime(first_event_at, '%Y-%m-%d') AS first FROM users ORDER BY user_id`)).toEqual([
      { user_id: 'a', first: '2024-02-01' },
      { user_id: 'c', first: '2024-03-01' },
    ]);
  });

  it('counts duplicates across the files of one run', async () => {
    const a = box.file('a.jsonl', jsonl(GOOD));
    const b = box.file('b.jsonl', jsonl([...GOOD.slice(0, 2), { user_id: 'c', event: 'signup', timestamp: '2024-01-09' }]));
    expect(await events([a, b])).toMatchObject({ read: 6, stored: 4, duplicates: 2 });
  });
});

describe('users population index', () => {
  it('keeps the earliest event per user across runs and marks profiles', async () => {
    await events([box.file('1.jsonl', jsonl(GOOD))]);
    await events([
      box.file(
        '2.jsonl',
        jsonl([
          { user_id: 'a', event: 'signup', timestamp: '2023-12-31T00:00:00Z' },
          { user_id: 'b', event: 'signup', timestamp: '2024-02-01T00:00:00Z' },
        ]),
      ),
    ]);
    await profiles([box.file('p.csv', 'user_id,plan\nb,pro\nc,free\n')]);
    const rows = await box.rows('SELECT user_id, epoch_ms(first_event_at)::DOUBLE AS first, has_profile FROM users ORDER BY user_id');
    expect(rows).toEqual([
      { user_id: 'a', first: ms('2023-12-31T00:00:00Z'), has_profile: false },
      { user_id: 'b', first: ms('2024-01-05T00:00:00Z'), has_profile: true },
      { user_id: 'c', first: null, has_profile: true },
    ]);
    // Events for a profile-only user set its first event and keep the profile flag.
    await events([box.file('3.jsonl', jsonl([{ user_id: 'c', event: 'signup', timestamp: '2024-03-01T00:00:00Z' }]))]);
    expect(await box.rows(`SELECT epoch_ms(first_event_at)::DOUBLE AS first, has_profile FROM users WHERE user_id = 'c'`)).toEqual([
      { first: ms('2024-03-01T00:00:00Z'), has_profile: true },
    ]);
  });
});

describe('profiles', () => {
  it('upserts trait by trait: absent or null keeps the stored value, later rows and files win', async () => {
    await profiles([box.file('1.csv', 'user_id,plan,age,vip\na,free,30,false\nb,free,40,true\n')]);
    const second = box.file(
      '2.jsonl',
      jsonl([
        { user_id: 'a', traits: { plan: 'pro', age: null } },
        { user_id: 'a', traits: { plan: 'team' } },
        { user_id: 'b', vip: false },
      ]),
    );
    const third = box.file('3.csv', 'user_id,age\nb,41\n');
    expect(await profiles([second, third])).toMatchObject({ read: 4, stored: 4, duplicates: 0 });
    expect(await box.rows('SELECT user_id, t_plan AS plan, t_age AS age, t_vip AS vip FROM profiles ORDER BY user_id')).toEqual([
      { user_id: 'a', plan: 'team', age: 30, vip: false },
      { user_id: 'b', plan: 'free', age: 41, vip: false },
    ]);
  });
});

describe('run record and progress', () => {
  it('records the run and reports reading, validating and storing', async () => {
    const file = box.file('e.jsonl', jsonl([...GOOD, { user_id: '', event: 'signup', timestamp: '2024-01-01' }]));
    const seen: IngestProgress[] = [];
    const report = await ingestFiles(box.store, { kind: 'events', files: [file], plan: TEST_PLAN, rejectsPath: box.rejectsPath(), onProgress: (p) => seen.push(p) });
    expect(new Set(seen.map((p) => p.phase))).toEqual(new Set(['reading', 'validating', 'storing']));
    expect(seen.every((p) => p.done >= 0 && p.done <= p.total)).toBe(true);
    expect(seen.filter((p) => p.phase === 'storing').at(-1)).toEqual({ phase: 'storing', done: 3, total: 3 });
    const [run] = await box.rows('SELECT run_id, kind, files, read, stored, rejected, duplicates, dropped, finished_at >= started_at AS ordered FROM ingest_runs');
    expect(run).toEqual({
      run_id: report.runId,
      kind: 'events',
      files: JSON.stringify([file]),
      read: 4n,
      stored: 3n,
      rejected: 1n,
      duplicates: 0n,
      dropped: '{}',
      ordered: true,
    });
    expect(report.rowsPerSecond).toBeGreaterThan(0);
    expect(report.elapsedMs).toBeGreaterThanOrEqual(0);
  });
});
