/**
 * The append-only audit log (issue 7): every definition change (segments, experiments,
 * models, the plan) and every privacy operation (consent set by API, forget, enforce,
 * private releases) is one record: who (the actor: `--actor`, STRATA_ACTOR, or the API
 * key's name), when, what (an action and its target) and the detail (a diff for
 * definitions, counts for privacy operations).
 *
 * Records are never updated or deleted by Strata. Each record carries the SHA-256 of the
 * previous record's hash and its own canonical content (`hash`), so any edit or deletion
 * made behind Strata's back breaks the chain at that record, which `verifyAuditLog`
 * reports.
 */
import { createHash } from 'node:crypto';
import { StrataError } from '../errors/errors.js';
import type { EventStore } from '../store/event-store.js';
import { TABLES } from '../store/schema.js';

/** What happened, in a few fixed verbs: `segment.add`, `experiment.add`, `model.train`, `plan.write`, `privacy.forget`, ... */
export type AuditAction = string;

export interface AuditEntry {
  readonly actor: string;
  readonly action: AuditAction;
  /** What it happened to: a segment key, `user:<hash>`, a release name, `plan`. */
  readonly target: string;
  /** JSON-serializable detail: a diff, counts, parameters. */
  readonly detail: unknown;
  /** When; defaults to now. */
  readonly atMs?: number;
}

export interface AuditRecord {
  readonly seq: number;
  readonly atMs: number;
  readonly actor: string;
  readonly action: AuditAction;
  readonly target: string;
  readonly detail: unknown;
  readonly prevHash: string;
  readonly hash: string;
}

/** The actor of changes made through the library API without an `actor` option. */
export const LIBRARY_ACTOR = 'library';

/** The hash that starts the chain. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** SHA-256 over the previous hash and the record's canonical content. */
export function auditHash(prevHash: string, r: { seq: number; atMs: number; actor: string; action: string; target: string; detailJson: string }): string {
  return createHash('sha256')
    .update(JSON.stringify([prevHash, r.seq, r.atMs, r.actor, r.action, r.target, r.detailJson]))
    .digest('hex');
}

/** Append one record (inside the caller's transaction when there is one) and return it. */
export async function appendAudit(store: EventStore, entry: AuditEntry): Promise<AuditRecord> {
  return (await appendAudits(store, [entry]))[0]!;
}

/**
 * Append records in order, chained to each other, with one read of the chain's head and one
 * INSERT: `privacy forget` of thousands of users writes one record each, and a statement per
 * record made the audit log most of the erasure's time.
 */
export async function appendAudits(store: EventStore, entries: readonly AuditEntry[]): Promise<AuditRecord[]> {
  if (entries.length === 0) return [];
  const d = store.dialect;
  return store.transaction(async () => {
    const last = (await store.query(`SELECT seq, hash FROM ${TABLES.auditLog} ORDER BY seq DESC LIMIT 1`))[0];
    let seq = last ? Number(last.seq) : 0;
    let prevHash = last ? String(last.hash) : AUDIT_GENESIS_HASH;
    const records: AuditRecord[] = [];
    const values: string[] = [];
    for (const entry of entries) {
      seq++;
      // Whole milliseconds: what the store keeps, so the hash recomputes from what is read back.
      const atMs = Math.trunc(entry.atMs ?? Date.now());
      const detailJson = JSON.stringify(entry.detail ?? null);
      const hash = auditHash(prevHash, { seq, atMs, actor: entry.actor, action: entry.action, target: entry.target, detailJson });
      values.push(
        `(${seq}, ${d.timestampLiteral(atMs)}, ${d.stringLiteral(entry.actor)}, ${d.stringLiteral(entry.action)}, ${d.stringLiteral(entry.target)}, ${d.stringLiteral(detailJson)}, ${d.stringLiteral(prevHash)}, ${d.stringLiteral(hash)})`,
      );
      records.push({ seq, atMs, actor: entry.actor, action: entry.action, target: entry.target, detail: JSON.parse(detailJson) as unknown, prevHash, hash });
      prevHash = hash;
    }
    for (let i = 0; i < values.length; i += 1000) {
      await store.execute(`INSERT INTO ${TABLES.auditLog} (seq, ${d.quoteIdentifier('at')}, actor, action, target, detail, prev_hash, hash) VALUES ${values.slice(i, i + 1000).join(', ')}`);
    }
    return records;
  });
}

export interface AuditFilter {
  readonly action?: string;
  readonly target?: string;
  readonly actor?: string;
  readonly sinceMs?: number;
  readonly limit?: number;
}

/** Records in order of seq, filtered (an action ending in `.` or a bare noun matches its family: `segment` matches `segment.add`). */
export async function readAuditLog(store: EventStore, filter: AuditFilter = {}): Promise<AuditRecord[]> {
  const rows = await readStoredRecords(store, filter);
  return rows.map(({ detailJson, ...r }) => ({ ...r, detail: parseDetail(detailJson) }));
}

/** A record as stored: the detail as the JSON text the hash covers. */
interface StoredRecord extends Omit<AuditRecord, 'detail'> {
  readonly detailJson: string;
}

async function readStoredRecords(store: EventStore, filter: AuditFilter): Promise<StoredRecord[]> {
  const d = store.dialect;
  const where: string[] = [];
  if (filter.action !== undefined) {
    where.push(filter.action.includes('.') ? `action = ${d.stringLiteral(filter.action)}` : d.startsWith('action', d.stringLiteral(`${filter.action}.`)));
  }
  if (filter.target !== undefined) where.push(`target = ${d.stringLiteral(filter.target)}`);
  if (filter.actor !== undefined) where.push(`actor = ${d.stringLiteral(filter.actor)}`);
  // `at` is a keyword in DuckDB 1.5 (AT time travel), so it is always quoted.
  if (filter.sinceMs !== undefined) where.push(`${d.quoteIdentifier('at')} >= ${d.timestampLiteral(filter.sinceMs)}`);
  const sql =
    `SELECT seq, ${d.epochMs(d.quoteIdentifier('at'))} AS at_ms, actor, action, target, detail, prev_hash, hash FROM ${TABLES.auditLog}` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ' ORDER BY seq';
  const rows = await store.query(sql);
  const records = rows.map((r) => ({
    seq: Number(r.seq),
    atMs: Number(r.at_ms),
    actor: String(r.actor),
    action: String(r.action),
    target: String(r.target),
    detailJson: String(r.detail),
    prevHash: String(r.prev_hash),
    hash: String(r.hash),
  }));
  return filter.limit !== undefined ? records.slice(-Math.max(0, Math.trunc(filter.limit))) : records;
}

/** The stored detail; text that is not JSON (edited behind Strata's back) is returned as it is, for verify to report. */
function parseDetail(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json;
  }
}

export interface AuditVerification {
  readonly records: number;
  /** The first record whose hash or link does not hold, with what is wrong; null: the chain is intact. */
  readonly broken: { readonly seq: number; readonly reason: string } | null;
  /** The newest record's hash when the chain holds (null when empty or broken). */
  readonly head: string | null;
}

/**
 * Recompute the chain from the first record over the stored text (not a re-serialization,
 * so even a whitespace edit of a detail is caught). A deleted record shows as a gap in seq;
 * only the removal of the newest records leaves no gap, which is why the count of records
 * is reported with the head's hash (compare it with one kept elsewhere).
 */
export async function verifyAuditLog(store: EventStore): Promise<AuditVerification> {
  const records = await readStoredRecords(store, {});
  let prev = AUDIT_GENESIS_HASH;
  let expectedSeq = 1;
  const result = (broken: AuditVerification['broken']): AuditVerification => ({ records: records.length, broken, head: broken === null ? (records.at(-1)?.hash ?? null) : null });
  for (const r of records) {
    if (r.seq !== expectedSeq) {
      return result({ seq: r.seq, reason: r.seq > expectedSeq ? `expected record ${expectedSeq} next: records are missing` : `record ${r.seq} appears twice` });
    }
    if (r.prevHash !== prev) return result({ seq: r.seq, reason: 'its link to the previous record does not match' });
    const h = auditHash(prev, { seq: r.seq, atMs: r.atMs, actor: r.actor, action: r.action, target: r.target, detailJson: r.detailJson });
    if (h !== r.hash) return result({ seq: r.seq, reason: 'its content does not match its hash: it was changed' });
    prev = r.hash;
    expectedSeq++;
  }
  return result(null);
}

/** Throw AUDIT_LOG_BROKEN naming the first broken record, or return the verification. */
export async function assertAuditLogIntact(store: EventStore): Promise<AuditVerification> {
  const v = await verifyAuditLog(store);
  if (v.broken !== null) {
    throw new StrataError('AUDIT_LOG_BROKEN', `the audit log is broken at record ${v.broken.seq} (of ${v.records} records): ${v.broken.reason}`, [
      { path: `audit_log seq ${v.broken.seq}`, message: v.broken.reason },
    ]);
  }
  return v;
}
