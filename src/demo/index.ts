export {
  runDemo,
  demoSegmentFiles,
  demoSegmentsDir,
  DEMO_DEFAULT_SEED,
  DEMO_DEFAULT_USERS,
  DEMO_MARKER,
  type DemoOptions,
  type DemoResult,
  type DemoSegmentSummary,
} from './run-demo.js';
export { runDemoAnalyses, DEMO_ANALYSIS_SETTINGS, DEMO_FUNNEL_STEPS, type DemoAnalyses, type DemoAnalysisProgress } from './demo-analyses.js';
export { DEMO_ANALYSIS_YAML, withDemoAnalysis } from './demo-analysis-config.js';
export { writeDemoFiles, type GeneratedFiles } from './demo-files.js';
export { simulateUser, demoUserId, DEMO_DAYS, DEMO_END_MS, type DemoSink, type ProductOptions } from './synthetic-product.js';
export { demoPlan, DEMO_PLAN_DOCUMENT } from './demo-plan.js';
export { DEMO_ASSIGNMENT, DEMO_EXPERIMENT, EXPOSURE_EVENT, RESCUE_CHANCE, OnboardingExperiment, type Exposure } from './demo-experiment.js';
export { DEMO_EXPERIMENT_BY, demoExperimentFiles, demoExperimentsDir, runDemoExperiment, type DemoExperimentResult } from './demo-experiment-run.js';
export { runDemoModels, DEMO_DISCOVERY, type DemoModelsResult, type DemoModelSummary } from './demo-models-run.js';
export { runDemoFairness, DEMO_ACTOR, type DemoFairnessResult, type DemoTargetingSegment } from './demo-fairness-run.js';
export { simulateConsent, DEMO_CONSENT_RATES, type ConsentPlan, type DemoConsent } from './demo-consent.js';
