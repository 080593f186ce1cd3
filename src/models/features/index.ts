/**
 * Model features (issue 6): per-user feature matrices as of an instant, built in SQL through
 * the store's dialect (feature-sql.ts) and assembled into one row-major Float64Array
 * (build-features.ts); training sets of past snapshots with churn or conversion labels
 * (labelled-snapshots.ts). Every feature's definition is in docs/models.md, "Features".
 */
export { buildFeatures, forEachFeaturePage, traitCategories, featureRecord, matrixFromRows, topValues, OTHER, MISSING, type FeatureMatrix } from './build-features.js';
export {
  resolveFeatureOptions,
  featureTraits,
  DEFAULT_WINDOWS_DAYS,
  DEFAULT_ACTIVE_DAYS_WINDOWS,
  DEFAULT_RECENCY_CAP_DAYS,
  DEFAULT_ONE_HOT_TOP,
  type FeatureOptions,
  type FeatureLayout,
  type FeatureRestriction,
} from './feature-options.js';
export { labelledSnapshots, latestEventMs, defaultModelAsOf, type LabelSpec, type LabelledSnapshot, type LabelledSnapshots, type LabelledSnapshotOptions } from './labelled-snapshots.js';
