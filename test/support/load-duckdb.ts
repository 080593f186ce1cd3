/**
 * Writes a dataset straight into the store's tables (src/store/schema.ts) for the engine
 * tests, bypassing ingest so that what the SQL sees is exactly what the in-memory evaluator
 * sees: events with typed property columns and ms-precision ts, the users population index
 * (first_event_at = the earliest event, has_profile), and profiles with typed trait columns.
 * Any store: every literal comes from its dialect (DuckDB, ClickHouse single node or
 * cluster, where rows go through the Distributed tables to their shards).
 */
import type { ClickHouseStore } from '../../src/store/clickhouse/clickhouse-store.js';
import { propertyColumn, TABLES, traitColumn } from '../../src/store/schema.js';
import type { EventStore } from '../../src/store/event-store.js';
import type { MemoryDataset, MemoryValue } from '../../src/segments/evaluate/index.js';
import { propertyTypes, type FieldType, type TrackingPlan } from '../../src/schema/tracking-plan.js';
import { saveModelVersion, writeScoreRun, type ModelKind } from '../../src/models/registry/model-store.js';

const ROWS_PER_INSERT = 500;

/** The terse shape unit tests write their rows in: epoch-ms times, values by name (null = absent). */
export type SeedValue = MemoryValue | null;
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

const present = (values: Readonly<Record<string, SeedValue>> | undefined): Record<string, MemoryValue> =>
  Object.fromEntries(Object.entries(values ?? {}).filter((e): e is [string, MemoryValue] => e[1] !== null));

/** Seed rows as the dataset both engines read. */
export function seedDataset(data: SeedData): MemoryDataset {
  return {
    events: (data.events ?? []).map((e) => ({ userId: e.user, event: e.event, ts: e.at, properties: present(e.props) })),
    profiles: new Map(Object.entries(data.profiles ?? {}).map(([user, traits]) => [user, present(traits)])),
  };
}

const own = (record: Readonly<Record<string, MemoryValue>>, name: string): MemoryValue | undefined => (Object.hasOwn(record, name) ? record[name] : undefined);

/** Only what loading needs, so any store (or one mid-way through growing its interface) will do. */
type WritableStore = Pick<EventStore, 'dialect' | 'execute' | 'engine'> & Partial<Pick<ClickHouseStore, 'clustered' | 'runStatements'>>;

const USER_DATA_TABLES = [TABLES.events, TABLES.users, TABLES.profiles, TABLES.modelScores] as const;
/** Stored models and their runs: metadata, on the initiator of a cluster. */
const MODEL_TABLES = [TABLES.modelVersions, TABLES.scoreRuns] as const;

/**
 * Empty the user-data tables (and the stored models and scoring runs, so run ids start at
 * 1 again) so a store can be reused between datasets. ClickHouse truncates (a DELETE there
 * is an asynchronous mutation); a cluster truncates each shard's local tables, since a
 * Distributed table holds no rows of its own.
 */
export async function clearStore(store: WritableStore): Promise<void> {
  if (store.engine === 'clickhouse') {
    const { runStatements } = store;
    if (store.clustered && runStatements) await Promise.all(USER_DATA_TABLES.map((t) => runStatements.call(store, [{ on: 'shards', sql: `TRUNCATE TABLE ${t}_local` }])));
    else await Promise.all(USER_DATA_TABLES.map((t) => store.execute(`TRUNCATE TABLE ${t}`)));
    await Promise.all(MODEL_TABLES.map((t) => store.execute(`TRUNCATE TABLE ${t}`)));
    return;
  }
  for (const table of [...USER_DATA_TABLES, ...MODEL_TABLES]) await store.execute(`DELETE FROM ${table}`);
}

/**
 * Store a dataset's scoring runs as the model layer does: one model version per model
 * (`saveModelVersion`, the catalogue validation reads; kind from `kinds`, else personas for
 * a run of persona ids and churn otherwise), then each run in order (`writeScoreRun`, run
 * ids 1, 2, ... in an emptied store, as the in-memory dataset numbers them).
 */
export async function writeScoreRuns(store: EventStore, data: MemoryDataset, kinds: ReadonlyMap<string, ModelKind> = new Map()): Promise<void> {
  const runs = data.scoreRuns ?? [];
  const saved = new Map<string, number>();
  for (const run of runs) {
    if (saved.has(run.model)) continue;
    const persona = [...run.rows.values()].some((v) => v.cluster !== null);
    const kind = kinds.get(run.model) ?? (persona ? 'personas' : 'churn');
    saved.set(run.model, (await saveModelVersion(store, { key: run.model, kind, createdAtMs: 0, body: {} })).version);
  }
  for (const run of runs) {
    const users = [...run.rows.keys()];
    const persona = kinds.get(run.model) === 'personas' || [...run.rows.values()].some((v) => v.cluster !== null);
    const written = await writeScoreRun(store, {
      modelKey: run.model,
      modelVersion: saved.get(run.model)!,
      asOfMs: run.asOfMs,
      createdAtMs: run.asOfMs,
      userIds: users,
      ...(persona ? { clusters: Int32Array.from(users.map((u) => run.rows.get(u)!.cluster ?? 0)) } : { scores: Float64Array.from(users.map((u) => run.rows.get(u)!.score ?? 0)) }),
    });
    if (written.runId !== run.runId) throw new Error(`scoring run of ${run.model}: the store numbered it ${written.runId}, the dataset ${run.runId}; load runs into an emptied store in run id order`);
  }
}

export async function loadIntoStore(store: WritableStore, plan: TrackingPlan, data: MemoryDataset): Promise<void> {
  const d = store.dialect;
  const literal = (value: MemoryValue | undefined, type: FieldType): string => {
    if (value === undefined) return 'NULL';
    if (type === 'timestamp') return d.timestampLiteral(value as number);
    if (type === 'boolean') return d.booleanLiteral(value as boolean);
    if (type === 'number') return d.numberLiteral(value as number);
    return d.stringLiteral(value as string);
  };
  const statements: string[] = [];
  const insert = (table: string, columns: string[], rows: string[][]) => {
    const head = `INSERT INTO ${table} (${columns.map((c) => d.quoteIdentifier(c)).join(', ')}) VALUES `;
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      const chunk = rows.slice(i, i + ROWS_PER_INSERT).map((r) => `(${r.join(', ')})`);
      statements.push(head + chunk.join(', '));
    }
  };
  const now = d.timestampLiteral(0);

  const props = [...propertyTypes(plan)];
  insert(
    TABLES.events,
    ['event_id', 'user_id', 'event', 'ts', 'ingested_at', ...props.map(([name]) => propertyColumn(name))],
    data.events.map((e, i) => [
      d.stringLiteral(`e${i}`),
      d.stringLiteral(e.userId),
      d.stringLiteral(e.event),
      d.timestampLiteral(e.ts),
      now,
      ...props.map(([name, type]) => literal(own(e.properties, name), type)),
    ]),
  );

  const firstEvent = new Map<string, number>();
  for (const e of data.events) {
    const prior = firstEvent.get(e.userId);
    if (prior === undefined || e.ts < prior) firstEvent.set(e.userId, e.ts);
  }
  const userIds = new Set([...firstEvent.keys(), ...data.profiles.keys()]);
  insert(
    TABLES.users,
    ['user_id', 'first_event_at', 'has_profile'],
    [...userIds].map((u) => {
      const first = firstEvent.get(u);
      return [d.stringLiteral(u), first === undefined ? 'NULL' : d.timestampLiteral(first), d.booleanLiteral(data.profiles.has(u))];
    }),
  );

  const traits = Object.entries(plan.traits).map(([name, spec]) => [name, spec.type] as const);
  insert(
    TABLES.profiles,
    ['user_id', 'updated_at', ...traits.map(([name]) => traitColumn(name))],
    [...data.profiles].map(([u, values]) => [d.stringLiteral(u), now, ...traits.map(([name, type]) => literal(own(values, name), type))]),
  );
  // ClickHouse takes the inserts side by side (each is a round trip); DuckDB's one connection in turn.
  if (store.engine === 'clickhouse') await Promise.all(statements.map((sql) => store.execute(sql)));
  else for (const sql of statements) await store.execute(sql);
}

/** Replace a reused store's user data with `data`. */
export async function reloadStore(store: WritableStore, plan: TrackingPlan, data: MemoryDataset): Promise<void> {
  await clearStore(store);
  await loadIntoStore(store, plan, data);
}

/** The names the DuckDB-only tests import. */
export const clearDuckDb = clearStore;
export const loadIntoDuckDb = loadIntoStore;
