/**
 * `privacy enforce`: delete what has outlived its retention, as of an instant T.
 *
 * - Events: an event type whose plan entry has `retention_days: N` loses its events with
 *   ts < T − N days. Types without a retention are kept: in particular `$consent` events
 *   (the proof of consent) are deleted only when the plan gives `$consent` a retention.
 * - The population index follows the remaining events: a user whose earliest events
 *   expired gets the earliest remaining one as `first_event_at`; a user left with no event
 *   and no profile is removed from `users`. Nobody else's row changes.
 * - Snapshot members of snapshots with as_of < T − `privacy.retention.snapshots_days`; the
 *   snapshots' own rows stay (their size and population are aggregates, and history keeps
 *   its curve).
 * - Scoring runs with as_of < T − `privacy.retention.scores_days`: the run's row first
 *   (readers start from it, so the run disappears at once), then its scores.
 *
 * Everything runs in one transaction on DuckDB; on ClickHouse each delete is a mutation,
 * waited for, and the population index is updated by inserting each changed user's row
 * with a higher version (ReplacingMergeTree), on each shard for its own users.
 * One `privacy.enforce` audit record holds the counts (none in a dry run).
 */
import { appendAudit } from '../../governance/audit-log.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { LOCAL_SUFFIX } from '../../segments/compile/clickhouse-dialect.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import type { EventStore } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';
import { formatInstant, MS } from '../../time/time.js';
import type { PrivacyConfig } from '../privacy-config.js';

export interface EnforceOptions {
  readonly plan: TrackingPlan;
  readonly retention: PrivacyConfig['retention'];
  /** T: retention periods end relative to it (default now). */
  readonly asOfMs?: number;
  readonly dryRun?: boolean;
  readonly actor: string;
  /** Called before each step (the CLI's progress bar). */
  readonly onStep?: (step: string, done: number, total: number) => void;
}

export interface EventRetention {
  readonly event: string;
  readonly retentionDays: number;
  /** Events before this instant expire. */
  readonly cutoff: string;
  /** Events deleted (dry run: that would be). */
  readonly rows: number;
}

export interface EnforceResult {
  readonly asOf: string;
  readonly dryRun: boolean;
  readonly events: readonly EventRetention[];
  readonly snapshots: { readonly retentionDays: number; readonly cutoff: string; readonly snapshots: number; readonly members: number } | null;
  readonly scores: { readonly retentionDays: number; readonly cutoff: string; readonly runs: number; readonly rows: number } | null;
  /** Population index: users whose first_event_at moved to a later remaining event, and users removed. */
  readonly users: { readonly updated: number; readonly removed: number };
  /** Rows deleted per table (users: removed; the updated ones are not deletions). */
  readonly tables: Readonly<Record<string, number>>;
  /** The audit record (null in a dry run). */
  readonly auditSeq: number | null;
}

/** Ids per DELETE statement (ClickHouse's user removals): one mutation covers many. */
const ID_CHUNK = 10_000;

export async function enforceRetention(store: EventStore, options: EnforceOptions): Promise<EnforceResult> {
  const asOfMs = options.asOfMs ?? Date.now();
  const dryRun = options.dryRun === true;
  const d = store.dialect;
  const step = (name: string, i: number) => options.onStep?.(name, i, 4);

  const rules = Object.entries(options.plan.events)
    .filter(([, spec]) => spec.retentionDays !== undefined)
    .map(([event, spec]) => ({ event, retentionDays: spec.retentionDays!, cutoffMs: asOfMs - spec.retentionDays! * MS.d }))
    .sort((a, b) => a.event.localeCompare(b.event));
  const expired = rules.length === 0 ? null : rules.map((r) => `(event = ${d.stringLiteral(r.event)} AND ts < ${d.timestampLiteral(r.cutoffMs)})`).join(' OR ');
  const maxCutoffMs = Math.max(...rules.map((r) => r.cutoffMs));

  return store.transaction(async () => {
    step('events', 0);
    const eventCounts = new Map<string, number>();
    if (expired !== null) {
      for (const r of await store.query(`SELECT event, count(*) AS n FROM ${d.table(TABLES.events)} WHERE ${expired} GROUP BY event`)) eventCounts.set(String(r.event), Number(r.n));
    }
    const eventRows = [...eventCounts.values()].reduce((a, b) => a + b, 0);
    // The index changes only where events go; computed over the events that remain, so a dry run sees the same.
    const users = eventRows > 0 ? await populationChanges(store, expired!, maxCutoffMs) : { updated: 0, removed: 0 };
    if (!dryRun && eventRows > 0) {
      await store.deleteWhere(TABLES.events, expired!);
      step('users', 1);
      await applyPopulationChanges(store, maxCutoffMs);
    }

    step('snapshots', 2);
    const snapshots = await expireSnapshots(store, options.retention.snapshotsDays, asOfMs, dryRun);
    step('scores', 3);
    const scores = await expireScores(store, options.retention.scoresDays, asOfMs, dryRun);

    const tables: Record<string, number> = {
      [TABLES.events]: eventRows,
      [TABLES.users]: users.removed,
      [TABLES.snapshotMembers]: snapshots?.members ?? 0,
      [TABLES.modelScores]: scores?.rows ?? 0,
      [TABLES.scoreRuns]: scores?.runs ?? 0,
    };
    const result: Omit<EnforceResult, 'auditSeq'> = {
      asOf: formatInstant(asOfMs),
      dryRun,
      events: rules.map((r) => ({ event: r.event, retentionDays: r.retentionDays, cutoff: formatInstant(r.cutoffMs), rows: eventCounts.get(r.event) ?? 0 })),
      snapshots,
      scores,
      users,
      tables,
    };
    let auditSeq: number | null = null;
    if (!dryRun) {
      const { asOf, events, snapshots: s, scores: sc, users: u, tables: t } = result;
      auditSeq = (await appendAudit(store, { actor: options.actor, action: 'privacy.enforce', target: 'retention', detail: { asOf, events, snapshots: s, scores: sc, users: u, tables: t } })).seq;
    }
    step('done', 4);
    return { ...result, auditSeq };
  });
}

/**
 * The users whose first event is before the latest cutoff (no one else can lose their
 * first event), left-joined to the minimum ts of their remaining events: one relation,
 * per shard on a cluster. `remaining` is a predicate over events (`NOT expired`, or TRUE
 * once the expired rows are gone).
 */
function affectedUsers(d: SqlDialect, remaining: string, maxCutoffMs: number): string {
  return `SELECT user_id, old_first, has_profile, version, new_first
FROM (SELECT user_id, first_event_at AS old_first, has_profile, ${d.name === 'clickhouse' ? 'version' : '0 AS version'} FROM ${d.table(TABLES.users)} WHERE first_event_at < ${d.timestampLiteral(maxCutoffMs)}) a
${d.userJoin('left', 'a', 'b').keyword} (SELECT user_id, min(ts) AS new_first FROM ${d.table(TABLES.events)} WHERE ${remaining} GROUP BY user_id) b USING (user_id)`;
}

const gone = (d: SqlDialect) => `new_first IS NULL AND has_profile = ${d.booleanLiteral(false)}`;
const moved = (d: SqlDialect) => `NOT (${gone(d)}) AND (new_first IS NULL OR new_first <> old_first)`;

async function populationChanges(store: EventStore, expired: string, maxCutoffMs: number): Promise<{ updated: number; removed: number }> {
  const rows = await store.queryByUser(
    (d) => `SELECT sum(CASE WHEN ${moved(d)} THEN 1 ELSE 0 END) AS updated, sum(CASE WHEN ${gone(d)} THEN 1 ELSE 0 END) AS removed
FROM (${affectedUsers(d, `NOT (${expired})`, maxCutoffMs)}) c`,
  );
  return { updated: rows.reduce((s, r) => s + Number(r.updated ?? 0), 0), removed: rows.reduce((s, r) => s + Number(r.removed ?? 0), 0) };
}

/** After the expired events are gone: move first_event_at forward, null it for profile-only users, remove the rest. */
async function applyPopulationChanges(store: EventStore, maxCutoffMs: number): Promise<void> {
  const d = store.dialect;
  const cut = d.timestampLiteral(maxCutoffMs);
  if (store.engine !== 'clickhouse') {
    await store.execute(
      `DELETE FROM ${TABLES.users} WHERE first_event_at < ${cut} AND NOT has_profile AND user_id NOT IN (SELECT DISTINCT user_id FROM ${TABLES.events})`,
    );
    await store.execute(
      `UPDATE ${TABLES.users} SET first_event_at = m.new_first
       FROM (SELECT u.user_id, (SELECT min(ts) FROM ${TABLES.events} e WHERE e.user_id = u.user_id) AS new_first FROM ${TABLES.users} u WHERE u.first_event_at < ${cut}) m
       WHERE ${TABLES.users}.user_id = m.user_id AND ${TABLES.users}.first_event_at IS DISTINCT FROM m.new_first`,
    );
    return;
  }
  // ClickHouse: the changed rows again with a higher version, on each shard for its users;
  // then the users left with nothing removed by id (a mutation with a subquery is not safe on 18.16).
  const removed = (await store.queryByUser((sd) => `SELECT user_id FROM (${affectedUsers(sd, '1 = 1', maxCutoffMs)}) c WHERE ${gone(sd)}`)).map((r) => String(r.user_id));
  await store.executeByUser((sd) => {
    const users = sd.table(TABLES.events) === TABLES.events ? TABLES.users : `${TABLES.users}${LOCAL_SUFFIX}`;
    return `INSERT INTO ${users} (user_id, first_event_at, has_profile, version)
SELECT user_id, new_first, has_profile, version + 1 FROM (${affectedUsers(sd, '1 = 1', maxCutoffMs)}) c WHERE ${moved(sd)}`;
  });
  for (let i = 0; i < removed.length; i += ID_CHUNK) {
    await store.deleteWhere(TABLES.users, `user_id IN (${removed.slice(i, i + ID_CHUNK).map((id) => d.stringLiteral(id)).join(', ')})`);
  }
}

async function expireSnapshots(store: EventStore, days: number | null, asOfMs: number, dryRun: boolean): Promise<EnforceResult['snapshots']> {
  if (days === null) return null;
  const d = store.dialect;
  const cutoffMs = asOfMs - days * MS.d;
  const ids = (await store.query(`SELECT snapshot_id FROM ${d.table(TABLES.snapshots)} WHERE as_of < ${d.timestampLiteral(cutoffMs)} ORDER BY snapshot_id`)).map((r) => Number(r.snapshot_id));
  let members = 0;
  if (ids.length > 0) {
    const inIds = `snapshot_id IN (${ids.join(', ')})`;
    const [r] = await store.query(`SELECT count(*) AS n FROM ${d.table(TABLES.snapshotMembers)} WHERE ${inIds}`);
    members = Number(r?.n ?? 0);
    if (!dryRun && members > 0) await store.deleteWhere(TABLES.snapshotMembers, inIds);
  }
  return { retentionDays: days, cutoff: formatInstant(cutoffMs), snapshots: ids.length, members };
}

async function expireScores(store: EventStore, days: number | null, asOfMs: number, dryRun: boolean): Promise<EnforceResult['scores']> {
  if (days === null) return null;
  const d = store.dialect;
  const cutoffMs = asOfMs - days * MS.d;
  const ids = (await store.query(`SELECT run_id FROM ${d.table(TABLES.scoreRuns)} WHERE as_of < ${d.timestampLiteral(cutoffMs)} ORDER BY run_id`)).map((r) => Number(r.run_id));
  let rows = 0;
  if (ids.length > 0) {
    const inIds = `run_id IN (${ids.join(', ')})`;
    const [r] = await store.query(`SELECT count(*) AS n FROM ${d.table(TABLES.modelScores)} WHERE ${inIds}`);
    rows = Number(r?.n ?? 0);
    if (!dryRun) {
      await store.deleteWhere(TABLES.scoreRuns, inIds);
      if (rows > 0) await store.deleteWhere(TABLES.modelScores, inIds);
    }
  }
  return { retentionDays: days, cutoff: formatInstant(cutoffMs), runs: ids.length, rows };
}
