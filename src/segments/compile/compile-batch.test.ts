/**
 * A batch shares work and changes no answer: on generated data, every segment's column
 * in the batch holds exactly the members its own member query returns (whose semantics
 * compile-engines.test.ts checks by hand), with and without CTEs, and on ClickHouse (single
 * node and cluster) the same members as on DuckDB; and equal measures are computed once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlan } from '../../schema/tracking-plan.js';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.js';
import type { Condition, SegmentIR } from '../ir/nodes.js';
import type { SqlDialect } from './dialect.js';
import { compileSegmentBatch, compileSegmentMembers, duckdbDialect, explainSegmentBatch } from './index.js';
import {
  DAY,
  MINUTE,
  afterEvent,
  afterTrait,
  all,
  and,
  cmp,
  did,
  dur,
  during,
  gte,
  not,
  num,
  on,
  or,
  prop,
  rel,
  segment,
  str,
  trait,
  within,
} from './test-support/ir-builders.js';
import { batchMembers, openSeededStore, userIds, type SeedData, type SeedEvent, type SeedValue } from './test-support/seed-store.js';
import type { LocalClickHouse } from '../../../test/support/clickhouse-server.js';
import { seedDataset } from '../../../test/support/load-duckdb.js';
import { SegmentEngine, engineAvailable, startServerFor } from '../../../test/support/segment-engines.js';

const T = Date.UTC(2024, 0, 31);
const plan = parsePlan({
  events: { open: {}, view: { properties: { page: 'string' } }, buy: { properties: { amount: 'number' } }, signup: {} },
  traits: { plan: 'string', signed_up_at: 'timestamp' },
});

/** A small deterministic generator (a 32-bit LCG, Numerical Recipes constants): the data only has to be varied, not random. */
function generate(users: number, seed: number): SeedData {
  let x = seed >>> 0;
  const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const pick = <V>(xs: readonly V[]): V => xs[Math.floor(next() * xs.length)]!;
  const events: SeedEvent[] = [];
  const profiles: Record<string, Record<string, string | number | null>> = {};
  for (let u = 0; u < users; u++) {
    const user = `u${u}`;
    if (next() < 0.7) profiles[user] = { plan: next() < 0.2 ? null : pick(['free', 'pro', 'team']), signed_up_at: next() < 0.5 ? T - Math.floor(next() * 20) * DAY : null };
    const n = Math.floor(next() * 25);
    // Times on a 10-minute grid over 20 days give ties, exact window starts and exact session gaps.
    for (let i = 0; i < n; i++) {
      const event = pick(['open', 'open', 'view', 'buy', 'signup']);
      const at = T - Math.floor(next() * 20 * 24 * 6) * 10 * MINUTE;
      const props: Record<string, SeedValue> = event === 'view' ? { page: pick(['home', 'cart', 'pricing']) } : event === 'buy' ? { amount: next() < 0.2 ? null : Math.floor(next() * 100) } : {};
      events.push({ user, event, at, props });
    }
    if (next() < 0.1) events.push({ user, event: 'open', at: T });
  }
  return { events, profiles };
}

const conditions: Record<string, Condition> = {
  pro: trait('plan', 'string', cmp('eq', str('pro'))),
  'not-pro': not(trait('plan', 'string', cmp('eq', str('pro')))),
  'recent-signup': trait('signed_up_at', 'timestamp', cmp('gte', rel(-7 * DAY))),
  active: did(on(null), within(7 * DAY), gte(3)),
  'active-again': did(on(null), during(T - 7 * DAY, null), gte(3)),
  'never-bought': did(on('buy'), all, cmp('eq', num(0))),
  'big-spender': { kind: 'aggregate', fn: 'sum', property: 'amount', propertyType: 'number', filter: on('buy'), window: within(14 * DAY), cmp: gte(150) },
  'avg-basket': { kind: 'aggregate', fn: 'avg', property: 'amount', propertyType: 'number', filter: on('buy'), window: all, cmp: cmp('lt', num(40)) },
  'page-depth': { kind: 'aggregate', fn: 'distinct', property: 'page', propertyType: 'string', filter: on('view'), window: all, cmp: gte(2) },
  'active-days': { kind: 'activeDays', filter: on(null), window: within(14 * DAY), cmp: gte(4) },
  dormant: { kind: 'lastSeen', filter: on(null), window: all, cmp: cmp('gt', dur(5 * DAY)) },
  veteran: { kind: 'firstSeen', filter: on(null), window: all, cmp: cmp('gte', dur(15 * DAY)) },
  'bought-after-signup': did(on('buy'), afterEvent(on('signup'), 3 * DAY)),
  'nothing-after-signup': did(on(null), afterEvent(on('signup'), DAY), cmp('eq', num(1))),
  'opened-after-trait': did(on('open'), afterTrait('signed_up_at', 5 * DAY), gte(2)),
  'cart-to-buy': { kind: 'sequence', steps: [on('view', prop('page', 'string', cmp('eq', str('cart')))), on('buy')], spanMs: 2 * DAY, window: within(14 * DAY) },
  'view-buy-open': { kind: 'sequence', steps: [on('view'), on('buy'), on('open')], spanMs: 5 * DAY, window: all },
  'funnel-drop': { kind: 'funnel', steps: [on('signup'), on('view'), on('buy')], spanMs: 7 * DAY, window: all, cmp: cmp('eq', num(2)) },
  'funnel-anchored': { kind: 'funnel', steps: [on('view'), on('buy')], spanMs: DAY, window: afterEvent(on('signup'), 7 * DAY), cmp: gte(1) },
  regular: { kind: 'regularly', filter: on('open'), periodMs: 7 * DAY, periods: 3, atLeast: 2, times: 1 },
  'regular-twice': { kind: 'regularly', filter: on('open'), periodMs: 2 * DAY, periods: 5, atLeast: 2, times: 2 },
  sessions: { kind: 'sessions', gapMs: 30 * MINUTE, window: within(10 * DAY), cmp: gte(3) },
  'long-sessions': { kind: 'sessionDuration', stat: 'max', gapMs: 30 * MINUTE, window: all, cmp: cmp('gte', dur(10 * MINUTE)) },
  'short-sessions': { kind: 'sessionDuration', stat: 'avg', gapMs: 30 * MINUTE, window: afterTrait('signed_up_at', 10 * DAY), cmp: cmp('lt', dur(20 * MINUTE)) },
  'at-risk': and(did(on(null), { kind: 'relative', startMs: 14 * DAY, endMs: 7 * DAY }, gte(1)), did(on(null), within(7 * DAY), cmp('eq', num(0)))),
  mixed: or(and(trait('plan', 'string', cmp('eq', str('free'))), not(did(on('buy')))), { kind: 'activeDays', filter: on('view'), window: all, cmp: gte(3) }),
};
const segments: SegmentIR[] = Object.entries(conditions).map(([key, c]) => segment(key, c));

const noCtes: SqlDialect = { ...duckdbDialect, name: 'duckdb-without-ctes', capabilities: { ...duckdbDialect.capabilities, commonTableExpressions: false } };

describe('a batch of segments', () => {
  let store: DuckDbStore;
  const singles = new Map<string, string[]>();

  beforeAll(async () => {
    store = await openSeededStore(plan, generate(120, 7));
    for (const s of segments) singles.set(s.key, await userIds(store, compileSegmentMembers(s, { dialect: duckdbDialect, asOfMs: T })));
  });
  afterAll(async () => {
    await store.close();
  });

  it('has varied members: no segment is empty or everyone, so agreement below means something', async () => {
    const population = (await store.query(`SELECT count(*) AS n FROM users WHERE has_profile OR first_event_at < make_timestamp(${T}000::BIGINT)`))[0]!.n;
    for (const [key, members] of singles) {
      expect(members.length, key).toBeGreaterThan(0);
      expect(BigInt(members.length), key).toBeLessThan(population as bigint);
    }
  });

  it('returns the members of each single compile', async () => {
    const batch = compileSegmentBatch(segments, { dialect: duckdbDialect, asOfMs: T });
    const got = await batchMembers(store, batch.sql, batch.columns);
    for (const s of segments) expect(got.get(s.key), s.key).toEqual(singles.get(s.key));
  });

  it('returns the same members with every relation inlined (a dialect without CTEs)', async () => {
    const batch = compileSegmentBatch(segments, { dialect: noCtes, asOfMs: T });
    expect(batch.sql).not.toMatch(/^WITH/);
    const got = await batchMembers(store, batch.sql, batch.columns);
    for (const s of segments) {
      expect(got.get(s.key), s.key).toEqual(singles.get(s.key));
      expect(await userIds(store, compileSegmentMembers(s, { dialect: noCtes, asOfMs: T })), s.key).toEqual(singles.get(s.key));
    }
  });

  it('reads the events once for all plain-window event measures, and once more for the distinct counts', () => {
    const plain = segments.filter((s) => ['active', 'never-bought', 'big-spender', 'avg-basket', 'dormant', 'veteran', 'at-risk'].includes(s.key));
    expect(compileSegmentBatch(plain, { dialect: duckdbDialect, asOfMs: T }).sql.match(/FROM events e/g)).toHaveLength(1);
    const withDistinct = segments.filter((s) => ['active', 'never-bought', 'big-spender', 'avg-basket', 'page-depth', 'active-days', 'dormant', 'veteran', 'at-risk'].includes(s.key));
    const { sql } = compileSegmentBatch(withDistinct, { dialect: duckdbDialect, asOfMs: T });
    expect(sql.match(/FROM events e/g)).toHaveLength(2);
    expect(sql).toContain('FULL JOIN ev_1 USING (user_id)');
  });
});

/** The same generated data on ClickHouse: every segment, batched and alone, gives DuckDB's members. */
for (const kind of ['clickhouse', 'clickhouse-cluster'] as const) {
  describe.skipIf(!engineAvailable(kind))(`the batch on ${kind}`, () => {
    let server: LocalClickHouse | null = null;
    let engine: SegmentEngine;
    let duckdb: DuckDbStore;
    const data = generate(120, 7);

    beforeAll(async () => {
      server = await startServerFor(kind);
      engine = await SegmentEngine.open(kind, plan, server, 'strata_batch');
      await engine.load(plan, seedDataset(data));
      duckdb = await openSeededStore(plan, data);
    }, 60_000);
    afterAll(async () => {
      await engine?.close();
      await server?.stop();
      await duckdb?.close();
    });

    it('returns DuckDB members for every segment, in the batch and alone', async () => {
      const batch = await engine.batch(segments, T);
      for (const s of segments) {
        const expected = await userIds(duckdb, compileSegmentMembers(s, { dialect: duckdbDialect, asOfMs: T }));
        expect(batch.members.get(s.key), s.key).toEqual(expected);
        expect(await engine.members(s, T), s.key).toEqual(expected);
      }
    });
  });
}

describe('shared measures', () => {
  const options = { dialect: duckdbDialect, asOfMs: T };
  const measures = (segs: SegmentIR[], relation: string) => explainSegmentBatch(segs, options).relations.find((r) => r.name === relation)?.measures ?? [];

  it('computes two segments with the same condition as one measure', () => {
    const c = did(on('buy'), within(30 * DAY), gte(2));
    expect(measures([segment('a', c), segment('b', c)], 'ev')).toHaveLength(1);
  });

  it('recognises equal windows written differently (within 7d and since asOf - 7d)', () => {
    expect(measures([segment('a', conditions.active!), segment('b', conditions['active-again']!)], 'ev')).toHaveLength(1);
  });

  it('shares a count between comparisons and segments that differ only in the operator', () => {
    const segs = [segment('a', did(on('buy'), all, gte(1))), segment('b', did(on('buy'), all, cmp('eq', num(0)))), segment('c', not(did(on('buy'), all, cmp('lte', num(3)))))];
    expect(measures(segs, 'ev')).toHaveLength(1);
  });

  it('computes an anchor once for every window it starts, and reuses it as a first-seen time', () => {
    const segs = [
      segment('a', did(on('buy'), afterEvent(on('signup'), 3 * DAY))),
      segment('b', did(on('open'), afterEvent(on('signup'), 7 * DAY))),
      segment('c', { kind: 'firstSeen', filter: on('signup'), window: all, cmp: cmp('lt', dur(DAY)) }),
    ];
    const ev = explainSegmentBatch(segs, options).relations.find((r) => r.name === 'ev');
    expect(ev?.measures).toEqual([{ column: 'm0', expression: 'min(e.ts)' }]);
    expect(ev?.where).toContain(`e.event = 'signup'`);
    expect(measures(segs, 'eva')).toHaveLength(2);
  });

  it('shares sessions of one gap between sessions and durations', () => {
    const ex = explainSegmentBatch([segment('a', conditions.sessions!), segment('b', conditions['long-sessions']!)], options);
    expect(ex.sql.match(/lag\(t\)/g)).toHaveLength(1);
    expect(ex.relations.find((r) => r.name === 'sm0')?.measures).toHaveLength(2);
  });

  it('shares the steps of a sequence with a longer one that starts the same way', () => {
    const a = segment('a', { kind: 'sequence', steps: [on('view'), on('buy')], spanMs: DAY, window: all });
    const b = segment('b', { kind: 'sequence', steps: [on('view'), on('buy'), on('open')], spanMs: DAY, window: all });
    const c = segment('c', { kind: 'funnel', steps: [on('view'), on('buy'), on('open')], spanMs: DAY, window: all, cmp: cmp('eq', num(2)) });
    const { sql } = compileSegmentBatch([a, b, c], options);
    // One join per step after the first, however many chains use it.
    expect(sql.match(/ASOF JOIN/g)).toHaveLength(2);
    // A sequence needs the starts that complete it; a funnel the furthest step of every start.
    expect(explainSegmentBatch([a, b, c], options).relations.map((r) => r.name)).toEqual(['sqd1', 'sqd2', 'sqm']);
  });

  it('keeps chains apart where their spans differ, since the span cuts which starts go on', () => {
    const a = segment('a', { kind: 'sequence', steps: [on('view'), on('buy')], spanMs: DAY, window: all });
    const b = segment('b', { kind: 'sequence', steps: [on('view'), on('buy')], spanMs: 2 * DAY, window: all });
    const { sql } = compileSegmentBatch([a, b], options);
    expect(sql.match(/ASOF JOIN/g)).toHaveLength(2);
    // The first step and the rows of the second are still read once.
    expect(sql.match(/ AS s, /g)).toHaveLength(1);
    expect(sql.match(/^sqr\d+ AS \(/gm)).toHaveLength(1);
  });
});
