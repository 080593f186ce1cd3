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
import { CONSENT_EVENT, GRANTED_PROPERTY, PURPOSE_PROPERTY, SOURCE_PROPERTY } from '../../privacy/consent/consent-event.js';
import { CONSENT_PURPOSES } from '../../privacy/privacy-config.js';
import type {
  IngestField,
  IngestFinishResult,
  IngestPrivacyCounts,
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
import {
  applyStagingPrivacy,
  consentColumns,
  consentHistorySql,
  deniedCondition,
  stagedConsentSql,
  type SqlRunner,
} from './ingest-privacy.js';
import { contentHashSql, stagingSql, type StagedField } from './ingest-sql.js';

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

/** Profile traits that set consent (declared boolean), by purpose: each becomes a `$consent` event. */
export const CONSENT_TRAITS: Readonly<Record<(typeof CONSENT_PURPOSES)[number], string>> = {
  analytics: 'consent_analytics',
  personalization: 'consent_personalization',
  marketing: 'consent_marketing',
};

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
  /** The run's analytics consent history (stored and staged records), built at the first store. */
  private consentHistory: string | null = null;
  private consentRecords = false;
  /** Users with analytics consent records in this run: their stored events are checked in finish. */
  private readonly consentUsers: string;
  private readonly sql: SqlRunner;

  private constructor(
    private readonly connection: DuckDBConnection,
    private readonly options: IngestSessionOptions,
  ) {
    this.prefix = `strata_ingest_${process.pid}_${++sessionCounter}`;
    this.rejects = `${this.prefix}_rejects`;
    this.runUsers = `${this.prefix}_users`;
    this.runProfiles = `${this.prefix}_profiles`;
    this.consentUsers = `${this.prefix}_consent_users`;
    this.sql = { connection, run: (sql) => this.run(sql), rows: (sql) => this.rows(sql) };
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

    // Row ids start at 0 in a table created outside a transaction; inside one (a caller's),
    // at a large base. Either way a row's line is its row id less the first one (taken
    // before privacy deletes any row).
    const [firstRow] = await this.rows(`SELECT min(rowid)::BIGINT AS first FROM ${q(table)}`);
    const firstRowId = firstRow?.first === null || firstRow?.first === undefined ? 0n : BigInt(firstRow.first as bigint);
    const line = () => `rowid - ${firstRowId}`;
    const privacy = this.options.privacy ? await applyStagingPrivacy(this.sql, table, plan.fields, this.options.privacy) : null;
    if (events && privacy?.changed) {
      // Content-hash ids cover the stored values: recomputed over the minimized ones.
      await this.run(`UPDATE ${q(table)} SET event_id = ${contentHashSql('user_id', 'event', 'ts', plan.fields)} WHERE _reason IS NULL AND _hashed`);
    }

    let read = privacy?.suppressed ?? 0;
    let valid = 0;
    // Distinct hashes prove distinct ids and are cheaper to count than the strings; a
    // hash collision only costs the slower first-occurrence path when storing.
    let repeats = false;
    const rejectReasons: Record<string, number> = {};
    for (const r of await this.rows(
      `SELECT _reason AS reason, count(*) AS n${events ? ', count(DISTINCT hash(event_id)) AS ids' : ''}
       FROM ${q(table)} GROUP BY _reason ORDER BY n DESC, reason`,
    )) {
      const n = Number(r.n);
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
    const counts: IngestPrivacyCounts | undefined = privacy
      ? {
          suppressed: privacy.suppressed,
          noConsent: 0,
          removedAfterOptOut: 0,
          consentFromProfiles: 0,
          pseudonymized: privacy.pseudonymized,
          piiHashed: privacy.piiHashed,
          piiDropped: privacy.piiDropped,
          ipTruncated: privacy.ipTruncated,
          ipDropped: privacy.ipDropped,
          ipInvalid: privacy.ipInvalid,
        }
      : undefined;
    return { index, read, valid, rejectReasons, droppedFields, ...(counts ? { privacy: counts } : {}) };
  }

  async store(staged: StagedSource, onProgress?: Progress): Promise<{ stored: number; duplicates: number; noConsent: number }> {
    const state = this.staged.get(staged.index);
    if (!state) throw new StrataError('INTERNAL', `source ${staged.index} was not staged in this ingest session`);
    onProgress?.('storing', 0, state.valid);
    // Profile rows were gathered while staging; `finish` upserts them all at once.
    if (this.options.kind === 'profiles') {
      onProgress?.('storing', 1, state.valid);
      return { stored: state.valid, duplicates: 0, noConsent: 0 };
    }
    const noConsent = await this.discardWithoutConsent(state.table);
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
    return { stored: result.rowsChanged, duplicates: state.valid - noConsent - result.rowsChanged, noConsent };
  }

  /**
   * Delete (and count) the staged events of users without analytics consent at their
   * instant. The history is built once, when the first source is stored: by then every
   * source of the run is staged, so a `$consent` record in one file governs events in another.
   */
  private async discardWithoutConsent(table: string): Promise<number> {
    const consent = this.options.privacy?.consent;
    if (!consent) return 0;
    if (this.consentHistory === null) {
      const history = `${this.prefix}_consent_history`;
      const arms = [...this.staged.values()].flatMap((st) => {
        const cols = consentColumns(st.fields);
        return cols ? [stagedConsentSql(st.table, cols)] : [];
      });
      this.scratch.push(history);
      await this.run(consentHistorySql(history, this.runUsers, arms));
      this.scratch.push(this.consentUsers);
      // Only a new denial can open a denied span over stored events: from its instant on.
      await this.run(
        `CREATE TEMP TABLE ${q(this.consentUsers)} AS SELECT user_id, min(ts) AS since FROM (${
          arms.length > 0 ? arms.join(' UNION ALL ') : 'SELECT NULL::VARCHAR AS user_id, NULL::TIMESTAMP AS ts, NULL::BOOLEAN AS granted WHERE false'
        }) WHERE NOT granted GROUP BY user_id`,
      );
      this.consentHistory = history;
      const [any] = await this.rows(`SELECT EXISTS (SELECT 1 FROM ${q(history)}) AS any`);
      this.consentRecords = any?.any === true;
    }
    // No record anywhere for the run's users and consent granted by default: nothing to discard.
    if (!this.consentRecords && consent.analyticsDefault) return 0;
    // Granted by default, only users with a record can be denied: the join sees their rows alone.
    const candidates = consent.analyticsDefault ? ` AND user_id IN (SELECT user_id FROM ${q(this.consentHistory)})` : '';
    const r = await this.run(
      `DELETE FROM ${q(table)} WHERE rowid IN (
         SELECT s.rid FROM (SELECT rowid AS rid, user_id, ts, event FROM ${q(table)} WHERE _reason IS NULL${candidates}) AS s
         ASOF LEFT JOIN ${q(this.consentHistory)} AS c ON s.user_id = c.user_id AND s.ts >= c.ts
         WHERE ${deniedCondition('s', consent.analyticsDefault)})`,
    );
    return r.rowsChanged;
  }

  async finish(runRecord: IngestRunRecord, rejectsPath: string | null): Promise<IngestFinishResult> {
    let consentFromProfiles = 0;
    if (this.options.kind === 'profiles') consentFromProfiles = await this.consentFromProfiles();
    const removedAfterOptOut = await this.removeAfterOptOut();
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

    if (removedAfterOptOut > 0 || consentFromProfiles > 0) await this.refreshFirstEvents();

    const r = runRecord;
    const privacy = r.privacy ? { ...r.privacy, removedAfterOptOut: r.privacy.removedAfterOptOut + removedAfterOptOut, consentFromProfiles } : null;
    await this.run(
      `INSERT INTO ${TABLES.ingestRuns} (run_id, kind, files, started_at, finished_at, read, stored, rejected, duplicates, dropped${privacy ? ', privacy' : ''})
       VALUES (${lit(r.runId)}, ${lit(r.kind)}, ${lit(JSON.stringify(r.files))}, ${duckdbDialect.timestampLiteral(r.startedAtMs)},
               ${duckdbDialect.timestampLiteral(r.finishedAtMs)}, ${r.read}, ${r.stored}, ${r.rejected}, ${r.duplicates}, ${lit(JSON.stringify(r.dropped))}${
                 privacy ? `, ${lit(JSON.stringify(privacy))}` : ''
               })`,
    );
    return { removedAfterOptOut, consentFromProfiles };
  }

  /**
   * Stored events of this run's consent users that fall where analytics consent is denied,
   * judged by every stored `$consent` record (the run's are stored by now): deleted and
   * counted, so the store never holds an event from a denied interval.
   */
  private async removeAfterOptOut(): Promise<number> {
    const consent = this.options.privacy?.consent;
    if (!consent || !(await this.hasConsentUsers())) return 0;
    const history = `${this.prefix}_consent_final`;
    this.scratch.push(history);
    await this.run(`DROP TABLE IF EXISTS ${q(history)}`);
    await this.run(consentHistorySql(history, this.consentUsers, []));
    const r = await this.run(
      `DELETE FROM ${TABLES.events} WHERE rowid IN (
         SELECT e.rid FROM (SELECT x.rowid AS rid, x.user_id, x.ts, x.event FROM ${TABLES.events} AS x JOIN ${q(this.consentUsers)} AS u ON x.user_id = u.user_id AND x.ts >= u.since) AS e
         ASOF LEFT JOIN ${q(history)} AS c ON e.user_id = c.user_id AND e.ts >= c.ts
         WHERE ${deniedCondition('e', consent.analyticsDefault)})`,
    );
    return r.rowsChanged;
  }

  /**
   * A SELECT of the spans where analytics consent is denied for this run's consent users,
   * `(user_id, start_ms, stop_ms)` in epoch ms, [start, stop) (an open end as the largest
   * Int64), from the stored records as `finish` saw them (on the scratch store of a
   * ClickHouse run: the copied stored records and the run's own), clipped to each user's
   * earliest new denial as removeAfterOptOut is (so the span before a user's first record,
   * denied by a denied default, never reaches a stored event). Null without consent users.
   */
  async deniedIntervalsSql(): Promise<string | null> {
    const consent = this.options.privacy?.consent;
    if (!consent || !(await this.hasConsentUsers())) return null;
    const history = q(`${this.prefix}_consent_final`);
    const spans = `SELECT user_id, epoch_ms(ts) AS start_ms, coalesce(epoch_ms(lead(ts) OVER (PARTITION BY user_id ORDER BY ts)), 9223372036854775807) AS stop_ms, granted
      FROM ${history}`;
    return `SELECT d.user_id, greatest(d.start_ms, epoch_ms(u.since)) AS start_ms, d.stop_ms
      FROM (${spans}) AS d JOIN ${q(this.consentUsers)} AS u ON d.user_id = u.user_id
      WHERE NOT d.granted AND d.stop_ms > greatest(d.start_ms, epoch_ms(u.since))`;
  }

  private async hasConsentUsers(): Promise<boolean> {
    if (!this.scratch.includes(this.consentUsers)) return false;
    const [r] = await this.rows(`SELECT EXISTS (SELECT 1 FROM ${q(this.consentUsers)}) AS any`);
    return r?.any === true;
  }

  /** users.first_event_at stays each user's earliest stored event after events were removed or added. */
  private async refreshFirstEvents(): Promise<void> {
    await this.run(
      `UPDATE ${TABLES.users} SET first_event_at = m.first_ts
       FROM (SELECT user_id, min(ts) AS first_ts FROM ${TABLES.events} WHERE user_id IN (SELECT user_id FROM ${q(this.consentUsers)}) GROUP BY user_id) AS m
       WHERE ${TABLES.users}.user_id = m.user_id`,
    );
  }

  /**
   * Profile consent traits (CONSENT_TRAITS, declared boolean) become `$consent` events with
   * source `profile` at the run's ingest instant: the run's latest value per user and
   * purpose. Needs the plan's `$consent` (privacy.consent set).
   */
  private async consentFromProfiles(): Promise<number> {
    const privacy = this.options.privacy;
    if (!privacy?.consent) return 0;
    const arms = CONSENT_PURPOSES.flatMap((purpose) => {
      const t = this.traitColumns.get(CONSENT_TRAITS[purpose]);
      if (!t || t.field.type !== 'boolean') return [];
      return [
        `SELECT user_id, ${lit(purpose)} AS purpose, arg_max(${t.column}, seq) FILTER (WHERE ${t.column} IS NOT NULL) AS granted
         FROM ${q(this.runProfiles)} GROUP BY user_id`,
      ];
    });
    if (arms.length === 0) return 0;
    const records = `${this.prefix}_profile_consent`;
    this.scratch.push(records);
    const ts = duckdbDialect.timestampLiteral(privacy.ingestedAtMs);
    await this.run(
      `CREATE TEMP TABLE ${q(records)} AS SELECT user_id, ${lit(CONSENT_EVENT)} AS event, ${ts} AS ts,
         purpose AS f0, granted AS f1, 'profile' AS f2 FROM (${arms.join(' UNION ALL ')}) WHERE granted IS NOT NULL`,
    );
    const fields: StagedField[] = [
      { field: { name: PURPOSE_PROPERTY, type: 'string', events: [CONSENT_EVENT] }, column: 'f0' },
      { field: { name: GRANTED_PROPERTY, type: 'boolean', events: [CONSENT_EVENT] }, column: 'f1' },
      { field: { name: SOURCE_PROPERTY, type: 'string', events: [CONSENT_EVENT] }, column: 'f2' },
    ];
    const cols = fields.map((f) => q(propertyColumn(f.field.name)));
    const r = await this.run(
      `INSERT INTO ${TABLES.events} (event_id, user_id, event, ts, ingested_at, ${cols.join(', ')})
       SELECT ${contentHashSql('user_id', 'event', 'ts', fields)}, user_id, event, ts, ${ts}, f0, f1, f2 FROM ${q(records)}`,
    );
    this.scratch.push(this.consentUsers);
    await this.run(`CREATE TEMP TABLE ${q(this.consentUsers)} AS SELECT user_id, min(ts) AS since FROM ${q(records)} WHERE f0 = 'analytics' AND NOT f1 GROUP BY user_id`);
    await this.run(
      `INSERT INTO ${TABLES.users} (user_id, first_event_at, has_profile)
       SELECT DISTINCT user_id, ${ts}, true FROM ${q(records)}
       ON CONFLICT (user_id) DO UPDATE SET first_event_at = least(${TABLES.users}.first_event_at, excluded.first_event_at)`,
    );
    return r.rowsChanged;
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
    await this.run(`UPDATE ${q(table)} SET event_id = ${lit(`${prefix}:`)} || CAST(${line} AS VARCHAR), _hashed = false WHERE _reason IS NULL`);
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
