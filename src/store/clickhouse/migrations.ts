/**
 * Versioned schema migrations for the ClickHouse store. Append only: a released migration
 * never changes; a schema change is a new entry.
 *
 * Physical layout (the same logical tables as src/store/schema.ts):
 * - Timestamps are Int64 epoch milliseconds (18.16 has no DateTime64), booleans UInt8,
 *   optional values Nullable.
 * - events: MergeTree ordered by (event, ts), so scans filtered on event name and time
 *   skip granules. No partition key: one partition, so a whole ingest run is attached
 *   atomically from its staging table (`ATTACH PARTITION tuple() FROM`).
 * - users, profiles: ReplacingMergeTree(version) ordered by user_id: an update inserts the
 *   whole new row with a higher version; reads go through FINAL (the dialect's `table`).
 * - snapshot_members: MergeTree ordered by (snapshot_id, user_id).
 * - model_scores: MergeTree ordered by (run_id, user_id).
 * - segment_versions, snapshots, ingest_runs, schema_migrations, experiment_versions, clv_fits,
 *   model_versions, score_runs: small
 *   MergeTree tables.
 *
 * Cluster mode: the user-keyed tables (events, users, profiles, snapshot_members, model_scores) exist on
 * every shard as `<name>_local`, and on every node as a Distributed table `<name>` over
 * them, sharded by `cityHash64(user_id)`: every row of one user is on one shard, so
 * per-user conditions run on each shard alone. The other tables live on the initiator.
 */
import type { FieldType } from '../../schema/tracking-plan.js';
import { TABLES } from '../schema.js';

/** Where a statement runs: once on the initiator, or on every shard. */
export type StatementTarget = 'initiator' | 'shards';

export interface ClickHouseStatement {
  readonly on: StatementTarget;
  readonly sql: string;
}

export interface ClickHouseMigration {
  readonly version: number;
  readonly name: string;
  readonly statements: (layout: ClickHouseLayout) => readonly ClickHouseStatement[];
}

export interface ClickHouseLayout {
  readonly database: string;
  /** The cluster name in `remote_servers`; null on a single node. */
  readonly cluster: string | null;
  /** Quotes an identifier (the dialect's). */
  readonly q: (name: string) => string;
  readonly lit: (value: string) => string;
}

/** The user-keyed tables that are sharded in cluster mode. */
export const SHARDED_TABLES: ReadonlySet<string> = new Set([TABLES.events, TABLES.users, TABLES.profiles, TABLES.snapshotMembers, TABLES.modelScores]);

/** The hash that places a user on a shard; every sharded table uses it. */
export const SHARDING_KEY = 'cityHash64(user_id)';

/** The same placement for a table whose user column has another name (an ingest run's incoming rows). */
export function shardingKey(userColumn: string): string {
  return `cityHash64(${userColumn})`;
}

/** Column types of declared properties and traits: every value is optional. */
export const CLICKHOUSE_TYPES: Readonly<Record<FieldType, string>> = {
  string: 'Nullable(String)',
  number: 'Nullable(Float64)',
  boolean: 'Nullable(UInt8)',
  timestamp: 'Nullable(Int64)',
};

/**
 * A table keyed by user: a plain table on one node; on a cluster a local table on every
 * shard and a Distributed table of the plain name over them.
 */
export function userKeyedTable(layout: ClickHouseLayout, name: string, columns: string, engine: string): ClickHouseStatement[] {
  if (layout.cluster === null) return [{ on: 'initiator', sql: `CREATE TABLE IF NOT EXISTS ${name} (${columns}) ENGINE = ${engine}` }];
  const local = `${name}_local`;
  return [
    { on: 'shards', sql: `CREATE TABLE IF NOT EXISTS ${local} (${columns}) ENGINE = ${engine}` },
    {
      on: 'shards',
      sql: `CREATE TABLE IF NOT EXISTS ${name} AS ${local} ENGINE = Distributed(${layout.q(layout.cluster)}, ${layout.q(layout.database)}, ${layout.q(local)}, ${SHARDING_KEY})`,
    },
  ];
}

/**
 * Adds a column to a table, and in a cluster to its local tables and its Distributed table
 * (18.16 has no ADD COLUMN IF NOT EXISTS: the caller checks system.columns first).
 */
export function addColumn(layout: ClickHouseLayout, table: string, column: string, type: string): ClickHouseStatement[] {
  const add = (t: string) => `ALTER TABLE ${t} ADD COLUMN ${layout.q(column)} ${type}`;
  if (layout.cluster === null || !SHARDED_TABLES.has(table)) return [{ on: 'initiator', sql: add(table) }];
  return [
    { on: 'shards', sql: add(`${table}_local`) },
    { on: 'shards', sql: add(table) },
  ];
}

export const CLICKHOUSE_MIGRATIONS: readonly ClickHouseMigration[] = [
  {
    version: 1,
    name: 'events, users, profiles, segments, snapshots, ingest runs',
    statements: (l) => [
      ...userKeyedTable(
        l,
        TABLES.events,
        'event_id String, user_id String, event String, ts Int64, ingested_at Int64',
        'MergeTree ORDER BY (event, ts)',
      ),
      ...userKeyedTable(l, TABLES.users, 'user_id String, first_event_at Nullable(Int64), has_profile UInt8, version UInt64', 'ReplacingMergeTree(version) ORDER BY user_id'),
      ...userKeyedTable(l, TABLES.profiles, 'user_id String, updated_at Int64, version UInt64', 'ReplacingMergeTree(version) ORDER BY user_id'),
      {
        on: 'initiator',
        sql: `CREATE TABLE IF NOT EXISTS ${TABLES.segmentVersions} (key String, version UInt32, definition String, definition_hash String, created_at Int64) ENGINE = MergeTree ORDER BY (key, version)`,
      },
      {
        on: 'initiator',
        sql: `CREATE TABLE IF NOT EXISTS ${TABLES.snapshots} (snapshot_id UInt64, segment_key String, version UInt32, as_of Int64, computed_at Int64, size UInt64, population Nullable(UInt64)) ENGINE = MergeTree ORDER BY snapshot_id`,
      },
      ...userKeyedTable(l, TABLES.snapshotMembers, 'snapshot_id UInt64, user_id String', 'MergeTree ORDER BY (snapshot_id, user_id)'),
      {
        on: 'initiator',
        sql: `CREATE TABLE IF NOT EXISTS ${TABLES.ingestRuns} (run_id String, kind String, files String, started_at Int64, finished_at Int64, read UInt64, stored UInt64, rejected UInt64, duplicates UInt64, dropped String) ENGINE = MergeTree ORDER BY run_id`,
      },
    ],
  },
  {
    version: 2,
    name: 'experiment versions',
    // Definitions are metadata, not user-keyed: one table on the initiator, like segment_versions.
    statements: () => [
      {
        on: 'initiator',
        sql: `CREATE TABLE IF NOT EXISTS ${TABLES.experimentVersions} (key String, version UInt32, definition String, definition_hash String, created_at Int64) ENGINE = MergeTree ORDER BY (key, version)`,
      },
    ],
  },
  {
    version: 3,
    name: 'clv fits',
    // Fitted models are metadata, not user-keyed: one table on the initiator.
    statements: () => [
      {
        on: 'initiator',
        sql: `CREATE TABLE IF NOT EXISTS ${TABLES.clvFits} (version UInt32, model String, unit String, calibration_end Int64, created_at Int64, customers UInt64, fit String) ENGINE = MergeTree ORDER BY version`,
      },
    ],
  },
  {
    version: 4,
    name: 'models, scoring runs, scores',
    // Models and runs are metadata (initiator); scores are user-keyed, sharded like events.
    statements: (l) => [
      {
        on: 'initiator',
        sql: `CREATE TABLE IF NOT EXISTS ${TABLES.modelVersions} (key String, version UInt32, kind String, created_at Int64, body String) ENGINE = MergeTree ORDER BY (key, version)`,
      },
      {
        on: 'initiator',
        sql: `CREATE TABLE IF NOT EXISTS ${TABLES.scoreRuns} (run_id UInt64, model_key String, model_version UInt32, kind String, as_of Int64, created_at Int64, users UInt64) ENGINE = MergeTree ORDER BY run_id`,
      },
      ...userKeyedTable(l, TABLES.modelScores, 'run_id UInt64, user_id String, score Nullable(Float64), percentile Nullable(Float64), cluster Nullable(Int32)', 'MergeTree ORDER BY (run_id, user_id)'),
    ],
  },
  {
    version: 5,
    name: 'privacy and governance: suppressions, audit log, privacy ledger, fairness audits',
    // Metadata on the initiator (timestamps as Int64 milliseconds, like the other metadata).
    // The suppression list holds hashes, not user ids, so it is not user-keyed.
    statements: () => [
      {
        on: 'initiator',
        sql: `CREATE TABLE IF NOT EXISTS ${TABLES.suppressions} (user_hash String, forgotten_at Int64, audit_seq Nullable(UInt64)) ENGINE = MergeTree ORDER BY user_hash`,
      },
      {
        on: 'initiator',
        sql: `CREATE TABLE IF NOT EXISTS ${TABLES.auditLog} (seq UInt64, at Int64, actor String, action String, target String, detail String, prev_hash String, hash String) ENGINE = MergeTree ORDER BY seq`,
      },
      {
        on: 'initiator',
        sql: `CREATE TABLE IF NOT EXISTS ${TABLES.privacyLedger} (release_id UInt64, at Int64, actor String, release String, mechanism String, epsilon Float64, rho Float64, detail String) ENGINE = MergeTree ORDER BY release_id`,
      },
      {
        on: 'initiator',
        sql: `CREATE TABLE IF NOT EXISTS ${TABLES.fairnessAudits} (audit_id UInt64, at Int64, as_of Int64, subject_kind String, subject String, flagged UInt8, body String) ENGINE = MergeTree ORDER BY audit_id`,
      },
    ],
  },
  {
    version: 6,
    name: 'ingest runs record privacy counts',
    statements: () => [{ on: 'initiator', sql: `ALTER TABLE ${TABLES.ingestRuns} ADD COLUMN privacy String DEFAULT ''` }],
  },
];
