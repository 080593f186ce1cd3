/**
 * ClickHouse cluster against a single ClickHouse node on the same data: the demo segments
 * on the generated product (10M events for 1M users by default).
 *
 * The product is generated once in a scratch DuckDB (support/product-data.ts), exported to
 * CSV with timestamps as epoch ms, and loaded into a single node and into a two-shard
 * cluster (rows sent through the Distributed tables, which place each user on one shard).
 * Servers are real, started from the machine's ClickHouse binary on loopback ports
 * (test/support/clickhouse-server.ts); on this machine all of them share its cores.
 *
 * Per demo segment: the compiled member query counted (`SELECT count() FROM (...)`), on the
 * single node once, and on the cluster on every shard at once (`queryByUser`), the counts
 * summed. Then the whole batch. The DuckDB time of the same query on the same data is
 * printed beside them for context. Before timing, every engine must report the same
 * members (count and the sum of a hash of user ids).
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { demoPlan } from '../src/demo/demo-plan.js';
import { propertyTypes } from '../src/schema/tracking-plan.js';
import { compileSegmentBatch, compileSegmentMembers } from '../src/segments/compile/index.js';
import type { SqlDialect } from '../src/segments/compile/dialect.js';
import { ClickHouseStore } from '../src/store/clickhouse/clickhouse-store.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { propertyColumn, TABLES, traitColumn } from '../src/store/schema.js';
import { startClickHouse, type LocalClickHouse } from '../test/support/clickhouse-server.js';
import { loadDemoSegments } from './support/demo-segments.js';
import { interleave, timed, type Timing } from './support/measure.js';
import { DEFAULT_END_MS, generateProductStore } from './support/product-data.js';
import { printTable, ratio, seconds } from './support/report.js';
import { formatCount } from './support/scale.js';
import { createWorkDir } from './support/workdir.js';

export interface ClickHouseBenchOptions {
  readonly events: number;
  readonly users: number;
  readonly repetitions: number;
  readonly dir?: string;
  readonly keep: boolean;
}

export interface ClickHouseFigure {
  readonly key: string;
  readonly members: number;
  readonly agree: boolean;
  readonly single: Timing;
  readonly cluster: Timing;
  /** cluster median / single median. */
  readonly ratio: number;
  /** DuckDB on the same data, same query, for context (median). */
  readonly duckdbSeconds: number;
}

export interface ClickHouseBenchResult {
  readonly events: number;
  readonly users: number;
  readonly shards: number;
  readonly serverVersion: string;
  readonly loadSeconds: { readonly single: number; readonly cluster: number };
  readonly segments: readonly ClickHouseFigure[];
  readonly batch: ClickHouseFigure;
}

/** Member count and a hash sum of their ids, so engines can be checked to agree. */
interface Fingerprint {
  readonly n: number;
  readonly h: bigint;
}

type Contender = (build: (d: SqlDialect) => string) => Promise<Fingerprint>;

export async function runClickHouseBench(options: ClickHouseBenchOptions): Promise<ClickHouseBenchResult> {
  const plan = demoPlan();
  const segments = loadDemoSegments(plan);
  const work = createWorkDir(options.dir, `clickhouse-${formatCount(options.events)}`);
  const servers: LocalClickHouse[] = [];
  const duck = await DuckDbStore.open({ path: work.file('store.duckdb') });
  try {
    await duck.applyPlan(plan);
    const shape = { users: options.users, events: options.events, days: 180, endMs: DEFAULT_END_MS };
    process.stdout.write(`\nclickhouse: generating ${formatCount(options.events)} events for ${formatCount(options.users)} users in ${work.path} ...\n`);
    const generated = await generateProductStore(duck, plan, shape);
    const files = await exportCsv(duck, plan, work.path);

    process.stdout.write('  starting a single node and a two-shard cluster ...\n');
    servers.push(await startClickHouse({ shards: 1 }), await startClickHouse({ shards: 2 }));
    const [one, two] = servers as [LocalClickHouse, LocalClickHouse];
    const single = await ClickHouseStore.open({ url: one.urls[0]!, database: 'bench' });
    const cluster = await ClickHouseStore.open({ url: two.urls[0]!, database: 'bench', cluster: { name: two.cluster!, shards: two.urls } });
    try {
      for (const s of [single, cluster]) await s.applyPlan(plan);
      const loadSingle = await timed(() => loadCsv(single, files));
      const loadCluster = await timed(() => loadCsv(cluster, files));
      process.stdout.write(`  loaded in ${seconds(loadSingle.seconds)} s (single), ${seconds(loadCluster.seconds)} s (cluster)\n`);
      const version = String((await single.query('SELECT version() AS v'))[0]!.v);

      const chFingerprint = (store: ClickHouseStore): Contender => async (build) => {
        const rows = await store.queryByUser((d) => `SELECT count() AS n, toString(sum(cityHash64(user_id) % 1000000007)) AS h FROM (${build(d)})`);
        return { n: rows.reduce((a, r) => a + Number(r.n), 0), h: rows.reduce((a, r) => a + BigInt(String(r.h)), 0n) };
      };
      // DuckDB has no cityHash64: its fingerprint is the count alone, checked against ClickHouse's.
      const duckCount: Contender = async (build) => ({ n: Number((await duck.query(`SELECT count(*) AS n FROM (${build(duck.dialect)})`))[0]!.n), h: -1n });
      const asOfMs = shape.endMs;
      const measure = async (key: string, build: (d: SqlDialect) => string): Promise<ClickHouseFigure> => {
        const a = await chFingerprint(single)(build);
        const b = await chFingerprint(cluster)(build);
        const c = await duckCount(build);
        const agree = a.n === b.n && a.h === b.h && c.n === a.n;
        if (!agree) process.stdout.write(`  MISMATCH ${key}: single ${a.n}/${a.h}, cluster ${b.n}/${b.h}, duckdb ${c.n}\n`);
        const t = await interleave(options.repetitions, {
          single: async () => (await timed(() => chFingerprint(single)(build))).seconds,
          cluster: async () => (await timed(() => chFingerprint(cluster)(build))).seconds,
          duckdb: async () => (await timed(() => duckCount(build))).seconds,
        });
        const figure = { key, members: a.n, agree, single: t.single, cluster: t.cluster, ratio: t.cluster.median / t.single.median, duckdbSeconds: t.duckdb.median };
        process.stdout.write(`  ${key}: ${a.n} members, single ${seconds(t.single.median)} s, cluster ${seconds(t.cluster.median)} s, ratio ${ratio(figure.ratio)}, duckdb ${seconds(t.duckdb.median)} s\n`);
        return figure;
      };
      const figures: ClickHouseFigure[] = [];
      for (const s of segments) figures.push(await measure(s.key, (d) => compileSegmentMembers(s.ir, { dialect: d, asOfMs })));
      const batch = await measure('(batch: population rows)', (d) => compileSegmentBatch(segments.map((s) => s.ir), { dialect: d, asOfMs }).sql);
      const result: ClickHouseBenchResult = {
        events: generated.events,
        users: generated.users,
        shards: 2,
        serverVersion: version,
        loadSeconds: { single: loadSingle.seconds, cluster: loadCluster.seconds },
        segments: figures,
        batch,
      };
      printTable(
        `ClickHouse ${version}: two-shard cluster against one node, ${formatCount(generated.events)} events, ${formatCount(generated.users)} users (median of ${options.repetitions}; one machine, 2 cores shared by all servers)`,
        ['segment', 'members', 'single s', 'cluster s', 'cluster/single', 'duckdb s', 'agree'],
        [...figures, batch].map((f) => [f.key, f.members, seconds(f.single.median), seconds(f.cluster.median), ratio(f.ratio), seconds(f.duckdbSeconds), f.agree ? 'yes' : 'NO']),
      );
      return result;
    } finally {
      await single.close();
      await cluster.close();
    }
  } finally {
    await duck.close();
    for (const s of servers) await s.stop();
    if (!options.keep) work.remove();
  }
}

interface CsvFiles {
  readonly events: { readonly path: string; readonly columns: readonly string[] };
  readonly users: { readonly path: string; readonly columns: readonly string[] };
  readonly profiles: { readonly path: string; readonly columns: readonly string[] };
}

/** The store's three user tables as CSV in ClickHouse's physical form: epoch-ms times, 0/1 booleans, \N for NULL. */
async function exportCsv(duck: DuckDbStore, plan: ReturnType<typeof demoPlan>, dir: string): Promise<CsvFiles> {
  const q = (c: string) => duck.dialect.quoteIdentifier(c);
  const asCh = (col: string, type: string) => (type === 'timestamp' ? `epoch_ms(${q(col)})` : type === 'boolean' ? `CAST(${q(col)} AS INTEGER)` : q(col));
  const props = [...propertyTypes(plan)].map(([name, type]) => ({ col: propertyColumn(name), type }));
  const traits = Object.entries(plan.traits).map(([name, spec]) => ({ col: traitColumn(name), type: spec.type }));
  const copy = async (table: string, select: string[], columns: string[]) => {
    const path = join(dir, `${table}.csv`);
    await duck.execute(`COPY (SELECT ${select.join(', ')} FROM ${table}) TO '${path}' (FORMAT CSV, HEADER false, NULLSTR '\\N')`);
    return { path, columns };
  };
  return {
    events: await copy(
      TABLES.events,
      ['event_id', 'user_id', 'event', 'epoch_ms(ts)', 'epoch_ms(ingested_at)', ...props.map((p) => asCh(p.col, p.type))],
      ['event_id', 'user_id', 'event', 'ts', 'ingested_at', ...props.map((p) => p.col)],
    ),
    users: await copy(TABLES.users, ['user_id', 'epoch_ms(first_event_at)', 'CAST(has_profile AS INTEGER)', '1'], ['user_id', 'first_event_at', 'has_profile', 'version']),
    profiles: await copy(
      TABLES.profiles,
      ['user_id', 'epoch_ms(updated_at)', '1', ...traits.map((t) => asCh(t.col, t.type))],
      ['user_id', 'updated_at', 'version', ...traits.map((t) => t.col)],
    ),
  };
}

/** Stream the CSV files into the store's tables (in a cluster, through the Distributed tables). */
async function loadCsv(store: ClickHouseStore, files: CsvFiles): Promise<void> {
  for (const [table, file] of [
    [TABLES.events, files.events],
    [TABLES.users, files.users],
    [TABLES.profiles, files.profiles],
  ] as const) {
    await store.client.insert({ table, values: createReadStream(file.path), format: 'CSV', columns: [...file.columns] as [string, ...string[]] });
  }
}
