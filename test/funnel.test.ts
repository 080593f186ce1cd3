/**
 * The funnel analysis on DuckDB against two oracles, on random logs (fast-check; the
 * differential test's data generators, test/support/segment-arbitraries.ts: a coarse time
 * grid with many ties, events exactly at window edges and at start + span):
 *
 * - the in-memory segment evaluator (src/segments/evaluate): in sequential order, the users
 *   reaching step k are exactly the members of `{funnel: STEPS, span, reached: {gte: k}, <window>}`,
 *   and the saved drop-off segment at step K has as many members as the table drops there;
 * - a brute-force reference written here from the definitions in the README, by
 *   enumeration rather than the SQL's greedy searches: K per user over every tuple of events
 *   (all three orders), then the attempt (the earliest start reaching K) and its times, and
 *   the quantiles of time from the previous step by sorting (h = (n - 1) p, linear
 *   interpolation, as DuckDB's quantile_cont).
 * Breakdowns, the segment restriction, and the frequency-table path (what a sharded store
 * merges) are held to the same reference.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  analyzeFunnel,
  checkFunnelDocument,
  dropoffDefinition,
  funnelFromArguments,
  quantilesOf,
  saveDropoffSegment,
  type FunnelDefinition,
  type FunnelResult,
} from '../src/analysis/funnel/index.js';
import { isStrataError, StrataError } from '../src/errors/errors.js';
import { evaluateSegments, type MemoryDataset, type MemoryEvent } from '../src/segments/evaluate/index.js';
import { buildSegmentIR, validateSegment } from '../src/segments/language/index.js';
import type { SegmentRegistry } from '../src/segments/registry/index.js';
import type { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import type { ByUserTarget, EventStore, Row } from '../src/store/event-store.js';
import type { SqlDialect } from '../src/segments/compile/dialect.js';
import { MS } from '../src/time/time.js';
import { reloadStore } from './support/load-duckdb.js';
import { openMemoryStore } from './support/memory-store.js';
import { STEPS, dataArb, durationMs, funnelArb, funnelDoc, plantedArb, withPlanted, type Doc, type FunnelCase } from './support/funnel-arbitraries.js';
import { BASE, PLAN, iso } from './support/segment-arbitraries.js';
import type { SpecEvent, SpecValue } from './support/spec-case.js';
import { toMemoryDataset } from './support/to-memory.js';

const FRACTIONS = [0.25, 0.5, 0.75];
const RUNS = process.env.CI ? 300 : 80;

// ---- the brute-force reference ----------------------------------------------------------

interface Attempt {
  /** K, the furthest step. */
  readonly k: number;
  /** c_1..c_K: when the attempt had completed steps 1..j. */
  readonly times: readonly number[];
}

/** The entry window [lo, hi) as of asOf, from the document. */
function entryWindow(window: Doc, asOfMs: number): [number, number] {
  if (typeof window.within === 'string') return [asOfMs - durationMs(window.within), asOfMs];
  if (Array.isArray(window.during)) return [Date.parse(window.during[0] as string), Math.min(asOfMs, Date.parse(window.during[1] as string))];
  if (typeof window.since === 'string') return [Date.parse(window.since), asOfMs];
  return [-Infinity, asOfMs];
}

/** Events matching each step, as [time, ...] sorted; `all` every event time of the user. */
function referenceAttempt(events: readonly MemoryEvent[], c: FunnelCase, asOfMs: number): Attempt {
  const steps = c.stepIndexes.map((i) => STEPS[i]!.matches);
  const n = steps.length;
  const span = durationMs(c.span);
  const [lo, hi] = entryWindow(c.window, asOfMs);
  const ofStep = steps.map((m) => events.filter(m).map((e) => e.ts));
  const inWindow = (t: number) => t >= lo && t < hi;

  if (c.order === 'any') {
    // Every tuple of one event per step 1..k (an event may serve several steps): its first event in the window, its last before first + span.
    for (let k = n; k >= 1; k--) {
      let best = Infinity;
      const visit = (j: number, min: number, max: number): void => {
        if (j === k) {
          if (inWindow(min) && max < min + span && min < best) best = min;
          return;
        }
        for (const t of ofStep[j]!) visit(j + 1, Math.min(min, t), Math.max(max, t));
      };
      visit(0, Infinity, -Infinity);
      if (best !== Infinity) {
        const first = (j: number) => Math.min(...ofStep[j]!.filter((t) => t >= best));
        const times: number[] = [];
        for (let j = 0; j < k; j++) times.push(Math.max(first(j), ...(j > 0 ? [times[j - 1]!] : [])));
        return { k, times };
      }
    }
    return { k: 0, times: [] };
  }

  // Sequential and strict: every chain of events at strictly increasing times, step 1 in the window, all before step 1 + span.
  const allTimes = events.map((e) => e.ts);
  const nothingBetween = (a: number, b: number) => !allTimes.some((t) => t > a && t < b);
  const deepest = (j: number, prev: number, deadline: number): number[] => {
    if (j === n) return [];
    let best: number[] = [];
    for (const t of ofStep[j]!) {
      if (!(t > prev && t < deadline)) continue;
      if (c.order === 'strict' && !nothingBetween(prev, t)) continue;
      const rest = [t, ...deepest(j + 1, t, deadline)];
      if (rest.length > best.length) best = rest;
    }
    return best;
  };
  let attempt: Attempt = { k: 0, times: [] };
  for (const s of [...new Set(ofStep[0]!.filter(inWindow))].sort((a, b) => a - b)) {
    const chain = [s, ...deepest(1, s, s + span)];
    if (chain.length > attempt.k) attempt = { k: chain.length, times: chain };
  }
  if (c.order === 'sequential' && attempt.k > 0) {
    // The documented times: from the earliest start reaching K, each step at its earliest event after the previous one.
    const s = attempt.times[0]!;
    const greedy = [s];
    for (let j = 1; j < attempt.k; j++) greedy.push(Math.min(...ofStep[j]!.filter((t) => t > greedy[j - 1]!)));
    if (!(greedy[attempt.k - 1]! < s + span)) throw new Error('reference: the greedy chain from the chosen start does not reach K');
    attempt = { k: attempt.k, times: greedy };
  }
  return attempt;
}

/** quantile_cont by sorting: (1 - f) x_lo + f x_hi, in DuckDB's arithmetic. */
function quantilesBySorting(values: readonly number[]): number[] | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return FRACTIONS.map((p) => {
    const h = (s.length - 1) * p;
    const [a, b] = [Math.floor(h), Math.ceil(h)];
    const f = h - a;
    return a === b ? s[a]! : s[a]! * (1 - f) + s[b]! * f;
  });
}

interface ReferenceStep {
  readonly reached: number;
  readonly quantiles: number[] | null;
}

function referenceTable(data: MemoryDataset, c: FunnelCase, asOfMs: number, users?: ReadonlySet<string>): ReferenceStep[] {
  const byUser = new Map<string, MemoryEvent[]>();
  for (const e of data.events) if (e.ts < asOfMs && (users === undefined || users.has(e.userId))) byUser.set(e.userId, [...(byUser.get(e.userId) ?? []), e]);
  const attempts = [...byUser.values()].map((es) => referenceAttempt([...es].sort((a, b) => a.ts - b.ts), c, asOfMs));
  return c.stepIndexes.map((_, i) => {
    const reached = attempts.filter((a) => a.k >= i + 1);
    return { reached: reached.length, quantiles: i === 0 ? null : quantilesBySorting(reached.map((a) => a.times[i]! - a.times[i - 1]!)) };
  });
}

function tableOf(result: FunnelResult, group: string | null = null): ReferenceStep[] {
  const g = result.groups.find((x) => x.group === group);
  if (!g) return result.steps.map(() => ({ reached: 0, quantiles: null }));
  return g.steps.map((s) => ({ reached: s.reached, quantiles: s.timeFromPrevious === null ? null : [s.timeFromPrevious.p25, s.timeFromPrevious.median, s.timeFromPrevious.p75] }));
}

function segmentDefinition(key: string, match: unknown) {
  return { key, name: key, objective: 'conversion' as const, rationale: 'funnel test', owner: 'growth', match };
}

/** The segment condition for "reached at least k" of a sequential funnel case. */
function reachedCondition(c: FunnelCase, op: Doc): Doc {
  return { funnel: c.stepIndexes.map((i) => STEPS[i]!.doc), span: c.span, reached: op, ...c.window };
}

// ---- the store ------------------------------------------------------------------------------

let store: DuckDbStore;
let registry: SegmentRegistry;

beforeAll(async () => {
  ({ store, registry } = await openMemoryStore(PLAN));
});

afterAll(async () => {
  await store.close();
});

async function load(events: Parameters<typeof toMemoryDataset>[0], profiles: Parameters<typeof toMemoryDataset>[1]): Promise<MemoryDataset> {
  const data = toMemoryDataset(events, profiles, PLAN);
  await reloadStore(store, PLAN, data);
  return data;
}

/**
 * The same DuckDB store told it answers in two parts: the analysis then asks for the exact
 * frequency table a sharded store's parts send, and merges it in TypeScript.
 */
function asPartedStore(s: EventStore): EventStore {
  return new Proxy(s, {
    get(target, prop, receiver) {
      if (prop === 'queryByUser') return (build: (d: SqlDialect, t: ByUserTarget) => string): Promise<Row[]> => target.query(build(target.dialect, { parts: 2 }));
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

// ---- properties -----------------------------------------------------------------------------

describe('funnel counts and times on random logs', () => {
  it('sequential order: reached step k = members of {funnel, reached: {gte: k}} (in-memory evaluator), and the reference table', async () => {
    await fc.assert(
      fc.asyncProperty(dataArb, funnelArb(['sequential']), plantedArb, async (d, c, planted) => {
        const data = await load(withPlanted(d.events, c, planted), d.profiles);
        const funnel = checkFunnelDocument(funnelDoc(c), PLAN);
        const result = await analyzeFunnel(store, registry, PLAN, funnel, { asOfMs: d.asOf });
        const segments = c.stepIndexes.map((_, i) =>
          buildSegmentIR(validateSegment(segmentDefinition(`k${i + 1}`, reachedCondition(c, { gte: i + 1 })), PLAN), PLAN, () => undefined),
        );
        const members = evaluateSegments(segments, data, d.asOf);
        const table = tableOf(result);
        expect(table.map((s) => s.reached)).toEqual(c.stepIndexes.map((_, i) => members.get(`k${i + 1}`)!.size));
        expect(table).toEqual(referenceTable(data, c, d.asOf));
      }),
      { numRuns: RUNS },
    );
  });

  it('strict and any order: the reference table (K by enumerating event tuples; the attempt\'s times; exact quantiles)', async () => {
    await fc.assert(
      fc.asyncProperty(dataArb, funnelArb(['strict', 'any']), plantedArb, async (d, c, planted) => {
        const data = await load(withPlanted(d.events, c, planted), d.profiles);
        const result = await analyzeFunnel(store, registry, PLAN, checkFunnelDocument(funnelDoc(c), PLAN), { asOfMs: d.asOf });
        expect(tableOf(result)).toEqual(referenceTable(data, c, d.asOf));
      }),
      { numRuns: RUNS },
    );
  });

  it('the frequency tables a sharded store merges give the same table as quantiles in SQL', async () => {
    const parted = asPartedStore(store);
    await fc.assert(
      fc.asyncProperty(dataArb, funnelArb(['sequential', 'strict', 'any']), plantedArb, async (d, c, planted) => {
        await load(withPlanted(d.events, c, planted), d.profiles);
        const funnel = checkFunnelDocument(funnelDoc(c), PLAN);
        const inSql = await analyzeFunnel(store, registry, PLAN, funnel, { asOfMs: d.asOf, by: 'plan' });
        const merged = await analyzeFunnel(parted, registry, PLAN, funnel, { asOfMs: d.asOf, by: 'plan' });
        expect(merged).toEqual(inSql);
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('a breakdown by trait splits the table exactly: each group is the reference over its users, and the counts sum to the whole', async () => {
    await fc.assert(
      fc.asyncProperty(dataArb, funnelArb(['sequential', 'strict', 'any']), plantedArb, async (d, c, planted) => {
        const data = await load(withPlanted(d.events, c, planted), d.profiles);
        const funnel = checkFunnelDocument(funnelDoc(c), PLAN);
        const whole = await analyzeFunnel(store, registry, PLAN, funnel, { asOfMs: d.asOf });
        const split = await analyzeFunnel(store, registry, PLAN, funnel, { asOfMs: d.asOf, by: 'trait:plan' });
        expect(split.by).toBe('trait plan');
        const users = [...new Set(data.events.map((e) => e.userId))];
        const groupOf = (u: string) => {
          const v = data.profiles.get(u)?.plan;
          return v === undefined ? '(none)' : String(v);
        };
        const groups = new Set(users.map(groupOf));
        for (const g of groups) {
          const expected = referenceTable(data, c, d.asOf, new Set(users.filter((u) => groupOf(u) === g)));
          expect(tableOf(split, g)).toEqual(expected);
        }
        // Only groups with someone entering are listed, largest first.
        expect(split.groups.every((g) => g.steps[0]!.reached > 0)).toBe(true);
        const reached = split.groups.map((g) => g.steps[0]!.reached);
        expect(reached).toEqual([...reached].sort((a, b) => b - a));
        for (let i = 0; i < funnel.steps.length; i++) {
          expect(split.groups.reduce((s, g) => s + g.steps[i]!.reached, 0)).toBe(whole.groups[0]!.steps[i]!.reached);
        }
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('--segment and a breakdown by segment use membership as of the same instant', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(dataArb, funnelArb(['sequential', 'strict', 'any']), plantedArb, async (d, c, planted) => {
        const data = await load(withPlanted(d.events, c, planted), d.profiles);
        const key = `vip-${round++}`;
        const condition = { any: [{ trait: 'vip', eq: true }, { did: 'buy', within: '1d' }] };
        await registry.add([segmentDefinition(key, condition)]);
        const members = evaluateSegments([buildSegmentIR(validateSegment(segmentDefinition(key, condition), PLAN), PLAN, () => undefined)], data, d.asOf).get(key)!;
        const funnel = checkFunnelDocument(funnelDoc(c), PLAN);
        const within = await analyzeFunnel(store, registry, PLAN, funnel, { asOfMs: d.asOf, segment: key });
        expect(within.segment).toMatchObject({ key, size: members.size });
        expect(tableOf(within)).toEqual(referenceTable(data, c, d.asOf, members));
        const split = await analyzeFunnel(store, registry, PLAN, funnel, { asOfMs: d.asOf, by: `segment:${key}` });
        expect(tableOf(split, 'member')).toEqual(referenceTable(data, c, d.asOf, members));
        const others = new Set(data.events.map((e) => e.userId).filter((u) => !members.has(u)));
        expect(tableOf(split, 'non-member')).toEqual(referenceTable(data, c, d.asOf, others));
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });

  it('a saved drop-off segment has as many members as the table drops at its step (with and without --segment)', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(dataArb, funnelArb(['sequential']).filter((c) => c.stepIndexes.length >= 2), plantedArb, fc.nat(), fc.boolean(), async (d, c, planted, pick, restricted) => {
        await load(withPlanted(d.events, c, planted), d.profiles);
        const funnel = checkFunnelDocument(funnelDoc(c), PLAN);
        const step = 2 + (pick % (funnel.steps.length - 1));
        const restriction = restricted ? `buyers-${round}` : undefined;
        if (restriction !== undefined) await registry.add([segmentDefinition(restriction, { did: 'buy' })]);
        const result = await analyzeFunnel(store, registry, PLAN, funnel, { asOfMs: d.asOf, ...(restriction ? { segment: restriction } : {}) });
        const saved = await saveDropoffSegment(registry, funnel, { step, key: `dropped-${round++}`, asOfMs: d.asOf, ...(restriction ? { segment: restriction } : {}) });
        expect(saved.status).toBe('created');
        expect(saved.snapshot.size).toBe(result.groups[0]!.steps[step - 1]!.droppedOff);
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });
});

// ---- examples, definitions and errors ------------------------------------------------------

describe('funnel examples', () => {
  const H = MS.h;
  const T0 = BASE - 10 * MS.d;
  const ev = (user: string, event: string, at: number, props: Record<string, SpecValue> = {}): SpecEvent => ({ user_id: user, event, timestamp: iso(at), properties: props });

  it('follows each order on a worked example', async () => {
    // u1: signup, view (1h), view (3h), buy (5h).       sequential 3; strict: the first view
    //     follows signup directly, then another view, not buy, comes next: 2; any: 3.
    // u2: buy (0h), view (1h), signup (2h).               sequential: signup is never followed: 1;
    //     strict 1; any: all three within 2h of the buy: 3, times c = [2h, 2h, 2h] from the buy.
    // u3: signup (0h) and view (9d later): span 7d -> 1 in every order.
    await load(
      [
        ev('u1', 'signup', T0),
        ev('u1', 'view', T0 + H),
        ev('u1', 'view', T0 + 3 * H),
        ev('u1', 'buy', T0 + 5 * H),
        ev('u2', 'buy', T0),
        ev('u2', 'view', T0 + H),
        ev('u2', 'signup', T0 + 2 * H),
        ev('u3', 'signup', T0),
        ev('u3', 'view', T0 + 9 * MS.d),
      ],
      [],
    );
    const run = async (order: string) => {
      const f = funnelFromArguments({ steps: ['signup', 'view', 'buy'], span: '7d', order }, PLAN);
      return tableOf(await analyzeFunnel(store, registry, PLAN, f, { asOfMs: BASE }));
    };
    expect(await run('sequential')).toEqual([
      { reached: 3, quantiles: null },
      { reached: 1, quantiles: [H, H, H] },
      { reached: 1, quantiles: [4 * H, 4 * H, 4 * H] },
    ]);
    expect(await run('strict')).toEqual([
      { reached: 3, quantiles: null },
      { reached: 1, quantiles: [H, H, H] },
      { reached: 0, quantiles: null },
    ]);
    // Any order: u1's attempt starts at its signup (c = 0, 1h, 5h), u2's at its buy: signup at 2h,
    // view (1h) already done by then (c = 2h, 2h, 2h). Times from the previous step: [1h, 0] and [4h, 0].
    expect(await run('any')).toEqual([
      { reached: 3, quantiles: null },
      { reached: 2, quantiles: [0.25 * H, 0.5 * H, 0.75 * H] },
      { reached: 2, quantiles: [H, 2 * H, 3 * H] },
    ]);
  });

  it('reports conversion, drop-off and the step labels', async () => {
    await load([ev('u1', 'signup', T0), ev('u1', 'buy', T0 + H, { amount: 10 }), ev('u2', 'signup', T0), ev('u3', 'buy', T0, { amount: 1 })], []);
    const f = checkFunnelDocument({ funnel: ['signup', { event: 'buy', where: [{ property: 'amount', gte: 5 }] }], span: '1d', within: '30d' }, PLAN);
    const r = await analyzeFunnel(store, registry, PLAN, f, { asOfMs: BASE });
    expect(r).toMatchObject({ order: 'sequential', span: '1d', window: { within: '30d' }, by: null, segment: null });
    expect(r.steps.map((s) => s.label)).toEqual(['signup', 'buy where amount >= 5']);
    expect(r.groups).toEqual([
      {
        group: null,
        steps: [
          { step: 1, label: 'signup', reached: 2, conversionFromPrevious: null, conversionFromFirst: 1, droppedOff: null, timeFromPrevious: null },
          { step: 2, label: 'buy where amount >= 5', reached: 1, conversionFromPrevious: 0.5, conversionFromFirst: 0.5, droppedOff: 1, timeFromPrevious: { p25: H, median: H, p75: H } },
        ],
      },
    ]);
  });

  it('an empty funnel reports zeros rather than nothing', async () => {
    await load([], []);
    const f = funnelFromArguments({ steps: ['signup', 'buy'], span: '1d' }, PLAN);
    const r = await analyzeFunnel(store, registry, PLAN, f, { asOfMs: BASE });
    expect(r.groups).toHaveLength(1);
    expect(r.groups[0]!.steps.map((s) => [s.reached, s.conversionFromFirst, s.droppedOff, s.timeFromPrevious])).toEqual([
      [0, null, null, null],
      [0, null, 0, null],
    ]);
  });
});

describe('funnel definitions', () => {
  const errorOf = (fn: () => unknown): StrataError => {
    try {
      fn();
    } catch (e) {
      if (isStrataError(e)) return e;
      throw e;
    }
    throw new Error('expected an error');
  };

  it('checks a document with the language\'s funnel checker, every error at its path', () => {
    const e = errorOf(() =>
      checkFunnelDocument(
        { funnel: ['signup', { event: 'veiw' }, { event: 'buy', where: [{ property: 'amount', gte: 'x' }] }], span: '7x', within: '30d', order: 'sideways', reached: { eq: 1 } },
        PLAN,
        'f.yaml',
      ),
    );
    expect(e.code).toBe('INPUT_INVALID');
    expect(e.message).toBe('funnel definition f.yaml is invalid (5 errors)');
    const paths = e.details.map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['f.yaml reached', 'f.yaml order', 'f.yaml funnel[1].event', 'f.yaml funnel[2].where[0].gte', 'f.yaml span']));
    expect(e.details.find((d) => d.path === 'f.yaml funnel[1].event')!.message).toContain('did you mean "view"?');
    expect(e.details.find((d) => d.path === 'f.yaml reached')!.message).toContain('--save-dropoff');
  });

  it('rejects an anchored window, a second window, unknown keys and a missing funnel', () => {
    expect(errorOf(() => checkFunnelDocument({ funnel: ['signup'], span: '1d', after: { event: 'buy' }, within: '1d' }, PLAN)).details[0]).toMatchObject({ path: 'after' });
    expect(errorOf(() => checkFunnelDocument({ funnel: ['signup'], span: '1d', within: '1d', since: '2024-01-01' }, PLAN)).details[0]).toMatchObject({ path: 'since' });
    expect(errorOf(() => checkFunnelDocument({ steps: ['signup'], span: '1d' }, PLAN)).details.map((d) => d.path)).toEqual(['steps', 'funnel']);
    expect(errorOf(() => checkFunnelDocument({ funnel: ['signup'], spna: '1d' }, PLAN)).details.map((d) => [d.path, d.message.slice(0, 32)])).toEqual([
      ['spna', 'unknown key (did you mean span?)'],
      ['span', 'required: expected a positive du'],
    ]);
    expect(errorOf(() => checkFunnelDocument(['signup'], PLAN)).details[0]!.message).toMatch(/^expected a mapping/);
    expect(errorOf(() => checkFunnelDocument({ funnel: Array.from({ length: 101 }, () => 'view'), span: '1d' }, PLAN)).details[0]).toEqual({ path: 'funnel', message: 'expected at most 100 steps, got 101' });
  });

  it('names command-line arguments in errors', () => {
    expect(errorOf(() => funnelFromArguments({ steps: ['signup', 'veiw'], span: '1d' }, PLAN)).toLine()).toMatch(/^the funnel is invalid \(1 error\): STEP 2 \(veiw\): event "veiw" is not declared/);
    expect(errorOf(() => funnelFromArguments({ steps: ['signup'], span: '1x' }, PLAN)).details[0]!.path).toBe('--span');
    expect(errorOf(() => funnelFromArguments({ steps: ['signup'] }, PLAN)).message).toMatch(/^--span is required/);
    expect(errorOf(() => funnelFromArguments({ steps: ['signup'], span: '1d', within: '1d', since: '2024-01-01' }, PLAN)).message).toMatch(/^give one entry window/);
    expect(errorOf(() => funnelFromArguments({ steps: ['signup'], span: '1d', during: '2024-01-01' }, PLAN)).details[0]!.path).toBe('--during');
    expect(errorOf(() => funnelFromArguments({ steps: ['signup'], span: '1d', during: '2024-02-01,2024-01-01' }, PLAN)).details[0]!.path).toBe('--during');
  });

  it('saves drop-offs in sequential order only, at steps 2..n, as the funnel condition with reached = K - 1', () => {
    const strict = funnelFromArguments({ steps: ['signup', 'buy'], span: '1d', order: 'strict' }, PLAN);
    expect(errorOf(() => dropoffDefinition(strict, { step: 2, key: 'x' })).message).toBe('--save-dropoff: a funnel in strict order cannot be saved as a segment');
    const any = funnelFromArguments({ steps: ['signup', 'buy'], span: '1d', order: 'any' }, PLAN);
    expect(errorOf(() => dropoffDefinition(any, { step: 2, key: 'x' })).code).toBe('INPUT_INVALID');
    const f: FunnelDefinition = checkFunnelDocument({ funnel: ['signup', { event: 'buy', where: [{ property: 'amount', gte: 5 }] }, 'view'], span: '2d', during: ['2024-01-01', '2024-02-01'] }, PLAN);
    expect(errorOf(() => dropoffDefinition(f, { step: 1, key: 'x' })).message).toMatch(/expected a step from 2 to 3/);
    expect(errorOf(() => dropoffDefinition(f, { step: 4, key: 'x' })).message).toMatch(/expected a step from 2 to 3/);
    const def = dropoffDefinition(f, { step: 3, key: 'bought-no-view', segment: 'vips' });
    expect(def).toMatchObject({ key: 'bought-no-view', objective: 'conversion', name: 'Dropped at step 3 (view) of signup -> buy where amount >= 5 -> view' });
    expect(def.match).toEqual({
      all: [{ segment: 'vips' }, { funnel: ['signup', { event: 'buy', where: [{ property: 'amount', gte: 5 }] }, 'view'], span: '2d', reached: { eq: 2 }, during: ['2024-01-01', '2024-02-01'] }],
    });
    expect(def.rationale).toContain('among members of segment vips');
  });
});

describe('exact quantiles from frequency tables', () => {
  it('equal DuckDB quantile_cont (the oracle) on random multisets', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -1e12, max: 1e12 }), { minLength: 1, maxLength: 30 }), fc.array(fc.constantFrom(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1), { minLength: 1, maxLength: 4 }), async (values, fractions) => {
        const table = new Map<number, number>();
        for (const v of values) table.set(v, (table.get(v) ?? 0) + 1);
        const rows = await store.query(`SELECT quantile_cont(x, [${fractions.map((f) => `${f}::DOUBLE`).join(', ')}]) AS q FROM (SELECT unnest([${values.join(', ')}]::BIGINT[]) AS x)`);
        expect(quantilesOf(table, fractions)).toEqual((rows[0]!.q as number[]).map(Number));
      }),
      { numRuns: 100 },
    );
    expect(quantilesOf(new Map(), [0.5])).toBeNull();
  });
});
