/**
 * The condition checker: one walk over a condition document that checks it against the
 * language (shape, via the kind's TypeBox schema) and against the tracking plan (events,
 * properties, traits, literal types), collecting every error with its exact path, and
 * producing the typed tree the IR is built from.
 *
 * The tree it returns is the IR except for `{segment: KEY}`, which stays a reference
 * until buildSegmentIR inlines it: the checker knows the plan but not the other segments.
 * When any error was collected the returned tree is meaningless and must not be used.
 */
import { defaultLifecycleModel, stageKeys, type LifecycleModel } from '../../analysis/lifecycle/lifecycle-model.js';
import type { ErrorDetail } from '../../errors/errors.js';
import type { FieldSpec, FieldType, TrackingPlan } from '../../schema/tracking-plan.js';
import { MS, parseDurationMs, parseInstantMs, parseRelativeOffsetMs } from '../../time/time.js';
import type {
  Anchor,
  AndNode,
  Comparison,
  Condition,
  EventCountNode,
  EventFilter,
  Literal,
  NotNode,
  OrNode,
  PropertyPredicate,
  Window,
} from '../ir/nodes.js';
import {
  AGGREGATE_FNS,
  CONDITION_KINDS,
  MODEL_CONDITION_KINDS,
  OPERATORS,
  RESERVED_KINDS,
  SEGMENT_KEY_PATTERN,
  SESSION_STATS,
  WINDOW_KEYS,
  isConditionKind,
  isReservedKind,
  type AggregateFn,
  type ModelKindName,
  type Operator,
  type SupportedKind,
  type WindowKey,
} from './definition.js';
import { checkConsentCondition, type ConsentDefaults } from './consent-check.js';
import { closest, indexPath, keyPath, listOf, quote, show } from './messages.js';
import { CONDITION_SCHEMAS, StepSchema } from './schemas.js';
import { schemaErrors } from './schema-errors.js';

/** The IR with segment references not yet inlined. */
export type CheckedCondition =
  | Exclude<Condition, AndNode | OrNode | NotNode>
  | { readonly kind: 'and' | 'or'; readonly children: readonly CheckedCondition[] }
  | { readonly kind: 'not'; readonly child: CheckedCondition }
  /** `{segment: KEY}`; `path` is where it was written, for cycle and not-found errors. */
  | { readonly kind: 'segmentRef'; readonly key: string; readonly path: string };

/**
 * Durations and offsets are capped so that `asOf - D` stays a representable instant on
 * every engine; a window longer than a century is a typo, not an intent.
 */
export const MAX_DURATION_MS = 36_500 * MS.d;
const MAX_DURATION_TEXT = '36500d (about 100 years)';

const DURATION_SYNTAX = 'a whole number and a unit m, h, d or w (45m, 12h, 30d, 2w)';
const TIMESTAMP_SYNTAX = 'an ISO-8601 date or instant (2024-05-01, 2024-05-01T12:00:00Z) or an offset from asOf (-30d, +2h)';

/** What a comparison compares, which decides its operators and the type of its literals. */
type Operand =
  /** A trait or property: literals have its declared type. */
  | { readonly kind: 'field'; readonly type: FieldType; readonly what: string }
  /** A count (did, activeDays, sessions, funnel reached, distinct): non-negative numbers. */
  | { readonly kind: 'count'; readonly what: string }
  /** A sum or an average: any finite number. */
  | { readonly kind: 'number'; readonly what: string }
  /** A time span (lastSeen, firstSeen, sessionDuration): durations. */
  | { readonly kind: 'duration'; readonly what: string }
  /** A model's score (a probability, 0 to 1) or its percentile rank (0 to 100); may be missing. */
  | { readonly kind: 'probability' | 'percentile'; readonly what: string }
  /** A persona id (a whole number); may be missing. */
  | { readonly kind: 'persona'; readonly what: string };

const ORDERED_OPS: readonly Operator[] = ['eq', 'ne', 'in', 'notIn', 'gt', 'gte', 'lt', 'lte', 'between'];

function allowedOperators(operand: Operand): readonly Operator[] {
  if (operand.kind === 'probability' || operand.kind === 'percentile') return [...ORDERED_OPS, 'exists'];
  // Persona ids name groups: equality only (an order between ids means nothing).
  if (operand.kind === 'persona') return ['eq', 'ne', 'in', 'notIn', 'exists'];
  if (operand.kind !== 'field') return ORDERED_OPS;
  switch (operand.type) {
    case 'string':
      return [...ORDERED_OPS, 'contains', 'startsWith', 'exists'];
    case 'boolean':
      return ['eq', 'ne', 'in', 'notIn', 'exists'];
    case 'number':
    case 'timestamp':
      return [...ORDERED_OPS, 'exists'];
  }
}

/** A resolved event reference: `event` is null for `"*"` (any event). */
interface EventRef {
  readonly name: string;
  readonly event: string | null;
}

const ANY_EVENT: EventRef = { name: '*', event: null };

/** Common mistakes for kind keys that edit distance alone would answer wrongly. */
const KIND_ALIASES: Readonly<Record<string, string>> = { and: 'all', or: 'any', event: 'did', none: 'not' };

const SUPPORTED_KINDS = CONDITION_KINDS.filter((k) => !isReservedKind(k));
const SEGMENT_KEY_RE = new RegExp(SEGMENT_KEY_PATTERN);

export interface CheckerOptions {
  /**
   * The stored models (key -> kind) that `{score: MODEL}` and `{cluster: MODEL}` must name
   * (src/models/registry/model-store.ts modelCatalogue). Absent: no model is stored, except
   * in a lifecycle stage's own condition checked without a store (strata.yaml is parsed
   * before any store is open), where the model is checked when the stage is used.
   */
  readonly models?: ReadonlyMap<string, ModelKindName>;
  /** The lifecycle model `{lifecycle: STAGE}` refers to; the default model when absent. */
  readonly lifecycle?: LifecycleModel;
  /**
   * Set when checking a lifecycle stage's own condition: `segment` and `lifecycle`
   * conditions are errors there (a stage is defined from behaviour and traits only).
   */
  readonly stageCondition?: boolean;
  /** What `{consent: PURPOSE}` gives a user without a consent record (privacy.consentDefaults); the built-in defaults when absent. */
  readonly consentDefaults?: ConsentDefaults;
}

let defaultModel: LifecycleModel | undefined;

export class ConditionChecker {
  readonly errors: ErrorDetail[] = [];
  private readonly plan: TrackingPlan;
  private readonly options: CheckerOptions;
  /** Each stage's own condition, checked once per checker (index in priority order). */
  private readonly stageConditions = new Map<number, CheckedCondition | null>();

  constructor(plan: TrackingPlan, options: CheckerOptions = {}) {
    this.plan = plan;
    this.options = options;
  }

  private get lifecycleModel(): LifecycleModel {
    return this.options.lifecycle ?? (defaultModel ??= defaultLifecycleModel());
  }

  check(raw: unknown, path: string): CheckedCondition | undefined {
    if (!isRecord(raw)) {
      this.error(path, `expected a condition: a mapping with one kind key (${SUPPORTED_KINDS.join(', ')}), got ${show(raw)}`);
      return undefined;
    }
    const keys = Object.keys(raw);
    const kinds = keys.filter(isConditionKind);
    if (kinds.length === 0) {
      const suggestion = keys.map((k) => closest(k, CONDITION_KINDS, KIND_ALIASES)).find((s) => s !== undefined);
      this.error(
        path,
        `expected a condition with one kind key (${SUPPORTED_KINDS.join(', ')}); found ${keys.length === 0 ? 'an empty mapping' : `only the key${keys.length > 1 ? 's' : ''} ${keys.map(quote).join(', ')}`}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`,
      );
      return undefined;
    }
    if (kinds.length > 1) {
      this.error(path, `a condition has exactly one kind key; found ${listOf(kinds)}: combine conditions with all: [...] or any: [...]`);
      return undefined;
    }
    const kind = kinds[0]!;
    if (isReservedKind(kind)) {
      this.error(keyPath(path, kind), `${kind} is a reserved condition kind: it arrives with ${RESERVED_KINDS[kind]} and cannot be used yet`);
      return undefined;
    }
    this.errors.push(...schemaErrors(CONDITION_SCHEMAS[kind], raw, path));
    return this.kinds[kind](raw, path);
  }

  /** One handler per supported kind: adding a kind to the language breaks the build until it is handled here. */
  private readonly kinds: { readonly [K in SupportedKind]: (raw: Record<string, unknown>, path: string) => CheckedCondition | undefined } = {
    all: (raw, path) => this.list(raw, path, 'all'),
    any: (raw, path) => this.list(raw, path, 'any'),
    not: (raw, path) => {
      const child = this.check(get(raw, 'not'), keyPath(path, 'not'));
      return child && { kind: 'not', child };
    },
    trait: (raw, path) => {
      const name = nonEmpty(get(raw, 'trait'));
      const field = name === undefined ? undefined : this.trait(name, keyPath(path, 'trait'));
      const cmp = this.comparison(raw, path, field && { kind: 'field', type: field.type, what: `trait ${quote(name!)}` });
      return field && cmp && { kind: 'trait', trait: name!, type: field.type, cmp };
    },
    did: (raw, path) => {
      const filter = this.filter(this.event(get(raw, 'did'), keyPath(path, 'did')), get(raw, 'where'), path);
      const cmp = has(raw, 'count')
        ? this.comparison(get(raw, 'count'), keyPath(path, 'count'), { kind: 'count', what: 'the number of matching events' })
        : atLeastOnce();
      const window = this.window(raw, path);
      return filter && cmp && window && { kind: 'eventCount', filter, window, cmp };
    },
    aggregate: (raw, path) => this.aggregate(raw, path),
    activeDays: (raw, path) => {
      const filter = this.filter(this.optionalEvent(raw, path), get(raw, 'where'), path);
      const cmp = this.comparison(get(raw, 'activeDays'), keyPath(path, 'activeDays'), { kind: 'count', what: 'the number of active days' });
      const window = this.window(raw, path);
      return filter && cmp && window && { kind: 'activeDays', filter, window, cmp };
    },
    lastSeen: (raw, path) => this.seen(raw, path, 'lastSeen'),
    firstSeen: (raw, path) => this.seen(raw, path, 'firstSeen'),
    sequence: (raw, path) => {
      const steps = this.steps(get(raw, 'sequence'), keyPath(path, 'sequence'));
      const spanMs = has(raw, 'span') ? this.duration(get(raw, 'span'), keyPath(path, 'span')) : null;
      const window = this.window(raw, path);
      return steps && spanMs !== undefined && window ? { kind: 'sequence', steps, spanMs, window } : undefined;
    },
    funnel: (raw, path) => {
      const steps = this.steps(get(raw, 'funnel'), keyPath(path, 'funnel'));
      const spanMs = this.duration(get(raw, 'span'), keyPath(path, 'span'));
      const cmp = this.comparison(get(raw, 'reached'), keyPath(path, 'reached'), { kind: 'count', what: 'the number of steps reached' });
      const window = this.window(raw, path);
      return steps && spanMs !== undefined && cmp && window ? { kind: 'funnel', steps, spanMs, window, cmp } : undefined;
    },
    stopped: (raw, path) => this.change(raw, path, 'stopped'),
    started: (raw, path) => this.change(raw, path, 'started'),
    regularly: (raw, path) => {
      const filter = this.filter(this.event(get(raw, 'regularly'), keyPath(path, 'regularly')), get(raw, 'where'), path);
      const periodMs = this.duration(get(raw, 'every'), keyPath(path, 'every'));
      const periods = get(raw, 'periods');
      const atLeast = get(raw, 'atLeast');
      const times = has(raw, 'times') ? get(raw, 'times') : 1;
      if (!isWholeNumber(periods) || !isWholeNumber(atLeast) || !isWholeNumber(times) || periodMs === undefined) return undefined;
      let ok = true;
      if (atLeast > periods) {
        this.error(keyPath(path, 'atLeast'), `expected at most the number of periods (${periods}), got ${atLeast}`);
        ok = false;
      }
      if (periodMs * periods > MAX_DURATION_MS) {
        this.error(keyPath(path, 'periods'), `every × periods looks back further than ${MAX_DURATION_TEXT}`);
        ok = false;
      }
      return ok && filter ? { kind: 'regularly', filter, periodMs, periods, atLeast, times } : undefined;
    },
    sessions: (raw, path) => {
      const cmp = this.comparison(get(raw, 'sessions'), keyPath(path, 'sessions'), { kind: 'count', what: 'the number of sessions' });
      const window = this.window(raw, path);
      return cmp && window && { kind: 'sessions', gapMs: this.plan.sessionGapMs, window, cmp };
    },
    sessionDuration: (raw, path) => {
      const statPath = keyPath(path, 'sessionDuration');
      const stats = get(raw, 'sessionDuration');
      const window = this.window(raw, path);
      if (!isRecord(stats)) return undefined;
      const present = SESSION_STATS.filter((s) => has(stats, s));
      if (present.length !== 1) {
        this.error(
          statPath,
          present.length === 0 ? 'expected one statistic: avg, max or total' : `expected exactly one statistic, found ${listOf(present)}`,
        );
        return undefined;
      }
      const stat = present[0]!;
      const cmp = this.comparison(get(stats, stat), keyPath(statPath, stat), { kind: 'duration', what: `the ${stat} session duration` });
      return cmp && window && { kind: 'sessionDuration', stat, gapMs: this.plan.sessionGapMs, window, cmp };
    },
    segment: (raw, path) => {
      const key = get(raw, 'segment');
      if (this.options.stageCondition) {
        this.error(keyPath(path, 'segment'), 'a lifecycle stage is defined from events and traits only; it cannot refer to a segment');
        return undefined;
      }
      return typeof key === 'string' && SEGMENT_KEY_RE.test(key) ? { kind: 'segmentRef', key, path: keyPath(path, 'segment') } : undefined;
    },
    score: (raw, path) => this.score(raw, path),
    cluster: (raw, path) => {
      const model = this.model(raw, path, 'cluster');
      const cmp = this.modelComparison(raw, path, { kind: 'persona', what: `the persona id of model ${quote(String(get(raw, 'cluster')))}` }, 'cluster');
      return model !== undefined && cmp ? { kind: 'cluster', model, cmp } : undefined;
    },
    consent: (raw, path) => {
      const { node, errors } = checkConsentCondition(get(raw, 'consent'), keyPath(path, 'consent'), this.plan, this.options.consentDefaults);
      this.errors.push(...errors);
      return node;
    },
    lifecycle: (raw, path) => {
      const stage = nonEmpty(get(raw, 'lifecycle'));
      if (this.options.stageCondition) {
        this.error(keyPath(path, 'lifecycle'), 'a lifecycle stage is defined from events and traits only; it cannot refer to another stage (order sets the priority)');
        return undefined;
      }
      return stage === undefined ? undefined : this.lifecycleStage(stage, keyPath(path, 'lifecycle'));
    },
  };

  /**
   * `{lifecycle: STAGE}` lowered to the stage's exclusive condition: its own condition and
   * none of the stages ahead of it in priority order (the fallback: none of the stages).
   * So every back end evaluates it with no knowledge of lifecycles.
   */
  private lifecycleStage(stage: string, path: string): CheckedCondition | undefined {
    const model = this.lifecycleModel;
    const index = model.stages.findIndex((s) => s.key === stage);
    const isFallback = stage === model.fallback.key;
    if (index < 0 && !isFallback) {
      const missing = model.unavailable.find((u) => u.key === stage);
      if (missing) {
        this.error(path, `lifecycle stage ${quote(stage)} (${missing.name}) is not in the model: set ${missing.setting} in strata.yaml to use it`);
      } else {
        const keys = stageKeys(model);
        const near = closest(stage, keys);
        this.error(path, `unknown lifecycle stage ${quote(stage)}${near ? ` (did you mean ${quote(near)}?)` : ''}; the model's stages are ${keys.join(', ')}`);
      }
      return undefined;
    }
    const ahead = isFallback ? model.stages.length : index;
    const conditions: CheckedCondition[] = [];
    for (let i = 0; i <= Math.min(ahead, model.stages.length - 1); i++) {
      const c = this.stageCondition(i, path);
      if (!c) return undefined;
      conditions.push(c);
    }
    const before = conditions.slice(0, ahead);
    const excluded: CheckedCondition | undefined =
      before.length === 0 ? undefined : { kind: 'not', child: before.length === 1 ? before[0]! : { kind: 'or', children: before } };
    if (isFallback) return excluded;
    const own = conditions[index]!;
    return excluded ? { kind: 'and', children: [own, excluded] } : own;
  }

  /** A stage's own condition against this checker's plan; an error at `usedAt` when it does not fit. */
  private stageCondition(i: number, usedAt: string): CheckedCondition | undefined {
    if (!this.stageConditions.has(i)) {
      const stage = this.lifecycleModel.stages[i]!;
      const sub = new ConditionChecker(this.plan, {
        stageCondition: true,
        ...(this.options.models ? { models: this.options.models } : {}),
        ...(this.options.consentDefaults ? { consentDefaults: this.options.consentDefaults } : {}),
      });
      const checked = sub.check(stage.match, `lifecycle.stages.${stage.key}.match`);
      if (sub.errors.length > 0 || !checked) {
        const first = sub.errors[0];
        this.error(
          usedAt,
          `lifecycle stage ${quote(stage.key)} does not fit the tracking plan${first ? `: ${first.path ? `${first.path}: ` : ''}${first.message}` : ''}`,
        );
        this.stageConditions.set(i, null);
      } else {
        this.stageConditions.set(i, checked);
      }
    }
    return this.stageConditions.get(i) ?? undefined;
  }

  private list(raw: Record<string, unknown>, path: string, kind: 'all' | 'any'): CheckedCondition | undefined {
    const items = get(raw, kind);
    if (!Array.isArray(items) || items.length === 0) return undefined;
    const children = items.map((item, i) => this.check(item, indexPath(keyPath(path, kind), i)));
    if (!children.every((c) => c !== undefined)) return undefined;
    return { kind: kind === 'all' ? 'and' : 'or', children: children as CheckedCondition[] };
  }

  /**
   * `{score: MODEL, <op>: P}` compares the probability; `{score: MODEL, percentile: {<op>:
   * Q}}` the weak percentile rank within the run. Exactly one of the two.
   */
  private score(raw: Record<string, unknown>, path: string): CheckedCondition | undefined {
    const model = this.model(raw, path, 'score');
    const name = quote(String(get(raw, 'score')));
    if (has(raw, 'percentile')) {
      const beside = Object.keys(raw).filter((k) => (OPERATORS as readonly string[]).includes(k));
      if (beside.length > 0) {
        this.error(
          keyPath(path, beside[0]!),
          `expected one comparison: either an operator beside score (the probability) or percentile: {<op>: Q} (the percentile rank), not both; found ${listOf(['percentile', ...beside])}`,
        );
        return undefined;
      }
      const cmp = this.comparison(get(raw, 'percentile'), keyPath(path, 'percentile'), { kind: 'percentile', what: `the percentile rank of model ${name}` });
      return model !== undefined && cmp ? { kind: 'score', model, measure: 'percentile', cmp } : undefined;
    }
    const cmp = this.modelComparison(raw, path, { kind: 'probability', what: `the score of model ${name}` }, 'score');
    return model !== undefined && cmp ? { kind: 'score', model, measure: 'score', cmp } : undefined;
  }

  /** The comparison beside a model key, with an example when it is missing. */
  private modelComparison(raw: Record<string, unknown>, path: string, operand: Operand, kind: 'score' | 'cluster'): Comparison | undefined {
    if (!Object.keys(raw).some((k) => (OPERATORS as readonly string[]).includes(k))) {
      this.error(
        path,
        kind === 'score'
          ? `expected a comparison on the score: one operator (${allowedOperators(operand).join(', ')}) such as {score: churn-risk, gte: 0.7}, or percentile: {<op>: Q} such as {score: churn-risk, percentile: {gte: 90}}`
          : `expected a comparison on the persona id: one operator (${allowedOperators(operand).join(', ')}) such as {cluster: personas, eq: 2}`,
      );
      return undefined;
    }
    return this.comparison(raw, path, operand);
  }

  /**
   * The model a `score` or `cluster` condition names, which must be stored (the context's
   * catalogue) with a kind the condition reads.
   */
  private model(raw: Record<string, unknown>, path: string, kind: 'score' | 'cluster'): string | undefined {
    const at = keyPath(path, kind);
    const key = get(raw, kind);
    if (typeof key !== 'string' || !SEGMENT_KEY_RE.test(key)) return undefined;
    const catalogue = this.options.models;
    // A lifecycle stage checked from strata.yaml alone: the store's models are checked where the stage is used.
    if (catalogue === undefined && this.options.stageCondition) return key;
    const kinds = MODEL_CONDITION_KINDS[kind];
    const fitting = [...(catalogue ?? new Map<string, ModelKindName>())].filter(([, k]) => kinds.includes(k)).map(([k]) => k);
    const what = kind === 'score' ? 'churn or propensity models' : 'personas models';
    const stored = fitting.length === 0 ? `no ${what} are stored (${kind === 'score' ? 'train one with strata model train' : 'find personas with strata discover personas'})` : `stored ${what}: ${fitting.map(quote).join(', ')}`;
    const found = catalogue?.get(key);
    if (found === undefined) {
      const near = closest(key, fitting);
      this.error(at, `model ${quote(key)} is not stored in the workspace${near ? ` (did you mean ${quote(near)}?)` : ''}; ${stored}`);
      return undefined;
    }
    if (!kinds.includes(found)) {
      const instead = kind === 'score' ? `{cluster: ${key}, eq: ID}` : `{score: ${key}, gte: P}`;
      this.error(at, `model ${quote(key)} is a ${found} model; ${kind} reads ${what} (for this model write ${instead}); ${stored}`);
      return undefined;
    }
    return key;
  }

  private aggregate(raw: Record<string, unknown>, path: string): CheckedCondition | undefined {
    const rawFn = get(raw, 'aggregate');
    const fn = (AGGREGATE_FNS as readonly unknown[]).includes(rawFn) ? (rawFn as AggregateFn) : undefined;
    const event = this.event(get(raw, 'on'), keyPath(path, 'on'));
    const propertyName = nonEmpty(get(raw, 'of'));
    const field = event && propertyName !== undefined ? this.property(event, propertyName, keyPath(path, 'of')) : undefined;
    const filter = this.filter(event, get(raw, 'where'), path);
    const window = this.window(raw, path);
    let operand: Operand | undefined;
    if (field && fn) {
      const what = `the ${fn} of property ${quote(propertyName!)}`;
      if ((fn === 'sum' || fn === 'avg') && field.type !== 'number') {
        this.error(keyPath(path, 'of'), `${fn} needs a number property; property ${quote(propertyName!)} is declared ${field.type}`);
      } else if ((fn === 'min' || fn === 'max') && field.type !== 'number' && field.type !== 'timestamp') {
        this.error(keyPath(path, 'of'), `${fn} needs a number or timestamp property; property ${quote(propertyName!)} is declared ${field.type}`);
      } else if (fn === 'distinct') {
        operand = { kind: 'count', what: `the number of distinct values of property ${quote(propertyName!)}` };
      } else if (fn === 'sum' || fn === 'avg') {
        operand = { kind: 'number', what };
      } else {
        operand = { kind: 'field', type: field.type, what };
      }
    }
    const cmp = this.comparison(raw, path, operand);
    if (!fn || !field || !filter || !window || !cmp) return undefined;
    return { kind: 'aggregate', fn, property: propertyName!, propertyType: field.type, filter, window, cmp };
  }

  private seen(raw: Record<string, unknown>, path: string, kind: 'lastSeen' | 'firstSeen'): CheckedCondition | undefined {
    const filter = this.filter(this.optionalEvent(raw, path), get(raw, 'where'), path);
    const what = kind === 'lastSeen' ? 'the time since the last matching event' : 'the time since the first matching event';
    const cmp = this.comparison(get(raw, kind), keyPath(path, kind), { kind: 'duration', what });
    const window = this.window(raw, path);
    return filter && cmp && window && { kind, filter, window, cmp };
  }

  /**
   * stopped: none in [asOf-D1, asOf) and some in [asOf-D1-D2, asOf-D1); started: the
   * other way round. Both are two event counts on relative windows, so no back end needs
   * to know these kinds exist.
   */
  private change(raw: Record<string, unknown>, path: string, kind: 'stopped' | 'started'): CheckedCondition | undefined {
    const filter = this.filter(this.event(get(raw, kind), keyPath(path, kind)), get(raw, 'where'), path);
    const recentMs = this.duration(get(raw, 'recent'), keyPath(path, 'recent'));
    const priorMs = this.duration(get(raw, 'prior'), keyPath(path, 'prior'));
    if (!filter || recentMs === undefined || priorMs === undefined) return undefined;
    const none: Comparison = { op: 'eq', value: { kind: 'number', value: 0 } };
    const recent: EventCountNode = {
      kind: 'eventCount',
      filter,
      window: { kind: 'relative', startMs: recentMs, endMs: 0 },
      cmp: kind === 'stopped' ? none : atLeastOnce(),
    };
    const prior: EventCountNode = {
      kind: 'eventCount',
      filter,
      window: { kind: 'relative', startMs: recentMs + priorMs, endMs: recentMs },
      cmp: kind === 'stopped' ? atLeastOnce() : none,
    };
    return { kind: 'and', children: [recent, prior] };
  }

  private optionalEvent(raw: Record<string, unknown>, path: string): EventRef | undefined {
    return has(raw, 'on') ? this.event(get(raw, 'on'), keyPath(path, 'on')) : ANY_EVENT;
  }

  /** An event filter from an event reference and the `where` list beside it (in `holderPath`). */
  private filter(event: EventRef | undefined, where: unknown, holderPath: string): EventFilter | undefined {
    const predicates = this.where(where, keyPath(holderPath, 'where'), event);
    return event && predicates && { event: event.event, where: predicates };
  }

  private steps(value: unknown, path: string): EventFilter[] | undefined {
    if (!Array.isArray(value)) return undefined;
    const out: EventFilter[] = [];
    let ok = true;
    value.forEach((step, i) => {
      const stepPath = indexPath(path, i);
      let filter: EventFilter | undefined;
      if (typeof step === 'string' && step !== '') {
        filter = this.filter(this.event(step, stepPath), undefined, stepPath);
      } else if (isRecord(step)) {
        this.errors.push(...schemaErrors(StepSchema, step, stepPath));
        filter = this.filter(this.event(get(step, 'event'), keyPath(stepPath, 'event')), get(step, 'where'), stepPath);
      } else {
        this.error(stepPath, `expected a step: an event name or {event: E, where: [P...]}, got ${show(step)}`);
      }
      if (filter) out.push(filter);
      else ok = false;
    });
    return ok ? out : undefined;
  }

  /** Resolve an event name; a non-string was already reported by the kind's schema. */
  private event(value: unknown, path: string): EventRef | undefined {
    const name = nonEmpty(value);
    if (name === undefined) return undefined;
    if (name === '*') return ANY_EVENT;
    if (!Object.hasOwn(this.plan.events, name)) {
      this.error(path, `event ${quote(name)} is not declared in the tracking plan${this.hint(name, Object.keys(this.plan.events), 'events')}`);
      return undefined;
    }
    return { name, event: name };
  }

  private property(event: EventRef, name: string, path: string): FieldSpec | undefined {
    let field: FieldSpec | undefined;
    if (event.event === null) {
      const declarations = Object.values(this.plan.events).flatMap((e) => (Object.hasOwn(e.properties, name) ? [e.properties[name]!] : []));
      if (declarations.length === 0) {
        const all = new Set(Object.values(this.plan.events).flatMap((e) => Object.keys(e.properties)));
        this.error(path, `property ${quote(name)} is not declared on any event${this.hint(name, [...all], 'properties')}`);
        return undefined;
      }
      // The plan gives a property one type across events; any declaration flagging it sensitive makes it sensitive.
      field = { type: declarations[0]!.type, ...(declarations.some((d) => d.sensitive) ? { sensitive: true } : {}) };
    } else {
      const properties = this.plan.events[event.event]!.properties;
      if (!Object.hasOwn(properties, name)) {
        const declared = Object.keys(properties);
        this.error(
          path,
          declared.length === 0
            ? `property ${quote(name)} is not declared on event ${quote(event.event)}, which declares no properties`
            : `property ${quote(name)} is not declared on event ${quote(event.event)}${this.hint(name, declared, 'properties')}`,
        );
        return undefined;
      }
      field = properties[name]!;
    }
    if (field.sensitive) {
      this.error(path, `property ${quote(name)} is sensitive: sensitive fields may be used for audits only, never for targeting`);
      return undefined;
    }
    return field;
  }

  private trait(name: string, path: string): FieldSpec | undefined {
    if (!Object.hasOwn(this.plan.traits, name)) {
      this.error(path, `trait ${quote(name)} is not declared in the tracking plan${this.hint(name, Object.keys(this.plan.traits), 'traits')}`);
      return undefined;
    }
    const field = this.plan.traits[name]!;
    if (field.sensitive) {
      this.error(path, `trait ${quote(name)} is sensitive: sensitive traits may be used for audits only, never for targeting`);
      return undefined;
    }
    return field;
  }

  private hint(name: string, declared: readonly string[], noun: string): string {
    if (declared.length === 0) return `; the tracking plan declares no ${noun}`;
    const near = closest(name, declared);
    if (near !== undefined) return ` (did you mean ${quote(near)}?)`;
    const shown = declared.slice(0, 10).map(quote).join(', ');
    return `; declared ${noun}: ${shown}${declared.length > 10 ? ` and ${declared.length - 10} more` : ''}`;
  }

  private where(value: unknown, path: string, event: EventRef | undefined): PropertyPredicate[] | undefined {
    if (value === undefined) return [];
    if (!Array.isArray(value)) return undefined;
    const out: PropertyPredicate[] = [];
    let ok = true;
    value.forEach((predicate, i) => {
      const predicatePath = indexPath(path, i);
      if (!isRecord(predicate)) {
        ok = false;
        return;
      }
      const name = nonEmpty(get(predicate, 'property'));
      const field = event && name !== undefined ? this.property(event, name, keyPath(predicatePath, 'property')) : undefined;
      const cmp = this.comparison(predicate, predicatePath, field && { kind: 'field', type: field.type, what: `property ${quote(name!)}` });
      if (field && cmp) out.push({ property: name!, type: field.type, cmp });
      else ok = false;
    });
    return ok ? out : undefined;
  }

  /**
   * The single operator among `holder`'s keys and its literal. Without an operand (its
   * trait or property could not be resolved) only the operator count is checked, so
   * that one mistake does not bury the others under consequences of itself.
   */
  private comparison(holder: unknown, path: string, operand: Operand | undefined): Comparison | undefined {
    if (!isRecord(holder)) return undefined;
    const ops = Object.keys(holder).filter((k): k is Operator => (OPERATORS as readonly string[]).includes(k));
    const allowed = operand ? allowedOperators(operand) : OPERATORS;
    if (ops.length === 0) {
      this.error(path, `expected one operator${operand && operand.kind === 'field' ? ` comparing ${operand.what}` : ''}: ${allowed.join(', ')}`);
      return undefined;
    }
    if (ops.length > 1) {
      this.error(path, `expected exactly one operator, found ${listOf(ops)}: use between for a range, or combine conditions with all: [...]`);
      return undefined;
    }
    const op = ops[0]!;
    if (!operand) return undefined;
    const opPath = keyPath(path, op);
    if (!allowed.includes(op)) {
      this.error(opPath, notAllowed(op, operand, allowed));
      return undefined;
    }
    const value = get(holder, op);
    switch (op) {
      case 'exists':
        if (typeof value !== 'boolean') {
          this.error(opPath, `expected true or false, got ${show(value)}`);
          return undefined;
        }
        return { op, value };
      case 'in':
      case 'notIn': {
        if (!Array.isArray(value) || value.length === 0) {
          this.error(opPath, `expected a non-empty list of values, got ${show(value)}`);
          return undefined;
        }
        const values = value.map((v, i) => this.literal(v, operand, indexPath(opPath, i)));
        return values.every((v) => v !== undefined) ? { op, values: values as Literal[] } : undefined;
      }
      case 'between': {
        if (!Array.isArray(value) || value.length !== 2) {
          this.error(opPath, `expected [lo, hi]: a list of two values, got ${show(value)}`);
          return undefined;
        }
        const lo = this.literal(value[0], operand, indexPath(opPath, 0));
        const hi = this.literal(value[1], operand, indexPath(opPath, 1));
        if (!lo || !hi) return undefined;
        const order = compareLiterals(lo, hi);
        if (order !== undefined && order > 0) {
          this.error(opPath, `expected lo <= hi, got ${show(value)}`);
          return undefined;
        }
        return { op, lo, hi };
      }
      default: {
        const literal = this.literal(value, operand, opPath);
        if (!literal) return undefined;
        return op === 'contains' || op === 'startsWith' ? { op, value: literal } : { op, value: literal };
      }
    }
  }

  private literal(value: unknown, operand: Operand, path: string): Literal | undefined {
    const fail = (expected: string) => {
      this.error(path, `expected ${expected}, got ${show(value)}`);
      return undefined;
    };
    switch (operand.kind) {
      case 'count':
        return typeof value === 'number' && Number.isFinite(value) && value >= 0
          ? { kind: 'number', value }
          : fail(`a non-negative number (${operand.what})`);
      case 'number':
        return typeof value === 'number' && Number.isFinite(value) ? { kind: 'number', value } : fail(`a number (${operand.what})`);
      case 'probability':
        if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1) return { kind: 'number', value };
        // 70 for 0.7, or a percentile written as a score: say which to write.
        return fail(
          `a probability between 0 and 1 (${operand.what})${typeof value === 'number' && value > 1 && value <= 100 ? `; for the top percentiles write percentile: {<op>: ${value}}, for a probability ${value / 100}` : ''}`,
        );
      case 'percentile':
        return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 100
          ? { kind: 'number', value }
          : fail(`a percentile between 0 and 100 (${operand.what})`);
      case 'persona':
        return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 2_147_483_647
          ? { kind: 'number', value }
          : fail(`a persona id: a whole number of at least 0 (${operand.what})`);
      case 'duration': {
        const ms = typeof value === 'string' ? parseDurationMs(value) : undefined;
        if (ms === undefined) return fail(`a duration (${operand.what}): ${DURATION_SYNTAX}`);
        if (ms > MAX_DURATION_MS) return fail(`a duration of at most ${MAX_DURATION_TEXT}`);
        return { kind: 'duration', ms };
      }
      case 'field': {
        const declared = `${operand.what} is declared ${operand.type}`;
        switch (operand.type) {
          case 'string':
            return typeof value === 'string' ? { kind: 'string', value } : fail(`a string (${declared})`);
          case 'number':
            return typeof value === 'number' && Number.isFinite(value) ? { kind: 'number', value } : fail(`a number (${declared})`);
          case 'boolean':
            return typeof value === 'boolean' ? { kind: 'boolean', value } : fail(`true or false (${declared})`);
          case 'timestamp': {
            if (typeof value === 'string') {
              const epochMs = parseInstantMs(value);
              if (epochMs !== undefined) return { kind: 'timestamp', epochMs };
              const offsetMs = parseRelativeOffsetMs(value);
              if (offsetMs !== undefined) {
                return Math.abs(offsetMs) <= MAX_DURATION_MS ? { kind: 'relativeTime', offsetMs } : fail(`an offset of at most ${MAX_DURATION_TEXT}`);
              }
              if (parseDurationMs(value) !== undefined) return fail(`${TIMESTAMP_SYNTAX}; write -${value} for ${value} before asOf (${declared})`);
            }
            return fail(`${TIMESTAMP_SYNTAX} (${declared})`);
          }
        }
      }
    }
  }

  /** A duration field whose syntax the kind's schema has already checked; only the cap is left. */
  private duration(value: unknown, path: string): number | undefined {
    const ms = typeof value === 'string' ? parseDurationMs(value) : undefined;
    if (ms === undefined || ms === 0) return undefined;
    if (ms > MAX_DURATION_MS) {
      this.error(path, `expected a duration of at most ${MAX_DURATION_TEXT}, got ${show(value)}`);
      return undefined;
    }
    return ms;
  }

  /** The window of an event-based condition: at most one of within, during, since; after pairs with within. */
  private window(raw: Record<string, unknown>, path: string): Window | undefined {
    const present = Object.keys(raw).filter((k): k is WindowKey => (WINDOW_KEYS as readonly string[]).includes(k));
    if (present.includes('after')) {
      let ok = true;
      for (const other of present) {
        if (other === 'during' || other === 'since') {
          this.error(keyPath(path, other), `a window anchored with after takes within only; remove ${other}`);
          ok = false;
        }
      }
      const anchor = this.anchor(get(raw, 'after'), keyPath(path, 'after'));
      if (!present.includes('within')) {
        this.error(keyPath(path, 'after'), 'after needs within: D beside it, the length of the window [anchor, anchor + D)');
        return undefined;
      }
      const durationMs = this.duration(get(raw, 'within'), keyPath(path, 'within'));
      return ok && anchor && durationMs !== undefined ? { kind: 'anchored', anchor, durationMs } : undefined;
    }
    if (present.length > 1) {
      for (const extra of present.slice(1)) {
        this.error(keyPath(path, extra), `a condition takes one window (within, during, since or after with within); it already has ${present[0]}`);
      }
      return undefined;
    }
    switch (present[0]) {
      case undefined:
        return { kind: 'all' };
      case 'within': {
        const ms = this.duration(get(raw, 'within'), keyPath(path, 'within'));
        return ms === undefined ? undefined : { kind: 'relative', startMs: ms, endMs: 0 };
      }
      case 'since': {
        const fromMs = this.instant(get(raw, 'since'), keyPath(path, 'since'));
        return fromMs === undefined ? undefined : { kind: 'absolute', fromMs, toMs: null };
      }
      case 'during':
        return this.during(get(raw, 'during'), keyPath(path, 'during'));
    }
  }

  /**
   * `during: [FROM, TO]`: two instants, [FROM, TO); or two offsets before asOf, `['-56d',
   * '-28d']` = [asOf - 56d, asOf - 28d) (a relative window, like `within` with an end).
   */
  private during(during: unknown, path: string): Window | undefined {
    if (!Array.isArray(during) || during.length !== 2) return undefined;
    const bounds = during.map((b, i) => this.windowBound(b, indexPath(path, i)));
    const [from, to] = bounds;
    if (!from || !to) return undefined;
    if (from.kind !== to.kind) {
      const [offset, instant] = from.kind === 'offset' ? ['FROM', 'TO'] : ['TO', 'FROM'];
      this.error(
        path,
        `expected two instants or two offsets before asOf, got ${show(during)}: ${offset} is an offset from asOf and ${instant} an instant; write both as ISO-8601 instants or both as offsets (-56d, -28d)`,
      );
      return undefined;
    }
    if (from.ms >= to.ms) {
      this.error(path, `expected FROM before TO, got ${show(during)}${from.kind === 'offset' ? ' (an offset further back, such as -56d, comes first)' : ''}`);
      return undefined;
    }
    return from.kind === 'instant' ? { kind: 'absolute', fromMs: from.ms, toMs: to.ms } : { kind: 'relative', startMs: Math.abs(from.ms), endMs: Math.abs(to.ms) };
  }

  /** One bound of `during`: an instant (epoch ms) or an offset from asOf (ms, at most 0). */
  private windowBound(value: unknown, path: string): { kind: 'instant' | 'offset'; ms: number } | undefined {
    if (typeof value !== 'string' || value === '') return undefined;
    const epochMs = parseInstantMs(value);
    if (epochMs !== undefined) return { kind: 'instant', ms: epochMs };
    const offsetMs = parseRelativeOffsetMs(value);
    if (offsetMs !== undefined) {
      if (offsetMs > 0) {
        this.error(path, `expected an offset before asOf (-${value.slice(1)}), got ${show(value)}: no event exists at or after asOf`);
        return undefined;
      }
      if (-offsetMs > MAX_DURATION_MS) {
        this.error(path, `expected an offset of at most ${MAX_DURATION_TEXT}, got ${show(value)}`);
        return undefined;
      }
      return { kind: 'offset', ms: offsetMs };
    }
    const duration = parseDurationMs(value) !== undefined;
    this.error(
      path,
      `expected an ISO-8601 date or instant (2024-05-01, 2024-05-01T12:00:00Z) or an offset before asOf (-30d), got ${show(value)}${duration ? `; write -${value} for ${value} before asOf` : ''}`,
    );
    return undefined;
  }

  /** An absolute instant of a window; the schema has checked that it is a non-empty string. */
  private instant(value: unknown, path: string): number | undefined {
    if (typeof value !== 'string' || value === '') return undefined;
    const ms = parseInstantMs(value);
    if (ms !== undefined) return ms;
    const relative = parseRelativeOffsetMs(value) !== undefined || parseDurationMs(value) !== undefined;
    this.error(
      path,
      `expected an ISO-8601 date or instant (2024-05-01, 2024-05-01T12:00:00Z), got ${show(value)}${relative ? '; for a window relative to asOf use within: D' : ''}`,
    );
    return undefined;
  }

  private anchor(value: unknown, path: string): Anchor | undefined {
    if (!isRecord(value)) return undefined;
    const byEvent = has(value, 'event');
    const byTrait = has(value, 'trait');
    if (byEvent === byTrait) {
      this.error(
        path,
        byEvent
          ? 'expected either event or trait, not both'
          : 'expected an anchor: {event: E, where?: [P...]} (the first such event) or {trait: T} (a timestamp trait)',
      );
      return undefined;
    }
    if (byTrait) {
      if (has(value, 'where')) {
        this.error(keyPath(path, 'where'), 'where applies to an event anchor only');
        return undefined;
      }
      const name = nonEmpty(get(value, 'trait'));
      const field = name === undefined ? undefined : this.trait(name, keyPath(path, 'trait'));
      if (!field) return undefined;
      if (field.type !== 'timestamp') {
        this.error(keyPath(path, 'trait'), `trait ${quote(name!)} is declared ${field.type}; an anchor needs a timestamp trait`);
        return undefined;
      }
      return { kind: 'trait', trait: name! };
    }
    const filter = this.filter(this.event(get(value, 'event'), keyPath(path, 'event')), get(value, 'where'), path);
    return filter && { kind: 'event', filter };
  }

  private error(path: string, message: string): void {
    this.errors.push({ path, message });
  }
}

function notAllowed(op: Operator, operand: Operand, allowed: readonly Operator[]): string {
  if (operand.kind === 'field') {
    if ((op === 'contains' || op === 'startsWith') && operand.type !== 'string') {
      return `${op} applies to strings only; ${operand.what} is declared ${operand.type}`;
    }
    if (operand.type === 'boolean') return `${op} does not apply to booleans (${operand.what} is declared boolean); expected one of ${allowed.join(', ')}`;
  }
  if (op === 'exists' && operand.kind !== 'field') {
    return `exists does not apply to ${operand.what}; expected one of ${allowed.join(', ')}`;
  }
  return `${op} does not apply to ${operand.what}; expected one of ${allowed.join(', ')}`;
}

/** Order of two literals of one type, or undefined when they cannot be ordered before asOf is known. */
function compareLiterals(a: Literal, b: Literal): number | undefined {
  if (a.kind === 'number' && b.kind === 'number') return a.value - b.value;
  if (a.kind === 'timestamp' && b.kind === 'timestamp') return a.epochMs - b.epochMs;
  if (a.kind === 'relativeTime' && b.kind === 'relativeTime') return a.offsetMs - b.offsetMs;
  if (a.kind === 'duration' && b.kind === 'duration') return a.ms - b.ms;
  // Strings order by code point, which is UTF-8 byte order (ir/nodes.ts).
  if (a.kind === 'string' && b.kind === 'string') return Buffer.compare(Buffer.from(a.value, 'utf8'), Buffer.from(b.value, 'utf8'));
  return undefined;
}

function atLeastOnce(): Comparison {
  return { op: 'gte', value: { kind: 'number', value: 1 } };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own keys only: a document key such as "constructor" must never reach Object.prototype. */
function has(record: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(record, key);
}

function get(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isWholeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1;
}
