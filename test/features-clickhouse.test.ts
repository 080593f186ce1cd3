/**
 * Feature matrices and training sets on ClickHouse (a single node and a two-shard cluster,
 * 18.16 or later) against the brute-force reference of test/support/features-oracle.ts
 * and against DuckDB. The same seeded random logs are written to the three stores; on the
 * cluster each shard builds its own users' rows (sessions from sorted arrays, no window
 * functions) and the parts are concatenated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFeatures, forEachFeaturePage, labelledSnapshots, type FeatureMatrix } from '../src/models/features/index.js';
import type { EventStore } from '../src/store/event-store.js';
import { MS } from '../src/time/time.js';
import { ENGINES, closeEngineStores, openEngineStores, type Engine } from './support/agreement-stores.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';
import { FEATURE_AS_OF, FEATURE_PLAN, concatPages, expectMatrixToMatch, featureCase, randomFeatureLog } from './support/features-cases.js';
import { referenceFeatures } from './support/features-oracle.js';
import { reloadStore } from './support/load-duckdb.js';

let layouts: ClickHouseLayouts | undefined;
let stores = new Map<Engine, EventStore>();

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  layouts = await startLayouts('strata_features_test');
  stores = await openEngineStores(layouts);
  for (const store of stores.values()) await store.applyPlan(FEATURE_PLAN);
}, 180_000);

afterAll(async () => {
  await closeEngineStores(stores.values());
  await layouts?.stop();
});

describe.skipIf(!clickhouseAvailable())('features on ClickHouse, one node and a cluster', () => {
  for (const seed of [101, 102, 103]) {
    it(`random log ${seed}: every engine gives the reference's matrix`, async () => {
      const data = randomFeatureLog(seed, FEATURE_AS_OF, 60);
      const asOf = FEATURE_AS_OF + (seed % 3) * 5 * MS.h;
      const { options, oracle } = featureCase(asOf);
      const expected = referenceFeatures(FEATURE_PLAN, data, oracle);
      for (const engine of ENGINES) {
        const store = stores.get(engine)!;
        await reloadStore(store, FEATURE_PLAN, data);
        expectMatrixToMatch(await buildFeatures(store, FEATURE_PLAN, options), expected);
        // A restriction by predicate, rendered for each shard's dialect.
        const restricted = await buildFeatures(store, FEATURE_PLAN, { ...options, restrict: { where: (d) => `user_id < ${d.stringLiteral('u30')}` } });
        expect(restricted.userIds).toEqual(expected.userIds.filter((u) => Buffer.compare(Buffer.from(u), Buffer.from('u30')) < 0));
        if (seed === 101) {
          // Paged: each page's users from every shard, in one byte order.
          const pages: FeatureMatrix[] = [];
          await forEachFeaturePage(store, FEATURE_PLAN, options, 9, (p) => void pages.push(p));
          const joined = concatPages(pages);
          expect(joined.userIds).toEqual(expected.userIds);
          expect(joined.values).toEqual(expected.rows.flat());
        }
      }
    }, 60_000);
  }

  it('labelled snapshots agree with DuckDB on every engine', async () => {
    const data = randomFeatureLog(104, FEATURE_AS_OF, 60);
    const snapshotsMs = [FEATURE_AS_OF - 30 * MS.d, FEATURE_AS_OF - 10 * MS.d, FEATURE_AS_OF];
    const results = [];
    for (const engine of ENGINES) {
      const store = stores.get(engine)!;
      await reloadStore(store, FEATURE_PLAN, data);
      const r = await labelledSnapshots(store, FEATURE_PLAN, { snapshotsMs, horizonDays: 7, label: { kind: 'churn' }, dataEndMs: FEATURE_AS_OF });
      results.push(r.snapshots.map((s) => ({ asOf: s.asOfMs, users: s.features.userIds, values: Array.from(s.features.values), labels: Array.from(s.labels) })));
      expect(r.skipped.map((s) => s.asOfMs)).toEqual([FEATURE_AS_OF]);
    }
    expect(results[0]!.length).toBe(2);
    expect(results[0]!.some((s) => s.labels.includes(1) && s.labels.includes(0))).toBe(true);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  }, 60_000);
});
