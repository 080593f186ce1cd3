/**
 * One user's streaming state. Its layout is fixed by the stream plan (stream-plan.ts):
 * slot i of `series` is the plan's series i, and so on. Everything here is plain data so
 * a snapshot is a straight copy (stream-state-file.ts).
 */
import type { MemoryValue } from '../evaluate/index.js';
import type { SessionList, SortedSeries } from './sorted-series.js';

export class UserState {
  traits: Record<string, MemoryValue> | undefined = undefined;
  /** Per series of the plan; undefined until the user's first matching event. */
  readonly series: (SortedSeries | undefined)[];
  /** Per session gap of the plan. */
  readonly sessions: (SessionList | undefined)[];
  /** Per event anchor of the plan: the time of the first matching event, Infinity when none. */
  readonly anchors: number[];
  /** Per measure: the summary of sealed events (folded measures only). */
  readonly folds: unknown[];
  /**
   * Leaves and segments in one array, so evaluating a user touches one object. Leaf i: at
   * 2i the instant its result may next change without input, at 2i + 1 its last result
   * (0/1). Segment k, from `segmentBase` (2 x leaves): at segmentBase + 2k the instant its
   * membership may next change, at segmentBase + 2k + 1 the membership (0/1). After them,
   * the numeric summaries of measures (Measure.slot).
   */
  readonly state: number[];
  readonly segmentBase: number;
  /** Events before this instant have been folded into `folds` (they can no longer arrive late). */
  sealedTo = -Infinity;
  /** When every series and session list was last trimmed (stream-evaluator.ts `prepare`). */
  trimmedAt = -Infinity;
  /** The instant this user is queued for a time-driven re-evaluation, Infinity when not queued. */
  wake = Infinity;
  /** The instant of this user's live entry in the wake-up queue, Infinity when none. */
  queued = Infinity;
  /** Leaf caches are not valid (new user, or restored from a snapshot): recompute every leaf. */
  stale = true;

  constructor(
    readonly id: string,
    counts: { readonly series: number; readonly gaps: number; readonly anchors: number; readonly measures: number; readonly leaves: number; readonly segments: number; readonly slots: number },
  ) {
    this.series = new Array<SortedSeries | undefined>(counts.series).fill(undefined);
    this.sessions = new Array<SessionList | undefined>(counts.gaps).fill(undefined);
    this.anchors = new Array<number>(counts.anchors).fill(Infinity);
    this.folds = new Array<unknown>(counts.measures).fill(undefined);
    this.segmentBase = 2 * counts.leaves;
    const pairs = 2 * (counts.leaves + counts.segments);
    this.state = new Array<number>(pairs + counts.slots);
    for (let i = 0; i < pairs; i += 2) {
      this.state[i] = Infinity;
      this.state[i + 1] = 0;
    }
    // Numeric summaries of measures (Measure.slot): NaN until there is one.
    for (let i = pairs; i < this.state.length; i++) this.state[i] = NaN;
  }

  isMember(segment: number): boolean {
    return this.state[this.segmentBase + 2 * segment + 1] === 1;
  }
}
