/**
 * The in-memory evaluator: the segment IR run directly over plain data. It is the second
 * engine that the spec vectors and the differential test hold against the SQL compiler,
 * and the core of later realtime and SDK evaluation, so it follows the IR's comments
 * (segments/ir/nodes.ts) to the letter and never throws on data.
 */
import { MS } from '../../time/time.js';
import {
  visit,
  type Condition,
  type ConditionVisitor,
  type EventFilter,
  type SegmentIR,
  type Window,
} from '../ir/nodes.js';
import { consentDecision, consentRecordFilter } from '../ir/consent-filters.js';
import { applyComparison, compareValues } from './compare.js';
import {
  indexDataset,
  lowerBound,
  selectScoreRuns,
  upperBound,
  type MemoryDataset,
  type MemoryEvent,
  type MemoryScoreValues,
  type MemoryValue,
  type SelectedScores,
  type UserHistory,
} from './memory-dataset.js';

/** A resolved window: the instants [lo, hi), already cut at asOf. */
interface Range {
  readonly lo: number;
  readonly hi: number;
}

interface Session {
  readonly first: number;
  readonly last: number;
}

/**
 * Evaluate each segment as of asOfMs: segment key -> the ids of its members among the
 * population (users with a profile or at least one event before asOf).
 */
export function evaluateSegments(segments: readonly SegmentIR[], data: MemoryDataset, asOfMs: number): Map<string, Set<string>> {
  const users = indexDataset(data, asOfMs);
  const evaluator = new UserEvaluator(asOfMs, selectScoreRuns(data.scoreRuns, asOfMs));
  const out = new Map<string, Set<string>>();
  for (const s of segments) out.set(s.key, new Set());
  for (const user of users.values()) {
    evaluator.reset(user);
    for (const s of segments) {
      if (evaluator.test(s.root)) out.get(s.key)!.add(user.userId);
    }
  }
  return out;
}

/** Evaluates conditions for one user at a time; per-user caches are dropped on `reset`. */
export class UserEvaluator {
  private user!: UserHistory;
  private sessionsByGap = new Map<number, Session[]>();
  private readonly visitor: ConditionVisitor<boolean>;

  /**
   * `scores`: per model, the rows of the run its conditions read as of asOf
   * (`selectScoreRuns`); a model absent from it has no run, so its values are missing.
   */
  constructor(
    private readonly asOfMs: number,
    private readonly scores: SelectedScores = new Map(),
  ) {
    const asOf = asOfMs;
    this.visitor = {
      and: (n) => n.children.every((c) => this.test(c)),
      or: (n) => n.children.some((c) => this.test(c)),
      not: (n) => !this.test(n.child),
      trait: (n) => applyComparison(n.cmp, valueOf(this.user.traits, n.trait), asOf),
      eventCount: (n) => {
        const range = this.resolve(n.window);
        if (!range) return false;
        let count = 0;
        this.scan(range, n.filter, () => void count++);
        return applyComparison(n.cmp, count, asOf);
      },
      aggregate: (n) => {
        const range = this.resolve(n.window);
        if (!range) return false;
        const values: MemoryValue[] = [];
        this.scan(range, n.filter, (e) => {
          const v = valueOf(e.properties, n.property);
          if (v !== undefined) values.push(v);
        });
        return applyComparison(n.cmp, aggregate(n.fn, values), asOf);
      },
      activeDays: (n) => {
        const range = this.resolve(n.window);
        if (!range) return false;
        const days = new Set<number>();
        this.scan(range, n.filter, (e) => void days.add(Math.floor(e.ts / MS.d)));
        return applyComparison(n.cmp, days.size, asOf);
      },
      lastSeen: (n) => {
        const range = this.resolve(n.window);
        if (!range) return false;
        const last = this.lastMatch(range, n.filter);
        return applyComparison(n.cmp, last === undefined ? undefined : asOf - last, asOf);
      },
      firstSeen: (n) => {
        const range = this.resolve(n.window);
        if (!range) return false;
        const first = this.firstMatch(range, n.filter);
        return applyComparison(n.cmp, first === undefined ? undefined : asOf - first, asOf);
      },
      sequence: (n) => {
        const range = this.resolve(n.window);
        if (!range) return false;
        const reached = this.furthestStep(range, n.steps, n.spanMs);
        return reached === n.steps.length;
      },
      funnel: (n) => {
        const range = this.resolve(n.window);
        if (!range) return false;
        return applyComparison(n.cmp, this.furthestStep(range, n.steps, n.spanMs), asOf);
      },
      regularly: (n) => {
        let hits = 0;
        for (let k = 0; k < n.periods; k++) {
          let count = 0;
          this.scan({ lo: asOf - (k + 1) * n.periodMs, hi: asOf - k * n.periodMs }, n.filter, () => void count++);
          if (count >= n.times) hits++;
        }
        return hits >= n.atLeast;
      },
      sessions: (n) => {
        const range = this.resolve(n.window);
        if (!range) return false;
        return applyComparison(n.cmp, this.sessionsIn(range, n.gapMs).length, asOf);
      },
      sessionDuration: (n) => {
        const range = this.resolve(n.window);
        if (!range) return false;
        const sessions = this.sessionsIn(range, n.gapMs);
        let value: number | undefined;
        if (sessions.length > 0) {
          let total = 0;
          let max = 0;
          for (const s of sessions) {
            const d = s.last - s.first;
            total += d;
            if (d > max) max = d;
          }
          value = n.stat === 'total' ? total : n.stat === 'max' ? max : total / sessions.length;
        }
        return applyComparison(n.cmp, value, asOf);
      },
      score: (n) => applyComparison(n.cmp, this.modelValue(n.model, n.measure), asOf),
      cluster: (n) => applyComparison(n.cmp, this.modelValue(n.model, 'cluster'), asOf),
      consent: (n) => {
        const all = { lo: -Infinity, hi: asOf };
        return consentDecision(this.lastMatch(all, consentRecordFilter(n.purpose, true)), this.lastMatch(all, consentRecordFilter(n.purpose, false)), n.defaultGranted);
      },
    };
  }

  /** The user's value in the model's selected run; missing without a run, a row, or a value. */
  private modelValue(model: string, column: keyof MemoryScoreValues): number | undefined {
    const v = this.scores.get(model)?.get(this.user.userId)?.[column];
    return v === null || v === undefined ? undefined : v;
  }

  reset(user: UserHistory): void {
    this.user = user;
    this.sessionsByGap.clear();
  }

  test(node: Condition): boolean {
    return visit(node, this.visitor);
  }

  /** The window as [lo, hi) cut at asOf; undefined when an anchored window has no anchor. */
  private resolve(window: Window): Range | undefined {
    const asOf = this.asOfMs;
    switch (window.kind) {
      case 'all':
        return { lo: -Infinity, hi: asOf };
      case 'relative':
        return { lo: asOf - window.startMs, hi: Math.min(asOf, asOf - window.endMs) };
      case 'absolute':
        return { lo: window.fromMs, hi: window.toMs === null ? asOf : Math.min(asOf, window.toMs) };
      case 'anchored': {
        let anchor: number | undefined;
        if (window.anchor.kind === 'event') {
          anchor = this.firstMatch({ lo: -Infinity, hi: asOf }, window.anchor.filter);
        } else {
          const v = valueOf(this.user.traits, window.anchor.trait);
          anchor = typeof v === 'number' ? v : undefined;
        }
        if (anchor === undefined) return undefined;
        return { lo: anchor, hi: Math.min(asOf, anchor + window.durationMs) };
      }
    }
  }

  /** Call `fn` for each matching event in the range, in time order. */
  private scan(range: Range, filter: EventFilter, fn: (e: MemoryEvent) => void): void {
    const { events, times } = this.user;
    if (!(range.lo < range.hi)) return;
    const end = lowerBound(times, range.hi);
    for (let i = lowerBound(times, range.lo); i < end; i++) {
      const e = events[i]!;
      if (matches(e, filter, this.asOfMs)) fn(e);
    }
  }

  private firstMatch(range: Range, filter: EventFilter): number | undefined {
    const { events, times } = this.user;
    if (!(range.lo < range.hi)) return undefined;
    const end = lowerBound(times, range.hi);
    for (let i = lowerBound(times, range.lo); i < end; i++) {
      if (matches(events[i]!, filter, this.asOfMs)) return times[i]!;
    }
    return undefined;
  }

  private lastMatch(range: Range, filter: EventFilter): number | undefined {
    const { events, times } = this.user;
    if (!(range.lo < range.hi)) return undefined;
    const start = lowerBound(times, range.lo);
    for (let i = lowerBound(times, range.hi) - 1; i >= start; i--) {
      if (matches(events[i]!, filter, this.asOfMs)) return times[i]!;
    }
    return undefined;
  }

  /**
   * The largest k such that events match steps 1..k at strictly increasing times, step 1
   * in the range and step k strictly before step 1 + span (0 when step 1 never happened in
   * the range). For a fixed first event, taking each next step at its earliest possible time
   * reaches furthest, so it suffices to try every candidate first event greedily.
   */
  private furthestStep(range: Range, steps: readonly EventFilter[], spanMs: number | null): number {
    if (steps.length === 0) return 0;
    const { events, times } = this.user;
    const stepTimes = steps.map((f) => {
      const ts: number[] = [];
      for (let i = 0; i < events.length; i++) if (matches(events[i]!, f, this.asOfMs)) ts.push(times[i]!);
      return Float64Array.from(ts);
    });
    const first = stepTimes[0]!;
    let best = 0;
    let previousStart = NaN;
    for (let i = lowerBound(first, range.lo); i < first.length && first[i]! < range.hi; i++) {
      const start = first[i]!;
      // Equal start times give the same chain.
      if (start === previousStart) continue;
      previousStart = start;
      const deadline = spanMs === null ? Infinity : start + spanMs;
      if (!(start < deadline)) continue;
      let k = 1;
      let prev = start;
      while (k < steps.length) {
        const next = stepTimes[k]!;
        const j = upperBound(next, prev);
        if (j >= next.length || !(next[j]! < deadline)) break;
        prev = next[j]!;
        k++;
      }
      if (k > best) best = k;
      if (best === steps.length) break;
    }
    return best;
  }

  /** The user's sessions (over all events before asOf) whose first event lies in the range. */
  private sessionsIn(range: Range, gapMs: number): Session[] {
    let sessions = this.sessionsByGap.get(gapMs);
    if (!sessions) {
      sessions = [];
      const { times } = this.user;
      let first = NaN;
      let last = NaN;
      for (let i = 0; i < times.length; i++) {
        const t = times[i]!;
        if (i > 0 && t - last < gapMs) {
          last = t;
          continue;
        }
        if (i > 0) sessions.push({ first, last });
        first = last = t;
      }
      if (times.length > 0) sessions.push({ first, last });
      this.sessionsByGap.set(gapMs, sessions);
    }
    return sessions.filter((s) => s.first >= range.lo && s.first < range.hi);
  }
}

/** Own values only: a trait or property named `constructor` or `toString` must not find Object.prototype's. */
function valueOf(record: Readonly<Record<string, MemoryValue>> | undefined, name: string): MemoryValue | undefined {
  return record !== undefined && Object.hasOwn(record, name) ? record[name] : undefined;
}

function matches(e: MemoryEvent, filter: EventFilter, asOfMs: number): boolean {
  if (filter.event !== null && e.event !== filter.event) return false;
  for (const p of filter.where) {
    if (!applyComparison(p.cmp, valueOf(e.properties, p.property), asOfMs)) return false;
  }
  return true;
}

function aggregate(fn: 'sum' | 'avg' | 'min' | 'max' | 'distinct', values: readonly MemoryValue[]): MemoryValue | undefined {
  if (fn === 'distinct') return new Set(values).size;
  if (values.length === 0) return undefined;
  if (fn === 'sum' || fn === 'avg') {
    let sum = 0;
    for (const v of values) sum += Number(v);
    return fn === 'sum' ? sum : sum / values.length;
  }
  let best = values[0]!;
  for (const v of values) {
    const c = compareValues(v, best);
    if (c !== undefined && (fn === 'min' ? c < 0 : c > 0)) best = v;
  }
  return best;
}
