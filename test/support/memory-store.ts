/**
 * The store a DuckDB-only analysis test shares across its cases: DuckDB in memory (one
 * thread) with the plan's columns and a registry on it; each case replaces the data
 * (reloadStore in load-duckdb.ts).
 */
import type { TrackingPlan } from '../../src/schema/tracking-plan.js';
import { SegmentRegistry } from '../../src/segments/registry/index.js';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';

export async function openMemoryStore(plan: TrackingPlan): Promise<{ store: DuckDbStore; registry: SegmentRegistry }> {
  const store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  await store.applyPlan(plan);
  return { store, registry: new SegmentRegistry(store, plan) };
}
