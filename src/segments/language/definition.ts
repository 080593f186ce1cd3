/**
 * The vocabulary of segment language v1 (DESIGN.md, "Segment language v1"): the envelope
 * of a definition, the condition kinds, the operators and the window keys.
 */

export const OBJECTIVES = ['activation', 'conversion', 'retention', 'engagement', 'monetization', 'other'] as const;
export type Objective = (typeof OBJECTIVES)[number];

/**
 * What a segment is used for (issue 7). `analytics` (the default) is for understanding;
 * `personalization` and `marketing` segments are used for targeting: their members are
 * only users who granted that consent purpose, and the scheduled fairness audit covers them.
 */
export const SEGMENT_PURPOSES = ['analytics', 'personalization', 'marketing'] as const;
export type SegmentPurpose = (typeof SEGMENT_PURPOSES)[number];
export const TARGETING_PURPOSES: readonly SegmentPurpose[] = ['personalization', 'marketing'];

export const SEGMENT_KEY_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';

/**
 * A validated segment definition. `match` is the condition document exactly as written:
 * the registry stores and versions what the author wrote, and the IR is derived from it
 * again (against the current tracking plan) whenever it is needed.
 */
export interface SegmentDefinition {
  readonly key: string;
  readonly name: string;
  readonly objective: Objective;
  readonly rationale: string;
  /**
   * Who is accountable: a team or a person. Required of every new definition (issue 7);
   * optional here only because versions stored before then have none.
   */
  readonly owner?: string;
  readonly tags?: readonly string[];
  /** Absent: analytics. */
  readonly purpose?: SegmentPurpose;
  readonly match: unknown;
}

/** Every condition kind; a condition object carries exactly one of these keys. */
export const CONDITION_KINDS = [
  'all',
  'any',
  'not',
  'trait',
  'did',
  'aggregate',
  'activeDays',
  'lastSeen',
  'firstSeen',
  'sequence',
  'funnel',
  'stopped',
  'started',
  'regularly',
  'sessions',
  'sessionDuration',
  'segment',
  'lifecycle',
  'score',
  'cluster',
  'consent',
] as const;
export type ConditionKindKey = (typeof CONDITION_KINDS)[number];

/**
 * Kinds the language reserves for capabilities that do not exist yet, with what brings them
 * (none now: `consent`, the last of DESIGN.md's reserved kinds, arrived with issue 7).
 */
export const RESERVED_KINDS: Readonly<Record<never, string>> = {};
export type ReservedKind = keyof typeof RESERVED_KINDS;
export type SupportedKind = Exclude<ConditionKindKey, ReservedKind>;

export const OPERATORS = ['eq', 'ne', 'in', 'notIn', 'gt', 'gte', 'lt', 'lte', 'between', 'contains', 'startsWith', 'exists'] as const;
export type Operator = (typeof OPERATORS)[number];

export const WINDOW_KEYS = ['within', 'during', 'since', 'after'] as const;
export type WindowKey = (typeof WINDOW_KEYS)[number];

export const AGGREGATE_FNS = ['sum', 'avg', 'min', 'max', 'distinct'] as const;
export type AggregateFn = (typeof AGGREGATE_FNS)[number];

export const SESSION_STATS = ['avg', 'max', 'total'] as const;
export type SessionStat = (typeof SESSION_STATS)[number];

/** Stored model kinds (src/models/registry/model-store.ts), as the segment language sees them. */
export type ModelKindName = 'churn' | 'propensity' | 'personas';

/** The model kinds each model condition reads: scores come from churn and propensity models, clusters from personas. */
export const MODEL_CONDITION_KINDS: Readonly<Record<'score' | 'cluster', readonly ModelKindName[]>> = {
  score: ['churn', 'propensity'],
  cluster: ['personas'],
};

export function isConditionKind(key: string): key is ConditionKindKey {
  return (CONDITION_KINDS as readonly string[]).includes(key);
}

export function isReservedKind(key: string): key is ReservedKind {
  return Object.hasOwn(RESERVED_KINDS, key);
}
