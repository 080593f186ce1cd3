/**
 * Test support for the compiler's DuckDB tests: a store in memory holding exactly the
 * rows a test lists, written straight into the physical tables of store/schema.ts (so
 * the compiler is tested on its own, without the ingest path).
 */
import { DuckDbStore } from '../../../store/duckdb/duckdb-store.js';
import type { TrackingPlan } from '../../../schema/tracking-plan.js';
import { loadIntoDuckDb, seedDataset, type SeedData } from '../../../../test/support/load-duckdb.js';

export type { SeedData, SeedEvent, SeedValue } from '../../../../test/support/load-duckdb.js';

/** A fresh in-memory store with the plan's columns and the given rows, users index included. */
export async function openSeededStore(plan: TrackingPlan, data: SeedData): Promise<DuckDbStore> {
  const store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  await store.applyPlan(plan);
  await loadIntoDuckDb(store, plan, seedDataset(data));
  return store;
}

/** The sorted user ids a query returns in its `user_id` column. */
export async function userIds(store: DuckDbStore, sql: string): Promise<string[]> {
  return (await store.query(sql)).map((r) => String(r.user_id)).sort();
}

/** A batch's members per segment key, read from its boolean columns (which must never be NULL). */
export async function batchMembers(store: DuckDbStore, sql: string, columns: readonly { key: string; column: string }[]): Promise<Map<string, string[]>> {
  const rows = await store.query(sql);
  const out = new Map<string, string[]>();
  for (const { key, column } of columns) {
    for (const r of rows) {
      if (typeof r[column] !== 'boolean') throw new Error(`segment ${key}: column ${column} is ${String(r[column])} for ${String(r.user_id)}`);
    }
    out.set(key, rows.filter((r) => r[column] === true).map((r) => String(r.user_id)).sort());
  }
  return out;
}
