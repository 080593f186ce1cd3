/**
 * computeExperimentData's contract around the numbers (the numbers themselves are held to
 * the brute-force reference in experiment-metrics.test.ts): which metrics are computed and
 * in what order, errors with what to do, an experiment not started by asOf, and a tiny
 * hand-checked log whose every value is worked out in the comments (the oracle: the
 * definitions of docs/experiments.md, "Metrics and exposures", applied by hand).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeExperimentData } from '../src/experiments/metrics/index.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { LIFECYCLE, PLAN, SEGMENTS, START, experimentYaml, stored } from './support/experiment-metrics-cases.js';
import { D, H } from './support/experiment-metrics-oracle.js';
import { loadIntoStore, seedDataset, type SeedEvent } from './support/load-duckdb.js';

const exposure = (user: string, at: number, variant: string | null, experiment = 'checkout-test'): SeedEvent => ({ user, event: '$exposure', at, props: { experiment, variant } });

/**
 * a: control at START + 1h (and again at + 2d: the first counts); buys 5.0 at +1h, 2.5 at
 *    +2d exactly (outside the 2-day window), views pricing at -12h (covariate of views, 2d).
 * b: treat at START + 3h; buys 0.5 (amount not > 1: no conversion) at +4h; any event on day 1.
 * c: control and treat: multiple exposures, left out.
 * d: a `bogus` variant and one without variant: unknown, not exposed.
 * e: exposed at asOf - 1d: immature for every metric with a window over 1 day.
 */
const T = START;
const AS_OF = T + 4 * D;
const EVENTS: SeedEvent[] = [
  exposure('a', T + H, 'control'),
  exposure('a', T + 2 * D, 'control'),
  { user: 'a', event: 'buy', at: T + H, props: { amount: 5 } },
  { user: 'a', event: 'buy', at: T + H + 2 * D, props: { amount: 2.5 } },
  { user: 'a', event: 'view', at: T + H - 12 * H, props: { page: 'pricing', n: 1 } },
  exposure('b', T + 3 * H, 'treat'),
  { user: 'b', event: 'buy', at: T + 4 * H, props: { amount: 0.5 } },
  { user: 'b', event: 'view', at: T + 3 * H + D, props: { page: 'home', n: 3 } },
  exposure('c', T + H, 'control'),
  exposure('c', T + 2 * H, 'treat'),
  exposure('d', T + H, 'bogus'),
  exposure('d', T + 2 * H, null),
  exposure('e', AS_OF - D, 'big'),
];

let store: DuckDbStore;
let registry: SegmentRegistry;

beforeAll(async () => {
  store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  await store.applyPlan(PLAN);
  await loadIntoStore(store, PLAN, seedDataset({ events: EVENTS, profiles: { a: { plan: 'pro' } } }));
  registry = new SegmentRegistry(store, PLAN, { lifecycle: LIFECYCLE });
  await registry.add(SEGMENTS);
});

afterAll(async () => {
  await store.close();
});

describe('computeExperimentData', () => {
  it('computes the hand-worked values of a tiny log', async () => {
    const data = await computeExperimentData(store, registry, stored(experimentYaml('')), { asOfMs: AS_OF, plan: PLAN, metrics: ['converted', 'revenue', 'views', 'day1'] });
    expect(data.metrics.map((m) => m.metric)).toEqual(['converted', 'revenue', 'views', 'day1']);
    expect(data.multipleExposures).toBe(1);
    expect(data.unknownVariants).toEqual({ bogus: 1, '(missing)': 1 });
    expect(data.exposures).toEqual([
      { group: null, variant: 'control', users: 1 },
      { group: null, variant: 'treat', users: 1 },
      { group: null, variant: 'big', users: 1 },
    ]);
    const stats = (metric: string) => data.metrics.find((m) => m.metric === metric)!;
    // converted: buy with amount > 1 within 2d; a converts (5 at +0), b does not (0.5); e is immature.
    expect(stats('converted').immature).toBe(1);
    expect(stats('converted').variants.map((v) => v.stats)).toEqual([
      { type: 'proportion', n: 1, sum: 1, covariate: { sum: 0, sumSquares: 0, sumProducts: 0 } },
      { type: 'proportion', n: 1, sum: 0, covariate: { sum: 0, sumSquares: 0, sumProducts: 0 } },
      { type: 'proportion', n: 0, sum: 0, covariate: { sum: 0, sumSquares: 0, sumProducts: 0 } },
    ]);
    // revenue: amount within 3d: a 5 + 2.5 (at +2d, inside 3d) = 7.5; b 0.5; e immature.
    expect(stats('revenue').variants.map((v) => v.stats)).toEqual([
      { type: 'mean', n: 1, sum: 7.5, sumSquares: 56.25 },
      { type: 'mean', n: 1, sum: 0.5, sumSquares: 0.25 },
      { type: 'mean', n: 0, sum: 0, sumSquares: 0 },
    ]);
    // views (pricing, within 1d, covariate 2d): a 0 after, 1 before (x = 1, x·y = 0); e exposed 1d before asOf: mature exactly.
    expect(stats('views').immature).toBe(0);
    expect(stats('views').variants[0]!.stats).toEqual({ type: 'mean', n: 1, sum: 0, sumSquares: 0, covariate: { sum: 1, sumSquares: 1, sumProducts: 0 } });
    expect(stats('views').variants[2]!.stats.n).toBe(1);
    // day1: any product event in [x + 1d, x + 2d): b's view counts; a's second $exposure at x + 47h
    // does not (a metric's '*' leaves exposures out), so a is not active on day 1.
    expect(stats('day1').variants.map((v) => (v.stats.type === 'proportion' ? [v.stats.n, v.stats.sum] : null))).toEqual([
      [1, 0],
      [1, 1],
      [0, 0],
    ]);
  });

  it('gives empty statistics before the start, every variant present with n = 0', async () => {
    const data = await computeExperimentData(store, registry, stored(experimentYaml('')), { asOfMs: START, plan: PLAN });
    expect(data.exposures.every((e) => e.users === 0)).toBe(true);
    expect(data.metrics).toHaveLength(7);
    for (const m of data.metrics) expect(m.variants.map((v) => [v.variant, v.stats.n])).toEqual([['control', 0], ['treat', 0], ['big', 0]]);
    // A breakdown and a restriction before the start: labelled, no groups, nothing snapshotted for an instant not reached.
    const early = await computeExperimentData(store, registry, stored(experimentYaml('')), { asOfMs: START - D, plan: PLAN, by: 'viewers', segment: 'pro' });
    expect([early.breakdown, early.groups, early.exposures.length]).toEqual(['segment viewers', [], 3]);
  });

  it('defaults to primary, secondary and guardrail metrics in that order', async () => {
    const data = await computeExperimentData(store, registry, stored(experimentYaml('')), { asOfMs: AS_OF, plan: PLAN });
    expect(data.metrics.map((m) => m.metric)).toEqual(['converted', 'views', 'depth', 'day1', 'rev-per-order', 'activity', 'revenue']);
    expect(data.breakdown).toBeNull();
    expect(data.groups).toEqual([]);
    expect(data.version).toBe(3);
  });

  it('labels breakdowns and lists their groups', async () => {
    const byPlan = await computeExperimentData(store, registry, stored(experimentYaml('')), { asOfMs: AS_OF, plan: PLAN, by: 'plan', metrics: ['converted'] });
    expect(byPlan.breakdown).toBe('plan');
    expect(byPlan.groups).toEqual(['pro', '(none)']);
    expect(byPlan.exposures.filter((e) => e.group === 'pro').map((e) => e.users)).toEqual([1, 0, 0]);
    const byStage = await computeExperimentData(store, registry, stored(experimentYaml('')), { asOfMs: AS_OF, plan: PLAN, by: 'lifecycle', metrics: ['converted'] });
    expect(byStage.breakdown).toBe('lifecycle');
    // As of the start only a is in the population (a profile, and a view 11 hours before): new; b and e are not yet seen.
    expect(byStage.groups).toEqual(['new', '(not yet seen)']);
    expect(byStage.exposures.filter((e) => e.group === '(not yet seen)').map((e) => e.users)).toEqual([0, 1, 1]);
  });

  it('rejects unknown metric keys, naming the experiment\'s', async () => {
    await expect(computeExperimentData(store, registry, stored(experimentYaml('')), { asOfMs: AS_OF, plan: PLAN, metrics: ['nope'] })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      message: expect.stringContaining('no metric nope') as unknown,
    });
  });

  it('rejects event exposures when the plan lacks $exposure, saying what to add', async () => {
    const plan = parsePlan({ events: { view: { properties: { page: { type: 'string' }, n: { type: 'number' } } }, buy: { properties: { amount: { type: 'number' } } }, signup: { properties: {} } }, traits: {} });
    const error = await computeExperimentData(store, registry, stored(experimentYaml('')), { asOfMs: AS_OF, plan }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INPUT_INVALID' });
    expect(JSON.stringify(error)).toContain('does not declare $exposure');
    expect(JSON.stringify(error)).toContain('{properties: {experiment: string, variant: string}}');
  });

  it('rejects an unknown breakdown through analysis/breakdown.ts', async () => {
    await expect(computeExperimentData(store, registry, stored(experimentYaml('')), { asOfMs: AS_OF, plan: PLAN, by: 'nothing' })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });
});
