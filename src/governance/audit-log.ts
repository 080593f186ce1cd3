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
  const d = store.dialect;
  return store.transaction(async () => {
    const last = (await store.query(`SELECT seq, hash FROM ${TABLES.auditLog} ORDER BY seq DESC LIMIT 1`))[0];
    const seq = last ? Number(last.seq) + 1 : 1;
    const prevHash = last ? String(last.hash) : AUDIT_GENESIS_HASH;
    const atMs = entry.atMs ?? Date.now();
    const detailJson = JSON.stringify(entry.detail ?? null);
    const hash = auditHash(prevHash, { seq, atMs, actor: entry.actor, action: entry.action, target: entry.target, detailJson });
    await store.execute(
      `INSERT INTO ${TABLES.auditLog} (seq, at, actor, action, target, detail, prev_hash, hash) VALUES (${seq}, ${d.timestampLiteral(atMs)}, ${d.stringLiteral(entry.actor)}, ${d.stringLiteral(entry.action)}, ${d.stringLiteral(entry.target)}, ${d.stringLiteral(detailJson)}, ${d.stringLiteral(prevHash)}, ${d.stringLiteral(hash)})`,
    );
    return { seq, atMs, actor: entry.actor, action: entry.action, target: entry.target, detail: entry.detail ?? null, prevHash, hash };
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
  const d = store.dialect;
  const where: string[] = [];
  if (filter.action !== undefined) {
    where.push(filter.action.includes('.') ? `action = ${d.stringLiteral(filter.action)}` : d.startsWith('action', d.stringLiteral(`${filter.action}.`)));
  }
  if (filter.target !== undefined) where.push(`target = ${d.stringLiteral(filter.target)}`);
  if (filter.actor !== undefined) where.push(`actor = ${d.stringLiteral(filter.actor)}`);
  if (filter.sinceMs !== undefined) where.push(`at >= ${d.timestampLiteral(filter.sinceMs)}`);
  const sql =
    `SELECT seq, ${d.epochMs('at')} AS at_ms, actor, action, target, detail, prev_hash, hash FROM ${TABLES.auditLog}` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ' ORDER BY seq';
  const rows = await store.query(sql);
  const records = rows.map((r) => ({
    seq: Number(r.seq),
    atMs: Number(r.at_ms),
    actor: String(r.actor),
    action: String(r.action),
    target: String(r.target),
    detail: JSON.parse(String(r.detail)) as unknown,
    prevHash: String(r.prev_hash),
    hash: String(r.hash),
  }));
  return filter.limit !== undefined ? records.slice(-filter.limit) : records;
}

export interface AuditVerification {
  readonly records: number;
  /** The first record whose hash or link does not hold, with what is wrong; null: the chain is intact. */
  readonly broken: { readonly seq: number; readonly reason: string } | null;
}

/** Recompute the chain from the first record. */
export async function verifyAuditLog(store: EventStore): Promise<AuditVerification> {
  const records = await readAuditLog(store);
  let prev = AUDIT_GENESIS_HASH;
  let expectedSeq = 1;
  for (const r of records) {
    if (r.seq !== expectedSeq) return { records: records.length, broken: { seq: r.seq, reason: `expected record ${expectedSeq} next: records are missing` } };
    if (r.prevHash !== prev) return { records: records.length, broken: { seq: r.seq, reason: 'its link to the previous record does not match' } };
    const h = auditHash(prev, { seq: r.seq, atMs: r.atMs, actor: r.actor, action: r.action, target: r.target, detailJson: JSON.stringify(r.detail) });
    if (h !== r.hash) return { records: records.length, broken: { seq: r.seq, reason: 'its content does not match its hash: it was changed' } };
    prev = r.hash;
    expectedSeq++;
  }
  return { records: records.length, broken: null };
}
