import { describe, expect, it } from 'vitest';
import type { Comparison, Condition, EventFilter, Window } from '../ir/nodes.js';
import { evaluateSegments } from './evaluate-segments.js';
import type { MemoryDataset, MemoryEvent, MemoryValue } from './memory-dataset.js';

// The oracle throughout is DESIGN.md "Segment language v1" and the comments in segments/ir/nodes.ts;
// each case states the rule it checks and the members worked out by hand.

const H = 3_600_000;
const D = 86_400_000;
const ASOF = Date.UTC(2024, 5, 10); // 2024-06-10T00:00Z

const ev = (userId: string, event: string, ts: number, properties: Record<string, MemoryValue> = {}): MemoryEvent => ({ userId, event, ts, properties });
const data = (events: MemoryEvent[], profiles: Record<string, Record<string, MemoryValue>> = {}): MemoryDataset => ({
  events,
  profiles: new Map(Object.entries(profiles)),
});
const any: EventFilter = { event: null, where: [] };
const on = (event: string, where: EventFilter['where'] = []): EventFilter => ({ event, where });
const all: Window = { kind: 'all' };
const within = (ms: number): Window => ({ kind: 'relative', startMs: ms, endMs: 0 });
const n = (op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte', value: number): Comparison => ({ op, value: { kind: 'number', value } });
const dur = (op: 'eq' | 'gt' | 'gte' | 'lt' | 'lte', ms: number): Comparison => ({ op, value: { kind: 'duration', ms } });

function members(root: Condition, dataset: MemoryDataset, asOf = ASOF): string[] {
  return [...evaluateSegments([{ key: 's', root }], dataset, asOf).get('s')!].sort();
}

describe('evaluateSegments: population and time', () => {
  it('includes profile-only users and users with an event before asOf, nobody else', () => {
    const ds = data([ev('a', 'x', ASOF - 1), ev('late', 'x', ASOF)], { p: { plan: 'free' } });
    expect(members({ kind: 'not', child: { kind: 'and', children: [] } }, ds)).toEqual([]);
    expect(members({ kind: 'and', children: [] }, ds)).toEqual(['a', 'p']);
  });

  it('ignores an event exactly at asOf and counts one exactly at the window start', () => {
    const ds = data([ev('a', 'x', ASOF), ev('a', 'y', ASOF - 1), ev('b', 'x', ASOF - 7 * D), ev('c', 'x', ASOF - 7 * D - 1)]);
    expect(members({ kind: 'eventCount', filter: on('x'), window: within(7 * D), cmp: n('gte', 1) }, ds)).toEqual(['b']);
  });

  it('cuts an absolute window at asOf', () => {
    const ds = data([ev('a', 'x', ASOF + H), ev('b', 'x', ASOF - H)]);
    const w: Window = { kind: 'absolute', fromMs: ASOF - D, toMs: ASOF + D };
    expect(members({ kind: 'eventCount', filter: on('x'), window: w, cmp: n('gte', 1) }, ds)).toEqual(['b']);
  });

  it('counts 0 over nothing, so count <= 2 includes users who never did it', () => {
    const ds = data([ev('a', 'x', ASOF - H), ev('b', 'x', ASOF - H), ev('b', 'x', ASOF - 2 * H), ev('b', 'x', ASOF - 3 * H), ev('c', 'y', ASOF - H)], { p: {} });
    expect(members({ kind: 'eventCount', filter: on('x'), window: all, cmp: n('lte', 2) }, ds)).toEqual(['a', 'c', 'p']);
  });

  it('matches any event for a null event name and ANDs the where predicates', () => {
    const where: EventFilter['where'] = [
      { property: 'amount', type: 'number', cmp: n('gt', 10) },
      { property: 'coupon', type: 'boolean', cmp: { op: 'eq', value: { kind: 'boolean', value: true } } },
    ];
    const ds = data([
      ev('a', 'buy', ASOF - H, { amount: 20, coupon: true }),
      ev('b', 'buy', ASOF - H, { amount: 20, coupon: false }),
      ev('c', 'refund', ASOF - H, { amount: 11, coupon: true }),
      ev('d', 'buy', ASOF - H, { amount: 20 }),
    ]);
    expect(members({ kind: 'eventCount', filter: { event: null, where }, window: all, cmp: n('gte', 1) }, ds)).toEqual(['a', 'c']);
  });
});

describe('evaluateSegments: traits and logic', () => {
  it('includes users without the trait under not (two-valued logic)', () => {
    const ds = data([ev('nop', 'x', ASOF - H)], { free: { plan: 'free' }, pro: { plan: 'pro' } });
    const isPro: Condition = { kind: 'trait', trait: 'plan', type: 'string', cmp: { op: 'eq', value: { kind: 'string', value: 'pro' } } };
    expect(members({ kind: 'not', child: isPro }, ds)).toEqual(['free', 'nop']);
    const nePro: Condition = { kind: 'trait', trait: 'plan', type: 'string', cmp: { op: 'ne', value: { kind: 'string', value: 'pro' } } };
    expect(members(nePro, ds)).toEqual(['free']);
  });
});

describe('evaluateSegments: value measures', () => {
  it('treats sum, min and lastSeen over nothing as missing, so every comparison is false', () => {
    const ds = data([ev('a', 'buy', ASOF - H, { amount: 5 }), ev('b', 'buy', ASOF - H)], { p: {} });
    const sumLt: Condition = { kind: 'aggregate', fn: 'sum', property: 'amount', propertyType: 'number', filter: on('buy'), window: all, cmp: n('lt', 100) };
    expect(members(sumLt, ds)).toEqual(['a']);
    const minLte: Condition = { kind: 'aggregate', fn: 'min', property: 'amount', propertyType: 'number', filter: on('buy'), window: all, cmp: n('lte', 100) };
    expect(members(minLte, ds)).toEqual(['a']);
    expect(members({ kind: 'lastSeen', filter: on('buy'), window: all, cmp: dur('gte', 0) }, ds)).toEqual(['a', 'b']);
    expect(members({ kind: 'lastSeen', filter: on('nothing'), window: all, cmp: dur('gte', 0) }, ds)).toEqual([]);
  });

  it('skips events without the property in aggregates and counts distinct values', () => {
    const ds = data([
      ev('a', 'buy', ASOF - H, { amount: 10, sku: 'x' }),
      ev('a', 'buy', ASOF - 2 * H),
      ev('a', 'buy', ASOF - 3 * H, { amount: 20, sku: 'x' }),
      ev('a', 'buy', ASOF - 4 * H, { sku: 'y' }),
    ]);
    const avg = (value: number): Condition => ({ kind: 'aggregate', fn: 'avg', property: 'amount', propertyType: 'number', filter: on('buy'), window: all, cmp: n('eq', value) });
    expect(members(avg(15), ds)).toEqual(['a']);
    const distinct: Condition = { kind: 'aggregate', fn: 'distinct', property: 'sku', propertyType: 'string', filter: on('buy'), window: all, cmp: n('eq', 2) };
    expect(members(distinct, ds)).toEqual(['a']);
  });

  it('measures lastSeen and firstSeen from asOf', () => {
    const ds = data([ev('a', 'x', ASOF - 3 * D), ev('a', 'x', ASOF - 10 * D)]);
    expect(members({ kind: 'lastSeen', filter: any, window: all, cmp: dur('eq', 3 * D) }, ds)).toEqual(['a']);
    expect(members({ kind: 'firstSeen', filter: any, window: all, cmp: dur('eq', 10 * D) }, ds)).toEqual(['a']);
  });

  it('counts distinct UTC days for activeDays', () => {
    // 23:59 and 00:01 the next day are two UTC days; two events on one day are one.
    const ds = data([ev('a', 'x', ASOF - D - 60_000), ev('a', 'x', ASOF - D + 60_000), ev('a', 'x', ASOF - D + 2 * 60_000)]);
    expect(members({ kind: 'activeDays', filter: any, window: all, cmp: n('eq', 2) }, ds)).toEqual(['a']);
  });
});

describe('evaluateSegments: anchored windows', () => {
  it('makes the condition false without an anchor, even for count eq 0', () => {
    const w: Window = { kind: 'anchored', anchor: { kind: 'event', filter: on('signup') }, durationMs: 7 * D };
    const ds = data([ev('a', 'signup', ASOF - 20 * D), ev('a', 'buy', ASOF - 19 * D), ev('b', 'signup', ASOF - 20 * D), ev('c', 'buy', ASOF - D)]);
    expect(members({ kind: 'eventCount', filter: on('buy'), window: w, cmp: n('eq', 0) }, ds)).toEqual(['b']);
    expect(members({ kind: 'not', child: { kind: 'eventCount', filter: on('buy'), window: w, cmp: n('eq', 0) } }, ds)).toEqual(['a', 'c']);
  });

  it('anchors on the first matching event and includes the anchor instant, excludes anchor + D', () => {
    const w: Window = { kind: 'anchored', anchor: { kind: 'event', filter: on('signup') }, durationMs: 7 * D };
    const t0 = ASOF - 30 * D;
    const ds = data([
      ev('a', 'signup', t0), ev('a', 'signup', t0 + 10 * D), ev('a', 'buy', t0 + 7 * D),
      ev('b', 'signup', t0), ev('b', 'buy', t0 + 7 * D - 1),
    ]);
    expect(members({ kind: 'eventCount', filter: on('buy'), window: w, cmp: n('gte', 1) }, ds)).toEqual(['b']);
    expect(members({ kind: 'eventCount', filter: on('signup'), window: w, cmp: n('eq', 1) }, ds)).toEqual(['a', 'b']);
  });

  it('anchors on a timestamp trait', () => {
    const w: Window = { kind: 'anchored', anchor: { kind: 'trait', trait: 'trial_started' }, durationMs: 14 * D };
    const ds = data([ev('a', 'buy', ASOF - 5 * D), ev('b', 'buy', ASOF - 5 * D)], { a: { trial_started: ASOF - 10 * D }, b: { trial_started: ASOF - 30 * D } });
    expect(members({ kind: 'eventCount', filter: on('buy'), window: w, cmp: n('gte', 1) }, ds)).toEqual(['a']);
    expect(members({ kind: 'eventCount', filter: on('buy'), window: w, cmp: n('eq', 0) }, ds)).toEqual(['b']);
  });
});

describe('evaluateSegments: sequences and funnels', () => {
  const seq = (spanMs: number | null, window: Window = all): Condition => ({ kind: 'sequence', steps: [on('a'), on('b'), on('c')], spanMs, window });

  it('needs strictly increasing timestamps: equal times do not chain', () => {
    const t = ASOF - D;
    const ds = data([ev('tie', 'a', t), ev('tie', 'b', t), ev('tie', 'c', t + 1), ev('ok', 'a', t), ev('ok', 'b', t + 1), ev('ok', 'c', t + 2)]);
    expect(members(seq(null), ds)).toEqual(['ok']);
  });

  it('keeps the last step strictly before first + span', () => {
    const t = ASOF - 10 * D;
    const ds = data([
      ev('at', 'a', t), ev('at', 'b', t + H), ev('at', 'c', t + 2 * D),
      ev('in', 'a', t), ev('in', 'b', t + H), ev('in', 'c', t + 2 * D - 1),
      // a later first step can succeed where the earliest one is too far from c
      ev('late', 'a', t - 5 * D), ev('late', 'a', t), ev('late', 'b', t + H), ev('late', 'c', t + D),
    ]);
    expect(members(seq(2 * D), ds)).toEqual(['in', 'late']);
  });

  it('applies the window to the first step only', () => {
    const ds = data([ev('u', 'a', ASOF - 2 * D), ev('u', 'b', ASOF - H), ev('u', 'c', ASOF - 1), ev('v', 'a', ASOF - 4 * D), ev('v', 'b', ASOF - H), ev('v', 'c', ASOF - 1)]);
    expect(members(seq(null, within(3 * D)), ds)).toEqual(['u']);
  });

  it('computes the funnel depth K, 0 when step 1 never happened', () => {
    const t = ASOF - 10 * D;
    const ds = data([
      ev('k1', 'a', t),
      ev('k2', 'a', t), ev('k2', 'b', t + H), ev('k2', 'c', t + 8 * D),
      ev('k3', 'a', t), ev('k3', 'b', t + H), ev('k3', 'c', t + 2 * H),
      ev('k0', 'b', t),
    ], { p: {} });
    const funnel = (cmp: Comparison): Condition => ({ kind: 'funnel', steps: [on('a'), on('b'), on('c')], spanMs: 7 * D, window: all, cmp });
    expect(members(funnel(n('eq', 0)), ds)).toEqual(['k0', 'p']);
    expect(members(funnel(n('eq', 1)), ds)).toEqual(['k1']);
    expect(members(funnel(n('eq', 2)), ds)).toEqual(['k2']);
    expect(members(funnel(n('eq', 3)), ds)).toEqual(['k3']);
  });
});

describe('evaluateSegments: regularly', () => {
  it('counts periods [asOf-(k+1)P, asOf-kP) with at least `times` events', () => {
    const W = 7 * D;
    const ds = data([
      // weeks 0 and 2 twice each, week 1 once
      ev('u', 'x', ASOF - 1), ev('u', 'x', ASOF - W), ev('u', 'x', ASOF - W - 1),
      ev('u', 'x', ASOF - 2 * W), ev('u', 'x', ASOF - 2 * W - H), ev('u', 'x', ASOF - 3 * W - 1),
    ]);
    const reg = (atLeast: number, times: number): Condition => ({ kind: 'regularly', filter: on('x'), periodMs: W, periods: 3, atLeast, times });
    // week 0: [asOf-W, asOf) holds asOf-1 and asOf-W -> 2; week 1: asOf-W-1, asOf-2W -> 2; week 2: asOf-2W-H -> 1; asOf-3W-1 is before the oldest period.
    expect(members(reg(3, 1), ds)).toEqual(['u']);
    expect(members(reg(2, 2), ds)).toEqual(['u']);
    expect(members(reg(3, 2), ds)).toEqual([]);
  });
});

describe('evaluateSegments: sessions', () => {
  const GAP = 30 * 60_000;

  it('starts a new session on a gap equal to the session gap', () => {
    const t = ASOF - D;
    const ds = data([ev('eq', 'x', t), ev('eq', 'y', t + GAP), ev('lt', 'x', t), ev('lt', 'y', t + GAP - 1)]);
    expect(members({ kind: 'sessions', gapMs: GAP, window: all, cmp: n('eq', 2) }, ds)).toEqual(['eq']);
    expect(members({ kind: 'sessions', gapMs: GAP, window: all, cmp: n('eq', 1) }, ds)).toEqual(['lt']);
  });

  it('puts a session in the window of its first event and measures it in full', () => {
    const start = ASOF - 3 * D;
    // One session from start - 10m to start + 15m: it begins before the window, so the window has none.
    const ds = data([ev('u', 'x', start - 10 * 60_000), ev('u', 'x', start + 15 * 60_000), ev('v', 'x', start), ev('v', 'x', start + 20 * 60_000), ev('v', 'x', start + 45 * 60_000)], { p: {} });
    expect(members({ kind: 'sessions', gapMs: GAP, window: within(3 * D), cmp: n('eq', 0) }, ds)).toEqual(['p', 'u']);
    expect(members({ kind: 'sessionDuration', stat: 'total', gapMs: GAP, window: within(3 * D), cmp: dur('eq', 45 * 60_000) }, ds)).toEqual(['v']);
    // No session in the window: the duration is missing, so even `>= 0` is false.
    expect(members({ kind: 'sessionDuration', stat: 'max', gapMs: GAP, window: within(3 * D), cmp: dur('gte', 0) }, ds)).toEqual(['v']);
  });

  it('averages session durations', () => {
    const t = ASOF - 2 * D;
    const ds = data([ev('u', 'x', t), ev('u', 'x', t + 10 * 60_000), ev('u', 'x', t + 5 * H), ev('u', 'x', t + 5 * H + 20 * 60_000), ev('u', 'x', t + 10 * H)]);
    // durations 10m, 20m, 0m: avg 10m, max 20m, total 30m
    const sd = (stat: 'avg' | 'max' | 'total', ms: number): Condition => ({ kind: 'sessionDuration', stat, gapMs: GAP, window: all, cmp: dur('eq', ms) });
    expect(members(sd('avg', 10 * 60_000), ds)).toEqual(['u']);
    expect(members(sd('max', 20 * 60_000), ds)).toEqual(['u']);
    expect(members(sd('total', 30 * 60_000), ds)).toEqual(['u']);
  });
});

describe('evaluateSegments: batches', () => {
  it('returns every key, with an empty set when nobody matches', () => {
    const out = evaluateSegments(
      [
        { key: 'yes', root: { kind: 'and', children: [] } },
        { key: 'no', root: { kind: 'or', children: [] } },
      ],
      data([ev('a', 'x', ASOF - 1)]),
      ASOF,
    );
    expect([...out.get('yes')!]).toEqual(['a']);
    expect([...out.get('no')!]).toEqual([]);
  });
});
