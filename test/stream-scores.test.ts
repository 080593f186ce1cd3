/**
 * `score`, `percentile` and `cluster` conditions in the streaming evaluator. Oracles: the
 * members and change instants below are worked out by hand from the rule (a user's value
 * is their row in the model's run with the latest as_of <= asOf, ties to the larger run
 * id; no run or no row: missing); each scenario is also fed through the stream harness,
 * which holds membership to the in-memory evaluator after every step. Also: state bounds
 * (superseded runs dropped), seeding from a DuckDB store's scoring runs, and restarts from
 * a state file holding scores (the oracle there: the run that never stopped).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { initWorkspace, openStore } from '../src/config/index.js';
import { percentileRanks, saveModelVersion, writeScoreRun } from '../src/models/registry/model-store.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import type { MemoryEvent, MemoryScoreRun, MemoryScoreValues } from '../src/segments/evaluate/index.js';
import type { SegmentIR } from '../src/segments/ir/nodes.js';
import { buildSegmentIR, validateSegment } from '../src/segments/language/index.js';
import {
  createStreamEvaluator,
  readStreamState,
  seedStreamScores,
  StreamEvaluator,
  writeStreamState,
  type MembershipChange,
  type StreamEvaluatorOptions,
  type StreamScoreBlock,
} from '../src/segments/stream/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { MS } from '../src/time/time.js';
import { feed, sortedMembers, type FeedKind } from './support/stream-harness.js';

const PLAN = parsePlan({ events: { visit: {} }, traits: { plan: 'string' } });
const MODELS = new Map([
  ['churn-risk', 'churn' as const],
  ['personas', 'personas' as const],
]);
const D = (day: number) => Date.UTC(2024, 4, day);
const iso = (ms: number) => new Date(ms).toISOString();

function segment(key: string, match: unknown): SegmentIR {
  const def = validateSegment({ key, name: key, objective: 'other', rationale: 'test', owner: 'growth', match }, PLAN, { models: MODELS });
  return buildSegmentIR(def, PLAN, () => undefined, { models: MODELS });
}

const SEGMENTS = [
  segment('at-risk', { score: 'churn-risk', gte: 0.7 }),
  segment('top-decile', { score: 'churn-risk', percentile: { gt: 90 } }),
  segment('no-churn-score', { score: 'churn-risk', exists: false }),
  segment('persona-2', { cluster: 'personas', eq: 2 }),
  segment('active-persona-1-or-3', { all: [{ did: 'visit', within: '3d' }, { cluster: 'personas', in: [1, 3] }] }),
];

/** A score run with percentiles as the store computes them (percentileRanks). */
function scoreRun(model: string, runId: number, asOfMs: number, scores: Record<string, number>): MemoryScoreRun {
  const users = Object.keys(scores);
  const pct = percentileRanks(Float64Array.from(users.map((u) => scores[u]!)));
  return { model, runId, asOfMs, rows: new Map(users.map((u, i) => [u, { score: scores[u]!, percentile: pct[i]!, cluster: null }])) };
}

function clusterRun(model: string, runId: number, asOfMs: number, clusters: Record<string, number>): MemoryScoreRun {
  return { model, runId, asOfMs, rows: new Map(Object.entries(clusters).map(([u, c]) => [u, { score: null, percentile: null, cluster: c }])) };
}

function block(r: MemoryScoreRun, only?: readonly string[]): StreamScoreBlock {
  const rows = [...r.rows].filter(([u]) => only === undefined || only.includes(u)).map(([userId, v]: [string, MemoryScoreValues]) => ({ userId, ...v }));
  return { model: r.model, runId: r.runId, asOfMs: r.asOfMs, rows };
}

const visit = (userId: string, ts: number): MemoryEvent => ({ userId, event: 'visit', ts, properties: {} });

function evaluator(changes: MembershipChange[], clock: 'event' | 'manual', extra: Partial<StreamEvaluatorOptions> = {}): StreamEvaluator {
  return createStreamEvaluator({ segments: SEGMENTS, clock, latenessMs: 0, onChange: (c) => changes.push(c), ...extra });
}

const summary = (changes: readonly MembershipChange[], segmentKey: string) => changes.filter((c) => c.segment === segmentKey).map((c) => `${c.type} ${c.user} ${iso(c.at)}`);

// Run 1 as of May 2: u1 0.8, u2 0.5, u3 0.1. Runs 2 and 3 both as of May 5 (run 3 wins the tie):
// run 2 u1 0.9; run 3 u2 0.3, u3 0.95 (u1 absent, so it loses its score).
const RUN1 = scoreRun('churn-risk', 1, D(2), { u1: 0.8, u2: 0.5, u3: 0.1 });
const RUN2 = scoreRun('churn-risk', 2, D(5), { u1: 0.9, u2: 0.2 });
const RUN3 = scoreRun('churn-risk', 3, D(5), { u2: 0.3, u3: 0.95 });
const P1 = clusterRun('personas', 4, D(3), { u1: 2, u2: 1, u4: 2 });
const EVENTS = [visit('u1', D(1)), visit('u2', D(1)), visit('u3', D(1)), visit('u2', D(4))];

describe('stream scores: hand-worked', () => {
  it('runs ahead of a manual clock take effect at their as_of, a tie goes to the larger run id, and a run replaces the previous one as a whole', () => {
    const changes: MembershipChange[] = [];
    const ev = evaluator(changes, 'manual');
    for (const e of EVENTS) ev.push(e);
    expect([RUN1, RUN2, RUN3, P1].map((r) => ev.pushScores(block(r)))).toEqual(['pending', 'pending', 'pending', 'pending']);
    ev.tick(D(6));
    const start = D(1); // the clock starts at the first event + 1 ms: "at" is the event's instant
    expect(summary(changes, 'no-churn-score')).toEqual([
      `entered u1 ${iso(start)}`,
      `entered u2 ${iso(start)}`,
      `entered u3 ${iso(start)}`,
      `left u1 ${iso(D(2) - 1)}`,
      `left u2 ${iso(D(2) - 1)}`,
      `left u3 ${iso(D(2) - 1)}`,
      `entered u1 ${iso(D(5) - 1)}`,
    ]);
    expect(summary(changes, 'at-risk')).toEqual([`entered u1 ${iso(D(2) - 1)}`, `left u1 ${iso(D(5) - 1)}`, `entered u3 ${iso(D(5) - 1)}`]);
    // Run 1's percentiles: u1 100, u2 66.7, u3 33.3; run 3's: u2 50, u3 100.
    expect(summary(changes, 'top-decile')).toEqual([`entered u1 ${iso(D(2) - 1)}`, `left u1 ${iso(D(5) - 1)}`, `entered u3 ${iso(D(5) - 1)}`]);
    // u4 is in the personas run but has no event or profile: not in the population.
    expect(summary(changes, 'persona-2')).toEqual([`entered u1 ${iso(D(3) - 1)}`]);
    // u2 is persona 1 from May 3 and visited on May 1 and May 4: in from May 3; the May 4 visit is within 3d up to asOf May 7 inclusive.
    expect(summary(changes, 'active-persona-1-or-3')).toEqual([`entered u2 ${iso(D(3) - 1)}`]);
    expect(sortedMembers(new Map(ev.segmentKeys.map((k) => [k, ev.membership(k)])))).toEqual({
      'active-persona-1-or-3': ['u2'],
      'at-risk': ['u3'],
      'no-churn-score': ['u1'],
      'persona-2': ['u1'],
      'top-decile': ['u3'],
    });
    ev.tick(D(8));
    expect(summary(changes, 'active-persona-1-or-3')).toEqual([`entered u2 ${iso(D(3) - 1)}`, `left u2 ${iso(D(7))}`]);
    // Bounded: only the run read now is kept, runs 1 and 2 (and their rows) are gone.
    expect(Object.fromEntries([...ev.plan.models.values()].map((m) => [m.model, m.runs.map((r) => r.runId)]))).toEqual({
      'churn-risk': [3],
      personas: [4],
    });
  });

  it('a run whose as_of has passed takes effect at the clock, as a profile does; rows of a superseded run are ignored', () => {
    const changes: MembershipChange[] = [];
    const ev = evaluator(changes, 'event');
    for (const e of EVENTS) ev.push(e);
    expect(ev.asOfMs).toBe(D(4) + 1);
    expect(ev.pushScores(block(RUN1))).toBe('applied');
    expect(summary(changes, 'at-risk')).toEqual([`entered u1 ${iso(D(4))}`]);
    expect(ev.pushScores(block(RUN2))).toBe('pending'); // as of May 5, ahead of the clock
    ev.push(visit('u3', D(5) + 10));
    // Run 2 became effective at May 5 (before the event): u3 is absent from it and loses its score.
    expect(summary(changes, 'at-risk')).toEqual([`entered u1 ${iso(D(4))}`]);
    expect(summary(changes, 'no-churn-score')).toEqual([`entered u1 ${iso(D(1))}`, `entered u2 ${iso(D(1))}`, `entered u3 ${iso(D(1))}`, `left u1 ${iso(D(4))}`, `left u2 ${iso(D(4))}`, `left u3 ${iso(D(4))}`, `entered u3 ${iso(D(5) - 1)}`]);
    // Run 1 is superseded by run 2, effective now: its rows can never be read again.
    expect(ev.pushScores(block(scoreRun('churn-risk', 1, D(2), { u2: 0.99 })))).toBe('superseded');
    expect(ev.isMember('at-risk', 'u2')).toBe(false);
    // A later run with the same as_of wins the tie at once.
    expect(ev.pushScores(block(RUN3))).toBe('applied');
    expect(summary(changes, 'at-risk').slice(1)).toEqual([`left u1 ${iso(D(5) + 10)}`, `entered u3 ${iso(D(5) + 10)}`]);
    // A model no segment reads is not kept.
    expect(createStreamEvaluator({ segments: [SEGMENTS[0]!] }).pushScores(block(P1))).toBe('unused');
  });

  it('a run delivered in two blocks: users of the old run whose new row has not come yet have no value in between', () => {
    const changes: MembershipChange[] = [];
    const ev = evaluator(changes, 'event');
    for (const e of EVENTS) ev.push(e);
    ev.pushScores(block(RUN1));
    const run5 = scoreRun('churn-risk', 5, D(3), { u1: 0.75, u3: 0.2 });
    ev.pushScores(block(run5, ['u3']));
    expect(ev.isMember('at-risk', 'u1')).toBe(false);
    ev.pushScores(block(run5, ['u1']));
    expect(ev.isMember('at-risk', 'u1')).toBe(true);
    expect(summary(changes, 'at-risk')).toEqual([`entered u1 ${iso(D(4))}`, `left u1 ${iso(D(4))}`, `entered u1 ${iso(D(4))}`]);
    expect(ev.pushScores({ ...block(run5, ['u2']), runId: 4 })).toBe('superseded');
    expect(ev.pushScores({ ...block(run5, ['u2']), runId: 4, asOfMs: D(2) })).toBe('superseded');
    expect(() => ev.pushScores({ ...block(run5, ['u2']), asOfMs: D(2) })).toThrow(/run 5 of model "churn-risk" is as of 2024-05-03T00:00:00.000Z, not 2024-05-02T00:00:00.000Z/);
  });

  it('agrees with the in-memory evaluator after every step under every feed', () => {
    const kinds: { kind: FeedKind; latenessMs: number }[] = [
      { kind: 'released', latenessMs: 0 },
      { kind: 'released', latenessMs: 2 * MS.d },
      { kind: 'late-event-clock', latenessMs: 2 * MS.d },
      { kind: 'late-manual-clock', latenessMs: 2 * MS.d },
    ];
    const runs = [RUN1, RUN2, RUN3, P1, clusterRun('personas', 6, D(4), { u2: 3, u3: 2 })];
    for (const f of kinds) {
      for (const seed of [1, 2, 3]) {
        const r = feed({ segments: SEGMENTS, events: EVENTS, profiles: [{ userId: 'u4', traits: { plan: 'pro' } }], asOfMs: D(7), scoreRuns: runs }, { ...f, seed, checkEvery: 1 });
        expect({ f, seed, problems: r.problems }).toEqual({ f, seed, problems: [] });
        // At May 7: run 3 for churn-risk; run 6 (May 4) for personas: u2 is 3 and visited May 4, u3 is 2.
        expect(sortedMembers(r.final)).toEqual({
          'active-persona-1-or-3': ['u2'],
          'at-risk': ['u3'],
          'no-churn-score': ['u1', 'u4'],
          'persona-2': ['u3'],
          'top-decile': ['u3'],
        });
      }
    }
  });
});

describe('stream scores: state files and seeding', () => {
  let dir: string;
  let store: DuckDbStore;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'strata-stream-scores-'));
    store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a restart from a state file holding runs (one effective, one pending) gives the changes of the run that never stopped', async () => {
    const steps = (ev: StreamEvaluator, part: 1 | 2) => {
      if (part === 1) {
        ev.push(EVENTS[0]!);
        ev.push(EVENTS[1]!);
        ev.pushScores(block(RUN1));
        ev.pushScores(block(P1));
        ev.tick(D(2) + 5);
        ev.pushScores(block(RUN3)); // pending: as of May 5
        ev.push(EVENTS[2]!);
      } else {
        ev.push(EVENTS[3]!);
        ev.tick(D(8));
      }
    };
    const whole: MembershipChange[] = [];
    const a = evaluator(whole, 'manual', { latenessMs: 3 * MS.d });
    steps(a, 1);
    steps(a, 2);

    const first: MembershipChange[] = [];
    const b = evaluator(first, 'manual', { latenessMs: 3 * MS.d });
    steps(b, 1);
    const file = path.join(dir, 'scores.state');
    await writeStreamState(file, b.snapshot());
    const text = await readFile(file, 'utf8');
    expect(JSON.parse(text.split('\n')[0]!)).toMatchObject({ version: 2 });
    expect(text).toContain('"scoreRun":{"model":"churn-risk","runId":3');
    const second: MembershipChange[] = [];
    const c = StreamEvaluator.restore({ segments: SEGMENTS, clock: 'manual', latenessMs: 3 * MS.d, onChange: (x) => second.push(x) }, await readStreamState(file));
    steps(c, 2);
    expect([...first, ...second]).toEqual(whole);
    expect(whole.length).toBeGreaterThan(5);
    expect(sortedMembers(new Map(c.segmentKeys.map((k) => [k, c.membership(k)])))).toEqual(sortedMembers(new Map(a.segmentKeys.map((k) => [k, a.membership(k)]))));
  });

  it('reads a version 1 state file (no scores) and refuses one whose score rows were cut', async () => {
    const plain = [segment('visitors', { did: 'visit' })];
    const ev = createStreamEvaluator({ segments: plain });
    ev.push(visit('u1', D(1)));
    const v2 = path.join(dir, 'plain.state');
    await writeStreamState(v2, ev.snapshot());
    const lines = (await readFile(v2, 'utf8')).trim().split('\n');
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    const end = JSON.parse(lines.at(-1)!) as { end: Record<string, unknown> };
    delete end.end.scoreRows;
    const v1 = path.join(dir, 'v1.state');
    await writeFile(v1, [JSON.stringify({ ...header, version: 1 }), ...lines.slice(1, -1), JSON.stringify(end)].join('\n'));
    const restored = StreamEvaluator.restore({ segments: plain }, await readStreamState(v1));
    expect([...restored.membership('visitors')]).toEqual(['u1']);

    const withScores = evaluator([], 'event');
    for (const e of EVENTS) withScores.push(e);
    withScores.pushScores(block(RUN1));
    const full = path.join(dir, 'full.state');
    await writeStreamState(full, withScores.snapshot());
    const cut = path.join(dir, 'cut.state');
    const fullLines = (await readFile(full, 'utf8')).trim().split('\n');
    await writeFile(cut, fullLines.filter((l) => !l.startsWith('{"scoreRun"')).join('\n'));
    await expect(readStreamState(cut)).rejects.toThrow(/end marker counts .* and 3 score rows; the file holds .* and 0/);
  });

  it('seeds the store\'s scoring runs of the models the segments read (all before the clock starts; only those still readable after)', async () => {
    await saveModelVersion(store, { key: 'churn-risk', kind: 'churn', createdAtMs: D(1), body: {} });
    await saveModelVersion(store, { key: 'personas', kind: 'personas', createdAtMs: D(1), body: {} });
    const run = async (model: string, asOfMs: number, scores?: Record<string, number>, clusters?: Record<string, number>) => {
      const values = scores ?? clusters!;
      const userIds = Object.keys(values);
      return writeScoreRun(store, {
        modelKey: model,
        modelVersion: 1,
        asOfMs,
        createdAtMs: asOfMs,
        userIds,
        ...(scores ? { scores: Float64Array.from(userIds.map((u) => scores[u]!)) } : { clusters: Int32Array.from(userIds.map((u) => clusters![u]!)) }),
      });
    };
    const r1 = await run('churn-risk', D(2), { u1: 0.8, u2: 0.5, u3: 0.1 });
    const r2 = await run('churn-risk', D(5), { u2: 0.3, u3: 0.95 });
    const r3 = await run('personas', D(3), undefined, { u1: 2, u2: 1 });
    expect([r1.runId, r2.runId, r3.runId]).toEqual([1, 2, 3]);

    const changes: MembershipChange[] = [];
    const ev = evaluator(changes, 'event');
    expect(await seedStreamScores(ev, store)).toEqual({ runs: 3, rows: 7, skipped: 0 });
    for (const e of EVENTS) ev.push(e);
    ev.push(visit('u4', D(6)));
    expect(summary(changes, 'at-risk')).toEqual([`entered u1 ${iso(D(2) - 1)}`, `left u1 ${iso(D(5) - 1)}`, `entered u3 ${iso(D(5) - 1)}`]);
    expect(summary(changes, 'persona-2')).toEqual([`entered u1 ${iso(D(3) - 1)}`]);
    // The store's percentiles: run 2 has u2 at 50 and u3 at 100.
    expect([...ev.membership('top-decile')]).toEqual(['u3']);

    // With the clock already past May 5 (a wall clock ticked once), run 1 is never read: not loaded.
    const late = evaluator([], 'manual');
    late.tick(D(6));
    expect(await seedStreamScores(late, store)).toEqual({ runs: 2, rows: 4, skipped: 1 });
    // A restored state that holds run 2 already keeps it; nothing is read twice.
    expect(await seedStreamScores(late, store)).toEqual({ runs: 0, rows: 0, skipped: 3 });
  });
});

describe('strata stream with scores', () => {
  let root: string;
  let ws: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'strata-stream-scores-cli-'));
    ws = path.join(root, 'ws');
    const { config } = await initWorkspace(ws, { plan: PLAN });
    const store = await openStore(config);
    try {
      await saveModelVersion(store, { key: 'churn-risk', kind: 'churn', createdAtMs: D(1), body: {} });
      await saveModelVersion(store, { key: 'personas', kind: 'personas', createdAtMs: D(1), body: {} });
      await writeScoreRun(store, { modelKey: 'churn-risk', modelVersion: 1, asOfMs: D(2), createdAtMs: D(2), userIds: ['u1', 'u2'], scores: Float64Array.from([0.8, 0.5]) });
    } finally {
      await store.close();
    }
    const defs = path.join(root, 'defs');
    await import('node:fs/promises').then((fs) => fs.mkdir(defs));
    await writeFile(path.join(defs, 'at-risk.yaml'), 'key: at-risk\nname: At risk\nobjective: retention\nrationale: Likely to churn.\nowner: growth\nmatch:\n  score: churn-risk\n  gte: 0.7\n');
    await writeFile(path.join(defs, 'persona-2.yaml'), 'key: persona-2\nname: Persona 2\nobjective: other\nrationale: Persona two.\nowner: growth\nmatch:\n  cluster: personas\n  eq: 2\n');
    let err = '';
    const code = await runCli(['segment', 'add', defs], { stdout: () => undefined, stderr: (t) => void (err += t), cwd: ws, env: {} });
    expect({ code, err }).toEqual({ code: 0, err: '' });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function stream(args: readonly string[], stdin: string): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['stream', ...args], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: ws, env: {}, stdin: Readable.from([Buffer.from(stdin)]) });
    return { code, stdout, stderr };
  }

  it('seeds the stored run, reads score records as one block per run, and reports a record for an unknown model with its line', async () => {
    const lines = [
      { user_id: 'u1', event: 'visit', timestamp: iso(D(1)) },
      { user_id: 'u2', event: 'visit', timestamp: iso(D(1)) },
      { type: 'score', model: 'personas', run: 7, as_of: iso(D(3)), user_id: 'u1', cluster: 2 },
      { type: 'score', model: 'personas', run: 7, as_of: iso(D(3)), user_id: 'u2', cluster: 1 },
      { type: 'score', model: 'nope', run: 1, as_of: iso(D(3)), user_id: 'u2', score: 0.5, percentile: 50 },
      { user_id: 'u2', event: 'visit', timestamp: iso(D(4)) },
    ].map((x) => JSON.stringify(x));
    const run = await stream(['--json'], `${lines.join('\n')}\n`);
    expect(run.code).toBe(0);
    const changes = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    // The stored run (as of May 2) wakes u1 when the clock passes it; the streamed personas run (as of May 3) likewise.
    expect(changes).toEqual([
      { type: 'entered', segment: 'at-risk', user: 'u1', at: iso(D(2) - 1) },
      { type: 'entered', segment: 'persona-2', user: 'u1', at: iso(D(3) - 1) },
    ]);
    const stderr = run.stderr.trim().split('\n');
    expect(stderr[0]).toBe('line 5: model: model "nope" is not in the model catalogue (stored: churn-risk, personas; train it with strata model train)');
    expect(JSON.parse(stderr.at(-1)!)).toMatchObject({ events: 3, scoreRows: 2, seededScoreRuns: 1, seededScoreRows: 2, invalidLines: 1, members: { 'at-risk': 1, 'persona-2': 1 } });
  });

  it('keeps streamed runs in --state across restarts, and seeds only runs it does not hold', async () => {
    const state = path.join(root, 'scores.state');
    const first = await stream(['--state', state, '--json'], [JSON.stringify({ user_id: 'u1', event: 'visit', timestamp: iso(D(1)) }), JSON.stringify({ type: 'score', model: 'personas', run: 8, as_of: iso(D(3)), user_id: 'u1', cluster: 2 })].join('\n'));
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stderr.trim().split('\n').at(-1)!)).toMatchObject({ seededScoreRuns: 1, scoreRows: 1 });
    const second = await stream(['--state', state, '--json'], JSON.stringify({ user_id: 'u1', event: 'visit', timestamp: iso(D(4)) }));
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stderr.trim().split('\n').at(-1)!)).toMatchObject({ restored: true, seededScoreRuns: 0, members: { 'at-risk': 1, 'persona-2': 1 } });
    expect(second.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      { type: 'entered', segment: 'at-risk', user: 'u1', at: iso(D(2) - 1) },
      { type: 'entered', segment: 'persona-2', user: 'u1', at: iso(D(3) - 1) },
    ]);
  });
});
