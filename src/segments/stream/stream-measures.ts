/**
 * Measures: the numbers conditions compare (a count, a sum, K of a funnel, ...), computed
 * from a user's streaming state at asOf, with the same answers as the in-memory
 * evaluator (segments/evaluate/evaluate-segments.ts) over the same events.
 *
 * Each measure also says when its value may next change without new input (`nextChange`),
 * which is what makes time-driven exits exact: the value is constant on [asOf, next).
 * Count-like measures look further ahead (`nextResultChange`): the instant the count
 * crosses the condition's threshold, not the next time it moves, so a user is woken when
 * membership may change rather than whenever an event leaves a window.
 *
 * Folded measures (fixed or event-anchored windows over filters without time-relative
 * predicates) keep a summary of sealed events (older than watermark - lateness, so no
 * late event can land among them) and read only the unsealed tail raw. Summaries are
 * built in time order, so a sum adds its terms in the same order as the batch evaluator.
 * Absorbed measures (a count, min, max, distinct values, first or last time over a fixed
 * window) need no order at all: each event is folded in on arrival and nothing raw is kept.
 * Modes are described in stream-windows.ts.
 */
import { MS } from '../../time/time.js';
import { compareValues } from '../evaluate/compare.js';
import type { MemoryValue } from '../evaluate/index.js';
import type { PropertyPredicate } from '../ir/nodes.js';
import type { SessionList, SortedSeries } from './sorted-series.js';
import {
  foldRange,
  nextDynamicFlip,
  passesDynamic,
  payloadValue,
  resolveRange,
  type DynamicPredicate,
  type MeasureMode,
  type Range,
  type WindowSpec,
} from './stream-windows.js';
import type { UserState } from './user-state.js';

/** A measure's value: a comparable value, undefined when missing, null when an anchored window has no anchor. */
export type MeasureValue = MemoryValue | undefined | null;

/** How many future changes a lookahead simulates before settling for an early (but safe) wake-up. */
const LOOKAHEAD_STEPS = 64;

export interface SeriesSpec {
  readonly index: number;
  /** The event name, null for any event. */
  readonly event: string | null;
  /** Predicates without time-relative literals, tested once when an event arrives. */
  readonly where: readonly PropertyPredicate[];
  /** The properties whose values entries keep (the payload layout). */
  readonly props: string[];
  /** The longest sliding lookback among its readers, -1 when none slides. */
  lookback: number;
  /** The largest slack before the seal point its folded readers need raw, -1 when none folds. */
  foldSlack: number;
  /** Some reader needs every entry for as long as the user exists. */
  keepAll: boolean;
  /** Leaf conditions to re-evaluate when an entry is added. */
  readonly leaves: number[];
  /** Leaves whose measure can only grow when an entry is added (see Measure.growsWith). */
  readonly growLeaves: number[];
  /** Measures that fold each entry in as it arrives (mode 'absorbed'). */
  readonly absorbers: SeriesMeasure[];
  /** Whether entries are kept at all (some reader slides, folds or keeps raw). */
  stores: boolean;
}

export interface GapSpec {
  readonly index: number;
  readonly gapMs: number;
  lookback: number;
  keepAll: boolean;
  readonly folded: SessionsMeasure[];
  /** Leaves over session counts, over total or max duration, over average duration. */
  readonly countLeaves: number[];
  readonly sumLeaves: number[];
  readonly avgLeaves: number[];
}

export interface AnchorSpec {
  readonly index: number;
  readonly event: string | null;
  readonly where: readonly PropertyPredicate[];
  readonly leaves: number[];
}

export interface MeasureDependencies {
  readonly series: readonly SeriesSpec[];
  readonly gaps: readonly GapSpec[];
  readonly anchors: readonly number[];
  readonly traits: boolean;
}

export abstract class Measure {
  index = -1;
  /** The leaves over this measure (set by the plan). */
  readonly leaves: number[] = [];
  abstract readonly mode: MeasureMode;
  abstract value(u: UserState, asOf: number): MeasureValue;
  /** The earliest instant after asOf at which the value may change without new input. */
  abstract nextChange(u: UserState, asOf: number): number;
  abstract dependencies(): MeasureDependencies;

  /**
   * Series whose new entries never lower the value, at any instant: counts, distinct
   * values, active days, a sequence's K, regular periods. A condition that only tests
   * "value high enough" and holds stays true when such a series grows, until at least its
   * old next-change instant (and symmetrically for "low enough" and false), so it need not
   * be recomputed.
   */
  growsWith(): readonly SeriesSpec[] {
    return [];
  }

  /**
   * The earliest instant after asOf at which `test(value)` may change without new input.
   * Count-like measures override this with a lookahead; `targets` are the counts just
   * below each point where the test can change (countTargets in stream-leaves.ts).
   */
  nextResultChange(u: UserState, asOf: number, _current: MeasureValue, _test: (v: MeasureValue) => boolean, _targets: readonly number[]): number {
    return this.nextChange(u, asOf);
  }


  /** Folded measures: fold sealed events of [from, to) into the user's summary. */
  fold(_u: UserState, _from: number, _to: number): void {}

  /** See SeriesMeasure.growthHorizon; by default a new entry may change the value at once. */
  growthHorizon(asOf: number, _t: number): number {
    return asOf;
  }

  /** Whether the measure may be absorbed: its summary does not depend on the order of its events. */
  get absorbable(): boolean {
    return false;
  }

  /**
   * Where a numeric summary lives in UserState.state (set by the plan for counts and
   * first or last times), -1 for summaries kept in UserState.folds: a count or an instant
   * then costs no object and no extra load, which matters for `firstSeen` over every event.
   */
  slot = -1;

  /** Whether the summary is a plain number (it may then live in a state slot). */
  get numericFold(): boolean {
    return false;
  }

  foldOf(u: UserState): unknown {
    if (this.slot < 0) return u.folds[this.index];
    const v = u.state[this.slot]!;
    return Number.isNaN(v) ? undefined : v;
  }

  setFold(u: UserState, value: unknown): void {
    if (this.slot < 0) u.folds[this.index] = value;
    else u.state[this.slot] = value as number;
  }

  saveFold(state: unknown): unknown {
    return state;
  }

  loadFold(saved: unknown): unknown {
    return saved;
  }
}

const EMPTY: number[] = [];

/** absorbOne's answer when an entry leaves the summary as it was. */
export const UNCHANGED = Symbol('unchanged');

/** The entries of a series that pass dynamic predicates at asOf, as a fresh sorted list. */
function filtered(s: SortedSeries, width: number, dynamic: readonly DynamicPredicate[], from: number, to: number, asOf: number): { ts: number[]; vals: unknown[] } {
  const ts: number[] = [];
  const vals: unknown[] = [];
  const sv = s.vals!;
  for (let i = from; i < to; i++) {
    if (passesDynamic(sv[i], width, dynamic, asOf)) {
      ts.push(s.ts[i]!);
      vals.push(sv[i]);
    }
  }
  return { ts, vals };
}

function lowerBound(ts: readonly number[], from: number, to: number, t: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(ts: readonly number[], from: number, to: number, t: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The highest count below `current` where `test` differs from test(current), among the candidate targets (descending). */
function firstDifferentTarget(current: number, test: (v: MeasureValue) => boolean, targets: readonly number[]): number | undefined {
  const now = test(current);
  for (const t of targets) {
    if (t >= current || t < 0) continue;
    if (test(t) !== now) return t;
  }
  return undefined;
}

// ---- measures over one series ----------------------------------------------------------

/**
 * The shared machinery of measures over the matching events of one filter: the window
 * (sliding, fixed, anchored), dynamic predicates, folding and the next-change instants.
 * Subclasses say how entries reduce to a value.
 */
export abstract class SeriesMeasure extends Measure {
  protected readonly range: Range = { lo: 0, hi: 0 };
  protected readonly foldWindow: Range = { lo: 0, hi: 0 };

  constructor(
    readonly series: SeriesSpec,
    readonly dynamic: readonly DynamicPredicate[],
    readonly window: WindowSpec,
    public mode: MeasureMode,
    readonly anchorSeries: SeriesSpec | undefined,
  ) {
    super();
  }

  /** Set by the plan: whether the measure grows with its series (see growsWith), so absorbing marks its leaves GREW. */
  absorbGrows = false;

  /** Fold one arriving entry into the summary (absorbed mode); false when the summary did not change. */
  absorb(u: UserState, t: number, payload: unknown): boolean {
    const w = this.window as { lo: number; hi: number };
    if (!(t >= w.lo && t < w.hi)) return false;
    const before = this.foldOf(u);
    const after = this.absorbOne(before, t, payload);
    if (after === UNCHANGED) return false;
    this.setFold(u, after);
    return true;
  }

  /** The summary with one more entry, or UNCHANGED. */
  protected absorbOne(_state: unknown, _t: number, _payload: unknown): unknown {
    throw new Error(`${this.constructor.name} cannot absorb`);
  }

  /**
   * The first instant at which a new entry at t can change the value: a sliding window
   * ending before asOf takes it in only at t + end + 1. Until then the value (so the
   * result) stays as it was.
   */
  override growthHorizon(asOf: number, t: number): number {
    const w = this.window;
    if (w.kind !== 'sliding' || this.dynamic.length > 0) return asOf;
    if (t >= asOf - w.endMs) return t + w.endMs + 1;
    return t < asOf - w.startMs ? Infinity : asOf;
  }

  dependencies(): MeasureDependencies {
    const w = this.window;
    return {
      series: this.anchorSeries ? [this.series, this.anchorSeries] : [this.series],
      gaps: [],
      anchors: w.kind === 'eventAnchor' ? [w.anchor] : [],
      traits: w.kind === 'traitAnchor',
    };
  }

  protected get width(): number {
    return this.series.props.length;
  }

  /** For counting subclasses: the series grows the value unless it also moves the window's anchor. */
  protected countingGrowth(): readonly SeriesSpec[] {
    return this.anchorSeries === this.series ? [] : [this.series];
  }

  protected resolve(u: UserState, asOf: number): boolean {
    const a = this.anchorSeries;
    return resolveRange(this.window, u, asOf, this.range, a ? u.series[a.index] : undefined, a ? a.props.length : 0);
  }

  value(u: UserState, asOf: number): MeasureValue {
    if (!this.resolve(u, asOf)) return null;
    if (this.mode === 'absorbed') return this.combine(this.foldOf(u), EMPTY, null, 0, 0);
    const s = u.series[this.series.index];
    const { lo, hi } = this.range;
    if (this.mode === 'folded') {
      const state = this.foldOf(u);
      if (!s) return this.combine(state, EMPTY, null, 0, 0);
      const i = s.lowerBound(Math.max(lo, u.sealedTo));
      return this.combine(state, s.ts, s.vals, i, Math.max(i, s.lowerBound(hi)));
    }
    if (!s) return this.reduce(EMPTY, null, 0, 0);
    const i = s.lowerBound(lo);
    const j = Math.max(i, s.lowerBound(hi));
    if (this.dynamic.length === 0) return this.reduce(s.ts, s.vals, i, j);
    const f = filtered(s, this.width, this.dynamic, i, j, asOf);
    return this.reduce(f.ts, f.vals, 0, f.ts.length);
  }

  nextChange(u: UserState, asOf: number): number {
    if (this.mode === 'folded' || this.mode === 'absorbed') return Infinity;
    const s = u.series[this.series.index];
    let next = this.anchorFlip(u, asOf);
    if (!s) return next;
    const w = this.window;
    if (w.kind === 'sliding') {
      if (w.startMs <= w.endMs) return next;
      const i = s.lowerBound(asOf - w.startMs);
      const n = s.ts.length;
      const j = w.endMs === 0 ? n : s.lowerBound(asOf - w.endMs);
      if (i < j) next = Math.min(next, s.ts[i]! + w.startMs + 1);
      if (j < n) next = Math.min(next, s.ts[j]! + w.endMs + 1);
      if (this.dynamic.length > 0) next = Math.min(next, nextDynamicFlip(s, this.width, this.dynamic, i, n, asOf));
      return next;
    }
    if (this.dynamic.length > 0 && this.resolve(u, asOf)) {
      const i = s.lowerBound(this.range.lo);
      next = Math.min(next, nextDynamicFlip(s, this.width, this.dynamic, i, Math.max(i, s.lowerBound(this.range.hi)), asOf));
    }
    return next;
  }

  /** A dynamic anchor moves when one of its candidate events starts or stops matching. */
  private anchorFlip(u: UserState, asOf: number): number {
    const w = this.window;
    if (w.kind !== 'dynamicAnchor') return Infinity;
    const a = u.series[w.series];
    if (!a) return Infinity;
    return nextDynamicFlip(a, this.anchorSeries!.props.length, w.dynamic, a.head, a.ts.length, asOf);
  }

  override fold(u: UserState, from: number, to: number): void {
    const s = u.series[this.series.index];
    if (!s || !foldRange(this.window, u, to, this.foldWindow)) return;
    const i = s.lowerBound(Math.max(from, this.foldWindow.lo));
    const j = s.lowerBound(Math.min(to, this.foldWindow.hi));
    if (i < j) this.setFold(u, this.foldInto(this.foldOf(u), s.ts, s.vals, i, j));
  }

  /** The value over entries [i, j) of a sorted list. */
  protected abstract reduce(ts: readonly number[], vals: readonly unknown[] | null, i: number, j: number): MeasureValue;
  /** The value over a sealed summary (undefined: nothing sealed) and the tail entries [i, j). */
  protected abstract combine(state: unknown, ts: readonly number[], vals: readonly unknown[] | null, i: number, j: number): MeasureValue;
  /** The summary with entries [i, j) folded in, in time order. */
  protected abstract foldInto(state: unknown, ts: readonly number[], vals: readonly unknown[] | null, i: number, j: number): unknown;

  /** Sliding window ending at asOf over a static filter: values only fall as entries leave. */
  protected slidesDownOnly(): boolean {
    const w = this.window;
    return w.kind === 'sliding' && w.endMs === 0 && w.startMs > 0 && this.dynamic.length === 0;
  }
}

/** `did`: matching events in the window. Its summary is the count itself (a number, not an object: one less thing to load). */
export class CountMeasure extends SeriesMeasure {
  override growsWith(): readonly SeriesSpec[] {
    return this.countingGrowth();
  }

  protected reduce(_ts: readonly number[], _vals: readonly unknown[] | null, i: number, j: number): number {
    return j - i;
  }

  protected combine(state: unknown, _ts: readonly number[], _vals: readonly unknown[] | null, i: number, j: number): number {
    return ((state as number | undefined) ?? 0) + (j - i);
  }

  protected foldInto(state: unknown, _ts: readonly number[], _vals: readonly unknown[] | null, i: number, j: number): number {
    return ((state as number | undefined) ?? 0) + (j - i);
  }

  override get absorbable(): boolean {
    return true;
  }

  override get numericFold(): boolean {
    return true;
  }

  protected override absorbOne(state: unknown): number {
    return ((state as number | undefined) ?? 0) + 1;
  }

  override nextResultChange(u: UserState, asOf: number, currentValue: MeasureValue, test: (v: MeasureValue) => boolean, targets: readonly number[]): number {
    const w = this.window;
    if (w.kind !== 'sliding' || this.dynamic.length > 0 || w.startMs <= w.endMs) return this.nextChange(u, asOf);
    const s = u.series[this.series.index];
    if (!s) return Infinity;
    const current = currentValue as number;
    const i = s.lowerBound(asOf - w.startMs);
    if (w.endMs === 0) {
      // Entries leave in time order: the count is <= target once the (current - target)-th has left.
      const target = firstDifferentTarget(current, test, targets);
      return target === undefined ? Infinity : s.ts[i + (current - target) - 1]! + w.startMs + 1;
    }
    return simulateCount(s.ts, i, s.lowerBound(asOf - w.endMs), s.ts.length, w.startMs, w.endMs, current, test);
  }
}

/**
 * A window [asOf - start, asOf - end) with end > 0: entries [i, j) are inside, entries
 * [j, n) wait outside; an entry enters at t + end + 1 and leaves at t + start + 1. Walk the merged
 * instants until the test changes (or give up after LOOKAHEAD_STEPS instants, returning
 * the last one: the test is unchanged until then, so waking there is safe).
 */
function simulateCount(ts: readonly number[], i: number, j: number, n: number, start: number, end: number, current: number, test: (v: MeasureValue) => boolean): number {
  const now = test(current);
  let a = i;
  let b = j;
  let count = current;
  for (let step = 0; step < LOOKAHEAD_STEPS; step++) {
    // Entries [a, b) are inside: those that were, and those that entered since.
    const leave = a < b ? ts[a]! + start + 1 : Infinity;
    const enter = b < n ? ts[b]! + end + 1 : Infinity;
    const at = Math.min(leave, enter);
    if (at === Infinity) return Infinity;
    while (a < b && ts[a]! + start + 1 === at) {
      a++;
      count--;
    }
    while (b < n && ts[b]! + end + 1 === at) {
      b++;
      count++;
    }
    if (test(count) !== now) return at;
    if (step === LOOKAHEAD_STEPS - 1) return at;
  }
  return Infinity;
}

type AggregateFn = 'sum' | 'avg' | 'min' | 'max' | 'distinct';

interface SumFold {
  sum: number;
  n: number;
}
interface BestFold {
  best: MemoryValue | undefined;
}
interface DistinctFold {
  values: Set<MemoryValue>;
}

/**
 * `aggregate`: fn over the property's values on matching events, ignoring events without
 * it. Sums add in time order, like the batch evaluator; events at the same millisecond
 * add in arrival order there, so values that do not add exactly in binary (0.1) could
 * differ in the last bit from a batch that read them in another order.
 */
export class AggregateMeasure extends SeriesMeasure {
  constructor(
    series: SeriesSpec,
    dynamic: readonly DynamicPredicate[],
    window: WindowSpec,
    mode: MeasureMode,
    anchorSeries: SeriesSpec | undefined,
    readonly fn: AggregateFn,
    readonly propIndex: number,
  ) {
    super(series, dynamic, window, mode, anchorSeries);
  }

  override growsWith(): readonly SeriesSpec[] {
    return this.fn === 'distinct' ? this.countingGrowth() : [];
  }

  private at(vals: readonly unknown[] | null, k: number): MemoryValue | undefined {
    return vals === null ? undefined : payloadValue(vals[k], this.width, this.propIndex);
  }

  protected reduce(ts: readonly number[], vals: readonly unknown[] | null, i: number, j: number): MeasureValue {
    return this.combine(undefined, ts, vals, i, j);
  }

  protected combine(state: unknown, _ts: readonly number[], vals: readonly unknown[] | null, i: number, j: number): MeasureValue {
    switch (this.fn) {
      case 'sum':
      case 'avg': {
        const st = state as SumFold | undefined;
        let sum = st?.sum ?? 0;
        let n = st?.n ?? 0;
        for (let k = i; k < j; k++) {
          const v = this.at(vals, k);
          if (v === undefined) continue;
          sum += Number(v);
          n++;
        }
        if (n === 0) return undefined;
        return this.fn === 'sum' ? sum : sum / n;
      }
      case 'min':
      case 'max': {
        let best = (state as BestFold | undefined)?.best;
        for (let k = i; k < j; k++) best = this.better(best, this.at(vals, k));
        return best;
      }
      case 'distinct': {
        const sealed = (state as DistinctFold | undefined)?.values;
        if (j - i === 0) return sealed?.size ?? 0;
        const fresh = new Set<MemoryValue>();
        for (let k = i; k < j; k++) {
          const v = this.at(vals, k);
          if (v !== undefined && !sealed?.has(v)) fresh.add(v);
        }
        return (sealed?.size ?? 0) + fresh.size;
      }
    }
  }

  private better(best: MemoryValue | undefined, v: MemoryValue | undefined): MemoryValue | undefined {
    if (v === undefined) return best;
    if (best === undefined) return v;
    const c = compareValues(v, best);
    return c !== undefined && (this.fn === 'min' ? c < 0 : c > 0) ? v : best;
  }

  protected foldInto(state: unknown, _ts: readonly number[], vals: readonly unknown[] | null, i: number, j: number): unknown {
    switch (this.fn) {
      case 'sum':
      case 'avg': {
        const st = (state as SumFold | undefined) ?? { sum: 0, n: 0 };
        for (let k = i; k < j; k++) {
          const v = this.at(vals, k);
          if (v === undefined) continue;
          st.sum += Number(v);
          st.n++;
        }
        return st;
      }
      case 'min':
      case 'max': {
        const st = (state as BestFold | undefined) ?? { best: undefined };
        for (let k = i; k < j; k++) st.best = this.better(st.best, this.at(vals, k));
        return st;
      }
      case 'distinct': {
        const st = (state as DistinctFold | undefined) ?? { values: new Set<MemoryValue>() };
        for (let k = i; k < j; k++) {
          const v = this.at(vals, k);
          if (v !== undefined) st.values.add(v);
        }
        return st;
      }
    }
  }

  /** Sums and averages fold in time order instead, so they add their terms in the batch evaluator's order. */
  override get absorbable(): boolean {
    return this.fn === 'min' || this.fn === 'max' || this.fn === 'distinct';
  }

  protected override absorbOne(state: unknown, _t: number, payload: unknown): unknown {
    const v = payloadValue(payload, this.width, this.propIndex);
    if (v === undefined) return UNCHANGED;
    if (this.fn === 'distinct') {
      const st = (state as DistinctFold | undefined) ?? { values: new Set<MemoryValue>() };
      if (st.values.has(v)) return UNCHANGED;
      st.values.add(v);
      return st;
    }
    const st = (state as BestFold | undefined) ?? { best: undefined };
    const best = this.better(st.best, v);
    if (best === st.best) return UNCHANGED;
    st.best = best;
    return st;
  }

  override saveFold(state: unknown): unknown {
    if (this.fn === 'distinct') return { values: [...(state as DistinctFold).values] };
    if (this.fn === 'min' || this.fn === 'max') return { best: (state as BestFold).best ?? null };
    return state;
  }

  override loadFold(saved: unknown): unknown {
    if (this.fn === 'distinct') return { values: new Set((saved as { values: MemoryValue[] }).values) };
    if (this.fn === 'min' || this.fn === 'max') return { best: (saved as { best: MemoryValue | null }).best ?? undefined };
    return saved;
  }

  override nextResultChange(u: UserState, asOf: number, current: MeasureValue, test: (v: MeasureValue) => boolean, targets: readonly number[]): number {
    if (this.fn !== 'distinct' || !this.slidesDownOnly()) return this.nextChange(u, asOf);
    const s = u.series[this.series.index];
    if (!s) return Infinity;
    const target = firstDifferentTarget(current as number, test, targets);
    if (target === undefined) return Infinity;
    const start = (this.window as { startMs: number }).startMs;
    const last = lastOccurrences(s.ts, s.lowerBound(asOf - start), s.ts.length, (k) => this.at(s.vals, k));
    // Values leave the window when their last occurrence does, oldest first.
    return last[target]! + start + 1;
  }
}

/**
 * The times of the last occurrence of each distinct key among entries [i, j), newest first
 * (entry k's key is key(k); undefined keys are skipped). Entry `target` of the result is
 * the one whose departure leaves `target` distinct keys.
 */
function lastOccurrences(ts: readonly number[], i: number, j: number, key: (k: number) => unknown): number[] {
  const seen = SEEN;
  const out = OCCURRENCES;
  seen.clear();
  out.length = 0;
  for (let k = j - 1; k >= i; k--) {
    const v = key(k);
    if (v === undefined || seen.has(v)) continue;
    seen.add(v);
    out.push(ts[k]!);
  }
  seen.clear();
  return out;
}

/** Scratch for SessionsMeasure.durationsAhead. */
const SUFFIX: number[] = [];

/** Scratch for lastOccurrences, whose result is read at once. */
const SEEN = new Set<unknown>();
const OCCURRENCES: number[] = [];

interface DaysFold {
  days: number;
  lastDay: number;
}

/** Distinct UTC days with a matching event. */
export class ActiveDaysMeasure extends SeriesMeasure {
  override growsWith(): readonly SeriesSpec[] {
    return this.countingGrowth();
  }

  protected reduce(ts: readonly number[], _vals: readonly unknown[] | null, i: number, j: number): number {
    return this.combine(undefined, ts, null, i, j);
  }

  protected combine(state: unknown, ts: readonly number[], _vals: readonly unknown[] | null, i: number, j: number): number {
    const st = state as DaysFold | undefined;
    let days = st?.days ?? 0;
    let last = st?.lastDay ?? NaN;
    // Entries are sorted, so days come in order and each new day is a new distinct day.
    for (let k = i; k < j; k++) {
      const d = Math.floor(ts[k]! / MS.d);
      if (d !== last) {
        days++;
        last = d;
      }
    }
    return days;
  }

  protected foldInto(state: unknown, ts: readonly number[], _vals: readonly unknown[] | null, i: number, j: number): DaysFold {
    const st = (state as DaysFold | undefined) ?? { days: 0, lastDay: NaN };
    for (let k = i; k < j; k++) {
      const d = Math.floor(ts[k]! / MS.d);
      if (d !== st.lastDay) {
        st.days++;
        st.lastDay = d;
      }
    }
    return st;
  }

  override saveFold(state: unknown): unknown {
    const st = state as DaysFold;
    return { days: st.days, lastDay: Number.isNaN(st.lastDay) ? null : st.lastDay };
  }

  override loadFold(saved: unknown): unknown {
    const st = saved as { days: number; lastDay: number | null };
    return { days: st.days, lastDay: st.lastDay ?? NaN };
  }

  override nextResultChange(u: UserState, asOf: number, current: MeasureValue, test: (v: MeasureValue) => boolean, targets: readonly number[]): number {
    if (!this.slidesDownOnly()) return this.nextChange(u, asOf);
    const s = u.series[this.series.index];
    if (!s) return Infinity;
    const target = firstDifferentTarget(current as number, test, targets);
    if (target === undefined) return Infinity;
    const start = (this.window as { startMs: number }).startMs;
    const last = lastOccurrences(s.ts, s.lowerBound(asOf - start), s.ts.length, (k) => Math.floor(s.ts[k]! / MS.d));
    return last[target]! + start + 1;
  }
}

/**
 * `lastSeen` / `firstSeen`: the value is the instant of the last (first) matching event;
 * the condition compares asOf minus it (stream-leaves.ts adds the instants where that
 * elapsed time crosses the condition's durations).
 */
export class SeenMeasure extends SeriesMeasure {
  constructor(
    series: SeriesSpec,
    dynamic: readonly DynamicPredicate[],
    window: WindowSpec,
    mode: MeasureMode,
    anchorSeries: SeriesSpec | undefined,
    readonly which: 'last' | 'first',
  ) {
    super(series, dynamic, window, mode, anchorSeries);
  }

  protected reduce(ts: readonly number[], _vals: readonly unknown[] | null, i: number, j: number): number | undefined {
    if (j <= i) return undefined;
    return this.which === 'last' ? ts[j - 1] : ts[i];
  }

  protected combine(state: unknown, ts: readonly number[], _vals: readonly unknown[] | null, i: number, j: number): number | undefined {
    const sealed = state as number | undefined;
    if (this.which === 'first') return sealed ?? (j > i ? ts[i] : undefined);
    return j > i ? ts[j - 1] : sealed;
  }

  /** The summary is the instant itself. */
  protected foldInto(state: unknown, ts: readonly number[], _vals: readonly unknown[] | null, i: number, j: number): number {
    if (this.which === 'first') return (state as number | undefined) ?? ts[i]!;
    return ts[j - 1]!;
  }

  override get absorbable(): boolean {
    return true;
  }

  override get numericFold(): boolean {
    return true;
  }

  protected override absorbOne(state: unknown, t: number): unknown {
    const st = state as number | undefined;
    if (st !== undefined && !(this.which === 'first' ? t < st : t > st)) return UNCHANGED;
    return t;
  }
}

// ---- sequences and funnels -------------------------------------------------------------

export interface ChainStep {
  readonly series: SeriesSpec;
  readonly dynamic: readonly DynamicPredicate[];
}

/** A sorted list of instants: ts[from..to). */
interface Times {
  ts: readonly number[];
  from: number;
  to: number;
}

interface SpanFold {
  /** Best K among starts already final. */
  best: number;
  /** Starts before this instant are folded. */
  startsTo: number;
}

interface OpenFold {
  /** The greedy chain from the earliest start in the window: steps reached, and the time of the last. */
  k: number;
  prev: number;
}

/**
 * K of a sequence or funnel: the largest k such that events match steps 1..k at strictly
 * increasing times, step 1 in the window, step k strictly before step 1 + span. For a
 * given first event, taking each next step as early as possible reaches furthest, so K is
 * the best greedy chain over the candidate first events (as in the in-memory evaluator).
 *
 * Folded with a span, a first event is final once first + span is sealed: its chain can
 * no longer change, so only the best K of those is kept. Without a span the chain from
 * the earliest first event dominates every other; it is followed step by step through the
 * sealed part and kept as (k, time of step k).
 */
export class ChainMeasure extends Measure {
  private readonly range: Range = { lo: 0, hi: 0 };
  private readonly foldWindow: Range = { lo: 0, hi: 0 };

  constructor(
    readonly steps: readonly ChainStep[],
    readonly spanMs: number | null,
    readonly window: WindowSpec,
    readonly mode: MeasureMode,
    readonly anchorSeries: SeriesSpec | undefined,
  ) {
    super();
    this.times = steps.map(() => ({ ts: EMPTY, from: 0, to: 0 }));
  }

  /** More events can only make chains reach further. */
  override growsWith(): readonly SeriesSpec[] {
    return [...new Set(this.steps.map((s) => s.series))].filter((s) => s !== this.anchorSeries);
  }

  dependencies(): MeasureDependencies {
    const w = this.window;
    const series = [...new Set(this.steps.map((s) => s.series))];
    if (this.anchorSeries && !series.includes(this.anchorSeries)) series.push(this.anchorSeries);
    return { series, gaps: [], anchors: w.kind === 'eventAnchor' ? [w.anchor] : [], traits: w.kind === 'traitAnchor' };
  }

  private resolve(u: UserState, asOf: number): boolean {
    const a = this.anchorSeries;
    return resolveRange(this.window, u, asOf, this.range, a ? u.series[a.index] : undefined, a ? a.props.length : 0);
  }

  /** Reused per call (evaluation is one user at a time): a chain is evaluated for nearly every event of its steps. */
  private readonly times: Times[];

  /** Each step's instants: the series itself, or its entries passing the dynamic predicates at asOf. */
  private stepTimes(u: UserState, asOf: number): Times[] {
    const out = this.times;
    this.steps.forEach((step, k) => {
      const t = out[k]!;
      const s = u.series[step.series.index];
      if (!s) {
        t.ts = EMPTY;
        t.from = t.to = 0;
      } else if (step.dynamic.length === 0) {
        t.ts = s.ts;
        t.from = s.head;
        t.to = s.ts.length;
      } else {
        t.ts = filtered(s, step.series.props.length, step.dynamic, s.head, s.ts.length, asOf).ts;
        t.from = 0;
        t.to = t.ts.length;
      }
    });
    return out;
  }

  /** Steps reached from a chain at step k (1-based count) whose last step was at prev. */
  private extend(steps: readonly Times[], k: number, prev: number, deadline: number): number {
    while (k < steps.length) {
      const next = steps[k]!;
      const j = upperBound(next.ts, next.from, next.to, prev);
      if (j >= next.to || !(next.ts[j]! < deadline)) break;
      prev = next.ts[j]!;
      k++;
    }
    return k;
  }

  /** The best chain over first events in [lo, hi) of steps[0], never below `best`. */
  private bestFrom(steps: readonly Times[], lo: number, hi: number, best: number): number {
    const first = steps[0]!;
    const n = steps.length;
    let previousStart = NaN;
    for (let i = lowerBound(first.ts, first.from, first.to, lo); i < first.to && first.ts[i]! < hi && best < n; i++) {
      const start = first.ts[i]!;
      if (start === previousStart) continue;
      previousStart = start;
      const deadline = this.spanMs === null ? Infinity : start + this.spanMs;
      if (!(start < deadline)) continue;
      const k = this.extend(steps, 1, start, deadline);
      if (k > best) best = k;
    }
    return best;
  }

  value(u: UserState, asOf: number): MeasureValue {
    if (!this.resolve(u, asOf)) return null;
    const steps = this.stepTimes(u, asOf);
    const { lo, hi } = this.range;
    if (this.mode !== 'folded') return this.bestFrom(steps, lo, hi, 0);
    if (this.spanMs !== null) {
      const st = u.folds[this.index] as SpanFold | undefined;
      return this.bestFrom(steps, Math.max(lo, st?.startsTo ?? -Infinity), hi, st?.best ?? 0);
    }
    const st = u.folds[this.index] as OpenFold | undefined;
    if (st && st.k > 0) return this.extend(steps, st.k, st.prev, Infinity);
    // No first event sealed yet: the earliest unsealed one in the window starts the dominant chain.
    const first = steps[0]!;
    const i = lowerBound(first.ts, first.from, first.to, Math.max(lo, u.sealedTo));
    if (i >= first.to || !(first.ts[i]! < hi)) return 0;
    return this.extend(steps, 1, first.ts[i]!, Infinity);
  }

  nextChange(u: UserState, asOf: number): number {
    if (this.mode === 'folded') return Infinity;
    let next = Infinity;
    const w = this.window;
    if (w.kind === 'dynamicAnchor') {
      const a = u.series[w.series];
      if (a) next = nextDynamicFlip(a, this.anchorSeries!.props.length, w.dynamic, a.head, a.ts.length, asOf);
    }
    for (const step of this.steps) {
      if (step.dynamic.length === 0) continue;
      const s = u.series[step.series.index];
      if (s) next = Math.min(next, nextDynamicFlip(s, step.series.props.length, step.dynamic, s.head, s.ts.length, asOf));
    }
    if (w.kind === 'sliding' && w.startMs > w.endMs) {
      // First events leave at t + start + 1 and enter at t + end + 1; later steps never move.
      const s = u.series[this.steps[0]!.series.index];
      if (s) {
        const i = s.lowerBound(asOf - w.startMs);
        const n = s.ts.length;
        const j = w.endMs === 0 ? n : s.lowerBound(asOf - w.endMs);
        if (i < j) next = Math.min(next, s.ts[i]! + w.startMs + 1);
        if (j < n) next = Math.min(next, s.ts[j]! + w.endMs + 1);
      }
    }
    return next;
  }

  override fold(u: UserState, from: number, to: number): void {
    const steps = this.stepTimes(u, to);
    if (this.spanMs !== null) {
      const st = (u.folds[this.index] as SpanFold | undefined) ?? { best: 0, startsTo: -Infinity };
      // A first event t is final once t + span <= to.
      const startsTo = to - this.spanMs + 1;
      if (startsTo <= st.startsTo) return;
      if (foldRange(this.window, u, to, this.foldWindow)) {
        const lo = Math.max(st.startsTo, this.foldWindow.lo);
        const hi = Math.min(startsTo, this.foldWindow.hi);
        if (lo < hi) st.best = this.bestFrom(steps, lo, hi, st.best);
      }
      st.startsTo = startsTo;
      u.folds[this.index] = st;
      return;
    }
    let st = u.folds[this.index] as OpenFold | undefined;
    if (!st) {
      if (!foldRange(this.window, u, to, this.foldWindow)) return;
      const first = steps[0]!;
      const i = lowerBound(first.ts, first.from, first.to, Math.max(from, this.foldWindow.lo));
      if (i >= first.to || !(first.ts[i]! < Math.min(to, this.foldWindow.hi))) return;
      st = { k: 1, prev: first.ts[i]! };
      u.folds[this.index] = st;
    }
    // Follow the chain through the sealed part only: later steps may still arrive late after it.
    while (st.k < steps.length) {
      const next = steps[st.k]!;
      const j = upperBound(next.ts, next.from, next.to, st.prev);
      if (j >= next.to || !(next.ts[j]! < to)) break;
      st.prev = next.ts[j]!;
      st.k++;
    }
  }

  override saveFold(state: unknown): unknown {
    if (this.spanMs !== null) {
      const st = state as SpanFold;
      return { best: st.best, startsTo: Number.isFinite(st.startsTo) ? st.startsTo : null };
    }
    return state;
  }

  override loadFold(saved: unknown): unknown {
    if (this.spanMs !== null) {
      const st = saved as { best: number; startsTo: number | null };
      return { best: st.best, startsTo: st.startsTo ?? -Infinity };
    }
    return saved;
  }
}

// ---- regularly ------------------------------------------------------------------------

/** `regularly`: the number of the last N periods with `times` or more matching events (the leaf compares it with atLeast). */
export class RegularlyMeasure extends Measure {
  readonly mode: MeasureMode = 'sliding';

  constructor(
    readonly series: SeriesSpec,
    readonly dynamic: readonly DynamicPredicate[],
    readonly periodMs: number,
    readonly periods: number,
    readonly times: number,
  ) {
    super();
    this.pointers = new Int32Array(periods + 1);
    this.counts = new Int32Array(periods);
  }

  dependencies(): MeasureDependencies {
    return { series: [this.series], gaps: [], anchors: [], traits: false };
  }

  override growsWith(): readonly SeriesSpec[] {
    return [this.series];
  }

  private list(u: UserState, asOf: number): Times {
    const s = u.series[this.series.index];
    if (!s) return { ts: EMPTY, from: 0, to: 0 };
    if (this.dynamic.length === 0) return { ts: s.ts, from: s.head, to: s.ts.length };
    const f = filtered(s, this.series.props.length, this.dynamic, s.lowerBound(asOf - this.periods * this.periodMs), s.ts.length, asOf).ts;
    return { ts: f, from: 0, to: f.length };
  }

  private hitsAt(list: Times, asOf: number): number {
    let hits = 0;
    let end = lowerBound(list.ts, list.from, list.to, asOf);
    for (let k = 0; k < this.periods; k++) {
      const start = lowerBound(list.ts, list.from, end, asOf - (k + 1) * this.periodMs);
      if (end - start >= this.times) hits++;
      end = start;
    }
    return hits;
  }

  value(u: UserState, asOf: number): number {
    return this.hitsAt(this.list(u, asOf), asOf);
  }

  /** An entry t moves between periods at t + kP + 1, k = 1..N (it is in period 0 from t + 1 on). */
  private nextBoundary(list: Times, asOf: number): number {
    let next = Infinity;
    for (let k = 1; k <= this.periods; k++) {
      const i = lowerBound(list.ts, list.from, list.to, asOf - k * this.periodMs);
      if (i < list.to) next = Math.min(next, list.ts[i]! + k * this.periodMs + 1);
    }
    return next;
  }

  nextChange(u: UserState, asOf: number): number {
    const list = this.list(u, asOf);
    let next = this.nextBoundary(list, asOf);
    const s = u.series[this.series.index];
    if (s && this.dynamic.length > 0) {
      const from = s.lowerBound(asOf - this.periods * this.periodMs);
      next = Math.min(next, nextDynamicFlip(s, this.series.props.length, this.dynamic, from, s.ts.length, asOf));
    }
    return next;
  }

  /**
   * Walk future period boundaries, moving entries from period k - 1 to k as the clock
   * passes t + kP + 1, until the test on the number of full periods changes (or after a
   * bounded number of instants: waking there is safe, the result holds until then).
   */
  override nextResultChange(u: UserState, asOf: number, current: MeasureValue, test: (v: MeasureValue) => boolean): number {
    if (this.dynamic.length > 0) return this.nextChange(u, asOf);
    const list = this.list(u, asOf);
    const { ts, from, to } = list;
    const N = this.periods;
    const P = this.periodMs;
    const now = test(current);
    // Without input, at most floor(entries / times) periods can ever be full, and m full
    // periods need entries more than (m - 2) periods apart. When no reachable number of
    // full periods changes the test, it never changes.
    const oldest = lowerBound(ts, from, to, asOf - N * P);
    const span = to > oldest ? ts[to - 1]! - ts[oldest]! : 0;
    const most = Math.min(N, Math.floor((to - oldest) / this.times), span / P + 2);
    let reachable = false;
    for (let h = 0; h <= most && !reachable; h++) reachable = test(h) !== now;
    if (!reachable) return Infinity;
    const ptr = this.pointers;
    const counts = this.counts;
    const times = this.times;
    ptr[0] = to;
    for (let k = 1; k <= N; k++) ptr[k] = lowerBound(ts, from, to, asOf - k * P);
    let hits = 0;
    for (let k = 0; k < N; k++) {
      counts[k] = ptr[k]! - ptr[k + 1]!;
      if (counts[k]! >= times) hits++;
    }
    let at = asOf;
    // Without new events the last periods empty within a few periods, so a flip is usually
    // found within (periods x entries) crossings; the cap only bounds the rare long walk.
    for (let step = 0; step < 4 * LOOKAHEAD_STEPS; step++) {
      at = Infinity;
      for (let k = 1; k <= N; k++) {
        const p = ptr[k]!;
        if (p < to) {
          const crossing = ts[p]! + k * P + 1;
          if (crossing < at) at = crossing;
        }
      }
      if (at === Infinity) return Infinity;
      for (let k = 1; k <= N; k++) {
        while (ptr[k]! < to && ts[ptr[k]!]! + k * P + 1 === at) {
          if (counts[k - 1]!-- === times) hits--;
          if (k < N && ++counts[k]! === times) hits++;
          ptr[k]!++;
        }
      }
      if (test(hits) !== now) return at;
    }
    return at;
  }

  /** Scratch for the lookahead: per boundary, the next entry to cross it; per period, its entries. */
  private readonly pointers: Int32Array;
  private readonly counts: Int32Array;
}

// ---- sessions ---------------------------------------------------------------------------

interface SessionFold {
  n: number;
  total: number;
  max: number;
}

/**
 * `sessions` (stat 'count') and `sessionDuration` over one gap's session list. A session
 * belongs to the window holding its first event. Folded sessions are final ones (last
 * event + gap sealed: no late event can extend or join them).
 */
export class SessionsMeasure extends Measure {
  private readonly range: Range = { lo: 0, hi: 0 };
  private readonly foldWindow: Range = { lo: 0, hi: 0 };

  constructor(
    readonly gap: GapSpec,
    readonly stat: 'count' | 'avg' | 'max' | 'total',
    readonly window: WindowSpec,
    readonly mode: MeasureMode,
    readonly anchorSeries: SeriesSpec | undefined,
  ) {
    super();
  }

  dependencies(): MeasureDependencies {
    const w = this.window;
    return { series: this.anchorSeries ? [this.anchorSeries] : [], gaps: [this.gap], anchors: w.kind === 'eventAnchor' ? [w.anchor] : [], traits: w.kind === 'traitAnchor' };
  }

  private resolve(u: UserState, asOf: number): boolean {
    const a = this.anchorSeries;
    return resolveRange(this.window, u, asOf, this.range, a ? u.series[a.index] : undefined, a ? a.props.length : 0);
  }

  value(u: UserState, asOf: number): MeasureValue {
    if (!this.resolve(u, asOf)) return null;
    const list = u.sessions[this.gap.index];
    const sealed = this.mode === 'folded' ? (u.folds[this.index] as SessionFold | undefined) : undefined;
    let n = sealed?.n ?? 0;
    let total = sealed?.total ?? 0;
    let max = sealed?.max ?? 0;
    if (list) {
      let i = list.lowerBoundFirst(this.range.lo);
      if (this.mode === 'folded') i = Math.max(i, list.upperBoundFirst(list.foldedThrough));
      const j = list.lowerBoundFirst(this.range.hi);
      if (this.stat === 'count') n += Math.max(0, j - i);
      else {
        for (let k = i; k < j; k++) {
          const d = list.last[k]! - list.first[k]!;
          n++;
          total += d;
          if (d > max) max = d;
        }
      }
    }
    if (this.stat === 'count') return n;
    if (n === 0) return undefined;
    return this.stat === 'total' ? total : this.stat === 'max' ? max : total / n;
  }

  nextChange(u: UserState, asOf: number): number {
    const w = this.window;
    if (w.kind === 'dynamicAnchor') {
      const a = u.series[w.series];
      return a ? nextDynamicFlip(a, this.anchorSeries!.props.length, w.dynamic, a.head, a.ts.length, asOf) : Infinity;
    }
    if (w.kind !== 'sliding' || w.startMs <= w.endMs) return Infinity;
    const list = u.sessions[this.gap.index];
    if (!list) return Infinity;
    const i = list.lowerBoundFirst(asOf - w.startMs);
    const n = list.first.length;
    const j = w.endMs === 0 ? n : list.lowerBoundFirst(asOf - w.endMs);
    let next = Infinity;
    if (i < j) next = list.first[i]! + w.startMs + 1;
    if (j < n) next = Math.min(next, list.first[j]! + w.endMs + 1);
    return next;
  }

  override nextResultChange(u: UserState, asOf: number, current: MeasureValue, test: (v: MeasureValue) => boolean, targets: readonly number[]): number {
    const w = this.window;
    if (w.kind !== 'sliding' || w.startMs <= w.endMs) return this.nextChange(u, asOf);
    const list = u.sessions[this.gap.index];
    if (!list) return Infinity;
    const i = list.lowerBoundFirst(asOf - w.startMs);
    if (this.stat !== 'count') return w.endMs === 0 ? this.durationsAhead(list, i, w.startMs, test(current), test) : this.nextChange(u, asOf);
    const count = current as number;
    if (w.endMs === 0) {
      const target = firstDifferentTarget(count, test, targets);
      return target === undefined ? Infinity : list.first[i + (count - target) - 1]! + w.startMs + 1;
    }
    return simulateCount(list.first, i, list.lowerBoundFirst(asOf - w.endMs), list.first.length, w.startMs, w.endMs, count, test);
  }

  /**
   * A window ending at asOf over sessions [i, n): without input, sessions only leave, the
   * oldest first, at first + start + 1. Walk them out, recomputing the statistic the way
   * `value` does (integer milliseconds, so the running total is exact), until the test
   * changes.
   */
  private durationsAhead(list: SessionList, i: number, start: number, now: boolean, test: (v: MeasureValue) => boolean): number {
    const n = list.first.length;
    let total = 0;
    for (let k = i; k < n; k++) total += list.last[k]! - list.first[k]!;
    // The max of the sessions still inside after the first j have left: suffix maxima.
    const suffixMax = this.stat === 'max' ? SUFFIX : null;
    if (suffixMax) {
      suffixMax.length = n - i + 1;
      suffixMax[n - i] = -Infinity;
      for (let k = n - 1; k >= i; k--) suffixMax[k - i] = Math.max(suffixMax[k - i + 1]!, list.last[k]! - list.first[k]!);
    }
    const steps = Math.min(n, i + 4 * LOOKAHEAD_STEPS);
    for (let k = i; k < steps; k++) {
      total -= list.last[k]! - list.first[k]!;
      const left = n - k - 1;
      const value = left === 0 ? undefined : this.stat === 'total' ? total : this.stat === 'avg' ? total / left : suffixMax![k - i + 1]!;
      if (test(value) !== now) return list.first[k]! + start + 1;
    }
    return steps === n ? Infinity : list.first[steps - 1]! + start + 1;
  }

  /** Fold final sessions [i, j) of the list (sealed at `to`). */
  foldSessions(u: UserState, list: SessionList, i: number, j: number, to: number): void {
    if (!foldRange(this.window, u, to, this.foldWindow)) return;
    let st = u.folds[this.index] as SessionFold | undefined;
    for (let k = i; k < j; k++) {
      const first = list.first[k]!;
      if (first < this.foldWindow.lo || first >= this.foldWindow.hi) continue;
      st ??= { n: 0, total: 0, max: 0 };
      const d = list.last[k]! - first;
      st.n++;
      st.total += d;
      if (d > st.max) st.max = d;
    }
    if (st) u.folds[this.index] = st;
  }
}
