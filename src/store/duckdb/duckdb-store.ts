/**
 * The embedded default store: one DuckDB file in the workspace's data folder.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { StrataError } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { duckdbDialect } from '../../segments/compile/duckdb-dialect.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
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
import { DUCKDB_TYPES, TABLES, propertyColumn, traitColumn } from '../schema.js';
import { propertyTypes } from '../../schema/tracking-plan.js';
import { MIGRATIONS } from './migrations.js';
import { DuckDbIngestSession } from './ingest-session.js';
import { profileSource } from './infer-source.js';
import { describeSource } from './ingest-source.js';

export interface DuckDbStoreOptions {
  /** A file path, or ':memory:' for tests that need no file. */
  readonly path: string;
  /** DuckDB threads; default: DuckDB's own (all cores). */
  readonly threads?: number;
  /** DuckDB memory_limit, e.g. '8GB'. */
  readonly memoryLimit?: string;
}

export class DuckDbStore implements EventStore {
  readonly engine = 'duckdb';
  readonly dialect: SqlDialect = duckdbDialect;

  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    readonly path: string,
  ) {}

  static async open(options: DuckDbStoreOptions): Promise<DuckDbStore> {
    let instance: DuckDBInstance;
    try {
      const config: Record<string, string> = {};
      if (options.threads) config.threads = String(options.threads);
      if (options.memoryLimit) config.memory_limit = options.memoryLimit;
      instance = await DuckDBInstance.create(options.path, config);
    } catch (e) {
      throw new StrataError('STORE_ERROR', `cannot open the DuckDB store at ${options.path}: ${(e as Error).message}`, [], { cause: e });
    }
    const connection = await instance.connect();
    // Everything is UTC; DuckDB's TIMESTAMP has no zone, so the session zone must not leak in.
    await connection.run(`SET TimeZone = 'UTC'`);
    const store = new DuckDbStore(instance, connection, options.path);
    await store.migrate();
    return store;
  }

  async migrate(): Promise<void> {
    await this.connection.run(
      `CREATE TABLE IF NOT EXISTS ${TABLES.migrations} (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)`,
    );
    const rows = await this.query(`SELECT coalesce(max(version), 0) AS v FROM ${TABLES.migrations}`);
    const current = Number(rows[0]?.v ?? 0);
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      try {
        await this.transaction(async () => {
          for (const stmt of m.statements) await this.connection.run(stmt);
          await this.connection.run(
            `INSERT INTO ${TABLES.migrations} VALUES (${m.version}, ${this.dialect.stringLiteral(m.name)}, now()::TIMESTAMP)`,
          );
        });
      } catch (e) {
        throw new StrataError('MIGRATION_ERROR', `migration ${m.version} (${m.name}) failed: ${(e as Error).message}`, [], { cause: e });
      }
    }
  }

  async applyPlan(plan: TrackingPlan): Promise<void> {
    const existing = async (table: string) =>
      new Set(
        (await this.query(`SELECT column_name FROM information_schema.columns WHERE table_name = ${this.dialect.stringLiteral(table)}`)).map(
          (r) => String(r.column_name),
        ),
      );
    const eventCols = await existing(TABLES.events);
    for (const [name, type] of propertyTypes(plan)) {
      const col = propertyColumn(name);
      if (!eventCols.has(col)) await this.execute(`ALTER TABLE ${TABLES.events} ADD COLUMN ${this.dialect.quoteIdentifier(col)} ${DUCKDB_TYPES[type]}`);
    }
    const profileCols = await existing(TABLES.profiles);
    for (const [name, spec] of Object.entries(plan.traits)) {
      const col = traitColumn(name);
      if (!profileCols.has(col)) await this.execute(`ALTER TABLE ${TABLES.profiles} ADD COLUMN ${this.dialect.quoteIdentifier(col)} ${DUCKDB_TYPES[spec.type]}`);
    }
  }

  async query(sql: string): Promise<Row[]> {
    try {
      const reader = await this.connection.runAndReadAll(sql);
      return reader.getRowObjectsJS() as Row[];
    } catch (e) {
      throw new StrataError('STORE_ERROR', `query failed: ${(e as Error).message}`, [], { cause: e });
    }
  }

  async execute(sql: string): Promise<void> {
    try {
      await this.connection.run(sql);
    } catch (e) {
      throw new StrataError('STORE_ERROR', `statement failed: ${(e as Error).message}`, [], { cause: e });
    }
  }

  async queryByUser(build: (dialect: SqlDialect, target: ByUserTarget) => string): Promise<Row[]> {
    return this.query(build(this.dialect, { parts: 1 }));
  }

  /** The reader's columns (getColumnsObjectJS): about a third of the time of row objects on wide results. */
  async queryColumnsByUser(build: (dialect: SqlDialect, target: ByUserTarget) => string): Promise<ColumnRows> {
    try {
      const reader = await this.connection.runAndReadAll(build(this.dialect, { parts: 1 }));
      return { length: reader.currentRowCount, columns: reader.getColumnsObjectJS() as Record<string, unknown[]> };
    } catch (e) {
      throw new StrataError('STORE_ERROR', `query failed: ${(e as Error).message}`, [], { cause: e });
    }
  }

  async executeByUser(build: (dialect: SqlDialect, target: ByUserTarget) => string): Promise<void> {
    return this.execute(build(this.dialect, { parts: 1 }));
  }

  async deleteWhere(table: string, where: string): Promise<void> {
    await this.execute(`DELETE FROM ${table} WHERE ${where}`);
  }

  /** Through DuckDB's appender: rows go straight into the table's storage, no SQL text per row. */
  async appendRows(table: string, columns: readonly AppendColumn[], rows: number): Promise<void> {
    const names = (await this.query(`SELECT column_name FROM information_schema.columns WHERE table_name = ${this.dialect.stringLiteral(table)} ORDER BY ordinal_position`)).map((r) => String(r.column_name));
    checkAppendColumns(table, names, columns, rows);
    let appender;
    try {
      appender = await this.connection.createAppender(table);
      for (let i = 0; i < rows; i++) {
        for (const c of columns) {
          if (c.type === 'string') {
            const v = c.values[i];
            if (v === null || v === undefined) appender.appendNull();
            else appender.appendVarchar(v);
            continue;
          }
          const v = c.values[i]!;
          if (Number.isNaN(v)) appender.appendNull();
          else if (c.type === 'double') appender.appendDouble(v);
          else if (c.type === 'integer') appender.appendInteger(v);
          else appender.appendBigInt(BigInt(v));
        }
        appender.endRow();
      }
      appender.closeSync();
    } catch (e) {
      throw new StrataError('STORE_ERROR', `append to ${table} failed: ${(e as Error).message}`, [], { cause: e });
    }
  }

  async nextSnapshotIds(count: number): Promise<number[]> {
    if (count <= 0) return [];
    const rows = await this.query(`SELECT nextval('snapshot_ids') AS id FROM range(${Math.trunc(count)})`);
    return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  }

  private inTransaction = false;

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn();
    await this.connection.run('BEGIN TRANSACTION');
    this.inTransaction = true;
    try {
      const out = await fn();
      await this.connection.run('COMMIT');
      return out;
    } catch (e) {
      await this.connection.run('ROLLBACK');
      throw e;
    } finally {
      this.inTransaction = false;
    }
  }

  async openIngest(options: IngestSessionOptions): Promise<IngestSession> {
    return DuckDbIngestSession.open(this.connection, options);
  }

  async describeSource(source: SourceFile): Promise<SourceShape> {
    return describeSource(this.connection, source);
  }

  async profileSource(source: SourceFile, mapping: SourceMapping, maxRows: number): Promise<SourceProfile> {
    return profileSource(this.connection, source, mapping, maxRows);
  }

  async close(): Promise<void> {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** The columns of an append must be the table's, in its order, each with one value per row. */
export function checkAppendColumns(table: string, tableColumns: readonly string[], columns: readonly AppendColumn[], rows: number): void {
  const given = columns.map((c) => c.name);
  if (given.join(',') !== tableColumns.join(',')) {
    throw new StrataError('STORE_ERROR', `append to ${table}: columns (${given.join(', ')}) are not the table's (${tableColumns.join(', ')})`);
  }
  for (const c of columns) {
    if (c.values.length !== rows) throw new StrataError('STORE_ERROR', `append to ${table}: column ${c.name} has ${c.values.length} values for ${rows} rows`);
  }
}

