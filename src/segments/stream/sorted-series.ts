/**
 * The per-user building blocks of streaming state: a time-sorted series of matching events
 * (times plus the property values some condition reads), and the user's sessions for one
 * session gap. Both are appended to in time order almost always; a late event is spliced
 * in at its place. Old entries are dropped from the front through a head index, so
 * trimming is amortized O(1).
 */

/** An event's payload in a series: nothing, one property value, or several (in the series' `props` order). */
export type Payload = unknown;

export class SortedSeries {
  ts: number[] = [];
  /** Parallel to `ts` when the series keeps property values, else null. */
  vals: Payload[] | null;
  /** Entries before `head` have been trimmed. */
  head = 0;

  constructor(keepsValues: boolean) {
    this.vals = keepsValues ? [] : null;
  }

  get size(): number {
    return this.ts.length - this.head;
  }

  insert(t: number, payload: Payload): void {
    const ts = this.ts;
    const n = ts.length;
    if (n === this.head || t >= ts[n - 1]!) {
      ts.push(t);
      this.vals?.push(payload);
      return;
    }
    // Late: after every entry at or before t, so equal times keep their arrival order.
    const at = this.upperBound(t);
    ts.splice(at, 0, t);
    this.vals?.splice(at, 0, payload);
  }

  /** The first index (>= head) whose time is >= t. */
  lowerBound(t: number): number {
    const ts = this.ts;
    let lo = this.head;
    let hi = ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ts[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first index (>= head) whose time is > t. */
  upperBound(t: number): number {
    const ts = this.ts;
    let lo = this.head;
    let hi = ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ts[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drop every entry with time < t. */
  trimBefore(t: number): void {
    const ts = this.ts;
    if (this.head >= ts.length || !(ts[this.head]! < t)) return;
    this.head = this.lowerBound(t);
    // Compact once the dead prefix dominates, so memory follows the live part.
    if (this.head >= 32 && this.head * 2 >= ts.length) {
      this.ts = ts.slice(this.head);
      if (this.vals) this.vals = this.vals.slice(this.head);
      this.head = 0;
    }
  }

  save(): SavedSeries {
    return { ts: this.ts.slice(this.head), ...(this.vals ? { vals: this.vals.slice(this.head) } : {}) };
  }

  /** `width` is the series' number of payload properties (JSON turned missing values into null). */
  static load(saved: SavedSeries, width: number): SortedSeries {
    const s = new SortedSeries(width > 0);
    s.ts = [...saved.ts];
    if (width > 0) {
      const missing = (v: unknown) => (v === null ? undefined : v);
      s.vals = (saved.vals ?? saved.ts.map(() => undefined)).map((p) => (width === 1 ? missing(p) : (p as unknown[]).map(missing)));
    }
    return s;
  }
}

export interface SavedSeries {
  readonly ts: readonly number[];
  readonly vals?: readonly Payload[];
}

/** What adding an event did to a session list. */
export const SESSION_SAME = 0;
/** A session's last event moved later: its first (so its window) is unchanged, its duration grew. */
export const SESSION_GREW = 1;
/** A new session of one event, joining no other. */
export const SESSION_ADDED = 2;
/** Two sessions joined, or one's first event moved earlier. */
export const SESSION_RESHAPED = 3;

/**
 * The sessions of one user for one gap: maximal runs of events (any name) whose
 * consecutive gaps are < gap, as [first, last] pairs sorted by first. Adding an event can
 * extend a session, start one, or join two; it never splits one.
 */
export class SessionList {
  first: number[] = [];
  last: number[] = [];
  head = 0;
  /** `first` of the last session folded into sealed summaries (see stream-measures.ts); -Infinity when none. */
  foldedThrough = -Infinity;

  get size(): number {
    return this.first.length - this.head;
  }

  /** Add an event; returns what changed (SESSION_* codes). */
  add(t: number, gap: number): number {
    const first = this.first;
    const last = this.last;
    const n = first.length;
    if (n === this.head || t > last[n - 1]!) {
      if (n > this.head && t - last[n - 1]! < gap) {
        last[n - 1] = t;
        return SESSION_GREW;
      }
      first.push(t);
      last.push(t);
      return SESSION_ADDED;
    }
    // The last session starting at or before t, if any.
    const i = this.upperBoundFirst(t) - 1;
    if (i >= this.head && t <= last[i]!) return SESSION_SAME;
    const joinsPrevious = i >= this.head && t - last[i]! < gap;
    const joinsNext = i + 1 < n && first[i + 1]! - t < gap;
    if (joinsPrevious && joinsNext) {
      last[i] = last[i + 1]!;
      first.splice(i + 1, 1);
      last.splice(i + 1, 1);
      return SESSION_RESHAPED;
    }
    if (joinsPrevious) {
      last[i] = t;
      return SESSION_GREW;
    }
    if (joinsNext) {
      first[i + 1] = t;
      return SESSION_RESHAPED;
    }
    first.splice(i + 1, 0, t);
    last.splice(i + 1, 0, t);
    return SESSION_ADDED;
  }

  /** The first index (>= head) whose session starts at or after t. */
  lowerBoundFirst(t: number): number {
    const f = this.first;
    let lo = this.head;
    let hi = f.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (f[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  upperBoundFirst(t: number): number {
    const f = this.first;
    let lo = this.head;
    let hi = f.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (f[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drop sessions from the front whose last event is at or before `lastUpTo` and whose first is before `firstBefore`. */
  trimFinal(lastUpTo: number, firstBefore: number): void {
    let h = this.head;
    const n = this.first.length;
    // The newest session always stays: the next event may extend it.
    while (h < n - 1 && this.last[h]! <= lastUpTo && this.first[h]! < firstBefore) h++;
    if (h === this.head) return;
    this.head = h;
    if (h >= 32 && h * 2 >= n) {
      this.first = this.first.slice(h);
      this.last = this.last.slice(h);
      this.head = 0;
    }
  }

  save(): SavedSessions {
    return { first: this.first.slice(this.head), last: this.last.slice(this.head), foldedThrough: numberOrNull(this.foldedThrough) };
  }

  static load(saved: SavedSessions): SessionList {
    const s = new SessionList();
    s.first = [...saved.first];
    s.last = [...saved.last];
    s.foldedThrough = saved.foldedThrough ?? -Infinity;
    return s;
  }
}

export interface SavedSessions {
  readonly first: readonly number[];
  readonly last: readonly number[];
  readonly foldedThrough: number | null;
}

/** JSON has no infinities: they are saved as null. */
export function numberOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}
