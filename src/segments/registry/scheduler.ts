/**
 * Refresh cycles: snapshots materialized on a schedule (`strata segment compute --every`,
 * and the HTTP server later).
 *
 * Rules:
 * - Ticks fall on whole multiples of the period since the epoch (every 1h: at :00 UTC), so
 *   two schedulers with the same period agree on their instants.
 * - A refresh computes its snapshots as of its tick, not as of the wall time it started:
 *   the same data gives the same snapshots however late the run.
 * - Runs never overlap. A tick that comes due while a refresh is in flight is skipped and
 *   reported (`busy`); ticks that passed without the timer firing (a suspended process) are
 *   reported too (`late`), and only the newest due tick runs.
 * - A failed refresh is reported and the schedule continues.
 * - `stop` cancels the next tick and waits for the refresh in flight.
 *
 * Clock and timers are injectable, so tests run the schedule instantly and deterministically.
 */
import { formatInstant } from '../../time/time.js';
import { StrataError } from '../../errors/errors.js';
import type { ComputeResult } from './registry-types.js';

/** What a refresh calls: SegmentRegistry.compute, or a wrapper that opens the workspace per refresh. */
export interface SnapshotComputer {
  compute(keys: readonly string[] | undefined, options: { readonly asOfMs: number }): Promise<ComputeResult[]>;
}

export interface SchedulerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SnapshotRefresh {
  /** The tick instant, epoch ms: the asOf of every snapshot of the refresh. */
  readonly tickMs: number;
  readonly asOf: string;
  readonly results: readonly ComputeResult[];
  /** By the scheduler's clock. */
  readonly startedMs: number;
  readonly finishedMs: number;
  /** What `afterRefresh` returned (a fairness audit of the targeting segments); absent without it. */
  readonly after?: unknown;
}

export interface SkippedTick {
  readonly tickMs: number;
  readonly asOf: string;
  /** busy: a refresh was in flight; late: the tick passed while the process did not run (a newer tick ran instead). */
  readonly reason: 'busy' | 'late';
}

export type RefreshOutcome =
  | { readonly status: 'refreshed'; readonly refresh: SnapshotRefresh }
  | { readonly status: 'failed'; readonly tickMs: number; readonly asOf: string; readonly error: unknown }
  | { readonly status: 'skipped'; readonly skipped: SkippedTick };

export interface SnapshotSchedulerOptions {
  readonly registry: SnapshotComputer;
  /** The period in ms (a positive whole number). */
  readonly everyMs: number;
  /** Segments to refresh; default: every stored segment at each refresh (new ones join). */
  readonly keys?: readonly string[];
  /** Epoch ms; default Date.now. */
  readonly now?: () => number;
  /** Default: the global setTimeout / clearTimeout. */
  readonly timers?: SchedulerTimers;
  /** On start, refresh the latest tick at or before now at once instead of waiting for the next. */
  readonly catchUp?: boolean;
  readonly onRefresh?: (refresh: SnapshotRefresh) => void;
  readonly onError?: (error: unknown, tick: { readonly tickMs: number; readonly asOf: string }) => void;
  readonly onSkipped?: (skipped: SkippedTick) => void;
  /**
   * Work that belongs to each refresh, run after its snapshots are stored and before it is
   * reported (`segment compute --every D --audit-fairness`: the fairness audit of the
   * targeting segments as of the tick). Part of the refresh: runs never overlap, and a
   * failure here is the refresh's failure (its snapshots stay stored).
   */
  readonly afterRefresh?: (refresh: { readonly tickMs: number; readonly asOf: string; readonly results: readonly ComputeResult[] }) => Promise<unknown>;
}

export interface SnapshotScheduler {
  /** Start ticking (idempotent). */
  start(): void;
  /** Cancel the next tick and wait for the refresh in flight, if any. */
  stop(): Promise<void>;
  /** Refresh one tick now (default: the latest tick at or before now); skipped when a refresh is in flight. */
  runOnce(tickMs?: number): Promise<RefreshOutcome>;
  /** The tick the timer waits for; null when stopped. */
  nextTickMs(): number | null;
  /** Whether a refresh is in flight. */
  busy(): boolean;
}

const GLOBAL_TIMERS: SchedulerTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The largest multiple of everyMs at or before t. */
export function tickAtOrBefore(t: number, everyMs: number): number {
  return Math.floor(t / everyMs) * everyMs;
}

export function createSnapshotScheduler(options: SnapshotSchedulerOptions): SnapshotScheduler {
  const every = options.everyMs;
  if (!Number.isSafeInteger(every) || every <= 0) {
    throw new StrataError('INPUT_INVALID', `the refresh period must be a positive whole number of milliseconds, got ${every}`);
  }
  const now = options.now ?? Date.now;
  const timers = options.timers ?? GLOBAL_TIMERS;
  let started = false;
  let timer: unknown = null;
  let next: number | null = null;
  /** The last tick run or skipped: the next one is after it. */
  let handled = -Infinity;
  let inFlight: Promise<RefreshOutcome> | null = null;

  const skip = (tickMs: number, reason: SkippedTick['reason']): RefreshOutcome => {
    const skipped = { tickMs, asOf: formatInstant(tickMs), reason };
    options.onSkipped?.(skipped);
    return { status: 'skipped', skipped };
  };

  const refresh = async (tickMs: number): Promise<RefreshOutcome> => {
    const asOf = formatInstant(tickMs);
    const startedMs = now();
    let results: ComputeResult[];
    let after: unknown;
    try {
      results = await options.registry.compute(options.keys, { asOfMs: tickMs });
      if (options.afterRefresh) after = await options.afterRefresh({ tickMs, asOf, results });
    } catch (error) {
      options.onError?.(error, { tickMs, asOf });
      return { status: 'failed', tickMs, asOf, error };
    }
    const done: SnapshotRefresh = { tickMs, asOf, results, startedMs, finishedMs: now(), ...(options.afterRefresh ? { after } : {}) };
    options.onRefresh?.(done);
    return { status: 'refreshed', refresh: done };
  };

  const launch = (tickMs: number): Promise<RefreshOutcome> => {
    handled = Math.max(handled, tickMs);
    const run = refresh(tickMs).catch((error: unknown): RefreshOutcome => {
      // Only a throwing onRefresh callback gets here; it must not stop the schedule either.
      options.onError?.(error, { tickMs, asOf: formatInstant(tickMs) });
      return { status: 'failed', tickMs, asOf: formatInstant(tickMs), error };
    });
    inFlight = run;
    void run.finally(() => {
      if (inFlight === run) inFlight = null;
    });
    return run;
  };

  const schedule = () => {
    if (!started) return;
    const t = now();
    const due = Math.max(Math.ceil(t / every) * every, handled + every);
    next = due;
    timer = timers.setTimeout(() => fire(due), Math.max(0, due - t));
  };

  const fire = (due: number) => {
    timer = null;
    next = null;
    if (!started) return;
    // Timers may fire late (a suspended process): run the newest due tick, report the ones passed over.
    const newest = Math.max(due, tickAtOrBefore(now(), every));
    for (let t = due; t < newest; t += every) skip(t, 'late');
    handled = newest;
    // The next timer is set before the refresh starts, so a tick due during it is seen and skipped.
    schedule();
    if (inFlight) skip(newest, 'busy');
    else void launch(newest);
  };

  return {
    start() {
      if (started) return;
      started = true;
      if (options.catchUp) void launch(tickAtOrBefore(now(), every));
      schedule();
    },
    async stop() {
      started = false;
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      next = null;
      if (inFlight) await inFlight;
    },
    runOnce(tickMs) {
      const tick = tickMs ?? tickAtOrBefore(now(), every);
      if (inFlight) return Promise.resolve(skip(tick, 'busy'));
      return launch(tick);
    },
    nextTickMs: () => next,
    busy: () => inFlight !== null,
  };
}
