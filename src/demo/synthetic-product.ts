/**
 * A synthetic SaaS product (a project-management tool with free, pro and team plans),
 * simulated user by user. Each user has an acquisition channel, device, locale, company
 * and a latent engagement level; engagement drives how far they get through onboarding,
 * how often they come back, how deep they go into the features, whether they upgrade and
 * how long they stay. Churned users sometimes come back (resurrection); weekdays are
 * busier than weekends; signups grow over the period.
 *
 * Pure and deterministic: the events of user i depend only on (seed, i, endMs, days).
 */
import { MS } from '../time/time.js';
import { simulateConsent, type ConsentRecord, type DemoConsent } from './demo-consent.js';
import { DEMO_EXPERIMENT, EXPOSURE_EVENT, OnboardingExperiment, type ExtraEvent } from './demo-experiment.js';
import { Rand } from './random.js';

/** The demo's fixed end instant: Monday 2 June 2025, 00:00 UTC. The data and every asOf stop here. */
export const DEMO_END_MS = Date.UTC(2025, 5, 2);
export const DEMO_DAYS = 180;

export type DemoPropertyValue = string | number;
export type DemoTraitValue = string | number;

export interface DemoSink {
  event(userId: string, event: string, ts: number, properties: Readonly<Record<string, DemoPropertyValue>> | null): void;
  profile(userId: string, traits: Readonly<Record<string, DemoTraitValue>>): void;
  /** A `$consent` event (demo-consent.ts); a sink without it gets the same product without the consent records. */
  consent?(userId: string, ts: number, consent: DemoConsent): void;
}

export interface ProductOptions {
  readonly seed: number;
  readonly endMs?: number;
  readonly days?: number;
}

const DAY = MS.d;
const HOUR = MS.h;
const MINUTE = MS.m;

const CHANNELS = [
  ['organic', 30],
  ['paid_search', 20],
  ['social', 14],
  ['content', 13],
  ['referral', 13],
  ['partner', 10],
] as const;
/** Referred and partner users stick; paid social tourists do not. */
const CHANNEL_QUALITY: Record<string, number> = { organic: 1.1, paid_search: 0.85, social: 0.65, content: 1.0, referral: 1.45, partner: 1.3 };

const DEVICES = [
  ['desktop', 62],
  ['mobile', 30],
  ['tablet', 8],
] as const;
const DEVICE_QUALITY: Record<string, number> = { desktop: 1.1, mobile: 0.75, tablet: 0.85 };

/** Locale, country, UTC offset in hours, billing currency, price factor against USD. */
type LocaleInfo = readonly [locale: string, country: string, utcOffsetHours: number, currency: string, priceFactor: number];
const LOCALES: readonly (readonly [LocaleInfo, number])[] = [
  [['en-US', 'US', -5, 'USD', 1], 36],
  [['en-GB', 'GB', 0, 'GBP', 0.8], 12],
  [['de-DE', 'DE', 1, 'EUR', 0.92], 12],
  [['fr-FR', 'FR', 1, 'EUR', 0.92], 9],
  [['es-ES', 'ES', 1, 'EUR', 0.92], 6],
  [['pt-BR', 'BR', -3, 'USD', 1], 8],
  [['ja-JP', 'JP', 9, 'USD', 1], 6],
  [['nl-NL', 'NL', 1, 'EUR', 0.92], 5],
  [['en-IN', 'IN', 5, 'USD', 1], 6],
];

const ROLES = [
  ['engineer', 28],
  ['product', 18],
  ['designer', 14],
  ['marketing', 14],
  ['founder', 10],
  ['operations', 9],
  ['student', 7],
] as const;
const ROLE_QUALITY: Record<string, number> = { engineer: 1.1, product: 1.2, designer: 1.0, marketing: 0.9, founder: 1.15, operations: 0.95, student: 0.6 };

const AGE_BANDS = [
  ['18-24', 14],
  ['25-34', 38],
  ['35-44', 27],
  ['45-54', 14],
  ['55+', 7],
] as const;

/**
 * The demo's one behaviour correlated with age (for the fairness audit to find): the newest
 * feature, `ai_assist`, comes this many places earlier in a user's discovery order the
 * younger they are, so younger users use it more. Only which feature a use names changes:
 * the draws, and so every count of uses and of distinct features, are the same.
 */
const AI_ASSIST_EARLIER: Record<string, number> = { '18-24': 9, '25-34': 6, '35-44': 3, '45-54': 1, '55+': 0 };

const SIGNUP_METHODS = [
  ['email', 45],
  ['google', 40],
  ['github', 15],
] as const;

const TEMPLATES = [
  ['blank', 35],
  ['kanban', 25],
  ['roadmap', 15],
  ['sprint', 15],
  ['crm', 10],
] as const;

/** In the order a typical user discovers them; later ones are deeper. */
const FEATURES = ['editor', 'comments', 'search', 'templates', 'sharing', 'export', 'dashboards', 'automation', 'integrations', 'version_history', 'api', 'ai_assist'];

const PAGES = [
  ['dashboard', 30],
  ['project', 28],
  ['projects', 14],
  ['reports', 8],
  ['settings', 6],
  ['team', 5],
  ['docs', 5],
  ['integrations', 3],
  ['billing', 1],
] as const;

/** Weekdays are busier than weekends (Sunday = 0). */
const WEEKDAY_FACTOR = [0.5, 1.15, 1.2, 1.18, 1.12, 1.0, 0.58];

function weekdayFactor(dayStartMs: number): number {
  return WEEKDAY_FACTOR[new Date(dayStartMs).getUTCDay()]!;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export function demoUserId(index: number): string {
  return `u${String(index + 1).padStart(6, '0')}`;
}

/** Simulate user `index`, writing its events (time-ordered, all before endMs) and its profile. */
export function simulateUser(index: number, options: ProductOptions, sink: DemoSink): void {
  const endMs = options.endMs ?? DEMO_END_MS;
  const days = options.days ?? DEMO_DAYS;
  const startMs = endMs - days * DAY;
  const r = Rand.forItem(options.seed, index);
  const userId = demoUserId(index);

  const channel = r.pick(CHANNELS);
  const device = r.pick(DEVICES);
  const [locale, country, tz, currency, priceFactor] = r.pick(LOCALES);
  const role = r.pick(ROLES);
  const ageBand = r.pick(AGE_BANDS);
  const companySize = Math.round(clamp(Math.exp(2.2 + 1.7 * r.normal()), 1, 50_000));
  const engagement = Math.exp(0.75 * r.normal()) * CHANNEL_QUALITY[channel]! * DEVICE_QUALITY[device]! * ROLE_QUALITY[role]!;
  const lnE = Math.log(engagement);

  /** A moment on the UTC day starting at dayStart, at a local time of day people work. */
  const timeOnDay = (dayStart: number): number => {
    const localHour = clamp(13 + 3.6 * r.normal(), 6, 23.9);
    return dayStart + Math.floor((localHour - tz) * HOUR) + r.int(0, 59_999);
  };

  // Signups grow over the period and dip at weekends (rejection sampling on the day).
  let signupDay: number;
  for (;;) {
    signupDay = r.int(0, days - 1);
    const dayStart = startMs + signupDay * DAY;
    if (r.chance(((0.55 + 0.45 * (signupDay / days)) * weekdayFactor(dayStart)) / 1.2)) break;
  }
  const signupAt = clamp(timeOnDay(startMs + signupDay * DAY), startMs, endMs - 1);

  let lastTs = -Infinity;
  // The onboarding experiment adds events of its own (demo-experiment.ts); they are merged in
  // time order at the end, so the product's own events keep their instants.
  let extra: readonly ExtraEvent[] = [];
  const own: ExtraEvent[] = [];
  const emit = (event: string, ts: number, props: Record<string, DemoPropertyValue> | null = null): number => {
    // Strictly increasing times per user keep sequences and sessions unambiguous.
    const t = Math.max(Math.floor(ts), lastTs + 1);
    lastTs = t;
    if (t < endMs) own.push({ event, ts: t, properties: props });
    return t;
  };

  // Feature depth: users adopt features in roughly the discovery order, engaged ones faster.
  const adoptionOrder = FEATURES.map((f, k) => ({ f, key: k + 2.5 * r.normal() - (f === 'ai_assist' ? AI_ASSIST_EARLIER[ageBand]! : 0) }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.f);
  let adopted = 1 + (r.chance(0.5) ? 1 : 0);
  const featureWeights = (): (readonly [string, number])[] => adoptionOrder.slice(0, adopted).map((f, k) => [f, 1 / (k + 1)] as const);

  let plan: 'free' | 'pro' | 'team' = 'free';
  let billing: 'monthly' | 'annual' = 'monthly';
  let nextRenewal = Infinity;
  let seats = 1;

  const priceOf = (p: 'pro' | 'team', b: 'monthly' | 'annual'): number => {
    const monthly = p === 'pro' ? 12 : 10 * seats;
    return Math.round((b === 'annual' ? monthly * 10 : monthly) * priceFactor * 100) / 100;
  };

  const upgrade = (ts: number): number => {
    // An upgrade after the end of the data did not happen yet.
    if (Math.max(Math.floor(ts), lastTs + 1) >= endMs) return lastTs;
    plan = companySize >= 20 && r.chance(0.45) ? 'team' : r.chance(0.12) ? 'team' : 'pro';
    seats = plan === 'team' ? clamp(Math.round(2 + r.exp(Math.min(companySize, 60) / 6)), 3, 60) : 1;
    billing = r.chance(0.25) ? 'annual' : 'monthly';
    const t = emit('purchase', ts, { amount: priceOf(plan, billing), currency, plan, billing });
    nextRenewal = t + (billing === 'annual' ? 365 : 30) * DAY;
    return t;
  };

  const renewUntil = (untilMs: number): void => {
    while (plan !== 'free' && nextRenewal < untilMs && nextRenewal < endMs) {
      // Renewals are charged by the billing system, independent of activity.
      emit('purchase', Math.max(nextRenewal, lastTs + 1), { amount: priceOf(plan, billing), currency, plan, billing });
      nextRenewal += (billing === 'annual' ? 365 : 30) * DAY;
    }
  };

  /** One visit: a run of page views and actions a minute or two apart. */
  const session = (start: number, depth: number, onLanding?: () => void): void => {
    renewUntil(start);
    let t = emit('page_viewed', start, { page: 'dashboard' });
    onLanding?.();
    const actions = 1 + r.geometric(depth);
    for (let k = 0; k < actions; k++) {
      t += 4_000 + Math.min(r.exp(75_000), 20 * MINUTE);
      const x = r.float();
      if (x < 0.34) t = emit('page_viewed', t, { page: r.pick(PAGES) });
      else if (x < 0.68) {
        if (adopted < FEATURES.length && r.chance(0.03 * engagement)) adopted++;
        t = emit('feature_used', t, { feature: r.pick(featureWeights()) });
      } else if (x < 0.9) t = emit('core_task_completed', t, { duration_s: Math.round(30 + r.exp(240)) });
      else if (x < 0.93) t = emit('project_created', t, { template: r.pick(TEMPLATES) });
      else if (x < 0.955 + (plan === 'team' ? 0.03 : 0)) t = emit('invite_sent', t, { method: r.chance(0.6) ? 'email' : 'link' });
      else if (plan === 'free' && x < 0.99) {
        t = emit('pricing_viewed', t);
        if (r.chance(clamp(0.07 * engagement, 0.01, 0.35))) t = upgrade(t + r.int(30_000, 240_000));
      } else t = emit('page_viewed', t, { page: 'settings' });
    }
  };

  // Onboarding: signed_up, then a funnel whose every step loses people, less so the engaged.
  let t = emit('signed_up', signupAt, { method: r.pick(SIGNUP_METHODS) });
  let activatedAt: number | null = null;
  let onboardingStarted = false;
  if (r.chance(0.9)) {
    onboardingStarted = true;
    t = emit('onboarding_started', t + r.int(20_000, 10 * MINUTE));
    if (r.chance(clamp(0.7 + 0.12 * lnE, 0.25, 0.95))) {
      t = emit('profile_completed', t + r.int(60_000, 12 * MINUTE));
      if (r.chance(clamp(0.74 + 0.12 * lnE, 0.25, 0.96))) {
        t = emit('first_project_created', t + (r.chance(0.6) ? r.exp(8 * MINUTE) : r.exp(2 * DAY)), { template: r.pick(TEMPLATES) });
        if (r.chance(clamp(0.75 + 0.1 * lnE, 0.3, 0.97))) {
          t = emit('core_task_completed', t + (r.chance(0.5) ? r.exp(15 * MINUTE) : r.exp(3 * DAY)), { duration_s: Math.round(60 + r.exp(400)) });
          activatedAt = t;
        }
      }
    }
  }

  const sessionsPerDay = clamp(0.28 * engagement, 0.02, 2);
  const depth = clamp(4.5 * Math.sqrt(engagement), 1, 14);

  if (activatedAt === null) {
    // Not activated: a few curious return visits in the first weeks, then gone.
    const visits = r.poisson(clamp(1.2 * engagement, 0.2, 4));
    const visitDays = Array.from({ length: visits }, () => Math.floor(r.exp(6 * DAY) / DAY) + 1).sort((a, b) => a - b);
    // The onboarding experiment: a stalled user sees the checklist (or not) on the dashboard of
    // the first visit back inside its window, 1 ms after the page loads (actions come seconds
    // later, so no other event moves).
    const stalled = onboardingStarted ? new OnboardingExperiment(options.seed, index, userId, device) : null;
    const showChecklist = (): void => {
      const exposure = stalled!.expose(lastTs + 1, endMs);
      if (!exposure) return;
      emit(EXPOSURE_EVENT, exposure.atMs, { experiment: DEMO_EXPERIMENT.key, variant: exposure.variant });
      extra = exposure.rescue;
    };
    for (const d of visitDays) session(Math.max(timeOnDay(startMs + (signupDay + d) * DAY), t + 1), Math.min(depth, 2), stalled ? showChecklist : undefined);
    // A few return months later (a colleague's invite, a new project) and look around again.
    if (r.chance(0.07)) {
      const back = signupDay + (visitDays[visitDays.length - 1] ?? 0) + 30 + Math.floor(r.exp(40));
      const returns = 1 + r.poisson(2);
      for (let k = 0; k < returns; k++) session(Math.max(timeOnDay(startMs + (back + k * r.int(1, 4)) * DAY), lastTs + 31 * MINUTE), Math.min(depth, 3));
    }
  } else {
    // Activated: daily visits until churn; a churned user sometimes comes back later.
    let rate = sessionsPerDay;
    let hazard = clamp(0.011 / Math.sqrt(engagement), 0.002, 0.06);
    let day = Math.floor((activatedAt - startMs) / DAY) + 1;
    while (day < days) {
      const dayStart = startMs + day * DAY;
      if (r.chance(hazard)) {
        // Paying users often keep paying for a while after they stop using the product.
        const gap = 21 + Math.floor(r.exp(30));
        if (plan !== 'free') {
          const cancelAt = timeOnDay(dayStart + Math.floor(r.exp(35)) * DAY);
          renewUntil(cancelAt);
          if (cancelAt < endMs) {
            emit('subscription_cancelled', Math.max(cancelAt, lastTs + 1), { plan });
            plan = 'free';
            nextRenewal = Infinity;
          }
        }
        if (!r.chance(0.38)) break;
        // Resurrected later, a little less engaged and a little more fragile.
        day += gap;
        rate *= 0.75;
        hazard = Math.min(hazard * 1.3, 0.08);
        continue;
      }
      const n = r.poisson(rate * weekdayFactor(dayStart));
      const starts = Array.from({ length: n }, () => timeOnDay(dayStart)).sort((a, b) => a - b);
      for (const s of starts) session(Math.max(s, lastTs + 31 * MINUTE), depth);
      day++;
    }
  }
  renewUntil(endMs);
  // Consent (demo-consent.ts): an analytics opt-out stops the tracker, so later events are never sent.
  const consent = simulateConsent(options.seed, index, own);
  const until = consent.trackedUntilMs;
  const sent = (e: ExtraEvent) => until === null || e.ts <= until;
  for (const e of mergeEvents<ExtraEvent | ConsentRecord>(own.filter(sent), [...extra.filter(sent), ...consent.records], endMs)) {
    if ('consent' in e) sink.consent?.(userId, e.ts, e.consent);
    else sink.event(userId, e.event, e.ts, e.properties);
  }

  sink.profile(userId, {
    plan,
    signup_at: signupAt,
    channel,
    device,
    locale,
    country,
    company_size: companySize,
    role,
    email: `${userId}@example.com`,
    age_band: ageBand,
  });
}

/**
 * The product's own events with the experiment's added ones, in time order. An added event
 * never moves an own one: it takes the next free millisecond when its instant is taken.
 */
function mergeEvents<E extends { readonly ts: number }>(own: readonly E[], extra: readonly E[], endMs: number): readonly E[] {
  if (extra.length === 0) return own;
  const taken = new Set(own.map((e) => e.ts));
  const added: E[] = [];
  for (const e of [...extra].sort((a, b) => a.ts - b.ts)) {
    let ts = e.ts;
    while (taken.has(ts)) ts++;
    taken.add(ts);
    if (ts < endMs) added.push({ ...e, ts });
  }
  return [...own, ...added].sort((a, b) => a.ts - b.ts);
}
