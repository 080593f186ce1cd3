/**
 * `privacy export`: everything held on one user, as one JSON document (schema version 1):
 * the population index row, the profile with every trait as stored (pii values as stored:
 * hashed when the workspace hashes them), every event with its properties, the consent
 * history (`$consent` events) and the current consent per purpose (the workspace default
 * where no record exists), experiment exposures (`$exposure` events), stored segment
 * memberships (segment, version, snapshot instant), model scores (model, version, run
 * instant, score / percentile / cluster), and the suppression status.
 *
 * `tables` names every user-keyed table walked (USER_KEYED_TABLES plus any live table with
 * a user_id column the list lacks) with the rows held and the section they appear in, so a
 * new table cannot be left out silently: an unlisted table's rows appear raw under `other`.
 * Columns are read as the live catalogue types them, so a property the plan no longer
 * declares is exported too.
 */
import { StrataError } from '../../errors/errors.js';
import { appendAudit } from '../../governance/audit-log.js';
import type { FieldType } from '../../schema/tracking-plan.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import type { EventStore, Row } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';
import { formatInstant } from '../../time/time.js';
import { CONSENT_EVENT, GRANTED_PROPERTY, PURPOSE_PROPERTY, SOURCE_PROPERTY } from '../consent/consent-event.js';
import { CONSENT_PURPOSES, type ConsentPurpose, type PrivacyConfig } from '../privacy-config.js';
import { suppressionHash } from '../suppression.js';
import { erasureTables, fieldTypeOf, liveTables, type LiveColumn } from './catalogue.js';
import type { ErasureId } from './forget.js';

export const USER_EXPORT_SCHEMA_VERSION = 1;

export type ExportValue = string | number | boolean | null;

export interface UserExport {
  readonly schemaVersion: number;
  readonly exportedAt: string;
  /** The id as given, and as stored (a pseudonym on a pseudonymizing workspace). */
  readonly userId: string;
  readonly storedId: string;
  /** Erased by `privacy forget` (ingest refuses the user's rows): when and which audit record. */
  readonly suppression: { readonly forgottenAt: string; readonly auditSeq: number | null } | null;
  /** Every user-keyed table walked: rows held and the section of this document they are in. */
  readonly tables: Readonly<Record<string, { readonly rows: number; readonly section: string }>>;
  /** The population index: first event (all time) and whether a profile exists. */
  readonly user: { readonly firstEventAt: string | null; readonly hasProfile: boolean } | null;
  readonly profile: { readonly updatedAt: string | null; readonly traits: Readonly<Record<string, ExportValue>> } | null;
  readonly events: readonly ExportedEvent[];
  readonly consent: {
    readonly history: readonly { readonly at: string; readonly purpose: string | null; readonly granted: boolean | null; readonly source: string | null }[];
    readonly current: Readonly<Record<ConsentPurpose, { readonly granted: boolean; readonly from: 'record' | 'default'; readonly at: string | null; readonly source: string | null }>>;
  };
  readonly exposures: readonly { readonly experiment: string | null; readonly variant: string | null; readonly at: string }[];
  readonly segments: readonly { readonly segment: string; readonly version: number; readonly snapshotId: number; readonly asOf: string }[];
  readonly scores: readonly {
    readonly model: string;
    readonly modelVersion: number;
    readonly kind: string;
    readonly runId: number;
    readonly asOf: string;
    readonly score: number | null;
    readonly percentile: number | null;
    readonly cluster: number | null;
  }[];
  /** Rows of live user-keyed tables USER_KEYED_TABLES does not list, raw. */
  readonly other: Readonly<Record<string, readonly Record<string, ExportValue>[]>>;
}

export interface ExportedEvent {
  readonly eventId: string;
  readonly event: string;
  readonly at: string;
  readonly ingestedAt: string;
  /** The properties present on the event (null values left out). */
  readonly properties: Readonly<Record<string, ExportValue>>;
}

export interface ExportOptions {
  readonly actor: string;
  readonly privacy: PrivacyConfig;
  readonly nowMs?: number;
  /** Write the `privacy.export` audit record (default true). */
  readonly audit?: boolean;
}

const SECTIONS: Readonly<Record<string, string>> = {
  [TABLES.events]: 'events',
  [TABLES.users]: 'user',
  [TABLES.profiles]: 'profile',
  [TABLES.snapshotMembers]: 'segments',
  [TABLES.modelScores]: 'scores',
};

/** One user's export; USER_NOT_FOUND when nothing is held and the user was never forgotten. */
export async function exportUser(store: EventStore, id: ErasureId, options: ExportOptions): Promise<UserExport> {
  const d = store.dialect;
  const nowMs = options.nowMs ?? Date.now();
  const uid = d.stringLiteral(id.stored);
  const catalogue = await liveTables(store);
  const { tables } = await erasureTables(store);
  const counts: Record<string, { rows: number; section: string }> = {};
  for (const { table, userColumn } of tables) {
    const [r] = await store.query(`SELECT count(*) AS n FROM ${d.table(table)} WHERE ${d.quoteIdentifier(userColumn)} = ${uid}`);
    counts[table] = { rows: Number(r?.n ?? 0), section: SECTIONS[table] ?? `other.${table}` };
  }
  const userHash = suppressionHash(id.stored);
  const [sup] = await store.query(`SELECT ${d.epochMs('forgotten_at')} AS at_ms, audit_seq FROM ${TABLES.suppressions} WHERE user_hash = ${d.stringLiteral(userHash)}`);
  const suppression = sup ? { forgottenAt: formatInstant(Number(sup.at_ms)), auditSeq: sup.audit_seq === null || sup.audit_seq === undefined ? null : Number(sup.audit_seq) } : null;
  if (suppression === null && Object.values(counts).every((c) => c.rows === 0)) {
    throw new StrataError('USER_NOT_FOUND', `no user ${JSON.stringify(id.given)} in the store`, [
      { path: 'USER_ID', message: 'expected the id of a user with stored rows, or of a forgotten user (ids are case-sensitive)' },
    ]);
  }

  const events = await readEvents(store, uid, catalogue.get(TABLES.events) ?? []);
  const out: UserExport = {
    schemaVersion: USER_EXPORT_SCHEMA_VERSION,
    exportedAt: formatInstant(nowMs),
    userId: id.given,
    storedId: id.stored,
    suppression,
    tables: counts,
    user: await readIndex(store, uid),
    profile: await readProfile(store, uid, catalogue.get(TABLES.profiles) ?? []),
    events,
    consent: consentOf(events, options.privacy, nowMs),
    exposures: events.filter((e) => e.event === '$exposure').map((e) => ({ experiment: str(e.properties.experiment), variant: str(e.properties.variant), at: e.at })),
    segments: await readMemberships(store, uid),
    scores: await readScores(store, uid),
    other: await readOther(store, uid, tables, catalogue),
  };
  if (options.audit !== false) {
    await appendAudit(store, {
      actor: options.actor,
      action: 'privacy.export',
      target: `user:${userHash}`,
      detail: { rows: Object.fromEntries(Object.entries(counts).map(([t, c]) => [t, c.rows])) },
      atMs: nowMs,
    });
  }
  return out;
}

function str(v: ExportValue | undefined): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** A stored value as JSON: timestamps (read as epoch ms) as ISO instants, ClickHouse booleans as booleans. */
function typedValue(value: unknown, type: FieldType | null): ExportValue {
  if (value === null || value === undefined) return null;
  if (type === 'timestamp') return formatInstant(Number(value));
  if (type === 'boolean') return value === true || value === 1 || value === 1n || value === '1' || value === 'true';
  if (type === 'number') return Number(value);
  if (type === 'string') return String(value);
  return jsonSafe(value);
}

function jsonSafe(value: unknown): ExportValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

/** Select list for prefixed columns (`p_`, `t_`): timestamps read as epoch ms. */
function prefixed(d: SqlDialect, engine: string, columns: readonly LiveColumn[], prefix: string): { select: string[]; fields: { name: string; alias: string; type: FieldType | null }[] } {
  const fields = columns
    .filter((c) => c.name.startsWith(prefix))
    .map((c, i) => ({ name: c.name.slice(prefix.length), column: c.name, alias: `f${i}`, type: fieldTypeOf(engine, c.type) }));
  return {
    select: fields.map((f) => `${f.type === 'timestamp' ? d.epochMs(d.quoteIdentifier(f.column)) : d.quoteIdentifier(f.column)} AS ${f.alias}`),
    fields,
  };
}

async function readEvents(store: EventStore, uid: string, columns: readonly LiveColumn[]): Promise<ExportedEvent[]> {
  const d = store.dialect;
  const p = prefixed(d, store.engine, columns, 'p_');
  const rows = await store.query(
    `SELECT ${['event_id', 'event', `${d.epochMs('ts')} AS ts_ms`, `${d.epochMs('ingested_at')} AS ingested_ms`, ...p.select].join(', ')}
     FROM ${d.table(TABLES.events)} WHERE user_id = ${uid} ORDER BY ts_ms, event, event_id`,
  );
  return rows.map((r: Row) => ({
    eventId: String(r.event_id),
    event: String(r.event),
    at: formatInstant(Number(r.ts_ms)),
    ingestedAt: formatInstant(Number(r.ingested_ms)),
    properties: Object.fromEntries(p.fields.map((f) => [f.name, typedValue(r[f.alias], f.type)] as const).filter(([, v]) => v !== null)),
  }));
}

async function readIndex(store: EventStore, uid: string): Promise<UserExport['user']> {
  const d = store.dialect;
  const [r] = await store.query(`SELECT has_profile, ${d.epochMs('first_event_at')} AS first_ms FROM ${d.table(TABLES.users)} WHERE user_id = ${uid}`);
  if (!r) return null;
  return { firstEventAt: r.first_ms === null || r.first_ms === undefined ? null : formatInstant(Number(r.first_ms)), hasProfile: typedValue(r.has_profile, 'boolean') === true };
}

async function readProfile(store: EventStore, uid: string, columns: readonly LiveColumn[]): Promise<UserExport['profile']> {
  const d = store.dialect;
  const t = prefixed(d, store.engine, columns, 't_');
  const [r] = await store.query(`SELECT ${[`${d.epochMs('updated_at')} AS updated_ms`, ...t.select].join(', ')} FROM ${d.table(TABLES.profiles)} WHERE user_id = ${uid}`);
  if (!r) return null;
  return {
    updatedAt: r.updated_ms === null || r.updated_ms === undefined ? null : formatInstant(Number(r.updated_ms)),
    traits: Object.fromEntries(t.fields.map((f) => [f.name, typedValue(r[f.alias], f.type)])),
  };
}

/**
 * The consent record per purpose as of the export: the latest `$consent` event for it
 * before now (at one instant a denial wins), else the workspace default.
 */
function consentOf(events: readonly ExportedEvent[], privacy: PrivacyConfig, nowMs: number): UserExport['consent'] {
  const records = events.filter((e) => e.event === CONSENT_EVENT);
  const history = records.map((e) => ({
    at: e.at,
    purpose: str(e.properties[PURPOSE_PROPERTY]),
    granted: typeof e.properties[GRANTED_PROPERTY] === 'boolean' ? (e.properties[GRANTED_PROPERTY] as boolean) : null,
    source: str(e.properties[SOURCE_PROPERTY]),
  }));
  const current = {} as Record<ConsentPurpose, UserExport['consent']['current'][ConsentPurpose]>;
  for (const purpose of CONSENT_PURPOSES) {
    let latest: (typeof history)[number] | null = null;
    for (const h of history) {
      if (h.purpose !== purpose || h.granted === null || Date.parse(h.at) >= nowMs) continue;
      // History is in time order: a later record replaces; at the same instant a denial wins.
      if (latest === null || h.at > latest.at || (h.at === latest.at && !h.granted)) latest = h;
    }
    current[purpose] = latest
      ? { granted: latest.granted!, from: 'record', at: latest.at, source: latest.source }
      : { granted: privacy.consentDefaults[purpose], from: 'default', at: null, source: null };
  }
  return { history, current };
}

/** Memberships of recorded snapshots (members of an interrupted snapshot, never recorded, are counted in `tables` only). */
async function readMemberships(store: EventStore, uid: string): Promise<UserExport['segments']> {
  const d = store.dialect;
  const ids = (await store.query(`SELECT DISTINCT snapshot_id FROM ${d.table(TABLES.snapshotMembers)} WHERE user_id = ${uid}`)).map((r) => Number(r.snapshot_id));
  if (ids.length === 0) return [];
  const rows = await store.query(
    `SELECT snapshot_id, segment_key, version, ${d.epochMs('as_of')} AS as_of_ms FROM ${d.table(TABLES.snapshots)} WHERE snapshot_id IN (${ids.join(', ')})`,
  );
  return rows
    .map((r) => ({ segment: String(r.segment_key), version: Number(r.version), snapshotId: Number(r.snapshot_id), asOfMs: Number(r.as_of_ms) }))
    .sort((a, b) => a.segment.localeCompare(b.segment) || a.asOfMs - b.asOfMs || a.snapshotId - b.snapshotId)
    .map(({ asOfMs, ...rest }) => ({ ...rest, asOf: formatInstant(asOfMs) }));
}

async function readScores(store: EventStore, uid: string): Promise<UserExport['scores']> {
  const d = store.dialect;
  const scores = await store.query(`SELECT run_id, score, percentile, cluster FROM ${d.table(TABLES.modelScores)} WHERE user_id = ${uid}`);
  if (scores.length === 0) return [];
  const runs = new Map(
    (
      await store.query(
        `SELECT run_id, model_key, model_version, kind, ${d.epochMs('as_of')} AS as_of_ms FROM ${d.table(TABLES.scoreRuns)} WHERE run_id IN (${[...new Set(scores.map((s) => Number(s.run_id)))].join(', ')})`,
      )
    ).map((r) => [Number(r.run_id), r]),
  );
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return scores
    .flatMap((s) => {
      const run = runs.get(Number(s.run_id));
      // A run's rows are visible once the run is recorded (written last): the same rule as every reader.
      if (!run) return [];
      return [
        {
          model: String(run.model_key),
          modelVersion: Number(run.model_version),
          kind: String(run.kind),
          runId: Number(s.run_id),
          asOfMs: Number(run.as_of_ms),
          score: num(s.score),
          percentile: num(s.percentile),
          cluster: num(s.cluster),
        },
      ];
    })
    .sort((a, b) => a.model.localeCompare(b.model) || a.asOfMs - b.asOfMs || a.runId - b.runId)
    .map(({ asOfMs, ...rest }) => ({ ...rest, asOf: formatInstant(asOfMs) }));
}

async function readOther(
  store: EventStore,
  uid: string,
  tables: readonly { table: string; userColumn: string }[],
  catalogue: ReadonlyMap<string, LiveColumn[]>,
): Promise<UserExport['other']> {
  const d = store.dialect;
  const out: Record<string, Record<string, ExportValue>[]> = {};
  for (const { table, userColumn } of tables) {
    if (SECTIONS[table] !== undefined) continue;
    const columns = catalogue.get(table) ?? [];
    const rows = await store.query(`SELECT * FROM ${d.table(table)} WHERE ${d.quoteIdentifier(userColumn)} = ${uid}`);
    out[table] = rows.map((r) => Object.fromEntries(columns.map((c) => [c.name, jsonSafe(r[c.name])])));
  }
  return out;
}
