/**
 * `strata segment backfill` and `strata segment history` through the CLI on the demo
 * product (src/demo, seeded), and `strata segment compute --every` in the foreground.
 *
 * Oracle for the history numbers: the member lists of every stored snapshot, read row by
 * row from snapshot_members in the test, with entered, left and the Jaccard index computed
 * here with JavaScript sets; the week-ago snapshot is chosen here by the documented rule
 * (the latest snapshot at or before asOf - 7 days) from the list of stored instants.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, openStore } from '../src/config/index.js';
import type { BackfillResult, ComputeResult, HistoryPoint, SegmentHistory } from '../src/segments/registry/index.js';
import { MS } from '../src/time/time.js';
import { cli, cliJson } from './cli-helpers.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';

interface BackfillOutput {
  readonly backfill: BackfillResult;
  readonly histories: SegmentHistory[];
}

const WEEK = 7 * MS.d;
let root = '';
let ws = '';

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-history-test-'));
  const demo = await cli(root, 'demo', '--users', '300', '--seed', '5', '--dir', 'ws', '--json');
  if (demo.code !== 0) throw new Error(`strata demo failed: ${demo.stderr}`);
  ws = path.join(root, 'ws');
}, 120_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** Member ids of each snapshot, read from the store directly. */
async function memberSets(ids: readonly number[]): Promise<Map<number, Set<string>>> {
  const config = await loadConfig({ cwd: ws, env: {} });
  const store = await openStore(config);
  try {
    const out = new Map<number, Set<string>>(ids.map((id) => [id, new Set<string>()]));
    const rows = await store.query(`SELECT snapshot_id, user_id FROM snapshot_members WHERE snapshot_id IN (${ids.join(', ')})`);
    for (const r of rows) out.get(Number(r.snapshot_id))!.add(String(r.user_id));
    return out;
  } finally {
    await store.close();
  }
}

function intersect(a: Set<string>, b: Set<string>): number {
  let n = 0;
  for (const x of a) if (b.has(x)) n++;
  return n;
}

/** Check every point of a history against the member lists (all of the segment's listed and earlier snapshots). */
async function expectHistoryMatchesSets(h: SegmentHistory, all: readonly HistoryPoint[]): Promise<void> {
  const sets = await memberSets(all.map((p) => p.snapshotId));
  const at = (asOf: string) => all.find((p) => p.asOf === asOf)!;
  for (const p of h.points) {
    const mine = sets.get(p.snapshotId)!;
    expect(p.size, `${h.key} ${p.asOf} size`).toBe(mine.size);
    const index = all.findIndex((q) => q.snapshotId === p.snapshotId);
    const prev = index > 0 ? all[index - 1]! : null;
    expect(p.previousAsOf).toBe(prev?.asOf ?? null);
    if (prev) {
      const before = sets.get(prev.snapshotId)!;
      expect(p.entered, `${h.key} ${p.asOf} entered`).toBe([...mine].filter((u) => !before.has(u)).length);
      expect(p.left, `${h.key} ${p.asOf} left`).toBe([...before].filter((u) => !mine.has(u)).length);
    } else {
      expect(p.entered).toBeNull();
      expect(p.left).toBeNull();
    }
    // The rule, independently: the latest stored instant at or before asOf - 7d.
    const target = Date.parse(p.asOf) - WEEK;
    const candidates = all.filter((q) => Date.parse(q.asOf) <= target);
    const ref = candidates.length > 0 ? candidates[candidates.length - 1]! : null;
    expect(p.weekAgoAsOf, `${h.key} ${p.asOf} week-ago snapshot`).toBe(ref?.asOf ?? null);
    if (ref) {
      const other = sets.get(at(ref.asOf).snapshotId)!;
      const common = intersect(mine, other);
      const union = mine.size + other.size - common;
      expect(p.weeklyJaccard, `${h.key} ${p.asOf} Jaccard`).toBe(union === 0 ? null : common / union);
    } else expect(p.weeklyJaccard).toBeNull();
  }
  const jaccards = h.points.map((p) => p.weeklyJaccard).filter((j): j is number => j !== null);
  expect(h.summary.meanWeeklyJaccard).toBeCloseTo(jaccards.reduce((a, b) => a + b, 0) / jaccards.length, 12);
}

describe.sequential('segment backfill and history', () => {
  it('backfills weekly and every 3 days, and the history matches the member lists', async () => {
    const weekly = await cliJson<BackfillOutput>(ws, 'segment', 'backfill', 'power-users', '--from', '2025-03-03', '--to', '2025-05-26', '--step', '1w');
    expect(weekly.backfill.instants).toHaveLength(13);
    expect(weekly.backfill.instants[12]).toBe('2025-05-26T00:00:00.000Z');
    expect(weekly.backfill).toMatchObject({ computed: 13, kept: 0, keys: ['power-users'] });
    // 3 days apart: no snapshot lies exactly 7 days back, so the week-ago one is the latest before that (9 days back).
    const threeDays = await cliJson<BackfillOutput>(ws, 'segment', 'backfill', 'gone-quiet', 'stalled-onboarding', '--from', '2025-03-01', '--to', '2025-05-01', '--step', '3d');
    expect(threeDays.backfill.instants).toHaveLength(21); // Mar 1 + 20 * 3d = Apr 30; May 1 is not on the grid
    expect(threeDays.backfill.to).toBe('2025-05-01T00:00:00.000Z');
    expect(threeDays.backfill.snapshots).toHaveLength(42);

    for (const h of [...weekly.histories, ...threeDays.histories]) {
      // The demo's own snapshot (as of its end) is outside the backfilled range and not listed.
      const all = (await cliJson<SegmentHistory>(ws, 'segment', 'history', h.key)).points;
      expect(h.points.length).toBe(h.key === 'power-users' ? 13 : 21);
      await expectHistoryMatchesSets(h, all);
      // Not trivial: members come and go, and some weeks are compared.
      expect(h.points.some((p) => (p.entered ?? 0) > 0)).toBe(true);
      expect(h.points.some((p) => (p.left ?? 0) > 0)).toBe(true);
      expect(h.summary.weeklyComparisons).toBeGreaterThan(5);
    }
    const gone = threeDays.histories.find((h) => h.key === 'gone-quiet')!;
    expect(gone.points[3]!.weekAgoAsOf).toBe('2025-03-01T00:00:00.000Z'); // Mar 10 - 7d = Mar 3; latest at or before: Mar 1
  });

  it('lists a window, with snapshots before it as the references of the first ones', async () => {
    const all = (await cliJson<SegmentHistory>(ws, 'segment', 'history', 'power-users')).points;
    const h = await cliJson<SegmentHistory>(ws, 'segment', 'history', 'power-users', '--from', '2025-04-01', '--to', '2025-05-01');
    expect(h.points.map((p) => p.asOf)).toEqual(['2025-04-07', '2025-04-14', '2025-04-21', '2025-04-28'].map((d) => `${d}T00:00:00.000Z`));
    expect(h.points[0]!.previousAsOf).toBe('2025-03-31T00:00:00.000Z');
    expect(h.points[0]!.weekAgoAsOf).toBe('2025-03-31T00:00:00.000Z');
    await expectHistoryMatchesSets(h, all);
    const text = await cli(ws, 'segment', 'history', 'power-users', '--from', '2025-04-01', '--to', '2025-05-01');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('power-users (v1): 4 snapshots between 2025-04-01 and 2025-05-01');
    expect(text.stdout).toMatch(/mean week-over-week Jaccard \d\.\d\d over 4 comparisons/);
  });

  it('keeps existing snapshots on a second backfill, and replaces them with --force', async () => {
    const first = (await cliJson<SegmentHistory>(ws, 'segment', 'history', 'power-users')).points;
    const again = await cliJson<BackfillOutput>(ws, 'segment', 'backfill', 'power-users', '--from', '2025-03-03', '--to', '2025-06-09', '--step', '1w');
    // 13 backfilled instants and the demo's own snapshot (Jun 2) were there; Jun 9 is new.
    expect(first.map((p) => p.asOf).at(-1)).toBe('2025-06-02T00:00:00.000Z');
    expect(again.backfill).toMatchObject({ computed: 1, kept: 14 });
    const kept = again.backfill.snapshots.filter((s) => s.status === 'kept');
    expect(kept.map((s) => s.snapshotId)).toEqual(first.map((p) => p.snapshotId));

    const forced = await cliJson<BackfillOutput>(ws, 'segment', 'backfill', 'power-users', '--from', '2025-03-03', '--to', '2025-06-09', '--step', '1w', '--force');
    expect(forced.backfill).toMatchObject({ computed: 15, kept: 0 });
    const before = new Map(again.backfill.snapshots.map((s) => [s.asOf, s]));
    for (const s of forced.backfill.snapshots) {
      expect(s.snapshotId).toBeGreaterThan(before.get(s.asOf)!.snapshotId);
      expect(s.size).toBe(before.get(s.asOf)!.size);
    }
    // Replaced, not added: one snapshot per instant.
    const after = (await cliJson<SegmentHistory>(ws, 'segment', 'history', 'power-users')).points;
    expect(after.map((p) => p.asOf)).toEqual([...new Set(after.map((p) => p.asOf))]);
    expect(after.filter((p) => p.asOf >= '2025-03-03' && p.asOf < '2025-06-10').map((p) => p.snapshotId)).toEqual(forced.backfill.snapshots.map((s) => s.snapshotId));
    await expectHistoryMatchesSets(forced.histories[0]!, after);
  });

  it('marks version changes with --all-versions and lists only the current version by default', async () => {
    const file = path.join(ws, 'power-users-v2.yaml');
    await writeFile(
      file,
      [
        'key: power-users',
        'name: Power users',
        'objective: engagement',
        'rationale: Version 2 for the history test, a looser bar than version 1.',
        'owner: growth',
        'match:',
        '  activeDays: {gte: 5}',
        '  within: 28d',
      ].join('\n'),
    );
    const added = await cliJson<{ version: number; status: string }[]>(ws, 'segment', 'add', file);
    expect(added[0]).toMatchObject({ version: 2, status: 'updated' });
    await cliJson<BackfillOutput>(ws, 'segment', 'backfill', 'power-users', '--from', '2025-05-19', '--to', '2025-06-09', '--step', '1w');

    const current = await cliJson<SegmentHistory>(ws, 'segment', 'history', 'power-users');
    expect(current.version).toBe(2);
    expect(current.points.map((p) => [p.asOf.slice(0, 10), p.version])).toEqual([
      ['2025-05-19', 2],
      ['2025-05-26', 2],
      ['2025-06-02', 2],
      ['2025-06-09', 2],
    ]);
    expect(current.points[0]!.previousAsOf).toBeNull();

    // Every version: at each instant the highest version computed for it, so v1 up to May 12, v2 from May 19.
    const every = await cliJson<SegmentHistory>(ws, 'segment', 'history', 'power-users', '--all-versions', '--from', '2025-05-05');
    expect(every.points.map((p) => [p.asOf.slice(0, 10), p.version, p.versionChanged])).toEqual([
      ['2025-05-05', 1, false],
      ['2025-05-12', 1, false],
      ['2025-05-19', 2, true],
      ['2025-05-26', 2, false],
      ['2025-06-02', 2, false],
      ['2025-06-09', 2, false],
    ]);
    const all = (await cliJson<SegmentHistory>(ws, 'segment', 'history', 'power-users', '--all-versions')).points;
    await expectHistoryMatchesSets(every, all);
    const text = await cli(ws, 'segment', 'history', 'power-users', '--all-versions', '--from', '2025-05-05');
    expect(text.stdout).toContain('* the version changed since the snapshot before');
  });

  it('refuses a bad step, a reversed range and too many instants', async () => {
    const cases: [string[], RegExp][] = [
      [['--from', '2025-03-01', '--to', '2025-04-01', '--step', '0d'], /--step: expected a positive duration/],
      [['--from', '2025-04-01', '--to', '2025-03-01', '--step', '1d'], /--from \(2025-04-01\) is after --to/],
      [['--from', '2025-03-01', '--to', '2025-04-01', '--step', '1x'], /--step: expected a duration/],
      [['--from', '2024-01-01', '--to', '2025-04-01', '--step', '1h'], /more than the limit of 1000/],
      [['--from', '2025-03-01', '--to', '2025-04-01', '--step', '1d', '--max-steps', '10'], /32 instants .* more than the limit of 10/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(ws, 'segment', 'backfill', 'gone-quiet', ...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    const unknown = await cli(ws, 'segment', 'history', 'power-user');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/power-users/);
    const none = await cli(ws, 'segment', 'history', 'daily-habit', '--from', '2020-01-01', '--to', '2020-02-01');
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('no snapshots');
  });
});

describe.sequential('segment compute --every', () => {
  it('refreshes on whole seconds, as of each tick, one JSON line per refresh, and stops after --count', async () => {
    const run = await cli(ws, 'segment', 'compute', 'power-users', 'gone-quiet', '--every', '1s', '--count', '2', '--json');
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; asOf: string; results?: ComputeResult[]; reason?: string });
    const refreshes = lines.filter((l) => l.type === 'refresh');
    expect(refreshes).toHaveLength(2);
    expect(lines.every((l) => l.type === 'refresh' || (l.type === 'skipped' && l.reason === 'busy'))).toBe(true);
    const ticks = refreshes.map((r) => Date.parse(r.asOf));
    for (const t of ticks) expect(t % 1000).toBe(0);
    expect(ticks[1]! - ticks[0]!).toBeGreaterThanOrEqual(1000);
    for (const r of refreshes) {
      expect(r.results!.map((c) => c.key)).toEqual(['power-users', 'gone-quiet']);
      expect(r.results!.every((c) => c.asOf === r.asOf)).toBe(true);
    }
    // The snapshots are stored as of the ticks.
    const h = await cliJson<SegmentHistory>(ws, 'segment', 'history', 'gone-quiet', '--from', refreshes[0]!.asOf);
    expect(h.points.map((p) => p.asOf)).toEqual(refreshes.map((r) => r.asOf));
  });

  it('prints one line per refresh for people, and refuses --as-of and options without --every', async () => {
    const run = await cli(ws, 'segment', 'compute', 'gone-quiet', '--every', '1s', '--count', '1', '--catch-up');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^as of \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z: 1 segment in \d+ms, population 300: gone-quiet \d+ \(\d+\.\d%\)\n$/);
    expect(run.stderr).toMatch(/Refreshing gone-quiet every 1s/);

    for (const args of [
      ['--every', '1h', '--as-of', '2025-06-01'],
      ['--count', '2'],
      ['--catch-up'],
      ['--every', '0s'],
      ['--every', '1h', '--count', '0'],
    ]) {
      const bad = await cli(ws, 'segment', 'compute', ...args);
      expect(bad.code, args.join(' ')).toBe(2);
    }
    const unknown = await cli(ws, 'segment', 'compute', 'nope', '--every', '1h');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/nope/);
  });

  it('stops after SIGINT in a real process, exit status 0', async () => {
    const main = path.resolve(import.meta.dirname, '../src/cli/main.ts');
    // tsx's loader by path: the workspace folder has no node_modules to resolve it from.
    const tsx = pathToFileURL(path.resolve(import.meta.dirname, '../node_modules/tsx/dist/loader.mjs')).href;
    const child = spawn(process.execPath, ['--import', tsx, main, 'segment', 'compute', 'gone-quiet', '--every', '1s', '--json'], {
      cwd: ws,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!stdout.includes('"type":"refresh"')) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`no refresh within 30s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGINT');
    const code = await exited;
    expect(code, stderr).toBe(0);
    const refreshes = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(refreshes.filter((r) => r.type === 'refresh').length).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
