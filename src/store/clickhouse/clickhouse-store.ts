/**
 * The ClickHouse store, through @clickhouse/client over HTTP: a single node, or a cluster
 * of shards (src/store/clickhouse/migrations.ts describes the tables of both layouts).
 *
 * ClickHouse has no transactions. What the EventStore promises is kept another way:
 * - an ingest run is written to staging tables and attached to the real tables in one
 *   `ATTACH PARTITION ... FROM` per table (per shard), so readers never see half a run
 *   (clickhouse-ingest.ts);
 * - a snapshot's members are written before its row in `snapshots`, which is what every
 *   reader starts from, so an interrupted snapshot is invisible.
 * `transaction(fn)` therefore runs `fn` as is.
 *
 * Per-user queries (segment membership) go to every shard at once, each reading its local
 * tables (`queryByUser`): all of a user's rows are on one shard, so each shard's answer is
 * complete for its users, and the answers are concatenated.
 */
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { Readable } from 'node:stream';
import { StrataError } from '../../errors/errors.js';
import { propertyTypes, type TrackingPlan } from '../../schema/tracking-plan.js';
import { clickhouseDialect, clickhouseIdentifier, clickhouseString } from '../../segments/compile/clickhouse-dialect.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { DuckDbStore, checkAppendColumns } from '../duckdb/duckdb-store.js';
import type {
  AppendColumn,
  ByUserTarget,
  ColumnRows,
  EventStore,
  IngestSession,
  IngestSessionOptions,
  Row,
  SourceFile,
  SourceMapping,
  SourceProfile,
  SourceShape,
} from '../event-store.js';
import { rowsToColumns } from '../event-store.js';
import { TABLES, propertyColumn, traitColumn } from '../schema.js';
import { ClickHouseIngestSession, STAGING_PREFIX } from './clickhouse-ingest.js';
import { CLICKHOUSE_MIGRATIONS, CLICKHOUSE_TYPES, SHARDED_TABLES, type ClickHouseLayout, type ClickHouseStatement } from './migrations.js';

export { CLICKHOUSE_TYPES };

export interface ClickHouseStoreOptions {
  /** HTTP URL of the node queries go to (in a cluster: one of its shards). */
  readonly url: string;
  readonly database: string;
  /** Cluster mode: the cluster's name in `remote_servers` and the HTTP URL of each shard, in shard order. */
  readonly cluster?: { readonly name: string; readonly shards: readonly string[] } | null;
  readonly username?: string;
  readonly password?: string;
}

/** Settings every query runs with: SQL NULLs for unmatched join rows, plain JSON numbers. */
const SETTINGS: ClickHouseSettings = {
  join_use_nulls: 1,
  output_format_json_quote_64bit_integers: 0,
  insert_distributed_sync: 1,
  // Long queries keep the HTTP connection alive with progress headers (both settings exist since 18.x).
  send_progress_in_http_headers: 1,
  http_headers_progress_interval_ms: '10000',
};

const MAX_RESPONSE_WAIT_MS = 600_000;
/** How long a DELETE mutation may take before the store gives up waiting for it. */
const MUTATION_WAIT_MS = 600_000;

export class ClickHouseStore implements EventStore {
  readonly engine = 'clickhouse';
  readonly dialect: SqlDialect;
  /** The dialect of a query run on one shard, naming its local tables (= `dialect` on a single node). */
  readonly shardDialect: SqlDialect;
  readonly layout: ClickHouseLayout;
  /** An in-memory DuckDB that reads source files for describeSource/profileSource, opened on first use. */
  private reader: Promise<DuckDbStore> | null = null;

  private constructor(
    readonly options: ClickHouseStoreOptions,
    /** The node queries go to. */
    readonly client: ClickHouseClient,
    /** One client per shard (cluster mode); the initiator's alone on a single node. */
    readonly shardClients: readonly ClickHouseClient[],
  ) {
    const cluster = options.cluster ?? null;
    this.dialect = clickhouseDialect();
    this.shardDialect = cluster === null ? this.dialect : clickhouseDialect({ tables: 'local', sharded: SHARDED_TABLES });
    this.layout = { database: options.database, cluster: cluster?.name ?? null, q: clickhouseIdentifier, lit: clickhouseString };
  }

  get clustered(): boolean {
    return this.layout.cluster !== null;
  }

  /** Every node once: the initiator, then the shards at other URLs (the initiator is one of the shards). */
  get nodes(): readonly ClickHouseClient[] {
    if (!this.clustered) return [this.client];
    return [this.client, ...this.shardClients.filter((_, i) => this.options.cluster!.shards[i] !== this.options.url)];
  }

  static async open(options: ClickHouseStoreOptions): Promise<ClickHouseStore> {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.database)) {
      throw new StrataError('CONFIG_INVALID', `store.database: expected a plain name (letters, digits, _), got ${JSON.stringify(options.database)}`);
    }
    const make = (url: string, database?: string) =>
      createClient({
        url,
        ...(database ? { database } : {}),
        ...(options.username ? { username: options.username } : {}),
        ...(options.password ? { password: options.password } : {}),
        request_timeout: MAX_RESPONSE_WAIT_MS,
        clickhouse_settings: SETTINGS,
        // Failures reach the caller as StrataErrors; the client's own console log would repeat them.
        log: { level: ClickHouseLogLevel.OFF },
      });
    const shardUrls = options.cluster ? options.cluster.shards : [options.url];
    if (options.cluster && options.cluster.shards.length === 0) throw new StrataError('CONFIG_INVALID', 'store.cluster.shards: expected at least one shard URL');
    // The database must exist before a client can name it as its default.
    for (const url of new Set([options.url, ...shardUrls])) {
      const bare = make(url);
      try {
        await bare.command({ query: `CREATE DATABASE IF NOT EXISTS ${clickhouseIdentifier(options.database)}` });
      } catch (e) {
        throw new StrataError('STORE_ERROR', `cannot reach ClickHouse at ${url}: ${(e as Error).message}`, [], { cause: e });
      } finally {
        await bare.close();
      }
    }
    const client = make(options.url, options.database);
    const shards = options.cluster ? shardUrls.map((u) => make(u, options.database)) : [client];
    const store = new ClickHouseStore(options, client, shards);
    try {
      await store.migrate();
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  /** Run DDL where it belongs: on the initiator, or on every shard. */
  async runStatements(statements: readonly ClickHouseStatement[]): Promise<void> {
    for (const s of statements) {
      const targets = s.on === 'initiator' ? [this.client] : this.shardClients;
      for (const c of targets) await this.command(c, s.sql);
    }
  }

  async migrate(): Promise<void> {
    await this.command(this.client, `CREATE TABLE IF NOT EXISTS ${TABLES.migrations} (version UInt32, name String, applied_at Int64) ENGINE = MergeTree ORDER BY version`);
    const rows = await this.query(`SELECT max(version) AS v, count() AS n FROM ${TABLES.migrations}`);
    const current = Number(rows[0]?.n ?? 0) === 0 ? 0 : Number(rows[0]?.v ?? 0);
    for (const m of CLICKHOUSE_MIGRATIONS) {
      if (m.version <= current) continue;
      try {
        // Every statement is idempotent (IF NOT EXISTS), so a migration cut short reruns cleanly.
        await this.runStatements(m.statements(this.layout));
        await this.execute(
          `INSERT INTO ${TABLES.migrations} (version, name, applied_at) VALUES (${m.version}, ${clickhouseString(m.name)}, ${this.dialect.timestampLiteral(Date.now())})`,
        );
      } catch (e) {
        throw new StrataError('MIGRATION_ERROR', `migration ${m.version} (${m.name}) failed: ${(e as Error).message}`, [], { cause: e });
      }
    }
    if (this.clustered) await this.bringUpNewShards();
  }

  /**
   * A shard added to the cluster after the migrations ran has none of the local tables:
   * replay every migration's shard statements on it, in order (applyPlan then adds the
   * plan's columns, since it checks each shard).
   */
  private async bringUpNewShards(): Promise<void> {
    const expected = [...SHARDED_TABLES].map((t) => `${t}_local`);
    for (const [i, c] of this.shardClients.entries()) {
      const have = await this.tablesOn(c);
      if (expected.every((t) => have.has(t))) continue;
      try {
        for (const m of CLICKHOUSE_MIGRATIONS) {
          for (const s of m.statements(this.layout)) if (s.on === 'shards') await this.command(c, s.sql);
        }
      } catch (e) {
        throw new StrataError('MIGRATION_ERROR', `creating the tables of shard ${i + 1} (${this.options.cluster!.shards[i]}) failed: ${(e as Error).message}`, [], {
          cause: e,
        });
      }
    }
  }

  /** The tables of the store's database on a node. */
  async tablesOn(client: ClickHouseClient): Promise<Set<string>> {
    const rows = await this.queryOn(client, `SELECT name FROM system.tables WHERE database = ${clickhouseString(this.options.database)}`);
    return new Set(rows.map((r) => String(r.name)));
  }

  /** The columns a table has on a node. */
  async columnsOf(client: ClickHouseClient, table: string): Promise<Set<string>> {
    const rows = await this.queryOn(
      client,
      `SELECT name FROM system.columns WHERE database = ${clickhouseString(this.options.database)} AND table = ${clickhouseString(table)}`,
    );
    return new Set(rows.map((r) => String(r.name)));
  }

  async applyPlan(plan: TrackingPlan): Promise<void> {
    const wanted: { table: string; column: string; type: string }[] = [
      ...[...propertyTypes(plan)].map(([name, type]) => ({ table: TABLES.events, column: propertyColumn(name), type: CLICKHOUSE_TYPES[type] })),
      ...Object.entries(plan.traits).map(([name, spec]) => ({ table: TABLES.profiles, column: traitColumn(name), type: CLICKHOUSE_TYPES[spec.type] })),
    ];
    for (const table of [TABLES.events, TABLES.profiles]) {
      const want = wanted.filter((w) => w.table === table);
      if (want.length === 0) continue;
      // A cluster's tables may have been altered on some shards only (an interrupted run): check each.
      const targets = this.clustered ? this.shardClients.flatMap((c) => [{ c, t: `${table}_local` }, { c, t: table }]) : [{ c: this.client, t: table }];
      for (const { c, t } of targets) {
        const have = await this.columnsOf(c, t);
        for (const w of want) if (!have.has(w.column)) await this.command(c, `ALTER TABLE ${t} ADD COLUMN ${clickhouseIdentifier(w.column)} ${w.type}`);
      }
    }
  }

  async query(sql: string): Promise<Row[]> {
    return this.queryOn(this.client, sql);
  }

  async execute(sql: string): Promise<void> {
    await this.command(this.client, sql);
  }

  /** How many parts a per-user query runs on: the shards. */
  get parts(): number {
    return this.shardClients.length;
  }

  /**
   * A per-user query, built for the dialect of where it runs: on a single node once; on a
   * cluster on every shard at once against its local tables, the rows concatenated.
   */
  async queryByUser(build: (dialect: SqlDialect, target: ByUserTarget) => string): Promise<Row[]> {
    if (!this.clustered) return this.query(build(this.dialect, { parts: 1 }));
    const sql = build(this.shardDialect, { parts: this.parts });
    const parts = await Promise.all(this.shardClients.map((c) => this.queryOn(c, sql)));
    return parts.flat();
  }

  /** A per-user statement (INSERT ... SELECT), run where each user's rows are. */
  /** Rows transposed: the HTTP client reads JSON rows either way. */
  async queryColumnsByUser(build: (dialect: SqlDialect, target: ByUserTarget) => string): Promise<ColumnRows> {
    return rowsToColumns(await this.queryByUser(build));
  }

  async executeByUser(build: (dialect: SqlDialect, target: ByUserTarget) => string): Promise<void> {
    if (!this.clustered) return this.execute(build(this.dialect, { parts: 1 }));
    const sql = build(this.shardDialect, { parts: this.parts });
    await Promise.all(this.shardClients.map((c) => this.command(c, sql)));
  }

  /**
   * DELETE is a mutation in ClickHouse (`ALTER TABLE ... DELETE`), asynchronous in 18.16
   * (no mutations_sync): issue it where the rows are (each shard's local table for a
   * sharded table) and wait until system.mutations says it is done.
   */
  async deleteWhere(table: string, where: string): Promise<void> {
    const targets = this.clustered && SHARDED_TABLES.has(table) ? this.shardClients.map((c) => ({ c, t: `${table}_local` })) : [{ c: this.client, t: table }];
    await Promise.all(
      targets.map(async ({ c, t }) => {
        await this.command(c, `ALTER TABLE ${t} DELETE WHERE ${where}`);
        await this.waitForMutations(c, t);
      }),
    );
  }

  private async waitForMutations(client: ClickHouseClient, table: string): Promise<void> {
    const until = Date.now() + MUTATION_WAIT_MS;
    let pause = 10;
    for (;;) {
      const [r] = await this.queryOn(
        client,
        `SELECT count() AS n FROM system.mutations WHERE database = ${clickhouseString(this.options.database)} AND table = ${clickhouseString(table)} AND is_done = 0`,
      );
      if (Number(r?.n ?? 0) === 0) return;
      if (Date.now() > until) throw new StrataError('STORE_ERROR', `a DELETE on ${table} did not finish within ${MUTATION_WAIT_MS / 1000} s (see system.mutations)`);
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(200, pause * 2);
    }
  }

  /**
   * ClickHouse has no sequences: the next ids follow the largest stored one. Ids are
   * allocated before a recomputed snapshot's old rows are deleted, so an id is never reused.
   * Two processes computing snapshots at the same instant could pick the same ids: one
   * writer at a time, as for ingest.
   */
  async nextSnapshotIds(count: number): Promise<number[]> {
    if (count <= 0) return [];
    const [r] = await this.query(`SELECT max(snapshot_id) AS m FROM ${TABLES.snapshots}`);
    const max = Number(r?.m ?? 0);
    return Array.from({ length: Math.trunc(count) }, (_, i) => max + 1 + i);
  }

  async queryOn(client: ClickHouseClient, sql: string): Promise<Row[]> {
    try {
      const rs = await client.query({ query: sql, format: 'JSONEachRow' });
      return (await rs.json()) as Row[];
    } catch (e) {
      throw new StrataError('STORE_ERROR', `query failed: ${(e as Error).message}`, [], { cause: e });
    }
  }

  async command(client: ClickHouseClient, sql: string): Promise<void> {
    try {
      await client.command({ query: sql });
    } catch (e) {
      throw new StrataError('STORE_ERROR', `statement failed: ${(e as Error).message}`, [], { cause: e });
    }
  }

  /** `INSERT INTO table (columns) FORMAT format` with the rows streamed from `data` (already in that format). */
  async insertStream(client: ClickHouseClient, table: string, columns: readonly string[], format: 'JSONEachRow', data: Readable): Promise<void> {
    try {
      const result = await client.exec({
        query: `INSERT INTO ${table} (${columns.map(clickhouseIdentifier).join(', ')}) FORMAT ${format}`,
        values: data,
      });
      // An error after the response started (progress headers) arrives in the body.
      let body = '';
      for await (const chunk of result.stream) body += String(chunk);
      if (/Code: \d+.*Exception/.test(body)) throw new Error(body.trim());
    } catch (e) {
      throw new StrataError('STORE_ERROR', `insert into ${table} failed: ${(e as Error).message}`, [], { cause: e });
    }
  }

  /**
   * JSONEachRow streamed into the table (its Distributed table on a cluster, inserted
   * synchronously, so every row is on its shard when this returns).
   */
  async appendRows(table: string, columns: readonly AppendColumn[], rows: number): Promise<void> {
    const names = (await this.query(`SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ${this.dialect.stringLiteral(table)}`)).map((r) => String(r.name));
    // system.columns of 18.16 has no position: the names are checked as a set, which is
    // all JSONEachRow needs (values are matched by name).
    const sameSet = names.length === columns.length && columns.every((c) => names.includes(c.name));
    checkAppendColumns(table, sameSet ? columns.map((c) => c.name) : names, columns, rows);
    const CHUNK = 10_000;
    const data = Readable.from(
      (function* () {
        for (let start = 0; start < rows; start += CHUNK) {
          let text = '';
          for (let i = start; i < Math.min(rows, start + CHUNK); i++) {
            const row: Record<string, string | number | null> = {};
            for (const c of columns) {
              const v = c.values[i];
              row[c.name] = v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? null : v;
            }
            text += JSON.stringify(row) + '\n';
          }
          yield text;
        }
      })(),
    );
    await this.insertStream(this.client, clickhouseIdentifier(table), columns.map((c) => c.name), 'JSONEachRow', data);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async openIngest(options: IngestSessionOptions): Promise<IngestSession> {
    return ClickHouseIngestSession.open(this, options);
  }

  /** Source files are read by DuckDB wherever the store is, so what a file holds does not depend on the engine. */
  async describeSource(source: SourceFile): Promise<SourceShape> {
    return (await this.fileReader()).describeSource(source);
  }

  async profileSource(source: SourceFile, mapping: SourceMapping, maxRows: number): Promise<SourceProfile> {
    return (await this.fileReader()).profileSource(source, mapping, maxRows);
  }

  private fileReader(): Promise<DuckDbStore> {
    this.reader ??= DuckDbStore.open({ path: ':memory:' });
    return this.reader;
  }

  /**
   * Drop the staging tables an ingest run left behind when its process died (the run
   * never attached them, so the store never saw their rows). Ingest is one writer at a
   * time per database, so every staging table found here is stale.
   */
  async dropStagingTables(): Promise<void> {
    for (const c of this.nodes) {
      const rows = await this.queryOn(
        c,
        `SELECT name FROM system.tables WHERE database = ${clickhouseString(this.options.database)} AND startsWith(name, ${clickhouseString(STAGING_PREFIX)})`,
      );
      for (const r of rows) await this.command(c, `DROP TABLE IF EXISTS ${clickhouseIdentifier(String(r.name))}`);
    }
  }

  /** Drop the store's database on every node (tests). */
  async dropDatabase(): Promise<void> {
    for (const url of new Set([this.options.url, ...(this.options.cluster?.shards ?? [])])) {
      // A client whose default database is being dropped cannot run the next statement: use a bare one.
      const bare = createClient({
        url,
        ...(this.options.username ? { username: this.options.username } : {}),
        ...(this.options.password ? { password: this.options.password } : {}),
        log: { level: ClickHouseLogLevel.OFF },
      });
      try {
        await this.command(bare, `DROP DATABASE IF EXISTS ${clickhouseIdentifier(this.options.database)}`);
      } finally {
        await bare.close();
      }
    }
  }

  async close(): Promise<void> {
    const reader = this.reader;
    this.reader = null;
    if (reader) await (await reader).close();
    for (const c of new Set([this.client, ...this.shardClients])) await c.close();
  }
}
