/**
 * The over-segmentation guard behind `strata segment lint`: power (is a segment big enough
 * for the effect its objective calls for), overlap and coverage warnings.
 */
export { lintSegments, LINT_DEFAULTS, type LintOptions } from './segment-lint.js';
export { powerCheck, OBJECTIVE_METRICS, MISSING_SETTING, RETENTION_RECENT_DAYS, type ObjectiveMetric, type MetricRequirement, type PowerCheckInput } from './power-check.js';
export { eventFilterFromDocument } from './event-filter.js';
export type * from './lint-types.js';
