import { describe, expect, it } from 'vitest';
import { StrataError } from '../../errors/errors.js';
import { parsePlan } from '../../schema/tracking-plan.js';
import type { Condition, EventCountNode } from '../ir/nodes.js';
import { buildSegmentIR, parseSegmentText, validateSegment, type SegmentDefinition } from './index.js';

const M = 60_000;
const H = 60 * M;
const D = 24 * H;
const W = 7 * D;

const plan = parsePlan({
  session_gap: '45m',
  events: {
    signup: {},
    onboarding_started: {},
    core_task_completed: {},
    purchase: { properties: { amount: 'number', currency: 'string', paid_at: 'timestamp', gift: 'boolean' } },
    page_view: { properties: { path: 'string' } },
  },
  traits: {
    plan: 'string',
    seats: 'number',
    trial: 'boolean',
    signed_up_at: 'timestamp',
    email: { type: 'string', pii: true },
  },
});

function definition(key: string, match: unknown): SegmentDefinition {
  return validateSegment({ key, name: key, objective: 'other', rationale: 'test', owner: 'growth', match }, plan);
}

function root(match: unknown, others: Record<string, unknown> = {}): Condition {
  const defs = new Map(Object.entries(others).map(([k, m]) => [k, definition(k, m)]));
  return buildSegmentIR(definition('subject', match), plan, (k) => defs.get(k)).root;
}

const n = (value: number) => ({ kind: 'number', value }) as const;
const s = (value: string) => ({ kind: 'string', value }) as const;
const atLeastOnce = { op: 'gte', value: n(1) } as const;
const all = { kind: 'all' } as const;
const anyEvent = { event: null, where: [] } as const;
const on = (event: string) => ({ event, where: [] });

describe('buildSegmentIR: every condition kind lowers to its IR node', () => {
  it('trait: each operator with a literal of the declared type', () => {
    expect(root({ trait: 'plan', eq: 'free' })).toEqual({ kind: 'trait', trait: 'plan', type: 'string', cmp: { op: 'eq', value: s('free') } });
    expect(root({ trait: 'plan', ne: 'pro' })).toEqual({ kind: 'trait', trait: 'plan', type: 'string', cmp: { op: 'ne', value: s('pro') } });
    expect(root({ trait: 'plan', in: ['free', 'team'] })).toEqual({
      kind: 'trait',
      trait: 'plan',
      type: 'string',
      cmp: { op: 'in', values: [s('free'), s('team')] },
    });
    expect(root({ trait: 'plan', notIn: ['free'] })).toEqual({ kind: 'trait', trait: 'plan', type: 'string', cmp: { op: 'notIn', values: [s('free')] } });
    expect(root({ trait: 'plan', contains: 'ea' })).toEqual({ kind: 'trait', trait: 'plan', type: 'string', cmp: { op: 'contains', value: s('ea') } });
    expect(root({ trait: 'plan', startsWith: 'te' })).toEqual({ kind: 'trait', trait: 'plan', type: 'string', cmp: { op: 'startsWith', value: s('te') } });
    expect(root({ trait: 'plan', gt: 'a' })).toEqual({ kind: 'trait', trait: 'plan', type: 'string', cmp: { op: 'gt', value: s('a') } });
    expect(root({ trait: 'plan', exists: false })).toEqual({ kind: 'trait', trait: 'plan', type: 'string', cmp: { op: 'exists', value: false } });
    expect(root({ trait: 'seats', between: [2, 10] })).toEqual({ kind: 'trait', trait: 'seats', type: 'number', cmp: { op: 'between', lo: n(2), hi: n(10) } });
    expect(root({ trait: 'seats', gte: 5 })).toEqual({ kind: 'trait', trait: 'seats', type: 'number', cmp: { op: 'gte', value: n(5) } });
    expect(root({ trait: 'seats', lt: -1.5 })).toEqual({ kind: 'trait', trait: 'seats', type: 'number', cmp: { op: 'lt', value: n(-1.5) } });
    expect(root({ trait: 'seats', lte: 0 })).toEqual({ kind: 'trait', trait: 'seats', type: 'number', cmp: { op: 'lte', value: n(0) } });
    expect(root({ trait: 'trial', eq: true })).toEqual({ kind: 'trait', trait: 'trial', type: 'boolean', cmp: { op: 'eq', value: { kind: 'boolean', value: true } } });
    // PII traits may be targeted; only sensitive ones may not.
    expect(root({ trait: 'email', startsWith: 'ops@' })).toEqual({
      kind: 'trait',
      trait: 'email',
      type: 'string',
      cmp: { op: 'startsWith', value: s('ops@') },
    });
  });

  it('trait: timestamps are absolute epoch ms (a date is 00:00 UTC) or offsets from asOf', () => {
    expect(root({ trait: 'signed_up_at', gte: '2024-05-01' })).toEqual({
      kind: 'trait',
      trait: 'signed_up_at',
      type: 'timestamp',
      cmp: { op: 'gte', value: { kind: 'timestamp', epochMs: Date.UTC(2024, 4, 1) } },
    });
    expect(root({ trait: 'signed_up_at', lt: '2024-05-01T12:30:00+02:00' })).toEqual({
      kind: 'trait',
      trait: 'signed_up_at',
      type: 'timestamp',
      cmp: { op: 'lt', value: { kind: 'timestamp', epochMs: Date.UTC(2024, 4, 1, 10, 30) } },
    });
    expect(root({ trait: 'signed_up_at', between: ['-30d', '+2h'] })).toEqual({
      kind: 'trait',
      trait: 'signed_up_at',
      type: 'timestamp',
      cmp: { op: 'between', lo: { kind: 'relativeTime', offsetMs: -30 * D }, hi: { kind: 'relativeTime', offsetMs: 2 * H } },
    });
  });

  it('did: count defaults to gte 1, "*" is any event, where predicates are typed', () => {
    expect(root({ did: 'signup' })).toEqual({ kind: 'eventCount', filter: on('signup'), window: all, cmp: atLeastOnce });
    expect(root({ did: '*', count: { lte: 2 }, within: '14d' })).toEqual({
      kind: 'eventCount',
      filter: anyEvent,
      window: { kind: 'relative', startMs: 14 * D, endMs: 0 },
      cmp: { op: 'lte', value: n(2) },
    });
    expect(
      root({
        did: 'purchase',
        where: [
          { property: 'amount', gt: 10 },
          { property: 'currency', in: ['EUR', 'USD'] },
          { property: 'gift', eq: false },
          { property: 'paid_at', lt: '-1d' },
        ],
        count: { between: [2, 5] },
      }),
    ).toEqual({
      kind: 'eventCount',
      filter: {
        event: 'purchase',
        where: [
          { property: 'amount', type: 'number', cmp: { op: 'gt', value: n(10) } },
          { property: 'currency', type: 'string', cmp: { op: 'in', values: [s('EUR'), s('USD')] } },
          { property: 'gift', type: 'boolean', cmp: { op: 'eq', value: { kind: 'boolean', value: false } } },
          { property: 'paid_at', type: 'timestamp', cmp: { op: 'lt', value: { kind: 'relativeTime', offsetMs: -D } } },
        ],
      },
      window: all,
      cmp: { op: 'between', lo: n(2), hi: n(5) },
    });
    // On "*", a property declared on some event is usable with its single type.
    expect(root({ did: '*', where: [{ property: 'path', startsWith: '/docs' }] })).toEqual({
      kind: 'eventCount',
      filter: { event: null, where: [{ property: 'path', type: 'string', cmp: { op: 'startsWith', value: s('/docs') } }] },
      window: all,
      cmp: atLeastOnce,
    });
  });

  it('windows: within, during, since, after an event, after a trait', () => {
    const windowOf = (extra: Record<string, unknown>) => (root({ did: 'signup', ...extra }) as EventCountNode).window;
    expect(windowOf({ within: '45m' })).toEqual({ kind: 'relative', startMs: 45 * M, endMs: 0 });
    expect(windowOf({ within: '2w' })).toEqual({ kind: 'relative', startMs: 2 * W, endMs: 0 });
    expect(windowOf({ during: ['2024-01-01', '2024-02-01T06:00:00Z'] })).toEqual({
      kind: 'absolute',
      fromMs: Date.UTC(2024, 0, 1),
      toMs: Date.UTC(2024, 1, 1, 6),
    });
    expect(windowOf({ since: '2024-03-10T00:00:00.250Z' })).toEqual({ kind: 'absolute', fromMs: Date.UTC(2024, 2, 10, 0, 0, 0, 250), toMs: null });
    expect(windowOf({ after: { event: 'purchase', where: [{ property: 'amount', gte: 100 }] }, within: '7d' })).toEqual({
      kind: 'anchored',
      anchor: {
        kind: 'event',
        filter: { event: 'purchase', where: [{ property: 'amount', type: 'number', cmp: { op: 'gte', value: n(100) } }] },
      },
      durationMs: 7 * D,
    });
    expect(windowOf({ after: { trait: 'signed_up_at' }, within: '12h' })).toEqual({
      kind: 'anchored',
      anchor: { kind: 'trait', trait: 'signed_up_at' },
      durationMs: 12 * H,
    });
  });

  it('aggregate: sum, avg, distinct compare numbers; min and max the property type', () => {
    expect(root({ aggregate: 'sum', of: 'amount', on: 'purchase', between: [10, 50], within: '30d' })).toEqual({
      kind: 'aggregate',
      fn: 'sum',
      property: 'amount',
      propertyType: 'number',
      filter: on('purchase'),
      window: { kind: 'relative', startMs: 30 * D, endMs: 0 },
      cmp: { op: 'between', lo: n(10), hi: n(50) },
    });
    expect(root({ aggregate: 'avg', of: 'amount', on: '*', gt: 9.5 })).toEqual({
      kind: 'aggregate',
      fn: 'avg',
      property: 'amount',
      propertyType: 'number',
      filter: anyEvent,
      window: all,
      cmp: { op: 'gt', value: n(9.5) },
    });
    expect(root({ aggregate: 'distinct', of: 'path', on: 'page_view', where: [{ property: 'path', ne: '/' }], gte: 3 })).toEqual({
      kind: 'aggregate',
      fn: 'distinct',
      property: 'path',
      propertyType: 'string',
      filter: { event: 'page_view', where: [{ property: 'path', type: 'string', cmp: { op: 'ne', value: s('/') } }] },
      window: all,
      cmp: { op: 'gte', value: n(3) },
    });
    expect(root({ aggregate: 'min', of: 'paid_at', on: 'purchase', lt: '2024-01-01' })).toEqual({
      kind: 'aggregate',
      fn: 'min',
      property: 'paid_at',
      propertyType: 'timestamp',
      filter: on('purchase'),
      window: all,
      cmp: { op: 'lt', value: { kind: 'timestamp', epochMs: Date.UTC(2024, 0, 1) } },
    });
    expect(root({ aggregate: 'max', of: 'amount', on: 'purchase', lte: 1000 })).toMatchObject({ fn: 'max', cmp: { op: 'lte', value: n(1000) } });
  });

  it('activeDays, lastSeen and firstSeen: on defaults to any event; durations are ms', () => {
    expect(root({ activeDays: { gte: 3 }, within: '7d' })).toEqual({
      kind: 'activeDays',
      filter: anyEvent,
      window: { kind: 'relative', startMs: 7 * D, endMs: 0 },
      cmp: { op: 'gte', value: n(3) },
    });
    expect(root({ activeDays: { eq: 0 }, on: 'page_view', where: [{ property: 'path', eq: '/app' }] })).toEqual({
      kind: 'activeDays',
      filter: { event: 'page_view', where: [{ property: 'path', type: 'string', cmp: { op: 'eq', value: s('/app') } }] },
      window: all,
      cmp: { op: 'eq', value: n(0) },
    });
    expect(root({ lastSeen: { gt: '14d' } })).toEqual({ kind: 'lastSeen', filter: anyEvent, window: all, cmp: { op: 'gt', value: { kind: 'duration', ms: 14 * D } } });
    expect(root({ firstSeen: { between: ['1d', '2w'] }, on: 'signup', since: '2024-01-01' })).toEqual({
      kind: 'firstSeen',
      filter: on('signup'),
      window: { kind: 'absolute', fromMs: Date.UTC(2024, 0, 1), toMs: null },
      cmp: { op: 'between', lo: { kind: 'duration', ms: D }, hi: { kind: 'duration', ms: 2 * W } },
    });
  });

  it('sequence: string and object steps, optional span (null when absent)', () => {
    expect(root({ sequence: ['onboarding_started', 'core_task_completed'], span: '7d' })).toEqual({
      kind: 'sequence',
      steps: [on('onboarding_started'), on('core_task_completed')],
      spanMs: 7 * D,
      window: all,
    });
    expect(root({ sequence: ['signup', { event: 'purchase', where: [{ property: 'amount', gte: 1 }] }, '*'], within: '30d' })).toEqual({
      kind: 'sequence',
      steps: [on('signup'), { event: 'purchase', where: [{ property: 'amount', type: 'number', cmp: { op: 'gte', value: n(1) } }] }, anyEvent],
      spanMs: null,
      window: { kind: 'relative', startMs: 30 * D, endMs: 0 },
    });
  });

  it('funnel: steps, span, reached', () => {
    expect(root({ funnel: ['signup', 'onboarding_started', 'core_task_completed'], span: '3d', reached: { eq: 2 }, during: ['2024-01-01', '2024-04-01'] })).toEqual({
      kind: 'funnel',
      steps: [on('signup'), on('onboarding_started'), on('core_task_completed')],
      spanMs: 3 * D,
      window: { kind: 'absolute', fromMs: Date.UTC(2024, 0, 1), toMs: Date.UTC(2024, 3, 1) },
      cmp: { op: 'eq', value: n(2) },
    });
  });

  it('stopped: none in [asOf-D1, asOf), some in [asOf-D1-D2, asOf-D1)', () => {
    expect(root({ stopped: 'page_view', recent: '14d', prior: '30d' })).toEqual({
      kind: 'and',
      children: [
        { kind: 'eventCount', filter: on('page_view'), window: { kind: 'relative', startMs: 14 * D, endMs: 0 }, cmp: { op: 'eq', value: n(0) } },
        { kind: 'eventCount', filter: on('page_view'), window: { kind: 'relative', startMs: 44 * D, endMs: 14 * D }, cmp: atLeastOnce },
      ],
    });
  });

  it('started: some in the recent window, none in the prior one, with where', () => {
    const filter = { event: 'purchase', where: [{ property: 'gift', eq: false }] };
    const lowered = { event: 'purchase', where: [{ property: 'gift', type: 'boolean', cmp: { op: 'eq', value: { kind: 'boolean', value: false } } }] };
    expect(root({ started: filter.event, where: filter.where, recent: '1w', prior: '12h' })).toEqual({
      kind: 'and',
      children: [
        { kind: 'eventCount', filter: lowered, window: { kind: 'relative', startMs: W, endMs: 0 }, cmp: atLeastOnce },
        { kind: 'eventCount', filter: lowered, window: { kind: 'relative', startMs: W + 12 * H, endMs: W }, cmp: { op: 'eq', value: n(0) } },
      ],
    });
  });

  it('regularly: times defaults to 1', () => {
    expect(root({ regularly: 'core_task_completed', every: '1w', periods: 4, atLeast: 3 })).toEqual({
      kind: 'regularly',
      filter: on('core_task_completed'),
      periodMs: W,
      periods: 4,
      atLeast: 3,
      times: 1,
    });
    expect(root({ regularly: 'page_view', every: '1d', periods: 7, atLeast: 7, times: 5, where: [{ property: 'path', eq: '/' }] })).toEqual({
      kind: 'regularly',
      filter: { event: 'page_view', where: [{ property: 'path', type: 'string', cmp: { op: 'eq', value: s('/') } }] },
      periodMs: D,
      periods: 7,
      atLeast: 7,
      times: 5,
    });
  });

  it("sessions and sessionDuration carry the plan's session gap", () => {
    expect(root({ sessions: { gte: 5 }, within: '30d' })).toEqual({
      kind: 'sessions',
      gapMs: 45 * M,
      window: { kind: 'relative', startMs: 30 * D, endMs: 0 },
      cmp: { op: 'gte', value: n(5) },
    });
    for (const stat of ['avg', 'max', 'total'] as const) {
      expect(root({ sessionDuration: { [stat]: { gte: '10m' } } })).toEqual({
        kind: 'sessionDuration',
        stat,
        gapMs: 45 * M,
        window: all,
        cmp: { op: 'gte', value: { kind: 'duration', ms: 10 * M } },
      });
    }
  });

  it('all, any and not nest', () => {
    expect(root({ all: [{ trait: 'trial', eq: true }, { any: [{ did: 'signup' }, { not: { trait: 'plan', eq: 'pro' } }] }] })).toEqual({
      kind: 'and',
      children: [
        { kind: 'trait', trait: 'trial', type: 'boolean', cmp: { op: 'eq', value: { kind: 'boolean', value: true } } },
        {
          kind: 'or',
          children: [
            { kind: 'eventCount', filter: on('signup'), window: all, cmp: atLeastOnce },
            { kind: 'not', child: { kind: 'trait', trait: 'plan', type: 'string', cmp: { op: 'eq', value: s('pro') } } },
          ],
        },
      ],
    });
  });

  it('the IR is deeply frozen and keeps the definition key', () => {
    const ir = buildSegmentIR(definition('frozen', { all: [{ did: 'purchase', where: [{ property: 'amount', in: [1, 2] }] }] }), plan, () => undefined);
    expect(ir.key).toBe('frozen');
    const walk = (v: unknown): number => {
      if (typeof v !== 'object' || v === null) return 0;
      expect(Object.isFrozen(v)).toBe(true);
      return 1 + Object.values(v).reduce((acc: number, c) => acc + walk(c), 0);
    };
    // ir, root, children, eventCount, filter, where, predicate, its cmp, values, two literals, window, cmp, its literal
    expect(walk(ir)).toBe(14);
  });

  it('YAML and JSON texts of one definition give the same IR', () => {
    const yamlText = [
      'key: engaged-buyers',
      'name: Engaged buyers',
      'objective: monetization',
      'rationale: Upsell candidates',
      'owner: growth',
      'match:',
      '  all:',
      '    - trait: plan',
      '      in: [free, team]',
      '    - aggregate: sum',
      '      of: amount',
      '      on: purchase',
      '      gte: 100',
      '      within: 30d',
    ].join('\n');
    const jsonText = JSON.stringify({
      key: 'engaged-buyers',
      name: 'Engaged buyers',
      objective: 'monetization',
      rationale: 'Upsell candidates',
      owner: 'growth',
      match: { all: [{ trait: 'plan', in: ['free', 'team'] }, { aggregate: 'sum', of: 'amount', on: 'purchase', gte: 100, within: '30d' }] },
    });
    const fromYaml = buildSegmentIR(validateSegment(parseSegmentText(yamlText, 'a.yaml'), plan), plan, () => undefined);
    const fromJson = buildSegmentIR(validateSegment(parseSegmentText(jsonText, 'a.json'), plan), plan, () => undefined);
    expect(fromJson).toEqual(fromYaml);
    expect(fromYaml.root).toEqual({
      kind: 'and',
      children: [
        { kind: 'trait', trait: 'plan', type: 'string', cmp: { op: 'in', values: [s('free'), s('team')] } },
        {
          kind: 'aggregate',
          fn: 'sum',
          property: 'amount',
          propertyType: 'number',
          filter: on('purchase'),
          window: { kind: 'relative', startMs: 30 * D, endMs: 0 },
          cmp: { op: 'gte', value: n(100) },
        },
      ],
    });
  });
});

describe('buildSegmentIR: segment references', () => {
  const buyers = { did: 'purchase', within: '30d' };
  const buyersIR = { kind: 'eventCount', filter: on('purchase'), window: { kind: 'relative', startMs: 30 * D, endMs: 0 }, cmp: atLeastOnce };

  it("inlines the referenced segment's root, recursively", () => {
    expect(root({ all: [{ segment: 'buyers' }, { not: { segment: 'pros' } }] }, { buyers, pros: { all: [{ trait: 'plan', eq: 'pro' }, { segment: 'buyers' }] } })).toEqual({
      kind: 'and',
      children: [
        buyersIR,
        { kind: 'not', child: { kind: 'and', children: [{ kind: 'trait', trait: 'plan', type: 'string', cmp: { op: 'eq', value: s('pro') } }, buyersIR] } },
      ],
    });
  });

  it('rejects a cycle with SEGMENT_CYCLE naming the chain and each reference', () => {
    const defs = new Map([
      ['a', definition('a', { any: [{ trait: 'trial', eq: true }, { segment: 'b' }] })],
      ['b', definition('b', { not: { segment: 'a' } })],
    ]);
    const error = catchError(() => buildSegmentIR(defs.get('a')!, plan, (k) => defs.get(k)));
    expect(error.code).toBe('SEGMENT_CYCLE');
    expect(error.message).toBe('segments reference each other in a cycle: a -> b -> a');
    expect(error.details).toEqual([
      { path: 'match.any[1].segment', message: 'segment "a" references "b"' },
      { path: 'match.not.segment', message: 'segment "b" references "a"' },
    ]);
  });

  it('rejects a segment that references itself', () => {
    const self = definition('self', { all: [{ did: 'signup' }, { segment: 'self' }] });
    const error = catchError(() => buildSegmentIR(self, plan, (k) => (k === 'self' ? self : undefined)));
    expect(error.code).toBe('SEGMENT_CYCLE');
    expect(error.message).toBe('segments reference each other in a cycle: self -> self');
    expect(error.details).toEqual([{ path: 'match.all[1].segment', message: 'segment "self" references "self"' }]);
  });

  it('names a cycle the root only leads into', () => {
    const defs = new Map([
      ['b', definition('b', { segment: 'c' })],
      ['c', definition('c', { segment: 'b' })],
    ]);
    const error = catchError(() => buildSegmentIR(definition('a', { segment: 'b' }), plan, (k) => defs.get(k)));
    expect(error.code).toBe('SEGMENT_CYCLE');
    expect(error.message).toBe('segments reference each other in a cycle: b -> c -> b (reached from segment "a")');
  });

  it('a diamond (two paths to one segment) is not a cycle', () => {
    expect(root({ any: [{ segment: 'left' }, { segment: 'right' }] }, { left: { segment: 'buyers' }, right: { not: { segment: 'buyers' } }, buyers })).toEqual({
      kind: 'or',
      children: [buyersIR, { kind: 'not', child: buyersIR }],
    });
  });

  it('rejects a missing reference with SEGMENT_NOT_FOUND naming the path', () => {
    const error = catchError(() => root({ all: [{ did: 'signup' }, { any: [{ segment: 'ghost' }] }] }));
    expect(error.code).toBe('SEGMENT_NOT_FOUND');
    expect(error.message).toBe('segment "ghost" does not exist (referenced by segment "subject" at match.all[1].any[0].segment)');
    expect(error.details).toEqual([{ path: 'match.all[1].any[0].segment', message: 'no segment with key "ghost"; referenced by segment "subject"' }]);
  });

  it('checks a referenced definition against the same plan', () => {
    const stale: SegmentDefinition = { key: 'stale', name: 'Stale', objective: 'other', rationale: 'r', owner: 'growth', match: { did: 'removed_event' } };
    const error = catchError(() => buildSegmentIR(definition('top', { segment: 'stale' }), plan, () => stale));
    expect(error.code).toBe('SEGMENT_INVALID');
    expect(error.message).toBe('segment "stale", referenced by segment "top" at match.segment, is invalid');
    expect(error.details).toEqual([
      {
        path: 'match.did',
        message:
          'in segment "stale": event "removed_event" is not declared in the tracking plan; declared events: "signup", "onboarding_started", "core_task_completed", "purchase", "page_view"',
      },
    ]);
  });
});

describe('hostile names and values pass through unchanged', () => {
  const event = `we"ird'; DROP TABLE events; --`;
  const property = 'p\\"q`[0]';
  const trait = 'ünïcødé 🚀';
  const hostilePlan = parsePlan({
    events: { [event]: { properties: { [property]: 'string' } } },
    traits: { [trait]: 'string', "o'brien": 'number' },
  });
  const values = ["it's", 'say "hi"', 'back\\slash', 'semi;colon -- comment', 'line\nbreak\r\nand\ttab', 'ünïcødé 🚀', "'); DELETE FROM profiles; --"];

  it('into the IR, byte for byte', () => {
    const def = validateSegment(
      {
        key: 'hostile',
        name: 'Hostile',
        objective: 'other',
        rationale: 'safety',
        owner: 'growth',
        match: {
          all: [
            { trait, in: values },
            { trait: "o'brien", gt: 1 },
            { did: event, where: [{ property, eq: values[4] }] },
            { sequence: [event, { event, where: [{ property, contains: values[6] }] }] },
          ],
        },
      },
      hostilePlan,
    );
    const ir = buildSegmentIR(def, hostilePlan, () => undefined);
    expect(ir.root).toEqual({
      kind: 'and',
      children: [
        { kind: 'trait', trait, type: 'string', cmp: { op: 'in', values: values.map(s) } },
        { kind: 'trait', trait: "o'brien", type: 'number', cmp: { op: 'gt', value: n(1) } },
        { kind: 'eventCount', filter: { event, where: [{ property, type: 'string', cmp: { op: 'eq', value: s('line\nbreak\r\nand\ttab') } }] }, window: all, cmp: atLeastOnce },
        {
          kind: 'sequence',
          steps: [
            { event, where: [] },
            { event, where: [{ property, type: 'string', cmp: { op: 'contains', value: s("'); DELETE FROM profiles; --") } }] },
          ],
          spanMs: null,
          window: all,
        },
      ],
    });
  });

  it('from YAML text with quotes and escapes', () => {
    const text = [
      'key: hostile-yaml',
      'name: "Hostile \\"yaml\\""',
      'objective: other',
      'rationale: safety',
      'owner: growth',
      'match:',
      `  did: 'we"ird''; DROP TABLE events; --'`,
      '  where:',
      `    - property: 'p\\"q\`[0]'`,
      '      eq: "line\\nbreak ünïcødé 🚀"',
    ].join('\n');
    const def = validateSegment(parseSegmentText(text, 'hostile.yaml'), hostilePlan);
    expect(def.name).toBe('Hostile "yaml"');
    expect(buildSegmentIR(def, hostilePlan, () => undefined).root).toEqual({
      kind: 'eventCount',
      filter: { event, where: [{ property, type: 'string', cmp: { op: 'eq', value: s('line\nbreak ünïcødé 🚀') } }] },
      window: all,
      cmp: atLeastOnce,
    });
  });

  it('names that are Object.prototype members are not mistaken for declared ones', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const error = catchError(() => validateSegment({ key: 'proto', name: 'p', objective: 'other', rationale: 'r', owner: 'growth', match: { all: [{ did: name }, { trait: name, eq: 'x' }] } }, hostilePlan));
      expect(error.details.map((d) => d.path)).toEqual(['match.all[0].did', 'match.all[1].trait']);
    }
  });
});

function catchError(fn: () => unknown): StrataError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StrataError) return e;
    throw e;
  }
  throw new Error('expected a StrataError, but nothing was thrown');
}
