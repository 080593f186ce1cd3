/**
 * The store's live catalogue: every table and its columns as the engine reports them
 * (DuckDB's information_schema, ClickHouse's system.columns), not as the code believes
 * them to be. Erasure and export walk the user-keyed tables of USER_KEYED_TABLES; they also
 * walk any live table with a user_id column that the list lacks, so a table added by a
 * later migration is still erased and exported (and the catalogue test fails until the list
 * names it).
 *
 * On a ClickHouse cluster a user-keyed table exists as `<name>_local` on every shard and a
 * Distributed `<name>` over them: both are reported under the plain name. Ingest scratch
 * tables (DuckDB temp tables, ClickHouse staging tables) are left out: they hold no stored
 * rows.
 */
import type { FieldType } from '../../schema/tracking-plan.js';
import { LOCAL_SUFFIX } from '../../segments/compile/clickhouse-dialect.js';
import { STAGING_PREFIX } from '../../store/clickhouse/clickhouse-ingest.js';
import type { EventStore } from '../../store/event-store.js';
import { USER_KEYED_TABLES } from '../../store/schema.js';

export interface LiveColumn {
  readonly name: string;
  /** The engine's type name, as reported. */
  readonly type: string;
}

/** Every stored table by name (cluster: plain names), with its columns. */
export async function liveTables(store: EventStore): Promise<Map<string, LiveColumn[]>> {
  const rows =
    store.engine === 'clickhouse'
      ? await store.query(`SELECT table AS t, name AS c, type AS ty FROM system.columns WHERE database = currentDatabase()`)
      : await store.query(
          `SELECT table_name AS t, column_name AS c, data_type AS ty FROM information_schema.columns
           WHERE table_catalog = current_database() AND table_schema = 'main' ORDER BY table_name, ordinal_position`,
        );
  const out = new Map<string, LiveColumn[]>();
  const seen = new Set<string>();
  for (const r of rows) {
    const physical = String(r.t);
    if (physical.startsWith(STAGING_PREFIX)) continue;
    const table = physical.endsWith(LOCAL_SUFFIX) ? physical.slice(0, -LOCAL_SUFFIX.length) : physical;
    const column = String(r.c);
    // A cluster reports each column twice (local and Distributed): keep one.
    if (seen.has(`${table}\u0000${column}`)) continue;
    seen.add(`${table}\u0000${column}`);
    const list = out.get(table) ?? [];
    list.push({ name: column, type: String(r.ty) });
    out.set(table, list);
  }
  return out;
}

/** The live tables with a user_id column (sorted). */
export async function liveUserKeyedTables(store: EventStore): Promise<string[]> {
  const tables = await liveTables(store);
  return [...tables].filter(([, cols]) => cols.some((c) => c.name === 'user_id')).map(([t]) => t).sort();
}

/**
 * The tables erasure and export walk: USER_KEYED_TABLES in their order, then any live
 * table with a user_id column the list lacks (`unlisted`).
 */
export async function erasureTables(store: EventStore): Promise<{ tables: { table: string; userColumn: string }[]; unlisted: string[] }> {
  const live = await liveUserKeyedTables(store);
  const listed = new Set(USER_KEYED_TABLES.map((t) => t.table));
  const unlisted = live.filter((t) => !listed.has(t));
  return { tables: [...USER_KEYED_TABLES.map((t) => ({ ...t })), ...unlisted.map((table) => ({ table, userColumn: 'user_id' }))], unlisted };
}

/**
 * The field type a stored column holds, from its engine type (the mapping of schema.ts's
 * DUCKDB_TYPES and ClickHouse's CLICKHOUSE_TYPES), so values are read back the way they were
 * written even for a property the plan no longer declares; null for anything else.
 */
export function fieldTypeOf(engine: string, type: string): FieldType | null {
  const t = type.toUpperCase();
  if (engine === 'clickhouse') {
    const inner = t.replace(/^NULLABLE\((.*)\)$/, '$1');
    if (inner === 'STRING') return 'string';
    if (inner === 'FLOAT64') return 'number';
    if (inner === 'UINT8') return 'boolean';
    if (inner === 'INT64') return 'timestamp';
    return null;
  }
  if (t === 'VARCHAR') return 'string';
  if (t === 'DOUBLE') return 'number';
  if (t === 'BOOLEAN') return 'boolean';
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  return null;
}
