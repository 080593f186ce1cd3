/**
 * `strata privacy enforce` end to end on a DuckDB file workspace, and `enforceRetention`
 * through the library on in-memory stores (test/support/privacy-erasure-fixtures.ts).
 *
 * Worked out as of 2025-06-01T09:00Z with page_viewed kept 90 days (cutoff 03-03T09:00),
 * snapshots and scores kept 30 days (cutoff 05-02T09:00):
 * - page_viewed deleted: alpha 01-06 and 03-01, bravo 01-04, charlie 02-01, echo
 *   2024-10-01 = 5; kept: alpha 05-01, charlie 05-10. Nothing else has a retention, so
 *   `$consent` (and signup, purchase, `$exposure`) stay.
 * - users: charlie's first event moves from 02-01 to 05-10; echo (no event left, no
 *   profile) is removed; alpha (signup 01-05), bravo (signup 01-03), delta (profile only)
 *   are unchanged.
 * - the 03-01 snapshot of buyers loses its 1 member (bravo); its row and size stay.
 * - the 03-01 scoring run (3 rows) goes with its run row; the 05-20 run stays.
 * Oracle for the population index: min(ts) of each user's remaining events, in SQL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, openStore, type Config } from '../src/config/index.js';
import { readAuditLog } from '../src/governance/audit-log.js';
import { ingestFiles } from '../src/ingest/index.js';
import { DEFAULT_PRIVACY_CONFIG } from '../src/privacy/privacy-config.js';
import { enforceRetention, type EnforceResult } from '../src/privacy/retention/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import type { EventStore } from '../src/store/event-store.js';
import { cli, cliJson } from './cli-helpers.js';
import { ALPHA, BRAVO, CHARLIE, DELTA, atMs, buildFixtureWorkspace, erasurePlan, populationIndex } from './support/privacy-erasure-fixtures.js';

const AS_OF = '2025-06-01T09:00:00Z';
const EXPECTED_TABLES = { events: 5, users: 1, snapshot_members: 1, model_scores: 3, score_runs: 1 };

let root = '';
let ws = '';
let files: { events: string; profiles: string };
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

/** first_event_at per user against min(ts) of the user's stored events (null without events). */
async function indexAgreesWithEvents(store: EventStore): Promise<void> {
  const d = store.dialect;
  const rows = await store.query(
    `SELECT u.user_id, ${d.epochMs('u.first_event_at')} AS f, ${d.epochMs('(SELECT min(ts) FROM events e WHERE e.user_id = u.user_id)')} AS m FROM users u ORDER BY u.user_id`,
  );
  for (const r of rows) expect(r.f, String(r.user_id)).toEqual(r.m);
}

async function eventCounts(store: EventStore): Promise<Record<string, number>> {
  const rows = await store.query('SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY event');
  return Object.fromEntries(rows.map((r) => [String(r.event), Number(r.n)]));
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-retention-enforce-'));
  ws = path.join(root, 'ws');
  files = await buildFixtureWorkspace(root, ws, run, {
    retention: { page_viewed: 90 },
    extraYaml: '\nprivacy:\n  retention:\n    snapshots_days: 30\n    scores_days: 30\n',
  });
}, 60_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('strata privacy enforce', () => {
  let before: Record<string, number>;

  it('--dry-run reports the counts and changes nothing', async () => {
    before = await withStore((store) => eventCounts(store));
    const dry = await cliJson<EnforceResult>(ws, 'privacy', 'enforce', '--as-of', AS_OF, '--dry-run');
    expect(dry).toMatchObject({ dryRun: true, auditSeq: null, tables: EXPECTED_TABLES, users: { updated: 1, removed: 1 } });
    expect(await withStore((store) => eventCounts(store))).toEqual(before);
    expect(await withStore(async (store) => Object.keys(await populationIndex(store)).length)).toBe(5);
  });

  it('deletes expired events per type, snapshot members and scoring runs, and reports them', async () => {
    const r = await cliJson<EnforceResult>(ws, 'privacy', 'enforce', '--as-of', AS_OF);
    expect(r.asOf).toBe('2025-06-01T09:00:00.000Z');
    expect(r.events).toEqual([{ event: 'page_viewed', retentionDays: 90, cutoff: '2025-03-03T09:00:00.000Z', rows: 5 }]);
    expect(r.snapshots).toEqual({ retentionDays: 30, cutoff: '2025-05-02T09:00:00.000Z', snapshots: 1, members: 1 });
    expect(r.scores).toEqual({ retentionDays: 30, cutoff: '2025-05-02T09:00:00.000Z', runs: 1, rows: 3 });
    expect(r.users).toEqual({ updated: 1, removed: 1 });
    expect(r.tables).toEqual(EXPECTED_TABLES);
    await withStore(async (store) => {
      expect(await eventCounts(store)).toEqual({ ...before, page_viewed: before.page_viewed! - 5 });
      // Consent records are proof: kept whatever their age, since the plan gives $consent no retention.
      expect(before.$consent).toBe(3);
      const snaps = await store.query(`SELECT ${store.dialect.epochMs('as_of')} AS a, size, (SELECT count(*) FROM snapshot_members m WHERE m.snapshot_id = s.snapshot_id) AS members FROM snapshots s ORDER BY a`);
      expect(snaps.map((s) => [Number(s.a), Number(s.size), Number(s.members)])).toEqual([
        [atMs(3, 1), 1, 0],
        [atMs(5, 25), 2, 2],
      ]);
      const runs = await store.query(`SELECT run_id, (SELECT count(*) FROM model_scores m WHERE m.run_id = r.run_id) AS n FROM score_runs r`);
      expect(runs.map((x) => [Number(x.run_id), Number(x.n)])).toEqual([[2, 2]]);
      expect(await store.query('SELECT count(*) AS n FROM model_scores WHERE run_id = 1')).toEqual([{ n: 0n }]);
      const audit = await readAuditLog(store, { action: 'privacy.enforce' });
      expect(audit.map((a) => [a.seq, a.target])).toEqual([[r.auditSeq, 'retention']]);
      expect(audit[0]!.detail).toMatchObject({ tables: EXPECTED_TABLES, users: { updated: 1, removed: 1 } });
    });
  });

  it('keeps users.first_event_at right and removes users left with nothing', async () => {
    await withStore(async (store) => {
      await indexAgreesWithEvents(store);
      expect(await populationIndex(store)).toEqual({
        [ALPHA]: { first: atMs(1, 5), profile: true },
        [BRAVO]: { first: atMs(1, 3), profile: true },
        [CHARLIE]: { first: atMs(5, 10), profile: false },
        [DELTA]: { first: null, profile: true },
      });
    });
  });

  it('finds nothing more to do at the same instant, and prints a readable report', async () => {
    const again = await cliJson<EnforceResult>(ws, 'privacy', 'enforce', '--as-of', AS_OF);
    expect(again.tables).toEqual({ events: 0, users: 0, snapshot_members: 0, model_scores: 0, score_runs: 0 });
    const human = await run('privacy', 'enforce', '--as-of', AS_OF, '--dry-run');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('retention as of 2025-06-01T09:00:00.000Z (dry run: nothing was changed)');
    expect(human.stdout).toMatch(/page_viewed\s+90\s+2025-03-03T09:00:00\.000Z\s+0/);
  });

  it('rejects an unreadable --as-of', async () => {
    const r = await run('privacy', 'enforce', '--as-of', 'someday');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--as-of');
  });
});

describe('enforceRetention (library)', () => {
  async function freshStore(plan = erasurePlan()): Promise<DuckDbStore> {
    const store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    await store.applyPlan(plan);
    await ingestFiles(store, { kind: 'events', files: [files.events], plan, rejectsPath: path.join(root, 'lib-events.jsonl') });
    await ingestFiles(store, { kind: 'profiles', files: [files.profiles], plan, rejectsPath: path.join(root, 'lib-profiles.jsonl') });
    return store;
  }

  it('deletes $consent events only when the plan gives $consent a retention', async () => {
    // No $consent retention: even with every page view expired long ago, consent records stay.
    const keep = await freshStore();
    try {
      const r = await enforceRetention(keep, { plan: erasurePlan({ page_viewed: 1 }), retention: DEFAULT_PRIVACY_CONFIG.retention, asOfMs: Date.UTC(2030, 0, 1), actor: 'test' });
      expect(r.events.map((e) => [e.event, e.rows])).toEqual([['page_viewed', 7]]);
      expect([r.snapshots, r.scores]).toEqual([null, null]);
      expect((await eventCounts(keep)).$consent).toBe(3);
      // Echo and charlie had page views only: both removed; nobody else moves.
      expect(r.users).toEqual({ updated: 0, removed: 2 });
      await indexAgreesWithEvents(keep);
    } finally {
      await keep.close();
    }
    // $consent kept 100 days: as of 06-01T09:00 the cutoff is 02-21T09:00, so alpha's 01-05 and 02-01 records go, 04-01 stays.
    const expire = await freshStore();
    try {
      const plan = erasurePlan({ $consent: 100 });
      const r = await enforceRetention(expire, { plan, retention: DEFAULT_PRIVACY_CONFIG.retention, asOfMs: Date.parse(AS_OF), actor: 'test' });
      expect(r.events).toEqual([{ event: '$consent', retentionDays: 100, cutoff: '2025-02-21T09:00:00.000Z', rows: 2 }]);
      expect((await eventCounts(expire)).$consent).toBe(1);
      // alpha's signup is at the same instant as the first consent record: first_event_at stays.
      expect(r.users).toEqual({ updated: 0, removed: 0 });
      await indexAgreesWithEvents(expire);
    } finally {
      await expire.close();
    }
  });

  it('counts alike in a dry run and for real on the same data', async () => {
    const a = await freshStore();
    const b = await freshStore();
    try {
      const options = { plan: erasurePlan({ page_viewed: 90, signup: 120 }), retention: DEFAULT_PRIVACY_CONFIG.retention, asOfMs: Date.parse(AS_OF), actor: 'test' };
      const dry = await enforceRetention(a, { ...options, dryRun: true });
      const real = await enforceRetention(b, options);
      expect({ ...dry, dryRun: false, auditSeq: null }).toEqual({ ...real, auditSeq: null });
      // signup kept 120 days (cutoff 02-01T09:00): alpha's 01-05 and bravo's 01-03 signups go too, so
      // alpha's first event becomes the 01-05 consent record (same instant: unchanged) and bravo's the 01-08 exposure.
      expect(real.events.map((e) => [e.event, e.rows])).toEqual([['page_viewed', 5], ['signup', 2]]);
      expect(real.users).toEqual({ updated: 2, removed: 1 });
      expect((await populationIndex(b))[BRAVO]).toEqual({ first: atMs(1, 8), profile: true });
      await indexAgreesWithEvents(b);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
