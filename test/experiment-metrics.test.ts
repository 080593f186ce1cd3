/**
 * Experiment metrics on DuckDB against the brute-force reference of
 * test/support/experiment-metrics-oracle.ts (written from docs/experiments.md, "Metrics and
 * exposures"): seeded random logs with exposures to several variants, unknown and missing
 * variants, another experiment's exposures, events before and after exposure on a grid
 * where metric windows, covariate windows, the exposure period and asOf fall exactly on
 * event times (and 1 ms either side). Every metric type, CUPED covariates, breakdowns by
 * trait, segment and lifecycle stage as of start, a segment restriction, and derived
 * exposures (assignment with targeting and coverage). The first seed uses the documented
 * windows; the others draw each metric's within, covariate and retention day on the grid.
 * Whole numbers (users, counts, conversions) must be equal; sums of the double property
 * `amount` within a relative 1e-9 (the engine adds doubles in its own order).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { computeExperimentData } from '../src/experiments/metrics/index.js';
import type { ExperimentData } from '../src/experiments/metrics/types.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { loadIntoStore, seedDataset } from './support/load-duckdb.js';
import { AS_OFS, CASES, DEFAULT_WINDOWS, LIFECYCLE, PLAN, SEGMENTS, drawWindows, exactPaths, expectedFor, experimentYaml, optionsFor, stored } from './support/experiment-metrics-cases.js';
import { BASE, D, compareData, generateLog, type GeneratedLog } from './support/experiment-metrics-oracle.js';
import { prng } from './support/prng.js';

const open: DuckDbStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function duckdbFor(log: GeneratedLog): Promise<{ store: DuckDbStore; registry: SegmentRegistry }> {
  const store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  open.push(store);
  await store.applyPlan(PLAN);
  await loadIntoStore(store, PLAN, seedDataset({ events: log.events, profiles: log.profiles }));
  const registry = new SegmentRegistry(store, PLAN, { lifecycle: LIFECYCLE, now: () => BASE + 20 * D });
  await registry.add(SEGMENTS);
  return { store, registry };
}

const SEEDS = process.env.CI ? 12 : 5;

/** What the compared answers held, over every seed: the rules were exercised, not just agreed on while empty. */
const seen = { multiple: 0, unknown: new Set<string>(), immature: 0, mature: 0, covariate: 0, groups: 0, exposed: 0 };
function tally(data: ExperimentData): void {
  seen.multiple += data.multipleExposures;
  for (const k of Object.keys(data.unknownVariants)) seen.unknown.add(k);
  seen.groups = Math.max(seen.groups, data.groups.length);
  seen.exposed += data.exposures.filter((e) => e.group === null).reduce((a, e) => a + e.users, 0);
  for (const m of data.metrics) {
    seen.immature += m.immature;
    for (const v of m.variants) {
      seen.mature += v.stats.n;
      seen.covariate += v.stats.covariate?.sum ?? 0;
    }
  }
}

describe('experiment metrics on DuckDB against the brute-force reference', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`seed ${seed}: every case at a random asOf`, async () => {
      const log = generateLog(seed);
      const { store, registry } = await duckdbFor(log);
      const r = prng(seed * 7919);
      // The first seed keeps the documented windows; the others draw theirs on the grid.
      const windows = seed === 1 ? DEFAULT_WINDOWS : drawWindows(r);
      for (const c of CASES) {
        const asOfMs = AS_OFS[Math.floor(r() * AS_OFS.length)]!;
        const s = stored(experimentYaml(c.extra, windows));
        const expected = expectedFor(log, s, c, asOfMs, windows);
        const actual = await computeExperimentData(store, registry, s, optionsFor(c, asOfMs));
        expect(compareData(actual, expected, exactPaths(expected)), `${c.name} at ${new Date(asOfMs).toISOString()}, windows ${JSON.stringify(windows)}`).toEqual([]);
        tally(expected);
      }
    });
  }

  it('the logs exercised every rule (multiple and unknown exposures, immature users, covariates, groups)', () => {
    expect(seen.multiple).toBeGreaterThan(0);
    expect([...seen.unknown].sort()).toEqual(['(missing)', 'Control', 'bogus']);
    expect(seen.immature).toBeGreaterThan(0);
    expect(seen.mature).toBeGreaterThan(100);
    expect(seen.covariate).toBeGreaterThan(0);
    expect(seen.groups).toBeGreaterThanOrEqual(3);
    expect(seen.exposed).toBeGreaterThan(100);
  });
});
