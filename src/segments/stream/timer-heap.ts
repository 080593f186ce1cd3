/**
 * A binary min-heap of (instant, item): the users' next time-driven re-evaluations, and
 * events that arrived ahead of the clock. Entries are never removed from the middle; a
 * stale entry (its item was rescheduled) is skipped when it surfaces.
 */
export class TimerHeap<T> {
  /**
   * With `tieBreak`, equal instants pop in its order instead of first in, first out: the
   * users' wake-ups use the user id, so the order of changes at one instant does not depend
   * on the history that scheduled them (a stream restored from a state file, which schedules
   * every user afresh, emits them in the same order as one that never stopped).
   */
  constructor(private readonly tieBreak?: (a: T, b: T) => number) {}

  /** Whether entry (ta, ia, sa) pops before (tb, ib, sb). */
  private before(ta: number, ia: T, sa: number, tb: number, ib: T, sb: number): boolean {
    if (ta !== tb) return ta < tb;
    if (this.tieBreak) {
      const c = this.tieBreak(ia, ib);
      if (c !== 0) return c < 0;
    }
    return sa < sb;
  }

  private times: number[] = [];
  private items: T[] = [];
  /** Insertion order, so equal instants pop first in, first out (events keep their arrival order). */
  private seqs: number[] = [];
  private seq = 0;

  get size(): number {
    return this.times.length;
  }

  /** The smallest instant, or Infinity when empty. */
  peekTime(): number {
    return this.times.length > 0 ? this.times[0]! : Infinity;
  }

  peekItem(): T | undefined {
    return this.items[0];
  }

  push(time: number, item: T): void {
    const times = this.times;
    const items = this.items;
    const seqs = this.seqs;
    const s = this.seq++;
    let i = times.length;
    times.push(time);
    items.push(item);
    seqs.push(s);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.before(times[p]!, items[p]!, seqs[p]!, time, item, s)) break;
      times[i] = times[p]!;
      items[i] = items[p]!;
      seqs[i] = seqs[p]!;
      i = p;
    }
    times[i] = time;
    items[i] = item;
    seqs[i] = s;
  }

  pop(): T | undefined {
    const times = this.times;
    const items = this.items;
    const seqs = this.seqs;
    const n = times.length;
    if (n === 0) return undefined;
    const top = items[0];
    const lastTime = times.pop()!;
    const lastItem = items.pop()!;
    const lastSeq = seqs.pop()!;
    if (n > 1) {
      const m = n - 1;
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= m) break;
        const r = c + 1;
        if (r < m && this.before(times[r]!, items[r]!, seqs[r]!, times[c]!, items[c]!, seqs[c]!)) c = r;
        if (this.before(lastTime, lastItem, lastSeq, times[c]!, items[c]!, seqs[c]!)) break;
        times[i] = times[c]!;
        items[i] = items[c]!;
        seqs[i] = seqs[c]!;
        i = c;
      }
      times[i] = lastTime;
      items[i] = lastItem;
      seqs[i] = lastSeq;
    }
    return top;
  }

  /** Every entry, in no particular order. */
  entries(): [number, T][] {
    return this.times.map((t, i) => [t, this.items[i]!]);
  }

  clear(): void {
    this.times = [];
    this.items = [];
    this.seqs = [];
  }
}
