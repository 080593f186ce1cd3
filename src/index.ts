/**
 * The Strata library: the same capabilities as the CLI, typed.
 *
 * ```ts
 * import { loadConfig, openStore, ingestFiles, SegmentRegistry } from 'strata';
 *
 * const config = await loadConfig({ cwd: process.cwd() });
 * const store = await openStore(config);
 * await ingestFiles(store, { kind: 'events', files: ['events.jsonl'], plan: config.plan, rejectsPath: 'rejects.jsonl' });
 * // The lifecycle model makes `{lifecycle: STAGE}` mean the workspace's stages (the default model without it).
 * const registry = new SegmentRegistry(store, config.plan, { lifecycle: config.lifecycle });
 * const [power] = await registry.compute(['power-users']);
 * await store.close();
 * ```
 *
 * Streaming, the same segments evaluated per event:
 *
 * ```ts
 * const stream = createStreamEvaluator({ segments, latenessMs: 3_600_000, onChange: (c) => console.log(c) });
 * stream.push({ userId: 'u1', event: 'purchase', ts: Date.parse('2025-06-01T10:00:00Z'), properties: { amount: 30 } });
 * stream.tick(Date.now()); // exits caused by time alone
 * ```
 */

// Errors and time
export { ERROR_CATALOGUE, StrataError, isStrataError, type ErrorCode, type ErrorDetail } from './errors/errors.js';
export { formatDuration, formatInstant, parseDurationMs, parseInstantMs, parseRelativeOffsetMs, requireInstantMs } from './time/time.js';

// Workspace and configuration
export {
  CONFIG_FILE,
  createConfig,
  findWorkspace,
  initWorkspace,
  loadConfig,
  openStore,
  replacePlanInText,
  resolveWorkspaceDir,
  withPlan,
  writePlan,
  type Config,
  type CreateConfigOptions,
  type InitWorkspaceResult,
  type LoadConfigOptions,
  type StoreConfig,
} from './config/index.js';

// Tracking plan
export {
  DEFAULT_SESSION_GAP_MS,
  FIELD_TYPES,
  emptyPlan,
  parsePlan,
  planToYaml,
  propertyTypes,
  type EventSpec,
  type FieldSpec,
  type FieldType,
  type TrackingPlan,
} from './schema/tracking-plan.js';

// Store
export type { EventStore, Row } from './store/event-store.js';
export { DuckDbStore, type DuckDbStoreOptions } from './store/duckdb/duckdb-store.js';
export { ClickHouseStore, type ClickHouseStoreOptions } from './store/clickhouse/clickhouse-store.js';
export { TABLES, USER_KEYED_TABLES, propertyColumn, traitColumn } from './store/schema.js';

// Ingestion
export {
  formatIngestSummary,
  inferPlan,
  ingestEventRecords,
  ingestFiles,
  ingestProfileRecords,
  mergePlan,
  type ColumnMapping,
  type IngestReport,
} from './ingest/index.js';

// The segment language, its IR, the SQL compiler and the in-memory evaluator
export {
  buildSegmentIR,
  checkConditionDocument,
  parseSegmentText,
  segmentReferences,
  validateSegment,
  MODEL_CONDITION_KINDS,
  type ModelKindName,
  type SegmentContext,
  type SegmentDefinition,
} from './segments/language/index.js';
export type { Condition, SegmentIR } from './segments/ir/nodes.js';
export { modelsUsed } from './segments/ir/nodes.js';
export { compileSegmentBatch, compileSegmentMembers, type CompileOptions } from './segments/compile/index.js';
export type { SqlDialect } from './segments/compile/dialect.js';
export { duckdbDialect } from './segments/compile/duckdb-dialect.js';
export {
  evaluateSegments,
  selectScoreRuns,
  type MemoryDataset,
  type MemoryEvent,
  type MemoryScoreRun,
  type MemoryScoreValues,
  type SelectedScores,
} from './segments/evaluate/index.js';

// The streaming evaluator: the same IR updated per event, entered/left changes, snapshots
export {
  createStreamEvaluator,
  DEFAULT_LATENESS_MS,
  forEachJsonLine,
  loadStreamSegments,
  readStreamState,
  STREAM_V8_FLAGS,
  StreamEvaluator,
  StreamRecordParser,
  writeStreamState,
  seedStreamScores,
  ScoreBlockBuffer,
  STREAM_STATE_READABLE_VERSIONS,
  type MembershipChange,
  type RejectedEvent,
  type StreamClock,
  type StreamEvaluatorOptions,
  type StreamEvent,
  type StreamRecord,
  type StreamRecordParserOptions,
  type StreamSnapshot,
  type StreamStats,
  type StreamScoreBlock,
  type StreamScoreRow,
  type StreamScoreRecord,
  type StreamModelKind,
  type ScorePushResult,
  type ScoreValues,
  type SavedScoreRun,
  type SeededScores,
} from './segments/stream/index.js';

// Registry: versions, snapshots and the analyses on them
// (scoreRunsFor: the run each model's conditions read as of asOf, for CompileOptions.scoreRuns)
export {
  SegmentRegistry,
  scoreRunsFor,
  withModelCatalogue,
  type AddResult,
  type ComputeResult,
  type DiffResult,
  type MemberList,
  type MembersExport,
  type OverlapResult,
  type BehaviorMetric,
  type BehaviorReport,
  type GroupValue,
  type ReportOptions,
  type SegmentDetails,
  type SegmentListItem,
  type SegmentRegistryOptions,
  type SegmentReport,
  type SnapshotSummary,
} from './segments/registry/index.js';

// Segments over time: refresh cycles (the scheduler), history, backfill
export {
  createSnapshotScheduler,
  backfillInstants,
  DEFAULT_BACKFILL_MAX_STEPS,
  segmentHistory,
  pairIntersections,
  type SnapshotScheduler,
  type SnapshotSchedulerOptions,
  type SnapshotComputer,
  type SchedulerTimers,
  type SnapshotRefresh,
  type SkippedTick,
  type RefreshOutcome,
  type HistoryOptions,
  type BackfillOptions,
  type CurrentSegment,
  type SegmentHistory,
  type HistoryPoint,
  type HistorySummary,
  type BackfillResult,
  type BackfillSnapshot,
  type BackfillStatus,
} from './segments/registry/index.js';

// Lifecycle stages: the model, its stages as IR, report and flow
export {
  parseLifecycleSection,
  defaultLifecycleModel,
  lifecycleStageIRs,
  lifecycleStageConditions,
  lifecycleReport,
  lifecycleFlow,
  stageKeys,
  atRiskThreshold,
  NOT_YET_SEEN,
  DEFAULT_ORDER,
  DEFAULT_PARAMETERS,
  DEFAULT_FALLBACK,
  type LifecycleModel,
  type LifecycleParameters,
  type LifecycleStage,
  type LifecycleEvent,
  type FallbackStage,
  type UnavailableStage,
  type StageIR,
  type LifecycleSettings,
  type LifecycleReport,
  type LifecycleReportGroup,
  type LifecycleReportOptions,
  type LifecycleFlow,
  type LifecycleFlowOptions,
  type FlowRow,
  type FlowCell,
  type StageCount,
  type SegmentRestriction,
} from './analysis/lifecycle/index.js';
// Lifecycle stages with the store's model catalogue checked (stages that use score/cluster)
export { stageConditionsFor } from './analysis/lifecycle/lifecycle-report.js';

// Key moments: the `moments:` section, computed per user with their instant
export {
  parseMomentsSection,
  describeMomentRule,
  momentSql,
  momentsSql,
  findMoment,
  momentInstants,
  momentSummaries,
  userMoments,
  writeMomentInstants,
  momentInstantLine,
  MOMENT_KINDS,
  THRESHOLD_PERIODS,
  type MomentDefinition,
  type MomentKind,
  type MomentRule,
  type MomentsConfig,
  type ThresholdPeriod,
  type MomentSqlOptions,
  type MomentBucket,
  type MomentInstant,
  type MomentInstantOptions,
  type MomentInstantFormat,
  type MomentPeriod,
  type MomentsReport,
  type MomentsSource,
  type MomentSummary,
  type MomentSummaryOptions,
} from './analysis/moments/index.js';

// One user: traits, activity, segments, lifecycle stage, moments, membership history
export {
  userProfile,
  readUser,
  DEFAULT_RECENT_EVENTS,
  type UserProfile,
  type UserProfileOptions,
  type UserProfileSources,
  type UserTrait,
  type UserEvent,
  type UserSegment,
  type UserMoment,
  type LifecycleStageIR,
  type LifecycleStageResult,
  type MembershipHistory,
  type MembershipPoint,
  type MembershipTransition,
  type StoredUser,
} from './analysis/user/index.js';

// Funnels
export {
  FUNNEL_ORDERS,
  analyzeFunnel,
  checkDropoff,
  checkFunnelDocument,
  dropoffDefinition,
  funnelFromArguments,
  saveDropoffSegment,
  stepLabel,
  type DropoffOptions,
  type DropoffSaved,
  type FunnelArguments,
  type FunnelDefinition,
  type FunnelDocument,
  type FunnelGroupResult,
  type FunnelOptions,
  type FunnelOrder,
  type FunnelResult,
  type FunnelStepDocument,
  type FunnelStepResult,
  type FunnelWindowDocument,
  type StepTimes,
} from './analysis/funnel/index.js';

// Retention tables (the retention `EventSpec` is renamed: the tracking plan's has the name)
export {
  ALIGNMENTS,
  COHORT_UNITS,
  DEFAULT_PERIODS,
  RETENTION_MODES,
  cellTiming,
  checkRetentionDefinition,
  computeRetention,
  parseRetentionFile,
  periodLabel,
  retentionSql,
  retentionTable,
  type Alignment,
  type CohortUnit,
  type EventSpec as RetentionEventSpec,
  type RetentionCell,
  type RetentionCohort,
  type RetentionContext,
  type RetentionDefinition,
  type RetentionGroup,
  type RetentionMode,
  type RetentionOverallCell,
  type RetentionResult,
  type RetentionSpec,
} from './analysis/retention/index.js';

// RFM: measures, quantile scores, the named map, ready-made segments
export {
  computeRfm,
  rfmUserRows,
  rfmSegmentDefinitions,
  writeRfmUsers,
  resolveRfmSettings,
  parseRfmSection,
  defaultRfmMap,
  cutPoints,
  quantiles,
  frequencyTable,
  bandOf,
  purchaseConditions,
  purchaseAmountSql,
  QUANTILE_METHODS,
  DEFAULT_RFM_PREFIX,
  type PurchaseSettings,
  type RfmConfig,
  type RfmOptions,
  type RfmResult,
  type RfmSegmentSummary,
  type RfmMeasureSummary,
  type RfmUserRow,
  type RfmSegmentsResult,
  type GeneratedRfmSegment,
  type RfmMapEntry,
  type QuantileMethod,
  type ScoreLevels,
} from './analysis/rfm/index.js';

// Segment lint (the over-segmentation guard) and power calculations
export {
  lintSegments,
  LINT_DEFAULTS,
  OBJECTIVE_METRICS,
  eventFilterFromDocument,
  type LintOptions,
  type LintResult,
  type LintWarning,
  type LintSettings,
  type LintedSegment,
  type PowerCheck,
  type LintMetric,
} from './analysis/lint/index.js';
export {
  sampleSizeTwoProportions,
  sampleSizeTwoMeans,
  powerTwoProportions,
  powerTwoMeans,
  minimumDetectableProportion,
  minimumDetectableMeanDifference,
  type TestSettings,
} from './analysis/power.js';

// Experiments: definitions and versions, assignment (hash version 1), metrics, statistics, reports
export {
  ExperimentRegistry,
  assignUser,
  parseExperimentText,
  validateExperiment,
  validateExperimentText,
  checkExperiment,
  canonicalExperimentJson,
  experimentDefinitionHash,
  experimentStatus,
  EXPERIMENT_DEFAULTS,
  EXPOSURE_EVENT,
  HASH_BUCKETS,
  hashBucket,
  hashInput,
  assignVariant,
  assignmentOutcome,
  variantBounds,
  coverageThreshold,
  variantForBucket,
  variantSql,
  coveredSql,
  hashedVariantSql,
  bucketSql,
  type HashPurpose,
  type VariantBucketRange,
  type VariantAssignment,
  type AssignmentDefinition,
  type AssignmentContext,
  type ExperimentContext,
  type ExperimentAddResult,
  type ExperimentListItem,
  type ExperimentStatus,
  type ExperimentVersionInfo,
  type UserAssignment,
  type TargetingMembership,
  type ExperimentDefinition,
  type MetricDefinition,
  type StoredExperiment,
  type AssignmentOutcome,
} from './experiments/design/index.js';
export {
  computeExperimentData,
  planMetrics,
  selectMetrics,
  LIFECYCLE_BREAKDOWN,
  MISSING_VARIANT,
  type ExperimentDataOptions,
  type ExperimentData,
  type ExposureCount,
  type GroupKey,
  type MetricGroupStats,
  type VariantStats,
  type MetricPlan,
} from './experiments/metrics/index.js';
export type {
  ArmEstimate,
  ArmStats,
  BanditArm,
  BanditArmResult,
  BanditOptions,
  BanditUpdate,
  CompareOptions,
  Comparison,
  ComparisonResult,
  CovariateSums,
  Degenerate,
  DegenerateReason,
  FactorialAnalysis,
  FactorialCell,
  HeterogeneityResult,
  Interaction,
  InteractionContrast,
  MainEffect,
  MetricStats,
  NormalPosterior,
  PowerCalculatorInput,
  PowerPlan,
  RatioStats,
  SegmentEffect,
  StatsRequest,
  StatsResponse,
  TreatmentOutput,
} from './experiments/stats/index.js';
export {
  analyzeFactorial,
  compareArms,
  computeStats,
  heterogeneityTest,
  parseStatsRequest,
  planPower,
  poolStats,
  probabilityBest,
  runStatsRequest,
  srmTest,
  updateBandit,
  StatsRequestSchema,
} from './experiments/stats/index.js';
export {
  analyzeExperiment,
  checkGuardrail,
  correctFamilies,
  recommend,
  verdictOf,
  powerReached,
  metricsOf,
  type AnalyzeOptions,
  type ExperimentReport,
  type MetricReport,
  type MetricGroupReport,
  type ComparisonReport,
  type AdjustedResult,
  type FamilyName,
  type CorrectionName,
  type GuardrailCheck,
  type GuardrailStatus,
  type PowerReached,
  type HeterogeneityReport,
  type FactorialReport,
  type SrmReport,
  type Recommendation,
  type Decision,
  type TreatmentVerdict,
} from './experiments/analyze/index.js';

// Predictive models (issue 6): features, supervised learning, stored models and scores,
// churn and propensity models, lifetime value, personas, drivers
export {
  buildFeatures,
  forEachFeaturePage,
  traitCategories,
  featureRecord,
  labelledSnapshots,
  latestEventMs,
  resolveFeatureOptions,
  DEFAULT_WINDOWS_DAYS,
  DEFAULT_ACTIVE_DAYS_WINDOWS,
  DEFAULT_RECENCY_CAP_DAYS,
  DEFAULT_ONE_HOT_TOP,
  type FeatureMatrix,
  type FeatureOptions,
  type FeatureRestriction,
  type LabelSpec,
  type LabelledSnapshot,
  type LabelledSnapshots,
  type LabelledSnapshotOptions,
} from './models/features/index.js';
export {
  designMatrix, matrixFromRows, fitStandardizer, standardize, selectRows,
  fitLogistic, predictLogistic, logisticDecision,
  fitGbt, predictGbt, gbtDecision,
  auc, logLoss, calibrationTable, liftTable,
  featureImportance, explainRow, rawCoefficients,
  serializeModel, parseModel, modelToJson, modelFromJson, MODEL_FORMAT, MODEL_FORMAT_VERSION,
  predictProbability,
} from './models/learn/index.js';
export type {
  DesignMatrix, Standardizer, LogisticOptions, LogisticModel, GbtOptions, GbtModel, Tree,
  CalibrationBin, LiftRow, FeatureImportance, RowExplanation, LearnedModel,
} from './models/learn/index.js';
export {
  TIME_UNITS,
  TRANSACTION_MODELS,
  UNITS_PER_YEAR,
  UNIT_DAYS,
  bgnbdCustomerLogLikelihood,
  bgnbdExpectedPurchases,
  bgnbdLogLikelihood,
  bgnbdProbabilityAlive,
  checkSummaries,
  customerLifetimeValue,
  customerSummaries,
  customerSummarySql,
  expectedPurchases,
  fitBgNbd,
  fitGammaGamma,
  fitParetoNbd,
  fitTransactionModel,
  fitWorkspaceClv,
  gammaGammaExpectedSpend,
  gammaGammaLogLikelihood,
  getClvFit,
  listClvFits,
  paretoNbdExpectedPurchases,
  paretoNbdLogLikelihood,
  paretoNbdProbabilityAlive,
  probabilityAlive,
  saveClvFit,
  scoreCustomers,
  scoreWorkspaceClv,
  summariesFrom,
  type BgNbdParams,
  type ClvFitOptions,
  type ClvScoreOptions,
  type ClvSettings,
  type ClvUserScore,
  type CustomerScores,
  type CustomerSummaries,
  type GammaGammaFit,
  type GammaGammaParams,
  type ParetoNbdParams,
  type StoredClvFit,
  type SummaryOptions,
  type TimeUnit,
  type TransactionFit,
  type TransactionModel,
  type WorkspaceSummaries,
} from './models/clv/index.js';
export {
  matrix as clusterMatrix,
  matrixFromRows as clusterMatrixFromRows,
  fitScaler,
  standardize as standardizeClusterMatrix,
  unstandardize,
  log1pMatrix,
  kmeans,
  kmeansFromCentroids,
  kmeansPlusPlus,
  KMEANS_DEFAULTS,
  silhouetteScores,
  silhouetteExact,
  SILHOUETTE_SAMPLE_SIZE,
  chooseK,
  K_RANGE_DEFAULT,
  SEARCH_SAMPLE_SIZE,
  describeClusters,
  matchPersonaIds,
  initialPersonaIds,
  minimumCostAssignment,
  adjustedRandIndex,
  type Matrix as ClusterMatrix,
  type Scaler,
  type KMeansOptions,
  type KMeansResult,
  type ChooseKOptions,
  type ChosenClustering,
  type KCandidate,
  type FeatureLabel,
  type PersonaDescription,
  type DistinguishingFeature,
  type PersonaIdState,
  type PersonaIdAssignment,
  type PersonaMatch,
} from './models/cluster/index.js';

// Stored models and scoring runs (the contract every model kind writes through), and churn and
// propensity models: train, evaluate, score, explain, show, list. Not `export *`: the registry
// index also exports small helpers.
export {
  MODEL_KINDS,
  saveModelVersion,
  listModelVersions,
  getModelVersion,
  modelCatalogue,
  percentileRanks,
  writeScoreRun,
  listScoreRuns,
  scoreRunsAsOf,
  readScores,
  type ModelKind,
  type ScoreRunKind,
  type StoredModelVersion,
  type ScoreRun,
  type ScoreRunInput,
  type UserScore,
  validateModel,
  validateModelText,
  modelDocument,
  trainModel,
  evaluateModel,
  scoreModel,
  explainModelUser,
  showModel,
  listModels,
  loadSupervisedModel,
  snapshotInstants,
  populationAt,
  evaluatePredictions,
  defaultScoreAsOf,
  DEFAULT_SCORE_PAGE_USERS,
  MODEL_DEFAULTS,
  type ModelDefinition,
  type ModelContext,
  type ValidatedModel,
  type SupervisedKind,
  type ModelFamily,
  type ModelWorkspace,
  type SupervisedModelBody,
  type StoredFeatureLayout,
  type ModelEvaluation,
  type TrainOptions,
  type TrainResult,
  type EvaluateOptions,
  type EvaluationRun,
  type ScoreOptions,
  type ScoreResult,
  type ScoreDistribution,
  type ExplainOptions,
  type UserExplanation,
  type ModelListItem,
  type ModelDetails,
} from './models/registry/index.js';

// Discovery: personas (k-means on behaviour, stored with a cluster run) and drivers.
// DEFAULT_ACTIVE_DAYS (personas, 90) is exported as DEFAULT_PERSONA_ACTIVE_DAYS: the churn
// model's default activity window (28) has the same name in src/models/registry.
export {
  discoverPersonas,
  showPersonas,
  fitPersonas,
  searchK,
  assignPersonaIds,
  parsePersonaBody,
  isLoggedFeature,
  log1pColumns,
  personaFeatureLabel,
  DEFAULT_PERSONAS_KEY,
  DEFAULT_ACTIVE_DAYS as DEFAULT_PERSONA_ACTIVE_DAYS,
  PERSONA_WINDOWS_DAYS,
  PERSONAS_FORMAT,
  PERSONAS_FORMAT_VERSION,
  type DiscoverPersonasOptions,
  type DiscoveredPersonas,
  type PersonaPhase,
  type PersonaPopulation,
  type PersonaFit,
  type PersonaFitOptions,
  type PersonaReport,
  type PersonaSummary,
  type PersonaFeature,
  type PersonaChanges,
  type PersonaSettings,
  type PersonaPopulationRecord,
  type PersonaModelBody,
} from './models/discover/index.js';
// Interval is exported as DriverInterval: a bare `Interval` would read as any interval.
export {
  discoverDrivers,
  driverCounts,
  driversSql,
  tableStatistics,
  riskRatioKatz,
  newcombeDifference,
  wilsonInterval,
  phiCoefficient,
  fisherZInterval,
  pearsonChiSquare,
  chiSquarePValue,
  fisherExactPValue,
  ASSOCIATION_NOTE,
  DEFAULT_THRESHOLDS,
  DEFAULT_EARLY_MS,
  DEFAULT_WITHIN_MS,
  DEFAULT_MIN_USERS,
  DEFAULT_FDR,
  EVENTS_PER_QUERY,
  type DriversOptions,
  type DriversResult,
  type DriverOutcome,
  type DriverCandidate,
  type DriverSide,
  type RevenueSection,
  type RevenueCandidate,
  type RevenueSide,
  type SkippedCandidate,
  type DriversScope,
  type TwoByTwo,
  type TableStatistics,
  type TableTest,
  type Interval as DriverInterval,
} from './models/discover/drivers-index.js';

// Privacy (issue 7; docs/privacy.md): the privacy: section, consent, minimization and
// pseudonymization at ingest, erasure, export, retention, differentially private releases
export { parsePrivacySection, DEFAULT_PRIVACY_CONFIG, CONSENT_PURPOSES, type PrivacyConfig, type ConsentPurpose } from './privacy/privacy-config.js';
export {
  CONSENT_EVENT,
  CONSENT_PLAN_FIX,
  PURPOSE_PROPERTY,
  GRANTED_PROPERTY,
  SOURCE_PROPERTY,
  consentPlanProblems,
  isConsentPurpose,
  consentHistory,
  consentState,
  setConsent,
  DEFAULT_CONSENT_SOURCE,
  type ConsentRecord,
  type ConsentState,
  type ConsentStatus,
  type ConsentSetting,
  type SetConsentRequest,
  type SetConsentResult,
} from './privacy/consent/index.js';
export { targetingPurpose, withTargetingConsent, type ConsentDefaults } from './segments/language/index.js';
export type { ConsentNode } from './segments/ir/nodes.js';
export { suppressionHash } from './privacy/suppression.js';
export { ingestPrivacy, privacyTotal } from './ingest/index.js';
export { PSEUDONYM_KEY_MIN_BYTES, pseudonymizeUserId, resolvePseudonymKey, type PseudonymKeyConfig } from './privacy/pseudonymize.js';
export { IP_FIELD_NAMES, PII_HASH_PREFIX, hashPiiValue, isIpField, truncateIp } from './privacy/minimize.js';
export { CONSENT_TRAITS } from './store/duckdb/ingest-session.js';
export { emptyPrivacyCounts, type IngestPrivacy, type IngestPrivacyCounts } from './store/event-store.js';
export {
  forgetUsers,
  exportUser,
  erasureIds,
  erasureTables,
  liveTables,
  liveUserKeyedTables,
  scrubRejects,
  USER_EXPORT_SCHEMA_VERSION,
  type ErasureId,
  type ForgetOptions,
  type ForgetResult,
  type ForgetStatus,
  type ForgetUserResult,
  type ExportOptions,
  type UserExport,
  type ExportedEvent,
} from './privacy/erasure/index.js';
export { enforceRetention, type EnforceOptions, type EnforceResult, type EventRetention } from './privacy/retention/index.js';
export { sampleDiscreteLaplace, sampleDiscreteGaussian, rationalOf, cryptoUniform, type Rational, type UniformSource } from './privacy/dp/discrete-noise.js';
export { releasePrivately, type ReleaseOptions } from './privacy/dp/release.js';
export type {
  BudgetState,
  CountQuery,
  DpGroupValue,
  DpMechanismKind,
  DpQuery,
  DpSpend,
  NoisyGroup,
  NoisyQuery,
  ReleaseRequest,
  ReleaseResult,
  SumQuery,
} from './privacy/dp/release-types.js';
export { budgetReport, budgetState, readLedger, type BudgetLine, type BudgetReport, type LedgerDetail, type LedgerEntry, type LedgerQueryDetail } from './privacy/dp/ledger.js';
export {
  combinedGuarantee,
  epsilonOfZcdp,
  totalSpent,
  zcdpOfPureDp,
  zcdpOfPureRelease,
  type CombinedGuarantee,
  type SpendRecord,
  type SpentTotals,
} from './privacy/dp/accounting.js';
export { addPrivateOptions, privateSettings, DEFAULT_EPSILON, type PrivateCliOptions, type PrivateSettings } from './privacy/dp/private-options.js';
export {
  releaseParts,
  privacyNote,
  renderPrivacyNote,
  type PrivacyNote,
  type PrivateTarget,
  type ReleasePart,
  type SuppressedGroup,
} from './privacy/dp/private-release.js';
export {
  privateSegmentSizes,
  privateSegmentSizesBy,
  type PrivateSegmentSizes,
  type PrivateSegmentSize,
  type PrivateSizeGroup,
} from './privacy/dp/private-segment.js';
export { segmentSizes, type SegmentSizes, type SegmentSize, type SegmentSizeGroup } from './analysis/segment-sizes.js';
export {
  privateLifecycleReport,
  type PrivateLifecycleReport,
  type PrivateLifecycleGroup,
  type PrivateStageCount,
} from './privacy/dp/private-lifecycle.js';
export { privateExperimentSummary, parseClamps, type PrivateExperimentSummary, type PrivateExperimentOptions } from './privacy/dp/private-experiment.js';
export type { MetricClamp } from './experiments/metrics/index.js';

// Governance (issue 7; docs/governance.md): the audit log and fairness audits
export {
  appendAudit,
  readAuditLog,
  verifyAuditLog,
  assertAuditLogIntact,
  auditHash,
  AUDIT_GENESIS_HASH,
  LIBRARY_ACTOR,
  type AuditAction,
  type AuditEntry,
  type AuditRecord,
  type AuditFilter,
  type AuditVerification,
} from './governance/audit-log.js';
export { jsonDiff, diffSummary, isEmptyDiff, type JsonDiff } from './governance/diff.js';
export { auditRecordSummary } from './governance/audit-summary.js';
export type { ModelVersionAudit } from './models/registry/model-store.js';
export type { AuditOptions } from './segments/registry/segment-registry.js';
export {
  runFairnessAudit,
  sensitiveTraits,
  targetingSegments,
  saveFairnessAudit,
  listFairnessAudits,
  compareRates,
  compareToReference,
  groupRates,
  isFlagged,
  calibrationCell,
  calibrationInTheLarge,
  segmentGroupCounts,
  traitValues,
  FOUR_FIFTHS,
  MISSING_GROUP,
  DEFAULT_SCORE_THRESHOLD,
  DEFAULT_FAIRNESS_ALPHA,
  type FairnessAuditOptions,
  type FairnessAuditResult,
  type FairnessWorkspace,
  type SubjectAudit,
  type AttributeAudit,
  type GroupRate,
  type GroupCount,
  type PairwiseComparison,
  type RateComparison,
  type GroupCalibration,
  type EqualOpportunity,
  type StoredFairnessAudit,
} from './governance/fairness/index.js';

// The demo product
export { DEMO_END_MS, demoPlan, runDemo, simulateUser, type DemoOptions, type DemoResult } from './demo/index.js';
export { runDemoExperiment, DEMO_EXPERIMENT, DEMO_ASSIGNMENT, type DemoExperimentResult } from './demo/index.js';
export { runDemoFairness, type DemoFairnessResult } from './demo/index.js';

// The CLI, for embedding
export { runCli } from './cli/program.js';
export type { CliIo } from './cli/context.js';
