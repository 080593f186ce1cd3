/**
 * Versioned schema migrations for the DuckDB store. Append only: a released migration
 * never changes; a schema change is a new entry.
 */
import { TABLES } from '../schema.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events, users, profiles, segments, snapshots, ingest runs',
    statements: [
      `CREATE TABLE ${TABLES.events} (
        event_id VARCHAR NOT NULL,
        user_id VARCHAR NOT NULL,
        event VARCHAR NOT NULL,
        ts TIMESTAMP NOT NULL,
        ingested_at TIMESTAMP NOT NULL
      )`,
      `CREATE TABLE ${TABLES.users} (
        user_id VARCHAR PRIMARY KEY,
        first_event_at TIMESTAMP,
        has_profile BOOLEAN NOT NULL DEFAULT false
      )`,
      `CREATE TABLE ${TABLES.profiles} (
        user_id VARCHAR PRIMARY KEY,
        updated_at TIMESTAMP NOT NULL
      )`,
      `CREATE TABLE ${TABLES.segmentVersions} (
        key VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        definition VARCHAR NOT NULL,
        definition_hash VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        PRIMARY KEY (key, version)
      )`,
      `CREATE SEQUENCE snapshot_ids START 1`,
      `CREATE TABLE ${TABLES.snapshots} (
        snapshot_id BIGINT PRIMARY KEY,
        segment_key VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        as_of TIMESTAMP NOT NULL,
        computed_at TIMESTAMP NOT NULL,
        size BIGINT NOT NULL
      )`,
      `CREATE TABLE ${TABLES.snapshotMembers} (
        snapshot_id BIGINT NOT NULL,
        user_id VARCHAR NOT NULL
      )`,
      `CREATE TABLE ${TABLES.ingestRuns} (
        run_id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,
        files VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP NOT NULL,
        read BIGINT NOT NULL,
        stored BIGINT NOT NULL,
        rejected BIGINT NOT NULL,
        duplicates BIGINT NOT NULL,
        dropped VARCHAR NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'snapshots record the population as of their instant',
    // Share of the population over time is part of tracing how a cohort evolves; null for
    // snapshots computed before this column existed.
    statements: [`ALTER TABLE ${TABLES.snapshots} ADD COLUMN population BIGINT`],
  },
  {
    version: 3,
    name: 'experiment versions',
    statements: [
      `CREATE TABLE ${TABLES.experimentVersions} (
        key VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        definition VARCHAR NOT NULL,
        definition_hash VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        PRIMARY KEY (key, version)
      )`,
    ],
  },
  {
    version: 4,
    name: 'clv fits',
    statements: [
      `CREATE TABLE ${TABLES.clvFits} (
        version INTEGER NOT NULL PRIMARY KEY,
        model VARCHAR NOT NULL,
        unit VARCHAR NOT NULL,
        calibration_end TIMESTAMP NOT NULL,
        created_at TIMESTAMP NOT NULL,
        customers BIGINT NOT NULL,
        fit VARCHAR NOT NULL
      )`,
    ],
  },
  {
    version: 5,
    name: 'models, scoring runs, scores',
    statements: [
      `CREATE TABLE ${TABLES.modelVersions} (
        key VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        kind VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        body VARCHAR NOT NULL,
        PRIMARY KEY (key, version)
      )`,
      `CREATE TABLE ${TABLES.scoreRuns} (
        run_id BIGINT NOT NULL PRIMARY KEY,
        model_key VARCHAR NOT NULL,
        model_version INTEGER NOT NULL,
        kind VARCHAR NOT NULL,
        as_of TIMESTAMP NOT NULL,
        created_at TIMESTAMP NOT NULL,
        users BIGINT NOT NULL
      )`,
      // No primary key: a bulk append of a million rows should not maintain an index; a
      // run's rows are unique by construction (one per user).
      `CREATE TABLE ${TABLES.modelScores} (
        run_id BIGINT NOT NULL,
        user_id VARCHAR NOT NULL,
        score DOUBLE,
        percentile DOUBLE,
        cluster INTEGER
      )`,
    ],
  },
  {
    version: 6,
    name: 'privacy and governance: suppressions, audit log, privacy ledger, fairness audits',
    statements: [
      `CREATE TABLE ${TABLES.suppressions} (
        user_hash VARCHAR NOT NULL PRIMARY KEY,
        forgotten_at TIMESTAMP NOT NULL,
        audit_seq BIGINT
      )`,
      `CREATE TABLE ${TABLES.auditLog} (
        seq BIGINT NOT NULL PRIMARY KEY,
        "at" TIMESTAMP NOT NULL,
        actor VARCHAR NOT NULL,
        action VARCHAR NOT NULL,
        target VARCHAR NOT NULL,
        detail VARCHAR NOT NULL,
        prev_hash VARCHAR NOT NULL,
        hash VARCHAR NOT NULL
      )`,
      `CREATE TABLE ${TABLES.privacyLedger} (
        release_id BIGINT NOT NULL PRIMARY KEY,
        "at" TIMESTAMP NOT NULL,
        actor VARCHAR NOT NULL,
        release VARCHAR NOT NULL,
        mechanism VARCHAR NOT NULL,
        epsilon DOUBLE NOT NULL,
        rho DOUBLE NOT NULL,
        detail VARCHAR NOT NULL
      )`,
      `CREATE TABLE ${TABLES.fairnessAudits} (
        audit_id BIGINT NOT NULL PRIMARY KEY,
        "at" TIMESTAMP NOT NULL,
        as_of TIMESTAMP NOT NULL,
        subject_kind VARCHAR NOT NULL,
        subject VARCHAR NOT NULL,
        flagged BOOLEAN NOT NULL,
        body VARCHAR NOT NULL
      )`,
    ],
  },
  {
    version: 7,
    name: 'ingest runs record privacy counts',
    // IF NOT EXISTS: a store written during development added the column on first use.
    statements: [`ALTER TABLE ${TABLES.ingestRuns} ADD COLUMN IF NOT EXISTS privacy VARCHAR`],
  },
];
