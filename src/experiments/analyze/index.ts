/**
 * # src/experiments/analyze: from an experiment's data to a report and a decision
 *
 *   analyzeExperiment(definition, data, {method?, correction?})   the report (pure)
 *
 * Files: analyze.ts (the orchestration), families.ts (multiple-comparison families),
 * guardrails.ts (the guardrail rule), power-reached.ts (power at the current users, users
 * and days still needed), decision.ts (verdicts and the recommendation's rules),
 * sections.ts (heterogeneity by Cochran's Q, factorial effects, bandit weights, from
 * src/experiments/stats),
 * report-types.ts, format.ts. The rules are written in each file's header and in
 * docs/experiments.md, "Analysing" and "Decisions".
 */
export { analyzeExperiment, metricsOf, type AnalyzeOptions } from './analyze.js';
export { checkGuardrail } from './guardrails.js';
export { correctFamilies, type FamilyMember, type FamilyOutcome } from './families.js';
export { recommend, verdictOf, type DecisionInput, type TreatmentEvidence } from './decision.js';
export { armMoments, powerReached, type PowerInput } from './power-reached.js';
export { formatEffect, formatNumber, formatP, formatShare } from './format.js';
export type * from './report-types.js';
