/**
 * Feeding a dataset to the streaming evaluator in the ways a real stream would deliver
 * it, and checking it against the batch in-memory evaluator (`evaluateSegments`, itself
 * held to DuckDB by the spec vectors and the differential test):
 *
 * - `released`: a manual clock; every event is pushed ahead of it and released in time
 *   order by one tick to asOf. No event is late, so every change is exact to the
 *   millisecond: membership is the old value at `at` and the new value at `at` + 1.
 * - `late-event-clock`: the event clock, events arriving shuffled within the lateness
 *   (each at most `lateness` behind the newest so far), then a tick to asOf.
 * - `late-manual-clock`: a manual clock ticking forward at random instants while events
 *   arrive shuffled within the lateness (some ahead of the clock, some behind it).
 *
 * After each step of a feed the harness can compare membership with the batch evaluator
 * at the stream's asOf over the events fed so far.
 *
 * Scoring runs (optional) arrive as score blocks (`pushScores`), in random order between
 * the events and profiles, a run sometimes split in two blocks; in a `released` feed all
 * before the clock starts, so every change a run causes is exact too. The batch evaluator
 * reads the rows received so far.
 */
import { evaluateSegments, type MemoryDataset, type MemoryEvent, type MemoryScoreRun, type MemoryScoreValues, type MemoryValue } from '../../src/segments/evaluate/index.js';
import type { SegmentIR } from '../../src/segments/ir/nodes.js';
import { createStreamEvaluator, type MembershipChange, type StreamClock, type StreamEvaluator, type StreamScoreBlock } from '../../src/segments/stream/index.js';
import { prng } from './prng.js';

export type FeedKind = 'released' | 'late-event-clock' | 'late-manual-clock';

export interface FeedInput {
  readonly segments: readonly SegmentIR[];
  readonly events: readonly MemoryEvent[];
  /** Profiles in the order they are upserted. */
  readonly profiles: readonly { readonly userId: string; readonly traits: Readonly<Record<string, MemoryValue>> }[];
  readonly asOfMs: number;
  /** Scoring runs (run ids unique per model). */
  readonly scoreRuns?: readonly MemoryScoreRun[];
}

export interface FeedOptions {
  readonly kind: FeedKind;
  readonly seed: number;
  readonly latenessMs: number;
  /** Compare with the batch evaluator after this many steps (0: only at the end). */
  readonly checkEvery?: number;
}

export interface FeedResult {
  readonly final: Map<string, Set<string>>;
  readonly changes: readonly MembershipChange[];
  readonly problems: readonly string[];
  readonly evaluator: StreamEvaluator;
}

/** The seeded PRNG the feeds shuffle with (support/prng.ts), for tests that replay an order. */
export { prng };

/** Events in an arrival order where each is at most `latenessMs` behind the newest before it. */
export function withinLateness(events: readonly MemoryEvent[], latenessMs: number, random: () => number): MemoryEvent[] {
  const keyed = events.map((e, i) => ({ e, i, key: e.ts + (Number.isFinite(latenessMs) ? random() * latenessMs : 0) }));
  keyed.sort((a, b) => a.key - b.key || a.i - b.i);
  return keyed.map((k) => k.e);
}

export function mergedProfiles(profiles: FeedInput['profiles']): Map<string, Record<string, MemoryValue>> {
  const out = new Map<string, Record<string, MemoryValue>>();
  for (const p of profiles) out.set(p.userId, { ...(out.get(p.userId) ?? {}), ...p.traits });
  return out;
}

/** A run's rows in one or two blocks (random split), as the stream receives them. */
export function scoreBlocks(runs: readonly MemoryScoreRun[], random: () => number): StreamScoreBlock[] {
  const out: StreamScoreBlock[] = [];
  for (const r of runs) {
    const rows = [...r.rows].map(([userId, v]) => ({ userId, ...v }));
    const cut = random() < 0.3 ? Math.floor(random() * (rows.length + 1)) : rows.length;
    out.push({ model: r.model, runId: r.runId, asOfMs: r.asOfMs, rows: rows.slice(0, cut) });
    if (cut < rows.length) out.push({ model: r.model, runId: r.runId, asOfMs: r.asOfMs, rows: rows.slice(cut) });
  }
  return out;
}

/** The runs as far as these blocks have delivered them (a run with no row delivered yet is not there). */
export function receivedRuns(blocks: readonly StreamScoreBlock[]): MemoryScoreRun[] {
  const byKey = new Map<string, { model: string; runId: number; asOfMs: number; rows: Map<string, MemoryScoreValues> }>();
  for (const b of blocks) {
    const key = `${b.model}\u0000${b.runId}`;
    let r = byKey.get(key);
    if (!r) byKey.set(key, (r = { model: b.model, runId: b.runId, asOfMs: b.asOfMs, rows: new Map() }));
    for (const row of b.rows) r.rows.set(row.userId, { score: row.score, percentile: row.percentile, cluster: row.cluster });
  }
  return [...byKey.values()];
}

export function sortedMembers(m: Map<string, Set<string>>): Record<string, string[]> {
  return Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, [...v].sort()]));
}

function membershipOf(ev: StreamEvaluator, keys: readonly string[]): Map<string, Set<string>> {
  return new Map(keys.map((k) => [k, ev.membership(k)]));
}

function replay(changes: readonly MembershipChange[], keys: readonly string[]): Map<string, Set<string>> {
  const out = new Map(keys.map((k) => [k, new Set<string>()]));
  for (const c of changes) {
    const set = out.get(c.segment)!;
    if (c.type === 'entered') {
      if (set.has(c.user)) throw new Error(`${c.user} entered ${c.segment} twice`);
      set.add(c.user);
    } else {
      if (!set.has(c.user)) throw new Error(`${c.user} left ${c.segment} without entering`);
      set.delete(c.user);
    }
  }
  return out;
}

export function feed(input: FeedInput, options: FeedOptions): FeedResult {
  const random = prng(options.seed);
  const keys = input.segments.map((s) => s.key);
  const changes: MembershipChange[] = [];
  const problems: string[] = [];
  const clock: StreamClock = options.kind === 'late-event-clock' ? 'event' : 'manual';
  const ev = createStreamEvaluator({
    segments: input.segments,
    latenessMs: options.latenessMs,
    clock,
    onChange: (c) => changes.push(c),
    onReject: (r) => problems.push(`rejected ${JSON.stringify(r.event)} (accepted from ${r.acceptedFromMs})`),
  });
  const fed: MemoryEvent[] = [];
  const profilesFed: FeedInput['profiles'][number][] = [];
  const blocksFed: StreamScoreBlock[] = [];
  let steps = 0;
  const check = (label: string) => {
    const asOf = ev.asOfMs;
    if (asOf === null) return;
    const data: MemoryDataset = { events: fed, profiles: mergedProfiles(profilesFed), scoreRuns: receivedRuns(blocksFed) };
    const batch = sortedMembers(evaluateSegments(input.segments, data, asOf));
    const stream = sortedMembers(membershipOf(ev, keys));
    if (JSON.stringify(batch) !== JSON.stringify(stream)) {
      problems.push(`${label} (asOf ${new Date(asOf).toISOString()}): stream ${JSON.stringify(stream)} but batch ${JSON.stringify(batch)}`);
    }
  };
  const step = (label: string) => {
    steps++;
    if (options.checkEvery && steps % options.checkEvery === 0) check(label);
  };

  // Profiles arrive interleaved with the events at random points.
  const events = options.kind === 'released' ? [...input.events] : withinLateness(input.events.filter((e) => e.ts < input.asOfMs), options.latenessMs, random);
  // Sorted, so profiles keep their order (a later value of a trait replaces an earlier one).
  const profileAt = input.profiles.map(() => Math.floor(random() * (events.length + 1))).sort((a, b) => a - b);
  // Score blocks in random order (a run's blocks in order), at random points (released: before the clock starts).
  const blocks = shuffled(scoreBlocks(input.scoreRuns ?? [], random), random);
  const blockAt = blocks.map(() => (options.kind === 'released' ? 0 : Math.floor(random() * (events.length + 1)))).sort((a, b) => a - b);
  const pushProfilesAt = (i: number) => {
    input.profiles.forEach((p, k) => {
      if (profileAt[k] !== i) return;
      ev.pushProfile(p.userId, p.traits);
      profilesFed.push(p);
      step(`after profile ${p.userId}`);
    });
    blocks.forEach((b, k) => {
      if (blockAt[k] !== i) return;
      ev.pushScores(b);
      blocksFed.push(b);
      step(`after score block ${JSON.stringify(b)}`);
    });
  };

  let clockMs = -Infinity;
  const minTs = Math.min(...events.map((e) => e.ts), input.asOfMs);
  events.forEach((e, i) => {
    pushProfilesAt(i);
    if (options.kind === 'late-manual-clock' && random() < 0.3) {
      // Move the clock somewhere around the events seen so far, never past asOf.
      // Never past the newest event, so no later arrival falls behind the lateness.
      const newest = Math.max(minTs, ...fed.map((x) => x.ts));
      const target = Math.min(input.asOfMs, newest - Math.floor(random() * 0.5 * options.latenessMs));
      if (target > clockMs) {
        ev.tick(target);
        clockMs = target;
        step(`after tick to ${new Date(target).toISOString()}`);
      }
    }
    const result = ev.push(e);
    if (result !== 'rejected') fed.push(e);
    if (result === 'applied' || options.kind !== 'released') step(`after event ${JSON.stringify(e)}`);
  });
  pushProfilesAt(events.length);
  ev.tick(input.asOfMs);
  // The batch sees only what exists as of asOf: events before it (a `released` feed holds later ones back).
  const fedBefore = fed.filter((e) => e.ts < input.asOfMs);
  fed.length = 0;
  fed.push(...fedBefore);
  check('at asOf');

  const final = membershipOf(ev, keys);
  try {
    const replayed = sortedMembers(replay(changes, keys));
    if (JSON.stringify(replayed) !== JSON.stringify(sortedMembers(final))) problems.push(`replaying the changes gives ${JSON.stringify(replayed)}, not the final membership`);
  } catch (e) {
    problems.push((e as Error).message);
  }
  for (let i = 1; i < changes.length; i++) {
    if (changes[i]!.at < changes[i - 1]!.at) problems.push(`changes out of order: ${JSON.stringify(changes[i - 1])} then ${JSON.stringify(changes[i])}`);
  }
  if (options.kind === 'released') problems.push(...checkInstants(input, changes));
  return { final, changes, problems, evaluator: ev };
}

/**
 * In a released feed every change is exact: for each (segment, user, at) whose changes do
 * not cancel out, the batch membership at `at` is the old value and at `at` + 1 the new
 * one. Changes at the clock's first instant come from profiles applied when it started
 * (profiles have no time; the batch sees them at every instant), so they are skipped.
 */
function checkInstants(input: FeedInput, changes: readonly MembershipChange[]): string[] {
  const problems: string[] = [];
  if (changes.length === 0) return problems;
  const firstEvent = Math.min(...input.events.map((e) => e.ts + 1), input.asOfMs);
  const net = new Map<string, MembershipChange[]>();
  for (const c of changes) {
    const k = JSON.stringify([c.segment, c.user, c.at]);
    net.set(k, [...(net.get(k) ?? []), c]);
  }
  const data: MemoryDataset = { events: input.events, profiles: mergedProfiles(input.profiles), scoreRuns: input.scoreRuns ?? [] };
  const batchAt = new Map<number, Map<string, Set<string>>>();
  const batch = (asOf: number) => {
    let m = batchAt.get(asOf);
    if (!m) batchAt.set(asOf, (m = evaluateSegments(input.segments, data, asOf)));
    return m;
  };
  for (const list of net.values()) {
    const first = list[0]!;
    const last = list[list.length - 1]!;
    if (list.length % 2 === 0) continue; // entered and left at one instant: nothing happened there
    if (first.at < firstEvent) continue;
    const before = batch(first.at).get(first.segment)!.has(first.user);
    const after = batch(first.at + 1).get(first.segment)!.has(first.user);
    const expectedAfter = last.type === 'entered';
    if (before !== !expectedAfter || after !== expectedAfter) {
      problems.push(`${last.type} ${last.segment} ${last.user} at ${new Date(last.at).toISOString()}: batch says member=${before} at that instant and ${after} 1 ms later`);
    }
  }
  return problems;
}

/** A shuffle that keeps the blocks of one run in their order (the later block of a split run after the earlier). */
function shuffled(blocks: readonly StreamScoreBlock[], random: () => number): StreamScoreBlock[] {
  const keyed = blocks.map((b, i) => ({ b, i, key: random() }));
  // A split run's second block takes a key after its first.
  for (let i = 1; i < keyed.length; i++) {
    const prev = keyed[i - 1]!;
    const cur = keyed[i]!;
    if (prev.b.model === cur.b.model && prev.b.runId === cur.b.runId && cur.key < prev.key) cur.key = prev.key + (1 - prev.key) * random();
  }
  keyed.sort((a, b) => a.key - b.key || a.i - b.i);
  return keyed.map((k) => k.b);
}
