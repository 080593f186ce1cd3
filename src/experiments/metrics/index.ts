/**
 * Experiment metrics: exposures (from `$exposure` events or derived from assignment) and
 * each metric's per-user values computed in the store, reduced to sufficient statistics
 * per variant and breakdown group (docs/experiments.md, "Metrics and exposures").
 *
 *   computeExperimentData(store, registry, stored, options)   ExperimentData for the statistics
 *   selectMetrics(definition, keys?)                          the metrics an analysis computes
 *   planMetrics(metrics, plan)                                what each metric measures per user
 */
export { computeExperimentData, LIFECYCLE_BREAKDOWN, MISSING_VARIANT, type ExperimentDataOptions } from './experiment-data.js';
export { DAY_MS, planMetrics, selectMetrics, type MetricClamp, type MetricPlan, type SidePlan, type StatsKind } from './metric-plan.js';
export { EXPERIMENT_PROPERTY, EXPOSURE_EVENT, VARIANT_PROPERTY } from '../design/exposure.js';
export type { ExperimentData, ExposureCount, GroupKey, MetricGroupStats, VariantStats } from './types.js';
