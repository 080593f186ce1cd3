/**
 * The `lifecycle:` section of strata.yaml (src/analysis/lifecycle/lifecycle-config.ts) and
 * the language's side of it: the default model, overrides, order, fallback, every error
 * with the path of its setting; `{lifecycle: STAGE}` validation and lowering; `during`
 * with offsets before asOf. The expected models and messages are written out by hand from
 * the README's stage table.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lifecycleStageIRs, parseLifecycleSection, stageKeys, type LifecycleModel } from '../src/analysis/lifecycle/index.js';
import { loadConfig } from '../src/config/index.js';
import { isStrataError, type StrataError } from '../src/errors/errors.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { buildSegmentIR, validateSegment } from '../src/segments/language/index.js';
import { MS } from '../src/time/time.js';

const plan = parsePlan({
  events: {
    signed_up: {},
    task_done: { properties: { kind: 'string', seconds: 'number' } },
    invite_sent: { properties: { method: 'string' } },
    page_viewed: { properties: { page: 'string' } },
  },
  traits: { plan: 'string', age_band: { type: 'string', sensitive: true } },
});

function parse(section: unknown): { model: LifecycleModel; errors: [string, string][] } {
  const errors: [string, string][] = [];
  const model = parseLifecycleSection(section, plan, (p, m) => errors.push([p, m]));
  return { model, errors };
}

function parsed(section: unknown): LifecycleModel {
  const { model, errors } = parse(section);
  expect(errors).toEqual([]);
  return model;
}

const envelope = { key: 'k', name: 'K', objective: 'retention', rationale: 'test', owner: 'growth' } as const;

function caught(fn: () => unknown): StrataError {
  try {
    fn();
  } catch (e) {
    if (isStrataError(e)) return e;
    throw e;
  }
  throw new Error('expected a StrataError');
}

describe('the default model', () => {
  it('without a section: activity stages only; activated and advocate wait for their settings', () => {
    const model = parsed(undefined);
    expect(stageKeys(model)).toEqual(['dormant', 'resurrected', 'at_risk', 'engaged', 'new', 'unactivated']);
    expect(model.unavailable).toEqual([
      { key: 'advocate', name: 'Advocate', setting: 'lifecycle.advocacy_event' },
      { key: 'activated', name: 'Activated', setting: 'lifecycle.core_action' },
    ]);
    const match = Object.fromEntries(model.stages.map((s) => [s.key, s.match]));
    expect(match).toEqual({
      dormant: { lastSeen: { gte: '30d' } },
      resurrected: { all: [{ started: '*', recent: '14d', prior: '30d' }, { firstSeen: { gte: '44d' } }] },
      // Engaged: 8 of 28 days; at risk: fewer than ceil(8 x 0.5) = 4 days now.
      at_risk: { all: [{ activeDays: { gte: 8 }, during: ['-56d', '-28d'] }, { activeDays: { lt: 4 }, within: '28d' }] },
      engaged: { activeDays: { gte: 8 }, within: '28d' },
      new: { firstSeen: { lt: '7d' } },
    });
  });

  it('core_action and advocacy_event add activated and advocate in the default order', () => {
    const model = parsed({ core_action: 'task_done', advocacy_event: { event: 'invite_sent', where: [{ property: 'method', eq: 'email' }] } });
    expect(stageKeys(model)).toEqual(['dormant', 'resurrected', 'at_risk', 'advocate', 'engaged', 'activated', 'new', 'unactivated']);
    expect(model.unavailable).toEqual([]);
    expect(model.stages.find((s) => s.key === 'activated')!.match).toEqual({ did: 'task_done' });
    expect(model.stages.find((s) => s.key === 'advocate')!.match).toEqual({ did: 'invite_sent', where: [{ property: 'method', eq: 'email' }] });
  });

  it('parameters shape the conditions: activity, periods, the drop, the gap', () => {
    const model = parsed({
      activity: 'page_viewed',
      new_within: '3d',
      engaged: { active_days: 5, of: '2w' },
      at_risk_drop: 0.7,
      dormant_after: '21d',
      resurrected_within: '7d',
    });
    const match = Object.fromEntries(model.stages.map((s) => [s.key, s.match]));
    // ceil(5 x 0.3) = 2 (1.5 rounded up); 2w = 14d, so the prior period is [-28d, -14d).
    expect(match.at_risk).toEqual({
      all: [
        { activeDays: { gte: 5 }, on: 'page_viewed', during: ['-28d', '-14d'] },
        { activeDays: { lt: 2 }, on: 'page_viewed', within: '2w' },
      ],
    });
    expect(match.resurrected).toEqual({ all: [{ started: 'page_viewed', recent: '7d', prior: '21d' }, { firstSeen: { gte: '28d' }, on: 'page_viewed' }] });
    expect(match.new).toEqual({ firstSeen: { lt: '3d' }, on: 'page_viewed' });
    expect(match.dormant).toEqual({ lastSeen: { gte: '21d' }, on: 'page_viewed' });
  });

  it('the at-risk threshold is ceil(N x (1 - drop)) without floating-point surprises', () => {
    // 10 x (1 - 0.7) is 3.0000000000000004 in floating point; the threshold is 3.
    const model = parsed({ engaged: { active_days: 10, of: '28d' }, at_risk_drop: 0.7 });
    expect(model.stages.find((s) => s.key === 'at_risk')!.match).toMatchObject({ all: [{}, { activeDays: { lt: 3 } }] });
  });
});

describe('overrides, added stages, order and fallback', () => {
  it('overrides a default stage, adds one, removes one, and orders them', () => {
    const model = parsed({
      core_action: 'task_done',
      stages: {
        engaged: { match: { activeDays: { gte: 12 }, within: '28d' } },
        power: { name: 'Power users', description: 'Twenty tasks a month.', match: { did: 'task_done', count: { gte: 20 }, within: '30d' } },
        new: false,
      },
      order: ['dormant', 'power', 'resurrected', 'at_risk', 'engaged', 'activated'],
      fallback: { key: 'visitor', name: 'Visitors', description: 'Everyone else.' },
    });
    expect(stageKeys(model)).toEqual(['dormant', 'power', 'resurrected', 'at_risk', 'engaged', 'activated', 'visitor']);
    expect(model.stages.map((s) => s.origin)).toEqual(['default', 'added', 'default', 'default', 'overridden', 'default']);
    expect(model.stages[4]!.name).toBe('Engaged');
    expect(model.fallback).toEqual({ key: 'visitor', name: 'Visitors', description: 'Everyone else.' });
  });

  it('without order, added stages follow the default ones in the order written', () => {
    const model = parsed({ stages: { b: { name: 'B', match: { did: 'signed_up' } }, a: { name: 'A', match: { trait: 'plan', eq: 'pro' } } } });
    expect(stageKeys(model)).toEqual(['dormant', 'resurrected', 'at_risk', 'engaged', 'new', 'b', 'a', 'unactivated']);
  });

  it('a match for a stage whose setting is missing makes it available', () => {
    const model = parsed({ stages: { activated: { match: { did: 'task_done', count: { gte: 3 } } } } });
    expect(stageKeys(model)).toContain('activated');
    expect(model.unavailable.map((u) => u.key)).toEqual(['advocate']);
  });
});

describe('errors name the strata.yaml setting', () => {
  const cases: [string, unknown, [string, string][]][] = [
    ['a section that is not a mapping', 'yes', [['lifecycle', 'expected a mapping of lifecycle settings (core_action, advocacy_event, engaged, stages, order, ...)']]],
    [
      'an unknown key, with a suggestion',
      { core_actoin: 'task_done' },
      [['lifecycle.core_actoin', 'unknown key (did you mean core_action?); expected one of activity, core_action, advocacy_event, new_within, engaged, at_risk_drop, dormant_after, resurrected_within, fallback, stages, order']],
    ],
    ['an undeclared core action', { core_action: 'task_dne' }, [['lifecycle.core_action', 'event "task_dne" is not declared in the tracking plan (did you mean "task_done"?)']]],
    ['"*" as the core action', { core_action: '*' }, [['lifecycle.core_action', 'expected one declared event, not "*"']]],
    [
      'a bad where on the advocacy event',
      { advocacy_event: { event: 'invite_sent', where: [{ property: 'channel', eq: 'x' }] } },
      [['lifecycle.advocacy_event.where[0].property', 'property "channel" is not declared on event "invite_sent"; declared properties: "method"']],
    ],
    [
      'a where literal of the wrong type',
      { core_action: { event: 'task_done', where: [{ property: 'seconds', gt: 'long' }] } },
      [['lifecycle.core_action.where[0].gt', 'expected a number (property "seconds" is declared number), got "long"']],
    ],
    ['an event object without event', { core_action: { where: [] } }, [['lifecycle.core_action.event', 'expected an event name declared in the tracking plan or {event: E, where: [{property: P, <op>: V}...]}, got nothing']]],
    ['a bad duration', { dormant_after: '30 days' }, [['lifecycle.dormant_after', 'expected a positive duration: a whole number and a unit m, h, d or w (30d, 2w), got "30 days"']]],
    ['a zero duration', { new_within: '0d' }, [['lifecycle.new_within', 'expected a positive duration: a whole number and a unit m, h, d or w (30d, 2w), got "0d"']]],
    ['a drop of 1', { at_risk_drop: 1 }, [['lifecycle.at_risk_drop', 'expected a fraction between 0 and 1 (0.5: active on less than half the engaged days), got 1']]],
    ['more active days than the period has', { engaged: { active_days: 15, of: '2w' } }, [['lifecycle.engaged.active_days', 'expected a whole number of days from 1 to 14 (the days in 2w), got 15']]],
    ['the default active days in a short period', { engaged: { of: '1w' } }, [['lifecycle.engaged.active_days', 'the default 8 active days do not fit in 1w; set active_days to at most 7']]],
    [
      'a stage condition that does not fit the plan',
      { stages: { engaged: { match: { activeDays: { gte: 'ten' }, within: '28d' } } } },
      [['lifecycle.stages.engaged.match.activeDays.gte', 'expected a non-negative number (the number of active days), got "ten"']],
    ],
    [
      'an unknown operator in a stage condition',
      { stages: { engaged: { match: { activeDays: { atLeast: 10 }, within: '28d' } } } },
      [
        ['lifecycle.stages.engaged.match.activeDays.atLeast', 'unknown key; expected one of eq, ne, in, notIn, gt, gte, lt, lte, between, contains, startsWith, exists'],
        ['lifecycle.stages.engaged.match.activeDays', 'expected one operator: eq, ne, in, notIn, gt, gte, lt, lte, between'],
      ],
    ],
    [
      'a segment reference in a stage',
      { stages: { vip: { name: 'VIP', match: { segment: 'big-spenders' } } } },
      [['lifecycle.stages.vip.match.segment', 'a lifecycle stage is defined from events and traits only; it cannot refer to a segment']],
    ],
    [
      'a lifecycle condition in a stage',
      { stages: { vip: { name: 'VIP', match: { all: [{ lifecycle: 'engaged' }, { trait: 'plan', eq: 'pro' }] } } } },
      [['lifecycle.stages.vip.match.all[0].lifecycle', 'a lifecycle stage is defined from events and traits only; it cannot refer to another stage (order sets the priority)']],
    ],
    [
      'a sensitive trait in a stage',
      { stages: { vip: { name: 'VIP', match: { trait: 'age_band', eq: '18-24' } } } },
      [['lifecycle.stages.vip.match.trait', 'trait "age_band" is sensitive: sensitive traits may be used for audits only, never for targeting']],
    ],
    ['a new stage without match', { stages: { vip: { name: 'VIP' } } }, [['lifecycle.stages.vip', 'a new stage needs match (its condition in the segment language); the default stages are dormant, resurrected, at_risk, advocate, engaged, activated, new']]],
    ['a bad stage key', { stages: { 'Power-Users': { name: 'P', match: { did: 'task_done' } } } }, [['lifecycle.stages.Power-Users', 'a stage key is a lowercase letter then lowercase letters, digits or _ (at most 63), got "Power-Users"']]],
    ['removing a stage that is not a default one', { stages: { vip: false } }, [['lifecycle.stages.vip', 'only a default stage (dormant, resurrected, at_risk, advocate, engaged, activated, new) can be removed with false']]],
    [
      'an order naming a stage whose setting is missing',
      { order: ['dormant', 'resurrected', 'at_risk', 'engaged', 'activated', 'new'] },
      [['lifecycle.order[4]', 'stage "activated" (Activated) needs lifecycle.core_action; set it, or give stages.activated.match']],
    ],
    [
      'an order with an unknown, a twice-listed and a missing stage',
      { order: ['dormant', 'dormant', 'resurected', 'at_risk', 'engaged'] },
      [
        ['lifecycle.order[1]', 'stage "dormant" is listed twice'],
        ['lifecycle.order[2]', 'unknown stage "resurected" (did you mean "resurrected"?); the stages are dormant, resurrected, at_risk, engaged, new'],
        ['lifecycle.order', 'order must list every stage; missing resurrected, new (remove a default stage with stages: {KEY: false})'],
      ],
    ],
    [
      'the fallback in the order',
      { order: ['dormant', 'resurrected', 'at_risk', 'engaged', 'new', 'unactivated'] },
      [['lifecycle.order[5]', '"unactivated" is the fallback stage, always last; leave it out of order']],
    ],
    ['a fallback with the key of a stage', { fallback: 'engaged' }, [['lifecycle.fallback', 'the fallback stage "engaged" has the key of a stage; choose another key']]],
    [
      'every stage removed',
      { stages: { dormant: false, resurrected: false, at_risk: false, engaged: false, new: false } },
      [['lifecycle', 'the model has no stages left; keep at least one stage']],
    ],
  ];
  for (const [name, section, expected] of cases) {
    it(name, () => {
      expect(parse(section).errors).toEqual(expected);
    });
  }

  it('strata.yaml errors point at the line of the setting', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'strata-lifecycle-config-'));
    try {
      await writeFile(
        path.join(dir, 'strata.yaml'),
        [
          'plan:',
          '  events:',
          '    task_done: {}',
          'lifecycle:',
          '  core_action: task_done',
          '  stages:',
          '    engaged:',
          '      match:',
          '        activeDays: {gte: -1}',
          '        within: 28d',
          '',
        ].join('\n'),
      );
      const e = (await loadConfig({ cwd: dir }).catch((x: unknown) => x)) as StrataError;
      expect(e.code).toBe('CONFIG_INVALID');
      expect(e.details).toEqual([
        { path: 'strata.yaml:9 lifecycle.stages.engaged.match.activeDays.gte', message: 'expected a non-negative number (the number of active days), got -1' },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('{lifecycle: STAGE} in segments', () => {
  const model = parsed({ core_action: 'task_done', stages: { pro: { name: 'Pro', match: { trait: 'plan', eq: 'pro' } } } });

  it('is lowered to the stage and none of the stages ahead of it', () => {
    const ir = buildSegmentIR(validateSegment({ ...envelope, match: { lifecycle: 'engaged' } }, plan, { lifecycle: model }), plan, () => undefined, { lifecycle: model });
    // engaged follows dormant, resurrected, at_risk (advocate is not configured).
    expect(ir.root.kind).toBe('and');
    const [own, excluded] = (ir.root as { children: readonly unknown[] }).children as [{ kind: string }, { kind: string; child: { kind: string; children: unknown[] } }];
    expect(own).toEqual({
      kind: 'activeDays',
      filter: { event: null, where: [] },
      window: { kind: 'relative', startMs: 28 * MS.d, endMs: 0 },
      cmp: { op: 'gte', value: { kind: 'number', value: 8 } },
    });
    expect(excluded.kind).toBe('not');
    expect(excluded.child.kind).toBe('or');
    expect(excluded.child.children).toHaveLength(3);
  });

  it('the first stage is its own condition; the fallback is none of the stages', () => {
    const first = buildSegmentIR(validateSegment({ ...envelope, match: { lifecycle: 'dormant' } }, plan, { lifecycle: model }), plan, () => undefined, { lifecycle: model });
    expect(first.root).toEqual({
      kind: 'lastSeen',
      filter: { event: null, where: [] },
      window: { kind: 'all' },
      cmp: { op: 'gte', value: { kind: 'duration', ms: 30 * MS.d } },
    });
    const irs = lifecycleStageIRs(model, plan);
    expect(irs.map((s) => s.key)).toEqual(['dormant', 'resurrected', 'at_risk', 'engaged', 'activated', 'new', 'pro', 'unactivated']);
    const fallback = irs.at(-1)!.ir.root as { kind: string; child: { kind: string; children: unknown[] } };
    expect(fallback.kind).toBe('not');
    expect(fallback.child.children).toHaveLength(7);
  });

  it('a configured stage is known only with the model it is configured in', () => {
    expect(validateSegment({ ...envelope, match: { lifecycle: 'pro' } }, plan, { lifecycle: model }).key).toBe('k');
    const e = caught(() => validateSegment({ ...envelope, match: { lifecycle: 'pro' } }, plan));
    expect(e.details).toEqual([
      { path: 'match.lifecycle', message: `unknown lifecycle stage "pro"; the model's stages are dormant, resurrected, at_risk, engaged, new, unactivated` },
    ]);
  });

  it('a stage left out names the setting to add', () => {
    const e = caught(() => validateSegment({ ...envelope, match: { not: { lifecycle: 'advocate' } } }, plan, { lifecycle: model }));
    expect(e.details).toEqual([
      { path: 'match.not.lifecycle', message: 'lifecycle stage "advocate" (Advocate) is not in the model: set lifecycle.advocacy_event in strata.yaml to use it' },
    ]);
  });

  it('a model that does not fit the plan is reported where the stage is used', () => {
    const other = parsePlan({ events: { signed_up: {} }, traits: {} });
    const e = caught(() => validateSegment({ ...envelope, match: { lifecycle: 'activated' } }, other, { lifecycle: model }));
    expect(e.details).toEqual([
      {
        path: 'match.lifecycle',
        message: 'lifecycle stage "activated" does not fit the tracking plan: lifecycle.stages.activated.match.did: event "task_done" is not declared in the tracking plan; declared events: "signed_up"',
      },
    ]);
  });
});

describe('during with offsets before asOf', () => {
  it('is a relative window [asOf - FROM, asOf - TO)', () => {
    const ir = buildSegmentIR(validateSegment({ ...envelope, match: { did: 'task_done', during: ['-56d', '-4w'] } }, plan), plan, () => undefined);
    expect(ir.root).toMatchObject({ kind: 'eventCount', window: { kind: 'relative', startMs: 56 * MS.d, endMs: 28 * MS.d } });
    const toAsOf = buildSegmentIR(validateSegment({ ...envelope, match: { activeDays: { gte: 1 }, during: ['-7d', '-0d'] } }, plan), plan, () => undefined);
    expect(toAsOf.root).toMatchObject({ window: { kind: 'relative', startMs: 7 * MS.d, endMs: 0 } });
    expect(Object.is((toAsOf.root as { window: { endMs: number } }).window.endMs, 0)).toBe(true);
  });
});
