/**
 * A synthetic product whose generating process is known, for the churn and propensity model
 * tests: users join over 240 days; each has an engagement rate (events per day); every day a
 * user may start to fade (the rate decays 15% a day) and stops for good once it is tiny, or
 * quits outright (a small hazard). So churn (no event in the next 28 days) follows recent
 * activity. Each task has a 2% chance of an upgrade (once per user), so upgrades follow
 * task counts. Traits: plan (string), seats (number), and country (sensitive: never a feature).
 */
import { prng } from './support/prng.js';

export const DAY = 86_400_000;
export const START_MS = Date.UTC(2026, 0, 1);
export const DAYS = 240;

export const MODEL_PLAN_YAML = `plan:
  events:
    signed_up: {}
    visit:
      properties:
        page: string
    task_completed: {}
    subscription_upgraded: {}
  traits:
    plan: string
    seats: number
    country: { type: string, sensitive: true }
`;

export interface EventRow {
  readonly user: string;
  readonly event: string;
  readonly ts: number;
  readonly page?: string;
}

export interface ProductLog {
  readonly events: EventRow[];
  readonly profiles: { user: string; plan: string; seats: number; country: string }[];
}

function poisson(rand: () => number, lambda: number): number {
  const l = Math.exp(-lambda);
  let k = 0;
  let p = rand();
  while (p > l) {
    k++;
    p *= rand();
  }
  return k;
}

export function productLog(seed: number, users: number): ProductLog {
  const rand = prng(seed);
  const events: EventRow[] = [];
  const profiles: ProductLog['profiles'] = [];
  const pages = ['home', 'docs', 'pricing', 'settings', 'reports'];
  for (let u = 0; u < users; u++) {
    const user = `u${String(u).padStart(4, '0')}`;
    const join = Math.floor(rand() * (DAYS - 20));
    let rate = Math.min(3, Math.exp(-0.5 + 0.8 * (rand() * 2 - 1) * 1.5));
    let fading = false;
    let upgraded = false;
    const plan = rand() < 0.6 ? 'free' : rand() < 0.7 ? 'pro' : 'team';
    profiles.push({ user, plan, seats: 1 + Math.floor(rand() * 20), country: rand() < 0.5 ? 'DE' : 'FR' });
    events.push({ user, event: 'signed_up', ts: START_MS + join * DAY + Math.floor(rand() * DAY) });
    for (let d = join; d < DAYS; d++) {
      if (!fading && rand() < 0.015) fading = true;
      if (fading) rate *= 0.85;
      if (rate < 0.03 || rand() < 0.002) break;
      // Paying plans are a little more active.
      const n = poisson(rand, rate * (plan === 'free' ? 1 : 1.3));
      for (let k = 0; k < n; k++) {
        const ts = START_MS + d * DAY + Math.floor(rand() * DAY);
        if (rand() < 0.3) {
          events.push({ user, event: 'task_completed', ts });
          if (!upgraded && plan === 'free' && rand() < 0.03) {
            upgraded = true;
            events.push({ user, event: 'subscription_upgraded', ts: ts + 1000 });
          }
        } else events.push({ user, event: 'visit', ts, page: pages[Math.floor(rand() * pages.length)]! });
      }
    }
  }
  events.sort((a, b) => a.ts - b.ts || (a.user < b.user ? -1 : 1));
  return { events, profiles };
}

export function eventsCsv(rows: readonly EventRow[]): string {
  return `user_id,event,timestamp,page\n${rows.map((r) => `${r.user},${r.event},${new Date(r.ts).toISOString()},${r.page ?? ''}`).join('\n')}\n`;
}

export function profilesCsv(log: ProductLog): string {
  return `user_id,plan,seats,country\n${log.profiles.map((p) => `${p.user},${p.plan},${p.seats},${p.country}`).join('\n')}\n`;
}

export const CHURN_YAML = `key: churn-risk
name: Churn risk
description: No activity at all in the next 28 days.
owner: growth
kind: churn
horizon: 28d
family: logistic
params: {C: 0.5}
training: {snapshots: 5, every: 14d, holdout: 1}
features:
  windows: [7, 28]
  depth_property: page
`;

export const UPGRADE_YAML = `key: upgrade-propensity
name: Upgrade propensity
kind: propensity
event: subscription_upgraded
horizon: 28d
family: gbt
params: {max_iter: 30, max_leaf_nodes: 8, min_samples_leaf: 10}
training: {snapshots: 4, every: 14d}
features: {windows: [7, 28], traits: [plan, seats]}
`;
