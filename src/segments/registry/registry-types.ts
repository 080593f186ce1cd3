/**
 * The registry's results: plain, JSON-serializable data, so the CLI's `--json` and the
 * HTTP API print them as they are. Instants are ISO-8601 strings in UTC (millisecond
 * precision, like everything the store holds).
 */
import type { SegmentDefinition } from '../language/index.js';

export type AddStatus = 'created' | 'updated' | 'unchanged';

export interface AddResult {
  readonly key: string;
  /** The current version after the call: a new one when created or updated, the old one when unchanged. */
  readonly version: number;
  readonly status: AddStatus;
}

/** A materialized membership: who was in the segment, at which definition version, as of when. */
export interface SnapshotSummary {
  readonly snapshotId: number;
  readonly key: string;
  /** The segment's own definition version; referenced segments are inlined at their version current at compute time. */
  readonly version: number;
  readonly asOf: string;
  readonly computedAt: string;
  readonly size: number;
  /** The population as of asOf (users with a profile or an event before asOf). */
  readonly population: number | null;
}

export interface SegmentListItem {
  readonly key: string;
  readonly name: string;
  readonly objective: string;
  readonly owner: string | null;
  readonly tags: readonly string[];
  readonly version: number;
  /** When version 1 was stored. */
  readonly createdAt: string;
  /** When the current version was stored. */
  readonly updatedAt: string;
  /** The most recently computed snapshot, of any version. */
  readonly lastSnapshot: SnapshotSummary | null;
}

export interface SegmentVersionInfo {
  readonly version: number;
  readonly hash: string;
  readonly createdAt: string;
}

export interface SegmentDetails {
  readonly key: string;
  readonly version: number;
  readonly definition: SegmentDefinition;
  readonly versions: readonly SegmentVersionInfo[];
  /** The most recently computed snapshots, newest first. */
  readonly snapshots: readonly SnapshotSummary[];
}

export interface ComputeResult {
  readonly key: string;
  readonly version: number;
  readonly asOf: string;
  readonly size: number;
  readonly population: number;
  readonly snapshotId: number;
  /** Wall time of the whole batch: the segments of one compute call share one query, so they share its time. */
  readonly elapsedMs: number;
}

export type MemberFormat = 'csv' | 'jsonl';

/** A membership to read page by page: `ids` streams the user ids in byte order of the id. */
export interface MemberList {
  readonly snapshot: SnapshotSummary;
  readonly ids: AsyncIterable<string>;
}

export interface MembersExport {
  readonly snapshot: SnapshotSummary;
  readonly format: MemberFormat;
  /** The file written, or null when written to a stream given by the caller. */
  readonly out: string | null;
  readonly written: number;
}

/** One side of a diff. `sample` holds up to `sampleLimit` ids in byte order; `complete` says it holds them all. */
export interface DiffGroup {
  readonly count: number;
  readonly sample: readonly string[];
  readonly complete: boolean;
}

export interface DiffResult {
  readonly key: string;
  readonly version: number;
  readonly from: SnapshotSummary;
  readonly to: SnapshotSummary;
  /** In the segment at `to`, not at `from`. */
  readonly entered: DiffGroup;
  /** In the segment at `from`, not at `to`. */
  readonly left: DiffGroup;
  readonly stayed: DiffGroup;
  readonly sampleLimit: number;
}

/**
 * A yes/no feature of a user: a categorical trait value (`plan = pro`), having done an
 * event before asOf, or having done it in the last `recentDays` days.
 */
export interface BinaryFeature {
  readonly kind: 'trait' | 'event' | 'recentEvent';
  /** The trait or event name. */
  readonly name: string;
  /** The trait value (string or boolean); null for events. */
  readonly value: string | boolean | null;
  /** Human-readable: `plan = pro`, `did purchase`, `did purchase in the last 30d`. */
  readonly label: string;
  /** Members with the feature. */
  readonly members: number;
  /** Users of the population with the feature (the support). */
  readonly population: number;
  readonly shareMembers: number | null;
  readonly shareRest: number | null;
  readonly sharePopulation: number;
  /** shareMembers / sharePopulation. */
  readonly lift: number | null;
  /** shareMembers - shareRest, in [-1, 1]: the ranking key (by absolute value). */
  readonly difference: number | null;
}

export interface NumericFeature {
  readonly name: string;
  /** Users with a value, among members and among the rest. */
  readonly membersWithValue: number;
  readonly restWithValue: number;
  readonly meanMembers: number | null;
  readonly meanRest: number | null;
  /** (meanMembers - meanRest) / pooled standard deviation: the ranking key (by absolute value). */
  readonly standardizedDifference: number | null;
}

export interface SegmentReport {
  readonly key: string;
  readonly version: number;
  readonly snapshot: SnapshotSummary;
  readonly size: number;
  readonly population: number;
  /** size / population; null for an empty population. */
  readonly share: number | null;
  /** A binary feature is reported only when at least this many users of the population have it. */
  readonly minSupport: number;
  readonly recentDays: number;
  /** Strongest first (largest |difference|), at most `limit`. */
  readonly features: readonly BinaryFeature[];
  /** Strongest first (largest |standardizedDifference|), at most `limit`. */
  readonly numeric: readonly NumericFeature[];
}

export interface OverlapSegment {
  readonly key: string;
  readonly version: number;
  readonly snapshotId: number;
  readonly size: number;
}

export interface OverlapPair {
  readonly a: string;
  readonly b: string;
  readonly intersection: number;
  readonly union: number;
  /** |A∩B| / |A∪B|; null when both are empty. */
  readonly jaccard: number | null;
}

export interface OverlapResult {
  readonly asOf: string;
  readonly segments: readonly OverlapSegment[];
  /** Every unordered pair, in the order the segments are listed. */
  readonly pairs: readonly OverlapPair[];
}
