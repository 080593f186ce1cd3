/**
 * The random definitions and data of the differential property test (test/differential.test.ts),
 * shared with the streaming evaluator's property tests (test/stream-property.test.ts,
 * test/stream-snapshot.test.ts), so every engine is held to the same space of cases:
 *
 * Timestamps sit on a coarse grid (6h steps plus 0, 15 or 30 minutes) and every duration and
 * instant in the definitions is a multiple of 15 minutes on the same grid, so ties, events
 * exactly at asOf, exactly at window starts and at first + span happen often. The session
 * gap is the grid step (6h): events in neighbouring slots are 5h30 to 6h30 apart, so
 * sessions both merge and split on a gap exactly equal to the plan's.
 */
import fc from 'fast-check';
import { parsePlan } from '../../src/schema/tracking-plan.js';
import { compareCodePoints } from '../../src/segments/evaluate/index.js';
import { MS } from '../../src/time/time.js';
import type { SpecEvent, SpecProfile } from './spec-case.js';

export const PLAN_DOCUMENT = {
  session_gap: '6h',
  events: {
    view: { properties: { page: 'string', n: 'number', flag: 'boolean', at: 'timestamp' } },
    buy: { properties: { amount: 'number', page: 'string', flag: 'boolean' } },
    signup: { properties: {} },
  },
  traits: { plan: 'string', score: 'number', vip: 'boolean', trial_at: 'timestamp' },
};
export const PLAN = parsePlan(PLAN_DOCUMENT);

export const BASE = Date.UTC(2024, 5, 10);
export const STEP = 6 * MS.h;
export const iso = (ms: number) => new Date(ms).toISOString();

// ---- values ---------------------------------------------------------------------------

/** Strings that need escaping or look like LIKE patterns. */
const PLAIN_STRINGS = ['free', 'pro', 'pr', '', 'a', 'a%b', 'a_b', 'ab', "o'q", '\\'] as const;
/** Strings whose UTF-16 order differs from code point order (U+E000..U+FFFF against astral characters), and a decomposed é. */
const UNICODE_STRINGS = ['\u00e9', 'e\u0301', '\uE000', '\uFFFD', '\u{10000}', '\u{1F600}'] as const;
const NUMBERS = [-1, 0, 0.5, 1, 2, 3, 5, 10, 12.5] as const;
const DURATIONS = ['15m', '30m', '6h', '12h', '1d', '2d', '3d', '1w'] as const;
const durationMs = (d: string) => Number(d.slice(0, -1)) * MS[d.slice(-1) as keyof typeof MS];

/** An instant on the grid around BASE: 6h steps back (a few after it), plus 0, 15 or 30 minutes. */
const gridMs = fc
  .tuple(fc.integer({ min: -2, max: 20 }), fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.constantFrom(15, 30) }))
  .map(([a, m]) => BASE - a * STEP + m * MS.m);
const gridIso = gridMs.map(iso);
const stringValue = fc.oneof(fc.constantFrom(...PLAIN_STRINGS), fc.constantFrom(...UNICODE_STRINGS));
const numberValue = fc.constantFrom(...NUMBERS);
const timestampLiteral = fc.oneof(gridIso, fc.constantFrom('-15m', '-6h', '-1d', '-2d', '-3d', '-1w', '+6h'));

// ---- data -----------------------------------------------------------------------------

const USERS = ['u0', 'u1', 'u2', 'u3'] as const;
const userId = fc.constantFrom(...USERS);

/** Events of the plan's three kinds for `users`, at instants drawn from `timestamp`. */
export function eventArbOn(timestamp: fc.Arbitrary<string>, users: readonly string[]): fc.Arbitrary<SpecEvent> {
  const user = fc.constantFrom(...users);
  return fc.oneof(
    fc.record({
      user_id: user,
      event: fc.constant('view'),
      timestamp,
      properties: fc.record({ page: stringValue, n: numberValue, flag: fc.boolean(), at: gridIso }, { requiredKeys: [] }),
    }),
    fc.record({
      user_id: user,
      event: fc.constant('buy'),
      timestamp,
      properties: fc.record({ amount: fc.constantFrom(0, 5, 10, 12.5), page: stringValue, flag: fc.boolean() }, { requiredKeys: [] }),
    }),
    fc.record({ user_id: user, event: fc.constant('signup'), timestamp }),
  );
}

export const eventArb: fc.Arbitrary<SpecEvent> = eventArbOn(gridIso, USERS);

export const profileArb: fc.Arbitrary<SpecProfile> = fc.record({
  user_id: userId,
  traits: fc.record({ plan: stringValue, score: numberValue, vip: fc.boolean(), trial_at: gridIso }, { requiredKeys: [] }),
});

// ---- comparisons ----------------------------------------------------------------------

type Doc = Record<string, unknown>;
const ORDERED = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte'] as const;

/** A comparison {op: value} over values drawn from `value`, `order` sorting a between pair. */
function comparison<T>(value: fc.Arbitrary<T>, order: (a: T, b: T) => number, extra: fc.Arbitrary<Doc>[] = []): fc.Arbitrary<Doc> {
  return fc.oneof(
    fc.tuple(fc.constantFrom(...ORDERED), value).map(([op, v]) => ({ [op]: v })),
    fc.tuple(fc.constantFrom('in', 'notIn'), fc.array(value, { minLength: 1, maxLength: 3 })).map(([op, vs]) => ({ [op]: vs })),
    fc.tuple(value, value).map(([a, b]) => ({ between: order(a, b) <= 0 ? [a, b] : [b, a] })),
    ...extra,
  );
}
const exists = fc.boolean().map((v) => ({ exists: v }));
const byNumber = (a: number, b: number) => a - b;
const countCmp = comparison(fc.integer({ min: 0, max: 4 }), byNumber);
const numberCmp = comparison(fc.constantFrom(-1, 0, 5, 10, 12.5, 15, 20), byNumber);
const durationCmp = comparison(fc.constantFrom(...DURATIONS), (a, b) => durationMs(a) - durationMs(b));
/** Bounds of one kind (two instants, two offsets) must be ordered; mixed ones cannot be before asOf is known, so any order is valid. */
const relative = (t: string) => (t.startsWith('-') || t.startsWith('+') ? (t[0] === '-' ? -1 : 1) * durationMs(t.slice(1)) : undefined);
const byInstant = (a: string, b: string) => {
  const [ra, rb] = [relative(a), relative(b)];
  if (ra !== undefined && rb !== undefined) return ra - rb;
  return ra === undefined && rb === undefined ? Date.parse(a) - Date.parse(b) : 0;
};
const timestampCmp = comparison(timestampLiteral, byInstant, [exists]);
const stringCmp = comparison(stringValue, compareCodePoints, [
  fc.tuple(fc.constantFrom('contains', 'startsWith'), fc.constantFrom('', 'a', 'p', 'r', '%', '_', '\\', "'", 'e', '\u{1F600}')).map(([op, v]) => ({ [op]: v })),
  exists,
]);
const booleanCmp = fc.oneof(
  fc.tuple(fc.constantFrom('eq', 'ne'), fc.boolean()).map(([op, v]) => ({ [op]: v })),
  fc.tuple(fc.constantFrom('in', 'notIn'), fc.array(fc.boolean(), { minLength: 1, maxLength: 2 })).map(([op, vs]) => ({ [op]: vs })),
  exists,
);
const fieldCmp = { string: stringCmp, number: comparison(numberValue, byNumber, [exists]), boolean: booleanCmp, timestamp: timestampCmp } as const;

// ---- event filters and windows ----------------------------------------------------------

const PROPERTIES: Record<string, Record<string, keyof typeof fieldCmp>> = {
  view: { page: 'string', n: 'number', flag: 'boolean', at: 'timestamp' },
  buy: { amount: 'number', page: 'string', flag: 'boolean' },
  signup: {},
  '*': { page: 'string', n: 'number', flag: 'boolean', at: 'timestamp', amount: 'number' },
};
const EVENTS = ['view', 'buy', 'signup', '*'] as const;

function predicateFor(event: string): fc.Arbitrary<Doc> | undefined {
  const props = Object.entries(PROPERTIES[event]!);
  if (props.length === 0) return undefined;
  return fc.oneof(...props.map(([p, type]) => fieldCmp[type].map((cmp) => ({ property: p, ...cmp }))));
}

/** An event name with an optional `where` valid for it: {event, where?}. */
const eventFilter: fc.Arbitrary<{ event: string; where?: Doc[] }> = fc.oneof(
  ...EVENTS.map((event) => {
    const predicate = predicateFor(event);
    if (!predicate) return fc.constant({ event });
    return fc.option(fc.array(predicate, { minLength: 1, maxLength: 2 }), { nil: undefined, freq: 3 }).map((where) => (where ? { event, where } : { event }));
  }),
);

const duration = fc.constantFrom(...DURATIONS);
const windowArb: fc.Arbitrary<Doc> = fc.oneof(
  fc.constant({}),
  duration.map((d) => ({ within: d })),
  fc.tuple(gridMs, fc.integer({ min: 1, max: 16 })).map(([from, steps]) => ({ during: [iso(from), iso(from + steps * STEP)] })),
  // Offsets before asOf ([asOf - far, asOf - near)), the relative form of during.
  fc
    .tuple(duration, fc.constantFrom('0m', ...DURATIONS))
    .filter(([a, b]) => durationMs(a) > durationMs(b))
    .map(([far, near]) => ({ during: [`-${far}`, `-${near}`] })),
  gridIso.map((s) => ({ since: s })),
  fc.tuple(eventFilter, duration).map(([f, d]) => ({ after: f, within: d })),
  duration.map((d) => ({ after: { trait: 'trial_at' }, within: d })),
);

/** Mostly plain event names: chains of filtered steps rarely match anyone, which tests little. */
const step: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...EVENTS) }, { weight: 1, arbitrary: eventFilter.map((f) => (f.where ? f : f.event)) });

// ---- conditions -----------------------------------------------------------------------

/** `on` and `where` for kinds where the event is optional. */
const optionalOn = fc.option(eventFilter, { nil: undefined }).map((f) => (f ? { on: f.event, ...(f.where ? { where: f.where } : {}) } : {}));

const aggregateArb: fc.Arbitrary<Doc> = fc.oneof(
  ...EVENTS.flatMap((on) =>
    Object.entries(PROPERTIES[on]!).flatMap(([of, type]) => {
      const fns: [string, fc.Arbitrary<Doc>][] = [['distinct', countCmp]];
      if (type === 'number') fns.push(['sum', numberCmp], ['avg', numberCmp]);
      if (type === 'number' || type === 'timestamp') fns.push(['min', fieldCmp[type]], ['max', fieldCmp[type]]);
      return fns.map(([fn, cmp]) =>
        fc.tuple(cmp, windowArb, fc.option(predicateFor(on)!, { nil: undefined })).map(([c, w, p]) => ({ aggregate: fn, of, on, ...(p ? { where: [p] } : {}), ...c, ...w })),
      );
    }),
  ),
);

const leaf: fc.Arbitrary<Doc> = fc.oneof(
  fc.oneof(...Object.entries(PLAN_DOCUMENT.traits).map(([trait, type]) => fieldCmp[type as keyof typeof fieldCmp].map((cmp) => ({ trait, ...cmp })))),
  fc.tuple(eventFilter, fc.option(countCmp, { nil: undefined }), windowArb).map(([f, count, w]) => ({ did: f.event, ...(f.where ? { where: f.where } : {}), ...(count ? { count } : {}), ...w })),
  aggregateArb,
  fc.tuple(countCmp, optionalOn, windowArb).map(([cmp, on, w]) => ({ activeDays: cmp, ...on, ...w })),
  fc.tuple(fc.constantFrom('lastSeen', 'firstSeen'), durationCmp, optionalOn, windowArb).map(([kind, cmp, on, w]) => ({ [kind]: cmp, ...on, ...w })),
  fc.tuple(fc.array(step, { minLength: 2, maxLength: 3 }), fc.option(duration, { nil: undefined }), windowArb).map(([steps, span, w]) => ({ sequence: steps, ...(span ? { span } : {}), ...w })),
  fc.tuple(fc.array(step, { minLength: 1, maxLength: 3 }), duration, countCmp, windowArb).map(([steps, span, reached, w]) => ({ funnel: steps, span, reached, ...w })),
  fc.tuple(fc.constantFrom('stopped', 'started'), eventFilter, duration, duration).map(([kind, f, recent, prior]) => ({ [kind]: f.event, ...(f.where ? { where: f.where } : {}), recent, prior })),
  fc
    .tuple(eventFilter, fc.constantFrom('6h', '12h', '1d', '2d'), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }))
    .map(([f, every, periods, atLeast, times]) => ({
      regularly: f.event,
      ...(f.where ? { where: f.where } : {}),
      every,
      periods,
      atLeast: 1 + ((atLeast - 1) % periods),
      ...(times ? { times } : {}),
    })),
  fc.tuple(countCmp, windowArb).map(([cmp, w]) => ({ sessions: cmp, ...w })),
  fc.tuple(fc.constantFrom('avg', 'max', 'total'), durationCmp, windowArb).map(([stat, cmp, w]) => ({ sessionDuration: { [stat]: cmp }, ...w })),
  // A reference to an earlier definition of the batch, resolved in `definitions` below.
  fc.nat({ max: 3 }).map((i) => ({ segment: `$${i}` })),
);

/** Conditions of up to three levels of all / any / not over `leaves`. */
function conditionOver(leaves: fc.Arbitrary<Doc>): fc.Arbitrary<Doc> {
  return fc.letrec<{ condition: Doc; all: Doc; any: Doc; not: Doc }>((tie) => ({
    condition: fc.oneof({ maxDepth: 3, depthIdentifier: 'condition', withCrossShrink: true }, leaves, tie('all'), tie('any'), tie('not')),
    all: fc.array(tie('condition'), { minLength: 1, maxLength: 3 }).map((c) => ({ all: c })),
    any: fc.array(tie('condition'), { minLength: 1, maxLength: 3 }).map((c) => ({ any: c })),
    not: tie('condition').map((c) => ({ not: c })),
  })).condition;
}

export const condition = conditionOver(leaf);

/** Definition i may reference definitions 0..i-1; a reference in the first becomes a trait test. */
function resolveReferences(match: unknown, index: number): unknown {
  if (Array.isArray(match)) return match.map((m) => resolveReferences(m, index));
  if (typeof match !== 'object' || match === null) return match;
  const doc = match as Doc;
  if (typeof doc.segment === 'string' && doc.segment.startsWith('$')) {
    return index === 0 ? { trait: 'vip', eq: true } : { segment: `d${Number(doc.segment.slice(1)) % index}` };
  }
  return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, k === 'where' || k === 'after' || k === 'all' || k === 'any' || k === 'not' ? resolveReferences(v, index) : v]));
}

/** Up to `maxLength` definitions, keys d0, d1, ...; definition i may reference 0..i-1. */
export const definitionsUpTo = (maxLength: number, conditions: fc.Arbitrary<Doc> = condition) =>
  fc.array(conditions, { minLength: 1, maxLength }).map((matches) =>
    matches.map((m, i) => ({ key: `d${i}`, name: `d${i}`, objective: 'other', rationale: 'differential test', owner: 'growth', match: resolveReferences(m, i) })),
  );

/** A dataset and up to `maxDefinitions` definitions evaluated on it as one batch. */
export const scenarioWith = (maxDefinitions: number) =>
  fc.record({
    asOf: fc.constantFrom(0, 15, 6 * 60, 12 * 60).map((m) => iso(BASE + m * MS.m)),
    events: fc.uniqueArray(eventArb, { maxLength: 40, size: 'medium', selector: (e) => JSON.stringify(e) }),
    profiles: fc.array(profileArb, { maxLength: 7 }),
    definitions: definitionsUpTo(maxDefinitions),
  });

/** A dataset and up to four definitions, as the differential test draws them for DuckDB. */
export const scenario = scenarioWith(4);
export type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/**
 * A longer, denser history for the streaming evaluator: two users, up to 300 events on an
 * hourly grid over the 40 days before BASE (plus 0, 15 or 30 minutes), so windows slide
 * past many events and old state is trimmed, compacted and sealed.
 */
export const denseScenario = fc.record({
  asOf: fc.constantFrom(0, 15, 6 * 60, 12 * 60).map((m) => iso(BASE + m * MS.m)),
  events: fc.uniqueArray(
    eventArbOn(
      fc.tuple(fc.integer({ min: -12, max: 960 }), fc.constantFrom(0, 0, 15, 30)).map(([h, m]) => iso(BASE - h * MS.h + m * MS.m)),
      ['u0', 'u1'],
    ),
    { minLength: 40, maxLength: 300, size: 'max', selector: (e) => JSON.stringify(e) },
  ),
  profiles: fc.array(profileArb, { maxLength: 4 }),
  definitions: definitionsUpTo(4),
});

// ---- stored models and scoring runs ------------------------------------------------------
//
// Opt-in (scoredScenarioWith): the plain generators above stay without model conditions,
// so a property test that does not give its engines a model catalogue and scoring runs
// keeps passing. Scores include ties (weak percentile ranks), users outside the population
// and runs after asOf; `as_of` values share the grid, so runs exactly at asOf and runs with
// equal as_of (ties to the later run) happen often.

/** The stored models the scored scenarios name, with their kinds (the catalogue). */
export const MODELS = { risk: 'churn', intent: 'propensity', personas: 'personas' } as const;
export const MODEL_CATALOGUE: ReadonlyMap<string, 'churn' | 'propensity' | 'personas'> = new Map(Object.entries(MODELS));
const SCORE_VALUES = [0, 0.25, 0.5, 0.7, 0.9, 1] as const;
const PERCENTILES = [0, 20, 25, 40, 50, 60, 75, 80, 100] as const;
/** Scored users: the population's, and one who never appears in it. */
const SCORED_USERS = [...USERS, 'ghost'] as const;
const RUN_INSTANTS = [-8, -4, -1, 0, 1].map((steps) => iso(BASE - steps * STEP));

const scoreRunArb = fc.oneof(
  fc
    .tuple(fc.constantFrom('risk', 'intent'), fc.constantFrom(...RUN_INSTANTS), fc.dictionary(fc.constantFrom(...SCORED_USERS), fc.constantFrom(...SCORE_VALUES), { minKeys: 1, maxKeys: 5 }))
    .map(([model, as_of, scores]) => ({ model, kind: MODELS[model as 'risk' | 'intent'], as_of, scores })),
  fc
    .tuple(fc.constantFrom(...RUN_INSTANTS), fc.dictionary(fc.constantFrom(...SCORED_USERS), fc.integer({ min: 0, max: 2 }), { minKeys: 1, maxKeys: 5 }))
    .map(([as_of, clusters]) => ({ model: 'personas', kind: 'personas' as const, as_of, clusters })),
);

const probabilityCmp = comparison(fc.constantFrom(...SCORE_VALUES), byNumber, [exists]);
const percentileCmp = comparison(fc.constantFrom(...PERCENTILES), byNumber, [exists]);
const personaCmp = fc.oneof(
  fc.tuple(fc.constantFrom('eq', 'ne'), fc.integer({ min: 0, max: 2 })).map(([op, v]) => ({ [op]: v })),
  fc.tuple(fc.constantFrom('in', 'notIn'), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 2 })).map(([op, vs]) => ({ [op]: vs })),
  exists,
);
const modelLeaf: fc.Arbitrary<Doc> = fc.oneof(
  fc.tuple(fc.constantFrom('risk', 'intent'), probabilityCmp).map(([model, cmp]) => ({ score: model, ...cmp })),
  fc.tuple(fc.constantFrom('risk', 'intent'), percentileCmp).map(([model, cmp]) => ({ score: model, percentile: cmp })),
  personaCmp.map((cmp) => ({ cluster: 'personas', ...cmp })),
);
const scoredCondition = conditionOver(fc.oneof({ weight: 2, arbitrary: leaf }, { weight: 3, arbitrary: modelLeaf }));

/** A dataset, its models' scoring runs (spec format, run ids in order) and up to `maxDefinitions` definitions reading them. */
export const scoredScenarioWith = (maxDefinitions: number) =>
  fc.record({
    asOf: fc.constantFrom(0, 15, 6 * 60, 12 * 60).map((m) => iso(BASE + m * MS.m)),
    events: fc.uniqueArray(eventArb, { maxLength: 30, size: 'medium', selector: (e) => JSON.stringify(e) }),
    profiles: fc.array(profileArb, { maxLength: 5 }),
    scoreRuns: fc.array(scoreRunArb, { maxLength: 4 }),
    definitions: definitionsUpTo(maxDefinitions, scoredCondition),
  });

// ---- consent ----------------------------------------------------------------------------
//
// Opt-in (consentScenarioWith), like the scored scenarios: the plan gains `$consent`, the
// data consent records (every purpose, and one that is none of them; grants, denials,
// records without `granted`; on the grid, so ties at one instant and records exactly at
// asOf happen often), the definitions `{consent: PURPOSE}` leaves and targeting purposes,
// and the workspace's consent defaults are drawn too.

export const CONSENT_PLAN_DOCUMENT = {
  ...PLAN_DOCUMENT,
  events: { ...PLAN_DOCUMENT.events, $consent: { properties: { purpose: 'string', granted: 'boolean', source: 'string' } } },
};
export const CONSENT_PLAN = parsePlan(CONSENT_PLAN_DOCUMENT);
const PURPOSES = ['analytics', 'personalization', 'marketing'] as const;

const consentEventArb: fc.Arbitrary<SpecEvent> = fc
  .tuple(userId, gridIso, fc.constantFrom(...PURPOSES, 'other'), fc.option(fc.boolean(), { nil: undefined, freq: 8 }), fc.constantFrom('banner', 'api'))
  .map(([user_id, timestamp, purpose, granted, source]) => ({
    user_id,
    event: '$consent',
    timestamp,
    properties: { purpose, source, ...(granted === undefined ? {} : { granted }) },
  }));

const consentLeaf: fc.Arbitrary<Doc> = fc.constantFrom(...PURPOSES).map((p) => ({ consent: p }));
const consentCondition = conditionOver(fc.oneof({ weight: 3, arbitrary: leaf }, { weight: 2, arbitrary: consentLeaf }));

/** A dataset with consent records, the workspace's consent defaults, and definitions with consent conditions and targeting purposes. */
export const consentScenarioWith = (maxDefinitions: number) =>
  fc.record({
    asOf: fc.constantFrom(0, 15, 6 * 60, 12 * 60).map((m) => iso(BASE + m * MS.m)),
    events: fc.uniqueArray(fc.oneof({ weight: 2, arbitrary: eventArb }, { weight: 3, arbitrary: consentEventArb }), { maxLength: 40, size: 'medium', selector: (e) => JSON.stringify(e) }),
    profiles: fc.array(profileArb, { maxLength: 5 }),
    consentDefaults: fc.record({ analytics: fc.boolean(), personalization: fc.boolean(), marketing: fc.boolean() }),
    definitions: fc
      .tuple(definitionsUpTo(maxDefinitions, consentCondition), fc.array(fc.constantFrom(undefined, 'analytics', 'personalization', 'marketing'), { minLength: maxDefinitions, maxLength: maxDefinitions }))
      .map(([defs, purposes]) => defs.map((d, i) => (purposes[i] === undefined ? d : { ...d, purpose: purposes[i] }))),
  });
export type ConsentScenario = ReturnType<typeof consentScenarioWith> extends fc.Arbitrary<infer T> ? T : never;
