/**
 * Test support for the compiler's DuckDB tests: a store in memory holding exactly the
 * rows a test lists, written straight into the physical tables of store/schema.ts (so
 * the compiler is tested on its own, without the ingest path).
 */
import { DuckDbStore } from '../../../store/duckdb/duckdb-store.js';
import { TABLES, propertyColumn, traitColumn } from '../../../store/schema.js';
import { propertyTypes, type FieldType, type TrackingPlan } from '../../../schema/tracking-plan.js';
import { duckdbDialect } from '../duckdb-dialect.js';

export type SeedValue = string | number | boolean | null;

export interface SeedEvent {
  readonly user: string;
  readonly event: string;
  /** Epoch ms. */
  readonly at: number;
  readonly props?: Readonly<Record<string, SeedValue>>;
}

export interface SeedData {
  readonly events?: readonly SeedEvent[];
  /** user id -> traits; timestamp traits as epoch ms. */
  readonly profiles?: Readonly<Record<string, Readonly<Record<string, SeedValue>>>>;
}

const d = duckdbDialect;

function valueSql(value: SeedValue | undefined, type: FieldType): string {
  if (value === null || value === undefined) return 'NULL';
  if (type === 'timestamp') return d.timestampLiteral(Number(value));
  if (type === 'string') return d.stringLiteral(String(value));
  if (type === 'number') return d.numberLiteral(Number(value));
  return d.booleanLiteral(Boolean(value));
}

/** A fresh in-memory store with the plan's columns and the given rows, users index included. */
export async function openSeededStore(plan: TrackingPlan, data: SeedData): Promise<DuckDbStore> {
  const store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  await store.applyPlan(plan);
  const props = [...propertyTypes(plan)];
  const events = data.events ?? [];
  if (events.length > 0) {
    const cols = ['event_id', 'user_id', 'event', 'ts', 'ingested_at', ...props.map(([n]) => d.quoteIdentifier(propertyColumn(n)))];
    const rows = events.map((e, i) =>
      [
        d.stringLiteral(`e${i}`),
        d.stringLiteral(e.user),
        d.stringLiteral(e.event),
        d.timestampLiteral(e.at),
        d.timestampLiteral(0),
        ...props.map(([n, t]) => valueSql(e.props?.[n], t)),
      ].join(', '),
    );
    await store.execute(`INSERT INTO ${TABLES.events} (${cols.join(', ')}) VALUES (${rows.join('), (')})`);
  }
  const traits = Object.entries(plan.traits);
  const profiles = Object.entries(data.profiles ?? {});
  if (profiles.length > 0) {
    const cols = ['user_id', 'updated_at', ...traits.map(([n]) => d.quoteIdentifier(traitColumn(n)))];
    const rows = profiles.map(([user, values]) =>
      [d.stringLiteral(user), d.timestampLiteral(0), ...traits.map(([n, spec]) => valueSql(values[n], spec.type))].join(', '),
    );
    await store.execute(`INSERT INTO ${TABLES.profiles} (${cols.join(', ')}) VALUES (${rows.join('), (')})`);
  }
  const first = new Map<string, number>();
  for (const e of events) first.set(e.user, Math.min(first.get(e.user) ?? Infinity, e.at));
  const users = new Set([...first.keys(), ...profiles.map(([u]) => u)]);
  if (users.size > 0) {
    const rows = [...users].map((u) => {
      const at = first.get(u);
      return `${d.stringLiteral(u)}, ${at === undefined ? 'NULL' : d.timestampLiteral(at)}, ${d.booleanLiteral(data.profiles?.[u] !== undefined)}`;
    });
    await store.execute(`INSERT INTO ${TABLES.users} (user_id, first_event_at, has_profile) VALUES (${rows.join('), (')})`);
  }
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
