/**
 * Retention tables on DuckDB against a brute-force reference written here from the
 * definitions (README "Retention"), over random logs (fast-check), and a small hand-worked
 * case. The reference shares no code with src/analysis/retention: periods come from JS
 * Date arithmetic (UTC midnight, Monday weeks, Date.UTC months), each user's periods are
 * enumerated event by event, and completeness is checked per cell from its own rule.
 *
 * Random instants sit around month and ISO-week edges (midnight, a millisecond before it,
 * noon), in 2024 (a leap February) and around 1970 (negative epoch times), so ties with
 * period edges, with asOf and with from/to happen often.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRetentionDefinition, periodLabel, periodKey, retentionTable, type RetentionDefinition, type RetentionResult } from '../src/analysis/retention/index.js';
import type { StrataError } from '../src/errors/errors.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import type { SegmentRegistry } from '../src/segments/registry/index.js';
import type { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { MS } from '../src/time/time.js';
import { reloadStore, seedDataset, type SeedEvent } from './support/load-duckdb.js';
import { openMemoryStore } from './support/memory-store.js';

const PLAN = parsePlan({
  events: { view: { properties: { n: { type: 'number' }, page: { type: 'string' } } }, buy: { properties: { amount: { type: 'number' } } }, signup: { properties: {} } },
  traits: { plan: { type: 'string' } },
});
const DAY = MS.d;

// ---- the reference ----------------------------------------------------------------------

type Unit = 'day' | 'week' | 'month';

function refPeriodStart(unit: Unit, ms: number): number {
  const d = new Date(ms);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (unit === 'day') return midnight;
  if (unit === 'week') return midnight - ((d.getUTCDay() + 6) % 7) * DAY;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** The start of the period `n` periods after the one starting at `start`. */
function refAdvance(unit: Unit, start: number, n: number): number {
  if (unit === 'day') return start + n * DAY;
  if (unit === 'week') return start + n * 7 * DAY;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1);
}

function refCalendarIndex(unit: Unit, start: number, ms: number): number {
  const a = refPeriodStart(unit, start);
  const b = refPeriodStart(unit, ms);
  if (unit !== 'month') return Math.round((b - a) / (unit === 'day' ? DAY : 7 * DAY));
  const x = new Date(a);
  const y = new Date(b);
  return (y.getUTCFullYear() - x.getUTCFullYear()) * 12 + y.getUTCMonth() - x.getUTCMonth();
}

interface RefEvent {
  readonly user: string;
  readonly event: string;
  readonly at: number;
  readonly props: Readonly<Record<string, number | string | null>>;
}

interface RefFilter {
  readonly event: string | null;
  /** `n gte X` / `amount gt X` style predicates: [property, op, value]. */
  readonly where: readonly (readonly [string, 'gte' | 'gt' | 'eq', number])[];
}

interface RefSpec {
  readonly unit: Unit;
  readonly alignment: 'calendar' | 'elapsed';
  readonly start: RefFilter | null;
  readonly ret: RefFilter;
  readonly periods: number;
  readonly fromMs: number | null;
  readonly toMs: number | null;
  readonly byPlan: boolean;
}

const matches = (f: RefFilter, e: RefEvent) =>
  (f.event === null || f.event === e.event) &&
  f.where.every(([p, op, v]) => {
    const x = e.props[p];
    if (typeof x !== 'number') return false;
    return op === 'gte' ? x >= v : op === 'gt' ? x > v : x === v;
  });

interface RefCell {
  period: number;
  complete: boolean;
  returned: number;
  onOrAfter: number;
}
interface RefCohort {
  start: string;
  size: number;
  cells: RefCell[];
}

/** The expected table, group by group: each user's start, cohort and periods enumerated directly. */
function reference(events: readonly RefEvent[], plans: ReadonlyMap<string, string>, spec: RefSpec, asOfMs: number): Record<string, RefCohort[]> {
  const to = Math.min(spec.toMs ?? asOfMs, asOfMs);
  const len = spec.unit === 'day' ? DAY : 7 * DAY;
  const users = new Map<string, RefEvent[]>();
  for (const e of events) if (e.at < asOfMs) users.set(e.user, [...(users.get(e.user) ?? []), e]);
  const cohorts = new Map<string, Map<number, { size: number; returned: Map<number, number>; onOrAfter: Map<number, number> }>>();
  for (const [user, list] of users) {
    const starts = list.filter((e) => spec.start === null || matches(spec.start, e)).map((e) => e.at);
    if (starts.length === 0) continue;
    const start = Math.min(...starts);
    if (start >= to || (spec.fromMs !== null && start < spec.fromMs)) continue;
    const group = spec.byPlan ? (plans.get(user) ?? '(none)') : 'all';
    const cohortStart = refPeriodStart(spec.unit, start);
    const ks = new Set(
      list
        .filter((e) => e.at >= start && matches(spec.ret, e))
        .map((e) => (spec.alignment === 'calendar' ? refCalendarIndex(spec.unit, start, e.at) : Math.floor((e.at - start) / len))),
    );
    const byCohort = cohorts.get(group) ?? new Map();
    cohorts.set(group, byCohort);
    const c = byCohort.get(cohortStart) ?? { size: 0, returned: new Map(), onOrAfter: new Map() };
    byCohort.set(cohortStart, c);
    c.size++;
    const last = ks.size === 0 ? -1 : Math.max(...ks);
    for (let k = 0; k <= spec.periods; k++) {
      if (ks.has(k)) c.returned.set(k, (c.returned.get(k) ?? 0) + 1);
      if (last >= k) c.onOrAfter.set(k, (c.onOrAfter.get(k) ?? 0) + 1);
    }
  }
  const out: Record<string, RefCohort[]> = {};
  for (const [group, byCohort] of cohorts) {
    out[group] = [...byCohort]
      .sort(([a], [b]) => a - b)
      .map(([cohortStart, c]) => {
        const cells: RefCell[] = [];
        for (let k = 0; k <= spec.periods; k++) {
          let present: boolean;
          let complete: boolean;
          if (spec.alignment === 'calendar') {
            present = refAdvance(spec.unit, cohortStart, k) < asOfMs;
            complete = refAdvance(spec.unit, cohortStart, k + 1) <= asOfMs;
          } else {
            // The cohort's possible starts: its period cut to [from, to).
            const earliest = Math.max(cohortStart, spec.fromMs ?? -Infinity);
            const latest = Math.min(refAdvance(spec.unit, cohortStart, 1), to) - 1;
            present = earliest + k * len < asOfMs;
            complete = latest + (k + 1) * len <= asOfMs;
          }
          if (!present) break;
          cells.push({ period: k, complete, returned: c.returned.get(k) ?? 0, onOrAfter: c.onOrAfter.get(k) ?? 0 });
        }
        return { start: new Date(cohortStart).toISOString(), size: c.size, cells };
      });
  }
  return out;
}

/** The implementation's result in the reference's shape (rates checked against counts on the way). */
function project(r: RetentionResult): Record<string, RefCohort[]> {
  const out: Record<string, RefCohort[]> = {};
  for (const g of r.groups) {
    out[g.group] = g.cohorts.map((c) => ({
      start: c.start,
      size: c.size,
      cells: c.cells.map((cell) => {
        expect(cell.returnedRate).toBe(cell.returned! / c.size);
        expect(cell.onOrAfterRate).toBe(cell.onOrAfter! / c.size);
        return { period: cell.period, complete: cell.complete, returned: cell.returned!, onOrAfter: cell.onOrAfter! };
      }),
    }));
    expect(g.size).toBe(g.cohorts.reduce((s, c) => s + c.size, 0));
  }
  return out;
}

// ---- generators -------------------------------------------------------------------------

/** Around 2024-01-29 (a Monday, before a leap February) or 1969-12-22 (a Monday before the epoch). */
const BASES = [Date.UTC(2024, 0, 29), Date.UTC(1969, 11, 22)];
const instant = (base: number) =>
  fc
    .tuple(fc.integer({ min: -3, max: 45 }), fc.constantFrom(0, DAY - 1, 12 * MS.h, 1, 7 * MS.h + 123))
    .map(([d, t]) => base + d * DAY + t);

const USERS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', "o'q"];

const eventArb = (base: number) =>
  fc.record({
    user: fc.constantFrom(...USERS),
    event: fc.constantFrom('view', 'buy', 'signup'),
    at: instant(base),
    n: fc.option(fc.constantFrom(0, 1, 2, 5), { nil: null }),
  });

const filterArb = (allowAny: boolean): fc.Arbitrary<RefFilter> =>
  fc.oneof(
    ...(allowAny ? [fc.constant<RefFilter>({ event: null, where: [] })] : []),
    fc.constantFrom<RefFilter>({ event: 'view', where: [] }, { event: 'buy', where: [] }, { event: 'signup', where: [] }),
    fc.constantFrom<RefFilter>({ event: 'view', where: [['n', 'gte', 2]] }, { event: 'buy', where: [['amount', 'gt', 1]] }, { event: null, where: [['n', 'eq', 0]] }),
  );

const caseArb = fc.constantFrom(...BASES).chain((base) =>
  fc.record({
    base: fc.constant(base),
    events: fc.array(eventArb(base), { minLength: 0, maxLength: 40 }),
    plans: fc.dictionary(fc.constantFrom(...USERS), fc.constantFrom('free', 'pro')),
    unit: fc.constantFrom<Unit>('day', 'week', 'month'),
    elapsed: fc.boolean(),
    start: fc.option(filterArb(false), { nil: null }),
    ret: filterArb(true),
    periods: fc.integer({ min: 0, max: 10 }),
    from: fc.option(instant(base), { nil: null }),
    to: fc.option(instant(base), { nil: null }),
    asOf: instant(base),
    byPlan: fc.boolean(),
  }),
);

/** view carries n, buy carries the same draw as amount. */
function toRefEvent(e: { user: string; event: string; at: number; n: number | null }): RefEvent {
  const props: Record<string, number | null> = e.event === 'view' ? { n: e.n } : e.event === 'buy' ? { amount: e.n } : {};
  return { user: e.user, event: e.event, at: e.at, props };
}

function toDefinition(c: { unit: Unit; elapsed: boolean; start: RefFilter | null; ret: RefFilter; periods: number; from: number | null; to: number | null; byPlan: boolean }): RetentionDefinition {
  const spec = (f: RefFilter) => ({ event: f.event ?? '*', where: f.where.map(([property, op, value]) => ({ property, [op]: value })) });
  return {
    cohort: c.unit,
    alignment: c.elapsed && c.unit !== 'month' ? 'elapsed' : 'calendar',
    ...(c.start === null ? {} : { start: spec(c.start) }),
    return: spec(c.ret),
    periods: c.periods,
    ...(c.from === null ? {} : { from: new Date(c.from).toISOString() }),
    ...(c.to === null ? {} : { to: new Date(c.to).toISOString() }),
    mode: 'both',
    ...(c.byPlan ? { by: 'plan' } : {}),
  };
}

// ---- tests ------------------------------------------------------------------------------

let store: DuckDbStore;
let registry: SegmentRegistry;

beforeAll(async () => {
  ({ store, registry } = await openMemoryStore(PLAN));
});

afterAll(async () => {
  await store?.close();
});

async function load(events: readonly RefEvent[], plans: Readonly<Record<string, string>>) {
  const seed: SeedEvent[] = events.map((e) => ({ user: e.user, event: e.event, at: e.at, props: e.props }));
  await reloadStore(store, PLAN, seedDataset({ events: seed, profiles: Object.fromEntries(Object.entries(plans).map(([u, plan]) => [u, { plan }])) }));
}

describe('retention tables against the brute-force reference', () => {
  it('agree on random logs for every unit, alignment, start and return filter, range and breakdown', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const events = c.events.map(toRefEvent);
        const definition = toDefinition(c);
        let spec;
        try {
          spec = checkRetentionDefinition(definition, PLAN, c.asOf);
        } catch (e) {
          // An empty cohort range is an input error, not a table.
          const to = Math.min(c.to ?? c.asOf, c.asOf);
          expect(c.from !== null && c.from >= to).toBe(true);
          expect((e as StrataError).toLine()).toMatch(/from before/);
          return;
        }
        await load(events, c.plans);
        const result = await retentionTable({ store, plan: PLAN, registry }, spec, c.asOf);
        const expected = reference(
          events,
          new Map(Object.entries(c.plans)),
          { unit: c.unit, alignment: definition.alignment!, start: c.start, ret: c.ret, periods: c.periods, fromMs: c.from, toMs: c.to, byPlan: c.byPlan },
          c.asOf,
        );
        expect(project(result)).toEqual(expected);
      }),
      { numRuns: process.env.CI ? 500 : 150 },
    );
  }, 300_000);

  it('computes the same counts in each mode alone as in both', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const definition = toDefinition({ ...c, from: null, to: null });
        await load(
          c.events.map(toRefEvent),
          c.plans,
        );
        const run = (mode: 'both' | 'returned' | 'on-or-after') => retentionTable({ store, plan: PLAN, registry }, checkRetentionDefinition({ ...definition, mode }, PLAN, c.asOf), c.asOf);
        const [both, returned, onOrAfter] = [await run('both'), await run('returned'), await run('on-or-after')];
        const pick = (r: RetentionResult, field: 'returned' | 'onOrAfter') => r.groups.map((g) => g.cohorts.map((co) => [co.size, ...co.cells.map((x) => x[field])]));
        expect(pick(returned, 'returned')).toEqual(pick(both, 'returned'));
        expect(pick(onOrAfter, 'onOrAfter')).toEqual(pick(both, 'onOrAfter'));
        expect(returned.groups.flatMap((g) => g.cohorts.flatMap((co) => co.cells.map((x) => x.onOrAfter)))).toEqual(returned.groups.flatMap((g) => g.cohorts.flatMap((co) => co.cells.map(() => undefined))));
      }),
      { numRuns: process.env.CI ? 150 : 30 },
    );
  }, 300_000);
});

describe('a hand-worked weekly table', () => {
  // Weeks (Monday, UTC): W1 = 2024-01-01, W2 = 01-08, W3 = 01-15, W4 = 01-22. asOf 2024-01-19 (Friday of W3).
  // a: first seen Mon 01-01, back Sun 01-07 (W1), Wed 01-10 (W2).      -> cohort W1, periods 0, 1
  // b: first seen Sun 01-07 23:59:59.999, back Mon 01-15 00:00 (W3).   -> cohort W1, periods 0, 2
  // c: first seen Tue 01-09, back 01-19 00:00 = asOf (not counted).    -> cohort W2, period 0
  // d: first seen 01-19 (at asOf): not in any cohort.
  const W = (day: number, ms = 0) => Date.UTC(2024, 0, day) + ms;
  const EVENTS: RefEvent[] = [
    { user: 'a', event: 'signup', at: W(1), props: {} },
    { user: 'a', event: 'view', at: W(7, 5 * MS.h), props: { n: 1 } },
    { user: 'a', event: 'view', at: W(10), props: { n: 3 } },
    { user: 'b', event: 'signup', at: W(8) - 1, props: {} },
    { user: 'b', event: 'view', at: W(15), props: { n: 3 } },
    { user: 'c', event: 'signup', at: W(9), props: {} },
    { user: 'c', event: 'view', at: W(19), props: { n: 3 } },
    { user: 'd', event: 'signup', at: W(19), props: {} },
  ];
  const AS_OF = W(19);

  it('counts returned and on-or-after users and marks the open week', async () => {
    await load(EVENTS, {});
    const spec = checkRetentionDefinition({ cohort: 'week', periods: 3 }, PLAN, AS_OF);
    const r = await retentionTable({ store, plan: PLAN, registry }, spec, AS_OF);
    expect(r.groups.map((g) => g.group)).toEqual(['all']);
    const [w1, w2] = r.groups[0]!.cohorts;
    expect(w1).toMatchObject({ cohort: '2024-W01', start: '2024-01-01T00:00:00.000Z', end: '2024-01-08T00:00:00.000Z', size: 2 });
    // W1 + 0 = W1 (complete), W2 (complete), W3 (open at asOf), W4 not started.
    expect(w1!.cells.map((c) => [c.period, c.returned, c.onOrAfter, c.complete])).toEqual([
      [0, 2, 2, true],
      [1, 1, 2, true],
      [2, 1, 1, false],
    ]);
    expect(w2).toMatchObject({ cohort: '2024-W02', size: 1 });
    expect(w2!.cells.map((c) => [c.period, c.returned, c.onOrAfter, c.complete])).toEqual([
      [0, 1, 1, true],
      [1, 0, 0, false],
    ]);
    // All cohorts, complete cells only: period 0 over W1 and W2 (3 users), period 1 over W1 alone.
    expect(r.groups[0]!.overall.map((o) => [o.period, o.cohorts, o.users, o.returned, o.onOrAfter])).toEqual([
      [0, 2, 3, 3, 3],
      [1, 1, 2, 1, 2],
    ]);
  });

  it('uses elapsed weeks from each start when asked', async () => {
    await load(EVENTS, {});
    const spec = checkRetentionDefinition({ cohort: 'week', alignment: 'elapsed', periods: 3, mode: 'returned' }, PLAN, AS_OF);
    const r = await retentionTable({ store, plan: PLAN, registry }, spec, AS_OF);
    // a: 01-07 is day 6 (week 0), 01-10 is day 9 (week 1). b: 01-15 00:00 is 1 ms past a week (week 1).
    const [w1] = r.groups[0]!.cohorts;
    expect(w1!.cells.map((c) => [c.period, c.returned, c.complete])).toEqual([
      [0, 2, true],
      [1, 2, false],
      [2, 0, false],
    ]);
    expect(w1!.cells[0]).not.toHaveProperty('onOrAfter');
  });

  it('completes an elapsed cell when the period of the last possible member ends exactly at asOf', async () => {
    await load(EVENTS, {});
    // Day cohort 01-01: starts in [01-01, 01-02), so day k ends by 01-02 - 1 ms + (k + 1) days at the latest.
    const asOf = W(4) - 1;
    const spec = checkRetentionDefinition({ cohort: 'day', alignment: 'elapsed', periods: 3 }, PLAN, asOf);
    const r = await retentionTable({ store, plan: PLAN, registry }, spec, asOf);
    expect(r.groups[0]!.cohorts[0]!.cells.map((c) => [c.period, c.complete])).toEqual([
      [0, true],
      [1, true],
      [2, false],
    ]);
  });

  it('cohorts by a start event with a property predicate and counts the start event as a return when it matches', async () => {
    await load(EVENTS, {});
    const spec = checkRetentionDefinition(
      { cohort: 'day', start: { event: 'view', where: [{ property: 'n', gte: 3 }] }, return: 'view', periods: 9 },
      PLAN,
      AS_OF,
    );
    const r = await retentionTable({ store, plan: PLAN, registry }, spec, AS_OF);
    // a starts 01-10 (its n = 1 view does not match), b 01-15; c's n = 3 view is at asOf.
    expect(r.groups[0]!.cohorts.map((c) => [c.cohort, c.size, c.cells[0]!.returned])).toEqual([
      ['2024-01-10', 1, 1],
      ['2024-01-15', 1, 1],
    ]);
    // 01-15's cells: days 0..3 are 01-15..01-18, all before asOf.
    expect(r.groups[0]!.cohorts[1]!.cells.map((c) => c.period)).toEqual([0, 1, 2, 3]);
  });
});

describe('definitions', () => {
  it('rejects elapsed months with a reason and names every bad key', () => {
    expect(() => checkRetentionDefinition({ cohort: 'month', alignment: 'elapsed' }, PLAN, 0)).toThrow(expect.objectContaining({ details: [expect.objectContaining({ path: 'alignment', message: expect.stringMatching(/months have none/) })] }));
    try {
      checkRetentionDefinition({ cohort: 'year', periods: -1, return: { event: 'nope' }, start: { event: 'view', where: [{ property: 'zz', eq: 1 }] }, extra: 1 }, PLAN, 0);
      expect.unreachable();
    } catch (e) {
      const paths = (e as { details: { path: string }[] }).details.map((d) => d.path).sort();
      expect(paths).toEqual(['cohort', 'extra', 'periods', 'return.event', 'start.where[0].property']);
    }
  });

  it('labels ISO weeks by the year of their Thursday', () => {
    const week = (iso: string) => periodLabel('week', periodKey('week', Date.parse(iso)));
    expect(week('2021-01-04T00:00:00Z')).toBe('2021-W01');
    expect(week('2021-01-03T23:59:59.999Z')).toBe('2020-W53');
    expect(week('2024-12-30T12:00:00Z')).toBe('2025-W01');
    expect(week('1970-01-01T00:00:00Z')).toBe('1970-W01');
    expect(periodLabel('month', periodKey('month', Date.parse('1969-12-31T23:59:59.999Z')))).toBe('1969-12');
    expect(periodLabel('day', periodKey('day', -1))).toBe('1969-12-31');
  });
});
