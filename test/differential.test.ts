/**
 * Differential property test: random segment definitions (as language documents) on random
 * data must give identical members on the in-memory evaluator and, through the SQL
 * compiler, on DuckDB, a ClickHouse single node and a two-shard ClickHouse cluster
 * (DESIGN.md: "Every back end gives the same answer"). DuckDB runs most cases; ClickHouse
 * round trips cost milliseconds each, so its runs batch more definitions per dataset and
 * every engine answers the same scenarios, side by side in a failure.
 *
 * Timestamps sit on a coarse grid (6h steps plus 0, 15 or 30 minutes) and every duration and
 * instant in the definitions is a multiple of 15 minutes on the same grid, so ties, events
 * exactly at asOf, exactly at window starts and at first + span happen often. The session
 * gap is the grid step (6h): events in neighbouring slots are 5h30 to 6h30 apart, so
 * sessions both merge and split on a gap exactly equal to the plan's, and often straddle a
 * window start. A failure prints the shrunk case in spec-vector form (spec/README.md), ready
 * to be judged against DESIGN.md and pasted into spec/segments.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { compareCodePoints, evaluateSegments, indexDataset } from '../src/segments/evaluate/index.js';
import { buildSegmentIR, validateSegment, type SegmentDefinition } from '../src/segments/language/index.js';
import { MS } from '../src/time/time.js';
import { clickhouseAvailable, type LocalClickHouse } from './support/clickhouse-server.js';
import { SegmentEngine, startServerFor } from './support/segment-engines.js';
import type { SpecEvent, SpecProfile } from './support/spec-case.js';
import { toMemoryDataset } from './support/to-memory.js';

const PLAN_DOCUMENT = {
  session_gap: '6h',
  events: {
    view: { properties: { page: 'string', n: 'number', flag: 'boolean', at: 'timestamp' } },
    buy: { properties: { amount: 'number', page: 'string', flag: 'boolean' } },
    signup: { properties: {} },
  },
  traits: { plan: 'string', score: 'number', vip: 'boolean', trial_at: 'timestamp' },
};
const PLAN = parsePlan(PLAN_DOCUMENT);

const BASE = Date.UTC(2024, 5, 10);
const STEP = 6 * MS.h;
const iso = (ms: number) => new Date(ms).toISOString();

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

const eventArb: fc.Arbitrary<SpecEvent> = fc.oneof(
  fc.record({
    user_id: userId,
    event: fc.constant('view'),
    timestamp: gridIso,
    properties: fc.record({ page: stringValue, n: numberValue, flag: fc.boolean(), at: gridIso }, { requiredKeys: [] }),
  }),
  fc.record({
    user_id: userId,
    event: fc.constant('buy'),
    timestamp: gridIso,
    properties: fc.record({ amount: fc.constantFrom(0, 5, 10, 12.5), page: stringValue, flag: fc.boolean() }, { requiredKeys: [] }),
  }),
  fc.record({ user_id: userId, event: fc.constant('signup'), timestamp: gridIso }),
);

const profileArb: fc.Arbitrary<SpecProfile> = fc.record({
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

const { condition } = fc.letrec<{ condition: Doc; all: Doc; any: Doc; not: Doc }>((tie) => ({
  condition: fc.oneof({ maxDepth: 3, depthIdentifier: 'condition', withCrossShrink: true }, leaf, tie('all'), tie('any'), tie('not')),
  all: fc.array(tie('condition'), { minLength: 1, maxLength: 3 }).map((c) => ({ all: c })),
  any: fc.array(tie('condition'), { minLength: 1, maxLength: 3 }).map((c) => ({ any: c })),
  not: tie('condition').map((c) => ({ not: c })),
}));

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

const definitions = (maxLength: number) =>
  fc.array(condition, { minLength: 1, maxLength }).map((matches) =>
    matches.map((m, i) => ({ key: `d${i}`, name: `d${i}`, objective: 'other', rationale: 'differential test', match: resolveReferences(m, i) })),
  );

/** A dataset and up to `maxDefinitions` definitions evaluated on it as one batch. */
const scenarioWith = (maxDefinitions: number) =>
  fc.record({
    asOf: fc.constantFrom(0, 15, 6 * 60, 12 * 60).map((m) => iso(BASE + m * MS.m)),
    events: fc.uniqueArray(eventArb, { maxLength: 40, size: 'medium', selector: (e) => JSON.stringify(e) }),
    profiles: fc.array(profileArb, { maxLength: 7 }),
    definitions: definitions(maxDefinitions),
  });
type Scenario = typeof scenarioWith extends (n: number) => fc.Arbitrary<infer T> ? T : never;

// ---- the property ---------------------------------------------------------------------

/** One segment's members per engine, where some engine differs from the in-memory evaluator. */
interface Disagreement {
  readonly key: string;
  readonly inMemory: readonly string[];
  /** `<engine>` (batch column) and `<engine> membersOnly` (member-list query). */
  readonly engines: Readonly<Record<string, readonly string[]>>;
}

/** The failing case, one JSON line per item, in the shapes of spec/README.md so it can become a vector. */
function describeCase(s: Scenario, disagreements: readonly Disagreement[]): string {
  const lines = (items: readonly unknown[]) => items.map((x) => `  ${JSON.stringify(x)}`).join('\n');
  return [
    'the engines disagree (plan: PLAN_DOCUMENT in test/differential.test.ts)',
    `asOf: ${s.asOf}`,
    `events:\n${lines(s.events)}`,
    `profiles:\n${lines(s.profiles)}`,
    `definitions (match):\n${lines(s.definitions.map((d) => ({ [d.key]: d.match })))}`,
    `members:\n${lines(disagreements.map((d) => ({ [d.key]: { inMemory: d.inMemory, ...d.engines } })))}`,
  ].join('\n');
}

/** Every engine's batch and member lists against the in-memory evaluator; throws the case when any differs. */
async function checkScenario(engines: readonly SegmentEngine[], s: Scenario): Promise<void> {
  const asOfMs = Date.parse(s.asOf);
  const defs = new Map<string, SegmentDefinition>();
  for (const raw of s.definitions) defs.set(raw.key, validateSegment(raw, PLAN));
  const segments = [...defs.values()].map((def) => buildSegmentIR(def, PLAN, (key) => defs.get(key)));
  const data = toMemoryDataset(s.events, s.profiles, PLAN);
  const memory = evaluateSegments(segments, data, asOfMs);
  // The batch has one row per user of the population (DESIGN.md, "Evaluation").
  const population = [...indexDataset(data, asOfMs).keys()].sort();

  const answers = new Map<string, Record<string, readonly string[]>>([['(population)', {}], ...segments.map((g): [string, Record<string, readonly string[]>] => [g.key, {}])]);
  // Engines are separate stores (and servers): they answer side by side.
  await Promise.all(
    engines.map(async (engine) => {
      await engine.load(PLAN, data);
      const [batch, ...membersOnly] = await Promise.all([engine.batch(segments, asOfMs), ...segments.map((g) => engine.members(g, asOfMs))]);
      answers.get('(population)')![engine.kind] = batch!.users;
      segments.forEach((segment, i) => {
        answers.get(segment.key)![engine.kind] = batch!.members.get(segment.key)!;
        answers.get(segment.key)![`${engine.kind} membersOnly`] = membersOnly[i] as readonly string[];
      });
    }),
  );
  const same = (a: readonly string[], b: readonly string[]) => JSON.stringify(a) === JSON.stringify(b);
  const expected = new Map<string, readonly string[]>([['(population)', population], ...segments.map((g): [string, string[]] => [g.key, [...memory.get(g.key)!].sort()])]);
  const disagreements: Disagreement[] = [...answers].flatMap(([key, byEngine]) => {
    const inMemory = expected.get(key)!;
    return Object.values(byEngine).every((got) => same(got, inMemory)) ? [] : [{ key, inMemory, engines: byEngine }];
  });
  if (disagreements.length > 0) throw new Error(describeCase(s, disagreements));
}

describe('differential: in-memory evaluator vs DuckDB', () => {
  let engine: SegmentEngine;
  beforeAll(async () => {
    engine = await SegmentEngine.open('duckdb', PLAN, null, 'differential');
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('gives identical members for random definitions on random data', async () => {
    const numRuns = process.env.CI ? 500 : 200;
    await fc.assert(
      fc.asyncProperty(scenarioWith(4), (s) => checkScenario([engine], s)),
      { numRuns },
    );
  });
});

const clickhouse = clickhouseAvailable();

describe.skipIf(!clickhouse)('differential: in-memory evaluator vs DuckDB, ClickHouse single node and ClickHouse cluster', () => {
  const servers: LocalClickHouse[] = [];
  const engines: SegmentEngine[] = [];
  beforeAll(async () => {
    engines.push(await SegmentEngine.open('duckdb', PLAN, null, 'differential'));
    for (const kind of ['clickhouse', 'clickhouse-cluster'] as const) {
      const server = await startServerFor(kind);
      servers.push(server!);
      engines.push(await SegmentEngine.open(kind, PLAN, server, 'strata_differential'));
    }
  }, 120_000);
  afterAll(async () => {
    for (const e of engines) await e.close();
    for (const s of servers) await s.stop();
  });

  it('gives identical members on every engine for random definitions on random data', async () => {
    // Eight definitions per dataset in one batch: round trips, not definitions, cost time here.
    const numRuns = process.env.CI ? 100 : 40;
    await fc.assert(
      fc.asyncProperty(scenarioWith(8), (s) => checkScenario(engines, s)),
      { numRuns },
    );
  }, 600_000);
});
