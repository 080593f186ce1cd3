/**
 * The ClickHouse store, through @clickhouse/client over HTTP: a single node, or a cluster
 * of shards (src/store/clickhouse/migrations.ts describes the tables of both layouts).
 *
 * ClickHouse has no transactions. What the EventStore promises is kept another way:
 * - an ingest run is written to staging tables and attached to the real tables in one
 *   `ATTACH PARTITION ... FROM` per table (per shard), so readers never see half a run;
 * - a snapshot's members are written before its row in `snapshots`, which is what every
 *   reader starts from, so an interrupted snapshot is invisible.
 * `transaction(fn)` therefore runs `fn` as is.
 *
 * Per-user queries (segment membership) go to every shard at once, each reading its local
 * tables (`queryByUser`): all of a user's rows are on one shard, so each shard's answer is
 * complete for its users, and the answers are concatenated.
 */
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { StrataError } from '../../errors/errors.js';
import { propertyTypes, type FieldType, type TrackingPlan } from '../../schema/tracking-plan.js';
import { clickhouseDialect, clickhouseIdentifier, clickhouseString } from '../../segments/compile/clickhouse-dialect.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import type { EventStore, IngestSession, IngestSessionOptions, Row, SourceFile, SourceMapping, SourceProfile, SourceShape } from '../event-store.js';
import { TABLES, propertyColumn, traitColumn } from '../schema.js';
import { CLICKHOUSE_MIGRATIONS, SHARDED_TABLES, type ClickHouseLayout, type ClickHouseStatement } from './migrations.js';

export const CLICKHOUSE_TYPES: Readonly<Record<FieldType, string>> = {
  string: 'Nullable(String)',
  number: 'Nullable(Float64)',
  boolean: 'Nullable(UInt8)',
  timestamp: 'Nullable(Int64)',
};

export interface ClickHouseStoreOptions {
  /** HTTP URL of the node queries go to (in a cluster: one of its nodes). */
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

export class ClickHouseStore implements EventStore {
  readonly engine = 'clickhouse';
  readonly dialect: SqlDialect;
  /** The dialect of a query run on one shard, naming its local tables (= `dialect` on a single node). */
  readonly shardDialect: SqlDialect;
  readonly layout: ClickHouseLayout;

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
    await store.migrate();
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

  /**
   * A per-user query, built for the dialect of where it runs: on a single node once; on a
   * cluster on every shard at once against its local tables, the rows concatenated.
   */
  async queryByUser(build: (dialect: SqlDialect) => string): Promise<Row[]> {
    if (!this.clustered) return this.query(build(this.dialect));
    const sql = build(this.shardDialect);
    const parts = await Promise.all(this.shardClients.map((c) => this.queryOn(c, sql)));
    return parts.flat();
  }

  /** A per-user statement (INSERT ... SELECT), run where each user's rows are. */
  async executeByUser(build: (dialect: SqlDialect) => string): Promise<void> {
    if (!this.clustered) return this.execute(build(this.dialect));
    const sql = build(this.shardDialect);
    await Promise.all(this.shardClients.map((c) => this.command(c, sql)));
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

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async openIngest(_options: IngestSessionOptions): Promise<IngestSession> {
    throw new StrataError('STORE_ERROR', 'ingest into ClickHouse is being built');
  }

  async describeSource(_source: SourceFile): Promise<SourceShape> {
    throw new StrataError('STORE_ERROR', 'ingest into ClickHouse is being built');
  }

  async profileSource(_source: SourceFile, _mapping: SourceMapping, _maxRows: number): Promise<SourceProfile> {
    throw new StrataError('STORE_ERROR', 'ingest into ClickHouse is being built');
  }

  /** Drop the store's database on every node (tests). */
  async dropDatabase(): Promise<void> {
    for (const c of new Set([this.client, ...this.shardClients])) await this.command(c, `DROP DATABASE IF EXISTS ${clickhouseIdentifier(this.options.database)}`);
  }

  async close(): Promise<void> {
    for (const c of new Set([this.client, ...this.shardClients])) await c.close();
  }
}
