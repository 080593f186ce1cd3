/**
 * The contribution bounding of `experiment analyze --private` (per-user clamps applied in
 * the metric SQL, src/experiments/metrics/metric-sql.ts) on ClickHouse, one node and a
 * two-shard cluster, against DuckDB on the same seeded log (experiment-metrics-oracle.ts).
 * Oracles: with ranges that hold every per-user value, the clamped statistics equal the
 * brute-force reference (referenceData) exactly as the unclamped ones do; with ranges that
 * cut values, every engine agrees with DuckDB (whose clamping is held to a hand-computed
 * sum in dp-private-reports.test.ts), and the clamped sums are smaller than the raw ones.
 * On ClickHouse users without matching events are not in the per-user pass: they add
 * clamp(0) = 0 because every range holds 0 (parseClamps requires it). Also `segment size
 * --by` (the exact split the private sizes start from) agrees across the engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segmentSizes } from '../src/analysis/segment-sizes.js';
import { computeExperimentData, type ExperimentData, type MetricClamp } from '../src/experiments/metrics/index.js';
import type { SegmentRegistry } from '../src/segments/registry/index.js';
import type { EventStore } from '../src/store/event-store.js';
import { ENGINES, closeEngineStores, loadIntoEach, openEngineStores, registriesOn, type Engine } from './support/agreement-stores.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { AS_OFS, CASES, LIFECYCLE, PLAN, SEGMENTS, exactPaths, expectedFor, experimentYaml, optionsFor, stored } from './support/experiment-metrics-cases.js';
import { BASE, D, compareData, generateLog } from './support/experiment-metrics-oracle.js';
import { seedDataset } from './support/load-duckdb.js';

const log = generateLog(202, 60);

/** Ranges that cut: at most 1 pricing view, revenue in [-1, 5], and so on. */
const CUTTING: Record<string, MetricClamp> = {
  views: { lower: 0, upper: 1 },
  revenue: { lower: -1, upper: 5 },
  depth: { lower: 0, upper: 3, denominator: { lower: 0, upper: 1 } },
  'rev-per-order': { lower: 0, upper: 10, denominator: { lower: 0, upper: 2 } },
  activity: { lower: 0, upper: 3 },
};
/** Ranges wide enough to hold every per-user value of the log. */
const WIDE: Record<string, MetricClamp> = Object.fromEntries(
  Object.entries(CUTTING).map(([k, c]) => [k, { lower: -1e6, upper: 1e6, ...(c.denominator ? { denominator: { lower: -1e6, upper: 1e6 } } : {}) }]),
);

let layouts: ClickHouseLayouts | undefined;
let stores = new Map<Engine, EventStore>();
let registries = new Map<Engine, SegmentRegistry>();

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  layouts = await startLayouts('strata_dp_reports_test');
  stores = await openEngineStores(layouts);
  await loadIntoEach(stores, PLAN, seedDataset({ events: log.events, profiles: log.profiles }));
  registries = await registriesOn(stores, PLAN, { lifecycle: LIFECYCLE, now: () => BASE + 20 * D }, SEGMENTS);
}, 180_000);

afterAll(async () => {
  await closeEngineStores(stores.values());
  await layouts?.stop();
});

function numeratorSum(data: ExperimentData, metric: string): number {
  return data.metrics
    .filter((m) => m.metric === metric && m.group === null)
    .flatMap((m) => m.variants)
    .reduce((a, v) => a + (v.stats.type === 'ratio' ? v.stats.numerator.sum : v.stats.sum), 0);
}

describe.skipIf(!clickhouseAvailable())('private experiment clamps on ClickHouse, one node and a cluster', () => {
  for (const c of [CASES[0]!, CASES[1]!]) {
    it(`${c.name}: wide ranges give the reference, cutting ones agree with DuckDB`, async () => {
      const s = stored(experimentYaml(c.extra));
      const asOfMs = AS_OFS[3]!;
      const expected = expectedFor(log, s, c, asOfMs);
      const duck = await computeExperimentData(stores.get('duckdb')!, registries.get('duckdb')!, s, { ...optionsFor(c, asOfMs), clamps: CUTTING });
      const raw = await computeExperimentData(stores.get('duckdb')!, registries.get('duckdb')!, s, optionsFor(c, asOfMs));
      for (const metric of ['activity', 'rev-per-order']) expect(numeratorSum(duck, metric), metric).toBeLessThan(numeratorSum(raw, metric));
      for (const engine of ENGINES) {
        const wide = await computeExperimentData(stores.get(engine)!, registries.get(engine)!, s, { ...optionsFor(c, asOfMs), clamps: WIDE });
        expect(compareData(wide, expected, exactPaths(expected)), `${engine}, wide`).toEqual([]);
        if (engine === 'duckdb') continue;
        const cut = await computeExperimentData(stores.get(engine)!, registries.get(engine)!, s, { ...optionsFor(c, asOfMs), clamps: CUTTING });
        // Clamped values are doubles on every engine: compared within 1e-9 except counts of users.
        expect(compareData(cut, duck, (path) => !/\.stats\./.test(path) || /\.stats\.n$/.test(path)), `${engine}, cutting`).toEqual([]);
      }
    }, 60_000);
  }

  it('segment size --by: members per group agree with DuckDB and add up to the size', async () => {
    const asOfMs = BASE + 10 * D;
    for (const by of [{ kind: 'trait', trait: 'plan', type: 'string' }, { kind: 'segment', key: 'pro' }] as const) {
      const duck = await segmentSizes(stores.get('duckdb')!, registries.get('duckdb')!, ['viewers', 'pro'], { asOfMs, by });
      for (const s of duck.segments) expect(s.groups!.reduce((a, g) => a + g.users, 0)).toBe(s.size);
      expect(duck.segments[0]!.groups!.length).toBeGreaterThan(1);
      for (const engine of ENGINES) {
        const sizes = await segmentSizes(stores.get(engine)!, registries.get(engine)!, ['viewers', 'pro'], { asOfMs, by });
        expect(sizes.segments, `${engine} by ${by.kind}`).toEqual(duck.segments);
      }
    }
  }, 60_000);
});
