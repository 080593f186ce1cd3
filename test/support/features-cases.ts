/**
 * The plan, random logs and options the feature tests share (DuckDB and ClickHouse), and
 * the comparison of a built matrix with the brute-force reference (features-oracle.ts).
 */
import { expect } from 'vitest';
import type { FeatureMatrix, FeatureOptions } from '../../src/models/features/index.js';
import { parsePlan } from '../../src/schema/tracking-plan.js';
import type { MemoryDataset } from '../../src/segments/evaluate/index.js';
import { MS } from '../../src/time/time.js';
import type { OracleMatrix, OracleOptions } from './features-oracle.js';
import { seedDataset, type SeedEvent } from './load-duckdb.js';
import { prng } from './prng.js';

export const FEATURE_PLAN = parsePlan({
  session_gap: '30m',
  events: {
    view: { properties: { page: { type: 'string' } } },
    buy: { properties: { amount: { type: 'number' }, qty: { type: 'number' } } },
    signup: { properties: {} },
  },
  traits: {
    plan: { type: 'string' },
    beta: { type: 'boolean' },
    seats: { type: 'number' },
    signed_up: { type: 'timestamp' },
    email: { type: 'string', pii: true },
    health: { type: 'string', sensitive: true },
  },
});

export const PURCHASE = { event: 'buy', value: 'amount', quantity: 'qty', where: [] } as const;

/** T: midday, so day boundaries and window starts fall at different instants. */
export const FEATURE_AS_OF = Date.UTC(2024, 5, 1, 12, 0, 0);

/**
 * A random log around T: users with bursts of events (gaps of exactly the session gap, ties
 * at one instant, events at T - 28d, T - 14d, T - 1 ms, T and after), profiles for some
 * users, a few profile-only users and users whose first event is after T.
 */
export function randomFeatureLog(seed: number, asOfMs = FEATURE_AS_OF, users = 36): MemoryDataset {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const events: SeedEvent[] = [];
  const ids = Array.from({ length: users }, (_, i) => (i % 11 === 5 ? `ü'${i}` : `u${String(i).padStart(2, '0')}`));
  const edges = [-28 * MS.d, -14 * MS.d, -1, 0, -90 * MS.d, -7 * MS.d, -91 * MS.d];
  for (const user of ids) {
    if (r() < 0.1) continue; // profile-only or absent
    const late = r() < 0.1; // first seen after T
    const bursts = 1 + Math.floor(r() * 6);
    for (let b = 0; b < bursts; b++) {
      let t = late ? asOfMs + Math.floor(r() * 10 * MS.d) : r() < 0.2 ? asOfMs + pick(edges) : asOfMs - Math.floor(r() * 120 * MS.d) + Math.floor(r() * 5 * MS.d);
      const n = 1 + Math.floor(r() * 5);
      for (let k = 0; k < n; k++) {
        const event = pick(['view', 'view', 'view', 'buy', 'signup']);
        const props: Record<string, number | string | null> =
          event === 'view' ? { page: r() < 0.2 ? null : pick(['home', 'pricing', 'docs', 'blog']) } : event === 'buy' ? { amount: r() < 0.15 ? null : pick([5, 10, 25]), qty: pick([1, 2, 3]) } : {};
        events.push({ user, event, at: t, props });
        t += pick([0, 60_000, 7 * MS.m, 30 * MS.m - 1, 30 * MS.m, 30 * MS.m + 1, 3 * MS.h]);
      }
    }
  }
  const profiles: Record<string, Record<string, string | number | boolean | null>> = {};
  for (const user of ids) {
    if (r() < 0.3) continue;
    profiles[user] = {
      plan: r() < 0.15 ? null : pick(['free', 'pro', 'team', 'enterprise']),
      beta: r() < 0.3 ? null : r() < 0.5,
      seats: r() < 0.3 ? null : pick([1, 3, 10]),
      signed_up: r() < 0.3 ? null : asOfMs - Math.floor(r() * 300 * MS.d),
      email: `${user}@example.com`,
      health: pick(['a', 'b']),
    };
  }
  profiles['profile-only'] = { plan: 'pro', beta: true, seats: 2, signed_up: null, email: null, health: null };
  return seedDataset({ events, profiles });
}

/** Options exercising every feature, as buildFeatures and the oracle take them. */
export function featureCase(asOfMs = FEATURE_AS_OF): { readonly options: FeatureOptions; readonly oracle: OracleOptions } {
  const options: FeatureOptions = { asOfMs, purchase: PURCHASE, depthProperty: 'page', oneHotTop: 2 };
  const oracle: OracleOptions = {
    asOfMs,
    events: ['view', 'buy', 'signup'],
    windowsDays: [7, 28, 90],
    activeDaysWindows: [28, 90],
    purchase: PURCHASE,
    sessionGapMs: 30 * MS.m,
    depthProperty: 'page',
    traits: ['plan', 'beta', 'seats', 'signed_up'],
    oneHotTop: 2,
    recencyCapDays: 365,
  };
  return { options, oracle };
}

/** Every cell equal (the features are computed in TypeScript from integer measures, so the same bits). */
export function expectMatrixToMatch(actual: FeatureMatrix, expected: OracleMatrix): void {
  expect(actual.names).toEqual(expected.names);
  expect(actual.userIds).toEqual(expected.userIds);
  const w = actual.names.length;
  expect(actual.values.length).toBe(expected.rows.length * w);
  for (let i = 0; i < expected.rows.length; i++) {
    for (let j = 0; j < w; j++) {
      const got = actual.values[i * w + j]!;
      const want = expected.rows[i]![j]!;
      if (got !== want) expect({ user: actual.userIds[i], feature: actual.names[j], got }).toEqual({ user: actual.userIds[i], feature: actual.names[j], got: want });
    }
  }
  for (const v of actual.values) expect(Number.isFinite(v)).toBe(true);
}

/** Pages of a paged build joined back into one matrix (names must agree). */
export function concatPages(pages: readonly FeatureMatrix[]): { userIds: string[]; names: readonly string[]; values: number[] } {
  for (const p of pages) expect(p.names).toEqual(pages[0]!.names);
  return { userIds: pages.flatMap((p) => [...p.userIds]), names: pages[0]!.names, values: pages.flatMap((p) => Array.from(p.values)) };
}
