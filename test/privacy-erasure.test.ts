/**
 * `strata privacy export` and `strata privacy forget` end to end on a DuckDB file workspace
 * (test/support/privacy-erasure-fixtures.ts: every expected number is worked out there).
 *
 * The catalogue walk: the live schema's tables with a user_id column (DuckDB's
 * information_schema) must all be in USER_KEYED_TABLES; after `forget`, none of them holds
 * a row of the user, nor does any rejects file; other users' population rows are unchanged;
 * the forgotten user is out of the population and of a recomputed segment, while the stored
 * snapshot sizes (historical aggregates) stay.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, openStore, type Config } from '../src/config/index.js';
import { readAuditLog } from '../src/governance/audit-log.js';
import { liveUserKeyedTables, type ForgetResult, type UserExport } from '../src/privacy/erasure/index.js';
import { suppressionHash } from '../src/privacy/suppression.js';
import type { EventStore } from '../src/store/event-store.js';
import { USER_KEYED_TABLES } from '../src/store/schema.js';
import { cli, cliJson } from './cli-helpers.js';
import {
  ALPHA,
  BRAVO,
  CHARLIE,
  DELTA,
  ECHO,
  STORED_EVENTS,
  buildFixtureWorkspace,
  physicalRows,
  populationIndex,
} from './support/privacy-erasure-fixtures.js';

let root = '';
let ws = '';
const run = (...argv: string[]) => cli(ws, ...argv);

async function withStore<R>(fn: (store: EventStore, config: Config) => Promise<R>): Promise<R> {
  const config = await loadConfig({ cwd: ws, env: {} });
  const store = await openStore(config);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

/** Every line of every rejects file of the workspace. */
async function rejectsLines(): Promise<string[]> {
  const dir = (await loadConfig({ cwd: ws, env: {} })).rejectsDir;
  const out: string[] = [];
  for (const f of await readdir(dir)) out.push(...(await readFile(path.join(dir, f), 'utf8')).split('\n').filter((l) => l.trim() !== ''));
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-erasure-'));
  ws = path.join(root, 'ws');
  await buildFixtureWorkspace(root, ws, run);
}, 60_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the catalogue of user-keyed tables', () => {
  it('lists every live table with a user_id column, and each exists', async () => {
    const live = await withStore((store) => liveUserKeyedTables(store));
    expect(live).toEqual(USER_KEYED_TABLES.map((t) => t.table).sort());
  });
});

describe('strata privacy export', () => {
  let doc: UserExport;
  beforeAll(async () => {
    const r = await run('privacy', 'export', ALPHA);
    expect(r.code, r.stderr).toBe(0);
    doc = JSON.parse(r.stdout) as UserExport;
  });

  it('names every live user-keyed table with the rows held there', async () => {
    const live = await withStore((store) => liveUserKeyedTables(store));
    expect(Object.keys(doc.tables).sort()).toEqual(live);
    const held = await withStore(async (store) => Object.fromEntries(await Promise.all(live.map(async (t) => [t, await physicalRows(store, t, ALPHA)] as const))));
    expect(Object.fromEntries(Object.entries(doc.tables).map(([t, c]) => [t, c.rows]))).toEqual(held);
    // alpha: 9 stored events, 1 index row, 1 profile, member of the 05-25 snapshot only, in both scoring runs.
    expect(held).toEqual({ events: 9, users: 1, profiles: 1, snapshot_members: 1, model_scores: 2 });
    expect(doc).toMatchObject({ schemaVersion: 1, userId: ALPHA, storedId: ALPHA, suppression: null, other: {} });
  });

  it('holds every event with its properties, consent history and current consent, exposures', () => {
    const expected = STORED_EVENTS.filter((e) => e.user_id === ALPHA);
    expect(doc.events.map((e) => [e.event, e.at, e.properties])).toEqual(
      expected.map((e) => [e.event, e.timestamp, e.properties ?? {}]).sort((a, b) => String(a[1]).localeCompare(String(b[1])) || String(a[0]).localeCompare(String(b[0]))),
    );
    expect(doc.consent.history).toEqual([
      { at: '2025-01-05T09:00:00.000Z', purpose: 'marketing', granted: true, source: 'banner' },
      { at: '2025-02-01T09:00:00.000Z', purpose: 'personalization', granted: true, source: 'banner' },
      { at: '2025-04-01T09:00:00.000Z', purpose: 'marketing', granted: false, source: 'settings' },
    ]);
    expect(doc.consent.current).toEqual({
      analytics: { granted: true, from: 'default', at: null, source: null },
      personalization: { granted: true, from: 'record', at: '2025-02-01T09:00:00.000Z', source: 'banner' },
      marketing: { granted: false, from: 'record', at: '2025-04-01T09:00:00.000Z', source: 'settings' },
    });
    expect(doc.exposures).toEqual([{ experiment: 'onboarding', variant: 'checklist', at: '2025-01-10T09:00:00.000Z' }]);
  });

  it('holds the profile as stored, memberships and scores', async () => {
    const stored = await withStore(async (store) => (await store.query(`SELECT t_email, t_plan FROM profiles WHERE user_id = '${ALPHA}'`))[0]!);
    // pii as stored: whatever ingest made of it (hashed by default), exactly.
    expect(doc.profile?.traits).toEqual({ email: stored.t_email, plan: 'pro' });
    expect(doc.user).toEqual({ firstEventAt: '2025-01-05T09:00:00.000Z', hasProfile: true });
    expect(doc.segments.map((s) => [s.segment, s.version, s.asOf])).toEqual([['buyers', 1, '2025-05-25T09:00:00.000Z']]);
    // Weak percentile ranks within each run (scipy percentileofscore kind='weak'): 0.2 of [0.2, 0.6, 0.9] is 1/3; 0.3 of [0.3, 0.1] is 2/2.
    expect(doc.scores.map((s) => [s.model, s.modelVersion, s.kind, s.asOf, s.score, s.cluster])).toEqual([
      ['churn', 1, 'score', '2025-03-01T09:00:00.000Z', 0.2, null],
      ['churn', 1, 'score', '2025-05-20T09:00:00.000Z', 0.3, null],
    ]);
    expect(doc.scores[0]!.percentile).toBeCloseTo(100 / 3, 12);
    expect(doc.scores[1]!.percentile).toBe(100);
  });

  it('writes --out with mode 0600 and audits the export by hash', async () => {
    const out = path.join(root, 'alpha.json');
    const summary = await cliJson<{ out: string; tables: Record<string, { rows: number }> }>(ws, 'privacy', 'export', ALPHA, '--out', out);
    expect(summary.out).toBe(out);
    expect(summary.tables.events!.rows).toBe(9);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const written = JSON.parse(await readFile(out, 'utf8')) as UserExport;
    expect({ ...written, exportedAt: '' }).toEqual({ ...doc, exportedAt: '' });
    const audits = await withStore((store) => readAuditLog(store, { action: 'privacy.export' }));
    expect(audits.length).toBe(2);
    expect(audits.every((a) => a.target === `user:${suppressionHash(ALPHA)}`)).toBe(true);
  });

  it('refuses an unknown user with USER_NOT_FOUND', async () => {
    const r = await run('privacy', 'export', 'nobody');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no user "nobody"');
  });
});

describe('strata privacy forget', () => {
  let indexBefore: Awaited<ReturnType<typeof populationIndex>>;
  let sizesBefore: unknown[];
  let result: ForgetResult;

  beforeAll(async () => {
    indexBefore = await withStore((store) => populationIndex(store));
    sizesBefore = await withStore((store) => store.query('SELECT snapshot_id, size, population FROM snapshots ORDER BY snapshot_id'));
  });

  it('--dry-run counts what would go and changes nothing', async () => {
    const linesBefore = await rejectsLines();
    const dry = await cliJson<ForgetResult>(ws, 'privacy', 'forget', ALPHA, '--dry-run');
    expect(dry.dryRun).toBe(true);
    expect(dry.users).toEqual([
      { userId: ALPHA, userHash: suppressionHash(ALPHA), status: 'forgotten', rows: { events: 9, users: 1, profiles: 1, snapshot_members: 1, model_scores: 2 }, rejectsLines: 1, auditSeq: null },
    ]);
    expect(await rejectsLines()).toEqual(linesBefore);
    expect(await withStore((store) => physicalRows(store, 'events', ALPHA))).toBe(9);
    expect(await withStore((store) => store.query('SELECT * FROM suppressions'))).toEqual([]);
    const human = await run('privacy', 'forget', ALPHA, '--dry-run');
    expect(human.stdout).toContain('dry run: nothing was changed');
    expect(human.stdout).toMatch(/would remove: events 9, users 1, profiles 1, snapshot_members 1, model_scores 2; rejects lines 1 in 1 file/);
  });

  it('erases the user from every live user-keyed table and the rejects files, reporting unknown ids', async () => {
    result = await cliJson<ForgetResult>(ws, 'privacy', 'forget', ALPHA, 'nobody', '--actor', 'dpo');
    expect(result.users.map((u) => [u.userId, u.status, u.rejectsLines])).toEqual([
      [ALPHA, 'forgotten', 1],
      ['nobody', 'unknown', 0],
    ]);
    expect(result.totals).toEqual({ events: 9, users: 1, profiles: 1, snapshot_members: 1, model_scores: 2 });
    expect(result.unlistedTables).toEqual([]);
    await withStore(async (store) => {
      for (const table of await liveUserKeyedTables(store)) expect(await physicalRows(store, table, ALPHA), table).toBe(0);
    });
    const lines = await rejectsLines();
    expect(lines.some((l) => l.includes(ALPHA))).toBe(false);
    // bravo's rejected row stays.
    expect(lines.filter((l) => l.includes(BRAVO)).length).toBe(1);
  });

  it('records a suppression by hash and an audit record that never names the user', async () => {
    const alpha = result.users[0]!;
    await withStore(async (store) => {
      const rows = await store.query(`SELECT user_hash, audit_seq FROM suppressions ORDER BY user_hash`);
      // The unknown id gets no suppression: a typo must not block a future user.
      expect(rows).toEqual([{ user_hash: suppressionHash(ALPHA), audit_seq: BigInt(alpha.auditSeq!) }]);
      const forgets = await readAuditLog(store, { action: 'privacy.forget' });
      expect(forgets.map((a) => [a.seq, a.actor, a.target, a.detail])).toEqual([
        [alpha.auditSeq, 'dpo', `user:${suppressionHash(ALPHA)}`, { rows: { events: 9, users: 1, profiles: 1, snapshot_members: 1, model_scores: 2 }, rejectsLines: 1 }],
      ]);
      const everything = JSON.stringify(await readAuditLog(store));
      expect(everything).not.toContain(ALPHA);
      expect(everything).not.toContain('alpha@');
    });
  });

  it('leaves other users and the stored snapshot sizes alone; the user is out of the population and of a recomputed segment', async () => {
    const after = await withStore((store) => populationIndex(store));
    const { [ALPHA]: gone, ...others } = indexBefore;
    expect(gone).toBeDefined();
    expect(after).toEqual(others);
    expect(Object.keys(after).sort()).toEqual([BRAVO, CHARLIE, DELTA, ECHO]);
    expect(await withStore((store) => store.query('SELECT snapshot_id, size, population FROM snapshots ORDER BY snapshot_id'))).toEqual(sizesBefore);
    const computed = await cliJson<{ key: string; size: number; population: number }[]>(ws, 'segment', 'compute', 'buyers', '--as-of', '2025-06-01');
    // bravo alone bought; the population as of 06-01: bravo, charlie, echo (events) and delta (profile).
    expect(computed.map((c) => [c.key, c.size, c.population])).toEqual([['buyers', 1, 4]]);
    const members = await cliJson<{ members: string[] }>(ws, 'segment', 'members', 'buyers', '--as-of', '2025-06-01');
    expect(JSON.stringify(members)).not.toContain(ALPHA);
    expect(JSON.stringify(members)).toContain(BRAVO);
  });

  it('exports a forgotten user as suppressed with nothing held', async () => {
    const doc = await cliJson<UserExport>(ws, 'privacy', 'export', ALPHA);
    expect(doc.suppression?.forgottenAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(doc.suppression?.auditSeq).toBe(result.users[0]!.auditSeq);
    expect(Object.values(doc.tables).every((t) => t.rows === 0)).toBe(true);
    expect([doc.events, doc.segments, doc.scores, doc.profile, doc.user]).toEqual([[], [], [], null, null]);
  });

  it('reports a second request as already-forgotten without a new record', async () => {
    const idsFile = path.join(root, 'requests.txt');
    await writeFile(idsFile, `${ALPHA}\n\n${ALPHA}\r\n`);
    // --ids-file: one id a line, blank lines skipped, repeats counted once.
    const again = await cliJson<ForgetResult>(ws, 'privacy', 'forget', '--ids-file', idsFile);
    expect(again.users.map((u) => [u.userId, u.status, u.auditSeq])).toEqual([[ALPHA, 'already-forgotten', null]]);
    await withStore(async (store) => {
      expect((await readAuditLog(store, { action: 'privacy.forget' })).length).toBe(1);
      expect((await store.query('SELECT count(*) AS n FROM suppressions'))[0]!.n).toBe(1n);
    });
  });

  it('refuses the user’s re-ingested rows (the suppression list at ingest)', async () => {
    const again = await cliJson<{ stored: number; privacy?: { suppressed: number } }>(ws, 'ingest', 'events', path.join(root, 'events.jsonl'));
    // Every row is a duplicate or suppressed: the other users' rows are stored already; alpha's
    // 9 valid rows (and perhaps the rejected refund) are refused, counted, and written nowhere.
    expect(again.stored).toBe(0);
    expect(again.privacy?.suppressed).toBeGreaterThanOrEqual(9);
    expect((await rejectsLines()).some((l) => l.includes(ALPHA))).toBe(false);
    await withStore(async (store) => {
      for (const table of await liveUserKeyedTables(store)) expect(await physicalRows(store, table, ALPHA), table).toBe(0);
    });
  });
});
