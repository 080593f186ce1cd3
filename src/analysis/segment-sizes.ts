/**
 * `segment size`: each segment's members as of an instant (the snapshot, computed when
 * missing), optionally split by a breakdown (`--by NAME`, analysis/breakdown.ts: a trait's
 * value or membership of another segment, as of the same instant). Every member is in
 * exactly one group, so the groups of a segment add up to its size.
 *
 * The split is one query per segment over its snapshot's members LEFT JOINed to the
 * breakdown, per user (`store.queryByUser`: on a cluster each shard answers for its own
 * members and the counts are summed here).
 */
import type { SqlDialect } from '../segments/compile/dialect.js';
import { byteOrder, sumByKey } from '../segments/registry/registry-sql.js';
import type { SegmentRegistry } from '../segments/registry/index.js';
import type { EventStore } from '../store/event-store.js';
import { TABLES } from '../store/schema.js';
import { MEMBER_GROUP, NON_MEMBER_GROUP, bindBreakdown, breakdownRelation, defaultGroup, type Breakdown, type BoundBreakdown } from './breakdown.js';

export interface SegmentSizeGroup {
  readonly group: string;
  readonly users: number;
}

export interface SegmentSize {
  readonly key: string;
  readonly version: number;
  readonly size: number;
  /** The population as of asOf; null for snapshots stored before it was recorded. */
  readonly population: number | null;
  /** Members per group of the breakdown (null without one), in display order. */
  readonly groups: readonly SegmentSizeGroup[] | null;
}

export interface SegmentSizes {
  readonly asOf: string;
  readonly by: { readonly label: string; readonly kind: Breakdown['kind'] } | null;
  readonly segments: readonly SegmentSize[];
}

/**
 * Sizes of `keys` as of asOf, split by `by` when given.
 * @example await segmentSizes(store, registry, ['power-users'], { asOfMs: Date.parse('2026-11-01') })
 */
export async function segmentSizes(store: EventStore, registry: SegmentRegistry, keys: readonly string[], options: { asOfMs: number; by?: Breakdown }): Promise<SegmentSizes> {
  const snapshots = await registry.snapshots(keys, { asOfMs: options.asOfMs });
  const bound = options.by ? await bindBreakdown(options.by, registry, options.asOfMs) : null;
  const segments: SegmentSize[] = [];
  for (const key of keys) {
    const s = snapshots.get(key)!;
    const groups = bound ? await groupsOf(store, s.snapshotId, bound) : null;
    segments.push({ key, version: s.version, size: s.size, population: s.population, groups });
  }
  const asOf = snapshots.get(keys[0]!)?.asOf ?? new Date(options.asOfMs).toISOString();
  return { asOf, by: bound ? { label: bound.label, kind: bound.kind } : null, segments };
}

async function groupsOf(store: EventStore, snapshotId: number, by: BoundBreakdown): Promise<SegmentSizeGroup[]> {
  const rows = await store.queryByUser((d) => groupSql(d, snapshotId, by));
  const counts = sumByKey(rows, (r) => String(r.grp), 'n');
  const groups = [...counts].map(([group, users]) => ({ group, users }));
  if (by.kind === 'segment') {
    // Known groups, zeros included, in a fixed order.
    return [MEMBER_GROUP, NON_MEMBER_GROUP].map((group) => ({ group, users: counts.get(group) ?? 0 }));
  }
  const none = defaultGroup(by);
  return groups.sort((a, b) => (a.group === none ? 1 : 0) - (b.group === none ? 1 : 0) || b.users - a.users || byteOrder(a.group, b.group));
}

function groupSql(d: SqlDialect, snapshotId: number, by: BoundBreakdown): string {
  const join = d.userJoin('left', 'm', 'g');
  return `SELECT grp, count() AS n FROM (
  SELECT coalesce(g.grp, ${d.stringLiteral(defaultGroup(by))}) AS grp
  FROM (SELECT user_id FROM ${d.table(TABLES.snapshotMembers)} WHERE snapshot_id = ${d.numberLiteral(snapshotId)}) m
  ${join.keyword} ${breakdownRelation(d, by)} g ${join.condition}
) sz_rows
GROUP BY grp`;
}
