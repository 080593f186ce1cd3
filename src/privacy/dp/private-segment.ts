/**
 * Private segment sizes: `segment compute --private` (the sizes of the segments just
 * computed) and `segment size --private [--by NAME]` (sizes, and members per group). The
 * stored snapshots keep the exact sizes (they never leave the workspace); what is printed
 * is released.
 *
 * Segment keys come from definitions, not data: public keys. A user can be in every
 * segment of the call, so each user adds to at most that many sizes (the true bound for
 * overlapping segments), once each. With `--by`, each segment's split is a release of its
 * own (its first count sizes and, for a trait, selects its groups): every member is in
 * exactly one group (maxGroupsPerUser 1); `segment:KEY` groups (member / non-member) are
 * known in advance, trait values come from the data and go through partition selection.
 */
import { NO_VALUE_GROUP } from '../../analysis/breakdown.js';
import type { SegmentSizes } from '../../analysis/segment-sizes.js';
import { byteOrder } from '../../segments/registry/registry-sql.js';
import { SELECTION_NOTE, privacyNote, releaseParts, releasedGroup, releasedQuery, type PrivacyNote, type PrivateTarget, type ReleasePart, type SuppressionReason } from './private-release.js';
import type { CountQuery, NoisyQuery } from './release-types.js';

export interface PrivateSizeGroup {
  readonly group: string;
  /** Noisy members of the group; null when suppressed or not selected. */
  readonly users: number | null;
  /** users / the sum of the segment's released groups. */
  readonly share: number | null;
  readonly suppressed: SuppressionReason | null;
}

export interface PrivateSegmentSize {
  readonly key: string;
  readonly version: number;
  /** The noisy size; null when suppressed. */
  readonly size: number | null;
  readonly ci95: number;
  readonly suppressed: SuppressionReason | null;
  /** With --by: the groups shown (a trait's values only when selected). */
  readonly groups?: readonly PrivateSizeGroup[];
}

export interface PrivateSegmentSizes {
  readonly asOf: string;
  readonly by?: { readonly label: string; readonly keys: 'public' | 'private'; readonly ci95: number } | null;
  readonly segments: readonly PrivateSegmentSize[];
  readonly privacy: PrivacyNote;
}

export const SIZE_QUERY = 'size';

/** What a size needs: computed snapshots (`registry.compute`) or `segmentSizes` rows. */
export interface ExactSize {
  readonly key: string;
  readonly version: number;
  readonly size: number;
}

function sizeQuery(sizes: readonly ExactSize[]): CountQuery {
  return { kind: 'count', name: SIZE_QUERY, keys: 'public', maxGroupsPerUser: sizes.length, maxRowsPerUser: 1, groups: sizes.map((r) => ({ key: r.key, value: r.size })) };
}

function overlapNotes(n: number): string[] {
  return n > 1 ? [`a user can be in ${n === 2 ? 'both' : `all ${n}`} segments, so each size carries the noise of ${n} contributions per user`] : [];
}

function noisySize(noisy: NoisyQuery, r: ExactSize): PrivateSegmentSize {
  const g = releasedGroup(noisy, r.key);
  return { key: r.key, version: r.version, size: g?.value ?? null, ci95: noisy.ci95, suppressed: g ? g.suppressed : 'min_group_size' };
}

/**
 * Release the sizes of snapshots (one release, one count query).
 * @example await privateSegmentSizes(target, await registry.compute(['power-users']), asOf)
 */
export async function privateSegmentSizes(target: PrivateTarget, sizes: readonly ExactSize[], asOf: string): Promise<PrivateSegmentSizes> {
  const [result] = await releaseParts(target, [{ release: `segment size ${sizes.map((r) => r.key).join(', ')} as of ${asOf}`, queries: [sizeQuery(sizes)] }]);
  const noisy = releasedQuery(result!, SIZE_QUERY);
  return { asOf, segments: sizes.map((r) => noisySize(noisy, r)), privacy: privacyNote(target, [result!], (_q, key) => key, overlapNotes(sizes.length)) };
}

/**
 * Release `segment size --by`: the sizes (one release), then each segment's groups (one release each).
 * @example await privateSegmentSizesBy(target, await segmentSizes(store, registry, keys, { asOfMs, by }))
 */
export async function privateSegmentSizesBy(target: PrivateTarget, exact: SegmentSizes): Promise<PrivateSegmentSizes> {
  if (!exact.by) return privateSegmentSizes(target, exact.segments, exact.asOf);
  const by = exact.by;
  const keys: 'public' | 'private' = by.kind === 'segment' ? 'public' : 'private';
  const groupsName = (key: string) => `${key} by ${by.label}`;
  const what = `segment size ${exact.segments.map((s) => s.key).join(', ')} as of ${exact.asOf}`;
  const parts: ReleasePart[] = [
    { release: what, queries: [sizeQuery(exact.segments)] },
    ...exact.segments.map((s) => ({
      release: `segment size ${s.key} as of ${exact.asOf} by ${by.label}`,
      queries: [
        {
          kind: 'count' as const,
          name: groupsName(s.key),
          keys,
          maxGroupsPerUser: 1,
          maxRowsPerUser: 1,
          // Keys from the data: only groups holding members are candidates; known keys: all, zeros included.
          // (trait values in byte order: the exact order by size must not reach the release).
          groups: (s.groups ?? [])
            .filter((g) => keys === 'public' || g.users > 0)
            .map((g) => ({ key: g.group, value: g.users }))
            .sort((a, b) => (keys === 'public' ? 0 : byteOrder(a.key, b.key))),
        },
      ],
    })),
  ];
  const results = await releaseParts(target, parts);
  const sizes = releasedQuery(results[0]!, SIZE_QUERY);
  const segments = exact.segments.map((s, i) => {
    const noisy = releasedQuery(results[i + 1]!, groupsName(s.key));
    return { ...noisySize(sizes, s), groups: releasedGroups(noisy, keys) };
  });
  const notes = [...overlapNotes(exact.segments.length), ...(keys === 'private' ? [SELECTION_NOTE] : [])];
  const ci95 = results.length > 1 ? releasedQuery(results[1]!, groupsName(exact.segments[0]!.key)).ci95 : 0;
  return { asOf: exact.asOf, by: { label: by.label, keys, ci95 }, segments, privacy: privacyNote(target, results, (_q, key) => key, notes) };
}

/** The groups a release shows, with shares of what it shows; a trait's by released size, no value last. */
function releasedGroups(noisy: NoisyQuery, keys: 'public' | 'private'): PrivateSizeGroup[] {
  const total = noisy.groups.reduce((a, g) => a + (g.value ?? 0), 0);
  const groups = noisy.groups.map((g) => ({ group: g.key, users: g.value, share: g.value === null ? null : total > 0 ? g.value / total : 0, suppressed: g.suppressed }));
  if (keys === 'public') return groups;
  // Ordered by released numbers only: the exact sizes must not show through the order.
  return groups.sort((a, b) => (a.group === NO_VALUE_GROUP ? 1 : 0) - (b.group === NO_VALUE_GROUP ? 1 : 0) || (b.users ?? -1) - (a.users ?? -1) || byteOrder(a.group, b.group));
}
