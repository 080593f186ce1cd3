/**
 * The lowering of `{lifecycle: STAGE}` on random data and random models (fast-check),
 * evaluated by the in-memory evaluator:
 * - the exclusive stages partition the population: every user is in exactly one;
 * - a user's stage is the first stage in priority order whose own condition holds, else
 *   the fallback (the stages' own conditions evaluated separately, priority applied in JS);
 * - for the default stages, the stage is the one an independent classifier written from
 *   the README's stage table gives (test/support/lifecycle-oracle.ts): the oracle.
 * Models vary every parameter and shuffle the priority order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lifecycleStageConditions, lifecycleStageIRs, parseLifecycleSection, type LifecycleModel } from '../src/analysis/lifecycle/index.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { evaluateSegments, indexDataset, type MemoryDataset, type MemoryEvent } from '../src/segments/evaluate/index.js';
import { classifyUsers, type OracleModel } from './support/lifecycle-oracle.js';

const DAY = 86_400_000;
const BASE = Date.UTC(2024, 5, 10);
const plan = parsePlan({ events: { view: {}, core: {}, invite: {} }, traits: { plan: 'string' } });

interface Params {
  readonly activity: 'view' | null;
  readonly newWithinDays: number;
  readonly engagedDays: number;
  readonly engagedOfDays: number;
  readonly dropPercent: number;
  readonly dormantDays: number;
  readonly resurrectedDays: number;
  readonly order: readonly string[];
}

const ALL_STAGES = ['dormant', 'resurrected', 'at_risk', 'advocate', 'engaged', 'activated', 'new'];

const paramsArb: fc.Arbitrary<Params> = fc.record({
  activity: fc.constantFrom('view' as const, null),
  newWithinDays: fc.constantFrom(3, 7, 14),
  engagedOfDays: fc.constantFrom(7, 14, 28),
  engagedDays: fc.integer({ min: 1, max: 7 }),
  dropPercent: fc.constantFrom(25, 50, 70, 75),
  dormantDays: fc.constantFrom(5, 14, 30),
  resurrectedDays: fc.constantFrom(3, 7, 14),
  order: fc.shuffledSubarray(ALL_STAGES, { minLength: ALL_STAGES.length, maxLength: ALL_STAGES.length }),
});

/** Users: scattered events and runs of daily activity over ~100 days before asOf, plus profile-only users. */
const datasetArb: fc.Arbitrary<{ data: MemoryDataset; asOfMs: number }> = fc
  .tuple(
    fc.integer({ min: 0, max: 1439 }),
    fc.array(
      fc.record({
        scattered: fc.array(
          fc.record({ day: fc.integer({ min: 0, max: 100 }), minute: fc.integer({ min: 0, max: 1439 }), event: fc.constantFrom('view', 'view', 'view', 'core', 'invite') }),
          { maxLength: 25 },
        ),
        runs: fc.array(fc.record({ start: fc.integer({ min: 0, max: 100 }), length: fc.integer({ min: 1, max: 30 }), event: fc.constantFrom('view', 'core') }), {
          maxLength: 2,
        }),
        profile: fc.boolean(),
        // How far back the user's history reaches: short ones make new users.
        horizon: fc.constantFrom(3, 10, 40, 100, 100, 100),
      }),
      { minLength: 1, maxLength: 25 },
    ),
  )
  .map(([asOfMinute, users]) => {
    const asOfMs = BASE + asOfMinute * 60_000;
    const events: MemoryEvent[] = [];
    const profiles = new Map<string, Record<string, string>>();
    users.forEach((u, i) => {
      const userId = `u${i}`;
      // Days back from asOf's UTC day; minutes within the day, so windows cut through days.
      const at = (day: number, minute: number) => BASE - (day % (u.horizon + 1)) * DAY + minute * 60_000;
      for (const e of u.scattered) events.push({ userId, event: e.event, ts: at(e.day, e.minute), properties: {} });
      for (const r of u.runs) for (let d = 0; d < r.length; d++) events.push({ userId, event: r.event, ts: at(Math.max(0, r.start - d), 600), properties: {} });
      if (u.profile) profiles.set(userId, { plan: 'free' });
    });
    return { data: { events, profiles }, asOfMs };
  });

function modelOf(p: Params): LifecycleModel {
  const errors: string[] = [];
  const model = parseLifecycleSection(
    {
      ...(p.activity ? { activity: p.activity } : {}),
      core_action: 'core',
      advocacy_event: 'invite',
      new_within: `${p.newWithinDays}d`,
      engaged: { active_days: p.engagedDays, of: `${p.engagedOfDays}d` },
      at_risk_drop: p.dropPercent / 100,
      dormant_after: `${p.dormantDays}d`,
      resurrected_within: `${p.resurrectedDays}d`,
      order: p.order,
    },
    plan,
    (path, message) => errors.push(`${path}: ${message}`),
  );
  expect(errors).toEqual([]);
  return model;
}

function oracleOf(p: Params): OracleModel {
  return {
    activity: p.activity,
    coreAction: 'core',
    advocacyEvent: 'invite',
    newWithinMs: p.newWithinDays * DAY,
    engagedDays: p.engagedDays,
    engagedOfMs: p.engagedOfDays * DAY,
    atRiskDropPercent: p.dropPercent,
    dormantAfterMs: p.dormantDays * DAY,
    resurrectedWithinMs: p.resurrectedDays * DAY,
    order: p.order,
    fallback: 'unactivated',
  };
}

describe('lifecycle stages on random data', () => {
  it('partition the population, follow the priority order, and agree with the independent classifier', () => {
    fc.assert(
      fc.property(paramsArb, datasetArb, (p, { data, asOfMs }) => {
        const model = modelOf(p);
        const exclusive = lifecycleStageIRs(model, plan);
        const own = lifecycleStageConditions(model, plan);
        const population = [...indexDataset(data, asOfMs).keys()];
        const inStage = evaluateSegments(
          exclusive.map((s) => s.ir),
          data,
          asOfMs,
        );
        const holds = evaluateSegments(
          own.map((s) => s.ir),
          data,
          asOfMs,
        );
        const expected = classifyUsers(data, asOfMs, oracleOf(p));
        for (const user of population) {
          const stages = exclusive.filter((s) => inStage.get(s.key)!.has(user)).map((s) => s.key);
          expect(stages, `user ${user}`).toHaveLength(1);
          const first = own.find((s) => holds.get(s.key)!.has(user))?.key ?? model.fallback.key;
          expect(stages[0], `user ${user}: first holding stage`).toBe(first);
          expect(stages[0], `user ${user}: the independent classifier`).toBe(expected.get(user));
        }
        // No one outside the population is in a stage.
        for (const members of inStage.values()) for (const u of members) expect(population).toContain(u);
      }),
      { numRuns: process.env.CI ? 300 : 80 },
    );
  });
});
