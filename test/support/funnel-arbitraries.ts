/**
 * Random funnels and logs for the funnel tests (test/funnel.test.ts on DuckDB against the
 * references, test/funnel-clickhouse.test.ts across engines): the differential test's event
 * generator (test/support/segment-arbitraries.ts) on a denser stretch of its grid, funnels
 * of its event kinds (some steps with property filters) in every order and window, and
 * chains of the funnel's own steps planted in the data so deep steps, strict runs and ties
 * are common. Each step carries its own matcher, so a reference need not reuse the
 * evaluator's.
 */
import fc from 'fast-check';
import type { MemoryEvent } from '../../src/segments/evaluate/index.js';
import { MS } from '../../src/time/time.js';
import { BASE, STEP, eventArbOn, iso, profileArb } from './segment-arbitraries.js';
import type { SpecEvent } from './spec-case.js';

export type Doc = Record<string, unknown>;
export type Matcher = (e: MemoryEvent) => boolean;

/**
 * Steps as written, each with its own matcher, so the reference does not reuse the
 * evaluator's, and an event that matches it (for chains planted in the data).
 */
export const STEPS: readonly { readonly doc: unknown; readonly matches: Matcher; readonly example: Omit<SpecEvent, 'user_id' | 'timestamp'> }[] = [
  { doc: 'view', matches: (e) => e.event === 'view', example: { event: 'view' } },
  { doc: 'buy', matches: (e) => e.event === 'buy', example: { event: 'buy', properties: { amount: 5 } } },
  { doc: 'signup', matches: (e) => e.event === 'signup', example: { event: 'signup' } },
  { doc: '*', matches: () => true, example: { event: 'signup' } },
  {
    doc: { event: 'view', where: [{ property: 'flag', eq: true }] },
    matches: (e) => e.event === 'view' && e.properties.flag === true,
    example: { event: 'view', properties: { flag: true } },
  },
  {
    doc: { event: 'buy', where: [{ property: 'amount', gte: 5 }] },
    matches: (e) => e.event === 'buy' && typeof e.properties.amount === 'number' && e.properties.amount >= 5,
    example: { event: 'buy', properties: { amount: 10 } },
  },
  { doc: { event: '*', where: [{ property: 'page', exists: true }] }, matches: (e) => e.properties.page !== undefined, example: { event: 'view', properties: { page: 'a' } } },
];
export const DURATIONS = ['15m', '30m', '6h', '12h', '1d', '2d', '3d', '1w'] as const;
export const durationMs = (d: string) => Number(d.slice(0, -1)) * MS[d.slice(-1) as keyof typeof MS];
const gridMs = fc.tuple(fc.integer({ min: -2, max: 20 }), fc.constantFrom(0, 0, 15, 30)).map(([a, m]) => BASE - a * STEP + m * MS.m);

const windowArb: fc.Arbitrary<Doc> = fc.oneof(
  fc.constant({}),
  fc.constantFrom(...DURATIONS).map((d) => ({ within: d })),
  fc.tuple(gridMs, fc.integer({ min: 1, max: 16 })).map(([from, steps]) => ({ during: [iso(from), iso(from + steps * STEP)] })),
  gridMs.map((s) => ({ since: iso(s) })),
);

export interface FunnelCase {
  readonly stepIndexes: readonly number[];
  readonly span: string;
  readonly window: Doc;
  readonly order: 'sequential' | 'strict' | 'any';
}

export const funnelArb = (orders: readonly FunnelCase['order'][]): fc.Arbitrary<FunnelCase> =>
  fc.record({
    // Mostly plain event names: chains of filtered steps rarely match anyone, which tests little.
    stepIndexes: fc.array(fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 4, max: 6 }) }), { minLength: 1, maxLength: 4 }),
    span: fc.constantFrom(...DURATIONS),
    window: windowArb,
    order: fc.constantFrom(...orders),
  });

/**
 * Chains of the funnel's own steps planted in the data, one event per step at gaps of 0 to
 * 2 grid slots (sometimes 15 minutes), so deep steps, strict runs and ties are common.
 */
export const plantedArb = fc.array(
  fc.record({
    user: fc.constantFrom('u0', 'u1', 'u2'),
    start: fc.integer({ min: -1, max: 12 }),
    gaps: fc.array(fc.constantFrom(0, 15 * MS.m, STEP, STEP, 2 * STEP), { minLength: 3, maxLength: 3 }),
    order: fc.constantFrom([0, 1, 2, 3], [1, 0, 2, 3], [3, 2, 1, 0]),
  }),
  { maxLength: 3 },
);
export type Planted = typeof plantedArb extends fc.Arbitrary<infer T> ? T : never;

export function withPlanted(events: readonly SpecEvent[], c: FunnelCase, planted: Planted): SpecEvent[] {
  const out = [...events];
  for (const p of planted) {
    let at = BASE - p.start * STEP;
    p.order
      .filter((j) => j < c.stepIndexes.length)
      .forEach((j, i) => {
        if (i > 0) at += p.gaps[i - 1]!;
        out.push({ ...STEPS[c.stepIndexes[j]!]!.example, user_id: p.user, timestamp: iso(at) });
      });
  }
  return out;
}

export const funnelDoc = (c: FunnelCase): Doc => ({ funnel: c.stepIndexes.map((i) => STEPS[i]!.doc), span: c.span, ...c.window, order: c.order });

/**
 * The differential test's events, denser: three users over the last three days on the same
 * grid (so chains of several steps happen, with ties), and profiles for the breakdowns.
 */
export const dataArb = fc.record({
  asOf: fc.constantFrom(0, 15, 6 * 60, 12 * 60).map((m) => BASE + m * MS.m),
  events: fc.uniqueArray(
    eventArbOn(
      fc.tuple(fc.integer({ min: -1, max: 12 }), fc.constantFrom(0, 0, 15, 30)).map(([a, m]) => iso(BASE - a * STEP + m * MS.m)),
      ['u0', 'u1', 'u2'],
    ),
    { minLength: 3, maxLength: 40, size: 'medium', selector: (e) => JSON.stringify(e) },
  ),
  profiles: fc.array(profileArb, { maxLength: 7 }),
});
