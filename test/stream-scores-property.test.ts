/**
 * Property test: with model scores, the streaming evaluator's membership equals the
 * in-memory evaluator's (`evaluateSegments` with `scoreRuns`, which the spec vectors hold
 * to DuckDB and ClickHouse) at the stream's asOf, after every event, profile, score block
 * and tick. Data and definitions are the differential test's (test/support/segment-
 * arbitraries.ts), each definition combined with random `score`, `percentile` and
 * `cluster` conditions; scoring runs have random as_of instants on the same grid (ties in
 * as_of and in scores happen often, some runs lie ahead of the final asOf), random subsets
 * of users (some not in the population), and arrive in random order, some split in two
 * blocks (test/support/stream-harness.ts). Released feeds also check every change's
 * instant exactly.
 *
 * And restarts: saving the state to a file at a random point (runs effective and pending,
 * rows held) and going on in a restored evaluator gives exactly the changes and members of
 * the run that never stopped (the oracle).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentileRanks } from '../src/models/registry/model-store.js';
import type { MemoryScoreRun } from '../src/segments/evaluate/index.js';
import { buildSegmentIR, validateSegment, type SegmentDefinition } from '../src/segments/language/index.js';
import { MS } from '../src/time/time.js';
import { BASE, PLAN, scenario, STEP, type Scenario } from './support/segment-arbitraries.js';
import {
  createStreamEvaluator,
  readStreamState,
  StreamEvaluator,
  writeStreamState,
  type MembershipChange,
  type StreamClock,
  type StreamEvaluatorOptions,
  type StreamScoreBlock,
} from '../src/segments/stream/index.js';
import type { MemoryEvent, MemoryValue } from '../src/segments/evaluate/index.js';
import type { SegmentIR } from '../src/segments/ir/nodes.js';
import { feed, prng, scoreBlocks, withinLateness, type FeedKind } from './support/stream-harness.js';
import { toMemoryDataset } from './support/to-memory.js';

const MODELS = new Map([
  ['churn-risk', 'churn' as const],
  ['upgrade', 'propensity' as const],
  ['personas', 'personas' as const],
]);
const SCORE_MODELS = ['churn-risk', 'upgrade'] as const;
const USERS = ['u0', 'u1', 'u2', 'u3', 'u9'] as const; // u9 has no events: scored, never in the population unless profiled
const KINDS: readonly FeedKind[] = ['released', 'late-event-clock', 'late-manual-clock'];
const LATENESS = [0, 6 * MS.h, 1 * MS.d, 3 * MS.d] as const;

const probability = fc.constantFrom(0, 0.1, 0.5, 0.5, 0.7, 0.9, 1);
const scoreCondition = fc.oneof(
  fc.record({ score: fc.constantFrom(...SCORE_MODELS), gte: probability }),
  fc.record({ score: fc.constantFrom(...SCORE_MODELS), lt: probability }),
  fc.record({ score: fc.constantFrom(...SCORE_MODELS), between: fc.tuple(probability, probability).map(([a, b]) => [Math.min(a, b), Math.max(a, b)]) }),
  fc.record({ score: fc.constantFrom(...SCORE_MODELS), exists: fc.boolean() }),
  fc.record({ score: fc.constantFrom(...SCORE_MODELS), percentile: fc.oneof(fc.record({ gt: fc.constantFrom(0, 25, 50, 90) }), fc.record({ lte: fc.constantFrom(25, 50, 100) })) }),
  fc.record({ cluster: fc.constant('personas'), eq: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ cluster: fc.constant('personas'), ne: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ cluster: fc.constant('personas'), in: fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 2 }) }),
  fc.record({ cluster: fc.constant('personas'), exists: fc.boolean() }),
);

/** How a definition's own condition meets a score condition. */
const combine = fc.constantFrom('all', 'any', 'not-score', 'score-only', 'as-is');

/** On the event grid: 6h steps from 5 days before BASE to 12h after, plus 0 or 15 minutes; a later run id breaks as_of ties. */
const runArb = fc.record({
  model: fc.constantFrom('churn-risk', 'upgrade', 'personas'),
  step: fc.integer({ min: -2, max: 20 }),
  minutes: fc.constantFrom(0, 0, 15),
  users: fc.subarray([...USERS], { minLength: 0 }),
  values: fc.array(probability, { minLength: USERS.length, maxLength: USERS.length }),
  clusters: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: USERS.length, maxLength: USERS.length }),
});
type RunDraw = typeof runArb extends fc.Arbitrary<infer T> ? T : never;

function memoryRuns(draws: readonly RunDraw[]): MemoryScoreRun[] {
  return draws.map((d, i) => {
    const asOfMs = BASE - d.step * STEP + d.minutes * MS.m;
    if (d.model === 'personas') return { model: d.model, runId: i + 1, asOfMs, rows: new Map(d.users.map((u) => [u, { score: null, percentile: null, cluster: d.clusters[USERS.indexOf(u as (typeof USERS)[number])]! }])) };
    const scores = Float64Array.from(d.users.map((u) => d.values[USERS.indexOf(u as (typeof USERS)[number])]!));
    const pct = percentileRanks(scores);
    return { model: d.model, runId: i + 1, asOfMs, rows: new Map(d.users.map((u, k) => [u, { score: scores[k]!, percentile: pct[k]!, cluster: null }])) };
  });
}

const caseArb = fc.record({
  s: scenario,
  extra: fc.array(fc.tuple(combine, scoreCondition), { minLength: 4, maxLength: 4 }),
  runs: fc.array(runArb, { maxLength: 6 }),
  kind: fc.constantFrom(...KINDS),
  lateness: fc.constantFrom(...LATENESS),
  seed: fc.nat(),
});

function withScores(s: Scenario, extra: readonly [string, unknown][]): Scenario['definitions'] {
  return s.definitions.map((d, i) => {
    const [how, cond] = extra[i % extra.length]!;
    const match = how === 'all' ? { all: [d.match, cond] } : how === 'any' ? { any: [d.match, cond] } : how === 'not-score' ? { all: [d.match, { not: cond }] } : how === 'score-only' ? cond : d.match;
    return { ...d, match } as Scenario['definitions'][number];
  });
}

function segmentsOf(definitions: Scenario['definitions']): SegmentIR[] {
  const defs = new Map<string, SegmentDefinition>();
  for (const raw of definitions) defs.set(raw.key, validateSegment(raw, PLAN, { models: MODELS }));
  return [...defs.values()].map((def) => buildSegmentIR(def, PLAN, (key) => defs.get(key), { models: MODELS }));
}

describe('stream property with scores: incremental membership equals the in-memory evaluator', () => {
  it('for random definitions with score, percentile and cluster conditions, random runs, arrival orders and lateness', () => {
    fc.assert(
      fc.property(caseArb, ({ s, extra, runs, kind, lateness, seed }) => {
        const definitions = withScores(s, extra);
        const segments = segmentsOf(definitions);
        const data = toMemoryDataset(s.events, [], PLAN);
        const profiles = s.profiles.map((p) => ({ userId: p.user_id, traits: toMemoryDataset([], [p], PLAN).profiles.get(p.user_id)! }));
        const scoreRuns = memoryRuns(runs);
        const r = feed({ segments, events: data.events, profiles, asOfMs: Date.parse(s.asOf), scoreRuns }, { kind, latenessMs: lateness, seed, checkEvery: 1 });
        if (r.problems.length > 0) {
          const lines = (items: readonly unknown[]) => items.map((x) => `  ${JSON.stringify(x)}`).join('\n');
          throw new Error(
            [
              `stream and in-memory evaluator disagree (feed ${kind}, lateness ${lateness} ms, seed ${seed}; plan: test/support/segment-arbitraries.ts)`,
              `asOf: ${s.asOf}`,
              `events:\n${lines(s.events)}`,
              `profiles:\n${lines(s.profiles)}`,
              `definitions:\n${lines(definitions.map((d) => ({ [d.key]: d.match })))}`,
              `runs:\n${lines(scoreRuns.map((x) => ({ ...x, asOf: new Date(x.asOfMs).toISOString(), rows: [...x.rows] })))}`,
              `problems:\n${lines(r.problems.slice(0, 8))}`,
            ].join('\n'),
          );
        }
      }),
      { numRuns: process.env.CI ? 800 : 300 },
    );
  });
});

type Step = { readonly event: MemoryEvent } | { readonly profile: { userId: string; traits: Record<string, MemoryValue> } } | { readonly scores: StreamScoreBlock } | { readonly tick: number };

function play(ev: StreamEvaluator, steps: readonly Step[]): void {
  for (const s of steps) {
    if ('event' in s) ev.push(s.event);
    else if ('profile' in s) ev.pushProfile(s.profile.userId, s.profile.traits);
    else if ('scores' in s) ev.pushScores(s.scores);
    else ev.tick(s.tick);
  }
}

function membersOf(ev: StreamEvaluator): Record<string, string[]> {
  return Object.fromEntries(ev.segmentKeys.map((k) => [k, [...ev.membership(k)].sort()]));
}

describe('stream restarts with scores', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'strata-stream-scores-restart-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * The changes ordered by instant, then user, each user's own changes kept in emitted
   * order (a stable sort). What a restart must reproduce: the same changes at the same
   * instants, each user's in the same order. Across users at one instant the order is not
   * part of the contract: a pending scoring run taking effect re-evaluates its users in
   * the run's order, while wake-ups at that instant pop in user-id order, and a restored
   * stream, which schedules everyone afresh, can interleave the two differently (CI seed
   * -1307656297).
   */
  function perUserOrder(changes: readonly MembershipChange[]): MembershipChange[] {
    return [...changes].sort((x, y) => x.at - y.at || (x.user < y.user ? -1 : x.user > y.user ? 1 : 0));
  }

  type RestartCase = typeof caseArb extends fc.Arbitrary<infer C> ? C : never;

  /** The property, run with `params` (a run count, or a seed and path that replay one case). */
  async function restartProperty(params: fc.Parameters<[RestartCase, StreamClock, number]>): Promise<void> {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(caseArb, fc.constantFrom<StreamClock>('event', 'manual'), fc.double({ min: 0, max: 1, noNaN: true }), async ({ s, extra, runs, lateness, seed }, clock, cut) => {
        const segments = segmentsOf(withScores(s, extra));
        const asOfMs = Date.parse(s.asOf);
        const random = prng(seed);
        const steps: Step[] = withinLateness(toMemoryDataset(s.events, [], PLAN).events.filter((e) => e.ts < asOfMs), lateness, random).map((event) => ({ event }));
        for (const p of s.profiles) steps.splice(Math.floor(random() * (steps.length + 1)), 0, { profile: { userId: p.user_id, traits: toMemoryDataset([], [p], PLAN).profiles.get(p.user_id)! } });
        // Runs come early, so that many are still ahead of the clock at the cut.
        const early = Math.ceil(steps.length * 0.3);
        for (const b of scoreBlocks(memoryRuns(runs), random)) steps.splice(Math.floor(random() * (early + 1)), 0, { scores: b });
        if (clock === 'manual') {
          let newest = -Infinity;
          for (let i = 0; i < steps.length; i++) {
            const st = steps[i]!;
            if ('event' in st) newest = Math.max(newest, st.event.ts);
            if (random() < 0.2 && Number.isFinite(newest)) steps.splice(++i, 0, { tick: newest - Math.floor(random() * lateness * 0.5) });
          }
        }
        steps.push({ tick: asOfMs });
        const options: Omit<StreamEvaluatorOptions, 'onChange'> = { segments, clock, latenessMs: lateness };

        const whole: MembershipChange[] = [];
        const a = createStreamEvaluator({ ...options, onChange: (c) => whole.push(c) });
        play(a, steps);

        const split: MembershipChange[] = [];
        const at = Math.floor(cut * steps.length);
        const b = createStreamEvaluator({ ...options, onChange: (c) => split.push(c) });
        play(b, steps.slice(0, at));
        const file = path.join(dir, `r${n++}.state`);
        await writeStreamState(file, b.snapshot());
        const c = StreamEvaluator.restore({ ...options, onChange: (x) => split.push(x) }, await readStreamState(file));
        play(c, steps.slice(at));
        expect({ changes: perUserOrder(split), members: membersOf(c) }).toEqual({ changes: perUserOrder(whole), members: membersOf(a) });
      }),
      params,
    );
  }

  it('a restart from a state file continues exactly as if it never stopped', async () => {
    await restartProperty({ numRuns: process.env.CI ? 500 : 200 });
  });

  it('regression (CI, seed -1307656297): a run taking effect and a wake-up at one instant, for two users, after a restart', async () => {
    await restartProperty({
      seed: -1307656297,
      path: '132:2:1:2:2:3:3:3:3:8:2:3:4:4:5:5:5:5:5:5:5:8:6:6:6:6:6:8:7:7:7:7:7:8:8:8:8:8:9:9:8:8:10:10:8:8:8:13:12:12:12:12:12:12:12:12:21:20:20:20:20:20:20:21:21:21:23:22:22:22:23:24:24:24:24:24:24:24:25:25:25:25:25:25:25:25:25:25:25:25:24:22:34:23:23:23:23:22:23:23:23:23:22:33:23:23:23:23:22:23:23:23:24:22:22',
      endOnFailure: true,
    });
  });

  it('regression (CI, seed 2134177506): two segments a user enters at one instant come out in segment order after a restart too', async () => {
    // Touched segments used to run in the order their leaves were touched, which depends on
    // history; a restored stream runs them in segment order. Replays the shrunk case.
    await restartProperty({
      seed: 2134177506,
      path: '336:2:1:1:2:2:2:2:2:2:4:4:4:4:4:4:4:5:5:5:6:6:6:6:6:6:6:6:6:6:6:6:6:6:7:10:11:6:10:11:10:10:10:10:10:10:10:10:10:10:10:10:22:10:12:10:11:22:10:12:10:11:22:10:12:10:12:10:10',
      endOnFailure: true,
    });
  });
});
