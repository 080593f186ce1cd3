/**
 * Windows, event filters and time-driven flips, as the streaming evaluator sees them.
 *
 * A window is one of:
 * - sliding: `relative` windows, [asOf - start, asOf - end); entries leave and enter as
 *   the clock moves, so they keep raw entries back to asOf - start;
 * - fixed: `all` and `absolute` windows, whose bounds never move (the cut at asOf is
 *   implicit: the state only ever holds events before asOf);
 * - eventAnchor: anchored on the first event matching a filter without time-relative
 *   predicates; its anchor only moves earlier, and only through a late event, so once it
 *   is sealed (older than watermark - lateness) the window is fixed too;
 * - dynamicAnchor / traitAnchor: the anchor moves with the clock (a filter comparing a
 *   property with a time relative to asOf) or with profile updates, so any past event
 *   can come back into the window.
 *
 * A predicate is dynamic when one of its literals is a time relative to asOf (`-7d`):
 * whether an event matches then changes with the clock, at instants computed here.
 */
import { applyComparison } from '../evaluate/compare.js';
import type { MemoryValue } from '../evaluate/index.js';
import type { Comparison, Literal, PropertyPredicate } from '../ir/nodes.js';
import type { Payload, SortedSeries } from './sorted-series.js';
import type { UserState } from './user-state.js';

/** A property predicate whose truth moves with the clock, and where its value sits in the series payload. */
export interface DynamicPredicate {
  readonly property: string;
  readonly cmp: Comparison;
  /** Offsets of the relative-time literals: the comparison flips at value - offset (and one ms later). */
  readonly offsets: readonly number[];
  /** Index of the property in the series' payload layout. */
  propIndex: number;
}

export type WindowSpec =
  | { readonly kind: 'sliding'; readonly startMs: number; readonly endMs: number }
  | { readonly kind: 'fixed'; readonly lo: number; readonly hi: number }
  | { readonly kind: 'eventAnchor'; readonly anchor: number; readonly durationMs: number }
  | { readonly kind: 'dynamicAnchor'; readonly series: number; readonly dynamic: readonly DynamicPredicate[]; readonly durationMs: number }
  | { readonly kind: 'traitAnchor'; readonly trait: string; readonly durationMs: number };

/**
 * How a measure keeps its state:
 * - sliding: raw entries back to the window start;
 * - absorbed: a fixed window and a summary that does not depend on the order events come in
 *   (a count, min, max, distinct values, first or last time): each event is folded in as
 *   it arrives, and nothing raw is kept;
 * - folded: a summary of sealed events plus the raw tail that may still change (events at
 *   or after watermark - lateness): sums (added in time order, as the batch evaluator
 *   does), active days, sequences, sessions, and anything over an event-anchored window;
 * - raw: every matching event, kept for as long as the user exists (dynamic filters on
 *   fixed windows, trait- or dynamically-anchored windows: any past event may count again).
 */
export type MeasureMode = 'sliding' | 'absorbed' | 'folded' | 'raw';

export interface Range {
  lo: number;
  hi: number;
}

export function literalsOf(cmp: Comparison): readonly Literal[] {
  switch (cmp.op) {
    case 'in':
    case 'notIn':
      return cmp.values;
    case 'between':
      return [cmp.lo, cmp.hi];
    case 'exists':
      return [];
    default:
      return [cmp.value];
  }
}

/** Offsets of the relative-time literals of a comparison (empty: it does not move with the clock). */
export function relativeOffsets(cmp: Comparison): number[] {
  const out: number[] = [];
  for (const l of literalsOf(cmp)) if (l.kind === 'relativeTime') out.push(l.offsetMs);
  return out;
}

/** The numeric literals a duration comparison (lastSeen, firstSeen) is made against. */
export function durationLiterals(cmp: Comparison): number[] {
  const out: number[] = [];
  for (const l of literalsOf(cmp)) {
    if (l.kind === 'duration') out.push(l.ms);
    else if (l.kind === 'number') out.push(l.value);
  }
  return out;
}

/**
 * A fixed value x compared with asOf + offset changes truth only at asOf = x - offset
 * (equal) and one millisecond later: the first such instant after `asOf`.
 */
export function nextRelativeFlip(x: number, offsets: readonly number[], asOf: number): number {
  let next = Infinity;
  for (const o of offsets) {
    const at = x - o;
    if (at > asOf) {
      if (at < next) next = at;
    } else if (at + 1 > asOf && at + 1 < next) next = at + 1;
  }
  return next;
}

/** An elapsed time (asOf - base) compared with durations d changes truth only at asOf = base + d and one ms later. */
export function nextElapsedFlip(base: number, durations: readonly number[], asOf: number): number {
  let next = Infinity;
  for (const d of durations) {
    const at = base + d;
    if (at > asOf) {
      if (at < next) next = at;
    } else if (at + 1 > asOf && at + 1 < next) next = at + 1;
  }
  return next;
}

/** A payload's value for property slot `index` of a series with `width` payload properties. */
export function payloadValue(payload: Payload, width: number, index: number): MemoryValue | undefined {
  return (width === 1 ? payload : (payload as (MemoryValue | undefined)[])[index]) as MemoryValue | undefined;
}

export function passesDynamic(payload: Payload, width: number, dynamic: readonly DynamicPredicate[], asOf: number): boolean {
  for (const p of dynamic) {
    if (!applyComparison(p.cmp, payloadValue(payload, width, p.propIndex), asOf)) return false;
  }
  return true;
}

/** The first instant after asOf at which one of the dynamic predicates may change truth for an entry of [from, to). */
export function nextDynamicFlip(s: SortedSeries, width: number, dynamic: readonly DynamicPredicate[], from: number, to: number, asOf: number): number {
  let next = Infinity;
  const vals = s.vals!;
  for (let i = from; i < to; i++) {
    for (const p of dynamic) {
      const v = payloadValue(vals[i], width, p.propIndex);
      if (typeof v !== 'number') continue;
      const at = nextRelativeFlip(v, p.offsets, asOf);
      if (at < next) next = at;
    }
  }
  return next;
}

export function isDynamicPredicate(p: PropertyPredicate): boolean {
  return relativeOffsets(p.cmp).length > 0;
}

/**
 * The window as [lo, hi) at asOf (hi is asOf for open windows; the state holds nothing
 * later anyway). False when an anchored window has no anchor: the condition is false.
 */
export function resolveRange(w: WindowSpec, u: UserState, asOf: number, out: Range, dynamicAnchorSeries?: SortedSeries, dynamicAnchorWidth = 0): boolean {
  switch (w.kind) {
    case 'sliding':
      out.lo = asOf - w.startMs;
      out.hi = Math.min(asOf, asOf - w.endMs);
      return true;
    case 'fixed':
      out.lo = w.lo;
      out.hi = Math.min(asOf, w.hi);
      return true;
    case 'eventAnchor': {
      const a = u.anchors[w.anchor]!;
      if (a === Infinity) return false;
      out.lo = a;
      out.hi = Math.min(asOf, a + w.durationMs);
      return true;
    }
    case 'dynamicAnchor': {
      const a = dynamicAnchorSeries ? firstPassing(dynamicAnchorSeries, dynamicAnchorWidth, w.dynamic, asOf) : undefined;
      if (a === undefined) return false;
      out.lo = a;
      out.hi = Math.min(asOf, a + w.durationMs);
      return true;
    }
    case 'traitAnchor': {
      const traits = u.traits;
      const v = traits !== undefined && Object.hasOwn(traits, w.trait) ? traits[w.trait] : undefined;
      if (typeof v !== 'number') return false;
      out.lo = v;
      out.hi = Math.min(asOf, v + w.durationMs);
      return true;
    }
  }
}

/**
 * For folding sealed events (all older than `sealTo`): the window those events may fall in.
 * An event anchor older than sealTo is final; a newer (or missing) one lies after every
 * sealed event, so none of them is in the window, now or later.
 */
export function foldRange(w: WindowSpec, u: UserState, sealTo: number, out: Range): boolean {
  if (w.kind === 'fixed') {
    out.lo = w.lo;
    out.hi = w.hi;
    return true;
  }
  if (w.kind === 'eventAnchor') {
    const a = u.anchors[w.anchor]!;
    if (!(a < sealTo)) return false;
    out.lo = a;
    out.hi = a + w.durationMs;
    return true;
  }
  throw new Error(`window ${w.kind} is never folded`);
}

function firstPassing(s: SortedSeries, width: number, dynamic: readonly DynamicPredicate[], asOf: number): number | undefined {
  const vals = s.vals!;
  for (let i = s.head; i < s.ts.length; i++) if (passesDynamic(vals[i], width, dynamic, asOf)) return s.ts[i];
  return undefined;
}
