/**
 * The segment IR: frozen, typed nodes that every back end consumes (the SQL compiler
 * with its dialect hooks, the in-memory evaluator, later the streaming evaluator).
 *
 * The language front end (segments/language) resolves everything that depends on the
 * tracking plan or on other segments before a node is built:
 * - types: every trait and property reference carries its declared type;
 * - `stopped` and `started` are lowered to `and` of two `eventCount` nodes on relative windows;
 * - `{segment: KEY}` is inlined (the referenced segment's root), cycles rejected;
 * - durations are milliseconds, absolute instants are epoch milliseconds (UTC).
 *
 * Semantics shared by all back ends (DESIGN.md "Segment language v1"):
 * - Only events with `timestamp < asOf` exist. Every window is further cut at asOf.
 * - Two-valued logic: a comparison against a missing value is false, except `exists: false`.
 *   `not` is plain negation of that two-valued result.
 * - Count-like measures (eventCount, activeDays, sessions, aggregate `distinct`) are 0 over
 *   nothing; value measures (sum, avg, min, max, lastSeen, firstSeen, sessionDuration)
 *   over nothing are missing, so their comparison is false.
 * - An anchored window whose anchor is missing (no such first event, no such trait)
 *   makes the whole condition false, whatever its comparison.
 */
import type { FieldType } from '../../schema/tracking-plan.js';

export type ValueType = FieldType;

/** A literal after type resolution. Timestamps are epoch ms; relative instants are asOf + offsetMs. */
export type Literal =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'timestamp'; readonly epochMs: number }
  | { readonly kind: 'relativeTime'; readonly offsetMs: number }
  /** A duration in ms, compared with duration measures (lastSeen, firstSeen, sessionDuration). */
  | { readonly kind: 'duration'; readonly ms: number };

/**
 * One operator applied to an operand that may be missing.
 * - eq ne gt gte lt lte: missing operand gives false (also for `ne`).
 * - in / notIn: missing gives false (also for `notIn`).
 * - between: inclusive [lo, hi].
 * - contains / startsWith: strings only, case-sensitive.
 * - exists: true when the operand is present; `exists: false` is true exactly when it is missing.
 * Strings order by Unicode code point (as UTF-8 bytes do in SQL engines).
 */
export type Comparison =
  | { readonly op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte'; readonly value: Literal }
  | { readonly op: 'in' | 'notIn'; readonly values: readonly Literal[] }
  | { readonly op: 'between'; readonly lo: Literal; readonly hi: Literal }
  | { readonly op: 'contains' | 'startsWith'; readonly value: Literal }
  | { readonly op: 'exists'; readonly value: boolean };

export type ComparisonOp = Comparison['op'];

export interface PropertyPredicate {
  readonly property: string;
  readonly type: ValueType;
  readonly cmp: Comparison;
}

/** Which events count: a name (null = any event, `"*"` in the language) and property predicates (AND). */
export interface EventFilter {
  readonly event: string | null;
  readonly where: readonly PropertyPredicate[];
}

export type Anchor =
  /** The user's first event matching the filter, among all events before asOf. */
  | { readonly kind: 'event'; readonly filter: EventFilter }
  /** A timestamp trait of the user's profile. */
  | { readonly kind: 'trait'; readonly trait: string };

/**
 * Which instants a condition looks at, always intersected with (-inf, asOf):
 * - all: all history;
 * - relative: [asOf - startMs, asOf - endMs), e.g. `within: 30d` is {startMs: 30d, endMs: 0};
 * - absolute: [fromMs, toMs), toMs null meaning asOf (`since:`);
 * - anchored: [anchor, anchor + durationMs).
 */
export type Window =
  | { readonly kind: 'all' }
  | { readonly kind: 'relative'; readonly startMs: number; readonly endMs: number }
  | { readonly kind: 'absolute'; readonly fromMs: number; readonly toMs: number | null }
  | { readonly kind: 'anchored'; readonly anchor: Anchor; readonly durationMs: number };

export interface AndNode { readonly kind: 'and'; readonly children: readonly Condition[] }
export interface OrNode { readonly kind: 'or'; readonly children: readonly Condition[] }
export interface NotNode { readonly kind: 'not'; readonly child: Condition }

/** `{trait: T, <op>: V}` on the user's current profile. */
export interface TraitNode { readonly kind: 'trait'; readonly trait: string; readonly type: ValueType; readonly cmp: Comparison }

/** `did`: the number of matching events in the window (0 over nothing), compared with numbers. */
export interface EventCountNode { readonly kind: 'eventCount'; readonly filter: EventFilter; readonly window: Window; readonly cmp: Comparison }

/**
 * `aggregate`: fn over the property's values on matching events in the window, ignoring
 * events where it is missing. `distinct` counts distinct values (0 over nothing); the others
 * are missing over nothing. `propertyType` is the property's type; the comparison literal
 * has that type (number for sum, avg and distinct).
 */
export interface AggregateNode {
  readonly kind: 'aggregate';
  readonly fn: 'sum' | 'avg' | 'min' | 'max' | 'distinct';
  readonly property: string;
  readonly propertyType: ValueType;
  readonly filter: EventFilter;
  readonly window: Window;
  readonly cmp: Comparison;
}

/** Distinct UTC days with a matching event in the window (0 over nothing). */
export interface ActiveDaysNode { readonly kind: 'activeDays'; readonly filter: EventFilter; readonly window: Window; readonly cmp: Comparison }

/** asOf minus the last (or first) matching event's timestamp, in ms; missing when none. Compared with durations. */
export interface LastSeenNode { readonly kind: 'lastSeen'; readonly filter: EventFilter; readonly window: Window; readonly cmp: Comparison }
export interface FirstSeenNode { readonly kind: 'firstSeen'; readonly filter: EventFilter; readonly window: Window; readonly cmp: Comparison }

/**
 * Steps in order, each at a strictly later timestamp than the one before, the last strictly
 * before first + spanMs (no bound when null). The window applies to the first step only;
 * later steps may be anywhere before asOf.
 */
export interface SequenceNode { readonly kind: 'sequence'; readonly steps: readonly EventFilter[]; readonly spanMs: number | null; readonly window: Window }

/**
 * K = the largest k such that events match steps 1..k at strictly increasing timestamps,
 * the k-th strictly before first + spanMs; 0 when step 1 never happened in the window.
 * The window applies to step 1 only. `cmp` compares K (a number).
 */
export interface FunnelNode { readonly kind: 'funnel'; readonly steps: readonly EventFilter[]; readonly spanMs: number; readonly window: Window; readonly cmp: Comparison }

/** In at least `atLeast` of the `periods` periods [asOf-(k+1)P, asOf-kP), k = 0..periods-1, `times` or more matching events. */
export interface RegularlyNode {
  readonly kind: 'regularly';
  readonly filter: EventFilter;
  readonly periodMs: number;
  readonly periods: number;
  readonly atLeast: number;
  readonly times: number;
}

/**
 * Sessions are runs of the user's events (all events before asOf, any name) whose
 * consecutive gaps are < gapMs; a gap equal to gapMs starts a new session. A session
 * belongs to the window holding its first event. `sessions` counts them (0 over nothing).
 */
export interface SessionsNode { readonly kind: 'sessions'; readonly gapMs: number; readonly window: Window; readonly cmp: Comparison }

/** avg / max / total of (last event - first event) over the sessions in the window, in ms; missing when none. */
export interface SessionDurationNode {
  readonly kind: 'sessionDuration';
  readonly stat: 'avg' | 'max' | 'total';
  readonly gapMs: number;
  readonly window: Window;
  readonly cmp: Comparison;
}

/**
 * `{score: MODEL, <op>: P}` (measure `score`, a probability) or `{score: MODEL, percentile:
 * {<op>: Q}}` (measure `percentile`, 0..100): the user's value in the model's scoring run as
 * of asOf, which is the run with the latest as_of <= asOf (ties: the latest run;
 * src/models/registry/model-store.ts `scoreRunsAsOf`). Missing (so the comparison is false,
 * `exists: false` true) when no run qualifies or the run has no row for the user. Number literals.
 */
export interface ScoreNode { readonly kind: 'score'; readonly model: string; readonly measure: 'score' | 'percentile'; readonly cmp: Comparison }

/** `{cluster: MODEL, eq|ne|in|notIn: ID}` or `exists`: the user's persona id (an integer) in the personas model's run as of asOf, as for ScoreNode. */
export interface ClusterNode { readonly kind: 'cluster'; readonly model: string; readonly cmp: Comparison }

/**
 * `{consent: PURPOSE}`, and the consent every targeting segment is wrapped in (issue 7;
 * src/privacy/consent/consent-event.ts): the `granted` of the user's latest `$consent`
 * event with property purpose = PURPOSE and ts < asOf; at one instant a denial wins; a
 * record without a boolean `granted` is no record. With no record, `defaultGranted` (the
 * workspace's `privacy.consentDefaults[PURPOSE]`, resolved by the language front end so
 * every back end reads the same default from the node).
 */
export interface ConsentNode { readonly kind: 'consent'; readonly purpose: string; readonly defaultGranted: boolean }

export type Condition =
  | AndNode
  | OrNode
  | NotNode
  | TraitNode
  | EventCountNode
  | AggregateNode
  | ActiveDaysNode
  | LastSeenNode
  | FirstSeenNode
  | SequenceNode
  | FunnelNode
  | RegularlyNode
  | SessionsNode
  | SessionDurationNode
  | ScoreNode
  | ClusterNode
  | ConsentNode;

export type ConditionKind = Condition['kind'];

/** A compiled segment: its key and version and the condition at its root. */
export interface SegmentIR {
  readonly key: string;
  readonly root: Condition;
}

/**
 * A visitor with one handler per node kind. Adding a kind breaks the build until every
 * back end handles it, which is how the engines are kept in step.
 */
export type ConditionVisitor<R> = { readonly [K in ConditionKind]: (node: Extract<Condition, { kind: K }>) => R };

export function visit<R>(node: Condition, visitor: ConditionVisitor<R>): R {
  return (visitor[node.kind] as (n: Condition) => R)(node);
}

/** Deep-freeze a freshly built node tree so nothing downstream can edit it. */
export function freezeDeep<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) freezeDeep(v);
  }
  return value;
}

/**
 * The stored models the conditions read (`score` and `cluster` nodes), each once, in order
 * of appearance: the keys whose scoring run a caller resolves as of asOf (`scoreRunsAsOf`)
 * before compiling.
 */
export function modelsUsed(conditions: Iterable<Condition>): string[] {
  const out = new Set<string>();
  const walk = (c: Condition): void => {
    if (c.kind === 'score' || c.kind === 'cluster') out.add(c.model);
    else if (c.kind === 'and' || c.kind === 'or') c.children.forEach(walk);
    else if (c.kind === 'not') walk(c.child);
  };
  for (const c of conditions) walk(c);
  return [...out];
}
