/**
 * TypeBox schemas for the shape of a segment definition: the envelope and one schema per
 * condition kind. They check structure only (which keys, which JSON types, duration
 * syntax); everything that depends on the tracking plan (declared events, property and
 * trait types, literal types) is checked by the condition checker.
 *
 * Every schema carries a `description` phrased as what is expected, because the error
 * translation (schema-errors.ts) turns it into "expected <description>, got <value>".
 * Conditions are dispatched on their kind key before a schema is chosen, so no schema is
 * a union of condition shapes (TypeBox reports unions as one unhelpful error).
 */
import { Type, type TObject, type TProperties } from '@sinclair/typebox';
import { AGGREGATE_FNS, OBJECTIVES, OPERATORS, SEGMENT_KEY_PATTERN, SEGMENT_PURPOSES, type SupportedKind } from './definition.js';

const strict = (description: string) => ({ additionalProperties: false, description });

const DURATION_SYNTAX = 'a whole number and a unit m, h, d or w (45m, 12h, 30d, 2w)';

export const DurationSchema = Type.String({ pattern: '^\\d{1,9}[mhdw]$', description: `a duration: ${DURATION_SYNTAX}` });
export const PositiveDurationSchema = Type.String({
  pattern: '^(?!0+[mhdw]$)\\d{1,9}[mhdw]$',
  description: `a positive duration: ${DURATION_SYNTAX}`,
});

const EventNameSchema = Type.String({ minLength: 1, description: 'an event name declared in the tracking plan, or "*" for any event' });
const PropertyNameSchema = Type.String({ minLength: 1, description: 'a property name declared in the tracking plan' });
const TraitNameSchema = Type.String({ minLength: 1, description: 'a trait name declared in the tracking plan' });
const InstantSchema = Type.String({ minLength: 1, description: 'an ISO-8601 date or instant (2024-05-01, 2024-05-01T12:00:00Z)' });
const WindowBoundSchema = Type.String({
  minLength: 1,
  description: 'an ISO-8601 date or instant (2024-05-01, 2024-05-01T12:00:00Z) or an offset before asOf (-30d)',
})

/** Operator values are typed by the tracking plan, so their schema accepts anything and the checker decides. */
const operatorProperties: TProperties = Object.fromEntries(OPERATORS.map((op) => [op, Type.Optional(Type.Unknown())]));

export const PropertyPredicateSchema = Type.Object(
  { property: PropertyNameSchema, ...operatorProperties },
  strict('a property predicate {property: NAME, <op>: VALUE}'),
);

export const WhereSchema = Type.Array(PropertyPredicateSchema, {
  description: 'a list of property predicates [{property: NAME, <op>: VALUE}, ...]',
});

export const ComparisonSchema = Type.Object(operatorProperties, strict('a comparison with one operator, such as {gte: 3}'));

export const StepSchema = Type.Object(
  { event: EventNameSchema, where: Type.Optional(WhereSchema) },
  strict('a step: an event name or {event: E, where: [P...]}'),
);

export const AfterSchema = Type.Object(
  { event: Type.Optional(EventNameSchema), where: Type.Optional(WhereSchema), trait: Type.Optional(TraitNameSchema) },
  strict('an anchor {event: E, where?: [P...]} or {trait: T}'),
);

export const SessionDurationStatSchema = Type.Object(
  { avg: Type.Optional(ComparisonSchema), max: Type.Optional(ComparisonSchema), total: Type.Optional(ComparisonSchema) },
  strict('one statistic (avg, max or total) with a comparison, such as {avg: {gte: 10m}}'),
);

const windowProperties: TProperties = {
  within: Type.Optional(PositiveDurationSchema),
  during: Type.Optional(
    Type.Array(WindowBoundSchema, {
      minItems: 2,
      maxItems: 2,
      description: '[FROM, TO]: two ISO-8601 dates or instants, or two offsets before asOf (-56d, -28d)',
    }),
  ),
  since: Type.Optional(InstantSchema),
  after: Type.Optional(AfterSchema),
};

const where = { where: Type.Optional(WhereSchema) };
const conditionList = Type.Array(Type.Unknown(), { minItems: 1, description: 'a non-empty list of conditions' });
const stepList = (min: number) =>
  Type.Array(Type.Unknown(), {
    minItems: min,
    description: `a list of at least ${min === 1 ? 'one step' : `${min} steps`}, each an event name or {event: E, where: [P...]}`,
  });
const wholeNumber = (minimum: number, what: string) => Type.Integer({ minimum, description: `${what}: a whole number of at least ${minimum}` });

/** A stored model's key (the segment key rule, MODEL_KEY_PATTERN in models/registry/model-store.ts). */
const modelKey = (what: string, example: string) =>
  Type.String({ pattern: SEGMENT_KEY_PATTERN, description: `the key of ${what} stored in the workspace: lowercase letters, digits and hyphens, such as ${example}` });

/** The shape of each supported condition kind, keyed by its kind key. */
export const CONDITION_SCHEMAS: Readonly<Record<SupportedKind, TObject>> = {
  all: Type.Object({ all: conditionList }, strict('{all: [C...]}')),
  any: Type.Object({ any: conditionList }, strict('{any: [C...]}')),
  not: Type.Object({ not: Type.Unknown() }, strict('{not: C}')),
  trait: Type.Object({ trait: TraitNameSchema, ...operatorProperties }, strict('{trait: T, <op>: V}')),
  did: Type.Object(
    { did: EventNameSchema, ...where, count: Type.Optional(ComparisonSchema), ...windowProperties },
    strict('{did: E, where?, count?, <window>}'),
  ),
  aggregate: Type.Object(
    {
      aggregate: Type.Union(
        AGGREGATE_FNS.map((fn) => Type.Literal(fn)),
        { description: `an aggregate function: ${AGGREGATE_FNS.join(', ')}` },
      ),
      of: PropertyNameSchema,
      on: EventNameSchema,
      ...where,
      ...operatorProperties,
      ...windowProperties,
    },
    strict('{aggregate: fn, of: PROP, on: E, where?, <op>: V, <window>}'),
  ),
  activeDays: Type.Object(
    { activeDays: ComparisonSchema, on: Type.Optional(EventNameSchema), ...where, ...windowProperties },
    strict('{activeDays: {<op>: N}, on?, where?, <window>}'),
  ),
  lastSeen: Type.Object(
    { lastSeen: ComparisonSchema, on: Type.Optional(EventNameSchema), ...where, ...windowProperties },
    strict('{lastSeen: {<op>: D}, on?, where?, <window>}'),
  ),
  firstSeen: Type.Object(
    { firstSeen: ComparisonSchema, on: Type.Optional(EventNameSchema), ...where, ...windowProperties },
    strict('{firstSeen: {<op>: D}, on?, where?, <window>}'),
  ),
  sequence: Type.Object(
    { sequence: stepList(2), span: Type.Optional(PositiveDurationSchema), ...windowProperties },
    strict('{sequence: [STEP...], span?, <window>}'),
  ),
  funnel: Type.Object(
    { funnel: stepList(1), span: PositiveDurationSchema, reached: ComparisonSchema, ...windowProperties },
    strict('{funnel: [STEP...], span: D, reached: {<op>: K}, <window>}'),
  ),
  stopped: Type.Object(
    { stopped: EventNameSchema, recent: PositiveDurationSchema, prior: PositiveDurationSchema, ...where },
    strict('{stopped: E, recent: D1, prior: D2, where?}'),
  ),
  started: Type.Object(
    { started: EventNameSchema, recent: PositiveDurationSchema, prior: PositiveDurationSchema, ...where },
    strict('{started: E, recent: D1, prior: D2, where?}'),
  ),
  regularly: Type.Object(
    {
      regularly: EventNameSchema,
      every: PositiveDurationSchema,
      periods: wholeNumber(1, 'the number of periods'),
      atLeast: wholeNumber(1, 'the number of periods that must qualify'),
      times: Type.Optional(wholeNumber(1, 'the number of events a period needs')),
      ...where,
    },
    strict('{regularly: E, every: D, periods: N, atLeast: M, times?: K, where?}'),
  ),
  sessions: Type.Object({ sessions: ComparisonSchema, ...windowProperties }, strict('{sessions: {<op>: N}, <window>}')),
  sessionDuration: Type.Object(
    { sessionDuration: SessionDurationStatSchema, ...windowProperties },
    strict('{sessionDuration: {avg|max|total: {<op>: D}}, <window>}'),
  ),
  segment: Type.Object(
    {
      segment: Type.String({
        pattern: SEGMENT_KEY_PATTERN,
        description: 'a segment key: lowercase letters, digits and hyphens, 1 to 63 characters, not starting with a hyphen',
      }),
    },
    strict('{segment: KEY}'),
  ),
  lifecycle: Type.Object(
    { lifecycle: Type.String({ minLength: 1, description: 'a lifecycle stage key from the workspace lifecycle model (strata lifecycle stages)' }) },
    strict('{lifecycle: STAGE}'),
  ),
  score: Type.Object(
    { score: modelKey('a churn or propensity model', 'churn-risk'), percentile: Type.Optional(ComparisonSchema), ...operatorProperties },
    strict('{score: MODEL, <op>: P} (the probability) or {score: MODEL, percentile: {<op>: Q}}'),
  ),
  cluster: Type.Object({ cluster: modelKey('a personas model', 'personas'), ...operatorProperties }, strict('{cluster: MODEL, eq: ID}')),
  // The purpose itself is checked by the condition checker, which can suggest the closest one.
  consent: Type.Object(
    { consent: Type.String({ minLength: 1, description: 'a consent purpose: analytics, personalization or marketing' }) },
    strict('{consent: PURPOSE} (PURPOSE: analytics, personalization or marketing)'),
  ),
};

export const ENVELOPE_SCHEMA = Type.Object(
  {
    key: Type.String({
      pattern: SEGMENT_KEY_PATTERN,
      description: 'a segment key: lowercase letters, digits and hyphens, 1 to 63 characters, not starting with a hyphen',
    }),
    name: Type.String({ pattern: '\\S', description: 'a non-empty name' }),
    objective: Type.Union(
      OBJECTIVES.map((o) => Type.Literal(o)),
      { description: `an objective: one of ${OBJECTIVES.join(', ')}` },
    ),
    rationale: Type.String({ pattern: '\\S', description: 'a non-empty rationale: why the segment exists and what decision it feeds' }),
    // Required since issue 7 ("objective, rationale and owner are required on segments"); versions stored before load without one (SegmentContext.storedDefinition).
    owner: Type.String({ pattern: '\\S', description: 'an owner: who is accountable for the segment, a team or a person (owner: growth)' }),
    tags: Type.Optional(Type.Array(Type.String({ pattern: '\\S', description: 'a non-empty tag' }), { description: 'a list of tags' })),
    purpose: Type.Optional(
      Type.Union(
        SEGMENT_PURPOSES.map((p) => Type.Literal(p)),
        { description: `a purpose: one of ${SEGMENT_PURPOSES.join(', ')} (personalization and marketing segments are used for targeting)` },
      ),
    ),
    match: Type.Unknown({ description: 'a condition (exactly one)' }),
  },
  strict('a segment definition: a mapping with key, name, objective, rationale, owner and match'),
);
