/**
 * Test data for the registry's tests: rows written straight into events, users and
 * profiles as store/schema.ts lays them out, so these tests depend on the store alone.
 */
import type { TrackingPlan } from '../../../schema/tracking-plan.js';
import { propertyTypes } from '../../../schema/tracking-plan.js';
import type { EventStore } from '../../../store/event-store.js';
import { TABLES, propertyColumn, traitColumn } from '../../../store/schema.js';

export type Value = string | number | boolean;

export interface SeedEvent {
  readonly user: string;
  readonly event: string;
  readonly at: number;
  readonly props?: Readonly<Record<string, Value>>;
}

export interface SeedData {
  readonly events?: readonly SeedEvent[];
  readonly profiles?: Readonly<Record<string, Readonly<Record<string, Value>>>>;
}

function literal(store: EventStore, type: string, value: Value | undefined): string {
  const d = store.dialect;
  if (value === undefined) return 'NULL';
  if (type === 'timestamp') return d.timestampLiteral(value as number);
  if (typeof value === 'number') return `CAST(${d.numberLiteral(value)} AS DOUBLE)`;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return d.stringLiteral(value);
}

/** Insert events and profiles and rebuild the users population index from them. */
export async function seedStore(store: EventStore, plan: TrackingPlan, data: SeedData): Promise<void> {
  await store.applyPlan(plan);
  const d = store.dialect;
  const events = data.events ?? [];
  const props = [...propertyTypes(plan)];
  const chunk = 500;
  for (let start = 0; start < events.length; start += chunk) {
    const rows = events.slice(start, start + chunk).map((e, i) => {
      const cells = [
        d.stringLiteral(`e${start + i}`),
        d.stringLiteral(e.user),
        d.stringLiteral(e.event),
        d.timestampLiteral(e.at),
        d.timestampLiteral(0),
        ...props.map(([name, type]) => literal(store, type, e.props?.[name])),
      ];
      return `(${cells.join(', ')})`;
    });
    const cols = ['event_id', 'user_id', 'event', 'ts', 'ingested_at', ...props.map(([name]) => d.quoteIdentifier(propertyColumn(name)))];
    await store.execute(`INSERT INTO ${TABLES.events} (${cols.join(', ')}) VALUES ${rows.join(', ')}`);
  }
  const traits = Object.entries(plan.traits);
  const profiles = Object.entries(data.profiles ?? {});
  if (profiles.length > 0) {
    const cols = ['user_id', 'updated_at', ...traits.map(([name]) => d.quoteIdentifier(traitColumn(name)))];
    const rows = profiles.map(
      ([user, values]) => `(${[d.stringLiteral(user), d.timestampLiteral(0), ...traits.map(([name, spec]) => literal(store, spec.type, values[name]))].join(', ')})`,
    );
    await store.execute(`INSERT INTO ${TABLES.profiles} (${cols.join(', ')}) VALUES ${rows.join(', ')}`);
  }
  await store.execute(`DELETE FROM ${TABLES.users}`);
  await store.execute(`INSERT INTO ${TABLES.users} (user_id, first_event_at, has_profile)
SELECT coalesce(e.user_id, p.user_id), e.first_at, p.user_id IS NOT NULL
FROM (SELECT user_id, min(ts) AS first_at FROM ${TABLES.events} GROUP BY user_id) e
FULL OUTER JOIN (SELECT user_id FROM ${TABLES.profiles}) p ON p.user_id = e.user_id`);
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
