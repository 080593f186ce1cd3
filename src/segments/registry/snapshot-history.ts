/**
 * A segment's history from its stored snapshots: size and share per snapshot, who entered
 * and left since the snapshot before, and week-over-week stability (Jaccard with the
 * snapshot a week earlier).
 *
 * Every number comes from snapshot sizes and pairwise intersections, and intersections are
 * counted set-wise inside the store: per user (on a cluster, on each shard), one flag per
 * snapshot of a chunk, then one sum per pair; the parts' sums are added. Member lists never
 * leave the store.
 */
import type { EventStore } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';
import { formatInstant, MS } from '../../time/time.js';
import type { SqlDialect } from '../compile/dialect.js';
import { toNumber } from './registry-sql.js';
import type { HistoryPoint, HistorySummary, SegmentHistory, SnapshotSummary } from './registry-types.js';

/** At most this many snapshots per intersection query: one flag column each, and a sum per pair. */
const SNAPSHOTS_PER_QUERY = 40;
export const WEEK_MS = 7 * MS.d;

export interface HistoryInput {
  readonly key: string;
  /** The current version. */
  readonly version: number;
  readonly allVersions: boolean;
  readonly fromMs?: number;
  readonly toMs?: number;
  /** The stored snapshots of the segment (already restricted to the versions wanted), any order; one per instant is used. */
  readonly snapshots: readonly SnapshotSummary[];
}

interface Snap {
  readonly s: SnapshotSummary;
  readonly asOfMs: number;
}

export async function segmentHistory(store: EventStore, input: HistoryInput): Promise<SegmentHistory> {
  const ordered = historyOrder(input.snapshots);
  const shown = ordered
    .map((snap, index) => ({ snap, index }))
    .filter(({ snap }) => (input.fromMs === undefined || snap.asOfMs >= input.fromMs) && (input.toMs === undefined || snap.asOfMs <= input.toMs));
  const previous = new Map(shown.map(({ snap, index }) => [snap.s.snapshotId, index > 0 ? ordered[index - 1]! : null]));
  const weekAgo = new Map(shown.map(({ snap, index }) => [snap.s.snapshotId, weekAgoOf(ordered, index)]));

  const pairs: [number, number][] = [];
  for (const { snap } of shown) {
    for (const ref of [previous.get(snap.s.snapshotId), weekAgo.get(snap.s.snapshotId)]) if (ref) pairs.push([ref.s.snapshotId, snap.s.snapshotId]);
  }
  const intersections = await pairIntersections(store, pairs);
  const common = (a: Snap, b: Snap) => intersections.get(pairKey(a.s.snapshotId, b.s.snapshotId)) ?? 0;

  const points: HistoryPoint[] = shown.map(({ snap }) => {
    const s = snap.s;
    const prev = previous.get(s.snapshotId) ?? null;
    const ref = weekAgo.get(s.snapshotId) ?? null;
    const both = prev ? common(prev, snap) : 0;
    const weekly = ref ? common(ref, snap) : 0;
    const union = ref ? ref.s.size + s.size - weekly : 0;
    return {
      snapshotId: s.snapshotId,
      asOf: s.asOf,
      version: s.version,
      versionChanged: prev !== null && prev.s.version !== s.version,
      size: s.size,
      population: s.population,
      share: s.population ? s.size / s.population : null,
      previousAsOf: prev ? prev.s.asOf : null,
      entered: prev ? s.size - both : null,
      left: prev ? prev.s.size - both : null,
      weekAgoAsOf: ref ? ref.s.asOf : null,
      weeklyJaccard: ref && union > 0 ? weekly / union : null,
    };
  });
  return {
    key: input.key,
    version: input.version,
    allVersions: input.allVersions,
    from: input.fromMs === undefined ? null : formatInstant(input.fromMs),
    to: input.toMs === undefined ? null : formatInstant(input.toMs),
    points,
    summary: summarize(points),
  };
}

/**
 * One snapshot per instant in asOf order: the highest version computed for it (only the
 * current one unless allVersions), and of that the latest computation (the largest id).
 * With every version, the history is the segment's timeline through its definitions.
 */
function historyOrder(snapshots: readonly SnapshotSummary[]): Snap[] {
  const byInstant = new Map<string, SnapshotSummary>();
  for (const s of snapshots) {
    const seen = byInstant.get(s.asOf);
    if (!seen || s.version > seen.version || (s.version === seen.version && s.snapshotId > seen.snapshotId)) byInstant.set(s.asOf, s);
  }
  return [...byInstant.values()]
    .map((s) => ({ s, asOfMs: Date.parse(s.asOf) }))
    .sort((a, b) => a.asOfMs - b.asOfMs || a.s.version - b.s.version);
}

/** The latest snapshot at or before asOf - 7d: the one exactly a week earlier when stored. */
function weekAgoOf(ordered: readonly Snap[], index: number): Snap | null {
  const target = ordered[index]!.asOfMs - WEEK_MS;
  for (let i = index - 1; i >= 0; i--) if (ordered[i]!.asOfMs <= target) return ordered[i]!;
  return null;
}

function summarize(points: readonly HistoryPoint[]): HistorySummary {
  const jaccards = points.map((p) => p.weeklyJaccard).filter((j): j is number => j !== null);
  const sizes = points.map((p) => p.size);
  return {
    snapshots: points.length,
    weeklyComparisons: jaccards.length,
    meanWeeklyJaccard: jaccards.length > 0 ? jaccards.reduce((a, b) => a + b, 0) / jaccards.length : null,
    minSize: sizes.length > 0 ? Math.min(...sizes) : null,
    maxSize: sizes.length > 0 ? Math.max(...sizes) : null,
    entered: points.reduce((sum, p) => sum + (p.entered ?? 0), 0),
    left: points.reduce((sum, p) => sum + (p.left ?? 0), 0),
  };
}

function pairKey(a: number, b: number): string {
  return `${a}:${b}`;
}

/**
 * |A and B| for each pair of snapshot ids, counted per user where the user's rows are and
 * summed over parts. Pairs are cut into chunks of at most SNAPSHOTS_PER_QUERY snapshots.
 */
export async function pairIntersections(store: EventStore, pairs: readonly (readonly [number, number])[]): Promise<Map<string, number>> {
  const unique = [...new Map(pairs.map(([a, b]) => [pairKey(a, b), [a, b] as const])).values()];
  const out = new Map<string, number>();
  for (const chunk of chunkPairs(unique)) {
    const rows = await store.queryByUser((d) => intersectionSql(d, chunk));
    for (const r of rows) {
      chunk.forEach(([a, b], i) => {
        const k = pairKey(a, b);
        out.set(k, (out.get(k) ?? 0) + toNumber(r[`p${i}`]));
      });
    }
  }
  return out;
}

function chunkPairs(pairs: readonly (readonly [number, number])[]): (readonly [number, number])[][] {
  const chunks: (readonly [number, number])[][] = [];
  let current: (readonly [number, number])[] = [];
  let ids = new Set<number>();
  for (const pair of pairs) {
    const grown = new Set([...ids, ...pair]);
    if (current.length > 0 && grown.size > SNAPSHOTS_PER_QUERY) {
      chunks.push(current);
      current = [];
      ids = new Set(pair);
    } else ids = grown;
    current.push(pair);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Per user, a 0/1 flag per snapshot of the chunk; per pair, the users with both flags. One row. */
function intersectionSql(d: SqlDialect, pairs: readonly (readonly [number, number])[]): string {
  const ids = [...new Set(pairs.flat())];
  const flag = new Map(ids.map((id, i) => [id, `s${i}`]));
  const flags = ids.map((id) => `max(CASE WHEN snapshot_id = ${d.numberLiteral(id)} THEN 1 ELSE 0 END) AS ${flag.get(id)}`).join(', ');
  const sums = pairs.map(([a, b], i) => `sum(${flag.get(a)} * ${flag.get(b)}) AS p${i}`).join(', ');
  return `SELECT ${sums}
FROM (SELECT user_id, ${flags} FROM ${d.table(TABLES.snapshotMembers)} WHERE snapshot_id IN (${ids.map((id) => d.numberLiteral(id)).join(', ')}) GROUP BY user_id) f`;
}
