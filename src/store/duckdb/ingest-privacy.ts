/**
 * Privacy at ingest on DuckDB (issue 7), over a source's staged table (ingest-sql.ts). Also
 * what a ClickHouse run does: its scratch DuckDB runs this same session.
 *
 * Staging, per source (before any count or reject is taken):
 * 1. pseudonymization: the DISTINCT user ids are mapped through HMAC-SHA256 in JS
 *    (node:crypto; src/privacy/pseudonymize.ts) into a mapping table, and the staged table
 *    is updated by a join: one HMAC per user, not per row, and no key in any SQL text;
 * 2. suppression: rows whose stored-form user id hashes (SHA-256, DuckDB's sha256 = the
 *    hex of src/privacy/suppression.ts) into `suppressions` are deleted and counted, valid or
 *    not, so a forgotten user's rows never reach the rejects file;
 * 3. minimization of the valid rows' pii and IP fields, distinct values through
 *    src/privacy/minimize.ts the same way;
 * 4. the content-hash event ids are recomputed over the stored (minimized) values, so no
 *    id is a digest of a raw user id or raw personal value.
 * Storing (all sources staged, inside the run's transaction): events of users without
 * analytics consent at their instant are deleted from the staged table and counted, the
 * consent history being the stored `$consent` records and the whole run's.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { StrataError } from '../../errors/errors.js';
import { CONSENT_EVENT, GRANTED_PROPERTY, PURPOSE_PROPERTY } from '../../privacy/consent/consent-event.js';
import { hashPiiValue, truncateIp } from '../../privacy/minimize.js';
import { pseudonymizeUserId } from '../../privacy/pseudonymize.js';
import { duckdbDialect } from '../../segments/compile/duckdb-dialect.js';
import type { IngestPrivacy } from '../event-store.js';
import { TABLES, propertyColumn } from '../schema.js';
import type { StagedField } from './ingest-sql.js';

const q = duckdbDialect.quoteIdentifier;
const lit = duckdbDialect.stringLiteral;

/** Statement runners of the session (errors already wrapped). */
export interface SqlRunner {
  readonly connection: DuckDBConnection;
  run(sql: string): Promise<{ rowsChanged: number }>;
  rows(sql: string): Promise<Record<string, unknown>[]>;
}

/** What staging-time privacy did to one source. */
export interface StagedPrivacy {
  suppressed: number;
  pseudonymized: number;
  piiHashed: Record<string, number>;
  piiDropped: Record<string, number>;
  ipTruncated: Record<string, number>;
  ipDropped: Record<string, number>;
  ipInvalid: Record<string, number>;
  /** Whether a value the content hash covers changed (then the hashed event ids are recomputed). */
  changed: boolean;
}

let mapCounter = 0;

/** Distinct values read into JS at a time. */
const DISTINCT_PAGE = 100_000;

/**
 * Replace the values of `column` (rows where `where` holds) by `fn(value)` (null: no value),
 * mapping each distinct value once in JS. Returns the rows changed and the rows set to null.
 */
export async function mapDistinct(
  sql: SqlRunner,
  table: string,
  column: string,
  where: string,
  fn: (value: string) => string | null,
): Promise<{ rows: number; nulled: number }> {
  const distinct = `${table}_distinct_${++mapCounter}`;
  const map = `${table}_map_${mapCounter}`;
  await sql.run(`CREATE TEMP TABLE ${q(distinct)} AS SELECT DISTINCT ${q(column)} AS v FROM ${q(table)} WHERE ${q(column)} IS NOT NULL AND (${where})`);
  try {
    // Row ids start at 0, or at a large base inside a caller's transaction: paged from the first.
    const [count] = await sql.rows(`SELECT count(*) AS n, min(rowid)::BIGINT AS first FROM ${q(distinct)}`);
    const total = Number(count?.n ?? 0);
    if (total === 0) return { rows: 0, nulled: 0 };
    const first = BigInt(count!.first as bigint);
    await sql.run(`CREATE TEMP TABLE ${q(map)} (raw VARCHAR, mapped VARCHAR)`);
    let nulls = 0;
    let mapped = 0;
    const appender = await sql.connection.createAppender(map, 'main', 'temp');
    // Read in pages, so a column with millions of distinct values never sits in memory at once.
    for (let from = 0; from < total; from += DISTINCT_PAGE) {
      const lo = first + BigInt(from);
      const reader = await sql.connection.runAndReadAll(`SELECT v FROM ${q(distinct)} WHERE rowid >= ${lo} AND rowid < ${lo + BigInt(DISTINCT_PAGE)}`);
      for (const [v] of reader.getRowsJS()) {
        const raw = String(v);
        const out = fn(raw);
        appender.appendVarchar(raw);
        if (out === null) {
          appender.appendNull();
          nulls++;
        } else appender.appendVarchar(out);
        appender.endRow();
        mapped++;
      }
    }
    appender.closeSync();
    // Every value must be mapped: one left out would be stored as it came (a raw id).
    if (mapped !== total) throw new StrataError('INTERNAL', `mapped ${mapped} of ${total} distinct values of ${column}`);
    // Rows set to null are counted only when some value maps to none.
    const [n] =
      nulls === 0
        ? [{ nulled: 0 }]
        : await sql.rows(`SELECT count(*) AS nulled FROM ${q(table)} AS t JOIN ${q(map)} AS m ON t.${q(column)} = m.raw WHERE m.mapped IS NULL AND (${where})`);
    const r = await sql.run(`UPDATE ${q(table)} SET ${q(column)} = m.mapped FROM ${q(map)} AS m WHERE ${q(table)}.${q(column)} = m.raw AND (${where})`);
    return { rows: r.rowsChanged, nulled: Number(n?.nulled ?? 0) };
  } finally {
    await sql.run(`DROP TABLE IF EXISTS ${q(map)}`);
    await sql.run(`DROP TABLE IF EXISTS ${q(distinct)}`);
  }
}

/** Steps 1-3 of the file comment on one staged table. */
export async function applyStagingPrivacy(sql: SqlRunner, table: string, fields: readonly StagedField[], privacy: IngestPrivacy): Promise<StagedPrivacy> {
  const out: StagedPrivacy = { suppressed: 0, pseudonymized: 0, piiHashed: {}, piiDropped: {}, ipTruncated: {}, ipDropped: {}, ipInvalid: {}, changed: false };
  const key = privacy.pseudonymKey;
  if (key !== null) {
    const r = await mapDistinct(sql, table, 'user_id', 'true', (id) => pseudonymizeUserId(key, id));
    out.pseudonymized = r.rows;
    out.changed ||= r.rows > 0;
  }
  out.suppressed = await deleteSuppressed(sql, table);

  const valid = '_reason IS NULL';
  for (const s of fields) {
    const name = s.field.name;
    if (s.field.pii === true) {
      if (privacy.pii === 'hash' && s.field.type === 'string') {
        const r = await mapDistinct(sql, table, s.column, valid, (v) => hashPiiValue(v, key));
        if (r.rows > 0) out.piiHashed[name] = r.rows;
        out.changed ||= r.rows > 0;
      } else {
        const n = await nullOut(sql, table, s.column, valid);
        if (n > 0) out.piiDropped[name] = n;
        out.changed ||= n > 0;
      }
      // A pii field that is also an IP field holds no address any more.
      continue;
    }
    if (s.field.ip === true && s.field.type === 'string') {
      if (privacy.ip === 'drop') {
        const n = await nullOut(sql, table, s.column, valid);
        if (n > 0) out.ipDropped[name] = n;
        out.changed ||= n > 0;
      } else {
        const r = await mapDistinct(sql, table, s.column, valid, truncateIp);
        if (r.rows - r.nulled > 0) out.ipTruncated[name] = r.rows - r.nulled;
        if (r.nulled > 0) out.ipInvalid[name] = r.nulled;
        out.changed ||= r.rows > 0;
      }
    }
  }
  return out;
}

async function nullOut(sql: SqlRunner, table: string, column: string, where: string): Promise<number> {
  const r = await sql.run(`UPDATE ${q(table)} SET ${q(column)} = NULL WHERE ${q(column)} IS NOT NULL AND (${where})`);
  return r.rowsChanged;
}

/** Delete (and count) the rows of users on the suppression list. */
async function deleteSuppressed(sql: SqlRunner, table: string): Promise<number> {
  const [any] = await sql.rows(`SELECT EXISTS (SELECT 1 FROM ${TABLES.suppressions}) AS any`);
  if (any?.any !== true) return 0;
  const r = await sql.run(
    `DELETE FROM ${q(table)} WHERE user_id IS NOT NULL AND sha256(user_id) IN (SELECT user_hash FROM ${TABLES.suppressions})`,
  );
  return r.rowsChanged;
}

/** The staged columns of `$consent`'s purpose and granted properties, when the source has both. */
export function consentColumns(fields: readonly StagedField[]): { purpose: string; granted: string } | null {
  const purpose = fields.find((s) => s.field.name === PURPOSE_PROPERTY && s.field.type === 'string' && (s.field.events?.includes(CONSENT_EVENT) ?? false));
  const granted = fields.find((s) => s.field.name === GRANTED_PROPERTY && s.field.type === 'boolean' && (s.field.events?.includes(CONSENT_EVENT) ?? false));
  return purpose && granted ? { purpose: purpose.column, granted: granted.column } : null;
}

/** The run's valid analytics `$consent` records in a staged source, as (user_id, ts, granted). */
export function stagedConsentSql(table: string, columns: { purpose: string; granted: string }): string {
  return `SELECT user_id, ts, ${q(columns.granted)} AS granted FROM ${q(table)}
          WHERE _reason IS NULL AND event = ${lit(CONSENT_EVENT)} AND ${q(columns.purpose)} = 'analytics' AND ${q(columns.granted)} IS NOT NULL`;
}

/**
 * The consent history the run is judged by: per user and instant, whether analytics was
 * granted (at one instant a denial wins), from the stored records of the run's users and
 * the run's own records.
 */
export function consentHistorySql(table: string, runUsers: string, staged: readonly string[]): string {
  const stored = `SELECT user_id, ts, ${q(propertyColumn(GRANTED_PROPERTY))} AS granted FROM ${TABLES.events}
    WHERE event = ${lit(CONSENT_EVENT)} AND ${q(propertyColumn(PURPOSE_PROPERTY))} = 'analytics' AND ${q(propertyColumn(GRANTED_PROPERTY))} IS NOT NULL
      AND user_id IN (SELECT user_id FROM ${q(runUsers)})`;
  return `CREATE TEMP TABLE ${q(table)} AS SELECT user_id, ts, bool_and(granted) AS granted FROM (${[stored, ...staged].join(' UNION ALL ')}) GROUP BY user_id, ts`;
}

/**
 * Whether the event rows of `alias` (user_id, ts, event) fall where analytics consent is
 * denied: the latest record at or before the event's instant says denied, or there is none
 * and the default is denied. `$consent` events themselves are never in a denied interval.
 * For `FROM x AS alias ASOF LEFT JOIN history AS c ON alias.user_id = c.user_id AND alias.ts >= c.ts`.
 */
export function deniedCondition(alias: string, analyticsDefault: boolean): string {
  return `${alias}.event <> ${lit(CONSENT_EVENT)} AND NOT coalesce(c.granted, ${analyticsDefault})`;
}
