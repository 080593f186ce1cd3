import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlan } from '../../schema/tracking-plan.js';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.js';
import { binaryFeature, defaultMinSupport, mergeNumericParts, numericFeatures, rankBinaryFeatures } from './membership-report.js';
import type { BinaryFeature, SegmentReport } from './registry-types.js';
import { SegmentRegistry } from './segment-registry.js';
import { seedUsers, seededRandom, type SeedEvent, type Value } from './test/seed-store.js';

const DAY = 86_400_000;
const AS_OF = Date.UTC(2024, 5, 1);

const plan = parsePlan({
  events: { login: {}, purchase: { properties: { amount: 'number' } }, support_ticket: {} },
  traits: {
    plan: 'string',
    country: 'string',
    vip: 'boolean',
    age: 'number',
    email: { type: 'string', pii: true },
    ethnicity: { type: 'string', sensitive: true },
    signup_at: 'timestamp',
  },
});

describe('binaryFeature and ranking (hand-computed)', () => {
  it('computes shares, lift and difference', () => {
    // 2 of 4 members and 3 of 10 users have it: members 2/4 = 0.5, rest 1/6, population 0.3, lift 0.5 / 0.3.
    const f = binaryFeature({ kind: 'trait', name: 'plan', value: 'pro', label: 'plan = pro' }, 2, 3, 4, 10);
    expect(f.shareMembers).toBe(0.5);
    expect(f.shareRest).toBeCloseTo(1 / 6, 12);
    expect(f.sharePopulation).toBeCloseTo(0.3, 12);
    expect(f.lift).toBeCloseTo(5 / 3, 12);
    expect(f.difference).toBeCloseTo(1 / 3, 12);
  });

  it('has no rest share when everyone is a member, and no member share for an empty segment', () => {
    const all = binaryFeature({ kind: 'event', name: 'login', value: null, label: 'did login' }, 3, 3, 5, 5);
    expect([all.shareRest, all.difference, all.lift]).toEqual([null, null, 1]);
    const none = binaryFeature({ kind: 'event', name: 'login', value: null, label: 'did login' }, 0, 3, 0, 5);
    expect([none.shareMembers, none.lift, none.difference]).toEqual([null, null, null]);
  });

  it('drops features under the minimum support and ranks by absolute difference', () => {
    const mk = (label: string, m: number, n: number) => binaryFeature({ kind: 'trait', name: label, value: label, label }, m, n, 10, 100);
    // rare: 2 of 2 users are members, lift 10 but support 2; wide: 8/10 vs 12/90; neg: 0/10 vs 40/90.
    const ranked = rankBinaryFeatures([mk('rare', 2, 2), mk('wide', 8, 20), mk('neg', 0, 40)], 5, 10);
    expect(ranked.map((f) => f.label)).toEqual(['wide', 'neg']);
  });

  it('default minimum support is max(5, 1% of the population)', () => {
    expect([defaultMinSupport(10), defaultMinSupport(500), defaultMinSupport(20_001)]).toEqual([5, 5, 201]);
  });

  it("standardized difference matches Cohen's d with pooled sample variance", () => {
    // Members {1, 2, 3}: mean 2, var 1. Rest {4, 6}: mean 5, var 2. Pooled (2*1 + 1*2) / 3 = 4/3.
    // d = (2 - 5) / sqrt(4/3) = -2.598076..., confirmed by hand (3 / 1.1547005).
    const [f] = numericFeatures({ n1_0: 3n, mean1_0: 2, var1_0: 1, n0_0: 2n, mean0_0: 5, var0_0: 2 }, ['age']);
    expect(f!.standardizedDifference).toBeCloseTo(-2.598076211, 8);
  });
});

describe('mergeNumericParts (oracle: the statistics of all values at once)', () => {
  const stats = (xs: readonly number[]) => {
    const n = xs.length;
    const mean = n > 0 ? xs.reduce((a, b) => a + b, 0) / n : null;
    const variance = n >= 2 ? xs.reduce((a, x) => a + (x - mean!) ** 2, 0) / (n - 1) : null;
    return { n, mean, variance };
  };
  /** One part's row as numericSql returns it for one trait: side 1 members, side 0 the rest. */
  const part = (members: number[], rest: number[]) => {
    const [m, r] = [stats(members), stats(rest)];
    return { population: members.length + rest.length + 1, size: members.length, n1_0: m.n, mean1_0: m.mean, var1_0: m.variance, n0_0: r.n, mean0_0: r.mean, var0_0: r.variance };
  };

  it('combines counts, means and sample variances of parts exactly', () => {
    const rnd = seededRandom(7);
    const members = Array.from({ length: 40 }, () => 1e6 + rnd() * 100);
    const rest = Array.from({ length: 25 }, () => rnd() * 10);
    // Uneven parts, one with a single member value and one with no rest values.
    const cuts = [[0, 1, 0, 10], [1, 30, 10, 10], [30, 40, 10, 25]] as const;
    const merged = mergeNumericParts(
      cuts.map(([a, b, c, d]) => part(members.slice(a, b), rest.slice(c, d))),
      ['age'],
    );
    const [m, r] = [stats(members), stats(rest)];
    expect(merged.population).toBe(40 + 25 + 3);
    expect(merged.size).toBe(40);
    expect([merged.n1_0, merged.n0_0]).toEqual([40, 25]);
    expect(merged.mean1_0 as number).toBeCloseTo(m.mean!, 6);
    expect((merged.var1_0 as number) / m.variance!).toBeCloseTo(1, 9);
    expect(merged.mean0_0 as number).toBeCloseTo(r.mean!, 9);
    expect((merged.var0_0 as number) / r.variance!).toBeCloseTo(1, 9);
  });

  it('returns one part as it is, and no mean or variance without enough values', () => {
    const one = part([1, 2], [3]);
    expect(mergeNumericParts([one], ['age'])).toBe(one);
    const merged = mergeNumericParts([part([], [3]), part([], [])], ['age']);
    expect([merged.n1_0, merged.mean1_0, merged.var1_0, merged.n0_0, merged.mean0_0, merged.var0_0]).toEqual([0, null, null, 1, 3, null]);
  });
});

interface User {
  readonly id: string;
  readonly traits: Record<string, Value> | null;
  readonly events: SeedEvent[];
}

/** 300 users: 90% with a profile, skewed traits, logins, plan-dependent purchases, and exactly 3 support tickets. */
function generate(): User[] {
  const rnd = seededRandom(20240601);
  const pick = <T>(xs: readonly T[], ws: readonly number[]): T => {
    let r = rnd() * ws.reduce((a, b) => a + b, 0);
    for (let i = 0; i < xs.length; i++) if ((r -= ws[i]!) < 0) return xs[i]!;
    return xs[xs.length - 1]!;
  };
  const users: User[] = [];
  for (let i = 0; i < 300; i++) {
    const id = `user-${String(i).padStart(3, '0')}`;
    const plan = pick(['free', 'pro', 'team'], [6, 3, 1]);
    const traits: Record<string, Value> | null =
      rnd() < 0.9
        ? {
            plan,
            vip: rnd() < (plan === 'pro' ? 0.5 : 0.1),
            age: Math.round(18 + rnd() * 50 + (plan === 'pro' ? 8 : 0)),
            email: `${id}@example.com`,
            ethnicity: pick(['a', 'b'], [1, 1]),
            signup_at: AS_OF - Math.floor(rnd() * 300) * DAY,
            ...(rnd() < 0.9 ? { country: pick(['us', 'de', 'fr', 'br', 'jp'], [5, 2, 2, 1, 0.3]) } : {}),
          }
        : null;
    const events: SeedEvent[] = [];
    const at = () => AS_OF - 120 * DAY + Math.floor(rnd() * 130 * DAY);
    const logins = Math.floor(rnd() * 6);
    for (let k = 0; k < logins; k++) events.push({ user: id, event: 'login', at: at() });
    const purchases = Math.floor(rnd() * (traits?.plan === 'pro' ? 4 : 2.4));
    for (let k = 0; k < purchases; k++) events.push({ user: id, event: 'purchase', at: at(), props: { amount: Math.round(rnd() * 100) } });
    if (i % 100 === 7) events.push({ user: id, event: 'support_ticket', at: AS_OF - 5 * DAY });
    users.push({ id, traits, events });
  }
  return users;
}

describe('report on generated data, checked against independent counts', () => {
  const users = generate();
  let store: DuckDbStore;
  let report: SegmentReport;

  // The oracle: the segment's members and every share counted directly over the generated rows in JS.
  const before = (u: User, event: string, from = -Infinity) => u.events.some((e) => e.event === event && e.at < AS_OF && e.at >= from);
  const population = users.filter((u) => u.traits !== null || u.events.some((e) => e.at < AS_OF));
  const isMember = (u: User) => u.traits?.plan === 'pro' || u.events.filter((e) => e.event === 'purchase' && e.at < AS_OF).length >= 2;
  const members = population.filter(isMember);
  const rest = population.filter((u) => !isMember(u));
  const minSupport = 10;

  function expected(label: string, has: (u: User) => boolean) {
    const n = population.filter(has).length;
    const m = members.filter(has).length;
    return { label, n, m, shareMembers: m / members.length, shareRest: (n - m) / rest.length, lift: m / members.length / (n / population.length) };
  }
  const expectations = [
    ...['free', 'pro', 'team'].map((v) => expected(`plan = ${v}`, (u) => u.traits?.plan === v)),
    ...['us', 'de', 'fr', 'br', 'jp'].map((v) => expected(`country = ${v}`, (u) => u.traits?.country === v)),
    ...[true, false].map((v) => expected(`vip = ${v}`, (u) => u.traits?.vip === v)),
    ...['login', 'purchase', 'support_ticket'].flatMap((e) => [
      expected(`did ${e}`, (u) => before(u, e)),
      expected(`did ${e} in the last 30d`, (u) => before(u, e, AS_OF - 30 * DAY)),
    ]),
  ];

  beforeAll(async () => {
    store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    await seedUsers(store, plan, users);
    const registry = new SegmentRegistry(store, plan);
    await registry.add([
      {
        key: 'engaged-pro',
        name: 'Pro or repeat buyers',
        objective: 'monetization',
        rationale: 'report test',
        owner: 'growth',
        match: { any: [{ trait: 'plan', eq: 'pro' }, { did: 'purchase', count: { gte: 2 } }] },
      },
    ]);
    report = await registry.report('engaged-pro', { asOfMs: AS_OF, minSupport, limit: 1000 });
  });

  afterAll(async () => {
    await store.close();
  });

  it('has the oracle size, population and share', () => {
    expect(population.length).toBeLessThan(users.length); // some users only have events after asOf
    expect([report.size, report.population]).toEqual([members.length, population.length]);
    expect(report.share).toBeCloseTo(members.length / population.length, 12);
  });

  it('lists exactly the supported features, with the oracle counts, shares and lifts', () => {
    const supported = expectations.filter((x) => x.n >= minSupport);
    expect(expectations.filter((x) => x.n < minSupport).map((x) => x.label)).toEqual(
      expect.arrayContaining(['did support_ticket', 'did support_ticket in the last 30d']),
    );
    expect(report.features.map((f) => f.label).sort()).toEqual(supported.map((x) => x.label).sort());
    const byLabel = new Map<string, BinaryFeature>(report.features.map((f) => [f.label, f]));
    for (const x of supported) {
      const f = byLabel.get(x.label)!;
      expect([f.label, f.members, f.population]).toEqual([x.label, x.m, x.n]);
      expect(f.shareMembers).toBeCloseTo(x.shareMembers, 12);
      expect(f.shareRest).toBeCloseTo(x.shareRest, 12);
      expect(f.lift).toBeCloseTo(x.lift, 12);
    }
    expect(byLabel.get('vip = true')!.value).toBe(true);
  });

  it('ranks by absolute difference of shares, strongest first', () => {
    const diffs = report.features.map((f) => Math.abs(f.difference!));
    expect(diffs).toEqual([...diffs].sort((a, b) => b - a));
    expect(report.features[0]!.label).toBe('plan = pro');
  });

  it('leaves out pii, sensitive and timestamp traits', () => {
    const names = new Set([...report.features.map((f) => f.name), ...report.numeric.map((f) => f.name)]);
    for (const hidden of ['email', 'ethnicity', 'signup_at']) expect(names.has(hidden)).toBe(false);
  });

  it('compares numeric means among members and the rest', () => {
    const ages = (us: User[]) => us.flatMap((u) => (typeof u.traits?.age === 'number' ? [u.traits.age] : []));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const varSamp = (xs: number[]) => xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1);
    const a1 = ages(members);
    const a0 = ages(rest);
    const pooled = ((a1.length - 1) * varSamp(a1) + (a0.length - 1) * varSamp(a0)) / (a1.length + a0.length - 2);
    const [age] = report.numeric;
    expect(age).toMatchObject({ name: 'age', membersWithValue: a1.length, restWithValue: a0.length });
    expect(age!.meanMembers).toBeCloseTo(mean(a1), 9);
    expect(age!.meanRest).toBeCloseTo(mean(a0), 9);
    expect(age!.standardizedDifference).toBeCloseTo((mean(a1) - mean(a0)) / Math.sqrt(pooled), 9);
  });
});
