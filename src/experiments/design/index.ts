/**
 * Experiment design: definitions, versions and assignment.
 *
 *   parseExperimentText(text, source)          YAML or JSON with positions (errors at file:line)
 *   validateExperiment(raw, plan, {segmentKeys})  the normalized ExperimentDefinition, every error with its path
 *   validateExperimentText(text, source, plan, context)  both, for a file of one or more definitions
 *   canonicalExperimentJson / experimentDefinitionHash   the version identity
 *   ExperimentRegistry(store, plan)            add (versions), list, get, versions
 *   assignUser(sources, key, userId, {asOfMs}) `strata experiment assign`: targeting in memory + the hash
 *   hashBucket / assignVariant / assignmentOutcome / variantBounds   the hash scheme (hash.ts, assign.ts)
 */
export * from './types.js';
export { EXPERIMENT_PROPERTY, EXPOSURE_EVENT, EXPOSURE_PLAN_FIX, VARIANT_PROPERTY, exposurePlanProblems } from './exposure.js';
export {
  ANALYSIS_METHODS,
  DIFFERENCES,
  EXPERIMENT_DEFAULTS,
  EXPERIMENT_KEY_PATTERN,
  METRIC_KEY_PATTERN,
  METRIC_TYPES,
  SEED_PATTERN,
  SIDES,
  VARIANT_KEY_PATTERN,
  canonicalExperimentJson,
  checkExperiment,
  experimentDefinitionHash,
  parseExperimentText,
  validateExperiment,
  validateExperimentText,
  type ExperimentContext,
  type ParsedExperimentText,
  type ValidatedExperiment,
} from './definition.js';
export {
  ExperimentRegistry,
  assignUser,
  experimentNotFound,
  experimentStatus,
  type AssignUserSources,
  type ExperimentAddResult,
  type ExperimentListItem,
  type ExperimentRegistryOptions,
  type ExperimentStatus,
  type ExperimentVersionInfo,
  type TargetingMembership,
  type UserAssignment,
} from './experiment-registry.js';
export { HASH_BUCKETS, hashBucket, hashInput, type HashPurpose } from './hash.js';
export {
  assignVariant,
  assignmentOutcome,
  coverageThreshold,
  variantBounds,
  variantForBucket,
  type AssignmentContext,
  type AssignmentDefinition,
  type VariantAssignment,
  type VariantBucketRange,
} from './assign.js';
export { bucketSql, coveredSql, hashedVariantSql, variantSql } from './assignment-sql.js';
