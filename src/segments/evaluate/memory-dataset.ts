/**
 * The plain-data form of events and profiles that the in-memory evaluator reads, and its
 * per-user index. The same shapes will feed the realtime evaluator, so indexing is done once
 * per evaluation and every lookup afterwards is a binary search on a user's sorted times.
 */

/** A property or trait value; timestamp-typed values are epoch milliseconds. */
export type MemoryValue = string | number | boolean;

export interface MemoryEvent {
  readonly userId: string;
  readonly event: string;
  /** Epoch milliseconds, UTC. */
  readonly ts: number;
  readonly properties: Readonly<Record<string, MemoryValue>>;
}

export interface MemoryDataset {
  readonly events: readonly MemoryEvent[];
  /** Current traits per user (profiles are upserted upstream; this is the merged result). */
  readonly profiles: ReadonlyMap<string, Readonly<Record<string, MemoryValue>>>;
  /** Stored scoring runs (model_scores), read by `score` and `cluster` conditions; none when absent. */
  readonly scoreRuns?: readonly MemoryScoreRun[];
}

/** One user's row of a scoring run: a score and its percentile (score models) or a persona id (personas). */
export interface MemoryScoreValues {
  readonly score: number | null;
  readonly percentile: number | null;
  readonly cluster: number | null;
}

/** A scoring run as the store holds it (src/models/registry/model-store.ts): a condition reads the latest as_of <= asOf, ties to the larger runId. */
export interface MemoryScoreRun {
  readonly model: string;
  readonly runId: number;
  readonly asOfMs: number;
  readonly rows: ReadonlyMap<string, MemoryScoreValues>;
}

/** Per model, the rows of the run its conditions read as of asOf; a model without one is absent. */
export type SelectedScores = ReadonlyMap<string, ReadonlyMap<string, MemoryScoreValues>>;

/**
 * The run each model's conditions read as of asOfMs, by the store's rule (`scoreRunsAsOf`):
 * the latest asOfMs <= asOf, ties to the larger runId.
 */
export function selectScoreRuns(runs: readonly MemoryScoreRun[] | undefined, asOfMs: number): SelectedScores {
  const best = new Map<string, MemoryScoreRun>();
  for (const r of runs ?? []) {
    if (!(r.asOfMs <= asOfMs)) continue;
    const b = best.get(r.model);
    if (!b || r.asOfMs > b.asOfMs || (r.asOfMs === b.asOfMs && r.runId > b.runId)) best.set(r.model, r);
  }
  return new Map([...best].map(([model, r]) => [model, r.rows]));
}

/** One user as seen at asOf: only events before asOf, sorted by time. */
export interface UserHistory {
  readonly userId: string;
  readonly events: readonly MemoryEvent[];
  /** `events[i].ts`, kept apart so window bounds are binary searches on numbers. */
  readonly times: Float64Array;
  readonly traits: Readonly<Record<string, MemoryValue>> | undefined;
}

const NO_TRAITS: Readonly<Record<string, MemoryValue>> | undefined = undefined;

/**
 * The population as of asOfMs (users with a profile or at least one event before asOf),
 * each with its events before asOf in time order.
 */
export function indexDataset(data: MemoryDataset, asOfMs: number): Map<string, UserHistory> {
  const byUser = new Map<string, MemoryEvent[]>();
  for (const e of data.events) {
    if (!(e.ts < asOfMs)) continue;
    let list = byUser.get(e.userId);
    if (!list) byUser.set(e.userId, (list = []));
    list.push(e);
  }
  for (const userId of data.profiles.keys()) {
    if (!byUser.has(userId)) byUser.set(userId, []);
  }
  const out = new Map<string, UserHistory>();
  for (const [userId, events] of byUser) {
    events.sort((a, b) => a.ts - b.ts);
    const times = new Float64Array(events.length);
    for (let i = 0; i < events.length; i++) times[i] = events[i]!.ts;
    out.set(userId, { userId, events, times, traits: data.profiles.get(userId) ?? NO_TRAITS });
  }
  return out;
}

/** The first index whose time is >= t (times sorted ascending). */
export function lowerBound(times: Float64Array, t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose time is > t (times sorted ascending). */
export function upperBound(times: Float64Array, t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
