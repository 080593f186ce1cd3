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

/** Count, mean and sample standard deviation of a per-user value over a group of users. */
export interface GroupValue {
  /** Users the value is taken over (recency: users with an event before asOf; revenue per converter: converters). */
  readonly users: number;
  readonly mean: number | null;
  /** Sample standard deviation (n - 1); null under two users. */
  readonly sd: number | null;
  /** Recency only: the exact median. */
  readonly median?: number | null;
}

export type BehaviorMetricName = 'frequency' | 'activeDays' | 'recency' | 'depth' | 'conversion' | 'revenuePerUser' | 'revenuePerConverter';

/** A per-user behaviour compared between members and the population (see behavior-metrics.ts for each definition). */
export interface BehaviorMetric {
  readonly metric: BehaviorMetricName;
  readonly label: string;
  /** `share`: the mean of a yes/no value (a proportion); `mean`: of a count, a number of days or an amount. */
  readonly kind: 'share' | 'mean';
  readonly members: GroupValue;
  /** Everyone in the population, members included. */
  readonly population: GroupValue;
  /** The population less the members. */
  readonly rest: GroupValue;
  /** members.mean / population.mean; null when either is missing or the population's is 0. */
  readonly lift: number | null;
  /** members.mean - population.mean. */
  readonly difference: number | null;
  /** Members against the rest: Cohen's d with the pooled sample standard deviation, as for numeric traits (a share is the mean of a 0/1 value). */
  readonly standardizedDifference: number | null;
}

/** Engagement, conversion and revenue of the members against the population over a window before asOf. */
export interface BehaviorReport {
  /** The window's length (`28d`); it is [windowStart, asOf). */
  readonly window: string;
  readonly windowStart: string;
  readonly engagement: {
    readonly frequency: BehaviorMetric;
    readonly activeDays: BehaviorMetric;
    readonly recency: BehaviorMetric;
    readonly depth: BehaviorMetric;
  };
  /** Share who did the purchase event in the window; null without `rfm:` purchase settings. */
  readonly conversion: BehaviorMetric | null;
  /** null without `rfm:` purchase settings or without a value property. */
  readonly revenue: { readonly perUser: BehaviorMetric; readonly perConverter: BehaviorMetric } | null;
  /** The purchase settings used (strata.yaml `rfm:`), null when there are none. */
  readonly purchase: { readonly event: string; readonly value: string | null; readonly quantity: string | null } | null;
  /** What could not be computed and why. */
  readonly notes: readonly string[];
}

export interface SegmentReport {
  readonly key: string;
  readonly version: number;
  /** The reported version's name, objective, rationale and owner (null: stored before owners were required). */
  readonly name: string;
  readonly objective: string;
  readonly rationale: string;
  readonly owner: string | null;
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
  /** Engagement, conversion and revenue per member against the population. */
  readonly behavior: BehaviorReport;
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

/** One stored snapshot in a segment's history, compared with the snapshots before it. */
export interface HistoryPoint {
  readonly snapshotId: number;
  readonly asOf: string;
  readonly version: number;
  /** The version differs from the previous snapshot's (possible only with allVersions). */
  readonly versionChanged: boolean;
  readonly size: number;
  readonly population: number | null;
  /** size / population; null when the population is unknown or empty. */
  readonly share: number | null;
  /** The stored snapshot just before this one (it may lie before `from`); null for the first. */
  readonly previousAsOf: string | null;
  /** Members now who were not members at the previous snapshot; null for the first. */
  readonly entered: number | null;
  /** Members at the previous snapshot who are not members now; null for the first. */
  readonly left: number | null;
  /** The snapshot compared week over week: the latest one at or before asOf - 7d (exactly asOf - 7d when stored). */
  readonly weekAgoAsOf: string | null;
  /** Jaccard |A and B| / |A or B| with the week-ago snapshot; null when there is none, or both are empty. */
  readonly weeklyJaccard: number | null;
}

export interface HistorySummary {
  readonly snapshots: number;
  /** Points with a weekly Jaccard. */
  readonly weeklyComparisons: number;
  /** Mean of the points' weekly Jaccard indexes; null when there is none. */
  readonly meanWeeklyJaccard: number | null;
  readonly minSize: number | null;
  readonly maxSize: number | null;
  /** Sums over the points of entered and left. */
  readonly entered: number;
  readonly left: number;
}

/** A segment's stored snapshots over time, one per instant, in asOf order. */
export interface SegmentHistory {
  readonly key: string;
  /** The current version. */
  readonly version: number;
  /** false: only snapshots of the current version; true: at each instant the highest version computed for it, changes marked. */
  readonly allVersions: boolean;
  readonly from: string | null;
  readonly to: string | null;
  readonly points: readonly HistoryPoint[];
  readonly summary: HistorySummary;
}

export type BackfillStatus = 'computed' | 'kept';

export interface BackfillSnapshot {
  readonly key: string;
  readonly version: number;
  readonly asOf: string;
  readonly snapshotId: number;
  readonly size: number;
  readonly population: number | null;
  /** computed by this backfill, or kept: a snapshot of that version at that instant was already stored. */
  readonly status: BackfillStatus;
}

export interface BackfillResult {
  readonly keys: readonly string[];
  readonly from: string;
  readonly to: string;
  readonly stepMs: number;
  /** from, from + step, ... up to and including to. */
  readonly instants: readonly string[];
  readonly computed: number;
  readonly kept: number;
  /** Per instant, per key in the order given. */
  readonly snapshots: readonly BackfillSnapshot[];
}
