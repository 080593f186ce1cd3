/**
 * Retention tables (`strata retention`): cohorts by first-seen day, week or month or by a
 * start event, a return event, N-period and "on or after" tables, per breakdown group.
 *
 *   checkRetentionDefinition(raw, plan, asOfMs)  a definition checked against the plan
 *   computeRetention(ctx, raw, {asOfMs})         check and compute in one call
 *   retentionTable(ctx, spec, asOfMs)            the table of a checked definition
 *   retentionSql(dialect, query)                 the per-user query (summed over parts)
 *   parseRetentionFile(text, source)             a retention file, with file:line for errors
 */
export { COHORT_UNITS, periodKey, periodLabel, periodStartMs, type CohortUnit } from './periods.js';
export {
  ALIGNMENTS,
  DEFAULT_PERIODS,
  MAX_PERIODS,
  RETENTION_MODES,
  checkRetentionDefinition,
  describeEventFilter,
  type Alignment,
  type EventSpec,
  type RetentionDefinition,
  type RetentionMode,
  type RetentionSpec,
} from './retention-definition.js';
export { parseRetentionFile, type ParsedRetentionFile } from './retention-file.js';
export { retentionSql, type RetentionQuery } from './retention-sql.js';
export {
  cellTiming,
  computeRetention,
  retentionTable,
  type RetentionCell,
  type RetentionCohort,
  type RetentionContext,
  type RetentionGroup,
  type RetentionOverallCell,
  type RetentionResult,
} from './retention-table.js';
