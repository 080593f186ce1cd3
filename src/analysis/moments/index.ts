/** Key moments: the `moments:` section of strata.yaml, computed per user with their instant. */
export {
  MOMENT_KINDS,
  THRESHOLD_PERIODS,
  parseMomentsSection,
  type MomentDefinition,
  type MomentKind,
  type MomentRule,
  type MomentsConfig,
  type ThresholdPeriod,
} from './moments-config.js';
export { describeMomentRule } from './describe-moment.js';
export { momentSql, momentsSql, type MomentSqlOptions } from './moment-sql.js';
export {
  findMoment,
  momentInstants,
  momentSummaries,
  userMoments,
  type MomentBucket,
  type MomentInstant,
  type MomentInstantOptions,
  type MomentPeriod,
  type MomentsReport,
  type MomentsSource,
  type MomentSummary,
  type MomentSummaryOptions,
} from './moments.js';
export { momentInstantLine, writeMomentInstants, type MomentInstantFormat } from './moment-export.js';
