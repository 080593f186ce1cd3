export {
  SegmentRegistry,
  type SegmentRegistryOptions,
  type AsOfOptions,
  type AuditOptions,
  type MembersOptions,
  type WriteMembersOptions,
  type DiffOptions,
  type ReportOptions,
  type HistoryOptions,
  type BackfillOptions,
  type CurrentSegment,
  backfillInstants,
  DEFAULT_BACKFILL_MAX_STEPS,
} from './segment-registry.js';
export type * from './registry-types.js';
export { MEMBER_FORMATS, writeMemberIds } from './member-export.js';
export { closeKeys } from './close-keys.js';
export { segmentHistory, pairIntersections } from './snapshot-history.js';
export {
  createSnapshotScheduler,
  type SnapshotScheduler,
  type SnapshotSchedulerOptions,
  type SnapshotComputer,
  type SchedulerTimers,
  type SnapshotRefresh,
  type SkippedTick,
  type RefreshOutcome,
} from './scheduler.js';
export { scoreRunsFor, withModelCatalogue } from './score-runs.js';
