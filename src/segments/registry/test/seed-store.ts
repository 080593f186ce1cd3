/**
 * Test data for the registry's tests: rows written straight into events, users and
 * profiles as store/schema.ts lays them out, so these tests depend on the store alone.
 */
import type { TrackingPlan } from '../../../schema/tracking-plan.js';
import type { EventStore } from '../../../store/event-store.js';
import { loadIntoDuckDb, seedDataset, type SeedData } from '../../../../test/support/load-duckdb.js';

export type { SeedData, SeedEvent } from '../../../../test/support/load-duckdb.js';
export type { MemoryValue as Value } from '../../evaluate/index.js';

/** Add the plan's columns, then insert events and profiles and the users population index built from them. */
export async function seedStore(store: EventStore, plan: TrackingPlan, data: SeedData): Promise<void> {
  await store.applyPlan(plan);
  await loadIntoDuckDb(store, plan, seedDataset(data));
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so the generated data is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
