/**
 * `discoverPersonas` on ClickHouse, one node and a two-shard cluster, against DuckDB (the
 * oracle) on the same planted rows: the same features (the SQL gives the same bits), so the
 * same personas, names, ids across a refresh, populations (active window and a segment's
 * snapshot) and the same stored cluster runs, read back from each store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverPersonas, type DiscoveredPersonas } from '../src/models/discover/index.js';
import { listScoreRuns, readScores } from '../src/models/registry/index.js';
import { parseSegmentText, validateSegment } from '../src/segments/language/index.js';
import type { SegmentRegistry } from '../src/segments/registry/index.js';
import type { EventStore } from '../src/store/event-store.js';
import { AS_OF_MS, PERSONA_PLAN, PURCHASE, plantedUsers } from './personas-fixtures.js';
import { ENGINES, closeEngineStores, loadIntoEach, openEngineStores, registriesOn, type Engine } from './support/agreement-stores.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';
import { loadIntoStore, seedDataset } from './support/load-duckdb.js';

const DAY = 86_400_000;
const first = plantedUsers(41, [80, 60, 50, 0], 'a');
const later = plantedUsers(42, [10, 10, 10, 60], 'b');
const lapsed = Array.from({ length: 3 }, (_, i) => ({ user: `lapsed-${i}`, event: 'view', at: AS_OF_MS - (100 + i) * DAY, props: { page: 'docs' } }));
const BUYERS = validateSegment(parseSegmentText('key: buyers\nname: Buyers\nobjective: monetization\nrationale: Bought once.\nowner: growth\nmatch: { did: purchase }\n', 'buyers.yaml'), PERSONA_PLAN);

let layouts: ClickHouseLayouts | undefined;
let stores = new Map<Engine, EventStore>();
let registries = new Map<Engine, SegmentRegistry>();
const results = new Map<Engine, DiscoveredPersonas[]>();

/** What each engine must agree on: the reports and each user's persona id. */
const view = (r: DiscoveredPersonas) => ({ report: r.report, users: r.userIds, assignments: Array.from(r.assignments) });

async function session(engine: Engine): Promise<DiscoveredPersonas[]> {
  const store = stores.get(engine)!;
  const run = (extra: Partial<Parameters<typeof discoverPersonas>[2]> = {}) => discoverPersonas(store, PERSONA_PLAN, { asOfMs: AS_OF_MS, purchase: PURCHASE, nowMs: AS_OF_MS, ...extra });
  const v1 = await run();
  await loadIntoStore(store, PERSONA_PLAN, seedDataset({ events: later.events }));
  const v2 = await run();
  const everyone = await run({ save: false, population: { activeDays: null }, k: 3 });
  const snapshot = await registries.get(engine)!.snapshot('buyers', { asOfMs: AS_OF_MS });
  const buyers = await run({ key: 'buyer-personas', k: 2, population: { segment: { key: 'buyers', snapshotId: snapshot.snapshotId, version: snapshot.version } } });
  return [v1, v2, everyone, buyers];
}

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  layouts = await startLayouts('strata_personas_test');
  stores = await openEngineStores(layouts);
  await loadIntoEach(stores, PERSONA_PLAN, seedDataset({ events: [...first.events, ...lapsed] }));
  registries = await registriesOn(stores, PERSONA_PLAN, { now: () => AS_OF_MS }, [BUYERS]);
  for (const engine of ENGINES) results.set(engine, await session(engine));
}, 180_000);

afterAll(async () => {
  await closeEngineStores(stores.values());
  await layouts?.stop();
});

describe.skipIf(!clickhouseAvailable())('discoverPersonas on ClickHouse agrees with DuckDB', () => {
  it('the DuckDB oracle found the planted structure (3 groups, then a 4th with a fresh id)', () => {
    const [v1, v2, everyone, buyers] = results.get('duckdb')!;
    expect(v1!.report.k).toBe(3);
    expect(v2!.report.k).toBe(4);
    expect(v2!.report.changes).toMatchObject({ previousVersion: 1, created: [4], vanished: [] });
    expect(everyone!.report.population.users).toBe(190 + 90 + 3);
    expect(buyers!.report.population).toEqual({ segment: { key: 'buyers', version: 1 }, activeDays: null, users: 60 });
  });

  for (const engine of ['single', 'cluster'] as const) {
    it(`${engine}: the same personas, ids, populations and assignments`, () => {
      const want = results.get('duckdb')!.map(view);
      const got = results.get(engine)!.map(view);
      expect(got).toEqual(want);
    });

    it(`${engine}: the same stored cluster runs`, async () => {
      const runs = async (e: Engine) => {
        const store = stores.get(e)!;
        const list = await listScoreRuns(store);
        return Promise.all(list.map(async (r) => ({ ...r, rows: await readScores(store, r.runId) })));
      };
      const want = await runs('duckdb');
      expect(want.map((r) => [r.modelKey, r.modelVersion, r.users])).toEqual([['personas', 1, 190], ['personas', 2, 280], ['buyer-personas', 1, 60]]);
      expect(await runs(engine)).toEqual(want);
    });
  }
});
