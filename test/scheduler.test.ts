/**
 * The snapshot scheduler (src/segments/registry/scheduler.ts) on a real DuckDB registry,
 * driven by a fake clock and fake timers so each schedule runs instantly and the same way
 * every time: ticks on multiples of the period, snapshots as of the tick (not the instant
 * the timer fired), a tick due during a refresh skipped, stop waiting for the refresh in
 * flight, and a failed refresh reported without stopping the schedule.
 *
 * A "gated" registry holds compute until the test opens the gate: the real compute then
 * runs; only its start is delayed, so overlaps happen exactly when the test says.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StrataError } from '../src/errors/errors.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import {
  createSnapshotScheduler,
  SegmentRegistry,
  type RefreshOutcome,
  type SchedulerTimers,
  type SkippedTick,
  type SnapshotComputer,
  type SnapshotRefresh,
} from '../src/segments/registry/index.js';
import type { SegmentDefinition } from '../src/segments/language/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { MS } from '../src/time/time.js';
import { seedStore } from '../src/segments/registry/test/seed-store.js';

const plan = parsePlan({ events: { login: {} }, traits: { plan: 'string' } });
const H = MS.h;
const DAY0 = Date.UTC(2025, 0, 6);

function segment(key: string, match: unknown): SegmentDefinition {
  return { key, name: key, objective: 'other', rationale: `test segment ${key}`, owner: 'growth', match };
}

/** Timers on a clock that moves only when told; a timer fires `lagMs` after its due time (a busy machine). */
class FakeClock implements SchedulerTimers {
  private nextId = 1;
  private pending = new Map<number, { at: number; fn: () => void }>();
  lagMs = 0;
  constructor(public nowMs: number) {}

  now = (): number => this.nowMs;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.nowMs + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  timers(): number[] {
    return [...this.pending.values()].map((t) => t.at).sort((a, b) => a - b);
  }

  /** Fire every timer due up to `t` in order (each at its due time plus the lag), letting promises settle in between. */
  async advanceTo(t: number): Promise<void> {
    for (;;) {
      const due = [...this.pending.entries()].filter(([, x]) => x.at <= t).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.nowMs = Math.max(this.nowMs, due[1].at + this.lagMs);
      due[1].fn();
      await settle();
    }
    this.nowMs = Math.max(this.nowMs, t);
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** Wait (in real time) until a condition holds: a DuckDB compute takes a few milliseconds. */
async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function gated(inner: SnapshotComputer): SnapshotComputer & { open(): void; started: number[] } {
  let release: () => void = () => undefined;
  let gate = new Promise<void>((r) => (release = r));
  const started: number[] = [];
  return {
    started,
    open() {
      release();
      gate = Promise.resolve();
    },
    async compute(keys, options) {
      started.push(options.asOfMs);
      await gate;
      return inner.compute(keys, options);
    },
  };
}

let store: DuckDbStore;
let registry: SegmentRegistry;

beforeEach(async () => {
  store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  // u1 logs in every 2 hours from DAY0 00:30, u2 once at DAY0 09:30; u3 has a profile only.
  const events = [
    ...Array.from({ length: 12 }, (_, i) => ({ user: 'u1', event: 'login', at: DAY0 + 30 * MS.m + 2 * i * H })),
    { user: 'u2', event: 'login', at: DAY0 + 9 * H + 30 * MS.m },
  ];
  await seedStore(store, plan, { events, profiles: { u3: { plan: 'pro' } } });
  registry = new SegmentRegistry(store, plan, { now: () => DAY0 + 30 * MS.d });
  await registry.add([segment('recent', { did: 'login', within: '1h' }), segment('pro', { trait: 'plan', eq: 'pro' })]);
});

afterEach(async () => {
  await store.close();
});

function recorder() {
  const refreshes: SnapshotRefresh[] = [];
  const skipped: SkippedTick[] = [];
  const errors: { error: unknown; tickMs: number }[] = [];
  return {
    refreshes,
    skipped,
    errors,
    callbacks: {
      onRefresh: (r: SnapshotRefresh) => void refreshes.push(r),
      onSkipped: (s: SkippedTick) => void skipped.push(s),
      onError: (error: unknown, t: { tickMs: number }) => void errors.push({ error, tickMs: t.tickMs }),
    },
  };
}

describe('the snapshot scheduler', () => {
  it('ticks on whole multiples of the period and computes as of the tick, however late the timer fires', async () => {
    const clock = new FakeClock(DAY0 + 10 * H + 20 * MS.m + 30_000); // 10:20:30
    clock.lagMs = 4 * MS.m + 17_000; // every timer fires 4m17s late
    const rec = recorder();
    const scheduler = createSnapshotScheduler({ registry, everyMs: H, now: clock.now, timers: clock, ...rec.callbacks });
    scheduler.start();
    expect(scheduler.nextTickMs()).toBe(DAY0 + 11 * H);
    expect(clock.timers()).toEqual([DAY0 + 11 * H]);

    await clock.advanceTo(DAY0 + 11 * H);
    await until('the 11:00 refresh', () => rec.refreshes.length === 1);
    await clock.advanceTo(DAY0 + 12 * H);
    await until('the 12:00 refresh', () => rec.refreshes.length === 2);
    await scheduler.stop();

    expect(rec.refreshes.map((r) => r.asOf)).toEqual(['2025-01-06T11:00:00.000Z', '2025-01-06T12:00:00.000Z']);
    // The refresh started at 11:04:17 (wall) yet every snapshot is as of 11:00.
    expect(rec.refreshes[0]!.startedMs).toBe(DAY0 + 11 * H + clock.lagMs);
    expect(rec.refreshes[0]!.results.map((c) => [c.key, c.asOf])).toEqual([
      ['pro', '2025-01-06T11:00:00.000Z'],
      ['recent', '2025-01-06T11:00:00.000Z'],
    ]);
    // u1 logs in at 10:30 (in [10:00, 11:00)) but not in [11:00, 12:00): a snapshot as of the wall time would differ.
    const sizes = rec.refreshes.map((r) => r.results.find((c) => c.key === 'recent')!.size);
    expect(sizes).toEqual([1, 0]);
    // Reproducible: computing as of the tick again gives the same members.
    const again = await registry.compute(['recent'], { asOfMs: DAY0 + 11 * H });
    expect(again[0]!.size).toBe(1);
    expect(rec.skipped).toEqual([]);
    expect(rec.errors).toEqual([]);
    expect(clock.timers()).toEqual([]);
  });

  it('a tick at exactly now runs at once; catch-up refreshes the latest past tick first', async () => {
    const exact = new FakeClock(DAY0 + 6 * H);
    const s1 = createSnapshotScheduler({ registry, everyMs: 6 * H, now: exact.now, timers: exact });
    s1.start();
    expect(s1.nextTickMs()).toBe(DAY0 + 6 * H);
    await s1.stop();

    const clock = new FakeClock(DAY0 + 10 * H + 20 * MS.m);
    const rec = recorder();
    const s2 = createSnapshotScheduler({ registry, everyMs: H, now: clock.now, timers: clock, catchUp: true, ...rec.callbacks });
    s2.start();
    await until('the catch-up refresh', () => rec.refreshes.length === 1);
    expect(rec.refreshes[0]!.asOf).toBe('2025-01-06T10:00:00.000Z');
    expect(s2.nextTickMs()).toBe(DAY0 + 11 * H);
    await s2.stop();
  });

  it('skips a tick that comes due while a refresh is in flight, and reports it', async () => {
    const clock = new FakeClock(DAY0 + 10 * H + 59 * MS.m);
    const slow = gated(registry);
    const rec = recorder();
    const scheduler = createSnapshotScheduler({ registry: slow, everyMs: H, now: clock.now, timers: clock, ...rec.callbacks });
    scheduler.start();
    await clock.advanceTo(DAY0 + 11 * H);
    expect(slow.started).toEqual([DAY0 + 11 * H]);
    expect(scheduler.busy()).toBe(true);

    await clock.advanceTo(DAY0 + 12 * H); // the 11:00 refresh is still held
    expect(rec.skipped).toEqual([{ tickMs: DAY0 + 12 * H, asOf: '2025-01-06T12:00:00.000Z', reason: 'busy' }]);
    expect(slow.started).toHaveLength(1);
    // runOnce while busy is skipped the same way.
    const once = await scheduler.runOnce();
    expect(once.status).toBe('skipped');

    slow.open();
    await until('the 11:00 refresh', () => rec.refreshes.length === 1);
    await clock.advanceTo(DAY0 + 13 * H);
    await until('the 13:00 refresh', () => rec.refreshes.length === 2);
    await scheduler.stop();
    expect(rec.refreshes.map((r) => r.tickMs)).toEqual([DAY0 + 11 * H, DAY0 + 13 * H]);
    expect(rec.skipped.map((s) => s.tickMs)).toEqual([DAY0 + 12 * H, DAY0 + 12 * H]);
  });

  it('runs only the newest due tick when the timer fires more than a period late, reporting the passed ones', async () => {
    const clock = new FakeClock(DAY0 + 10 * H + 30 * MS.m);
    clock.lagMs = 2 * H + 10 * MS.m; // the 11:00 timer fires at 13:10 (a suspended laptop)
    const rec = recorder();
    const scheduler = createSnapshotScheduler({ registry, everyMs: H, now: clock.now, timers: clock, ...rec.callbacks });
    scheduler.start();
    await clock.advanceTo(DAY0 + 11 * H);
    await until('the refresh', () => rec.refreshes.length === 1);
    await scheduler.stop();
    expect(rec.refreshes.map((r) => r.asOf)).toEqual(['2025-01-06T13:00:00.000Z']);
    expect(rec.skipped.map((s) => [s.asOf, s.reason])).toEqual([
      ['2025-01-06T11:00:00.000Z', 'late'],
      ['2025-01-06T12:00:00.000Z', 'late'],
    ]);
  });

  it('stop cancels the next tick and waits for the refresh in flight', async () => {
    const clock = new FakeClock(DAY0 + 10 * H + 59 * MS.m);
    const slow = gated(registry);
    const rec = recorder();
    const scheduler = createSnapshotScheduler({ registry: slow, everyMs: H, now: clock.now, timers: clock, ...rec.callbacks });
    scheduler.start();
    await clock.advanceTo(DAY0 + 11 * H);
    expect(scheduler.busy()).toBe(true);
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    expect(clock.timers()).toEqual([]);
    expect(scheduler.nextTickMs()).toBeNull();

    slow.open();
    await stopping;
    // The refresh finished, and was reported, before stop returned.
    expect(rec.refreshes.map((r) => r.asOf)).toEqual(['2025-01-06T11:00:00.000Z']);
    expect(scheduler.busy()).toBe(false);
    await clock.advanceTo(DAY0 + 15 * H);
    expect(slow.started).toHaveLength(1);
  });

  it('reports a failed refresh and keeps the schedule', async () => {
    const clock = new FakeClock(DAY0 + 10 * H + 30 * MS.m);
    const rec = recorder();
    const scheduler = createSnapshotScheduler({ registry, everyMs: H, keys: ['pro', 'later'], now: clock.now, timers: clock, ...rec.callbacks });
    scheduler.start();
    await clock.advanceTo(DAY0 + 11 * H);
    await until('the failure', () => rec.errors.length === 1);
    const error = rec.errors[0]!.error;
    expect(error).toBeInstanceOf(StrataError);
    expect((error as StrataError).code).toBe('SEGMENT_NOT_FOUND');
    expect(rec.errors[0]!.tickMs).toBe(DAY0 + 11 * H);
    expect(scheduler.nextTickMs()).toBe(DAY0 + 12 * H);

    await registry.add([segment('later', { did: 'login' })]);
    await clock.advanceTo(DAY0 + 12 * H);
    await until('the 12:00 refresh', () => rec.refreshes.length === 1);
    await scheduler.stop();
    expect(rec.refreshes[0]!.results.map((c) => [c.key, c.size])).toEqual([
      ['pro', 1],
      ['later', 2],
    ]);
  });

  it('runOnce refreshes the latest tick at or before now, or a given one', async () => {
    const clock = new FakeClock(DAY0 + 10 * H + 20 * MS.m);
    const scheduler = createSnapshotScheduler({ registry, everyMs: 15 * MS.m, now: clock.now, timers: clock });
    const outcome: RefreshOutcome = await scheduler.runOnce();
    expect(outcome.status).toBe('refreshed');
    if (outcome.status === 'refreshed') expect(outcome.refresh.asOf).toBe('2025-01-06T10:15:00.000Z');
    const given = await scheduler.runOnce(DAY0 + 9 * H);
    expect(given.status === 'refreshed' && given.refresh.results.find((c) => c.key === 'recent')!.size).toBe(1);
    expect(() => createSnapshotScheduler({ registry, everyMs: 0 })).toThrow(StrataError);
  });
});
