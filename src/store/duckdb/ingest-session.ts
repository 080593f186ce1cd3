/**
 * One ingest run on DuckDB. Each source is staged by one validating statement
 * (ingest-sql.ts) into a scratch table, outside the run's transaction: DuckDB scans a
 * table created inside a transaction on one thread, and rows staged there would have
 * transaction-local row ids. The transaction then only moves staged rows into the store
 * and applies the run-wide effects (population index, profile upserts, the run record).
 */
import type { DuckDBConnection, DuckDBMaterializedResult } from '@duckdb/node-api';
import { StrataError } from '../../errors/errors.js';
import { duckdbDialect } from '../../segments/compile/duckdb-dialect.js';
import type {
  IngestField,
  IngestRunRecord,
  IngestSession,
  IngestSessionOptions,
  IngestSpec,
  IngestStep,
  SourceFile,
  SourceShape,
  StagedSource,
} from '../event-store.js';
import { DUCKDB_TYPES, TABLES, propertyColumn, traitColumn } from '../schema.js';
import { firstLine, sourceError } from './ingest-source.js';
import { stagingSql, type StagedField } from './ingest-sql.js';

const q = duckdbDialect.quoteIdentifier;
const lit = duckdbDialect.stringLiteral;

type Progress = (step: IngestStep, fraction: number, rows: number) => void;

interface StageState {
  readonly table: string;
  readonly fields: readonly StagedField[];
  readonly valid: number;
  /** Whether the valid rows may repeat an event id (then the first occurrence wins). */
  readonly repeats: boolean;
}

let sessionCounter = 0;

export class DuckDbIngestSession implements IngestSession {
  private readonly prefix: string;
  private readonly rejects: string;
  private readonly runUsers: string;
  private readonly runProfiles: string;
  private readonly staged = new Map<number, StageState>();
  private readonly scratch: string[] = [];
  private closed = false;
  /** Column of the run's profile table for each trait name. */
  private readonly traitColumns: ReadonlyMap<string, { column: string; field: IngestField }>;

  private constructor(
    private readonly connection: DuckDBConnection,
    private readonly options: IngestSessionOptions,
  ) {
    this.prefix = `strata_ingest_${process.pid}_${++sessionCounter}`;
    this.rejects = `${this.prefix}_rejects`;
    this.runUsers = `${this.prefix}_users`;
    this.runProfiles = `${this.prefix}_profiles`;
    this.traitColumns = new Map(options.fields.map((field, i) => [field.name, { column: `t${i}`, field }]));
  }

  static async open(connection: DuckDBConnection, options: IngestSessionOptions): Promise<DuckDbIngestSession> {
    const session = new DuckDbIngestSession(connection, options);
    try {
      await session.createScratch(session.rejects, '(source_index INTEGER, file VARCHAR, line BIGINT, reason VARCHAR, "row" JSON)');
      if (options.kind === 'events') {
        await session.createScratch(session.runUsers, '(source_index INTEGER, user_id VARCHAR, first_ts TIMESTAMP)');
      } else {
        const traits = [...session.traitColumns.values()].map((t) => `, ${t.column} ${DUCKDB_TYPES[t.field.type]}`).join('');
        await session.createScratch(session.runProfiles, `(user_id VARCHAR, seq BIGINT${traits})`);
      }
      if (options.trackProgress) {
        // Progress is only measured when the bar is enabled; printing stays off (the CLI draws its own).
        await session.run('SET enable_progress_bar = true');
        await session.run('SET enable_progress_bar_print = false');
      }
    } catch (e) {
      await session.close();
      throw e;
    }
    return session;
  }

  async stage(source: SourceFile, shape: SourceShape, spec: IngestSpec, onProgress?: Progress): Promise<StagedSource> {
    const index = this.staged.size;
    const table = `${this.prefix}_stage_${index}`;
    let plan = stagingSql(table, source, shape, spec);
    const events = spec.kind === 'events';

    onProgress?.('reading', 0, 0);
    this.scratch.push(table);
    const reading = onProgress && ((f: number) => onProgress('reading', f, 0));
    try {
      try {
        await this.run(plan.sql, reading);
      } catch (e) {
        // Read by shape, a line whose container is not an object stops the read; by keys it
        // is a reject like any other (and a file that cannot be read fails again, in its own words).
        if (!plan.byShape) throw e;
        plan = stagingSql(table, source, shape, spec, { byKeys: true });
        await this.run(plan.sql, reading);
      }
    } catch (e) {
      throw e instanceof StrataError && e.code === 'STORE_ERROR' ? sourceError(source, e.cause) : e;
    }

    if (events && spec.rowIds !== undefined) await this.assignRowIds(table, source, spec.rowIds);

    let read = 0;
    let valid = 0;
    // Row ids start at 0 in a table created outside a transaction; inside one (a caller's),
    // at a large base. Either way a row's line is its row id less the first one.
    let firstRowId: bigint | undefined;
    const line = () => `rowid - ${firstRowId ?? 0n}`;
    // Distinct hashes prove distinct ids and are cheaper to count than the strings; a
    // hash collision only costs the slower first-occurrence path when storing.
    let repeats = false;
    const rejectReasons: Record<string, number> = {};
    for (const r of await this.rows(
      `SELECT _reason AS reason, count(*) AS n, min(rowid)::BIGINT AS first${events ? ', count(DISTINCT hash(event_id)) AS ids' : ''}
       FROM ${q(table)} GROUP BY _reason ORDER BY n DESC, reason`,
    )) {
      const n = Number(r.n);
      const first = BigInt(r.first as bigint);
      if (firstRowId === undefined || first < firstRowId) firstRowId = first;
      read += n;
      if (r.reason === null) {
        valid = n;
        repeats = events && Number(r.ids) < n;
      } else rejectReasons[String(r.reason)] = n;
    }
    onProgress?.('validating', 0.5, read);
    const droppedFields: Record<string, number> = {};
    if (plan.hasDropped) {
      for (const r of await this.rows(
        `SELECT k, count(*) AS n FROM (SELECT unnest(_dropped) AS k FROM ${q(table)} WHERE _reason IS NULL) GROUP BY k ORDER BY n DESC, k`,
      )) {
        droppedFields[String(r.k)] = Number(r.n);
      }
    }
    if (read > valid) {
      // The staged table keeps the file's order, so a row id gives the row's position in the file.
      await this.run(
        `INSERT INTO ${q(this.rejects)}
         SELECT ${index}, ${lit(source.label)}, ${line()} + ${firstLine(source)}, _reason, _raw FROM ${q(table)} WHERE _reason IS NOT NULL`,
      );
    }
    if (events) {
      await this.run(`INSERT INTO ${q(this.runUsers)} SELECT ${index}, user_id, min(ts) FROM ${q(table)} WHERE _reason IS NULL GROUP BY user_id`);
    } else {
      const traits = plan.fields.map((s) => ({ target: this.traitColumns.get(s.field.name)!.column, column: s.column }));
      // seq orders rows across the run's files so a later row's trait replaces an earlier one.
      await this.run(
        `INSERT INTO ${q(this.runProfiles)} (user_id, seq${traits.map((t) => `, ${t.target}`).join('')})
         SELECT user_id, ${index}::BIGINT * 1099511627776 + ${line()}${traits.map((t) => `, ${t.column}`).join('')}
         FROM ${q(table)} WHERE _reason IS NULL`,
      );
      await this.run(`DROP TABLE ${q(table)}`);
    }
    onProgress?.('validating', 1, read);
    this.staged.set(index, { table, fields: plan.fields, valid, repeats });
    return { index, read, valid, rejectReasons, droppedFields };
  }

  async store(staged: StagedSource, onProgress?: Progress): Promise<{ stored: number; duplicates: number }> {
    const state = this.staged.get(staged.index);
    if (!state) throw new StrataError('INTERNAL', `source ${staged.index} was not staged in this ingest session`);
    onProgress?.('storing', 0, state.valid);
    // Profile rows were gathered while staging; `finish` upserts them all at once.
    if (this.options.kind === 'profiles') {
      onProgress?.('storing', 1, state.valid);
      return { stored: state.valid, duplicates: 0 };
    }
    const props = state.fields.map((s) => ({ target: q(propertyColumn(s.field.name)), column: s.column }));
    // Ids already in the store are duplicates; within the batch the first occurrence wins.
    const result = await this.unordered(() =>
      this.run(
        `INSERT INTO ${TABLES.events} (event_id, user_id, event, ts, ingested_at${props.map((p) => `, ${p.target}`).join('')})
         SELECT s.event_id, s.user_id, s.event, s.ts, now()::TIMESTAMP${props.map((p) => `, s.${p.column}`).join('')}
         FROM ${q(state.table)} AS s ANTI JOIN ${TABLES.events} AS e ON e.event_id = s.event_id
         WHERE s._reason IS NULL
         ${state.repeats ? 'QUALIFY row_number() OVER (PARTITION BY s.event_id ORDER BY s.rowid) = 1' : ''}`,
        onProgress && ((f) => onProgress('storing', f, state.valid)),
      ),
    );
    if (result.rowsChanged < state.valid) {
      // Some rows were duplicates: only the rows stored may put a user in the population
      // index (a repeated id can name another user, or an earlier instant). A stored row
      // matches its id, user and instant; an older event matching all three already counts.
      await this.run(`DELETE FROM ${q(this.runUsers)} WHERE source_index = ${staged.index}`);
      await this.run(
        `INSERT INTO ${q(this.runUsers)}
         SELECT ${staged.index}, s.user_id, min(s.ts) FROM ${q(state.table)} AS s
         SEMI JOIN ${TABLES.events} AS e ON e.event_id = s.event_id AND e.user_id = s.user_id AND e.ts = s.ts
         WHERE s._reason IS NULL GROUP BY s.user_id`,
      );
    }
    onProgress?.('storing', 1, state.valid);
    return { stored: result.rowsChanged, duplicates: state.valid - result.rowsChanged };
  }

  async finish(runRecord: IngestRunRecord, rejectsPath: string | null): Promise<void> {
    if (this.options.kind === 'events') {
      await this.run(
        `INSERT INTO ${TABLES.users} (user_id, first_event_at, has_profile)
         SELECT user_id, min(first_ts), false FROM ${q(this.runUsers)} GROUP BY user_id
         ON CONFLICT (user_id) DO UPDATE SET first_event_at = least(${TABLES.users}.first_event_at, excluded.first_event_at)`,
      );
    } else {
      const traits = [...this.traitColumns.values()].map((t) => ({ target: q(traitColumn(t.field.name)), column: t.column }));
      // Trait by trait: the run's latest non-null value of each trait, over what is stored.
      await this.run(
        `INSERT INTO ${TABLES.profiles} (user_id, updated_at${traits.map((t) => `, ${t.target}`).join('')})
         SELECT user_id, now()::TIMESTAMP${traits.map((t) => `, arg_max(${t.column}, seq) FILTER (WHERE ${t.column} IS NOT NULL)`).join('')}
         FROM ${q(this.runProfiles)} GROUP BY user_id
         ON CONFLICT (user_id) DO UPDATE SET updated_at = excluded.updated_at${traits
           .map((t) => `, ${t.target} = coalesce(excluded.${t.target}, ${TABLES.profiles}.${t.target})`)
           .join('')}`,
      );
      await this.run(
        `INSERT INTO ${TABLES.users} (user_id, first_event_at, has_profile)
         SELECT DISTINCT user_id, NULL::TIMESTAMP, true FROM ${q(this.runProfiles)}
         ON CONFLICT (user_id) DO UPDATE SET has_profile = true`,
      );
    }

    if (rejectsPath !== null) {
      const [count] = await this.rows(`SELECT count(*) AS n FROM ${q(this.rejects)}`);
      if (Number(count?.n ?? 0) > 0) {
        await this.run(`COPY (SELECT file, line, reason, "row" FROM ${q(this.rejects)} ORDER BY source_index, line) TO ${lit(rejectsPath)} (FORMAT json)`);
      }
    }

    const r = runRecord;
    await this.run(
      `INSERT INTO ${TABLES.ingestRuns} (run_id, kind, files, started_at, finished_at, read, stored, rejected, duplicates, dropped)
       VALUES (${lit(r.runId)}, ${lit(r.kind)}, ${lit(JSON.stringify(r.files))}, ${duckdbDialect.timestampLiteral(r.startedAtMs)},
               ${duckdbDialect.timestampLiteral(r.finishedAtMs)}, ${r.read}, ${r.stored}, ${r.rejected}, ${r.duplicates}, ${lit(JSON.stringify(r.dropped))})`,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.scratch) await this.run(`DROP TABLE IF EXISTS ${q(t)}`);
    if (this.options.trackProgress) {
      await this.run('RESET enable_progress_bar');
      await this.run('RESET enable_progress_bar_print');
    }
  }

  /**
   * Row ids (`--row-ids`): each valid row's id becomes `<prefix>:<line>`, the line counted
   * as for rejects (the staged table keeps file order, so the row id less the first one is
   * the row's position; CSV counts its header line).
   */
  private async assignRowIds(table: string, source: SourceFile, prefix: string): Promise<void> {
    const [first] = await this.rows(`SELECT min(rowid)::BIGINT AS first FROM ${q(table)}`);
    if (first?.first === null || first?.first === undefined) return;
    const line = `rowid - ${BigInt(first.first as bigint)} + ${firstLine(source)}`;
    await this.run(`UPDATE ${q(table)} SET event_id = ${lit(`${prefix}:`)} || CAST(${line} AS VARCHAR) WHERE _reason IS NULL`);
  }

  private async createScratch(table: string, columns: string): Promise<void> {
    this.scratch.push(table);
    await this.run(`CREATE TEMP TABLE ${q(table)} ${columns}`);
  }

  /**
   * Run `fn` without insertion order: the events table has no order to keep, and keeping
   * the scan's order would make DuckDB insert the rows of a join on one thread. Staging
   * (where order gives line numbers) keeps the setting as it was.
   */
  private async unordered<T>(fn: () => Promise<T>): Promise<T> {
    const [setting] = await this.rows(`SELECT current_setting('preserve_insertion_order') AS v`);
    if (setting?.v !== true) return fn();
    await this.run('SET preserve_insertion_order = false');
    try {
      return await fn();
    } finally {
      await this.run('SET preserve_insertion_order = true');
    }
  }

  /** Run a statement, polling the engine's progress while it runs when asked to. */
  private async run(sql: string, onFraction?: (fraction: number) => void): Promise<DuckDBMaterializedResult> {
    const timer = onFraction
      ? setInterval(() => {
          const p = this.connection.progress;
          if (p.percentage > 0) onFraction(Math.min(1, p.percentage / 100));
        }, 100)
      : undefined;
    try {
      return await this.connection.run(sql);
    } catch (e) {
      throw new StrataError('STORE_ERROR', `ingest statement failed: ${(e as Error).message}`, [], { cause: e });
    } finally {
      if (timer) clearInterval(timer);
    }
  }

  private async rows(sql: string): Promise<Record<string, unknown>[]> {
    try {
      return (await this.connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    } catch (e) {
      throw new StrataError('STORE_ERROR', `ingest query failed: ${(e as Error).message}`, [], { cause: e });
    }
  }
}
