/**
 * Erasure through the library and on a pseudonymizing workspace:
 * - `forgetUsers` over more users than one statement batch, with progress, a dry run that
 *   agrees with the real run, and the users not asked for left whole;
 * - a workspace with `privacy.pseudonymize`: ids stored as HMAC-SHA256(key, id), forgotten
 *   and exported by the raw id (mapped with the key) or by the stored id (`--stored-id`);
 *   the raw id in the rejects files is scrubbed too;
 * - which rejects lines belong to a user (`rejectsLineOwner`).
 */
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { initWorkspace, loadConfig, openStore } from '../src/config/index.js';
import { readAuditLog } from '../src/governance/audit-log.js';
import { ingestFiles } from '../src/ingest/index.js';
import { forgetUsers, liveUserKeyedTables, rejectsLineOwner, type ForgetResult, type UserExport } from '../src/privacy/erasure/index.js';
import { pseudonymizeUserId } from '../src/privacy/pseudonymize.js';
import { suppressionHash } from '../src/privacy/suppression.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { ALPHA, BRAVO, CHARLIE, erasurePlan, physicalRows, writeFixtureFiles } from './support/privacy-erasure-fixtures.js';

let root = '';
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-erasure-lib-'));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('forgetUsers over many users', () => {
  const USERS = 1_150;
  const id = (i: number) => `u${String(i).padStart(5, '0')}`;

  it('erases in batches with progress; a dry run counts the same; the others stay whole', async () => {
    const plan = parsePlan({ events: { visit: {} } });
    const file = path.join(root, 'many.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < USERS; i++) for (let k = 0; k < 2; k++) lines.push(JSON.stringify({ user_id: id(i), event: 'visit', timestamp: Date.UTC(2025, 0, 1 + k, i % 24) }));
    await writeFile(file, lines.join('\n'));
    const store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    try {
      await store.applyPlan(plan);
      await ingestFiles(store, { kind: 'events', files: [file], plan, rejectsPath: path.join(root, 'many-rejects.jsonl') });
      const targets = Array.from({ length: 1_100 }, (_, i) => ({ given: id(i), stored: id(i) }));
      const dry = await forgetUsers(store, targets, { actor: 'lib', dryRun: true });
      const progress: [number, number][] = [];
      const real = await forgetUsers(store, targets, { actor: 'lib', onProgress: (done, total) => progress.push([done, total]) });
      // Every 100 users and at the end of each batch of 1,000.
      expect(progress).toEqual([...Array.from({ length: 11 }, (_, i) => [(i + 1) * 100, 1100])]);
      expect(real.totals).toEqual({ events: 2_200, users: 1_100, profiles: 0, snapshot_members: 0, model_scores: 0 });
      expect(dry.totals).toEqual(real.totals);
      expect(dry.users.map((u) => [u.userId, u.status, u.rows])).toEqual(real.users.map((u) => [u.userId, u.status, u.rows]));
      expect(real.users.every((u) => u.status === 'forgotten' && u.auditSeq !== null)).toBe(true);
      expect(await store.query('SELECT count(*) AS n, count(DISTINCT user_id) AS u FROM events')).toEqual([{ n: 100n, u: 50n }]);
      expect(await store.query('SELECT min(user_id) AS lo FROM users')).toEqual([{ lo: id(1_100) }]);
      expect(await store.query('SELECT count(*) AS n FROM suppressions')).toEqual([{ n: 1_100n }]);
      const audits = await readAuditLog(store, { action: 'privacy.forget' });
      expect(audits.length).toBe(1_100);
      expect(new Set(audits.map((a) => a.target))).toEqual(new Set(targets.map((t) => `user:${suppressionHash(t.stored)}`)));
    } finally {
      await store.close();
    }
  });
});

describe('a pseudonymizing workspace', () => {
  const KEY = 'k'.repeat(16) + '0123456789abcdef0123456789abcdef';
  const ENV = { STRATA_TEST_PSEUDONYM_KEY: KEY };
  let ws = '';
  const run = async (env: Record<string, string>, ...argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: ws, env });
    return { code, stdout, stderr };
  };
  const stored = (raw: string) => pseudonymizeUserId(Buffer.from(KEY, 'utf8'), raw);

  beforeAll(async () => {
    ws = path.join(root, 'pseudo');
    await initWorkspace(ws, { plan: erasurePlan() });
    await appendFile(path.join(ws, 'strata.yaml'), '\nprivacy:\n  pseudonymize:\n    key_env: STRATA_TEST_PSEUDONYM_KEY\n');
    const files = await writeFixtureFiles(await mkdtemp(path.join(root, 'files-')));
    expect((await run(ENV, 'ingest', 'events', files.events)).code).toBe(0);
    expect((await run(ENV, 'ingest', 'profiles', files.profiles)).code).toBe(0);
  }, 30_000);

  async function held(storedId: string): Promise<Record<string, number>> {
    const config = await loadConfig({ cwd: ws, env: ENV });
    const store = await openStore(config);
    try {
      const out: Record<string, number> = {};
      for (const t of await liveUserKeyedTables(store)) out[t] = await physicalRows(store, t, storedId);
      return out;
    } finally {
      await store.close();
    }
  }

  it('stores pseudonyms only (the premise)', async () => {
    expect(await held(ALPHA)).toMatchObject({ events: 0, users: 0 });
    expect(await held(stored(ALPHA))).toMatchObject({ events: 9, users: 1, profiles: 1 });
  });

  it('forgets by the raw id through the key, scrubbing the raw id from the rejects files', async () => {
    const rejectsDir = (await loadConfig({ cwd: ws, env: ENV })).rejectsDir;
    const r = await run(ENV, 'privacy', 'forget', ALPHA, '--json');
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as ForgetResult;
    expect(result.users).toEqual([
      { userId: ALPHA, userHash: suppressionHash(stored(ALPHA)), status: 'forgotten', rows: { events: 9, users: 1, profiles: 1, snapshot_members: 0, model_scores: 0 }, rejectsLines: 1, auditSeq: expect.any(Number) },
    ]);
    expect(Object.values(await held(stored(ALPHA))).every((n) => n === 0)).toBe(true);
    const rejects = (await Promise.all((await readdir(rejectsDir)).map((f) => readFile(path.join(rejectsDir, f), 'utf8')))).join('');
    expect(rejects).not.toContain(ALPHA);
    expect(rejects).toContain(BRAVO);
  });

  it('forgets by the stored id with --stored-id, and exports by either form', async () => {
    const r = await run(ENV, 'privacy', 'forget', stored(BRAVO), '--stored-id', '--json');
    expect((JSON.parse(r.stdout) as ForgetResult).users.map((u) => [u.userId, u.status, u.rows.events])).toEqual([[stored(BRAVO), 'forgotten', 4]]);
    const byRaw = await run(ENV, 'privacy', 'export', CHARLIE);
    const byStored = await run(ENV, 'privacy', 'export', stored(CHARLIE), '--stored-id');
    const a = JSON.parse(byRaw.stdout) as UserExport;
    const b = JSON.parse(byStored.stdout) as UserExport;
    expect([a.storedId, a.tables.events!.rows]).toEqual([stored(CHARLIE), 2]);
    expect({ ...b, exportedAt: '', userId: '' }).toEqual({ ...a, exportedAt: '', userId: '' });
  });

  it('refuses without the key rather than looking for the raw id', async () => {
    const r = await run({}, 'privacy', 'forget', CHARLIE);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('STRATA_TEST_PSEUDONYM_KEY');
    expect((await held(stored(CHARLIE))).events).toBe(2);
  });
});

describe('rejectsLineOwner', () => {
  const owners = new Map([
    ['user-alpha', 'A'],
    ['42', 'B'],
  ]);
  it('matches a top-level value of the raw row, numbers by their text, and JSON text rows', () => {
    expect(rejectsLineOwner(JSON.stringify({ file: 'f', line: 1, reason: 'r', row: { customer: 'user-alpha' } }), owners)).toBe('A');
    expect(rejectsLineOwner(JSON.stringify({ file: 'f', line: 2, reason: 'r', row: { CustomerID: 42, qty: 1 } }), owners)).toBe('B');
    expect(rejectsLineOwner(JSON.stringify({ file: 'f', line: 3, reason: 'r', row: '{"user_id": "user-alpha", "event": ' }), owners)).toBe('A');
    // Nested values are properties, not the user column; other users and broken lines are nobody's.
    expect(rejectsLineOwner(JSON.stringify({ file: 'f', line: 4, reason: 'r', row: { user_id: 'x', properties: { ref: 'user-alpha' } } }), owners)).toBe(null);
    expect(rejectsLineOwner(JSON.stringify({ file: 'f', line: 5, reason: 'r', row: { user_id: 'user-alphabet' } }), owners)).toBe(null);
    expect(rejectsLineOwner('not json', owners)).toBe(null);
  });
});
