/**
 * The funnel analysis on ClickHouse (one node and a two-shard cluster) gives DuckDB's
 * answers (the oracle; DuckDB itself is held to the in-memory evaluator and a brute-force
 * reference in funnel.test.ts). The data is the demo product (src/demo, seeded) for 150
 * users, written into all three stores. ClickHouse follows the chains in per-user arrays
 * and sends exact frequency tables that TypeScript merges across shards; DuckDB uses ASOF
 * joins and quantile_cont in SQL, so equal tables, quantiles included to the last bit, are
 * a real agreement. Saved drop-off segments are checked on the cluster too. Then random
 * logs with many ties and edge cases (test/support/funnel-arbitraries.ts), in every order,
 * by a trait, on fresh stores of each engine.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFunnel, checkFunnelDocument, saveDropoffSegment, type FunnelResult } from '../src/analysis/funnel/index.js';
import { DEMO_END_MS, demoPlan, simulateUser } from '../src/demo/index.js';
import type { MemoryDataset, MemoryEvent, MemoryValue } from '../src/segments/evaluate/index.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import type { EventStore } from '../src/store/event-store.js';
import { ENGINES, closeEngineStores, loadIntoEach, openEngineStores, registriesOn, type Engine } from './support/agreement-stores.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';
import { dataArb, funnelArb, funnelDoc, plantedArb, withPlanted } from './support/funnel-arbitraries.js';
import { reloadStore } from './support/load-duckdb.js';
import { PLAN } from './support/segment-arbitraries.js';
import { toMemoryDataset } from './support/to-memory.js';

const plan = demoPlan();
const AS_OF = DEMO_END_MS;

function demoDataset(users: number): MemoryDataset {
  const events: MemoryEvent[] = [];
  const profiles = new Map<string, Record<string, MemoryValue>>();
  for (let i = 0; i < users; i++) {
    simulateUser(i, { seed: 7 }, {
      event: (userId, event, ts, properties) => events.push({ userId, event, ts, properties: properties ?? {} }),
      profile: (userId, traits) => profiles.set(userId, { ...traits }),
    });
  }
  return { events, profiles };
}

const CASES: readonly { readonly name: string; readonly doc: Record<string, unknown>; readonly by?: string; readonly segment?: string }[] = [
  { name: 'five onboarding steps, sequential', doc: { funnel: ['signed_up', 'onboarding_started', 'profile_completed', 'first_project_created', 'core_task_completed'], span: '14d', within: '120d' } },
  { name: 'by a trait', doc: { funnel: ['signed_up', 'onboarding_started', 'first_project_created'], span: '7d', within: '90d' }, by: 'channel' },
  { name: 'strict, by a segment', doc: { funnel: ['signed_up', 'onboarding_started', 'profile_completed'], span: '1d', order: 'strict' }, by: 'segment:pros' },
  { name: 'any order within a segment', doc: { funnel: ['core_task_completed', 'feature_used', 'invite_sent'], span: '3d', since: '2025-03-01', order: 'any' }, segment: 'pros' },
  {
    name: 'filtered steps, during',
    doc: { funnel: [{ event: 'page_viewed', where: [{ property: 'page', eq: 'billing' }] }, 'pricing_viewed', { event: 'purchase', where: [{ property: 'amount', gte: 10 }] }], span: '2w', during: ['2025-01-01', '2025-05-01'] },
  },
];

let layouts: ClickHouseLayouts | undefined;
let stores = new Map<Engine, EventStore>();
let registries = new Map<Engine, SegmentRegistry>();

/** The result without the snapshot id, which each store numbers its own way. */
function comparable(r: FunnelResult): unknown {
  return { ...r, segment: r.segment === null ? null : { key: r.segment.key, size: r.segment.size } };
}

describe.skipIf(!clickhouseAvailable())('funnels on ClickHouse (one node and a two-shard cluster) agree with DuckDB', () => {
  beforeAll(async () => {
    layouts = await startLayouts('strata_funnel');
    const data = demoDataset(150);
    stores = await openEngineStores(layouts);
    await loadIntoEach(stores, plan, data);
    registries = await registriesOn(stores, plan, {}, [{ key: 'pros', name: 'Paying', objective: 'monetization', rationale: 'funnel test', owner: 'growth', match: { trait: 'plan', in: ['pro', 'team'] } }]);
  }, 120_000);

  afterAll(async () => {
    await closeEngineStores(stores.values());
    await layouts?.stop();
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const funnel = checkFunnelDocument(c.doc, plan);
      const results = {} as Record<Engine, FunnelResult>;
      for (const engine of ENGINES) {
        results[engine] = await analyzeFunnel(stores.get(engine)!, registries.get(engine)!, plan, funnel, {
          asOfMs: AS_OF,
          ...(c.by ? { by: c.by } : {}),
          ...(c.segment ? { segment: c.segment } : {}),
        });
      }
      // Not a vacuous agreement: someone goes past step 1 and times are reported.
      expect(results.duckdb.groups.some((g) => g.steps[1]!.reached > 0 && g.steps[1]!.timeFromPrevious !== null)).toBe(true);
      expect(comparable(results.single)).toEqual(comparable(results.duckdb));
      expect(comparable(results.cluster)).toEqual(comparable(results.duckdb));
    });
  }

  it('random logs: every order, by a trait, the same table on every engine', async () => {
    const random = await openEngineStores(layouts!);
    try {
      for (const store of random.values()) await store.applyPlan(PLAN);
      await fc.assert(
        fc.asyncProperty(dataArb, funnelArb(['sequential', 'strict', 'any']), plantedArb, async (d, c, planted) => {
          const data = toMemoryDataset(withPlanted(d.events, c, planted), d.profiles, PLAN);
          const funnel = checkFunnelDocument(funnelDoc(c), PLAN);
          const results = new Map<Engine, FunnelResult>();
          for (const [engine, store] of random) {
            await reloadStore(store, PLAN, data);
            results.set(engine, await analyzeFunnel(store, new SegmentRegistry(store, PLAN), PLAN, funnel, { asOfMs: d.asOf, by: 'plan' }));
          }
          expect(results.get('single')).toEqual(results.get('duckdb'));
          expect(results.get('cluster')).toEqual(results.get('duckdb'));
        }),
        { numRuns: process.env.CI ? 40 : 12 },
      );
    } finally {
      await closeEngineStores(random.values());
    }
  }, 120_000);

  it('saves a drop-off whose size is the drop-off, on every engine', async () => {
    const funnel = checkFunnelDocument(CASES[0]!.doc, plan);
    for (const engine of ENGINES) {
      const result = await analyzeFunnel(stores.get(engine)!, registries.get(engine)!, plan, funnel, { asOfMs: AS_OF, segment: 'pros' });
      const saved = await saveDropoffSegment(registries.get(engine)!, funnel, { step: 4, key: 'no-first-project', segment: 'pros', asOfMs: AS_OF });
      const dropped = result.groups[0]!.steps[3]!.droppedOff;
      expect(dropped, engine).toBeGreaterThan(0);
      expect(saved.snapshot.size, engine).toBe(dropped);
    }
  });
});
