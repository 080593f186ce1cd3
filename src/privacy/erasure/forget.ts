/**
 * `privacy forget`: erase users from every user-keyed table, in one transaction where the
 * engine has them (DuckDB; ClickHouse deletes are mutations, each waited for), scrub their
 * lines from the rejects files, record a suppression per user (the SHA-256 of the stored id,
 * never the id) so ingest refuses their rows from then on, and write one audit record per
 * user (`privacy.forget`, target `user:<suppression hash>`, detail: rows removed per table
 * and rejects lines).
 *
 * What stays, by design: snapshot sizes and populations (`snapshots.size`), a scoring run's
 * user count and other users' percentiles are historical aggregates, not rows about the
 * user; the audit log names the user only by the suppression hash.
 *
 * Per user: `forgotten` when anything was held (rows or rejects lines), `already-forgotten`
 * when nothing was held and a suppression exists, `unknown` otherwise. An unknown user gets
 * no suppression: a mistyped id must not block a real user's future data.
 */
import type { EventStore } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';
import { appendAudits } from '../../governance/audit-log.js';
import { suppressionHash } from '../suppression.js';
import { erasureTables } from './catalogue.js';
import { scrubRejects } from './rejects.js';

/** One user to forget: the id as given and as stored (the same unless the workspace pseudonymizes). */
export interface ErasureId {
  readonly given: string;
  readonly stored: string;
}

export interface ForgetOptions {
  /** Who asks (the audit log's actor). */
  readonly actor: string;
  /** Count what would be removed; change nothing. */
  readonly dryRun?: boolean;
  /** The workspace's rejects folder (`config.rejectsDir`); null: no rejects files to scrub. */
  readonly rejectsDir?: string | null;
  readonly nowMs?: number;
  /** Called as users are done (the CLI's progress bar). */
  readonly onProgress?: (done: number, total: number) => void;
}

export type ForgetStatus = 'forgotten' | 'already-forgotten' | 'unknown';

export interface ForgetUserResult {
  /** The id as given. */
  readonly userId: string;
  /** The suppression hash (what the audit log and the suppression list hold). */
  readonly userHash: string;
  readonly status: ForgetStatus;
  /** Rows removed (dry run: held) per user-keyed table; every walked table is listed. */
  readonly rows: Readonly<Record<string, number>>;
  readonly rejectsLines: number;
  /** The audit record's seq; null in a dry run and for users with nothing held. */
  readonly auditSeq: number | null;
}

export interface ForgetResult {
  readonly dryRun: boolean;
  readonly users: readonly ForgetUserResult[];
  /** Rows removed per table, summed over users. */
  readonly totals: Readonly<Record<string, number>>;
  readonly rejectsLines: number;
  /** Rejects files rewritten (dry run: that would be). */
  readonly rejectsFiles: readonly string[];
  /** Live tables with a user_id column that USER_KEYED_TABLES does not list (erased all the same). */
  readonly unlistedTables: readonly string[];
}

/** Users per statement: IN lists stay short, and a ClickHouse mutation covers many users. */
const BATCH = 1000;

export async function forgetUsers(store: EventStore, ids: readonly ErasureId[], options: ForgetOptions): Promise<ForgetResult> {
  const dryRun = options.dryRun === true;
  const nowMs = options.nowMs ?? Date.now();
  const unique = dedupe(ids);
  const { tables, unlisted } = await erasureTables(store);
  const scrub = options.rejectsDir
    ? await scrubRejects(options.rejectsDir, unique.map((u) => ({ key: u.stored, ids: [...new Set([u.given, u.stored])] })), { dryRun })
    : { lines: new Map<string, number>(), files: [] };

  const results: ForgetUserResult[] = [];
  await store.transaction(async () => {
    for (let start = 0; start < unique.length; start += BATCH) {
      const batch = unique.slice(start, start + BATCH);
      // Progress per user: each one's audit record is a round trip, so a batch takes a while.
      const progress = (doneInBatch: number) => options.onProgress?.(start + doneInBatch, unique.length);
      results.push(...(await forgetBatch(store, batch, tables, scrub.lines, { ...options, dryRun, nowMs }, progress)));
    }
  });
  const totals: Record<string, number> = Object.fromEntries(tables.map((t) => [t.table, 0]));
  for (const r of results) for (const [t, n] of Object.entries(r.rows)) totals[t] = (totals[t] ?? 0) + n;
  return {
    dryRun,
    users: results,
    totals,
    rejectsLines: results.reduce((s, r) => s + r.rejectsLines, 0),
    rejectsFiles: scrub.files,
    unlistedTables: unlisted,
  };
}

/** One entry per stored id, in the order given. */
function dedupe(ids: readonly ErasureId[]): ErasureId[] {
  const byStored = new Map<string, ErasureId>();
  for (const u of ids) if (!byStored.has(u.stored)) byStored.set(u.stored, u);
  return [...byStored.values()];
}

async function forgetBatch(
  store: EventStore,
  batch: readonly ErasureId[],
  tables: readonly { table: string; userColumn: string }[],
  rejectsLines: ReadonlyMap<string, number>,
  options: ForgetOptions & { dryRun: boolean; nowMs: number },
  progress: (doneInBatch: number) => void,
): Promise<ForgetUserResult[]> {
  const d = store.dialect;
  const inList = batch.map((u) => d.stringLiteral(u.stored)).join(', ');
  const counts = new Map<string, Record<string, number>>(batch.map((u) => [u.stored, Object.fromEntries(tables.map((t) => [t.table, 0]))]));
  for (const { table, userColumn } of tables) {
    const col = d.quoteIdentifier(userColumn);
    const rows = await store.query(`SELECT ${col} AS u, count(*) AS n FROM ${d.table(table)} WHERE ${col} IN (${inList}) GROUP BY ${col}`);
    for (const r of rows) counts.get(String(r.u))![table] = Number(r.n);
  }
  const hashes = new Map(batch.map((u) => [u.stored, suppressionHash(u.stored)]));
  const suppressed = new Set(
    (await store.query(`SELECT user_hash FROM ${TABLES.suppressions} WHERE user_hash IN (${[...hashes.values()].map((h) => d.stringLiteral(h)).join(', ')})`)).map((r) => String(r.user_hash)),
  );

  const held = (u: ErasureId) => Object.values(counts.get(u.stored)!).some((n) => n > 0) || (rejectsLines.get(u.stored) ?? 0) > 0;
  if (!options.dryRun) {
    // Rows go first; the suppression and the audit record follow (on DuckDB all in one transaction).
    for (const { table, userColumn } of tables) {
      if (batch.some((u) => counts.get(u.stored)![table]! > 0)) await store.deleteWhere(table, `${d.quoteIdentifier(userColumn)} IN (${inList})`);
    }
  }
  const statusOf = (u: ErasureId): ForgetStatus => (held(u) ? 'forgotten' : suppressed.has(hashes.get(u.stored)!) ? 'already-forgotten' : 'unknown');
  // One audit record per forgotten user, appended together (one chain read, one INSERT).
  const audited = options.dryRun ? [] : batch.filter((u) => statusOf(u) === 'forgotten');
  const records = await appendAudits(
    store,
    audited.map((u) => ({
      actor: options.actor,
      action: 'privacy.forget',
      target: `user:${hashes.get(u.stored)!}`,
      detail: { rows: counts.get(u.stored)!, rejectsLines: rejectsLines.get(u.stored) ?? 0 },
      atMs: options.nowMs,
    })),
  );
  const seqOf = new Map(audited.map((u, i) => [u.stored, records[i]!.seq]));
  const out: ForgetUserResult[] = [];
  const newSuppressions: string[] = [];
  for (const u of batch) {
    const userHash = hashes.get(u.stored)!;
    const auditSeq = seqOf.get(u.stored) ?? null;
    if (auditSeq !== null && !suppressed.has(userHash)) newSuppressions.push(`(${d.stringLiteral(userHash)}, ${d.timestampLiteral(options.nowMs)}, ${auditSeq})`);
    out.push({ userId: u.given, userHash, status: statusOf(u), rows: counts.get(u.stored)!, rejectsLines: rejectsLines.get(u.stored) ?? 0, auditSeq });
    if (out.length % 100 === 0 || out.length === batch.length) progress(out.length);
  }
  if (newSuppressions.length > 0) await store.execute(`INSERT INTO ${TABLES.suppressions} (user_hash, forgotten_at, audit_seq) VALUES ${newSuppressions.join(', ')}`);
  return out;
}
