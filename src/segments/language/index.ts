/**
 * The segment language front end: text to definition to IR.
 *
 *   parseSegmentText(text, source)  YAML or JSON text to a raw object
 *   validateSegment(raw, plan)      shape and tracking-plan checks, every error with its path
 *   buildSegmentIR(def, plan, resolve, context)  the frozen IR, with `{segment: KEY}` inlined
 *                                   and `{lifecycle: STAGE}` lowered over context.lifecycle;
 *                                   `{score: MODEL}` / `{cluster: MODEL}` checked against context.models;
 *                                   `{consent: PURPOSE}` and targeting purposes read context.consentDefaults
 */
export { buildSegmentIR } from './build-segment-ir.js';
export { canonicalDefinitionJson, definitionHash } from './canonical-definition.js';
export { MAX_DURATION_MS } from './condition-checker.js';
export {
  AGGREGATE_FNS,
  CONDITION_KINDS,
  MODEL_CONDITION_KINDS,
  OBJECTIVES,
  OPERATORS,
  RESERVED_KINDS,
  SEGMENT_KEY_PATTERN,
  SESSION_STATS,
  TARGETING_PURPOSES,
  WINDOW_KEYS,
  type AggregateFn,
  type ConditionKindKey,
  type ModelKindName,
  type Objective,
  type Operator,
  type ReservedKind,
  type SegmentDefinition,
  type SessionStat,
  type SupportedKind,
  type WindowKey,
} from './definition.js';
export { parseSegmentText } from './parse-segment-text.js';
export { segmentReferences } from './segment-references.js';
export { checkConditionDocument, validateSegment, type SegmentContext } from './validate-segment.js';
export { targetingPurpose, withTargetingConsent, type ConsentDefaults } from './consent-check.js';
