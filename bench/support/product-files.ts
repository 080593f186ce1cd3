/**
 * The generated product written out as the files a team would export, by DuckDB's COPY:
 * - events JSONL: one `{user_id, event, timestamp, properties, event_id}` per line, the
 *   properties object holding only the event's own properties (as the demo writes them);
 * - events CSV: user_id, event, timestamp, event_id, then one column per property, empty
 *   where the event does not have it;
 * - events Parquet: the CSV's columns, typed (timestamp a TIMESTAMP);
 * - profiles in the same formats: user_id and one column (JSONL: key) per trait.
 * Timestamps in text formats are ISO-8601 UTC with milliseconds (`2024-07-05T20:10:43.793Z`).
 */
import { rmSync } from 'node:fs';
import { demoPlan } from '../../src/demo/demo-plan.js';
import { propertyTypes, type TrackingPlan } from '../../src/schema/tracking-plan.js';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import { propertyColumn, traitColumn } from '../../src/store/schema.js';
import { checkPlanFits, generateUsers, productEventsQuery, productProfilesSelect, type ProductShape } from './product-data.js';

export type FileFormat = 'jsonl' | 'csv' | 'parquet';

export interface ProductFiles {
  readonly events: Partial<Record<FileFormat, string>>;
  readonly profiles: Partial<Record<FileFormat, string>>;
  readonly eventRows: number;
  readonly profileRows: number;
}

const ISO_MS = `'%Y-%m-%dT%H:%M:%S.%gZ'`;

function literal(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

function ident(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

function eventsJsonSelect(plan: TrackingPlan, source: string): string {
  const arms = Object.entries(plan.events).map(([event, spec]) => {
    const props = Object.keys(spec.properties);
    const obj = props.length === 0 ? `'{}'::JSON` : `json_object(${props.map((p) => `${literal(p)}, ${ident(propertyColumn(p))}`).join(', ')})`;
    return `WHEN ${literal(event)} THEN ${obj}`;
  });
  return `SELECT user_id, event, strftime(ts, ${ISO_MS}) AS timestamp, CASE event ${arms.join(' ')} ELSE '{}'::JSON END AS properties, event_id FROM (${source})`;
}

function eventsTableSelect(plan: TrackingPlan, source: string, textTime: boolean): string {
  const props = [...propertyTypes(plan).keys()].map((p) => `${ident(propertyColumn(p))} AS ${ident(p)}`);
  return `SELECT user_id, event, ${textTime ? `strftime(ts, ${ISO_MS})` : 'ts'} AS timestamp, event_id, ${props.join(', ')} FROM (${source})`;
}

function profilesSelect(plan: TrackingPlan, source: string, textTime: boolean): string {
  const traits = Object.entries(plan.traits).map(([t, spec]) => {
    const col = ident(traitColumn(t));
    return `${spec.type === 'timestamp' && textTime ? `strftime(${col}, ${ISO_MS})` : col} AS ${ident(t)}`;
  });
  return `SELECT user_id, ${traits.join(', ')} FROM (${source})`;
}

const COPY_OPTIONS: Readonly<Record<FileFormat, string>> = {
  jsonl: 'FORMAT JSON',
  csv: 'FORMAT CSV, HEADER',
  parquet: 'FORMAT PARQUET, COMPRESSION ZSTD',
};

/**
 * Generate the product for `shape` in a scratch DuckDB and write the requested formats to
 * `<dir>/events.<ext>` and `<dir>/profiles.<ext>`. Events are written in time order.
 */
export async function writeProductFiles(
  dir: string,
  shape: ProductShape,
  formats: readonly FileFormat[],
  options: { threads?: number; memoryLimit?: string; profiles?: boolean } = {},
): Promise<ProductFiles> {
  const plan = demoPlan();
  checkPlanFits(plan);
  const scratch = await DuckDbStore.open({
    path: `${dir}/scratch.duckdb`,
    ...(options.threads ? { threads: options.threads } : {}),
    ...(options.memoryLimit ? { memoryLimit: options.memoryLimit } : {}),
  });
  try {
    await scratch.applyPlan(plan);
    await generateUsers(scratch, shape);
    // Materialized once, sorted by time, so every format holds the same rows in the same order.
    await scratch.execute(`CREATE TABLE gen_events AS SELECT * FROM (${await productEventsQuery(scratch, shape)}) ORDER BY ts`);
    await scratch.execute(`CREATE TABLE gen_profiles AS ${productProfilesSelect(shape)}`);
    const events: Partial<Record<FileFormat, string>> = {};
    const profiles: Partial<Record<FileFormat, string>> = {};
    for (const format of formats) {
      const eventsFile = `${dir}/events.${format}`;
      const select = format === 'jsonl' ? eventsJsonSelect(plan, 'SELECT * FROM gen_events') : eventsTableSelect(plan, 'SELECT * FROM gen_events', format === 'csv');
      await scratch.execute(`COPY (${select}) TO ${literal(eventsFile)} (${COPY_OPTIONS[format]})`);
      events[format] = eventsFile;
      if (options.profiles !== false) {
        const profilesFile = `${dir}/profiles.${format}`;
        await scratch.execute(`COPY (${profilesSelect(plan, 'SELECT * FROM gen_profiles', format !== 'parquet')}) TO ${literal(profilesFile)} (${COPY_OPTIONS[format]})`);
        profiles[format] = profilesFile;
      }
    }
    const [c] = await scratch.query(`SELECT (SELECT count(*) FROM gen_events) AS e, (SELECT count(*) FROM gen_profiles) AS p`);
    return { events, profiles, eventRows: Number(c!.e), profileRows: Number(c!.p) };
  } finally {
    await scratch.close();
    rmSync(`${dir}/scratch.duckdb`, { force: true });
    rmSync(`${dir}/scratch.duckdb.wal`, { force: true });
  }
}
