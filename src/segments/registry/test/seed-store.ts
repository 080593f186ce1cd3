/**
 * Test data for the registry's tests: rows written straight into events, users and
 * profiles as store/schema.ts lays them out, so these tests depend on the store alone.
 */
import type { TrackingPlan } from '../../../schema/tracking-plan.js';
import type { EventStore } from '../../../store/event-store.js';
import { loadIntoDuckDb, seedDataset, type SeedData, type SeedEvent } from '../../../../test/support/load-duckdb.js';
import type { MemoryValue } from '../../evaluate/index.js';

export type { SeedData, SeedEvent } from '../../../../test/support/load-duckdb.js';
export type { MemoryValue as Value } from '../../evaluate/index.js';

/** Add the plan's columns, then insert events and profiles and the users population index built from them. */
export async function seedStore(store: EventStore, plan: TrackingPlan, data: SeedData): Promise<void> {
  await store.applyPlan(plan);
  await loadIntoDuckDb(store, plan, seedDataset(data));
}

/** A generated user: their traits (null: no profile) and their events. */
export interface SeedUser {
  readonly id: string;
  readonly traits: Readonly<Record<string, MemoryValue>> | null;
  readonly events: readonly SeedEvent[];
}

/** seedStore with every user's events, and a profile for each user with traits. */
export async function seedUsers(store: EventStore, plan: TrackingPlan, users: readonly SeedUser[]): Promise<void> {
  await seedStore(store, plan, {
    events: users.flatMap((u) => u.events),
    profiles: Object.fromEntries(users.filter((u) => u.traits !== null).map((u) => [u.id, u.traits!])),
  });
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so the generated data is the same on every run. */
export { prng as seededRandom } from '../../../../test/support/prng.js';
