/**
 * Funnels (`strata funnel`): ordered steps, a conversion span, an entry window and an
 * order (sequential, strict, any); per step the users reached, conversion, drop-off and
 * the time from the previous step, overall, per group of a breakdown, or within a
 * segment; a drop-off step saved as a segment.
 *
 *   checkFunnelDocument(raw, plan, source)   a YAML/JSON funnel document, checked
 *   funnelFromArguments(args, plan)          the same from command-line arguments
 *   analyzeFunnel(store, registry, plan, funnel, {asOfMs, by?, segment?})
 *   saveDropoffSegment(registry, funnel, {step, key, asOfMs, ...})
 */
export { analyzeFunnel, type FunnelGroupResult, type FunnelOptions, type FunnelResult, type FunnelStepResult, type StepTimes } from './funnel-analysis.js';
export {
  FUNNEL_ORDERS,
  MAX_FUNNEL_STEPS,
  checkFunnelDocument,
  funnelFromArguments,
  stepLabel,
  type FunnelArguments,
  type FunnelDefinition,
  type FunnelDocument,
  type FunnelOrder,
  type FunnelStepDocument,
  type FunnelWindowDocument,
} from './funnel-definition.js';
export { checkDropoff, dropoffDefinition, saveDropoffSegment, type DropoffOptions, type DropoffSaved } from './funnel-dropoff.js';
export { quantilesOf, type FrequencyTable } from './funnel-quantiles.js';
export { QUANTILE_FRACTIONS, funnelFrequencySql, funnelTableSql, type FunnelQuery } from './funnel-sql.js';
