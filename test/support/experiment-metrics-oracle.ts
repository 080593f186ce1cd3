/**
 * A brute-force reference for experiment metrics, written from docs/experiments.md
 * ("Metrics and exposures") and nothing else: plain loops over the events of each user, no
 * SQL and none of src/experiments/metrics. It computes every exposed user's variant and
 * exposure instant, each metric's per-user value, denominator and covariate, and the sums
 * the statistics need, per variant and per group. The random logs the tests feed it (and
 * the stores) are generated here too, on a 6-hour grid with 1 ms nudges, so that metric
 * windows, covariate windows, the exposure period and asOf fall exactly on event times.
 */
import { assignVariant } from '../../src/experiments/design/assign.js';
import type { ExperimentDefinition } from '../../src/experiments/design/types.js';
import type { ExperimentData, ExposureCount, MetricGroupStats } from '../../src/experiments/metrics/types.js';
import type { MetricStats } from '../../src/experiments/stats/sufficient.js';
import { parsePlan } from '../../src/schema/tracking-plan.js';
import { prng } from './prng.js';
import type { SeedEvent, SeedValue } from './load-duckdb.js';

export const H = 3_600_000;
export const D = 24 * H;
export const BASE = Date.UTC(2026, 9, 1);

export const EXPERIMENT_PLAN = parsePlan({
  events: {
    $exposure: { properties: { experiment: { type: 'string' }, variant: { type: 'string' } } },
    view: { properties: { page: { type: 'string' }, n: { type: 'number' } } },
    buy: { properties: { amount: { type: 'number' } } },
    signup: { properties: {} },
  },
  traits: { plan: { type: 'string' } },
});

export const EXPERIMENT_KEY = 'checkout-test';
export const VARIANTS = ['control', 'treat', 'big'] as const;

export interface GeneratedLog {
  readonly events: SeedEvent[];
  readonly profiles: Record<string, Record<string, SeedValue>>;
  readonly users: readonly string[];
}

/** A random log of `users` users over 12 days from BASE, with exposures of this and another experiment. */
export function generateLog(seed: number, users = 40): GeneratedLog {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const ids = Array.from({ length: users }, (_, i) => (i % 13 === 5 ? `o'q-${i}` : i % 11 === 3 ? `ü${i}` : `u${i}`));
  const instant = () => BASE + Math.floor(r() * 48) * 6 * H + pick([0, 0, 0, 0, -1, 1]);
  const events: SeedEvent[] = [];
  for (const user of ids) {
    const n = Math.floor(r() * 14);
    for (let k = 0; k < n; k++) {
      const event = pick(['view', 'view', 'buy', 'signup']);
      const props: Record<string, SeedValue> =
        event === 'view'
          ? { page: pick(['home', 'pricing', null]), n: pick([0, 1, 2, 5, null]) }
          : event === 'buy'
            ? { amount: pick([0.1, 2.5, 19.99, 7, null, 0.3]) }
            : {};
      events.push({ user, event, at: instant(), props });
    }
    // Exposures: usually one variant, sometimes two, an unknown one, none, or another experiment's.
    const exposures = Math.floor(r() * 4);
    const main = pick(VARIANTS);
    for (let k = 0; k < exposures; k++) {
      const roll = r();
      const variant = roll < 0.75 ? main : roll < 0.85 ? pick(VARIANTS) : roll < 0.93 ? pick(['bogus', 'Control']) : null;
      const experiment = r() < 0.9 ? EXPERIMENT_KEY : pick(['other-test', null]);
      events.push({ user, event: '$exposure', at: instant(), props: { experiment, variant } });
    }
  }
  const profiles: Record<string, Record<string, SeedValue>> = {};
  for (const u of ids) if (r() < 0.7) profiles[u] = { plan: pick(['free', 'pro', 'team', null]) };
  return { events, profiles, users: ids };
}

/** A property predicate as the reference evaluates it (missing values never match). */
export type RefPredicate = (props: Readonly<Record<string, SeedValue>>) => boolean;

export interface RefSide {
  /** null: any event. */
  readonly event: string | null;
  readonly where: RefPredicate;
  /** null: count events; else sum this property (missing ignored). */
  readonly sum: string | null;
  /** Count only events that have this property (mean denominators). */
  readonly present: string | null;
}

export interface RefMetric {
  readonly key: string;
  readonly kind: 'proportion' | 'mean' | 'ratio';
  readonly numerator: RefSide;
  readonly binary: boolean;
  readonly denominator: RefSide | null;
  /** [x + from, x + to); to null: up to asOf. */
  readonly from: number;
  readonly to: number | null;
  readonly covariate: number | null;
}

export interface RefOptions {
  readonly asOfMs: number;
  readonly metrics: readonly RefMetric[];
  /** A user's group as of start (undefined: no breakdown). */
  readonly groupOf?: (user: string) => string;
  /** Orders the groups present (by users per group). */
  readonly orderGroups?: (users: ReadonlyMap<string, number>) => string[];
  readonly label?: string | null;
  /** Only these users (members of the restricting segment as of start). */
  readonly members?: ReadonlySet<string>;
  /** Derived exposures: the targeting segments' members as of start. */
  readonly targeting?: readonly ReadonlySet<string>[];
}

interface Exposed {
  readonly variant: string;
  readonly at: number;
}

/** The exposed users (docs: first `$exposure` in [start, min(stop, asOf)), one variant only), and the counts left out. */
function exposedUsers(log: GeneratedLog, def: ExperimentDefinition, o: RefOptions): { exposed: Map<string, Exposed>; multiple: number; unknown: Record<string, number> } {
  const exposed = new Map<string, Exposed>();
  const unknown: Record<string, number> = {};
  let multiple = 0;
  const known = new Set(def.variants.map((v) => v.key));
  const allowed = (u: string) => o.members === undefined || o.members.has(u);
  if (def.exposure === 'assignment') {
    if (def.startMs < o.asOfMs) {
      const population = new Set(Object.keys(log.profiles));
      for (const e of log.events) if (e.at < def.startMs) population.add(e.user);
      for (const u of population) {
        if (!allowed(u) || !(o.targeting ?? []).every((s) => s.has(u))) continue;
        const a = assignVariant(def, u);
        if (a.covered) exposed.set(u, { variant: a.variant, at: def.startMs });
      }
    }
    return { exposed, multiple, unknown };
  }
  const end = Math.min(def.stopMs ?? o.asOfMs, o.asOfMs);
  const seen = new Map<string, { variants: Set<string>; at: number }>();
  for (const e of log.events) {
    const p = e.props ?? {};
    if (e.event !== '$exposure' || p.experiment !== def.key || e.at < def.startMs || e.at >= end || !allowed(e.user)) continue;
    const v = p.variant;
    if (typeof v !== 'string' || !known.has(v)) {
      const name = typeof v === 'string' ? v : '(missing)';
      unknown[name] = (unknown[name] ?? 0) + 1;
      continue;
    }
    const s = seen.get(e.user) ?? { variants: new Set<string>(), at: Infinity };
    s.variants.add(v);
    s.at = Math.min(s.at, e.at);
    seen.set(e.user, s);
  }
  for (const [u, s] of seen) {
    if (s.variants.size > 1) multiple++;
    else exposed.set(u, { variant: [...s.variants][0]!, at: s.at });
  }
  return { exposed, multiple, unknown };
}

function sideValue(events: readonly SeedEvent[], side: RefSide, lo: number, hi: number, binary: boolean): number {
  let value = 0;
  for (const e of events) {
    if (e.at < lo || e.at >= hi) continue;
    if (side.event !== null ? e.event !== side.event : e.event === '$exposure') continue;
    const p = e.props ?? {};
    if (!side.where(p)) continue;
    if (side.sum !== null) {
      const v = p[side.sum];
      if (typeof v === 'number') value += v;
    } else if (side.present !== null) {
      if (p[side.present] !== null && p[side.present] !== undefined) value += 1;
    } else value += 1;
  }
  return binary ? (value > 0 ? 1 : 0) : value;
}

interface Acc {
  n: number;
  s: Record<string, number>;
}

/** The reference ExperimentData for a definition over a log. */
export function referenceData(log: GeneratedLog, def: ExperimentDefinition, version: number, o: RefOptions): ExperimentData {
  const { exposed, multiple, unknown } = exposedUsers(log, def, o);
  const byUser = new Map<string, SeedEvent[]>();
  for (const e of log.events) if (e.at < o.asOfMs) byUser.set(e.user, [...(byUser.get(e.user) ?? []), e]);
  const variants = def.variants.map((v) => v.key);
  const groupOf = o.groupOf;
  const usersPerGroup = new Map<string, number>();
  if (groupOf) for (const u of exposed.keys()) usersPerGroup.set(groupOf(u), (usersPerGroup.get(groupOf(u)) ?? 0) + 1);
  const groups = groupOf ? o.orderGroups!(usersPerGroup) : [];
  const scopes: (string | null)[] = [null, ...groups];
  const inScope = (u: string, g: string | null) => g === null || groupOf!(u) === g;

  const exposures: ExposureCount[] = scopes.flatMap((group) =>
    variants.map((variant) => ({ group, variant, users: [...exposed].filter(([u, x]) => x.variant === variant && inScope(u, group)).length })),
  );
  const metrics: MetricGroupStats[] = o.metrics.flatMap((m) =>
    scopes.map((group) => {
      const acc = new Map<string, Acc>(variants.map((v) => [v, { n: 0, s: {} }]));
      let immature = 0;
      for (const [u, x] of exposed) {
        if (!inScope(u, group)) continue;
        if (m.to !== null && x.at + m.to > o.asOfMs) {
          immature++;
          continue;
        }
        const events = byUser.get(u) ?? [];
        const hi = m.to === null ? o.asOfMs : Math.min(x.at + m.to, o.asOfMs);
        const y = sideValue(events, m.numerator, x.at + m.from, hi, m.binary);
        const dv = m.denominator === null ? 0 : sideValue(events, m.denominator, x.at + m.from, hi, false);
        const xv = m.covariate === null ? 0 : sideValue(events, m.numerator, x.at - m.covariate, x.at, m.binary);
        const a = acc.get(x.variant)!;
        a.n++;
        const add = (k: string, v: number) => (a.s[k] = (a.s[k] ?? 0) + v);
        add('y', y);
        add('yy', y * y);
        add('d', dv);
        add('dd', dv * dv);
        add('yd', y * dv);
        add('x', xv);
        add('xx', xv * xv);
        add('xy', xv * y);
        add('xd', xv * dv);
      }
      return { metric: m.key, group, variants: variants.map((variant) => ({ variant, stats: statsOf(m, acc.get(variant)!) })), immature };
    }),
  );
  return {
    experiment: def.key,
    version,
    asOfMs: o.asOfMs,
    breakdown: o.label ?? null,
    groups,
    exposures,
    multipleExposures: multiple,
    unknownVariants: unknown,
    metrics,
  };
}

function statsOf(m: RefMetric, a: Acc): MetricStats {
  const s = (k: string) => a.s[k] ?? 0;
  const cov =
    m.covariate === null
      ? {}
      : { covariate: { sum: s('x'), sumSquares: s('xx'), sumProducts: s('xy'), ...(m.denominator === null ? {} : { sumProductsDenominator: s('xd') }) } };
  if (m.kind === 'proportion') return { type: 'proportion', n: a.n, sum: s('y'), ...cov };
  if (m.kind === 'mean') return { type: 'mean', n: a.n, sum: s('y'), sumSquares: s('yy'), ...cov };
  return { type: 'ratio', n: a.n, numerator: { sum: s('y'), sumSquares: s('yy') }, denominator: { sum: s('d'), sumSquares: s('dd') }, sumProducts: s('yd'), ...cov };
}

/**
 * Deep comparison: numbers at paths `exact(path)` says are whole must be equal; every
 * other number within a relative 1e-9 (sums of doubles added in another order).
 */
export function compareData(actual: unknown, expected: unknown, exact: (path: string) => boolean, path = ''): string[] {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (exact(path)) return actual === expected ? [] : [`${path}: ${actual} !== ${expected} (exact)`];
    return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)) ? [] : [`${path}: ${actual} vs ${expected} (rel 1e-9)`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return [`${path}: length ${Array.isArray(actual) ? actual.length : typeof actual} vs ${expected.length}`];
    return expected.flatMap((e, i) => compareData(actual[i], e, exact, `${path}[${i}]`));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return [`${path}: ${JSON.stringify(actual)} vs an object`];
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    return [...keys].flatMap((k) => compareData((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], exact, `${path}.${k}`));
  }
  return Object.is(actual, expected) ? [] : [`${path}: ${JSON.stringify(actual)} !== ${JSON.stringify(expected)}`];
}
