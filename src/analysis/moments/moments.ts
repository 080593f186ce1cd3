/**
 * Key moments for people and programs: how many users reached each moment as of an
 * instant (with the first and last instant and counts per week or month), who reached one
 * and when, and every moment of one user. The SQL is moment-sql.ts; per-user queries run
 * through `store.queryByUser`, so a cluster's shards answer for their own users and only
 * additive counts, extremes and (limited, sorted) instants reach the client.
 */
import { StrataError } from '../../errors/errors.js';
import type { EventStore, Row } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';
import { closeKeys } from '../../segments/registry/close-keys.js';
import { byteOrder, populationPredicate, toNumber } from '../../segments/registry/registry-sql.js';
import { formatInstant } from '../../time/time.js';
import { memberFilter } from '../breakdown.js';
import { describeMomentRule } from './describe-moment.js';
import { momentSql, momentsSql, type MomentSqlOptions } from './moment-sql.js';
import type { MomentDefinition, MomentKind, MomentsConfig } from './moments-config.js';
import { periodSql, periodStartMs } from './utc-calendar.js';

/** Whatever holds the moments configuration: a workspace Config will do. */
export interface MomentsSource {
  readonly moments: MomentsConfig;
}

export type MomentPeriod = 'week' | 'month';

/** Buckets are filled with zeros between the first and the last instant unless there would be more than this. */
const MAX_FILLED_BUCKETS = 2000;

export interface MomentBucket {
  /** The bucket's first instant: Monday 00:00 UTC, or the 1st of the month 00:00 UTC. */
  readonly start: string;
  /** Users whose instant lies in the bucket. */
  readonly users: number;
}

export interface MomentSummary {
  readonly key: string;
  readonly name: string;
  readonly kind: MomentKind;
  /** The rule in one line of plain words. */
  readonly rule: string;
  readonly description: string | null;
  /** Users who reached the moment before asOf. */
  readonly reached: number;
  readonly firstAt: string | null;
  readonly lastAt: string | null;
  /** Users reached per bucket, in time order. */
  readonly buckets: readonly MomentBucket[];
}

export interface MomentsReport {
  readonly asOf: string;
  readonly per: MomentPeriod;
  /** The users the counts are out of: the population as of asOf, or the segment's members with `snapshotId`. */
  readonly population: number;
  readonly moments: readonly MomentSummary[];
}

export interface MomentSummaryOptions {
  readonly asOfMs: number;
  /** Bucket size of `buckets` (default week). */
  readonly per?: MomentPeriod;
  /** Only these moments (default all, in configuration order). */
  readonly keys?: readonly string[];
  /** Only the members of this segment snapshot. */
  readonly snapshotId?: number;
  /** Called after each moment is computed. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface MomentInstant {
  readonly userId: string;
  /** ISO-8601 UTC instant. */
  readonly at: string;
  readonly atMs: number;
}

export interface MomentInstantOptions {
  readonly asOfMs: number;
  readonly userIds?: readonly string[];
  /** At most this many, earliest first (ties by user id in byte order). Default: all. */
  readonly limit?: number;
  readonly snapshotId?: number;
}

/** The moment with that key, or MOMENT_NOT_FOUND naming the close ones. */
export function findMoment(source: MomentsSource, key: string): MomentDefinition {
  const all = source.moments.moments;
  const found = all.find((m) => m.key === key);
  if (found) return found;
  const known = all.map((m) => m.key);
  const close = closeKeys(key, known);
  const hint =
    close.length > 0
      ? `did you mean ${close.map((k) => JSON.stringify(k)).join(', ')}?`
      : known.length === 0
        ? 'strata.yaml has no moments: section (see README, "Key moments")'
        : `the moments are ${known.map((k) => JSON.stringify(k)).join(', ')}`;
  throw new StrataError('MOMENT_NOT_FOUND', `no moment ${JSON.stringify(key)}; ${hint}`);
}

/**
 * Per moment: users reached before asOf, the first and last instant and users per bucket.
 * @example await momentSummaries(store, config, { asOfMs: Date.parse('2025-06-01') })
 */
export async function momentSummaries(store: EventStore, source: MomentsSource, options: MomentSummaryOptions): Promise<MomentsReport> {
  const per = options.per ?? 'week';
  const chosen = options.keys === undefined ? source.moments.moments : options.keys.map((k) => findMoment(source, k));
  const sqlOptions: MomentSqlOptions = { asOfMs: options.asOfMs, ...(options.snapshotId !== undefined ? { snapshotId: options.snapshotId } : {}) };
  const population = await populationCount(store, options.asOfMs, options.snapshotId);
  const moments: MomentSummary[] = [];
  for (const m of chosen) {
    const rows = await store.queryByUser(
      (d) => `SELECT bucket, count() AS users, min(at_ms) AS first_at, max(at_ms) AS last_at
FROM (SELECT at_ms, ${periodSql(d, per, 'at_ms')} AS bucket FROM (${momentSql(d, m.rule, sqlOptions)}) AS x) AS b
GROUP BY bucket`,
    );
    moments.push(summarize(m, per, rows));
    options.onProgress?.(moments.length, chosen.length);
  }
  return { asOf: formatInstant(options.asOfMs), per, population, moments };
}

/** The users who reached one moment before asOf and when, earliest first. */
export async function momentInstants(store: EventStore, source: MomentsSource, key: string, options: MomentInstantOptions): Promise<MomentInstant[]> {
  const moment = findMoment(source, key);
  const limit = options.limit;
  const sqlOptions: MomentSqlOptions = {
    asOfMs: options.asOfMs,
    ...(options.userIds !== undefined ? { userIds: options.userIds } : {}),
    ...(options.snapshotId !== undefined ? { snapshotId: options.snapshotId } : {}),
  };
  // Each shard returns its earliest `limit`; the earliest overall are among them.
  const rows = await store.queryByUser(
    (d) => `SELECT user_id, at_ms FROM (${momentSql(d, moment.rule, sqlOptions)}) AS x ORDER BY at_ms, user_id${limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.trunc(limit))}`}`,
  );
  const instants = rows.map((r) => instant(r));
  instants.sort((a, b) => a.atMs - b.atMs || byteOrder(a.userId, b.userId));
  return limit === undefined ? instants : instants.slice(0, limit);
}

/**
 * Every configured moment of one user as of asOf, in configuration order: its instant, or
 * null when the user has not reached it.
 */
export async function userMoments(store: EventStore, source: MomentsSource, userId: string, options: { asOfMs: number }): Promise<{ key: string; at: string | null }[]> {
  const all = source.moments.moments;
  if (all.length === 0) return [];
  const rows = await store.queryByUser((d) => momentsSql(d, all, { asOfMs: options.asOfMs, userIds: [userId] }));
  const at = new Map(rows.map((r) => [String(r.moment), toNumber(r.at_ms)]));
  return all.map((m) => {
    const ms = at.get(m.key);
    return { key: m.key, at: ms === undefined ? null : formatInstant(ms) };
  });
}

function instant(r: Row): MomentInstant {
  const atMs = toNumber(r.at_ms);
  return { userId: String(r.user_id), at: formatInstant(atMs), atMs };
}

/** Shards' bucket rows combined: counts add up, extremes take the extreme. */
function summarize(m: MomentDefinition, per: MomentPeriod, rows: readonly Row[]): MomentSummary {
  const byBucket = new Map<number, number>();
  let first: number | null = null;
  let last: number | null = null;
  for (const r of rows) {
    const bucket = toNumber(r.bucket);
    byBucket.set(bucket, (byBucket.get(bucket) ?? 0) + toNumber(r.users));
    const lo = toNumber(r.first_at);
    const hi = toNumber(r.last_at);
    if (first === null || lo < first) first = lo;
    if (last === null || hi > last) last = hi;
  }
  const keys = [...byBucket.keys()].sort((a, b) => a - b);
  const span = keys.length === 0 ? 0 : keys[keys.length - 1]! - keys[0]! + 1;
  const filled = span <= MAX_FILLED_BUCKETS ? Array.from({ length: span }, (_, i) => keys[0]! + i) : keys;
  return {
    key: m.key,
    name: m.name,
    kind: m.rule.kind,
    rule: describeMomentRule(m.rule),
    description: m.description,
    reached: [...byBucket.values()].reduce((a, b) => a + b, 0),
    firstAt: first === null ? null : formatInstant(first),
    lastAt: last === null ? null : formatInstant(last),
    buckets: filled.map((k) => ({ start: formatInstant(periodStartMs(per, k)), users: byBucket.get(k) ?? 0 })),
  };
}

/** Users as of asOf (DESIGN.md "Evaluation"), or the members of a snapshot. */
async function populationCount(store: EventStore, asOfMs: number, snapshotId: number | undefined): Promise<number> {
  const rows = await store.queryByUser((d) => {
    const where = [populationPredicate(d, asOfMs), ...(snapshotId === undefined ? [] : [memberFilter(d, snapshotId, 'u.user_id')])];
    return `SELECT count() AS n FROM ${d.table(TABLES.users)} u WHERE ${where.join(' AND ')}`;
  });
  return rows.reduce((sum, r) => sum + toNumber(r.n), 0);
}
