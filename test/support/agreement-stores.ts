/**
 * The three stores a ClickHouse agreement test runs the same calls on: DuckDB (the oracle),
 * a ClickHouse single node and a two-shard cluster (clickhouse-layouts.ts). Opened in that
 * order, filled alike, and closed together with each ClickHouse database dropped.
 */
import path from 'node:path';
import { ingestFiles } from '../../src/ingest/index.js';
import type { TrackingPlan } from '../../src/schema/tracking-plan.js';
import type { MemoryDataset } from '../../src/segments/evaluate/index.js';
import type { SegmentDefinition } from '../../src/segments/language/index.js';
import { SegmentRegistry, type SegmentRegistryOptions } from '../../src/segments/registry/index.js';
import type { ClickHouseStore } from '../../src/store/clickhouse/clickhouse-store.js';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import type { EventStore } from '../../src/store/event-store.js';
import type { ClickHouseLayouts } from './clickhouse-layouts.js';
import { loadIntoStore } from './load-duckdb.js';

export const ENGINES = ['duckdb', 'single', 'cluster'] as const;
export type Engine = (typeof ENGINES)[number];

/** DuckDB on `duckdbPath` (in memory by default, one thread), then a fresh database on each ClickHouse layout. */
export async function openEngineStores(layouts: ClickHouseLayouts, duckdbPath = ':memory:'): Promise<Map<Engine, EventStore>> {
  const stores = new Map<Engine, EventStore>();
  stores.set('duckdb', await DuckDbStore.open({ path: duckdbPath, threads: 1 }));
  stores.set('single', await layouts.open('single'));
  stores.set('cluster', await layouts.open('cluster'));
  return stores;
}

/** Drop each ClickHouse store's database (the servers outlive the file's stores), then close every store. */
export async function closeEngineStores(stores: Iterable<EventStore>): Promise<void> {
  for (const store of stores) {
    if (store.engine === 'clickhouse') await (store as unknown as ClickHouseStore).dropDatabase();
    await store.close();
  }
}

/**
 * Apply the plan and ingest the same export files into every store, through `ingestFiles`
 * as `strata ingest` does; each store's rejects go to `<dir>/<engine>-events.jsonl` and
 * `<dir>/<engine>-profiles.jsonl`.
 */
export async function ingestIntoEach(
  stores: ReadonlyMap<Engine, EventStore>,
  plan: TrackingPlan,
  dir: string,
  files: { readonly events: readonly string[]; readonly profiles: string },
): Promise<void> {
  for (const [engine, store] of stores) {
    await store.applyPlan(plan);
    await ingestFiles(store, { kind: 'events', files: [...files.events], plan, rejectsPath: path.join(dir, `${engine}-events.jsonl`) });
    await ingestFiles(store, { kind: 'profiles', files: [files.profiles], plan, rejectsPath: path.join(dir, `${engine}-profiles.jsonl`) });
  }
}

/** Apply the plan and write the same dataset straight into every store's tables (load-duckdb.ts). */
export async function loadIntoEach(stores: ReadonlyMap<Engine, EventStore>, plan: TrackingPlan, data: MemoryDataset): Promise<void> {
  for (const store of stores.values()) {
    await store.applyPlan(plan);
    await loadIntoStore(store, plan, data);
  }
}

/** A registry on each store with the same options, each with `definitions` added. */
export async function registriesOn(
  stores: ReadonlyMap<Engine, EventStore>,
  plan: TrackingPlan,
  options: SegmentRegistryOptions,
  definitions: readonly SegmentDefinition[] = [],
): Promise<Map<Engine, SegmentRegistry>> {
  const registries = new Map<Engine, SegmentRegistry>();
  for (const [engine, store] of stores) {
    const registry = new SegmentRegistry(store, plan, options);
    if (definitions.length > 0) await registry.add(definitions);
    registries.set(engine, registry);
  }
  return registries;
}

/** `value` with every property named in `keys` removed at any depth: what differs from run to run (wall times, clock stamps). */
export function withoutKeys(value: unknown, keys: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => withoutKeys(v, keys));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !keys.includes(k))
        .map(([k, v]) => [k, withoutKeys(v, keys)]),
    );
  }
  return value;
}
