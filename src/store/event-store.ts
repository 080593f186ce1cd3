/**
 * The EventStore interface: the only way domain code touches data. Implementations:
 * store/duckdb (the embedded default) and store/clickhouse (one node or a sharded
 * cluster). Domain modules never import a driver.
 *
 * Compiled segment SQL reaches the store through `query` / `execute`; the dialect that
 * compiled it is the store's own (`store.dialect`).
 */
import type { FieldType, TrackingPlan } from '../schema/tracking-plan.js';
import type { SqlDialect } from '../segments/compile/dialect.js';

export type Row = Record<string, unknown>;

/** Where a per-user query runs: `parts` parts of the data (shards), each answering for its own users only. */
export interface ByUserTarget {
  readonly parts: number;
}

export interface EventStore {
  /** `duckdb`, later `clickhouse`. For display only: differences are capability flags on the dialect. */
  readonly engine: string;
  readonly dialect: SqlDialect;

  /** Bring the schema to the current version (idempotent; versioned migrations). */
  migrate(): Promise<void>;
  /** Add the typed columns that the plan's properties and traits need (never drops a column). */
  applyPlan(plan: TrackingPlan): Promise<void>;

  /** Run a read query; values come back as plain JS: numbers, strings, booleans, bigint for BIGINT, Date for TIMESTAMP. */
  query(sql: string): Promise<Row[]>;
  /** Run a statement that returns nothing useful. */
  execute(sql: string): Promise<void>;
  /**
   * Run a per-user query (one whose rows each depend on one user's data only, such as
   * segment membership), built for the dialect of where it runs. One node: `query`. A
   * sharded store runs it on every shard against the shard's own tables and concatenates
   * the rows, so per-user work stays where the user's data is.
   */
  queryByUser(build: (dialect: SqlDialect, target: ByUserTarget) => string): Promise<Row[]>;
  /**
   * `queryByUser` with the result column by column (`columns[name][row]`, the same values
   * `query` gives): no object per row, for wide results read into typed arrays (features).
   * Parts are concatenated in order.
   */
  queryColumnsByUser(build: (dialect: SqlDialect, target: ByUserTarget) => string): Promise<ColumnRows>;
  /** The same for a per-user statement (`INSERT INTO snapshot_members SELECT ...`). */
  executeByUser(build: (dialect: SqlDialect, target: ByUserTarget) => string): Promise<void>;
  /**
   * Delete the rows of one of the store's tables where `where` (SQL over its columns)
   * holds, returning once they are gone (ClickHouse: a mutation, waited for).
   */
  deleteWhere(table: string, where: string): Promise<void>;
  /**
   * Append rows computed outside the store (model scores) to one of its tables, column by
   * column: `columns` names every column of the table in the table's order, each with one
   * value per row. A ClickHouse cluster routes each row to its user's shard. Inside
   * `transaction` on DuckDB the rows commit with it; ClickHouse appends at once.
   */
  appendRows(table: string, columns: readonly AppendColumn[], rows: number): Promise<void>;
  /** `count` new snapshot ids, ascending, each larger than every snapshot id stored so far. */
  nextSnapshotIds(count: number): Promise<number[]>;
  /** Run `fn` in one transaction: everything or nothing. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;

  /**
   * Start an ingest run: files are read by the store's native readers and validated,
   * converted and deduplicated set-based inside the store. See IngestSession for the order
   * of calls; `close` it in every case.
   */
  openIngest(options: IngestSessionOptions): Promise<IngestSession>;
  /** The columns of a tabular file (to check a column mapping before reading it all). */
  describeSource(source: SourceFile): Promise<SourceShape>;
  /** Count, per event and field, how the values of a source look, for plan inference. */
  profileSource(source: SourceFile, mapping: SourceMapping, maxRows: number): Promise<SourceProfile>;

  close(): Promise<void>;
}

/** A result column by column: `columns[name][i]` is row i's value. */
export interface ColumnRows {
  readonly length: number;
  readonly columns: Readonly<Record<string, readonly unknown[]>>;
}

/** Rows to columns (engines without a columnar reader; parts concatenated). */
export function rowsToColumns(rows: readonly Row[]): ColumnRows {
  const columns: Record<string, unknown[]> = {};
  for (const key of Object.keys(rows[0] ?? {})) columns[key] = rows.map((r) => r[key]);
  return { length: rows.length, columns };
}

/**
 * One column of `appendRows`: strings (null allowed), doubles or 32/64-bit integers (NaN is
 * null). Timestamps are not appended this way (their physical type differs per engine).
 */
export type AppendColumn =
  | { readonly name: string; readonly type: 'string'; readonly values: readonly (string | null)[] }
  | { readonly name: string; readonly type: 'double' | 'integer' | 'bigint'; readonly values: ArrayLike<number> };

// ---- Ingestion contracts (implemented per engine; src/ingest holds the domain logic) ----

export type SourceFormat = 'jsonl' | 'csv' | 'parquet';

/** A file the store can read with its native reader. */
export interface SourceFile {
  /** A local path; gzip is recognised by a `.gz` ending. */
  readonly path: string;
  /** How rejects and errors name the file: the path the user gave, or `<records>`. */
  readonly label: string;
  readonly format: SourceFormat;
  /** CSV: a fixed delimiter (tab for .tsv); sniffed when absent. */
  readonly delimiter?: string;
  /** JSON: one object per line, or `auto` (a .json file may also hold one array of objects). */
  readonly jsonLayout?: 'lines' | 'auto';
}

/** A column of a tabular file, with the engine's type for it (CSV columns are all text). */
export interface SourceColumn {
  readonly name: string;
  readonly type: string;
}

/** The columns of a tabular file in order; null for keyed records (JSON), whose keys vary per row. */
export interface SourceShape {
  readonly columns: readonly SourceColumn[] | null;
  /** JSON: the top-level keys of the rows the engine sampled from the start of the file, when it could tell. */
  readonly sampledKeys?: readonly string[];
}

/** Where the parts of a row are. Column names for tabular files, top-level keys for JSON. */
export interface SourceMapping {
  readonly kind: 'events' | 'profiles';
  readonly user: string;
  /** Events only. */
  readonly time: string | null;
  /** Events only: the column holding the event name, or one name for every row. */
  readonly event: { readonly column: string } | { readonly literal: string } | null;
  /** A column holding a unique event id; rows where it is empty fall back to the content hash. */
  readonly id: string | null;
  /**
   * Events only: when set, every valid row's event id is `<rowIds>:<line>` (the file's base
   * name and the row's line, counted as in the rejects file), instead of `id` or a content
   * hash: repeated rows stay distinct events and re-ingesting the file adds nothing.
   */
  readonly rowIds?: string;
  /** JSON: the key of the nested object that holds the fields (`properties` or `traits`). */
  readonly container: string;
}

/** A declared property or trait, and the events that declare it (null for traits: every row). */
export interface IngestField {
  readonly name: string;
  readonly type: FieldType;
  readonly events: readonly string[] | null;
  /** Flagged pii in the plan: hashed or dropped at ingest (IngestPrivacy.pii). */
  readonly pii?: boolean;
  /** An IP address field (src/privacy/minimize.ts isIpField): truncated or dropped (IngestPrivacy.ip). */
  readonly ip?: boolean;
}

export interface IngestSpec extends SourceMapping {
  readonly fields: readonly IngestField[];
  /** Events in the tracking plan; rows naming another event are rejected. */
  readonly declaredEvents: readonly string[];
  readonly undeclared: 'drop' | 'reject';
}

export interface IngestSessionOptions {
  readonly kind: 'events' | 'profiles';
  /** Every declared trait (profiles) or property (events), so the run's scratch tables can hold any of them. */
  readonly fields: readonly IngestField[];
  /** Turn on the engine's statement progress so `ingest` can report it. */
  readonly trackProgress: boolean;
  /** Privacy at ingest (issue 7); absent: values and ids are stored as validated. */
  readonly privacy?: IngestPrivacy;
}

/**
 * What privacy does to an ingest run (src/ingest/ingest-privacy.ts builds it from the
 * workspace's `privacy:` section): pseudonymized ids, minimized pii and IP fields, users on
 * the suppression list refused, analytics consent enforced.
 */
export interface IngestPrivacy {
  /** HMAC-SHA256 key for user ids (src/privacy/pseudonymize.ts); null: ids stored as given. */
  readonly pseudonymKey: Uint8Array | null;
  readonly pii: 'hash' | 'drop';
  readonly ip: 'truncate' | 'drop';
  /** Analytics consent enforced (the plan declares `$consent`); null: not enforced. */
  readonly consent: { readonly analyticsDefault: boolean } | null;
  /** The run's ingest instant (epoch ms): profile consent traits become `$consent` events at it. */
  readonly ingestedAtMs: number;
}

/** Values and rows privacy changed or discarded in a run; field maps are by property or trait name. */
export interface IngestPrivacyCounts {
  /** Rows refused because their (stored-form) user is on the suppression list: counted, never written anywhere. */
  readonly suppressed: number;
  /** Events discarded: the user had no analytics consent at their instant. */
  readonly noConsent: number;
  /** Stored events deleted because a newly ingested opt-out covers their instant. */
  readonly removedAfterOptOut: number;
  /** `$consent` events written from profile consent traits. */
  readonly consentFromProfiles: number;
  /** Rows whose user id was replaced by its pseudonym. */
  readonly pseudonymized: number;
  readonly piiHashed: Readonly<Record<string, number>>;
  readonly piiDropped: Readonly<Record<string, number>>;
  readonly ipTruncated: Readonly<Record<string, number>>;
  readonly ipDropped: Readonly<Record<string, number>>;
  /** Values of IP fields that were not IP addresses: dropped. */
  readonly ipInvalid: Readonly<Record<string, number>>;
}

export function emptyPrivacyCounts(): IngestPrivacyCounts {
  return { suppressed: 0, noConsent: 0, removedAfterOptOut: 0, consentFromProfiles: 0, pseudonymized: 0, piiHashed: {}, piiDropped: {}, ipTruncated: {}, ipDropped: {}, ipInvalid: {} };
}

export type IngestStep = 'reading' | 'validating' | 'storing';

/** A source read and validated into the run's scratch tables, not yet stored. */
export interface StagedSource {
  /** Which staged source of the session this is. */
  readonly index: number;
  readonly read: number;
  /** Rows that passed validation (to be stored, or duplicates). */
  readonly valid: number;
  readonly rejectReasons: Readonly<Record<string, number>>;
  readonly droppedFields: Readonly<Record<string, number>>;
  /** What privacy did while staging (suppressed rows are in `read`, not in `valid` nor the rejects). */
  readonly privacy?: IngestPrivacyCounts;
}

export interface IngestRunRecord {
  readonly runId: string;
  readonly kind: 'events' | 'profiles';
  readonly files: readonly string[];
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
  readonly read: number;
  readonly stored: number;
  readonly rejected: number;
  readonly duplicates: number;
  readonly dropped: Readonly<Record<string, number>>;
  /** Privacy counts (recorded in ingest_runs.privacy as JSON); `finish` adds removedAfterOptOut and consentFromProfiles. */
  readonly privacy?: IngestPrivacyCounts;
}

/** What `finish` did beyond the staged sources. */
export interface IngestFinishResult {
  readonly removedAfterOptOut: number;
  readonly consentFromProfiles: number;
}

/**
 * One ingest run. Sources are staged first, outside any transaction (scratch tables only);
 * then, inside one `transaction`, each staged source is stored and the run finished, so
 * the store changes all at once or not at all. `close` drops the scratch tables, whatever
 * happened. Progress comes as a fraction of each step (0..1) with the rows the step
 * covers (0 while reading: not known yet).
 */
export interface IngestSession {
  /** Read and validate one source; rejects are kept for `finish`. */
  stage(
    source: SourceFile,
    shape: SourceShape,
    spec: IngestSpec,
    onProgress?: (step: IngestStep, fraction: number, rows: number) => void,
  ): Promise<StagedSource>;
  /** Store a staged source: new events (dedupe against the store and within the run), or profile rows for `finish` to upsert. */
  store(
    staged: StagedSource,
    onProgress?: (step: IngestStep, fraction: number, rows: number) => void,
  ): Promise<{ readonly stored: number; readonly duplicates: number; readonly noConsent?: number }>;
  /**
   * Apply the run (population index, profile upserts), write the rejected rows as JSONL to
   * `rejectsPath` (when there are any and a path is given) and record the run.
   */
  finish(run: IngestRunRecord, rejectsPath: string | null): Promise<IngestFinishResult | void>;
  /** Drop the run's scratch tables. */
  close(): Promise<void>;
}

/** How the values of one field look: counts over the rows where it is present. */
export interface FieldProfile {
  /** The event of the rows counted; null for profiles. */
  readonly event: string | null;
  readonly field: string;
  readonly present: number;
  readonly booleans: number;
  readonly numbers: number;
  readonly timestamps: number;
}

export interface SourceProfile {
  readonly rows: number;
  /** Rows per event name (events only). */
  readonly events: readonly { readonly event: string; readonly rows: number }[];
  readonly fields: readonly FieldProfile[];
}
