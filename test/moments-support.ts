/**
 * Random event logs and moment definitions for the key-moment tests, and the oracle: an
 * independent computation of each moment's instant per user, written as plain loops over
 * the events straight from the rules in README "Key moments" (no SQL, no calendar keys:
 * months and weeks come from JavaScript's Date).
 *
 * Timestamps sit on a grid of 6h steps (plus 0, 15 or 30 minutes) from 2024-02-20 over 25
 * days, so events tie, fall exactly on UTC midnight, on month ends (leap day included) and
 * week starts, exactly at an anchor, at anchor + within and at asOf (also on the grid).
 */
import fc from 'fast-check';
import type { MemoryDataset, MemoryValue } from '../src/segments/evaluate/index.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import type { MomentRule } from '../src/analysis/moments/index.js';
import type { Anchor, Comparison, EventFilter, Literal } from '../src/segments/ir/nodes.js';
import { MS } from '../src/time/time.js';

export const MOMENT_PLAN = parsePlan({
  events: {
    signed_up: { properties: { method: 'string' } },
    core_task_completed: { properties: { duration_s: 'number' } },
    invite_sent: { properties: { method: 'string' } },
    page_viewed: { properties: {} },
  },
  traits: { signup_at: 'timestamp', plan: 'string' },
});

export const BASE_MS = Date.UTC(2024, 1, 20);
const STEP_MS = 6 * MS.h;
const SLOTS = 100;
export const USERS = ['u0', 'u1', 'u2', 'u3'] as const;

export const gridMs = fc
  .tuple(fc.integer({ min: 0, max: SLOTS }), fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(15, 30) }))
  .map(([k, m]) => BASE_MS + k * STEP_MS + m * MS.m);

export interface LogEvent {
  readonly userId: string;
  readonly event: string;
  readonly ts: number;
  readonly properties: Readonly<Record<string, MemoryValue>>;
}

const user = fc.constantFrom(...USERS);
const method = fc.option(fc.constantFrom('email', 'link'), { nil: undefined });
const props = (entries: Record<string, MemoryValue | undefined>): Record<string, MemoryValue> =>
  Object.fromEntries(Object.entries(entries).filter((e): e is [string, MemoryValue] => e[1] !== undefined));

const eventArb: fc.Arbitrary<LogEvent> = fc.oneof(
  fc.record({ userId: user, ts: gridMs, m: method }).map(({ userId, ts, m }) => ({ userId, ts, event: 'signed_up', properties: props({ method: m }) })),
  {
    weight: 4,
    arbitrary: fc
      .record({ userId: user, ts: gridMs, d: fc.option(fc.constantFrom(10, 30, 45), { nil: undefined }) })
      .map(({ userId, ts, d }) => ({ userId, ts, event: 'core_task_completed', properties: props({ duration_s: d }) })),
  },
  fc.record({ userId: user, ts: gridMs, m: method }).map(({ userId, ts, m }) => ({ userId, ts, event: 'invite_sent', properties: props({ method: m }) })),
  fc.record({ userId: user, ts: gridMs }).map(({ userId, ts }) => ({ userId, ts, event: 'page_viewed', properties: {} })),
);

/** Events, and a signup_at trait for some users (on the grid, so anchors tie with events). */
export const logArb = fc.record({
  events: fc.array(eventArb, { minLength: 10, maxLength: 80, size: 'max' }),
  signupAt: fc.dictionary(user, gridMs, { maxKeys: USERS.length }),
});
export type Log = typeof logArb extends fc.Arbitrary<infer T> ? T : never;

export function toDataset(log: Log): MemoryDataset {
  return {
    events: log.events.map((e) => ({ userId: e.userId, event: e.event, ts: e.ts, properties: e.properties })),
    profiles: new Map(Object.entries(log.signupAt).map(([u, ms]) => [u, { signup_at: ms, plan: 'free' }])),
  };
}

// ---- moment documents, as strata.yaml would hold them ---------------------------------------

const filterDoc = fc.constantFrom<Record<string, unknown>>(
  { event: 'core_task_completed' },
  { event: 'core_task_completed', where: [{ property: 'duration_s', gt: 10 }] },
  { event: '*' },
  { event: '*', where: [{ property: 'method', eq: 'email' }] },
  { event: 'invite_sent', where: [{ property: 'method', exists: true }] },
  { event: 'page_viewed' },
);
const anchorDoc = fc.constantFrom<Record<string, unknown>>(
  { event: 'signed_up' },
  { event: '*' },
  { trait: 'signup_at' },
  { event: 'signed_up', where: [{ property: 'method', eq: 'link' }] },
);
/** Multiples of 15 minutes up to 12 days, so anchor + within lands on the grid. */
const withinDoc = fc
  .tuple(fc.integer({ min: 0, max: 48 }), fc.constantFrom(0, 15, 30))
  .filter(([k, m]) => k > 0 || m > 0)
  .map(([k, m]) => `${k * 360 + m}m`);

export const momentDocArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ f: filterDoc, after: fc.option(anchorDoc, { nil: undefined, freq: 2 }), within: fc.option(withinDoc, { nil: undefined, freq: 2 }) }).map(({ f, after, within }) => ({
    first: f.event,
    ...(f.where ? { where: f.where } : {}),
    ...(after ? { after } : {}),
    ...(after && within ? { within } : {}),
  })),
  fc
    .record({ f: filterDoc, measure: fc.constantFrom('activeDays', 'events'), n: fc.integer({ min: 1, max: 4 }), per: fc.option(fc.constantFrom('month', 'week'), { nil: undefined }) })
    .map(({ f, measure, n, per }) => ({ threshold: f.event, ...(f.where ? { where: f.where } : {}), [measure]: n, ...(per ? { per } : {}) })),
  fc.record({ f: filterDoc, after: anchorDoc, within: withinDoc }).map(({ f, after, within }) => ({ absence: f.event, ...(f.where ? { where: f.where } : {}), after, within })),
);

// ---- the oracle --------------------------------------------------------------------------

/** Each user's instant (epoch ms) of the moment as of asOf; users who have not reached it are absent. */
export function oracleInstants(rule: MomentRule, log: Log, asOfMs: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const u of USERS) {
    const events = log.events.filter((e) => e.userId === u && e.ts < asOfMs);
    const at = oracleUser(rule, events, Object.hasOwn(log.signupAt, u) ? log.signupAt[u]! : undefined);
    if (at !== undefined && at < asOfMs) out.set(u, at);
  }
  return out;
}

function oracleUser(rule: MomentRule, events: readonly LogEvent[], signupAt: number | undefined): number | undefined {
  const matching = events.filter((e) => matches(rule.filter, e)).map((e) => e.ts);
  switch (rule.kind) {
    case 'first': {
      if (rule.after === null) return min(matching);
      const anchor = anchorOf(rule.after, events, signupAt);
      if (anchor === undefined) return undefined;
      return min(matching.filter((t) => t > anchor && (rule.withinMs === null || t < anchor + rule.withinMs)));
    }
    case 'threshold': {
      const byPeriod = new Map<string, number[]>();
      for (const t of matching) {
        const key = rule.per === 'month' ? monthOf(t) : mondayOf(t);
        byPeriod.set(key, [...(byPeriod.get(key) ?? []), t]);
      }
      const reached: number[] = [];
      for (const times of byPeriod.values()) {
        const sorted = [...times].sort((a, b) => a - b);
        // Active days: each day's first event; events: every event, ties counted apart.
        const dayFirst = new Map<number, number>();
        for (const t of sorted) if (!dayFirst.has(Math.floor(t / MS.d))) dayFirst.set(Math.floor(t / MS.d), t);
        const counted = rule.measure === 'events' ? sorted : [...dayFirst.values()];
        if (counted.length >= rule.n) reached.push(counted[rule.n - 1]!);
      }
      return min(reached);
    }
    case 'absence': {
      const anchor = anchorOf(rule.after, events, signupAt);
      if (anchor === undefined) return undefined;
      const end = anchor + rule.withinMs;
      return matching.some((t) => t >= anchor && t < end) ? undefined : end;
    }
  }
}

function anchorOf(anchor: Anchor, events: readonly LogEvent[], signupAt: number | undefined): number | undefined {
  if (anchor.kind === 'trait') return signupAt;
  return min(events.filter((e) => matches(anchor.filter, e)).map((e) => e.ts));
}

function matches(filter: EventFilter, e: LogEvent): boolean {
  if (filter.event !== null && filter.event !== e.event) return false;
  return filter.where.every((p) => holds(p.cmp, Object.hasOwn(e.properties, p.property) ? e.properties[p.property] : undefined));
}

/** Only the operators the generators use. */
function holds(cmp: Comparison, value: MemoryValue | undefined): boolean {
  const lit = (l: Literal) => (l.kind === 'string' || l.kind === 'number' || l.kind === 'boolean' ? l.value : undefined);
  switch (cmp.op) {
    case 'exists':
      return (value !== undefined) === cmp.value;
    case 'eq':
      return value !== undefined && value === lit(cmp.value);
    case 'gt':
      return typeof value === 'number' && value > (lit(cmp.value) as number);
    default:
      throw new Error(`the oracle does not know ${cmp.op}`);
  }
}

function min(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : Math.min(...values);
}

export function monthOf(t: number): string {
  const d = new Date(t);
  return `${d.getUTCFullYear()}-${d.getUTCMonth()}`;
}

/** The Monday (UTC) starting the ISO week holding t, as YYYY-MM-DD. */
export function mondayOf(t: number): string {
  const d = new Date(t);
  const back = (d.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - back)).toISOString().slice(0, 10);
}
