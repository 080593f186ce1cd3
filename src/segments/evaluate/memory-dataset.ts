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
