/**
 * Lifecycle stages: the model (strata.yaml `lifecycle:`), its stages as segment IR, and
 * the analyses over it.
 *
 *   parseLifecycleSection(value, plan, err)   the strata.yaml section to a LifecycleModel
 *   defaultLifecycleModel()                   the model of an empty section
 *   lifecycleStageIRs(model, plan)            each stage's exclusive IR, fallback included, in priority order
 *   lifecycleStageConditions(model, plan)     each stage's own condition, in priority order
 *   lifecycleReport(store, settings, opts)    users per stage (and per group of a breakdown)
 *   lifecycleFlow(store, settings, opts)      the transition matrix between two instants
 */
export { parseLifecycleSection } from './lifecycle-config.js';
export {
  DEFAULT_FALLBACK,
  DEFAULT_ORDER,
  DEFAULT_PARAMETERS,
  atRiskThreshold,
  defaultLifecycleModel,
  stageKeys,
  type ConditionDocument,
  type FallbackStage,
  type LifecycleEvent,
  type LifecycleModel,
  type LifecycleParameters,
  type LifecycleStage,
  type UnavailableStage,
} from './lifecycle-model.js';
export { lifecycleStageConditions, lifecycleStageIRs, type StageIR } from './lifecycle-stages.js';
export {
  NOT_YET_SEEN,
  lifecycleFlow,
  lifecycleReport,
  stageRelation,
  type FlowCell,
  type FlowRow,
  type LifecycleFlow,
  type LifecycleFlowOptions,
  type LifecycleReport,
  type LifecycleReportGroup,
  type LifecycleReportOptions,
  type LifecycleSettings,
  type SegmentRestriction,
  type StageCount,
} from './lifecycle-report.js';
