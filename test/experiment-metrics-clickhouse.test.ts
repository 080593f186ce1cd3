/**
 * Experiment metrics on ClickHouse (a single node and a two-shard cluster, 18.16 or later)
 * against the brute-force reference (test/support/experiment-metrics-oracle.ts) and against
 * DuckDB: the same seeded random logs written to the three stores, every case of
 * experiment-metrics-cases.ts (event and derived exposures, breakdowns by trait, segment
 * and lifecycle stage as of start, a restriction) at several asOf instants. On the cluster
 * each shard computes its own users' sums and the parts are added. Whole numbers must be
 * equal everywhere; sums of the double property `amount` within a relative 1e-9 (the
 * engines add doubles in different orders).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeExperimentData } from '../src/experiments/metrics/index.js';
import type { SegmentRegistry } from '../src/segments/registry/index.js';
import type { EventStore } from '../src/store/event-store.js';
import { ENGINES, closeEngineStores, loadIntoEach, openEngineStores, registriesOn, type Engine } from './support/agreement-stores.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { AS_OFS, CASES, LIFECYCLE, PLAN, SEGMENTS, exactPaths, expectedFor, experimentYaml, optionsFor, stored } from './support/experiment-metrics-cases.js';
import { BASE, D, compareData, generateLog } from './support/experiment-metrics-oracle.js';
import { seedDataset } from './support/load-duckdb.js';

const log = generateLog(101, 70);
/** What the compared answers held: multiple and unknown exposures and immature users were exercised. */
const seen = { multiple: 0, unknown: 0, immature: 0 };

let layouts: ClickHouseLayouts | undefined;
let stores = new Map<Engine, EventStore>();
let registries = new Map<Engine, SegmentRegistry>();

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  layouts = await startLayouts('strata_exp_metrics_test');
  stores = await openEngineStores(layouts);
  await loadIntoEach(stores, PLAN, seedDataset({ events: log.events, profiles: log.profiles }));
  registries = await registriesOn(stores, PLAN, { lifecycle: LIFECYCLE, now: () => BASE + 20 * D }, SEGMENTS);
}, 180_000);

afterAll(async () => {
  await closeEngineStores(stores.values());
  await layouts?.stop();
});

describe.skipIf(!clickhouseAvailable())('experiment metrics on ClickHouse, one node and a cluster', () => {
  for (const [i, c] of CASES.entries()) {
    // Two instants per case: mid-experiment (immature users) and later.
    const instants = [AS_OFS[i % 2]!, AS_OFS[2 + (i % 2)]!];
    it(`${c.name} (asOf ${instants.map((t) => new Date(t).toISOString()).join(' and ')})`, async () => {
      const s = stored(experimentYaml(c.extra));
      for (const asOfMs of instants) {
        const expected = expectedFor(log, s, c, asOfMs);
        expect(expected.exposures.some((e) => e.users > 0)).toBe(true);
        seen.multiple += expected.multipleExposures;
        seen.unknown += Object.keys(expected.unknownVariants).length;
        seen.immature += expected.metrics.reduce((a, m) => a + m.immature, 0);
        for (const engine of ENGINES) {
          const actual = await computeExperimentData(stores.get(engine)!, registries.get(engine)!, s, optionsFor(c, asOfMs));
          expect(compareData(actual, expected, exactPaths(expected)), `${engine} at ${new Date(asOfMs).toISOString()}`).toEqual([]);
        }
      }
    }, 60_000);
  }

  it('the log exercised multiple exposures, unknown variants and immature users', () => {
    expect(seen.multiple).toBeGreaterThan(0);
    expect(seen.unknown).toBeGreaterThan(0);
    expect(seen.immature).toBeGreaterThan(0);
  });
});
