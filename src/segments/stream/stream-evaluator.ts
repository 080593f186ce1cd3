/**
 * The incremental (streaming) segment evaluator: the same segment IR and the same answers
 * as the batch engines, updated per event, with `entered` / `left` membership changes
 * emitted at the instant they happen.
 *
 * Clock. Every answer is as of an instant asOf (only events strictly before asOf exist).
 * With clock 'event', asOf follows the data: an event at t moves asOf to t + 1 ms when t
 * is the newest so far (the watermark). With clock 'manual', only `tick(now)` moves it
 * (the CLI's wall clock ticks with Date.now()); events at or after asOf wait, and take
 * effect when the clock passes them.
 *
 * Lateness. An event older than watermark - lateness (watermark = asOf - 1 ms) is
 * rejected and reported through `onReject`, never silently dropped. Anything older than
 * that point is sealed: no event can arrive there any more, which is what lets state
 * over long windows be summarized (stream-measures.ts).
 *
 * Changes. A change's `at` is the last instant with the old membership: membership is
 * the new value for every asOf after `at`. An event at t that makes a user enter has
 * at = t (as of t + 1 ms the event exists); a 30-day window that loses the event exits at
 * t + 30d. A late event, a profile update, or rows of a scoring run whose as_of has
 * passed, take effect at the clock's current instant; a run whose as_of is ahead of the
 * clock takes effect exactly at its as_of (at = as_of - 1 ms).
 * Time alone changes membership only through ticks (and, with clock 'event', through the
 * clock advancing with the data): each user carries the instant its conditions may next
 * change without input, and sits in a priority queue keyed by it, so a tick touches only
 * users due then.
 *
 * State layout and its bound (per user; see sorted-series.ts, stream-measures.ts):
 * - traits: the merged profile;
 * - per series (the matching events of one filter, shared by every condition on it):
 *   sorted times, plus the property values conditions read. Sliding windows keep entries
 *   back to asOf - (their longest window); folded readers keep only the tail not yet
 *   sealed (watermark - lateness, minus a sequence's span). Raw entries rather than
 *   per-day buckets: exact for windows whose edges fall anywhere in a day, and a count
 *   over a window is two binary searches anyway;
 * - per session gap: sessions as [first, last] pairs, back to the longest sliding window,
 *   plus those not final yet (last + gap not sealed);
 * - per event anchor: the time of the first matching event;
 * - per summarized measure: absorbed ones (fixed windows, order-free: a count, min, max,
 *   distinct values, first or last time) fold every event in on arrival and keep nothing
 *   raw; folded ones summarize sealed events (sum and n; distinct days and the last one;
 *   the best K of final first events of a sequence, or the dominant chain's progress;
 *   sessions' count, total and max duration) and read the unsealed tail raw;
 * - one number array (UserState.state): per leaf its result and next-change instant, per
 *   segment its membership and next-change instant, and numeric summaries.
 * Model scores (`score`, `percentile`, `cluster` conditions) are global, per model, not per
 * user: the runs not yet superseded, each with its rows (stream-scores.ts states the rule
 * and the bound); a queue of pending runs wakes the users a run concerns when the clock
 * reaches its as_of.
 * Sealing runs at most every SEAL_STEP_MS of a user's clock and a full trim every
 * TRIM_STEP_MS (a series is trimmed whenever it grows), so state may exceed the bound by
 * that much. So state is bounded by the events within (longest relative window +
 * lateness + those steps), except for what the definitions make inherently unbounded:
 * distinct values and active days over all history (one entry per value or day), and
 * conditions whose window can reach back arbitrarily (anchored on a trait, or on an event
 * whose filter compares with a time relative to asOf) or whose filter does (a
 * time-relative predicate on a window that is not relative): those keep their matching
 * events, as the batch evaluator would read them.
 *
 * Events are not deduplicated (ingest drops repeated event ids; a stream counts what it
 * is given).
 */
import { StrataError } from '../../errors/errors.js';
import type { MemoryValue } from '../evaluate/index.js';
import type { SegmentIR } from '../ir/nodes.js';
import type { MeasureCache } from './stream-leaves.js';
import type { Measure, MeasureValue, SeriesSpec } from './stream-measures.js';
import { compileStreamPlan, matchesStatic, payloadOf, PROGRAM_RESULT, type SegmentProgram, type StreamPlan } from './stream-plan.js';
import { ModelScores, type SavedScoreRun, type SavedScoreRow, type ScorePushResult, type StreamScoreBlock } from './stream-scores.js';
import { numberOrNull, SESSION_ADDED, SESSION_GREW, SESSION_RESHAPED, SessionList, SortedSeries, type SavedSeries, type SavedSessions } from './sorted-series.js';
import { TimerHeap } from './timer-heap.js';
import { UserState } from './user-state.js';

/** A typed event: timestamp-typed property values are epoch ms (see stream-input.ts for parsing JSON lines). */
export interface StreamEvent {
  readonly userId: string;
  readonly event: string;
  /** Epoch milliseconds, UTC. */
  readonly ts: number;
  readonly properties: Readonly<Record<string, MemoryValue>>;
}

export type StreamClock = 'event' | 'manual';

export interface MembershipChange {
  readonly type: 'entered' | 'left';
  readonly segment: string;
  readonly user: string;
  /** Epoch ms: the last instant with the old membership (see the file comment). */
  readonly at: number;
}

export interface RejectedEvent {
  readonly event: StreamEvent;
  readonly reason: 'late';
  /** Events before this instant (watermark - lateness) are rejected. */
  readonly acceptedFromMs: number;
}

export type PushResult = 'applied' | 'pending' | 'rejected';

export interface StreamEvaluatorOptions {
  readonly segments: readonly SegmentIR[];
  /** How late an event may arrive, behind the watermark; default DEFAULT_LATENESS_MS. Infinity accepts everything (and seals nothing). */
  readonly latenessMs?: number;
  /** Default 'event'. */
  readonly clock?: StreamClock;
  readonly onChange?: (change: MembershipChange) => void;
  readonly onReject?: (rejected: RejectedEvent) => void;
}

export interface StreamStats {
  readonly events: number;
  readonly applied: number;
  readonly pending: number;
  readonly rejectedLate: number;
  readonly profiles: number;
  readonly users: number;
  readonly changes: number;
  readonly wakeUps: number;
  /** Rows of scoring runs received (pushScores), used or not. */
  readonly scoreRows: number;
  /** null until the clock starts. */
  readonly asOfMs: number | null;
  readonly members: Readonly<Record<string, number>>;
}

export const DEFAULT_LATENESS_MS = 3_600_000;

/**
 * V8 flags a process running a stream should set (`strata stream` does): per line the
 * stream allocates a little that dies at once (the parsed JSON) and keeps a little (the
 * state it builds); a young generation larger than V8's default 16 MB per semi-space lets
 * the garbage die young instead of being promoted, about 15% faster on the demo stream.
 */
export const STREAM_V8_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

export const STREAM_STATE_FORMAT = 'strata-stream-state';
/** Version 2 added model scores (`scoreRun` lines); version 1 files (no scores) are still read. */
export const STREAM_STATE_VERSION = 2;
export const STREAM_STATE_READABLE_VERSIONS: readonly number[] = [1, 2];

export interface StreamStateHeader {
  readonly format: typeof STREAM_STATE_FORMAT;
  readonly version: number;
  readonly savedAt: string;
  readonly clock: StreamClock;
  readonly asOfMs: number | null;
  readonly latenessMs: number | null;
  /** Each segment with the sha256 of its IR; restoring against other definitions is refused. */
  readonly segments: readonly { readonly key: string; readonly hash: string }[];
  readonly layout: string;
  readonly counters: {
    readonly events: number;
    readonly applied: number;
    readonly rejectedLate: number;
    readonly profiles: number;
    readonly changes: number;
    readonly wakeUps: number;
    /** Absent in version 1. */
    readonly scoreRows?: number;
  };
}

export interface SavedUser {
  readonly id: string;
  readonly traits?: Readonly<Record<string, MemoryValue>>;
  /** Indices (in the header's segment order) of the segments the user is a member of. */
  readonly member: readonly number[];
  readonly wake: number | null;
  readonly sealedTo: number | null;
  readonly series?: Readonly<Record<string, SavedSeries>>;
  readonly sessions?: Readonly<Record<string, SavedSessions>>;
  readonly anchors?: Readonly<Record<string, number>>;
  readonly folds?: Readonly<Record<string, unknown>>;
}

export interface StreamSnapshot {
  readonly header: StreamStateHeader;
  readonly users: Iterable<SavedUser>;
  /** Events ahead of a manual clock, and profiles that arrived before the clock started. */
  readonly pending: readonly StreamEvent[];
  readonly preClockProfiles: readonly { readonly userId: string; readonly traits: Readonly<Record<string, MemoryValue>> }[];
  /** Scoring runs not superseded, with their rows (absent: none, as in version 1). */
  readonly scoreRuns?: Iterable<SavedScoreRun>;
}

/** Why a leaf is re-evaluated: only series its measure grows with gained entries, or anything else. */
const GREW = 1;
const CHANGED = 2;

/**
 * Sealing runs when a user is touched at least this long after the last time, and a sweep
 * trimming every series and session list at least TRIM_STEP_MS after the last (a series is
 * also trimmed whenever it gains an entry). State may then hold up to that much more than
 * it must, and per-event work stays small: touching every array of a user on every event
 * would cost a cache miss each.
 */
const SEAL_STEP_MS = 30 * 60_000;
const TRIM_STEP_MS = 24 * 3_600_000;

export function createStreamEvaluator(options: StreamEvaluatorOptions): StreamEvaluator {
  return new StreamEvaluator(options);
}

export class StreamEvaluator {
  readonly plan: StreamPlan;
  readonly clock: StreamClock;
  readonly latenessMs: number;
  private readonly onChange: (c: MembershipChange) => void;
  private readonly onReject: (r: RejectedEvent) => void;

  private readonly users = new Map<string, UserState>();
  private readonly wakes = new TimerHeap<UserState>((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  private readonly pending = new TimerHeap<StreamEvent>();
  /** Per scoring run ahead of the clock: its model, at its as_of (stale entries settle nothing). */
  private readonly activations = new TimerHeap<ModelScores>();
  private preClock: { userId: string; traits: Readonly<Record<string, MemoryValue | null | undefined>> }[] = [];
  private now = -Infinity;
  private readonly counts: { series: number; gaps: number; anchors: number; measures: number; leaves: number; segments: number; slots: number };

  /** Per leaf: why it must be re-evaluated (0, GREW, CHANGED); the marked ones are the first dirtyCount of dirtyList. */
  private readonly dirty: Uint8Array;
  private readonly dirtyList: number[] = [];
  private dirtyCount = 0;
  /** Segments over leaves that changed, likewise. */
  private readonly touched: Uint8Array;
  private readonly touchedList: number[] = [];
  private touchedCount = 0;
  private epoch = 0;
  private readonly valueEpoch: Int32Array;
  private readonly nextEpoch: Int32Array;
  private readonly values: MeasureValue[];
  private readonly nexts: Float64Array;
  private readonly cache: MeasureCache;
  private readonly memberCounts: number[];

  /** The time of the event being applied: series leaves marked GREW grew by an entry there. */
  private grownAt = NaN;
  private counters = { events: 0, applied: 0, rejectedLate: 0, profiles: 0, changes: 0, wakeUps: 0, scoreRows: 0 };

  constructor(options: StreamEvaluatorOptions) {
    this.plan = compileStreamPlan(options.segments);
    this.clock = options.clock ?? 'event';
    const lateness = options.latenessMs ?? DEFAULT_LATENESS_MS;
    if (!(lateness >= 0)) throw new StrataError('INPUT_INVALID', `lateness must be zero or more milliseconds, got ${lateness}`, [{ path: 'latenessMs', message: 'expected a duration >= 0' }]);
    this.latenessMs = lateness;
    this.onChange = options.onChange ?? (() => undefined);
    this.onReject = options.onReject ?? (() => undefined);
    const p = this.plan;
    this.counts = { series: p.series.length, gaps: p.gaps.length, anchors: p.anchors.length, measures: p.measures.length, leaves: p.leaves.length, segments: p.segments.length, slots: p.slots };
    this.dirty = new Uint8Array(p.leaves.length);
    this.touched = new Uint8Array(p.segments.length);
    this.valueEpoch = new Int32Array(p.measures.length);
    this.nextEpoch = new Int32Array(p.measures.length);
    this.values = new Array<MeasureValue>(p.measures.length).fill(undefined);
    this.nexts = new Float64Array(p.measures.length);
    this.memberCounts = new Array<number>(p.segments.length).fill(0);
    this.cache = {
      value: (m: Measure, u: UserState, asOf: number) => {
        const i = m.index;
        if (this.valueEpoch[i] !== this.epoch) {
          this.valueEpoch[i] = this.epoch;
          this.values[i] = m.value(u, asOf);
        }
        return this.values[i];
      },
      next: (m: Measure, u: UserState, asOf: number) => {
        const i = m.index;
        if (this.nextEpoch[i] !== this.epoch) {
          this.nextEpoch[i] = this.epoch;
          this.nexts[i] = m.nextChange(u, asOf);
        }
        return this.nexts[i]!;
      },
    };
  }

  /** The current asOf (epoch ms), or null before the clock has started. */
  get asOfMs(): number | null {
    return this.now === -Infinity ? null : this.now;
  }

  get segmentKeys(): string[] {
    return this.plan.segments.map((s) => s.key);
  }

  /** Apply one event. */
  push(e: StreamEvent): PushResult {
    this.counters.events++;
    if (this.clock === 'event') {
      const instant = e.ts + 1;
      if (this.now === -Infinity) this.startClock(instant);
      else if (e.ts < this.acceptedFrom()) return this.reject(e);
      if (instant > this.now) {
        this.runWakes(instant, false);
        this.now = instant;
      }
      this.apply(e, this.now);
      this.runWakes(this.now, true);
      return 'applied';
    }
    if (e.ts >= this.now) {
      this.pending.push(e.ts + 1, e);
      return 'pending';
    }
    if (e.ts < this.acceptedFrom()) return this.reject(e);
    this.apply(e, this.now);
    return 'applied';
  }

  /** Upsert traits (null or undefined keep the stored value), at the clock's current instant. */
  pushProfile(userId: string, traits: Readonly<Record<string, MemoryValue | null | undefined>>): void {
    this.counters.profiles++;
    if (this.now === -Infinity) {
      this.preClock.push({ userId, traits });
      return;
    }
    this.applyProfile(userId, traits, this.now);
  }

  /**
   * Move the clock to nowMs: apply the waiting events it passes and the time-driven
   * changes due up to it, in time order. A clock never goes back; an earlier nowMs does nothing.
   */
  tick(nowMs: number): void {
    if (!(nowMs > this.now)) return;
    if (this.now === -Infinity) this.startClock(Math.min(this.pending.peekTime(), nowMs));
    for (;;) {
      const tp = this.pending.peekTime();
      const tw = this.wakes.peekTime();
      const ta = this.activations.peekTime();
      const next = Math.min(tp, tw, ta);
      if (next > nowMs) break;
      if (next > this.now) this.now = next;
      // A run effective at t comes first, so everything evaluated at t reads it.
      if (ta <= tp && ta <= tw) this.activate();
      else if (tp <= tw) this.apply(this.pending.pop()!, this.now);
      else this.popWake();
    }
    this.now = nowMs;
  }

  /**
   * Rows of one scoring run (stream-scores.ts). A run effective at the clock (as_of at or
   * before it, and later than the run read until now) takes effect at the clock's current
   * instant, as a profile update does: the users of the old run and of this block are
   * re-evaluated. A run ahead of the clock takes effect when the clock reaches its as_of.
   * The rows of one block apply together, so send a run as one block where possible: a run
   * applied block by block is partly there in between (users of the old run whose new row
   * has not come yet have no value).
   */
  pushScores(block: StreamScoreBlock): ScorePushResult {
    this.counters.scoreRows += block.rows.length;
    const m = this.plan.models.get(block.model);
    if (!m) return 'unused';
    if (m.superseded(block.runId, block.asOfMs)) return 'superseded';
    const known = m.find(block.runId) !== undefined;
    const run = m.run(block.runId, block.asOfMs);
    for (const r of block.rows) run.rows.set(r.userId, { score: r.score, percentile: r.percentile, cluster: r.cluster });
    // Before the clock starts, every run waits (now is -Infinity); the start settles them.
    if (block.asOfMs > this.now) {
      if (!known) this.activations.push(block.asOfMs, m);
      return 'pending';
    }
    if (m.active !== run) this.settleModel(m, this.now);
    else this.reevaluate(m, block.rows.map((r) => r.userId), this.now);
    return 'applied';
  }

  /** Whether rows of this run would be read at or after the clock (false: superseded, or no segment reads the model). */
  wantsScoreRun(model: string, runId: number, asOfMs: number): boolean {
    const m = this.plan.models.get(model);
    return m !== undefined && !m.superseded(runId, asOfMs);
  }

  /** Whether the stream holds rows of this run already (restored from a state, or received). */
  hasScoreRun(model: string, runId: number): boolean {
    return this.plan.models.get(model)?.find(runId) !== undefined;
  }

  /** The models the evaluated segments read. */
  get scoreModels(): string[] {
    return [...this.plan.models.keys()];
  }

  /** Members of a segment as of the current clock. */
  membership(segmentKey: string): Set<string> {
    const k = this.segmentIndex(segmentKey);
    const out = new Set<string>();
    for (const u of this.users.values()) if (u.isMember(k)) out.add(u.id);
    return out;
  }

  isMember(segmentKey: string, userId: string): boolean {
    return this.users.get(userId)?.isMember(this.segmentIndex(segmentKey)) === true;
  }

  /** Users in the population (a profile or an applied event). */
  get population(): number {
    return this.users.size;
  }

  stats(): StreamStats {
    const members: Record<string, number> = {};
    this.plan.segments.forEach((s, i) => (members[s.key] = this.memberCounts[i]!));
    return { ...this.counters, pending: this.pending.size, users: this.users.size, asOfMs: this.asOfMs, members };
  }

  private segmentIndex(key: string): number {
    const s = this.plan.segments.find((x) => x.key === key);
    if (!s) {
      throw new StrataError('SEGMENT_NOT_FOUND', `segment "${key}" is not evaluated by this stream`, [
        { path: 'segment', message: `expected one of ${this.plan.segments.map((x) => x.key).join(', ')}` },
      ]);
    }
    return s.index;
  }

  private acceptedFrom(): number {
    return this.now - 1 - this.latenessMs;
  }

  private reject(e: StreamEvent): PushResult {
    this.counters.rejectedLate++;
    this.onReject({ event: e, reason: 'late', acceptedFromMs: this.acceptedFrom() });
    return 'rejected';
  }

  private startClock(instant: number): void {
    this.now = instant;
    // Runs that arrived before the clock: the one effective now is read from the start (no user exists yet).
    for (const m of this.plan.models.values()) this.settleModel(m, instant);
    const early = this.preClock;
    this.preClock = [];
    for (const p of early) this.applyProfile(p.userId, p.traits, instant);
  }

  /**
   * Re-evaluate users whose wake-up is before `limit` (or at it, when inclusive), and
   * settle scoring runs effective up to `limit` (inclusive: what is applied at limit reads them).
   */
  private runWakes(limit: number, inclusive: boolean): void {
    for (;;) {
      const t = this.wakes.peekTime();
      const ta = this.activations.peekTime();
      if (ta <= limit && ta <= t) {
        if (ta > this.now) this.now = ta;
        this.activate();
        continue;
      }
      if (t > limit || (t === limit && !inclusive)) return;
      if (t > this.now) this.now = t;
      this.popWake();
    }
  }

  /** The clock reached a pending run's as_of: its model reads the run effective now. */
  private activate(): void {
    this.settleModel(this.activations.pop()!, this.now);
  }

  private settleModel(m: ModelScores, asOf: number): void {
    const users = m.settle(asOf);
    if (users !== null) this.reevaluate(m, users, asOf);
  }

  /** Re-evaluate the model's leaves for these users (those not in the population yet are left for their first input). */
  private reevaluate(m: ModelScores, userIds: Iterable<string>, asOf: number): void {
    for (const id of userIds) {
      const u = this.users.get(id);
      if (!u) continue;
      this.prepare(u, asOf);
      this.markDirty(m.leaves, CHANGED);
      this.evaluate(u, asOf);
    }
  }

  private popWake(): void {
    const t = this.wakes.peekTime();
    const u = this.wakes.pop()!;
    // A user rescheduled earlier left this entry behind.
    if (u.queued !== t) return;
    u.queued = Infinity;
    if (u.wake <= t) {
      this.counters.wakeUps++;
      this.prepare(u, t);
      this.evaluate(u, t);
    } else this.schedule(u, u.wake);
  }

  private user(id: string): UserState {
    let u = this.users.get(id);
    if (!u) {
      u = new UserState(id, this.counts);
      this.users.set(id, u);
    }
    return u;
  }

  private apply(e: StreamEvent, asOf: number): void {
    this.counters.applied++;
    this.grownAt = e.ts;
    const u = this.user(e.userId);
    this.prepare(u, asOf);
    const d = this.plan.dispatch(e.event);
    const props = e.properties;
    for (const spec of d.series) {
      if (spec.where.length > 0 && !matchesStatic(spec.where, props)) continue;
      const payload = payloadOf(spec, props);
      for (const m of spec.absorbers) if (m.absorb(u, e.ts, payload)) this.markDirty(m.leaves, m.absorbGrows ? GREW : CHANGED);
      if (spec.stores) {
        let s = u.series[spec.index];
        if (!s) u.series[spec.index] = s = new SortedSeries(spec.props.length > 0);
        else if (!spec.keepAll) {
          const from = this.retainFrom(spec, u, asOf);
          if (from < Infinity) s.trimBefore(from);
        }
        s.insert(e.ts, payload);
      }
      this.markDirty(spec.leaves, CHANGED);
      this.markDirty(spec.growLeaves, GREW);
    }
    for (const a of d.anchors) {
      if (e.ts >= u.anchors[a.index]! || (a.where.length > 0 && !matchesStatic(a.where, props))) continue;
      u.anchors[a.index] = e.ts;
      this.markDirty(a.leaves, CHANGED);
    }
    for (const g of this.plan.gaps) {
      let list = u.sessions[g.index];
      if (!list) u.sessions[g.index] = list = new SessionList();
      switch (list.add(e.ts, g.gapMs)) {
        case SESSION_GREW:
          // Same sessions, same first events: counts unchanged, durations grew.
          this.markDirty(g.sumLeaves, GREW);
          this.markDirty(g.avgLeaves, GREW);
          break;
        case SESSION_ADDED:
          // One more session: counts cannot fall; durations may go from missing to 0, or an average fall.
          this.markDirty(g.countLeaves, GREW);
          this.markDirty(g.sumLeaves, CHANGED);
          this.markDirty(g.avgLeaves, CHANGED);
          break;
        case SESSION_RESHAPED:
          this.markDirty(g.countLeaves, CHANGED);
          this.markDirty(g.sumLeaves, CHANGED);
          this.markDirty(g.avgLeaves, CHANGED);
          break;
      }
    }
    this.evaluate(u, asOf);
  }

  private applyProfile(userId: string, traits: Readonly<Record<string, MemoryValue | null | undefined>>, asOf: number): void {
    const u = this.user(userId);
    this.prepare(u, asOf);
    const merged: Record<string, MemoryValue> = u.traits ?? {};
    for (const [name, value] of Object.entries(traits)) {
      if (value === null || value === undefined) continue;
      // defineProperty: a trait named __proto__ stays data.
      Object.defineProperty(merged, name, { value, enumerable: true, writable: true, configurable: true });
    }
    u.traits = merged;
    this.markDirty(this.plan.traitLeaves, CHANGED);
    this.evaluate(u, asOf);
  }

  private markDirty(leaves: readonly number[], how: number): void {
    for (const i of leaves) {
      const was = this.dirty[i]!;
      if (was === 0) this.dirtyList[this.dirtyCount++] = i;
      if (how > was) this.dirty[i] = how;
    }
  }

  /** Seal what can no longer change, then drop what no condition will read again. */
  private prepare(u: UserState, asOf: number): void {
    const sealTo = asOf - 1 - this.latenessMs;
    if (sealTo >= u.sealedTo + SEAL_STEP_MS) this.seal(u, sealTo);
    if (asOf >= u.trimmedAt + TRIM_STEP_MS) {
      u.trimmedAt = asOf;
      this.trim(u, asOf);
    }
  }

  /** Where a series may be trimmed: before the oldest entry any reader still needs. */
  private retainFrom(spec: SeriesSpec, u: UserState, asOf: number): number {
    if (spec.keepAll) return -Infinity;
    let from = Infinity;
    if (spec.lookback >= 0) from = asOf - spec.lookback;
    if (spec.foldSlack >= 0) from = Math.min(from, u.sealedTo - spec.foldSlack);
    return from;
  }

  private seal(u: UserState, to: number): void {
    const from = u.sealedTo;
    for (const m of this.plan.folded) m.fold(u, from, to);
    for (const g of this.plan.gaps) {
      if (g.folded.length === 0) continue;
      const list = u.sessions[g.index];
      if (!list) continue;
      const i0 = list.upperBoundFirst(list.foldedThrough);
      let i1 = i0;
      // Final sessions form a prefix: a later one ends later.
      while (i1 < list.first.length && list.last[i1]! + g.gapMs <= to) i1++;
      if (i1 === i0) continue;
      for (const m of g.folded) m.foldSessions(u, list, i0, i1, to);
      list.foldedThrough = list.first[i1 - 1]!;
    }
    u.sealedTo = to;
  }

  private trim(u: UserState, asOf: number): void {
    for (const spec of this.plan.series) {
      const s = u.series[spec.index];
      if (!s || spec.keepAll) continue;
      const from = this.retainFrom(spec, u, asOf);
      if (from > -Infinity && from < Infinity) s.trimBefore(from);
    }
    for (const g of this.plan.gaps) {
      const list = u.sessions[g.index];
      if (!list || g.keepAll) continue;
      // Drop final sessions no sliding window reaches any more, once folded (when something folds them).
      const slideFrom = g.lookback >= 0 ? asOf - g.lookback : Infinity;
      const firstBefore = g.folded.length > 0 ? Math.min(slideFrom, list.foldedThrough + 1) : slideFrom;
      list.trimFinal(u.sealedTo - g.gapMs, firstBefore);
    }
  }

  private evaluate(u: UserState, asOf: number): void {
    this.epoch = (this.epoch + 1) | 0;
    const leaves = this.plan.leaves;
    const stale = u.stale;
    const state = u.state;
    for (let i = 0; i < leaves.length; i++) {
      const dirty = this.dirty[i];
      const next = state[2 * i]!;
      if (!stale && dirty === 0 && next > asOf) continue;
      const leaf = leaves[i]!;
      if (!stale && dirty === GREW && next > asOf) {
        // Only series the measure grows with gained an entry, and the cached result still holds at asOf.
        if (leaf.keepsOnGrowth(state[2 * i + 1]!)) continue;
        // The entry counts only from its horizon on: until then nothing changes.
        const horizon = leaf.measure!.growthHorizon(asOf, this.grownAt);
        if (horizon > asOf) {
          if (horizon < next) {
            state[2 * i] = horizon;
            this.touch(i);
          }
          continue;
        }
      }
      const before = state[2 * i + 1];
      leaf.evaluate(u, asOf, this.cache);
      // The contract is next > asOf; re-evaluating sooner than needed is always safe.
      if (!(state[2 * i]! > asOf)) state[2 * i] = asOf + 1;
      if (state[2 * i + 1] !== before || state[2 * i] !== next) this.touch(i);
    }
    for (let k = 0; k < this.dirtyCount; k++) this.dirty[this.dirtyList[k]!] = 0;
    this.dirtyCount = 0;
    // Segments, not leaves, decide the wake-up (a leaf that cannot change membership does
    // not count), and only segments over touched leaves need running again.
    const segments = this.plan.segments;
    if (stale) for (const s of segments) this.runSegment(u, s, asOf);
    else {
      // In segment order, not the order the leaves were touched in: changes at one instant
      // must come out in the same order whatever history led here (a stream restored from a
      // state file re-evaluates its users from scratch, in segment order).
      sortPrefix(this.touchedList, this.touchedCount);
      for (let k = 0; k < this.touchedCount; k++) this.runSegment(u, segments[this.touchedList[k]!]!, asOf);
    }
    for (let k = 0; k < this.touchedCount; k++) this.touched[this.touchedList[k]!] = 0;
    this.touchedCount = 0;
    let wake = Infinity;
    const end = u.segmentBase + 2 * segments.length;
    for (let at = u.segmentBase; at < end; at += 2) if (state[at]! < wake) wake = state[at]!;
    u.stale = false;
    // Every bound is after asOf by construction; should one not be, re-evaluating a
    // millisecond later is still exact, and the queue can never spin on one instant.
    this.schedule(u, wake > asOf ? wake : asOf + 1);
  }

  /** Leaf i changed (result or next instant): its segments must run again. */
  private touch(i: number): void {
    for (const k of this.plan.leafSegments[i]!) {
      if (this.touched[k] === 0) {
        this.touched[k] = 1;
        this.touchedList[this.touchedCount++] = k;
      }
    }
  }

  private runSegment(u: UserState, s: SegmentProgram, asOf: number): void {
    const at = u.segmentBase + 2 * s.index;
    u.state[at] = s.run(u.state);
    this.updateMembership(u, s, PROGRAM_RESULT.value ? 1 : 0, asOf);
  }

  private updateMembership(u: UserState, s: SegmentProgram, m: number, asOf: number): void {
    const at = u.segmentBase + 2 * s.index + 1;
    if (m === u.state[at]) return;
    u.state[at] = m;
    this.memberCounts[s.index]! += m === 1 ? 1 : -1;
    this.counters.changes++;
    this.onChange({ type: m === 1 ? 'entered' : 'left', segment: s.key, user: u.id, at: asOf - 1 });
  }

  private schedule(u: UserState, wake: number): void {
    u.wake = wake;
    if (wake < u.queued) {
      u.queued = wake;
      this.wakes.push(wake, u);
    }
  }

  // ---- snapshots --------------------------------------------------------------------------

  /** The whole state, for stream-state-file.ts (or any other store). Users are produced lazily. */
  snapshot(): StreamSnapshot {
    const header: StreamStateHeader = {
      format: STREAM_STATE_FORMAT,
      version: STREAM_STATE_VERSION,
      savedAt: new Date().toISOString(),
      clock: this.clock,
      asOfMs: this.asOfMs,
      latenessMs: numberOrNull(this.latenessMs),
      segments: this.plan.segments.map((s) => ({ key: s.key, hash: s.hash })),
      layout: this.plan.layout,
      counters: { ...this.counters },
    };
    const pending = this.pending
      .entries()
      .map(([, e]) => e)
      .sort((a, b) => a.ts - b.ts);
    const preClockProfiles = this.preClock.map((p) => ({ userId: p.userId, traits: definedTraits(p.traits) }));
    return { header, users: this.savedUsers(), pending, preClockProfiles, scoreRuns: this.savedScoreRuns() };
  }

  private *savedScoreRuns(): Generator<SavedScoreRun> {
    for (const m of this.plan.models.values()) {
      for (const r of m.runs) {
        const rows: SavedScoreRow[] = [];
        for (const [id, v] of r.rows) rows.push([id, v.score, v.percentile, v.cluster]);
        yield { model: m.model, runId: r.runId, asOfMs: r.asOfMs, rows };
      }
    }
  }

  private *savedUsers(): Generator<SavedUser> {
    for (const u of this.users.values()) yield this.saveUser(u);
  }

  private saveUser(u: UserState): SavedUser {
    const member: number[] = [];
    for (let k = 0; k < this.plan.segments.length; k++) if (u.isMember(k)) member.push(k);
    const series: Record<string, SavedSeries> = {};
    u.series.forEach((s, i) => s && s.size > 0 && (series[i] = s.save()));
    const sessions: Record<string, SavedSessions> = {};
    u.sessions.forEach((s, i) => s && (sessions[i] = s.save()));
    const anchors: Record<string, number> = {};
    u.anchors.forEach((a, i) => a !== Infinity && (anchors[i] = a));
    const folds: Record<string, unknown> = {};
    for (const m of this.plan.measures) {
      const f = m.foldOf(u);
      if (f !== undefined) folds[m.index] = m.saveFold(f);
    }
    return {
      id: u.id,
      ...(u.traits ? { traits: u.traits } : {}),
      member,
      wake: numberOrNull(u.wake),
      sealedTo: numberOrNull(u.sealedTo),
      ...(Object.keys(series).length > 0 ? { series } : {}),
      ...(Object.keys(sessions).length > 0 ? { sessions } : {}),
      ...(Object.keys(anchors).length > 0 ? { anchors } : {}),
      ...(Object.keys(folds).length > 0 ? { folds } : {}),
    };
  }

  /**
   * A fresh evaluator continuing from a snapshot. The definitions must be the ones the
   * state was saved with (same keys, same IR hashes), and the clock the same kind; the
   * lateness may shrink but not grow (what was sealed stays sealed).
   */
  static restore(options: StreamEvaluatorOptions, snapshot: StreamSnapshot): StreamEvaluator {
    const ev = new StreamEvaluator(options);
    ev.load(snapshot);
    return ev;
  }

  private load(snapshot: StreamSnapshot): void {
    const h = snapshot.header;
    checkHeader(h, this);
    this.now = h.asOfMs ?? -Infinity;
    this.counters = { ...h.counters, scoreRows: h.counters.scoreRows ?? 0 };
    for (const e of snapshot.pending) this.pending.push(e.ts + 1, e);
    this.preClock = snapshot.preClockProfiles.map((p) => ({ userId: p.userId, traits: p.traits }));
    this.loadScoreRuns(snapshot.scoreRuns ?? []);
    for (const saved of snapshot.users) this.loadUser(saved);
  }

  /** Saved runs (a run may span several entries); the run effective at the clock is active again, later ones wait for it. */
  private loadScoreRuns(saved: Iterable<SavedScoreRun>): void {
    const pending = new Set<string>();
    for (const r of saved) {
      const m = this.plan.models.get(r.model);
      // checkHeader has matched the definitions, so every saved model is read.
      if (!m) throw new StrataError('STATE_INCOMPATIBLE', `stream state: scores of model "${r.model}", which no evaluated segment reads`, [{ path: `scoreRun.${r.model}`, message: 'expected the models of the saved segments' }]);
      const run = m.run(r.runId, r.asOfMs);
      for (const [id, score, percentile, cluster] of r.rows) run.rows.set(id, { score, percentile, cluster });
      if ((this.now === -Infinity || r.asOfMs > this.now) && !pending.has(`${r.model}\u0000${r.runId}`)) {
        pending.add(`${r.model}\u0000${r.runId}`);
        this.activations.push(r.asOfMs, m);
      }
    }
    if (this.now !== -Infinity) for (const m of this.plan.models.values()) m.settle(this.now);
  }

  private loadUser(saved: SavedUser): void {
    const u = this.user(saved.id);
    const p = this.plan;
    if (saved.traits) u.traits = { ...saved.traits };
    for (const k of saved.member) {
      u.state[u.segmentBase + 2 * k + 1] = 1;
      this.memberCounts[k]!++;
    }
    u.sealedTo = saved.sealedTo ?? -Infinity;
    for (const [i, s] of Object.entries(saved.series ?? {})) u.series[Number(i)] = SortedSeries.load(s, p.series[Number(i)]!.props.length);
    for (const [i, s] of Object.entries(saved.sessions ?? {})) u.sessions[Number(i)] = SessionList.load(s);
    for (const [i, a] of Object.entries(saved.anchors ?? {})) u.anchors[Number(i)] = a;
    for (const [i, f] of Object.entries(saved.folds ?? {})) {
      const m = p.measures[Number(i)]!;
      m.setFold(u, m.loadFold(f));
    }
    // Leaf caches are rebuilt at the next evaluation (u.stale); the wake-up stays as saved.
    u.stale = true;
    if (saved.wake !== null) this.schedule(u, saved.wake);
  }
}

function definedTraits(traits: Readonly<Record<string, MemoryValue | null | undefined>>): Record<string, MemoryValue> {
  const out: Record<string, MemoryValue> = {};
  for (const [k, v] of Object.entries(traits)) if (v !== null && v !== undefined) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

function checkHeader(h: StreamStateHeader, ev: StreamEvaluator): void {
  const where = 'stream state';
  if ((h as { format?: unknown }).format !== STREAM_STATE_FORMAT) {
    throw new StrataError('STATE_INCOMPATIBLE', `${where}: not a Strata stream state (format ${JSON.stringify((h as { format?: unknown }).format)})`, [
      { path: 'format', message: `expected "${STREAM_STATE_FORMAT}"` },
    ]);
  }
  if (!STREAM_STATE_READABLE_VERSIONS.includes(h.version)) {
    throw new StrataError('STATE_INCOMPATIBLE', `${where}: version ${JSON.stringify(h.version)} is not readable by this Strata, which reads versions ${STREAM_STATE_READABLE_VERSIONS.join(' and ')}`, [
      { path: 'version', message: `expected one of ${STREAM_STATE_READABLE_VERSIONS.join(', ')}` },
    ]);
  }
  const saved = new Map(h.segments.map((s) => [s.key, s.hash]));
  const now = new Map(ev.plan.segments.map((s) => [s.key, s.hash]));
  const details = [
    ...[...now.keys()].filter((k) => !saved.has(k)).map((k) => ({ path: `segments.${k}`, message: 'not in the saved state (added since)' })),
    ...[...saved.keys()].filter((k) => !now.has(k)).map((k) => ({ path: `segments.${k}`, message: 'in the saved state but not evaluated now' })),
    ...[...now].filter(([k, hash]) => saved.has(k) && saved.get(k) !== hash).map(([k]) => ({ path: `segments.${k}`, message: 'its definition changed since the state was saved' })),
  ];
  if (details.length > 0 || h.layout !== ev.plan.layout) {
    throw new StrataError(
      'STATE_INCOMPATIBLE',
      `${where} was saved for other segment definitions; start from an empty state (and replay history) to evaluate these`,
      details.length > 0 ? details : [{ path: 'layout', message: 'the segments differ from the saved ones' }],
    );
  }
  if (h.clock !== ev.clock) {
    throw new StrataError('STATE_INCOMPATIBLE', `${where} was saved with the ${h.clock} clock; restore it with the same clock`, [
      { path: 'clock', message: `expected "${h.clock}"` },
    ]);
  }
  const savedLateness = h.latenessMs ?? Infinity;
  if (ev.latenessMs > savedLateness) {
    throw new StrataError('STATE_INCOMPATIBLE', `${where} was saved with a lateness of ${savedLateness} ms; it cannot grow to ${ev.latenessMs} ms (older events are already sealed)`, [
      { path: 'latenessMs', message: `expected at most ${savedLateness}` },
    ]);
  }
}

/** Sort list[0..n) ascending in place; n is the handful of segments one evaluation touched, so insertion sort. */
function sortPrefix(list: number[], n: number): void {
  for (let i = 1; i < n; i++) {
    const v = list[i]!;
    let j = i - 1;
    while (j >= 0 && list[j]! > v) {
      list[j + 1] = list[j]!;
      j--;
    }
    list[j + 1] = v;
  }
}
