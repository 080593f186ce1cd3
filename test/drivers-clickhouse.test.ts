/**
 * `discoverDrivers` on ClickHouse, one node and a two-shard cluster, against DuckDB (the
 * oracle, itself held to a brute-force count and scipy in drivers.test.ts) on the same rows:
 * the same cohort, early converters, 2x2 tables, p- and q-values for a conversion outcome
 * with revenue, a retention outcome, and a run restricted to a segment and a cohort range
 * with other windows and thresholds. Revenue sums are doubles added in each engine's order,
 * so revenue numbers are compared to 10 significant digits; counts exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverDrivers, type DriversOptions, type DriversResult } from '../src/models/discover/drivers-index.js';
import type { EventStore } from '../src/store/event-store.js';
import type { SegmentRegistry } from '../src/segments/registry/index.js';
import { closeEngineStores, ENGINES, loadIntoEach, openEngineStores, registriesOn, type Engine } from './support/agreement-stores.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';
import { seedDataset } from './support/load-duckdb.js';
import { AS_OF_MS, BASE_MS, DAY, driversEvents, driversPlan } from './drivers-fixtures.js';

const PLAN = driversPlan();
const EVENTS = driversEvents(1200, 11);
const PURCHASE = { event: 'purchase', value: 'amount', quantity: null, where: [] } as const;

let layouts: ClickHouseLayouts | undefined;
let stores = new Map<Engine, EventStore>();
let registries = new Map<Engine, SegmentRegistry>();

/** Numbers to 10 significant digits (revenue sums differ in the last bits between engines). */
function rounded(value: DriversResult): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(10)) : v)));
}

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  layouts = await startLayouts('drivers');
  stores = await openEngineStores(layouts);
  await loadIntoEach(stores, PLAN, seedDataset({ events: EVENTS }));
  registries = await registriesOn(stores, PLAN, {}, [
    { key: 'builders', name: 'Created a project', objective: 'other', rationale: 'a restriction for drivers', owner: 'growth', match: { did: 'project_created' } },
  ]);
}, 120_000);

afterAll(async () => {
  await closeEngineStores(stores.values());
  await layouts?.stop();
});

async function onEach(options: (engine: Engine) => Promise<DriversOptions>): Promise<Map<Engine, DriversResult>> {
  const out = new Map<Engine, DriversResult>();
  for (const engine of ENGINES) out.set(engine, await discoverDrivers(stores.get(engine)!, PLAN, await options(engine)));
  return out;
}

function expectAgreement(results: Map<Engine, DriversResult>): void {
  const oracle = results.get('duckdb')!;
  expect(oracle.candidates.length).toBeGreaterThan(4);
  for (const engine of ['single', 'cluster'] as const) {
    const r = results.get(engine)!;
    expect(r.candidates.map((c) => [c.event, c.atLeast, c.table]), engine).toEqual(oracle.candidates.map((c) => [c.event, c.atLeast, c.table]));
    expect(rounded(r), engine).toEqual(rounded(oracle));
  }
}

describe.skipIf(!clickhouseAvailable())('discoverDrivers on ClickHouse (one node, two shards) against DuckDB', () => {
  it('conversion with revenue', async () => {
    const results = await onEach(async () => ({ outcome: { kind: 'conversion', event: 'upgrade' }, asOfMs: AS_OF_MS, purchase: PURCHASE }));
    expectAgreement(results);
    expect(results.get('duckdb')!.alreadyConverted).toBeGreaterThan(0);
    expect(results.get('duckdb')!.revenue!.candidates.length).toBeGreaterThan(4);
  });

  it('retention', async () => {
    expectAgreement(await onEach(async () => ({ outcome: { kind: 'retention' }, asOfMs: AS_OF_MS })));
  });

  it('a segment, a cohort range, other windows and thresholds', async () => {
    const results = await onEach(async (engine) => ({
      outcome: { kind: 'conversion', event: 'upgrade' },
      asOfMs: AS_OF_MS,
      earlyMs: 7 * DAY,
      withinMs: 21 * DAY,
      cohortFromMs: BASE_MS + 5 * DAY,
      cohortToMs: BASE_MS + 55 * DAY,
      memberSnapshotId: (await registries.get(engine)!.snapshot('builders', { asOfMs: AS_OF_MS })).snapshotId,
      thresholds: [1, 2, 4],
      minUsers: 15,
      purchase: PURCHASE,
    }));
    expectAgreement(results);
    expect(results.get('duckdb')!.users).toBeLessThan(EVENTS.filter((e) => e.event === 'signup').length * 0.9);
  });
});
