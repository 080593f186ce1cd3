/**
 * Retention tables on ClickHouse (a single node and a two-shard cluster, 18.16 or later)
 * give exactly DuckDB's tables (the oracle; DuckDB is held to the brute-force reference in
 * retention.test.ts). The same seeded random log and profiles are written to the three
 * stores, and every unit, alignment, start and return filter, breakdown by trait and by
 * segment, and a segment restriction run on each. On the cluster each shard counts its own
 * users and the parts are summed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRetentionDefinition, retentionTable, type RetentionDefinition } from '../src/analysis/retention/index.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { parseSegmentText, validateSegment } from '../src/segments/language/index.js';
import type { SegmentRegistry } from '../src/segments/registry/index.js';
import type { EventStore } from '../src/store/event-store.js';
import { MS } from '../src/time/time.js';
import { ENGINES, closeEngineStores, loadIntoEach, openEngineStores, registriesOn, type Engine } from './support/agreement-stores.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';
import { seedDataset, type SeedEvent } from './support/load-duckdb.js';

const PLAN = parsePlan({
  events: { view: { properties: { n: { type: 'number' }, page: { type: 'string' } } }, buy: { properties: { amount: { type: 'number' } } }, signup: { properties: {} } },
  traits: { plan: { type: 'string' } },
});

const BASE = Date.UTC(2024, 0, 29);
const AS_OF = BASE + 40 * MS.d + 7 * MS.h;
const USERS = Array.from({ length: 60 }, (_, i) => (i % 17 === 0 ? `o'q-${i}` : `u${i}`));

/** A seeded log: 60 users over 45 days around month and week edges. */
function seededLog(): { events: SeedEvent[]; plans: Record<string, { plan: string }> } {
  const event = fc.record({
    user: fc.constantFrom(...USERS),
    event: fc.constantFrom('view', 'view', 'buy', 'signup'),
    at: fc.tuple(fc.integer({ min: -3, max: 45 }), fc.constantFrom(0, MS.d - 1, 12 * MS.h, 7 * MS.h + 123)).map(([d, t]) => BASE + d * MS.d + t),
    n: fc.constantFrom(0, 1, 2, 5),
  });
  const events = fc.sample(event, { numRuns: 900, seed: 42 }).map((e): SeedEvent => {
    const props: Record<string, number | string> = e.event === 'view' ? { n: e.n, page: e.n > 1 ? 'pricing' : 'home' } : e.event === 'buy' ? { amount: e.n * 10 } : {};
    return { user: e.user, event: e.event, at: e.at, props };
  });
  const plans = Object.fromEntries(USERS.filter((_, i) => i % 3 !== 0).map((u, i) => [u, { plan: i % 2 === 0 ? 'pro' : 'free' }]));
  return { events, plans };
}

const DEFINITIONS: Record<string, RetentionDefinition> = {
  'weekly first seen': { cohort: 'week', periods: 6 },
  'daily elapsed, view with n >= 2': { cohort: 'day', alignment: 'elapsed', periods: 10, return: { event: 'view', where: [{ property: 'n', gte: 2 }] } },
  'weekly elapsed, from buy': { cohort: 'week', alignment: 'elapsed', start: 'buy', return: 'view', periods: 5 },
  'monthly by signup, returned only': { cohort: 'month', start: 'signup', return: 'buy', periods: 2, mode: 'returned' },
  'monthly on or after, page predicate': { cohort: 'month', return: { event: '*', where: [{ property: 'page', eq: 'pricing' }] }, mode: 'on-or-after' },
  'daily in a range, by plan': { cohort: 'day', from: '2024-02-01', to: '2024-02-20', periods: 14, by: 'plan' },
  'weekly by segment': { cohort: 'week', by: 'segment:buyers', periods: 4 },
  'weekly, buyers only': { cohort: 'week', segment: 'buyers', return: 'buy', periods: 4 },
};

const BUYERS = 'key: buyers\nname: Buyers\nobjective: monetization\nrationale: Bought twice.\nowner: growth\nmatch: { did: buy, count: { gte: 2 } }\n';

let layouts: ClickHouseLayouts | undefined;
let stores = new Map<Engine, EventStore>();
let registries = new Map<Engine, SegmentRegistry>();

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  layouts = await startLayouts('strata_retention_test');
  stores = await openEngineStores(layouts);
  const { events, plans } = seededLog();
  const buyers = validateSegment(parseSegmentText(BUYERS, 'buyers.yaml'), PLAN);
  await loadIntoEach(stores, PLAN, seedDataset({ events, profiles: plans }));
  registries = await registriesOn(stores, PLAN, { now: () => AS_OF }, [buyers]);
}, 180_000);

afterAll(async () => {
  await closeEngineStores(stores.values());
  await layouts?.stop();
});

describe.skipIf(!clickhouseAvailable())('retention on ClickHouse, one node and a cluster, against DuckDB', () => {
  for (const [name, definition] of Object.entries(DEFINITIONS)) {
    it(name, async () => {
      const results = {} as Record<Engine, unknown>;
      for (const engine of ENGINES) {
        const spec = checkRetentionDefinition(definition, PLAN, AS_OF);
        results[engine] = await retentionTable({ store: stores.get(engine)!, plan: PLAN, registry: registries.get(engine)! }, spec, AS_OF);
      }
      const oracle = results.duckdb as { groups: { cohorts: unknown[] }[]; segment: unknown };
      // The cases must say something: some cohorts with users.
      expect(oracle.groups.flatMap((g) => g.cohorts).length).toBeGreaterThan(0);
      // Snapshot ids are each store's own; everything else is equal.
      const withoutIds = (r: unknown) => ({ ...(r as object), segment: (r as { segment: { key: string } | null }).segment?.key ?? null });
      expect(withoutIds(results.single)).toEqual(withoutIds(results.duckdb));
      expect(withoutIds(results.cluster)).toEqual(withoutIds(results.duckdb));
    }, 60_000);
  }
});
