/**
 * Key moments on DuckDB: the `moments:` section's validation (exact paths), the calendar
 * keys the SQL computes (against JavaScript's Date), worked examples of each kind at its
 * edges, and a property test holding every kind's instants, summaries and per-user moments
 * to the oracle in test/moments-support.ts (plain loops over random logs) at several asOf.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeMomentRule,
  momentInstants,
  momentSummaries,
  parseMomentsSection,
  userMoments,
  type MomentsConfig,
} from '../src/analysis/moments/index.js';
import { daySql, monthKey, monthOfDaySql, monthStartMs, weekKey, weekSql, weekStartMs } from '../src/analysis/moments/utc-calendar.js';
import { demoPlan } from '../src/demo/index.js';
import type { TrackingPlan } from '../src/schema/tracking-plan.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { MS } from '../src/time/time.js';
import { reloadStore } from './support/load-duckdb.js';
import { BASE_MS, MOMENT_PLAN, USERS, gridMs, logArb, momentDocArb, mondayOf, oracleInstants, toDataset, type Log } from './moments-support.js';

function parse(section: unknown, plan: TrackingPlan = demoPlan()): { config: MomentsConfig; errors: { path: string; message: string }[] } {
  const errors: { path: string; message: string }[] = [];
  const config = parseMomentsSection(section, plan, (path, message) => errors.push({ path, message }));
  return { config, errors };
}

describe('the moments: section', () => {
  it('reads each kind into its rule, in the order written', () => {
    const { config, errors } = parse({
      'first-core-action': { name: 'First core action', first: 'core_task_completed' },
      'first-action-after-signup': { first: '*', after: { event: 'signed_up' } },
      'activated-first-week': { first: 'core_task_completed', after: { trait: 'signup_at' }, within: '7d' },
      'monthly-regular': { threshold: 'core_task_completed', activeDays: 8, description: 'Habit formed.' },
      'weekly-power': { threshold: 'core_task_completed', where: [{ property: 'duration_s', gte: 60 }], events: 10, per: 'week' },
      'stalled-activation': { absence: 'core_task_completed', after: { trait: 'signup_at' }, within: '3d' },
    });
    expect(errors).toEqual([]);
    expect(config.moments.map((m) => m.key)).toEqual([
      'first-core-action',
      'first-action-after-signup',
      'activated-first-week',
      'monthly-regular',
      'weekly-power',
      'stalled-activation',
    ]);
    const [core, afterSignup, week, regular, power, stalled] = config.moments;
    expect(core!.name).toBe('First core action');
    expect(afterSignup!.name).toBe('first-action-after-signup');
    expect(regular!.description).toBe('Habit formed.');
    expect(core!.rule).toEqual({ kind: 'first', filter: { event: 'core_task_completed', where: [] }, after: null, withinMs: null });
    expect(week!.rule).toEqual({ kind: 'first', filter: { event: 'core_task_completed', where: [] }, after: { kind: 'trait', trait: 'signup_at' }, withinMs: 7 * MS.d });
    expect(power!.rule).toEqual({
      kind: 'threshold',
      filter: { event: 'core_task_completed', where: [{ property: 'duration_s', type: 'number', cmp: { op: 'gte', value: { kind: 'number', value: 60 } } }] },
      measure: 'events',
      n: 10,
      per: 'week',
    });
    expect(stalled!.rule).toEqual({ kind: 'absence', filter: { event: 'core_task_completed', where: [] }, after: { kind: 'trait', trait: 'signup_at' }, withinMs: 3 * MS.d });
    expect(config.moments.map((m) => describeMomentRule(m.rule))).toEqual([
      'first core_task_completed',
      'first event of any name strictly after the first signed_up',
      'first core_task_completed strictly after trait signup_at, within 1w',
      'core_task_completed on 8 distinct days of one calendar month (UTC)',
      'core_task_completed where duration_s >= 60 10 times in one ISO week (UTC, Monday to Sunday)',
      '3d after trait signup_at with no core_task_completed',
    ]);
  });

  it('is empty when absent or null', () => {
    expect(parse(undefined)).toEqual({ config: { moments: [] }, errors: [] });
    expect(parse(null)).toEqual({ config: { moments: [] }, errors: [] });
  });

  it('names the exact path of every mistake', () => {
    const { config, errors } = parse({
      'a-event': { first: 'core_task_complete' },
      'b-property': { threshold: 'core_task_completed', where: [{ property: 'duraton_s', gt: 1 }], activeDays: 2 },
      'c-anchor': { absence: 'invite_sent', after: { trait: 'plan' }, within: '3d' },
      'd-within': { first: 'invite_sent', within: '3d' },
      'e-days': { threshold: 'invite_sent', activeDays: 9, per: 'week' },
      'f-both': { threshold: 'invite_sent', activeDays: 2, events: 3 },
      'g-kinds': { first: 'invite_sent', absence: 'invite_sent' },
      'h-typo': { frist: 'invite_sent' },
      'i-missing': { absence: 'invite_sent', after: { event: 'signed_up' } },
      'j-extra': { first: 'invite_sent', count: 2 },
      'Bad Key': { first: 'invite_sent' },
      'k-type': { threshold: 'purchase', where: [{ property: 'amount', eq: 'ten' }], events: 2 },
      'l-sensitive': { absence: 'invite_sent', after: { event: 'signed_up', where: [{ property: 'methd', eq: 'x' }] }, within: '1d' },
      'm-long': { absence: 'invite_sent', after: { event: 'signed_up' }, within: '999999w' },
      'n-per': { threshold: 'invite_sent', activeDays: 2, per: 'day' },
      'o-name': { first: 5 },
      'p-anchor': { first: 'invite_sent', after: 'signed_up' },
    });
    expect(config.moments).toEqual([]);
    const at = (path: string) => errors.filter((e) => e.path === path).map((e) => e.message);
    expect(at('moments.a-event.first')).toEqual([expect.stringMatching(/event "core_task_complete" is not declared.*did you mean "core_task_completed"/)]);
    expect(at('moments.b-property.where[0].property')).toEqual([expect.stringMatching(/property "duraton_s" is not declared on event "core_task_completed".*duration_s/)]);
    expect(at('moments.c-anchor.after.trait')).toEqual([expect.stringMatching(/declared string; an anchor needs a timestamp trait/)]);
    expect(at('moments.d-within.within')).toEqual([expect.stringMatching(/add after/)]);
    expect(at('moments.e-days.activeDays')).toEqual([expect.stringMatching(/a week has at most 7 days/)]);
    expect(at('moments.f-both')).toEqual([expect.stringMatching(/one of activeDays and events/)]);
    expect(at('moments.g-kinds')).toEqual([expect.stringMatching(/exactly one kind key; found first and absence/)]);
    expect(at('moments.h-typo')).toEqual([expect.stringMatching(/did you mean first\?/)]);
    expect(at('moments.i-missing.within')).toEqual([expect.stringMatching(/^required: expected a positive duration/)]);
    expect(at('moments.j-extra.count')).toEqual([expect.stringMatching(/unknown key/)]);
    expect(at('moments["Bad Key"]')).toEqual([expect.stringMatching(/like a segment key/)]);
    expect(at('moments.k-type.where[0].eq')).toEqual([expect.stringMatching(/expected a number/)]);
    expect(at('moments.l-sensitive.after.where[0].property')).toEqual([expect.stringMatching(/"methd" is not declared/)]);
    expect(at('moments.m-long.within')).toEqual([expect.stringMatching(/at most 36500d/)]);
    expect(at('moments.n-per.per')).toEqual(['expected a period: month or week, got "day"']);
    expect(at('moments.o-name.first')).toEqual([expect.stringMatching(/expected an event name declared in the tracking plan.*got 5/)]);
    expect(at('moments.p-anchor.after')).toEqual([expect.stringMatching(/expected an anchor \{event: E/)]);
    expect(parse(['first']).errors).toEqual([{ path: 'moments', message: expect.stringMatching(/expected a mapping of moment keys/) }]);
  });
});

let store: DuckDbStore;

beforeAll(async () => {
  store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  await store.applyPlan(MOMENT_PLAN);
});

afterAll(async () => {
  await store.close();
});

/** 0001-01-01T00:00Z (Date.UTC reads year 1 as 1901). */
const YEAR_1_MS = new Date(0).setUTCFullYear(1, 0, 1);

describe('UTC calendar keys in SQL', () => {
  // Oracle: JavaScript's Date (UTC getters) for months and weekdays.
  it('match the TypeScript keys, and those match Date, from year 1 to 2200', async () => {
    const instants = fc.sample(
      fc.oneof(
        fc.integer({ min: YEAR_1_MS, max: Date.UTC(2200, 0, 1) }),
        // Month and day edges: midnight and a millisecond either side.
        fc.tuple(fc.integer({ min: 1900, max: 2100 }), fc.integer({ min: 0, max: 11 }), fc.constantFrom(-1, 0, 1)).map(([y, m, e]) => Date.UTC(y, m, 1) + e),
      ),
      { numRuns: 500, seed: 7 },
    );
    const d = store.dialect;
    const literals = instants.map((t) => `SELECT ${d.numberLiteral(t)} AS t`).join(' UNION ALL ');
    const rows = await store.query(
      `SELECT t, ${weekSql(d, 't')} AS week, ${monthOfDaySql(d, 'day')} AS month FROM (SELECT t, ${daySql(d, 't')} AS day FROM (${literals}) AS i) AS k`,
    );
    expect(rows).toHaveLength(instants.length);
    for (const r of rows) {
      const t = Number(r.t);
      expect(Number(r.week), `week of ${t}`).toBe(weekKey(t));
      expect(Number(r.month), `month of ${t}`).toBe(monthKey(t));
      const start = monthStartMs(monthKey(t));
      const date = new Date(t);
      expect(new Date(start).getUTCMonth()).toBe(date.getUTCMonth());
      expect(new Date(start).getUTCFullYear()).toBe(date.getUTCFullYear());
      expect(new Date(start).getUTCDate()).toBe(1);
      expect(start).toBeLessThanOrEqual(t);
      expect(monthStartMs(monthKey(t) + 1)).toBeGreaterThan(t);
      const monday = weekStartMs(weekKey(t));
      expect(new Date(monday).getUTCDay()).toBe(1);
      expect(((monday % MS.d) + MS.d) % MS.d).toBe(0);
      expect(t - monday).toBeGreaterThanOrEqual(0);
      expect(t - monday).toBeLessThan(MS.w);
    }
    // Consecutive days give consecutive day keys.
    const days = await store.query(`SELECT ${daySql(d, d.numberLiteral(Date.UTC(2024, 1, 29, 23, 59)))} AS a, ${daySql(d, d.numberLiteral(Date.UTC(2024, 2, 1)))} AS b`);
    expect(Number(days[0]!.b) - Number(days[0]!.a)).toBe(1);
  });
});

/** Load a log into the shared store. */
async function load(log: Log): Promise<void> {
  await reloadStore(store, MOMENT_PLAN, toDataset(log));
}

const section = (docs: readonly Record<string, unknown>[]) => Object.fromEntries(docs.map((doc, i) => [`m${i}`, doc]));

async function instantsByUser(config: MomentsConfig, key: string, asOfMs: number): Promise<Map<string, number>> {
  return new Map((await momentInstants(store, { moments: config }, key, { asOfMs })).map((i) => [i.userId, i.atMs]));
}

describe('worked examples at the edges', () => {
  const H = MS.h;
  const T = Date.UTC(2024, 1, 28, 12);
  const ev = (userId: string, event: string, ts: number, properties: Record<string, string | number> = {}) => ({ userId, event, ts, properties });

  it('first after an anchor is strictly after it; absence counts an event at the anchor and not one at anchor + within', async () => {
    await load({
      events: [
        // a: a core task at the signup instant itself, another 72h later.
        ev('a', 'signed_up', T),
        ev('a', 'core_task_completed', T),
        ev('a', 'core_task_completed', T + 72 * H),
        // b: the only core task exactly at signup + 72h.
        ev('b', 'signed_up', T),
        ev('b', 'core_task_completed', T + 72 * H),
        // c: signs up, never does a core task.
        ev('c', 'signed_up', T + H),
      ],
      signupAt: {},
    });
    const { config } = parse(
      {
        'first-after': { first: 'core_task_completed', after: { event: 'signed_up' } },
        'first-within': { first: 'core_task_completed', after: { event: 'signed_up' }, within: '72h' },
        stalled: { absence: 'core_task_completed', after: { event: 'signed_up' }, within: '72h' },
      },
      MOMENT_PLAN,
    );
    const asOf = T + 30 * MS.d;
    expect(await instantsByUser(config, 'first-after', asOf)).toEqual(new Map([['a', T + 72 * H], ['b', T + 72 * H]]));
    // [anchor, anchor + 72h) excludes the tasks at +72h, and `first` excludes the one at the anchor.
    expect(await instantsByUser(config, 'first-within', asOf)).toEqual(new Map());
    expect(await instantsByUser(config, 'stalled', asOf)).toEqual(new Map([['b', T + 72 * H], ['c', T + 73 * H]]));
    // anchor + within must be before asOf: exactly at asOf it has not happened yet.
    expect(await instantsByUser(config, 'stalled', T + 72 * H)).toEqual(new Map());
    expect(await instantsByUser(config, 'stalled', T + 72 * H + 1)).toEqual(new Map([['b', T + 72 * H]]));
  });

  it('a threshold counts within one calendar month: the leap day and March 1st are different months', async () => {
    const feb29 = Date.UTC(2024, 1, 29);
    await load({
      events: [
        // a: active on Feb 28 and Feb 29 (twice), then Mar 1: two days in February.
        ev('a', 'core_task_completed', feb29 - MS.d + 5 * H),
        ev('a', 'core_task_completed', feb29 + 23 * H),
        ev('a', 'core_task_completed', feb29 + 2 * H),
        ev('a', 'core_task_completed', feb29 + MS.d),
        // b: Feb 29 and Mar 1, Mar 2: two days only in March.
        ev('b', 'core_task_completed', feb29),
        ev('b', 'core_task_completed', feb29 + MS.d),
        ev('b', 'core_task_completed', feb29 + 2 * MS.d + H),
        ev('b', 'core_task_completed', feb29 + 2 * MS.d + H),
      ],
      signupAt: {},
    });
    const { config } = parse(
      {
        'two-days': { threshold: 'core_task_completed', activeDays: 2 },
        'four-events': { threshold: 'core_task_completed', events: 4 },
        'three-events': { threshold: 'core_task_completed', events: 3 },
      },
      MOMENT_PLAN,
    );
    const asOf = feb29 + 10 * MS.d;
    // a: the first event of its 2nd February day (Feb 29 02:00); b: of its 2nd March day (Mar 2 01:00).
    expect(await instantsByUser(config, 'two-days', asOf)).toEqual(new Map([['a', feb29 + 2 * H], ['b', feb29 + 2 * MS.d + H]]));
    // a has 3 February events and 1 in March; b has 1 in February and 3 in March.
    expect(await instantsByUser(config, 'four-events', asOf)).toEqual(new Map());
    // b's 3rd March event ties with its 2nd: the instant is that shared timestamp.
    expect(await instantsByUser(config, 'three-events', asOf)).toEqual(new Map([['a', feb29 + 23 * H], ['b', feb29 + 2 * MS.d + H]]));
  });
});

describe('every kind against the oracle on random logs', () => {
  const FAR = BASE_MS + 400 * MS.d;

  it('instants, summaries and per-user moments agree at several asOf', async () => {
    await fc.assert(
      fc.asyncProperty(logArb, fc.array(momentDocArb, { minLength: 1, maxLength: 4 }), fc.array(gridMs, { minLength: 1, maxLength: 2 }), async (log, docs, cuts) => {
        const { config, errors } = parse(section(docs), MOMENT_PLAN);
        expect(errors).toEqual([]);
        await load(log);
        const source = { moments: config };
        for (const asOfMs of [...cuts, FAR]) {
          const expectedByKey = new Map(config.moments.map((m) => [m.key, oracleInstants(m.rule, log, asOfMs)]));
          for (const m of config.moments) {
            const expected = expectedByKey.get(m.key)!;
            const got = await momentInstants(store, source, m.key, { asOfMs });
            const context = `${m.key} ${JSON.stringify(m.source)} as of ${new Date(asOfMs).toISOString()}`;
            expect(new Map(got.map((i) => [i.userId, i.atMs])), context).toEqual(expected);
            // Earliest first, ties by user id.
            expect(got.map((i) => i.atMs), context).toEqual([...got.map((i) => i.atMs)].sort((a, b) => a - b));
            // The moment as of a later instant keeps every instant it had (see README: cut at asOf).
            if (asOfMs !== FAR) {
              const later = oracleInstants(m.rule, log, FAR);
              expect(new Map([...later].filter(([, at]) => at < asOfMs)), `${context}: cut of the later answer`).toEqual(expected);
            }
          }
          const report = await momentSummaries(store, source, { asOfMs });
          for (const s of report.moments) {
            const expected = [...expectedByKey.get(s.key)!.values()];
            expect(s.reached).toBe(expected.length);
            expect(s.firstAt).toBe(expected.length === 0 ? null : new Date(Math.min(...expected)).toISOString());
            expect(s.lastAt).toBe(expected.length === 0 ? null : new Date(Math.max(...expected)).toISOString());
            const perWeek = new Map<string, number>();
            for (const t of expected) perWeek.set(mondayOf(t), (perWeek.get(mondayOf(t)) ?? 0) + 1);
            expect(new Map(s.buckets.filter((b) => b.users > 0).map((b) => [b.start.slice(0, 10), b.users]))).toEqual(perWeek);
          }
          const who = USERS[cuts.length % USERS.length]!;
          const mine = await userMoments(store, source, who, { asOfMs });
          expect(mine).toEqual(
            config.moments.map((m) => {
              const at = expectedByKey.get(m.key)!.get(who);
              return { key: m.key, at: at === undefined ? null : new Date(at).toISOString() };
            }),
          );
        }
        // Exactly at each moment's earliest instant it has not happened yet; 1 ms later it has.
        for (const m of config.moments) {
          const first = Math.min(...oracleInstants(m.rule, log, FAR).values());
          if (!Number.isFinite(first)) continue;
          for (const asOfMs of [first, first + 1]) {
            const got = await instantsByUser(config, m.key, asOfMs);
            expect(got, `${m.key} ${JSON.stringify(m.source)} as of ${new Date(asOfMs).toISOString()}`).toEqual(oracleInstants(m.rule, log, asOfMs));
          }
        }
      }),
      { numRuns: process.env.CI ? 200 : 50 },
    );
  });
});
