/**
 * A synthetic product for `discover drivers` tests: users first seen over 60 days, each
 * with a signup at first sight; one planted early behaviour (invite_sent in the first 14
 * days) doubles the chance to upgrade in the 28 days after; three other behaviours are drawn
 * independently of everything (the nulls). Upgraders buy in the outcome window. Some users
 * upgrade early (left out), some are first seen too late for their windows to end by asOf
 * (not in the cohort), and `$exposure` events are sprinkled in (never a candidate, never
 * activity). `referenceCounts` recomputes every 2x2 table and per-user revenue straight from
 * the rows, as the oracle for the SQL.
 */
import type { SeedEvent } from './support/load-duckdb.js';
import { prng } from './support/prng.js';
import { parsePlan, type TrackingPlan } from '../src/schema/tracking-plan.js';

export const DAY = 86_400_000;
export const BASE_MS = Date.parse('2026-01-01T00:00:00Z');
/** 60 days of cohort + 14 + 28: every user first seen in the first 60 days is mature. */
export const AS_OF_MS = BASE_MS + (60 + 42) * DAY;
export const AS_OF = new Date(AS_OF_MS).toISOString();
export const EARLY_MS = 14 * DAY;
export const WITHIN_MS = 28 * DAY;
export const NULL_EVENTS = ['report_viewed', 'project_created', 'help_viewed'] as const;
export const PLANTED = 'invite_sent';

export const PLAN_DOC = {
  events: {
    signup: {},
    invite_sent: {},
    report_viewed: {},
    project_created: {},
    help_viewed: {},
    upgrade: {},
    purchase: { properties: { amount: 'number' } },
    $exposure: { properties: { experiment: 'string', variant: 'string' } },
  },
};

export const PLAN_YAML = `plan:
  events:
    signup: {}
    invite_sent: {}
    report_viewed: {}
    project_created: {}
    help_viewed: {}
    upgrade: {}
    purchase: {properties: {amount: number}}
    $exposure: {properties: {experiment: string, variant: string}}
rfm:
  event: purchase
  value: amount
`;

export function driversPlan(): TrackingPlan {
  return parsePlan(PLAN_DOC);
}

/** Small non-negative integer draws. */
function poisson(rand: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k++;
    p *= rand();
  }
  return k;
}

export function driversEvents(users: number, seed: number): SeedEvent[] {
  const rand = prng(seed);
  const out: SeedEvent[] = [];
  const within = (from: number, length: number) => from + Math.floor(rand() * length);
  for (let u = 0; u < users; u++) {
    const user = `u${String(u).padStart(5, '0')}`;
    // 5% are first seen too late for both windows to end by asOf.
    const late = rand() < 0.05;
    const f = BASE_MS + Math.floor(rand() * (late ? 30 : 60) * DAY) + (late ? 70 * DAY : 0);
    out.push({ user, event: 'signup', at: f });
    const invited = rand() < 0.4;
    if (invited) for (let k = 1 + poisson(rand, 1.5); k > 0; k--) out.push({ user, event: PLANTED, at: within(f + 1, EARLY_MS - 1) });
    for (const e of NULL_EVENTS) for (let k = poisson(rand, 1.6); k > 0; k--) out.push({ user, event: e, at: within(f + 1, EARLY_MS - 1) });
    if (rand() < 0.3) out.push({ user, event: '$exposure', at: within(f, EARLY_MS + WITHIN_MS), props: { experiment: 'x', variant: 'a' } });
    const early = rand() < 0.05;
    if (early) out.push({ user, event: 'upgrade', at: within(f + 1, EARLY_MS - 1) });
    const converts = rand() < (invited ? 0.3 : 0.15);
    const outcomeStart = f + EARLY_MS;
    if (converts) {
      const at = within(outcomeStart, WITHIN_MS);
      out.push({ user, event: 'upgrade', at });
      for (let k = 1 + poisson(rand, 0.8); k > 0; k--) out.push({ user, event: 'purchase', at: within(at, outcomeStart + WITHIN_MS - at), props: { amount: Math.round(rand() * 8000) / 100 + 10 } });
    }
    // Activity in the outcome window (retention) for about half, regardless of behaviour.
    if (rand() < 0.5) out.push({ user, event: 'report_viewed', at: within(outcomeStart, WITHIN_MS) });
    // Events after the outcome window count for nothing.
    if (rand() < 0.3) out.push({ user, event: 'upgrade', at: outcomeStart + WITHIN_MS + within(0, 5 * DAY) });
  }
  return out;
}

export interface ReferenceTable {
  readonly event: string;
  readonly atLeast: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
  readonly revenueWith: number[];
  readonly revenueWithout: number[];
}

export interface ReferenceCounts {
  readonly users: number;
  readonly alreadyConverted: number;
  readonly tables: ReferenceTable[];
}

/**
 * The tables by brute force over the rows (the SQL's oracle): outcome null = retention
 * (any event but $exposure in the outcome window).
 */
export function referenceCounts(events: readonly SeedEvent[], outcome: string | null, candidates: readonly string[], thresholds: readonly number[]): ReferenceCounts {
  const byUser = new Map<string, SeedEvent[]>();
  for (const e of events) byUser.set(e.user, [...(byUser.get(e.user) ?? []), e]);
  let users = 0;
  let alreadyConverted = 0;
  const rows: { counts: Map<string, number>; outcome: boolean; revenue: number }[] = [];
  for (const list of byUser.values()) {
    const f = Math.min(...list.map((e) => e.at));
    if (f + EARLY_MS + WITHIN_MS > AS_OF_MS) continue;
    users++;
    const earlyEvents = list.filter((e) => e.at < f + EARLY_MS);
    const later = list.filter((e) => e.at >= f + EARLY_MS && e.at < f + EARLY_MS + WITHIN_MS);
    if (outcome !== null && earlyEvents.some((e) => e.event === outcome)) {
      alreadyConverted++;
      continue;
    }
    const counts = new Map<string, number>();
    for (const e of earlyEvents) counts.set(e.event, (counts.get(e.event) ?? 0) + 1);
    const reached = outcome === null ? later.some((e) => e.event !== '$exposure') : later.some((e) => e.event === outcome);
    const revenue = later.filter((e) => e.event === 'purchase').reduce((s, e) => s + (e.props?.amount as number), 0);
    rows.push({ counts, outcome: reached, revenue });
  }
  const tables = candidates.flatMap((event) =>
    thresholds.map((atLeast) => {
      const did = (r: (typeof rows)[number]) => (r.counts.get(event) ?? 0) >= atLeast;
      const count = (x: boolean, y: boolean) => rows.filter((r) => did(r) === x && r.outcome === y).length;
      return {
        event,
        atLeast,
        a: count(true, true),
        b: count(true, false),
        c: count(false, true),
        d: count(false, false),
        revenueWith: rows.filter(did).map((r) => r.revenue),
        revenueWithout: rows.filter((r) => !did(r)).map((r) => r.revenue),
      };
    }),
  );
  return { users, alreadyConverted, tables };
}
