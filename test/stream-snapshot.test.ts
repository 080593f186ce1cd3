/**
 * Snapshots of the streaming evaluator: evaluating half a log, saving the state to disk,
 * restoring it in a fresh evaluator and going on gives exactly the changes (same order,
 * same instants) and the final membership of a run that never stopped. The oracle is the
 * uninterrupted run, itself held to the batch evaluator by test/stream-property.test.ts.
 * Also: what a restore refuses (other definitions, clock, a larger lateness, unknown
 * versions, truncated files), with the messages that say why.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DAYS, DEMO_END_MS, simulateUser } from '../src/demo/synthetic-product.js';
import { demoPlan } from '../src/demo/demo-plan.js';
import { isStrataError } from '../src/errors/errors.js';
import type { MemoryEvent, MemoryValue } from '../src/segments/evaluate/index.js';
import type { SegmentIR } from '../src/segments/ir/nodes.js';
import { buildSegmentIR, validateSegment, type SegmentDefinition } from '../src/segments/language/index.js';
import { loadDemoSegments } from '../bench/support/demo-segments.js';
import {
  createStreamEvaluator,
  readStreamState,
  StreamEvaluator,
  writeStreamState,
  type MembershipChange,
  type StreamClock,
  type StreamEvaluatorOptions,
} from '../src/segments/stream/index.js';
import { MS } from '../src/time/time.js';
import { denseScenario, PLAN } from './support/segment-arbitraries.js';
import { prng, withinLateness } from './support/stream-harness.js';
import { toMemoryDataset } from './support/to-memory.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strata-stream-state-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Step = { readonly event: MemoryEvent } | { readonly profile: { userId: string; traits: Record<string, MemoryValue> } } | { readonly tick: number };

interface Run {
  readonly changes: MembershipChange[];
  readonly members: Record<string, string[]>;
  /** Per user, the state that must not depend on restarts: traits, memberships, seal point, anchors, sealed summaries. */
  readonly durable: Record<string, unknown>;
}

function members(ev: StreamEvaluator): Record<string, string[]> {
  return Object.fromEntries(ev.segmentKeys.map((k) => [k, [...ev.membership(k)].sort()]));
}

/**
 * Raw entries, wake-ups and seal points may legitimately differ (trimming is lazy, and a
 * restored user's first evaluation may find a different, equally safe wake-up, so it is
 * touched, and sealed, at other instants); traits, memberships, anchors and the summaries
 * of absorbed measures (every event folded in as it arrives) may not.
 */
function durable(ev: StreamEvaluator): Record<string, unknown> {
  const absorbed = new Set(ev.plan.measures.filter((m) => m.mode === 'absorbed').map((m) => String(m.index)));
  const out: Record<string, unknown> = {};
  for (const u of ev.snapshot().users) {
    const folds = Object.fromEntries(Object.entries(u.folds ?? {}).filter(([i]) => absorbed.has(i)));
    out[u.id] = { traits: u.traits, member: u.member, anchors: u.anchors, folds };
  }
  return out;
}

function play(ev: StreamEvaluator, steps: readonly Step[]): void {
  for (const s of steps) {
    if ('event' in s) ev.push(s.event);
    else if ('profile' in s) ev.pushProfile(s.profile.userId, s.profile.traits);
    else ev.tick(s.tick);
  }
}

function uninterrupted(options: Omit<StreamEvaluatorOptions, 'onChange'>, steps: readonly Step[]): Run {
  const changes: MembershipChange[] = [];
  const ev = createStreamEvaluator({ ...options, onChange: (c) => changes.push(c) });
  play(ev, steps);
  return { changes, members: members(ev), durable: durable(ev) };
}

async function restarted(options: Omit<StreamEvaluatorOptions, 'onChange'>, steps: readonly Step[], at: number, file: string): Promise<Run> {
  const changes: MembershipChange[] = [];
  const first = createStreamEvaluator({ ...options, onChange: (c) => changes.push(c) });
  play(first, steps.slice(0, at));
  await writeStreamState(file, first.snapshot());
  const second = StreamEvaluator.restore({ ...options, onChange: (c) => changes.push(c) }, await readStreamState(file));
  play(second, steps.slice(at));
  return { changes, members: members(second), durable: durable(second) };
}

/** A log as a stream delivers it: events shuffled within the lateness, profiles in between, ticks for a manual clock. */
function stepsOf(events: readonly MemoryEvent[], profiles: readonly { userId: string; traits: Record<string, MemoryValue> }[], asOfMs: number, clock: StreamClock, latenessMs: number, seed: number): Step[] {
  const random = prng(seed);
  const arriving = withinLateness(
    events.filter((e) => e.ts < asOfMs),
    latenessMs,
    random,
  );
  const steps: Step[] = arriving.map((event) => ({ event }));
  for (const profile of profiles) steps.splice(Math.floor(random() * (steps.length + 1)), 0, { profile });
  if (clock === 'manual') {
    // Ticks never pass the newest event before them, so no later event is late.
    let newest = -Infinity;
    const withTicks: Step[] = [];
    for (const s of steps) {
      if ('event' in s) newest = Math.max(newest, s.event.ts);
      withTicks.push(s);
      if (random() < 0.2 && Number.isFinite(newest)) withTicks.push({ tick: newest - Math.floor(random() * latenessMs * 0.5) });
    }
    steps.splice(0, steps.length, ...withTicks);
  }
  steps.push({ tick: asOfMs });
  return steps;
}

describe('stream snapshots', () => {
  it('a restart from a saved state continues exactly as if it never stopped (random logs and definitions)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(denseScenario, fc.constantFrom<StreamClock>('event', 'manual'), fc.constantFrom(0, 6 * MS.h, 2 * MS.d), fc.nat(), fc.double({ min: 0, max: 1, noNaN: true }), async (s, clock, latenessMs, seed, cut) => {
        const defs = new Map<string, SegmentDefinition>();
        for (const raw of s.definitions) defs.set(raw.key, validateSegment(raw, PLAN));
        const segments = [...defs.values()].map((def) => buildSegmentIR(def, PLAN, (key) => defs.get(key)));
        const events = toMemoryDataset(s.events, [], PLAN).events;
        const profiles = s.profiles.map((p) => ({ userId: p.user_id, traits: toMemoryDataset([], [p], PLAN).profiles.get(p.user_id)! }));
        const steps = stepsOf(events, profiles, Date.parse(s.asOf), clock, latenessMs, seed);
        const options = { segments, clock, latenessMs };
        const whole = uninterrupted(options, steps);
        const split = await restarted(options, steps, Math.floor(cut * steps.length), path.join(dir, `p${n++}.jsonl`));
        expect(split).toEqual(whole);
      }),
      { numRuns: process.env.CI ? 100 : 40 },
    );
  });

  it('holds on the demo product with its 12 segments, across several restarts', async () => {
    const plan = demoPlan();
    const segments = demoSegments(plan);
    const events: MemoryEvent[] = [];
    const profiles: { userId: string; traits: Record<string, MemoryValue> }[] = [];
    for (let i = 0; i < 150; i++) {
      simulateUser(i, { seed: 7, endMs: DEMO_END_MS, days: DEMO_DAYS }, {
        event: (userId, event, ts, props) => void events.push({ userId, event, ts, properties: props ?? {} }),
        profile: (userId, traits) => void profiles.push({ userId, traits: { ...traits } }),
      });
    }
    const steps = stepsOf(events, profiles, DEMO_END_MS, 'event', MS.h, 3);
    const options = { segments, clock: 'event' as const, latenessMs: MS.h };
    const whole = uninterrupted(options, steps);
    expect(whole.changes.length).toBeGreaterThan(100);

    const changes: MembershipChange[] = [];
    const file = path.join(dir, 'demo.jsonl');
    let ev = createStreamEvaluator({ ...options, onChange: (c) => changes.push(c) });
    const cuts = [0.2, 0.5, 0.8, 1].map((f) => Math.floor(f * steps.length));
    let from = 0;
    for (const to of cuts) {
      play(ev, steps.slice(from, to));
      from = to;
      await writeStreamState(file, ev.snapshot());
      ev = StreamEvaluator.restore({ ...options, onChange: (c) => changes.push(c) }, await readStreamState(file));
    }
    expect({ changes, members: members(ev), durable: durable(ev) }).toEqual(whole);
  });
});

describe('what a restore refuses', () => {
  const plan = demoPlan();
  const segments = demoSegments(plan);
  const options = { segments, clock: 'event' as const, latenessMs: MS.h };
  let file: string;

  beforeAll(async () => {
    file = path.join(dir, 'refuse.jsonl');
    const ev = createStreamEvaluator(options);
    ev.pushProfile('u1', { plan: 'free', company_size: 300 });
    ev.push({ userId: 'u1', event: 'pricing_viewed', ts: DEMO_END_MS - MS.d, properties: {} });
    await writeStreamState(file, ev.snapshot());
  });

  async function refusal(fn: () => Promise<unknown>): Promise<{ code: string; message: string; paths: string[] }> {
    try {
      await fn();
    } catch (e) {
      if (!isStrataError(e)) throw e;
      return { code: e.code, message: e.message, paths: e.details.map((d) => d.path ?? '') };
    }
    throw new Error('expected a refusal');
  }

  it('restores what it saved', async () => {
    const ev = StreamEvaluator.restore(options, await readStreamState(file));
    expect(ev.isMember('enterprise-prospects', 'u1')).toBe(true);
    expect(ev.asOfMs).toBe(DEMO_END_MS - MS.d + 1);
  });

  it('other segment definitions: names the changed, added and missing segments', async () => {
    const changed = segments.map((s) => (s.key === 'power-users' ? { ...s, root: { ...s.root, cmp: { op: 'gte', value: { kind: 'number', value: 21 } } } } : s)) as SegmentIR[];
    const r = await refusal(async () => StreamEvaluator.restore({ ...options, segments: changed.filter((s) => s.key !== 'gone-quiet') }, await readStreamState(file)));
    expect(r.code).toBe('STATE_INCOMPATIBLE');
    expect(r.message).toMatch(/saved for other segment definitions/);
    expect(r.paths.sort()).toEqual(['segments.gone-quiet', 'segments.power-users']);
  });

  it('another clock, or a larger lateness', async () => {
    const clock = await refusal(async () => StreamEvaluator.restore({ ...options, clock: 'manual' }, await readStreamState(file)));
    expect(clock.message).toMatch(/saved with the event clock/);
    const lateness = await refusal(async () => StreamEvaluator.restore({ ...options, latenessMs: 2 * MS.h }, await readStreamState(file)));
    expect(lateness.message).toMatch(/lateness of 3600000 ms; it cannot grow/);
    // A smaller lateness is fine: what was sealed stays sealed.
    expect(StreamEvaluator.restore({ ...options, latenessMs: MS.m }, await readStreamState(file)).asOfMs).toBe(DEMO_END_MS - MS.d + 1);
  });

  it('an unknown version, another format, a truncated file, a missing file', async () => {
    const text = await readFile(file, 'utf8');
    const lines = text.trimEnd().split('\n');
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    const write = async (name: string, content: string) => {
      const p = path.join(dir, name);
      await writeFile(p, content);
      return p;
    };
    const v3 = await write('v3.jsonl', [JSON.stringify({ ...header, version: 3 }), ...lines.slice(1)].join('\n'));
    expect((await refusal(() => readStreamState(v3))).message).toMatch(/version 3 is not readable by this Strata, which reads versions 1 and 2/);
    const other = await write('other.jsonl', '{"format":"something-else"}\n');
    expect((await refusal(() => readStreamState(other))).message).toMatch(/not a Strata stream state/);
    const cut = await write('cut.jsonl', lines.slice(0, -1).join('\n'));
    expect((await refusal(() => readStreamState(cut))).message).toMatch(/truncated \(no end marker\)/);
    expect((await refusal(() => readStreamState(path.join(dir, 'absent.jsonl')))).code).toBe('FILE_NOT_FOUND');
  });
});

function demoSegments(plan: ReturnType<typeof demoPlan>): SegmentIR[] {
  return loadDemoSegments(plan).map((s) => s.ir);
}
