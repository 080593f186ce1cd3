import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurchaseSettings } from '../../analysis/rfm/rfm-config.js';
import { parsePlan } from '../../schema/tracking-plan.js';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.js';
import { MS } from '../../time/time.js';
import { medianOfCounts, standardizedDifference, statsSd, statsVariance, type SufficientStats } from './behavior-metrics.js';
import { numericFeatures } from './membership-report.js';
import type { BehaviorMetric, SegmentReport } from './registry-types.js';
import { SegmentRegistry } from './segment-registry.js';
import { seedUsers, seededRandom, type SeedEvent, type Value } from './test/seed-store.js';

const AS_OF = Date.UTC(2024, 5, 1, 15, 30);
const WINDOW = 28 * MS.d;

/** Sufficient statistics of a list, the way SQL hands them over. */
const suff = (xs: readonly number[]): SufficientStats => ({ n: xs.length, sum: xs.reduce((a, b) => a + b, 0), sumSquares: xs.reduce((a, b) => a + b * b, 0) });
const mean = (xs: readonly number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
/** Two-pass sample variance, as numpy's var(ddof=1). */
const varSamp = (xs: readonly number[]) => {
  if (xs.length < 2) return null;
  const m = mean(xs)!;
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
};
/** Median of a sorted copy, as numpy's median. */
const median = (xs: readonly number[]) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

describe('sufficient statistics (oracle: two-pass formulas over the values)', () => {
  it('sample variance and standard deviation from n, sum and sum of squares', () => {
    const rnd = seededRandom(3);
    const xs = Array.from({ length: 57 }, () => 1000 + rnd() * 50);
    expect(statsVariance(suff(xs))! / varSamp(xs)!).toBeCloseTo(1, 9);
    expect(statsSd(suff([4]))).toBeNull();
    expect(statsVariance(suff([2, 2, 2]))).toBe(0);
  });

  it("standardized difference is the report's Cohen's d for numeric traits", () => {
    // Members {1, 2, 3}, rest {4, 6}: d = -2.598076 by hand (numericFeatures' test).
    expect(standardizedDifference(suff([1, 2, 3]), suff([4, 6]))).toBeCloseTo(-2.598076211, 8);
    const [f] = numericFeatures({ n1_0: 3, mean1_0: 2, var1_0: 1, n0_0: 2, mean0_0: 5, var0_0: 2 }, ['x']);
    expect(standardizedDifference(suff([1, 2, 3]), suff([4, 6]))).toBeCloseTo(f!.standardizedDifference!, 12);
    expect(standardizedDifference(suff([1]), suff([4, 6]))).toBeNull();
    expect(standardizedDifference(suff([1, 1]), suff([1, 1]))).toBeNull();
  });

  it('median of value counts equals the median of the expanded values', () => {
    const rnd = seededRandom(5);
    for (let trial = 0; trial < 50; trial++) {
      const xs = Array.from({ length: 1 + Math.floor(rnd() * 30) }, () => Math.floor(rnd() * 8));
      const counts = new Map<number, number>();
      for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
      expect(medianOfCounts(counts)).toBe(median(xs));
    }
    expect(medianOfCounts(new Map())).toBeNull();
  });
});

const plan = parsePlan({
  events: {
    login: {},
    page_viewed: { properties: { page: 'string' } },
    invite_sent: {},
    purchase: { properties: { amount: 'number', qty: 'number', currency: 'string' } },
  },
  traits: { plan: 'string' },
});

interface User {
  readonly id: string;
  readonly traits: Record<string, Value> | null;
  readonly events: SeedEvent[];
}

/** 400 users: some profile-only, some only after asOf; purchases in two currencies, some without an amount or a quantity. */
function generate(): User[] {
  const rnd = seededRandom(20240601);
  const users: User[] = [];
  for (let i = 0; i < 400; i++) {
    const id = `u${String(i).padStart(3, '0')}`;
    const plan = rnd() < 0.3 ? 'pro' : 'free';
    const traits = rnd() < 0.85 ? { plan } : null;
    const events: SeedEvent[] = [];
    const kind = rnd();
    // 10%: no events; 5%: events only after asOf; else spread over 120 days before asOf (and a few after).
    if (kind >= 0.1) {
      const from = kind < 0.15 ? AS_OF + MS.h : AS_OF - Math.floor(rnd() * 120) * MS.d;
      const n = 1 + Math.floor(rnd() * (plan === 'pro' ? 25 : 10));
      const at = () => from + Math.floor(rnd() * Math.max(MS.d, AS_OF + 3 * MS.d - from));
      for (let k = 0; k < n; k++) {
        const r = rnd();
        if (r < 0.4) events.push({ user: id, event: 'login', at: at() });
        else if (r < 0.75) events.push({ user: id, event: 'page_viewed', at: at(), props: { page: rnd() < 0.5 ? 'home' : 'docs' } });
        else if (r < 0.82) events.push({ user: id, event: 'invite_sent', at: at() });
        else {
          const amount = rnd() < 0.1 ? null : Math.round(rnd() * 9000) / 100;
          const qty = rnd() < 0.1 ? null : 1 + Math.floor(rnd() * 3);
          events.push({ user: id, event: 'purchase', at: at(), props: { amount, qty, currency: rnd() < 0.8 ? 'usd' : 'eur' } });
        }
      }
      // Exactly asOf is outside; a millisecond before is inside the window.
      if (i % 37 === 0) events.push({ user: id, event: 'login', at: AS_OF }, { user: id, event: 'invite_sent', at: AS_OF - 1 });
    }
    users.push({ id, traits, events });
  }
  return users;
}

const PURCHASE: PurchaseSettings = {
  event: 'purchase',
  value: 'amount',
  quantity: 'qty',
  where: [{ property: 'currency', type: 'string', cmp: { op: 'eq', value: { kind: 'string', value: 'usd' } } }],
};

describe('report behaviour on generated data, checked against a direct computation per user', () => {
  const users = generate();
  let store: DuckDbStore;
  let report: SegmentReport;
  let bare: SegmentReport;
  let valueOnly: SegmentReport;

  // The oracle: every per-user value computed from the generated rows in JS.
  const before = (u: User) => u.events.filter((e) => e.at < AS_OF);
  const inWindow = (u: User) => before(u).filter((e) => e.at >= AS_OF - WINDOW);
  const population = users.filter((u) => u.traits !== null || before(u).length > 0);
  const isMember = (u: User) => u.traits?.plan === 'pro' || before(u).filter((e) => e.event === 'login').length >= 4;
  const members = population.filter(isMember);
  const rest = population.filter((u) => !isMember(u));
  const purchases = (u: User) => inWindow(u).filter((e) => e.event === 'purchase' && e.props?.currency === 'usd');
  const perUser: Record<string, (u: User) => number | null> = {
    frequency: (u) => inWindow(u).length,
    activeDays: (u) => new Set(inWindow(u).map((e) => Math.floor(e.at / MS.d))).size,
    depth: (u) => new Set(inWindow(u).map((e) => e.event)).size,
    recency: (u) => (before(u).length === 0 ? null : Math.floor((AS_OF - Math.max(...before(u).map((e) => e.at))) / MS.d)),
    conversion: (u) => (purchases(u).length > 0 ? 1 : 0),
    revenuePerUser: (u) =>
      purchases(u).reduce((s, e) => (typeof e.props?.amount === 'number' && typeof e.props?.qty === 'number' ? s + e.props.amount * e.props.qty : s), 0),
    revenuePerConverter: (u) => (purchases(u).length > 0 ? perUser.revenuePerUser!(u) : null),
  };
  const values = (group: readonly User[], metric: string) => group.map(perUser[metric]!).filter((x): x is number => x !== null);

  function expectMetric(m: BehaviorMetric, metric: string): void {
    const [mv, pv, rv] = [values(members, metric), values(population, metric), values(rest, metric)];
    expect(m.metric).toBe(metric);
    expect([m.members.users, m.population.users, m.rest.users]).toEqual([mv.length, pv.length, rv.length]);
    for (const [got, xs] of [
      [m.members, mv],
      [m.population, pv],
      [m.rest, rv],
    ] as const) {
      expect(got.mean!).toBeCloseTo(mean(xs)!, 9);
      expect(got.sd!).toBeCloseTo(Math.sqrt(varSamp(xs)!), 9);
    }
    expect(m.lift!).toBeCloseTo(mean(mv)! / mean(pv)!, 9);
    expect(m.difference!).toBeCloseTo(mean(mv)! - mean(pv)!, 9);
    const pooled = ((mv.length - 1) * varSamp(mv)! + (rv.length - 1) * varSamp(rv)!) / (mv.length + rv.length - 2);
    expect(m.standardizedDifference!).toBeCloseTo((mean(mv)! - mean(rv)!) / Math.sqrt(pooled), 9);
  }

  beforeAll(async () => {
    store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    await seedUsers(store, plan, users);
    const registry = new SegmentRegistry(store, plan);
    await registry.add([
      {
        key: 'pro-or-regular',
        name: 'Pro or regular',
        objective: 'engagement',
        rationale: 'behaviour report test',
        owner: 'growth',
        match: { any: [{ trait: 'plan', eq: 'pro' }, { did: 'login', count: { gte: 4 } }] },
      },
    ]);
    report = await registry.report('pro-or-regular', { asOfMs: AS_OF, purchase: PURCHASE });
    bare = await registry.report('pro-or-regular', { asOfMs: AS_OF });
    valueOnly = await registry.report('pro-or-regular', { asOfMs: AS_OF, windowMs: 7 * MS.d, purchase: { ...PURCHASE, quantity: null, where: [] } });
  });

  afterAll(async () => {
    await store.close();
  });

  it('the data exercises every case', () => {
    expect(members.length).toBeGreaterThan(50);
    expect(rest.length).toBeGreaterThan(50);
    expect(population.length).toBeLessThan(users.length);
    expect(population.filter((u) => before(u).length === 0).length).toBeGreaterThan(5);
    expect(values(members, 'revenuePerConverter').length).toBeGreaterThan(10);
    expect([report.size, report.population]).toEqual([members.length, population.length]);
  });

  it('engagement: frequency, active days and depth per user in the window', () => {
    const b = report.behavior;
    expect([b.window, b.windowStart]).toEqual(['28d', new Date(AS_OF - WINDOW).toISOString()]);
    expectMetric(b.engagement.frequency, 'frequency');
    expectMetric(b.engagement.activeDays, 'activeDays');
    expectMetric(b.engagement.depth, 'depth');
  });

  it('recency: mean and exact median days since the last event, over users with one', () => {
    const r = report.behavior.engagement.recency;
    expectMetric(r, 'recency');
    expect([r.members.median, r.population.median, r.rest.median]).toEqual([
      median(values(members, 'recency')),
      median(values(population, 'recency')),
      median(values(rest, 'recency')),
    ]);
  });

  it('conversion and revenue per user and per converter, purchases filtered by where', () => {
    expect(report.behavior.conversion!.kind).toBe('share');
    expectMetric(report.behavior.conversion!, 'conversion');
    expectMetric(report.behavior.revenue!.perUser, 'revenuePerUser');
    expectMetric(report.behavior.revenue!.perConverter, 'revenuePerConverter');
    expect(report.behavior.purchase).toEqual({ event: 'purchase', value: 'amount', quantity: 'qty' });
    expect(report.behavior.notes).toEqual([]);
  });

  it('without rfm settings: no conversion or revenue, and a note saying what they need', () => {
    expect([bare.behavior.conversion, bare.behavior.revenue, bare.behavior.purchase]).toEqual([null, null, null]);
    expect(bare.behavior.notes.join(' ')).toMatch(/rfm:/);
    // The rest of the report is unchanged by the purchase settings.
    expect({ ...bare, behavior: null }).toEqual({ ...report, behavior: null });
  });

  it('value alone over a 7-day window: revenue sums amount, every purchase counts', () => {
    const week = (u: User) => before(u).filter((e) => e.at >= AS_OF - 7 * MS.d && e.event === 'purchase');
    const revenue = (u: User) => week(u).reduce((s, e) => s + (typeof e.props?.amount === 'number' ? e.props.amount : 0), 0);
    const m = valueOnly.behavior.revenue!.perUser;
    expect(m.members.mean!).toBeCloseTo(mean(members.map(revenue))!, 9);
    expect(m.population.mean!).toBeCloseTo(mean(population.map(revenue))!, 9);
    expect(valueOnly.behavior.conversion!.members.mean!).toBeCloseTo(mean(members.map((u) => (week(u).length > 0 ? 1 : 0)))!, 12);
    expect(valueOnly.behavior.window).toBe('7d');
  });
});
