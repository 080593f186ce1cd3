/**
 * One ingest run into ClickHouse.
 *
 * Reading and validating are DuckDB's, unchanged: a scratch DuckDB (a temporary file, so a
 * large run can spill) runs the DuckDB ingest session (src/store/duckdb/ingest-*.ts), so a
 * source gets exactly the rejects, reasons, dropped-field counts and in-run dedupe it gets
 * on DuckDB. The scratch store's own tables receive the run: its `events` the run's new
 * events (first occurrence wins within the run), its `users` and `profiles` the run's
 * population and trait-by-trait profile rows, and its finish writes the rejects file.
 *
 * Those rows then move to ClickHouse (DuckDB writes JSON lines, streamed into an INSERT;
 * 18.16 reads no Parquet) into per-run tables named `strata_ingest_<run>_*`:
 * - `*_in_*`: the rows as they come, with positional column names (c0, c1, ...), so no
 *   property name ever has to survive a JSON key. On a cluster they are inserted through a
 *   Distributed table sharded like the store, so each shard gets its own users' rows.
 * - `*_stage_*`: on each shard, what the run adds to each real table, built there from the
 *   shard's incoming rows and its stored rows: events not stored yet (dedupe), the merged
 *   users row (earliest first event, has_profile or'ed, version + 1) and the merged profile
 *   row (each trait: the run's value, else the stored one; version + 1).
 * `finish` then attaches every staging table to its real table with one `ALTER TABLE ...
 * ATTACH PARTITION tuple() FROM` per table and shard (atomic per table and shard; the
 * tables have one partition), users after events or profiles, and writes the run record
 * last. Until the first attach nothing is visible; a process killed before it leaves only
 * staging tables, dropped when the next run opens.
 *
 * Dedupe against stored events: a content-hash id ('h:' + md5 of user, event, time and
 * values) can only repeat for the same user, event and time, so it is checked on the
 * user's shard, narrowed by (event, ts), the sort key. A given id may repeat anywhere, so
 * when the run has any, they are also checked against the Distributed events table.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { StrataError } from '../../errors/errors.js';
import { clickhouseIdentifier, clickhouseString } from '../../segments/compile/clickhouse-dialect.js';
import { duckdbDialect } from '../../segments/compile/duckdb-dialect.js';
import { CONSENT_EVENT, GRANTED_PROPERTY, PURPOSE_PROPERTY, SOURCE_PROPERTY } from '../../privacy/consent/consent-event.js';
import { DuckDbStore } from '../duckdb/duckdb-store.js';
import type { DuckDbIngestSession } from '../duckdb/ingest-session.js';
import type {
  IngestField,
  IngestFinishResult,
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
import type { ClickHouseStore } from './clickhouse-store.js';
import { CLICKHOUSE_TYPES, shardingKey } from './migrations.js';

/** Every table of an ingest run starts with this; tables found with it outside a run are stale. */
export const STAGING_PREFIX = 'strata_ingest_';

const qd = duckdbDialect.quoteIdentifier;
const qc = clickhouseIdentifier;

type Progress = (step: IngestStep, fraction: number, rows: number) => void;

/** A run table: its name on the shards (and on a single node), and the Distributed table over it on a cluster. */
interface RunTable {
  readonly local: string;
  readonly distributed: string | null;
}

/** The columns of the incoming tables, positional, with their ClickHouse types and the DuckDB expression that fills each. */
interface IncomingColumn {
  readonly name: string;
  readonly type: string;
  readonly duck: string;
}

export class ClickHouseIngestSession implements IngestSession {
  private readonly created: { client: ClickHouseClient; table: string }[] = [];
  private closed = false;
  /** Rows in this run's events staging, over all shards. */
  private stagedEvents = 0;
  private readonly ingestedAt = Date.now();
  /** Stored `$consent` rows copied into the scratch events table (first in it), never shipped back. */
  private copiedEvents = 0;

  private constructor(
    private readonly ch: ClickHouseStore,
    private readonly options: IngestSessionOptions,
    private readonly dir: string,
    private readonly scratch: DuckDbStore,
    private readonly duck: DuckDbIngestSession,
    private readonly prefix: string,
  ) {}

  static async open(store: ClickHouseStore, options: IngestSessionOptions): Promise<ClickHouseIngestSession> {
    await store.dropStagingTables();
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-ch-ingest-'));
    let scratch: DuckDbStore | undefined;
    try {
      scratch = await DuckDbStore.open({ path: path.join(dir, 'scratch.duckdb') });
      // The scratch tables hold the run's fields like the store's would.
      const table = options.kind === 'events' ? TABLES.events : TABLES.profiles;
      const column = options.kind === 'events' ? propertyColumn : traitColumn;
      for (const f of options.fields) await scratch.execute(`ALTER TABLE ${table} ADD COLUMN ${qd(column(f.name))} ${DUCKDB_TYPES[f.type]}`);
      const copied = options.privacy ? await copyPrivacyState(store, scratch, options) : 0;
      const duck = (await scratch.openIngest(options)) as DuckDbIngestSession;
      const prefix = `${STAGING_PREFIX}${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
      const session = new ClickHouseIngestSession(store, options, dir, scratch, duck, prefix);
      session.copiedEvents = copied;
      try {
        if (options.kind === 'events') {
          await session.createIncoming('in_events', session.eventColumns());
          await session.createStage('stage_events', TABLES.events);
        }
      } catch (e) {
        await session.close();
        throw e;
      }
      return session;
    } catch (e) {
      if (scratch) await scratch.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  stage(source: SourceFile, shape: SourceShape, spec: IngestSpec, onProgress?: Progress): Promise<StagedSource> {
    return this.duck.stage(source, shape, spec, onProgress);
  }

  async store(staged: StagedSource, onProgress?: Progress): Promise<{ stored: number; duplicates: number; noConsent: number }> {
    if (this.options.kind === 'profiles') return this.duck.store(staged, onProgress);
    onProgress?.('storing', 0, staged.valid);
    const [before] = await this.scratch.query(`SELECT count(*) AS n FROM ${TABLES.events}`);
    const first = Number(before?.n ?? 0);
    // Until the end, progress stays short of the last row: `done === total` means the source is stored.
    const interim = (f: number) => onProgress?.('storing', Math.min(f, (staged.valid - 1) / Math.max(1, staged.valid)), staged.valid);
    // In-run dedupe first: the scratch events table holds the run's earlier sources, and
    // receives this source's new events as rows numbered from `first` on.
    const inRun = await this.duck.store(staged, onProgress && ((_step, f) => interim(f * 0.3)));
    const newRows = `${TABLES.events} WHERE rowid >= ${first}`;
    const noConsent = inRun.noConsent;
    const [given] = await this.scratch.query(`SELECT count(*) AS n, count(*) FILTER (WHERE NOT starts_with(event_id, 'h:')) AS given FROM ${newRows}`);
    if (Number(given?.n ?? 0) !== inRun.stored) {
      throw new StrataError('INTERNAL', `scratch events hold ${Number(given?.n ?? 0)} new rows, expected ${inRun.stored}`);
    }
    const incoming = this.table('in_events');
    await this.truncate(incoming);
    await this.ship(
      `SELECT ${this.eventColumns().map((c) => `${c.duck} AS ${c.name}`).join(', ')} FROM ${newRows}`,
      incoming,
      this.eventColumns(),
      onProgress && ((f) => interim(0.3 + f * 0.6)),
    );
    const givenIds = Number(given?.given ?? 0);
    await this.dedupeIntoStage(inRun.stored - givenIds > 0, givenIds > 0);
    const total = await this.countOnShards(this.table('stage_events').local);
    const stored = total - this.stagedEvents;
    this.stagedEvents = total;
    onProgress?.('storing', 1, staged.valid);
    return { stored, duplicates: staged.valid - noConsent - stored, noConsent };
  }

  async finish(run: IngestRunRecord, rejectsPath: string | null): Promise<IngestFinishResult> {
    // The scratch store computes the run's users and profile rows, the `$consent` events of
    // profile consent traits and the denied spans of consent users, and writes the rejects file.
    const scratchRun = await this.duck.finish(run, rejectsPath);
    const consentFromProfiles = scratchRun.consentFromProfiles;
    if (this.options.kind === 'profiles') {
      await this.stageProfiles();
      if (consentFromProfiles > 0) await this.stageProfileConsent();
    }
    // Before anything attaches: the stored events new opt-outs cover (the run's own are never in a denied span).
    const denied = await this.duck.deniedIntervalsSql();
    const removedAfterOptOut = denied === null ? 0 : await this.removeDenied(denied);
    await this.stageUsers();

    const order =
      this.options.kind === 'events' ? ['stage_events', 'stage_users'] : consentFromProfiles > 0 ? ['stage_profiles', 'stage_events', 'stage_users'] : ['stage_profiles', 'stage_users'];
    const target: Record<string, string> = { stage_events: TABLES.events, stage_users: TABLES.users, stage_profiles: TABLES.profiles };
    for (const name of order) {
      const real = this.ch.clustered ? `${target[name]}_local` : target[name]!;
      // Attach on every shard at once: the window in which shards differ stays as short as the statement.
      await Promise.all(this.ch.shardClients.map((c) => this.ch.command(c, `ALTER TABLE ${real} ATTACH PARTITION tuple() FROM ${qc(this.table(name).local)}`)));
    }

    if (removedAfterOptOut > 0) await this.refreshFirstEvents();

    const lit = clickhouseString;
    const privacy = run.privacy ? { ...run.privacy, removedAfterOptOut, consentFromProfiles } : null;
    await this.ch.execute(
      `INSERT INTO ${TABLES.ingestRuns} (run_id, kind, files, started_at, finished_at, read, stored, rejected, duplicates, dropped${privacy ? ', privacy' : ''})
       VALUES (${lit(run.runId)}, ${lit(run.kind)}, ${lit(JSON.stringify(run.files))}, ${Math.trunc(run.startedAtMs)}, ${Math.trunc(run.finishedAtMs)},
               ${run.read}, ${run.stored}, ${run.rejected}, ${run.duplicates}, ${lit(JSON.stringify(run.dropped))}${privacy ? `, ${lit(JSON.stringify(privacy))}` : ''})`,
    );
    return { removedAfterOptOut, consentFromProfiles };
  }

  /** A profiles run's `$consent` events (scratch events after the copied ones) go through the events staging, deduped like any. */
  private async stageProfileConsent(): Promise<void> {
    const fields = consentFields();
    await this.createIncoming('in_events', this.eventColumns(fields));
    await this.createStage('stage_events', TABLES.events);
    await this.ship(
      `SELECT ${this.eventColumns(fields).map((c) => `${c.duck} AS ${c.name}`).join(', ')} FROM ${TABLES.events} WHERE rowid >= ${this.copiedEvents}`,
      this.table('in_events'),
      this.eventColumns(fields),
    );
    await this.dedupeIntoStage(true, false, fields);
  }

  /**
   * Delete, on each shard, the stored events of the run's consent users inside a denied
   * span (shipped from the scratch store), and count them. A mutation per shard, waited for.
   */
  private async removeDenied(deniedSql: string): Promise<number> {
    const columns: IncomingColumn[] = [
      { name: 'c0', type: 'String', duck: 'user_id' },
      { name: 'c1', type: 'Int64', duck: 'start_ms' },
      { name: 'c2', type: 'Int64', duck: 'stop_ms' },
    ];
    await this.createIncoming('in_denied', columns);
    await this.ship(`SELECT user_id AS c0, start_ms AS c1, stop_ms AS c2 FROM (${deniedSql})`, this.table('in_denied'), columns);
    const spans = qc(this.table('in_denied').local);
    const ids = this.table('del_ids').local;
    const events = this.ch.clustered ? `${TABLES.events}_local` : TABLES.events;
    await Promise.all(this.ch.shardClients.map((c) => this.createOn(c, ids, `CREATE TABLE ${qc(ids)} (c0 String) ENGINE = MergeTree ORDER BY c0`)));
    const collect = `INSERT INTO ${qc(ids)} (c0)
      SELECT event_id FROM (SELECT event_id, user_id, ts FROM ${events} WHERE event != ${clickhouseString(CONSENT_EVENT)} AND user_id IN (SELECT c0 FROM ${spans}))
      ALL INNER JOIN (SELECT c0 AS user_id, c1, c2 FROM ${spans}) USING (user_id)
      WHERE ts >= c1 AND ts < c2`;
    await Promise.all(this.ch.shardClients.map((c) => this.ch.command(c, collect)));
    const removed = await this.countOnShards(ids);
    if (removed > 0) await this.ch.deleteWhere(TABLES.events, `event_id IN (SELECT c0 FROM ${qc(ids)})`);
    return removed;
  }

  /** users.first_event_at back to each consent user's earliest stored event after removals: a new version per user. */
  private async refreshFirstEvents(): Promise<void> {
    const spans = qc(this.table('in_denied').local);
    const users = this.ch.clustered ? `${TABLES.users}_local` : TABLES.users;
    const events = this.ch.clustered ? `${TABLES.events}_local` : TABLES.events;
    const sql = `INSERT INTO ${users} (user_id, first_event_at, has_profile, version)
      SELECT user_id, first_ts, has_profile, version + 1
      FROM (SELECT user_id, has_profile, version FROM ${users} FINAL WHERE user_id IN (SELECT c0 FROM ${spans}))
      ANY INNER JOIN (SELECT user_id, min(ts) AS first_ts FROM ${events} WHERE user_id IN (SELECT c0 FROM ${spans}) GROUP BY user_id) USING (user_id)`;
    await Promise.all(this.ch.shardClients.map((c) => this.ch.command(c, sql)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let failure: unknown;
    // Distributed tables (on the initiator) before the tables under them; shards in parallel.
    const drop = (list: readonly { client: ClickHouseClient; table: string }[]) =>
      Promise.all(list.map(({ client, table }) => this.ch.command(client, `DROP TABLE IF EXISTS ${qc(table)}`).catch((e: unknown) => void (failure ??= e))));
    await drop(this.created.filter((t) => t.table.endsWith('_d')));
    await drop(this.created.filter((t) => !t.table.endsWith('_d')));
    try {
      await this.duck.close();
      await this.scratch.close();
    } finally {
      await rm(this.dir, { recursive: true, force: true });
    }
    if (failure !== undefined) throw failure;
  }

  // --- ClickHouse side ------------------------------------------------------------------

  private eventColumns(fields: readonly IngestField[] = this.options.fields): IncomingColumn[] {
    return [
      { name: 'c0', type: 'String', duck: 'event_id' },
      { name: 'c1', type: 'String', duck: 'user_id' },
      { name: 'c2', type: 'String', duck: 'event' },
      { name: 'c3', type: 'Int64', duck: 'epoch_ms(ts)' },
      ...fields.map((f, i) => ({ name: `c${4 + i}`, type: CLICKHOUSE_TYPES[f.type], duck: duckValue(qd(propertyColumn(f.name)), f) })),
    ];
  }

  private profileColumns(): IncomingColumn[] {
    return [
      { name: 'c0', type: 'String', duck: 'user_id' },
      ...this.options.fields.map((f, i) => ({ name: `c${1 + i}`, type: CLICKHOUSE_TYPES[f.type], duck: duckValue(qd(traitColumn(f.name)), f) })),
    ];
  }

  private userColumns(): IncomingColumn[] {
    return [
      { name: 'c0', type: 'String', duck: 'user_id' },
      { name: 'c1', type: 'Nullable(Int64)', duck: 'epoch_ms(first_event_at)' },
      { name: 'c2', type: 'UInt8', duck: 'CAST(has_profile AS TINYINT)' },
    ];
  }

  private table(name: string): RunTable {
    const local = `${this.prefix}_${name}`;
    return { local, distributed: this.ch.clustered && name.startsWith('in_') ? `${local}_d` : null };
  }

  private async createOn(client: ClickHouseClient, table: string, sql: string): Promise<void> {
    this.created.push({ client, table });
    await this.ch.command(client, sql);
  }

  /** An incoming table on every shard, and on a cluster a Distributed table over them on the initiator, sharded like the store. */
  private async createIncoming(name: string, columns: readonly IncomingColumn[]): Promise<void> {
    const user = columns.find((c) => c.duck === 'user_id')!.name;
    const t = this.table(name);
    const body = `(${columns.map((c) => `${c.name} ${c.type}`).join(', ')})`;
    await Promise.all(this.ch.shardClients.map((c) => this.createOn(c, t.local, `CREATE TABLE ${qc(t.local)} ${body} ENGINE = MergeTree ORDER BY c0`)));
    if (t.distributed !== null) {
      const l = this.ch.layout;
      await this.createOn(
        this.ch.client,
        t.distributed,
        `CREATE TABLE ${qc(t.distributed)} ${body} ENGINE = Distributed(${qc(l.cluster!)}, ${qc(l.database)}, ${qc(t.local)}, ${shardingKey(user)})`,
      );
    }
  }

  /** A staging table on every shard with the exact structure of the real (local) table, so it can be attached to it. */
  private async createStage(name: string, realTable: string): Promise<void> {
    const t = this.table(name).local;
    const real = this.ch.clustered ? `${realTable}_local` : realTable;
    await Promise.all(this.ch.shardClients.map((c) => this.createOn(c, t, `CREATE TABLE ${qc(t)} AS ${real}`)));
  }

  private async truncate(t: RunTable): Promise<void> {
    await Promise.all(this.ch.shardClients.map((c) => this.ch.command(c, `TRUNCATE TABLE ${qc(t.local)}`)));
  }

  private async countOnShards(table: string): Promise<number> {
    const counts = await Promise.all(this.ch.shardClients.map((c) => this.ch.queryOn(c, `SELECT count() AS n FROM ${qc(table)}`)));
    return counts.reduce((s, rows) => s + Number(rows[0]?.n ?? 0), 0);
  }

  /**
   * Write the rows of a scratch query as JSON lines and stream them into the incoming
   * table (through its Distributed table on a cluster, which routes each row to its shard).
   */
  private async ship(select: string, t: RunTable, columns: readonly IncomingColumn[], onFraction?: (f: number) => void): Promise<void> {
    const file = path.join(this.dir, `${t.local}.jsonl`);
    await this.scratch.execute(`COPY (${select}) TO ${duckdbDialect.stringLiteral(file)} (FORMAT json)`);
    const size = (await stat(file)).size;
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sent += chunk.length;
        if (onFraction && size > 0) onFraction(Math.min(1, sent / size));
        done(null, chunk);
      },
    });
    const data = createReadStream(file).pipe(counter);
    try {
      await this.ch.insertStream(this.ch.client, qc(t.distributed ?? t.local), columns.map((c) => c.name), 'JSONEachRow', data);
    } finally {
      data.destroy();
      await rm(file, { force: true });
    }
  }

  /**
   * On each shard: the incoming events not stored yet go to the events staging table.
   * Content-hash ids are checked on the shard (same user), narrowed by (event, ts), the sort
   * key; given ids against every shard. A check runs only when the source has such ids.
   */
  private async dedupeIntoStage(hashedIds: boolean, givenIds: boolean, fields: readonly IngestField[] = this.options.fields): Promise<void> {
    const inc = qc(this.table('in_events').local);
    const stage = qc(this.table('stage_events').local);
    const localEvents = this.ch.clustered ? `${TABLES.events}_local` : TABLES.events;
    const columns = ['event_id', 'user_id', 'event', 'ts', 'ingested_at', ...fields.map((f) => propertyColumn(f.name))];
    const values = ['c0', 'c1', 'c2', 'c3', `toInt64(${this.ingestedAt})`, ...fields.map((_, i) => `c${4 + i}`)];
    const hashed = `startsWith(c0, 'h:')`;
    const stored: string[] = [];
    if (hashedIds) {
      stored.push(
        `(${hashed} AND c0 IN (SELECT event_id FROM ${localEvents} WHERE (event, ts) IN (SELECT c2, c3 FROM ${inc} WHERE ${hashed}) AND event_id IN (SELECT c0 FROM ${inc} WHERE ${hashed})))`,
      );
    }
    if (givenIds) {
      stored.push(`(NOT ${hashed} AND c0 IN (SELECT event_id FROM ${TABLES.events} WHERE event_id GLOBAL IN (SELECT c0 FROM ${inc} WHERE NOT ${hashed})))`);
    }
    const where = stored.length === 0 ? '' : ` WHERE NOT (${stored.join(' OR ')})`;
    const sql = `INSERT INTO ${stage} (${columns.map(qc).join(', ')}) SELECT ${values.join(', ')} FROM ${inc}${where}`;
    await Promise.all(this.ch.shardClients.map((c) => this.ch.command(c, sql)));
  }

  /** The run's users, merged on each shard with the stored row: earliest first event, has_profile or'ed, a higher version. */
  private async stageUsers(): Promise<void> {
    await this.createIncoming('in_users', this.userColumns());
    await this.createStage('stage_users', TABLES.users);
    const t = this.table('in_users');
    const inc = qc(t.local);
    if (this.options.kind === 'events') {
      // Only the events stored put a user in the population index: a row found to be a
      // duplicate of a stored event (perhaps of another user, or at another instant) does not.
      const fromStaged = `INSERT INTO ${inc} (c0, c1, c2) SELECT user_id, min(ts), 0 FROM ${qc(this.table('stage_events').local)} GROUP BY user_id`;
      await Promise.all(this.ch.shardClients.map((c) => this.ch.command(c, fromStaged)));
    } else {
      await this.ship(`SELECT ${this.userColumns().map((c) => `${c.duck} AS ${c.name}`).join(', ')} FROM ${TABLES.users}`, t, this.userColumns());
    }
    const stored = this.ch.clustered ? `${TABLES.users}_local` : TABLES.users;
    const sql = `INSERT INTO ${qc(this.table('stage_users').local)} (user_id, first_event_at, has_profile, version)
      SELECT c0, multiIf(isNull(o_first), c1, isNull(c1), o_first, least(c1, o_first)), greatest(c2, coalesce(o_profile, 0)), coalesce(o_version, 0) + 1
      FROM ${inc}
      LEFT JOIN (SELECT user_id AS c0, first_event_at AS o_first, has_profile AS o_profile, version AS o_version
                 FROM ${stored} FINAL WHERE user_id IN (SELECT c0 FROM ${inc})) USING (c0)`;
    await Promise.all(this.ch.shardClients.map((c) => this.ch.command(c, sql)));
  }

  /**
   * The run's profile rows (each trait: the run's latest non-null value), merged on each
   * shard with the stored row trait by trait. Traits the plan no longer declares keep
   * their stored values.
   */
  private async stageProfiles(): Promise<void> {
    await this.createIncoming('in_profiles', this.profileColumns());
    await this.createStage('stage_profiles', TABLES.profiles);
    const t = this.table('in_profiles');
    await this.ship(`SELECT ${this.profileColumns().map((c) => `${c.duck} AS ${c.name}`).join(', ')} FROM ${TABLES.profiles}`, t, this.profileColumns());
    const inc = qc(t.local);
    const stored = this.ch.clustered ? `${TABLES.profiles}_local` : TABLES.profiles;
    const runColumn = new Map(this.options.fields.map((f, i) => [traitColumn(f.name), `c${1 + i}`]));
    await Promise.all(
      this.ch.shardClients.map(async (c) => {
        const traits = [...(await this.ch.columnsOf(c, stored))].filter((name) => !['user_id', 'updated_at', 'version'].includes(name));
        const old = traits.map((name, i) => `${qc(name)} AS o${i}`);
        const merged = traits.map((name, i) => (runColumn.has(name) ? `coalesce(${runColumn.get(name)}, o${i})` : `o${i}`));
        const sql = `INSERT INTO ${qc(this.table('stage_profiles').local)} (user_id, updated_at, version${traits.map((n) => `, ${qc(n)}`).join('')})
          SELECT c0, toInt64(${Date.now()}), coalesce(o_version, 0) + 1${merged.map((m) => `, ${m}`).join('')}
          FROM ${inc}
          LEFT JOIN (SELECT user_id AS c0, version AS o_version${old.map((o) => `, ${o}`).join('')}
                     FROM ${stored} FINAL WHERE user_id IN (SELECT c0 FROM ${inc})) USING (c0)`;
        await this.ch.command(c, sql);
      }),
    );
  }
}

/** A scratch column as ClickHouse stores it: timestamps as epoch ms, booleans as 0/1. */
function duckValue(column: string, field: IngestField): string {
  switch (field.type) {
    case 'timestamp':
      return `epoch_ms(${column})`;
    case 'boolean':
      return `CAST(${column} AS TINYINT)`;
    default:
      return column;
  }
}

/** The properties of a `$consent` event, as ingest fields. */
function consentFields(): IngestField[] {
  return [
    { name: PURPOSE_PROPERTY, type: 'string', events: [CONSENT_EVENT] },
    { name: GRANTED_PROPERTY, type: 'boolean', events: [CONSENT_EVENT] },
    { name: SOURCE_PROPERTY, type: 'string', events: [CONSENT_EVENT] },
  ];
}

/**
 * What the scratch store needs from ClickHouse to judge a run as the DuckDB store would:
 * the suppression list (hashes), and, when consent is enforced, the stored analytics
 * `$consent` records (into the scratch events table, first; returns how many), so the
 * scratch session's consent history is the store's.
 */
async function copyPrivacyState(store: ClickHouseStore, scratch: DuckDbStore, options: IngestSessionOptions): Promise<number> {
  const lit = duckdbDialect.stringLiteral;
  const hashes = await store.query(`SELECT DISTINCT user_hash FROM ${TABLES.suppressions}`);
  for (let i = 0; i < hashes.length; i += 1000) {
    const chunk = hashes.slice(i, i + 1000).map((r) => `(${lit(String(r.user_hash))}, now()::TIMESTAMP, NULL)`);
    await scratch.execute(`INSERT OR IGNORE INTO ${TABLES.suppressions} VALUES ${chunk.join(', ')}`);
  }
  if (!options.privacy?.consent) return 0;
  const [purpose, granted, source] = consentFields().map((f) => ({ column: propertyColumn(f.name), type: DUCKDB_TYPES[f.type] }));
  for (const c of [purpose!, granted!, source!]) await scratch.execute(`ALTER TABLE ${TABLES.events} ADD COLUMN IF NOT EXISTS ${qd(c.column)} ${c.type}`);
  const rows = await store.query(
    `SELECT event_id, user_id, ts, ${qc(granted!.column)} AS granted FROM ${TABLES.events}
     WHERE event = ${clickhouseString(CONSENT_EVENT)} AND ${qc(purpose!.column)} = 'analytics' AND isNotNull(${qc(granted!.column)})`,
  );
  for (let i = 0; i < rows.length; i += 1000) {
    const chunk = rows
      .slice(i, i + 1000)
      .map((r) => `(${lit(String(r.event_id))}, ${lit(String(r.user_id))}, ${lit(CONSENT_EVENT)}, epoch_ms(${Number(r.ts)}::BIGINT), now()::TIMESTAMP, 'analytics', ${Number(r.granted) === 1 || r.granted === true})`);
    await scratch.execute(
      `INSERT INTO ${TABLES.events} (event_id, user_id, event, ts, ingested_at, ${qd(purpose!.column)}, ${qd(granted!.column)}) VALUES ${chunk.join(', ')}`,
    );
  }
  return rows.length;
}
