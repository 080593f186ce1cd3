/**
 * The streaming evaluator on small hand-worked cases: every expected change and instant
 * below is derived in the comments from the IR's rules (segments/ir/nodes.ts): only
 * events strictly before asOf exist, `within: D` is [asOf - D, asOf), and a change's `at`
 * is the last instant with the old membership.
 */
import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../schema/tracking-plan.js';
import { MS } from '../../time/time.js';
import type { SegmentIR } from '../ir/nodes.js';
import { buildSegmentIR, validateSegment } from '../language/index.js';
import { createStreamEvaluator, type MembershipChange, type RejectedEvent, type StreamEvaluatorOptions } from './stream-evaluator.js';

const PLAN = parsePlan({
  session_gap: '30m',
  events: { task: { properties: { n: 'number' } }, view: {}, buy: { properties: { amount: 'number' } } },
  traits: { plan: 'string', trial_end: 'timestamp' },
});
const T0 = Date.UTC(2024, 5, 1);
const iso = (ms: number) => new Date(ms).toISOString();

function segment(key: string, match: unknown): SegmentIR {
  return buildSegmentIR(validateSegment({ key, name: key, objective: 'other', rationale: 'test', owner: 'growth', match }, PLAN), PLAN, () => undefined);
}

function recorder(options: Omit<StreamEvaluatorOptions, 'onChange' | 'onReject'>) {
  const changes: string[] = [];
  const rejected: RejectedEvent[] = [];
  const ev = createStreamEvaluator({
    ...options,
    onChange: (c: MembershipChange) => changes.push(`${c.type} ${c.segment} ${c.user} ${iso(c.at)}`),
    onReject: (r) => rejected.push(r),
  });
  return { ev, changes, rejected };
}

const event = (userId: string, name: string, ts: number, properties: Record<string, number> = {}) => ({ userId, event: name, ts, properties });

describe('stream evaluator: changes and their instants', () => {
  it('enters when the second task arrives and leaves when the first slides out of the 7-day window', () => {
    const busy = segment('busy', { did: 'task', count: { gte: 2 }, within: '7d' });
    const { ev, changes } = recorder({ segments: [busy], clock: 'manual', latenessMs: 0 });
    ev.tick(T0);
    ev.push(event('u1', 'task', T0 + 1 * MS.d));
    ev.push(event('u1', 'task', T0 + 3 * MS.d));
    // Released when the clock passes them: the second counts from T0 + 3d + 1 ms, so `at` is T0 + 3d.
    ev.tick(T0 + 20 * MS.d);
    // The window [asOf - 7d, asOf) loses T0 + 1d once asOf > T0 + 8d: `at` is T0 + 8d.
    expect(changes).toEqual([`entered busy u1 ${iso(T0 + 3 * MS.d)}`, `left busy u1 ${iso(T0 + 8 * MS.d)}`]);
    expect(ev.membership('busy')).toEqual(new Set());
  });

  it('enters a lastSeen condition by time alone, exactly when the elapsed time passes the threshold', () => {
    const quiet = segment('quiet', { lastSeen: { gt: '3d' }, on: 'view' });
    const { ev, changes } = recorder({ segments: [quiet], clock: 'event', latenessMs: MS.h });
    ev.push(event('u1', 'view', T0));
    // With the event clock, asOf follows the data; another user's event moves it on.
    ev.push(event('u2', 'task', T0 + 2 * MS.d));
    expect(changes).toEqual([]);
    // asOf - T0 > 3d first holds at asOf = T0 + 3d + 1 ms: `at` is T0 + 3d.
    ev.tick(T0 + 5 * MS.d);
    expect(changes).toEqual([`entered quiet u1 ${iso(T0 + 3 * MS.d)}`]);
  });

  it('a not over an expiring condition enters when the condition expires, and a trait compared with a relative time moves with the clock', () => {
    const lapsed = segment('lapsed', { not: { did: 'buy', within: '30d' } });
    const trialOver = segment('trial-over', { trait: 'trial_end', lt: '-0m' });
    const { ev, changes } = recorder({ segments: [lapsed, trialOver], clock: 'manual', latenessMs: 0 });
    ev.tick(T0);
    ev.push(event('u1', 'buy', T0 + 5 * MS.d, { amount: 3 }));
    // The profile makes u1 exist at T0 with no purchase yet: `not` holds at once (at = T0 - 1 ms).
    ev.pushProfile('u1', { trial_end: T0 + 10 * MS.d });
    ev.tick(T0 + 40 * MS.d);
    // The purchase counts from T0 + 5d + 1 ms, and stays in [asOf - 30d, asOf) until asOf = T0 + 35d.
    // trial_end < asOf first holds at asOf = T0 + 10d + 1 ms.
    expect(changes).toEqual([
      `entered lapsed u1 ${iso(T0 - 1)}`,
      `left lapsed u1 ${iso(T0 + 5 * MS.d)}`,
      `entered trial-over u1 ${iso(T0 + 10 * MS.d)}`,
      `entered lapsed u1 ${iso(T0 + 35 * MS.d)}`,
    ]);
  });

  it('a profile before the clock starts applies at its first instant; a user exists from a profile or an event', () => {
    const free = segment('free', { trait: 'plan', eq: 'free' });
    const none = segment('no-tasks', { did: 'task', count: { eq: 0 } });
    const { ev, changes } = recorder({ segments: [free, none], clock: 'event', latenessMs: 0 });
    ev.pushProfile('u1', { plan: 'free' });
    expect(ev.asOfMs).toBeNull();
    ev.push(event('u2', 'task', T0));
    expect(changes).toEqual([`entered free u1 ${iso(T0)}`, `entered no-tasks u1 ${iso(T0)}`]);
    expect(ev.population).toBe(2);
  });
});

describe('stream evaluator: lateness and clocks', () => {
  it('rejects and reports an event older than the newest minus the lateness, and takes one within it', () => {
    const any = segment('any', { did: 'task' });
    const { ev, changes, rejected } = recorder({ segments: [any], clock: 'event', latenessMs: MS.h });
    ev.push(event('u1', 'task', T0 + 2 * MS.h));
    expect(ev.push(event('u2', 'task', T0 + MS.h - 1))).toBe('rejected');
    expect(ev.push(event('u3', 'task', T0 + MS.h))).toBe('applied');
    expect(rejected.map((r) => [r.event.userId, r.reason, iso(r.acceptedFromMs)])).toEqual([['u2', 'late', iso(T0 + MS.h)]]);
    // A late event takes effect at the clock's current instant (the watermark).
    expect(changes).toEqual([`entered any u1 ${iso(T0 + 2 * MS.h)}`, `entered any u3 ${iso(T0 + 2 * MS.h)}`]);
    expect(ev.stats()).toMatchObject({ events: 3, applied: 2, rejectedLate: 1 });
  });

  it('with a manual clock, events ahead of it wait, and the clock never goes back', () => {
    const any = segment('any', { did: 'task' });
    const { ev, changes } = recorder({ segments: [any], clock: 'manual', latenessMs: 0 });
    ev.tick(T0);
    expect(ev.push(event('u1', 'task', T0 + MS.d))).toBe('pending');
    expect(ev.stats().pending).toBe(1);
    ev.tick(T0 + MS.d);
    // Only events strictly before asOf exist.
    expect(ev.membership('any').size).toBe(0);
    ev.tick(T0 + MS.d + 1);
    expect(changes).toEqual([`entered any u1 ${iso(T0 + MS.d)}`]);
    ev.tick(T0);
    expect(ev.asOfMs).toBe(T0 + MS.d + 1);
  });

  it('names the segments it knows when asked for another, and refuses a key given twice', () => {
    const any = segment('any', { did: 'task' });
    const { ev } = recorder({ segments: [any], clock: 'event' });
    expect(() => ev.membership('nope')).toThrow(/segment "nope" is not evaluated by this stream/);
    expect(() => createStreamEvaluator({ segments: [any, any] })).toThrow(/segment "any" is given twice/);
  });
});
