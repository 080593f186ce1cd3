/**
 * The physical data model shared by every store and by the SQL compiler.
 *
 * events      event_id VARCHAR (given id, else 'h:' + content hash), user_id VARCHAR,
 *             event VARCHAR, ts TIMESTAMP (UTC, truncated to the millisecond),
 *             ingested_at TIMESTAMP, and one typed column per declared property
 *             (`propertyColumn(name)`; string VARCHAR, number DOUBLE, boolean BOOLEAN,
 *             timestamp TIMESTAMP), added as the plan grows.
 * users       user_id VARCHAR primary key, first_event_at TIMESTAMP (null: profile only),
 *             has_profile BOOLEAN. The population index: the users that exist as of T are
 *             `has_profile OR first_event_at < T`.
 * profiles    user_id VARCHAR primary key, updated_at TIMESTAMP, and one typed column per
 *             declared trait (`traitColumn(name)`). Upserted trait by trait.
 * segment_versions   key, version, definition (JSON text), definition_hash, created_at
 * snapshots          snapshot_id, segment_key, version, as_of, computed_at, size, population
 * snapshot_members   snapshot_id, user_id
 * ingest_runs        run_id, kind, files, started_at, finished_at, read, stored, rejected, duplicates, dropped (JSON),
 *                    privacy (JSON counts: pii hashed/dropped, IPs truncated, suppressed, noConsent, ...)
 * schema_migrations  version, name, applied_at
 * experiment_versions  key, version, definition (canonical JSON of the document), definition_hash, created_at
 * clv_fits           version, model, unit, calibration_end, created_at, customers, fit (JSON: parameters, log-likelihoods, settings)
 * model_versions     key, version, kind (churn | propensity | personas), created_at, body (JSON: the
 *                    definition, the trained artifact, its evaluation and training summary)
 * score_runs         run_id, model_key, model_version, kind (score | cluster), as_of, created_at, users:
 *                    one scoring of the population as of an instant; its rows are visible only once
 *                    the run is recorded here (written last)
 * model_scores       run_id, user_id, score (DOUBLE, null for personas), percentile (0..100, the
 *                    share of the run's users scoring <= this user's score), cluster (INTEGER persona
 *                    id, null for scores): the versioned computed traits the `score`, `percentile`
 *                    and `cluster` conditions read
 * suppressions       user_hash (hex SHA-256 of the erased user id: the list never holds the id
 *                    itself), forgotten_at, audit_seq: users erased by `privacy forget`, whose
 *                    re-ingested events and profiles are refused and counted
 * audit_log          seq, at, actor, action, target, detail (JSON: what changed, a diff for
 *                    definitions), prev_hash, hash (SHA-256 chain over the records): append-only
 * privacy_ledger     release_id, at, actor, release (what was released), mechanism, epsilon, rho,
 *                    detail (JSON): the differential-privacy budget spent, one row per release
 * fairness_audits    audit_id, at, as_of, subject_kind (segment | model), subject, flagged,
 *                    body (JSON report): stored fairness audits, scheduled or on demand
 */
import type { FieldType } from '../schema/tracking-plan.js';

export const TABLES = {
  events: 'events',
  users: 'users',
  profiles: 'profiles',
  segmentVersions: 'segment_versions',
  snapshots: 'snapshots',
  snapshotMembers: 'snapshot_members',
  ingestRuns: 'ingest_runs',
  migrations: 'schema_migrations',
  experimentVersions: 'experiment_versions',
  clvFits: 'clv_fits',
  modelVersions: 'model_versions',
  scoreRuns: 'score_runs',
  modelScores: 'model_scores',
  suppressions: 'suppressions',
  auditLog: 'audit_log',
  privacyLedger: 'privacy_ledger',
  fairnessAudits: 'fairness_audits',
} as const;

/** The column holding event property `name` (to be quoted by the dialect). */
export function propertyColumn(name: string): string {
  return `p_${name}`;
}

/** The column holding profile trait `name` (to be quoted by the dialect). */
export function traitColumn(name: string): string {
  return `t_${name}`;
}

export const DUCKDB_TYPES: Readonly<Record<FieldType, string>> = {
  string: 'VARCHAR',
  number: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
};

/**
 * Every table keyed by user, with its user column. Erasure and export walk this list,
 * and a test checks that every table of the live schema with a user_id column is here.
 */
export const USER_KEYED_TABLES: readonly { readonly table: string; readonly userColumn: string }[] = [
  { table: TABLES.events, userColumn: 'user_id' },
  { table: TABLES.users, userColumn: 'user_id' },
  { table: TABLES.profiles, userColumn: 'user_id' },
  { table: TABLES.snapshotMembers, userColumn: 'user_id' },
  { table: TABLES.modelScores, userColumn: 'user_id' },
];
