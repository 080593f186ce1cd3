/**
 * Every node kind and window form compiled and run on every SQL engine (DuckDB, a
 * ClickHouse single node, a two-shard ClickHouse cluster), against members worked out by
 * hand from the rows listed with each block (the reasoning is in the case names and
 * comments). Each case is checked twice: the member-list query, and the batch query's
 * boolean column; then each block runs all its cases as one batch.
 *
 * asOf is T = 2024-01-10T00:00Z throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlan } from '../../schema/tracking-plan.js';
import type { Condition, EventFilter, Window } from '../ir/nodes.js';
import {
  DAY,
  HOUR,
  MINUTE,
  afterEvent,
  afterTrait,
  all,
  and,
  at,
  between,
  bool,
  cmp,
  did,
  dur,
  exists,
  gte,
  inList,
  not,
  notIn,
  num,
  on,
  or,
  prop,
  rel,
  segment,
  str,
  trait,
  within,
  during,
} from './test-support/ir-builders.js';
import type { SeedData } from './test-support/seed-store.js';
import type { LocalClickHouse } from '../../../test/support/clickhouse-server.js';
import { seedDataset } from '../../../test/support/load-duckdb.js';
import { ENGINE_KINDS, SegmentEngine, type EngineKind, engineAvailable, startServerFor } from '../../../test/support/segment-engines.js';

const T = Date.UTC(2024, 0, 10);
const plan = parsePlan({
  events: {
    open: {},
    view: { properties: { page: 'string' } },
    buy: { properties: { amount: 'number', sku: 'string', gift: 'boolean', shipped_at: 'timestamp' } },
    signup: {},
    activate: {},
    pay: {},
  },
  traits: { plan: 'string', age: 'number', vip: 'boolean', signed_up_at: 'timestamp' },
});

type Case = readonly [name: string, condition: Condition, expected: readonly string[]];

/** The blocks of cases, each with its rows; run on every engine at the end of the file. */
const blocks: { readonly title: string; readonly data: SeedData; readonly cases: readonly Case[] }[] = [];

function describeCases(title: string, data: SeedData, cases: readonly Case[]): void {
  blocks.push({ title, data, cases });
}

function runBlocks(kind: EngineKind): void {
  describe.skipIf(!engineAvailable(kind))(`on ${kind}`, () => {
    let server: LocalClickHouse | null = null;
    beforeAll(async () => {
      server = await startServerFor(kind);
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });

    for (const [index, { title, data, cases }] of blocks.entries()) {
      describe(title, () => {
        let engine: SegmentEngine;
        beforeAll(async () => {
          engine = await SegmentEngine.open(kind, plan, server, `strata_compile_${index}`);
          await engine.load(plan, seedDataset(data));
        }, 60_000);
        afterAll(async () => {
          await engine?.close();
        });

        it.each(cases)('%s', async (_name, condition, expected) => {
          const s = segment('s', condition);
          expect(await engine.members(s, T)).toEqual([...expected].sort());
          expect((await engine.batch([s], T)).members.get('s')).toEqual([...expected].sort());
        });

        it('gives the same members with all cases in one batch', async () => {
          const got = await engine.batch(
            cases.map(([name, condition]) => segment(name, condition)),
            T,
          );
          for (const [name, , expected] of cases) expect(got.members.get(name), name).toEqual([...expected].sort());
        });
      });
    }
  });
}

const seq = (steps: EventFilter[], spanMs: number | null, window: Window = all): Condition => ({ kind: 'sequence', steps, spanMs, window });
const funnel = (window: Window, c: ReturnType<typeof cmp>): Condition => ({
  kind: 'funnel',
  steps: [on('signup'), on('activate'), on('pay')],
  spanMs: 7 * DAY,
  window,
  cmp: c,
});

describeCases(
  'traits and boolean logic',
  {
    profiles: {
      a: { plan: 'pro', age: 30, vip: true, signed_up_at: T - 10 * DAY },
      b: { plan: 'free', age: 17, vip: false },
      c: {},
      e: { plan: 'é' },
      f: { plan: '😀' },
    },
    events: [{ user: 'd', event: 'open', at: T - DAY }],
  },
  [
    ['eq', trait('plan', 'string', cmp('eq', str('pro'))), ['a']],
    ['ne is false on a missing trait', trait('plan', 'string', cmp('ne', str('pro'))), ['b', 'e', 'f']],
    ['not includes users without the trait (c) and without a profile (d)', not(trait('plan', 'string', cmp('eq', str('pro')))), ['b', 'c', 'd', 'e', 'f']],
    ['in', trait('plan', 'string', inList(str('pro'), str('free'))), ['a', 'b']],
    ['notIn is false on a missing trait', trait('plan', 'string', notIn(str('pro'))), ['b', 'e', 'f']],
    ['gt on numbers', trait('age', 'number', cmp('gt', num(18))), ['a']],
    ['between is inclusive', trait('age', 'number', between(num(17), num(30))), ['a', 'b']],
    ['contains', trait('plan', 'string', cmp('contains', str('r'))), ['a', 'b']],
    ['startsWith', trait('plan', 'string', cmp('startsWith', str('f'))), ['b']],
    ['exists: true', trait('plan', 'string', exists(true)), ['a', 'b', 'e', 'f']],
    ['exists: false', trait('plan', 'string', exists(false)), ['c', 'd']],
    ['boolean eq', trait('vip', 'boolean', cmp('eq', bool(true))), ['a']],
    ['boolean ne', trait('vip', 'boolean', cmp('ne', bool(true))), ['b']],
    ['timestamp before a relative instant (asOf - 5d)', trait('signed_up_at', 'timestamp', cmp('lt', rel(-5 * DAY))), ['a']],
    ['timestamp gte an absolute instant, equal included', trait('signed_up_at', 'timestamp', cmp('gte', at(T - 10 * DAY))), ['a']],
    ['timestamp gt an equal instant', trait('signed_up_at', 'timestamp', cmp('gt', at(T - 10 * DAY))), []],
    // U+1F600 is above U+FB00 by code point, though its UTF-16 lead unit (D83D) is below FB00.
    ['strings order by code point', trait('plan', 'string', cmp('lt', str('\uFB00'))), ['a', 'b', 'e']],
    ['non-ASCII above ASCII', trait('plan', 'string', cmp('gt', str('z'))), ['e', 'f']],
    ['and', and(trait('age', 'number', cmp('gte', num(17))), trait('vip', 'boolean', cmp('eq', bool(false)))), ['b']],
    ['or', or(trait('plan', 'string', cmp('eq', str('é'))), trait('vip', 'boolean', cmp('eq', bool(true)))), ['a', 'e']],
    ['not of and', not(and(trait('plan', 'string', exists(true)), trait('age', 'number', exists(true)))), ['c', 'd', 'e', 'f']],
    ['empty and is true', and(), ['a', 'b', 'c', 'd', 'e', 'f']],
    ['empty or is false', or(), []],
  ],
);

describeCases(
  'event counts and every window form',
  {
    events: [
      { user: 'a', event: 'open', at: T - DAY },
      { user: 'a', event: 'open', at: T - 3 * DAY },
      { user: 'a', event: 'open', at: T - 10 * DAY },
      { user: 'a', event: 'open', at: T }, // exactly at asOf: does not exist
      { user: 'b', event: 'open', at: T - 7 * DAY }, // exactly at the start of `within: 7d`
      { user: 'b', event: 'open', at: T - 8 * DAY },
      { user: 'd', event: 'buy', at: T - 2 * DAY },
      { user: 'z', event: 'open', at: T + DAY }, // only after asOf: not in the population
    ],
    profiles: { c: {} },
  },
  [
    ['within: window start included', did(on('open'), within(7 * DAY)), ['a', 'b']],
    ['count eq 0 includes a user with no events (c)', did(on('open'), within(7 * DAY), cmp('eq', num(0))), ['c', 'd']],
    ['the event at asOf is not counted', did(on('open'), all, cmp('eq', num(3))), ['a']],
    ['count lte 2 includes users who never did it', did(on('open'), all, cmp('lte', num(2))), ['b', 'c', 'd']],
    ['during [T-10d, T-3d): from included, to excluded', did(on('open'), during(T - 10 * DAY, T - 3 * DAY), cmp('eq', num(1))), ['a']],
    ['since T-3d', did(on('open'), during(T - 3 * DAY, null), cmp('eq', num(2))), ['a']],
    ['during past asOf is cut at asOf', did(on('open'), during(T - DAY, T + 5 * DAY), cmp('eq', num(1))), ['a']],
    ['relative window [asOf-8d, asOf-2d)', did(on('open'), { kind: 'relative', startMs: 8 * DAY, endMs: 2 * DAY }, cmp('eq', num(2))), ['b']],
    ['any event', did(on(null)), ['a', 'b', 'd']],
    ['any event within 2d, start included', did(on(null), within(2 * DAY)), ['a', 'd']],
    ['count in a list', did(on('open'), all, inList(num(0), num(3))), ['a', 'c', 'd']],
    // Longer than any timestamp range: bounds that would overflow the engine's arithmetic are dropped, not sent.
    ['within the longest duration the language allows is all history', did(on('open'), within(999_999_999 * 7 * DAY), cmp('eq', num(3))), ['a']],
    ['a window ending before every instant is empty', did(on(null), { kind: 'relative', startMs: 999_999_999 * 7 * DAY + DAY, endMs: 999_999_999 * 7 * DAY }, cmp('eq', num(0))), ['a', 'b', 'c', 'd']],
  ],
);

describeCases(
  'aggregates, active days, first and last seen',
  {
    events: [
      { user: 'a', event: 'buy', at: T - 5 * DAY, props: { amount: 5, sku: 'b', gift: true, shipped_at: T - 4 * DAY } },
      { user: 'a', event: 'buy', at: T - 4 * DAY, props: { amount: 20, sku: 'a' } },
      { user: 'a', event: 'buy', at: T - 3 * DAY }, // no amount: ignored by every aggregate
      { user: 'a', event: 'open', at: T - DAY + 10 * HOUR },
      { user: 'a', event: 'open', at: T - 1 }, // 2024-01-09T23:59:59.999Z, the same UTC day as the one before
      { user: 'a', event: 'open', at: T - 2 * DAY },
      { user: 'a', event: 'open', at: T - 2 * DAY - 1 }, // 2024-01-07T23:59:59.999Z, a third UTC day
      { user: 'b', event: 'buy', at: T - 6 * DAY, props: { amount: 50, sku: 'c' } },
    ],
    profiles: { c: {} },
  },
  [
    ['sum', { kind: 'aggregate', fn: 'sum', property: 'amount', propertyType: 'number', filter: on('buy'), window: all, cmp: gte(25) }, ['a', 'b']],
    // (5 + 20) / 2; counting the buy without an amount as 0 would give 8.33.
    ['avg ignores missing values', { kind: 'aggregate', fn: 'avg', property: 'amount', propertyType: 'number', filter: on('buy'), window: all, cmp: cmp('eq', num(12.5)) }, ['a']],
    ['min', { kind: 'aggregate', fn: 'min', property: 'amount', propertyType: 'number', filter: on('buy'), window: all, cmp: cmp('lt', num(10)) }, ['a']],
    ['max', { kind: 'aggregate', fn: 'max', property: 'amount', propertyType: 'number', filter: on('buy'), window: all, cmp: cmp('gt', num(30)) }, ['b']],
    ['sum within 5d, start included', { kind: 'aggregate', fn: 'sum', property: 'amount', propertyType: 'number', filter: on('buy'), window: within(5 * DAY), cmp: gte(25) }, ['a']],
    ['distinct values', { kind: 'aggregate', fn: 'distinct', property: 'sku', propertyType: 'string', filter: on('buy'), window: all, cmp: cmp('eq', num(2)) }, ['a']],
    ['distinct is 0 over nothing', { kind: 'aggregate', fn: 'distinct', property: 'sku', propertyType: 'string', filter: on('buy'), window: all, cmp: cmp('eq', num(0)) }, ['c']],
    ['sum is missing over nothing', { kind: 'aggregate', fn: 'sum', property: 'amount', propertyType: 'number', filter: on('buy'), window: all, cmp: cmp('lte', num(100)) }, ['a', 'b']],
    ['not of a missing sum', not({ kind: 'aggregate', fn: 'sum', property: 'amount', propertyType: 'number', filter: on('buy'), window: all, cmp: cmp('lte', num(100)) }), ['c']],
    ['min of strings', { kind: 'aggregate', fn: 'min', property: 'sku', propertyType: 'string', filter: on('buy'), window: all, cmp: cmp('eq', str('a')) }, ['a']],
    ['max of timestamps', { kind: 'aggregate', fn: 'max', property: 'shipped_at', propertyType: 'timestamp', filter: on('buy'), window: all, cmp: cmp('eq', at(T - 4 * DAY)) }, ['a']],
    ['min of booleans', { kind: 'aggregate', fn: 'min', property: 'gift', propertyType: 'boolean', filter: on('buy'), window: all, cmp: cmp('eq', bool(true)) }, ['a']],
    ['where on a property', did(on('buy', prop('amount', 'number', cmp('gte', num(20)))), all, gte(1)), ['a', 'b']],
    ['ne in where is false on a missing property', did(on('buy', prop('amount', 'number', cmp('ne', num(5)))), all, cmp('eq', num(1))), ['a', 'b']],
    ['active days are UTC days', { kind: 'activeDays', filter: on('open'), window: all, cmp: cmp('eq', num(3)) }, ['a']],
    ['active days within 2d', { kind: 'activeDays', filter: on('open'), window: within(2 * DAY), cmp: cmp('eq', num(2)) }, ['a']],
    ['active days are 0 over nothing', { kind: 'activeDays', filter: on('open'), window: all, cmp: cmp('eq', num(0)) }, ['b', 'c']],
    ['lastSeen 1 ms ago is within 1d', { kind: 'lastSeen', filter: on('open'), window: all, cmp: cmp('lte', dur(DAY)) }, ['a']],
    ['lastSeen equal to a duration', { kind: 'lastSeen', filter: on('buy'), window: all, cmp: cmp('eq', dur(3 * DAY)) }, ['a']],
    ['lastSeen over 5d', { kind: 'lastSeen', filter: on('buy'), window: all, cmp: cmp('gt', dur(5 * DAY)) }, ['b']],
    ['firstSeen, equal included', { kind: 'firstSeen', filter: on('buy'), window: all, cmp: cmp('gte', dur(5 * DAY)) }, ['a', 'b']],
    ['firstSeen in a window', { kind: 'firstSeen', filter: on('buy'), window: within(5 * DAY), cmp: cmp('eq', dur(5 * DAY)) }, ['a']],
    ['lastSeen missing: exists false', { kind: 'lastSeen', filter: on('buy'), window: all, cmp: exists(false) }, ['c']],
    ['not lastSeen', not({ kind: 'lastSeen', filter: on('buy'), window: all, cmp: cmp('lt', dur(100 * DAY)) }), ['c']],
  ],
);

describeCases(
  'anchored windows',
  {
    events: [
      { user: 'a', event: 'signup', at: T - 10 * DAY },
      { user: 'a', event: 'buy', at: T - 8 * DAY },
      { user: 'a', event: 'signup', at: T - 5 * DAY },
      { user: 'b', event: 'signup', at: T - 5 * DAY },
      { user: 'b', event: 'buy', at: T - DAY },
      { user: 'c', event: 'buy', at: T - 6 * DAY }, // no signup: no anchor
      // The anchor is the first signup (T-10d), so the buy at T-3d is outside [T-10d, T-7d).
      { user: 'e', event: 'signup', at: T - 10 * DAY },
      { user: 'e', event: 'signup', at: T - 4 * DAY },
      { user: 'e', event: 'buy', at: T - 3 * DAY },
      // The window [T-1d, T+2d) is cut at asOf: the buy at T does not exist.
      { user: 'g', event: 'signup', at: T - DAY },
      { user: 'g', event: 'buy', at: T },
      { user: 'h', event: 'buy', at: T - 5 * DAY },
      // A window starting exactly at the anchor includes an event at the anchor.
      { user: 'k', event: 'signup', at: T - 2 * DAY },
      { user: 'k', event: 'buy', at: T - 2 * DAY },
    ],
    profiles: { h: { signed_up_at: T - 6 * DAY }, i: { signed_up_at: T + DAY } },
  },
  [
    ['did after the first anchor event', did(on('buy'), afterEvent(on('signup'), 3 * DAY)), ['a', 'k']],
    ['no anchor is false even for count eq 0', did(on('buy'), afterEvent(on('signup'), 3 * DAY), cmp('eq', num(0))), ['b', 'e', 'g']],
    ['not of an anchored condition includes users without the anchor', not(did(on('buy'), afterEvent(on('signup'), 3 * DAY), cmp('eq', num(0)))), ['a', 'c', 'h', 'i', 'k']],
    ['after a timestamp trait', did(on('buy'), afterTrait('signed_up_at', 2 * DAY)), ['h']],
    // i's anchor is after asOf: it exists, its window is empty, so the count is 0.
    ['a future trait anchor gives an empty window', did(on('buy'), afterTrait('signed_up_at', 2 * DAY), cmp('eq', num(0))), ['i']],
    ['firstSeen after an anchor', { kind: 'firstSeen', filter: on('buy'), window: afterEvent(on('signup'), 30 * DAY), cmp: cmp('gte', dur(8 * DAY)) }, ['a']],
    ['sessions after an anchor', { kind: 'sessions', gapMs: 30 * MINUTE, window: afterEvent(on('signup'), DAY), cmp: cmp('eq', num(1)) }, ['a', 'b', 'e', 'g', 'k']],
    ['sequence with its first step after an anchor', seq([on('signup'), on('buy')], null, afterEvent(on('signup'), DAY)), ['a', 'b', 'e']],
    ['the longest anchored window runs to asOf', did(on('buy'), afterEvent(on('signup'), 999_999_999 * 7 * DAY)), ['a', 'b', 'e', 'k']],
    ['the longest anchored window on a sequence', seq([on('buy')], null, afterTrait('signed_up_at', 999_999_999 * 7 * DAY)), ['h']],
  ],
);

describeCases(
  'sequences',
  {
    events: [
      { user: 'a', event: 'view', at: T - 5 * DAY },
      { user: 'a', event: 'buy', at: T - 4 * DAY },
      { user: 'b', event: 'view', at: T - 3 * DAY }, // equal timestamps: not a sequence
      { user: 'b', event: 'buy', at: T - 3 * DAY },
      { user: 'c', event: 'buy', at: T - 5 * DAY }, // wrong order
      { user: 'c', event: 'view', at: T - 4 * DAY },
      { user: 'd', event: 'view', at: T - 9 * DAY }, // 8 days apart
      { user: 'd', event: 'buy', at: T - DAY },
      { user: 'e', event: 'view', at: T - 4 * DAY }, // exactly 1 day apart
      { user: 'e', event: 'buy', at: T - 3 * DAY },
      // Starting from the earliest view misses the 3-day span; the latest view (T-2d) makes it.
      { user: 'f', event: 'view', at: T - 9 * DAY },
      { user: 'f', event: 'view', at: T - 2 * DAY },
      { user: 'f', event: 'buy', at: T - DAY },
      { user: 'g', event: 'view', at: T - 6 * DAY, props: { page: 'home' } },
      { user: 'g', event: 'view', at: T - 5 * DAY, props: { page: 'cart' } },
      { user: 'g', event: 'buy', at: T - DAY },
      { user: 'h', event: 'view', at: T - DAY }, // the buy at asOf does not exist
      { user: 'h', event: 'buy', at: T },
    ],
  },
  [
    ['span 7d', seq([on('view'), on('buy')], 7 * DAY), ['a', 'e', 'f', 'g']],
    ['no span', seq([on('view'), on('buy')], null), ['a', 'd', 'e', 'f', 'g']],
    ['the last step must be strictly before first + span', seq([on('view'), on('buy')], DAY), []],
    ['span 2d', seq([on('view'), on('buy')], 2 * DAY), ['a', 'e', 'f']],
    ['span 3d: f makes it from its latest view only', seq([on('view'), on('buy')], 3 * DAY), ['a', 'e', 'f']],
    ['steps with predicates', seq([on('view', prop('page', 'string', cmp('eq', str('cart')))), on('buy')], null), ['g']],
    ['the window applies to the first step, start included', seq([on('view'), on('buy')], null, within(5 * DAY)), ['a', 'e', 'f', 'g']],
    ['the same event twice at distinct times', seq([on('view'), on('view')], null), ['f', 'g']],
    ['three steps', seq([on('view'), on('view'), on('buy')], null), ['f', 'g']],
    ['not of a sequence', not(seq([on('view'), on('buy')], null)), ['b', 'c', 'h']],
  ],
);

describeCases(
  'funnels',
  {
    events: [
      { user: 'p1', event: 'signup', at: T - 6 * DAY },
      { user: 'p1', event: 'activate', at: T - 5 * DAY },
      { user: 'p1', event: 'pay', at: T - 4 * DAY },
      { user: 'p2', event: 'signup', at: T - 6 * DAY },
      { user: 'p2', event: 'activate', at: T - 5 * DAY },
      { user: 'p3', event: 'signup', at: T - 6 * DAY }, // pays without activating
      { user: 'p3', event: 'pay', at: T - 5 * DAY },
      { user: 'p4', event: 'activate', at: T - 5 * DAY }, // never signed up
      { user: 'p4', event: 'pay', at: T - 4 * DAY },
      { user: 'p5', event: 'signup', at: T - 10 * DAY }, // activates 8 days later, past the 7d span
      { user: 'p5', event: 'activate', at: T - 2 * DAY },
      { user: 'p7', event: 'signup', at: T - 3 * DAY }, // same instant
      { user: 'p7', event: 'activate', at: T - 3 * DAY },
    ],
    profiles: { p1: { signed_up_at: T - 6 * DAY }, p6: { signed_up_at: T - DAY } },
  },
  [
    ['reached 2 = dropped at step 3', funnel(all, cmp('eq', num(2))), ['p2']],
    ['reached 0 includes users with no events', funnel(all, cmp('eq', num(0))), ['p4', 'p6']],
    ['reached 3', funnel(all, cmp('eq', num(3))), ['p1']],
    ['reached at most 1', funnel(all, cmp('lte', num(1))), ['p3', 'p4', 'p5', 'p6', 'p7']],
    ['the window applies to step 1', funnel(within(5 * DAY), cmp('eq', num(1))), ['p7']],
    ['an anchored funnel without anchor is false even for reached >= 0', funnel(afterTrait('signed_up_at', DAY), gte(0)), ['p1', 'p6']],
    ['anchored, reached 0', funnel(afterTrait('signed_up_at', DAY), cmp('eq', num(0))), ['p6']],
  ],
);

describeCases(
  'regularly',
  {
    events: [
      { user: 'a', event: 'open', at: T - 12 * HOUR }, // period 0 = [T-1d, T)
      { user: 'a', event: 'open', at: T - 36 * HOUR }, // period 1 = [T-2d, T-1d)
      { user: 'b', event: 'open', at: T - 12 * HOUR },
      { user: 'b', event: 'open', at: T - 13 * HOUR },
      { user: 'b', event: 'open', at: T - 60 * HOUR }, // period 2 = [T-3d, T-2d)
      { user: 'b', event: 'open', at: T - 3 * DAY }, // the start of period 2
      { user: 'b', event: 'open', at: T - DAY - HOUR },
      { user: 'c', event: 'open', at: T - DAY }, // the start of period 0
      { user: 'c', event: 'open', at: T - DAY - 1 }, // the end of period 1
      { user: 'd', event: 'open', at: T - 3 * DAY - 1 }, // before period 2
      { user: 'd', event: 'open', at: T - 2 * DAY - HOUR },
      { user: 'e', event: 'open', at: T }, // at asOf: does not exist
      { user: 'e', event: 'open', at: T - DAY - HOUR },
    ],
    profiles: { z: {} },
  },
  [
    ['in 2 of 3 daily periods', { kind: 'regularly', filter: on('open'), periodMs: DAY, periods: 3, atLeast: 2, times: 1 }, ['a', 'b', 'c']],
    ['twice a day in 2 of 3 periods', { kind: 'regularly', filter: on('open'), periodMs: DAY, periods: 3, atLeast: 2, times: 2 }, ['b']],
    ['twice a day in 1 of 3 periods', { kind: 'regularly', filter: on('open'), periodMs: DAY, periods: 3, atLeast: 1, times: 2 }, ['b']],
    ['in all 3 periods', { kind: 'regularly', filter: on('open'), periodMs: DAY, periods: 3, atLeast: 3, times: 1 }, ['b']],
    ['at least 0 periods holds for everyone', { kind: 'regularly', filter: on('open'), periodMs: DAY, periods: 3, atLeast: 0, times: 1 }, ['a', 'b', 'c', 'd', 'e', 'z']],
    ['zero times holds in every period', { kind: 'regularly', filter: on('open'), periodMs: DAY, periods: 3, atLeast: 3, times: 0 }, ['a', 'b', 'c', 'd', 'e', 'z']],
    ['not regularly', not({ kind: 'regularly', filter: on('open'), periodMs: DAY, periods: 3, atLeast: 2, times: 1 }), ['d', 'e', 'z']],
  ],
);

const D0 = T - 2 * DAY;
describeCases(
  'sessions',
  {
    events: [
      // Sessions over all events whatever their name: [10:00, 10:20], [10:50] (a gap of exactly 30m starts one), [12:00].
      { user: 'a', event: 'open', at: D0 + 10 * HOUR },
      { user: 'a', event: 'view', at: D0 + 10 * HOUR + 20 * MINUTE },
      { user: 'a', event: 'open', at: D0 + 10 * HOUR + 50 * MINUTE },
      { user: 'a', event: 'buy', at: D0 + 12 * HOUR },
      // One session of 29:59.999; the event at asOf does not exist.
      { user: 'b', event: 'open', at: D0 + 9 * HOUR },
      { user: 'b', event: 'open', at: D0 + 9 * HOUR + 30 * MINUTE - 1 },
      { user: 'b', event: 'open', at: T },
      // Two events at one instant are one session of length 0.
      { user: 'd', event: 'open', at: D0 },
      { user: 'd', event: 'view', at: D0 },
    ],
    profiles: { c: {} },
  },
  [
    ['sessions', { kind: 'sessions', gapMs: 30 * MINUTE, window: all, cmp: cmp('eq', num(3)) }, ['a']],
    ['no events, no sessions', { kind: 'sessions', gapMs: 30 * MINUTE, window: all, cmp: cmp('eq', num(0)) }, ['c']],
    ['equal instants make one session', { kind: 'sessions', gapMs: 30 * MINUTE, window: all, cmp: cmp('eq', num(1)) }, ['b', 'd']],
    // The view at 10:20 is in the window, but its session started at 10:00.
    ['a session belongs to the window of its first event', { kind: 'sessions', gapMs: 30 * MINUTE, window: during(D0 + 10 * HOUR + 10 * MINUTE, null), cmp: cmp('eq', num(2)) }, ['a']],
    ['a longer gap merges sessions', { kind: 'sessions', gapMs: 31 * MINUTE, window: all, cmp: cmp('eq', num(2)) }, ['a']],
    ['max duration', { kind: 'sessionDuration', stat: 'max', gapMs: 30 * MINUTE, window: all, cmp: cmp('eq', dur(20 * MINUTE)) }, ['a']],
    ['total duration', { kind: 'sessionDuration', stat: 'total', gapMs: 30 * MINUTE, window: all, cmp: cmp('gte', dur(25 * MINUTE)) }, ['b']],
    ['avg duration (20m / 3 sessions)', { kind: 'sessionDuration', stat: 'avg', gapMs: 30 * MINUTE, window: all, cmp: cmp('lt', dur(10 * MINUTE)) }, ['a', 'd']],
    ['duration in a window', { kind: 'sessionDuration', stat: 'max', gapMs: 30 * MINUTE, window: within(DAY + 13 * HOUR + 30 * MINUTE), cmp: cmp('eq', dur(0)) }, ['a']],
    ['duration is missing without sessions', not({ kind: 'sessionDuration', stat: 'max', gapMs: 30 * MINUTE, window: all, cmp: gteDur(0) }), ['c']],
    // Totals and averages from session edges: a session begun before the window does not count, one running past its end does.
    ['total leaves out a session begun before the window', { kind: 'sessionDuration', stat: 'total', gapMs: 30 * MINUTE, window: during(D0 + 10 * HOUR + 10 * MINUTE, null), cmp: cmp('eq', dur(0)) }, ['a']],
    ['total counts a session running past the window', { kind: 'sessionDuration', stat: 'total', gapMs: 30 * MINUTE, window: during(D0 + 10 * HOUR, D0 + 10 * HOUR + 10 * MINUTE), cmp: cmp('eq', dur(20 * MINUTE)) }, ['a']],
    ['avg over a closed window', { kind: 'sessionDuration', stat: 'avg', gapMs: 30 * MINUTE, window: during(D0 + 9 * HOUR, D0 + 10 * HOUR + 30 * MINUTE), cmp: gteDur(20 * MINUTE) }, ['a', 'b']],
    ['total in an anchored window begun inside a session', { kind: 'sessionDuration', stat: 'total', gapMs: 30 * MINUTE, window: afterEvent(on('view'), 2 * HOUR), cmp: cmp('eq', dur(0)) }, ['a', 'd']],
    ['total in an anchored window a session outlasts', { kind: 'sessionDuration', stat: 'total', gapMs: 30 * MINUTE, window: afterEvent(on('open'), 15 * MINUTE), cmp: gteDur(20 * MINUTE) }, ['a', 'b']],
  ],
);

function gteDur(ms: number) {
  return cmp('gte', dur(ms));
}

for (const kind of ENGINE_KINDS) runBlocks(kind);
