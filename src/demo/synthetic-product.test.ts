import { describe, expect, it } from 'vitest';
import { isoTime } from './demo-files.js';
import { DEMO_DAYS, DEMO_END_MS, simulateUser, type DemoSink } from './synthetic-product.js';

const DAY = 86_400_000;

function simulate(users: number, seed: number) {
  const events: { userId: string; event: string; ts: number; properties: Readonly<Record<string, string | number>> | null }[] = [];
  const profiles = new Map<string, Readonly<Record<string, string | number>>>();
  const sink: DemoSink = {
    event: (userId, event, ts, properties) => events.push({ userId, event, ts, properties }),
    profile: (userId, traits) => profiles.set(userId, traits),
  };
  for (let i = 0; i < users; i++) simulateUser(i, { seed }, sink);
  return { events, profiles };
}

describe('the synthetic product', () => {
  const { events, profiles } = simulate(1500, 11);
  const count = (name: string) => events.filter((e) => e.event === name).length;

  it('gives every user one profile and one signup, with events ordered in time inside the window', () => {
    expect(profiles.size).toBe(1500);
    expect(count('signed_up')).toBe(1500);
    const last = new Map<string, number>();
    for (const e of events) {
      expect(e.ts).toBeGreaterThanOrEqual(DEMO_END_MS - DEMO_DAYS * DAY - DAY);
      expect(e.ts).toBeLessThan(DEMO_END_MS);
      expect(e.ts).toBeGreaterThan(last.get(e.userId) ?? -Infinity);
      last.set(e.userId, e.ts);
    }
  });

  it('loses people at every onboarding step', () => {
    // Each step is reached only from the one before (the simulation's funnel), so the counts must fall.
    const steps = ['signed_up', 'onboarding_started', 'profile_completed', 'first_project_created'].map(count);
    for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeLessThan(steps[i - 1]!);
  });

  it('is busier on weekdays than at weekends', () => {
    // Oracle: the simulation's weekday factors (1.0 to 1.2 on Monday to Friday, 0.5 and 0.58 at
    // the weekend) scale both signups and visits, so the mean weekday has more events.
    const perDay = new Map<number, number>();
    for (const e of events) perDay.set(Math.floor(e.ts / DAY), (perDay.get(Math.floor(e.ts / DAY)) ?? 0) + 1);
    let weekday = 0;
    let weekdays = 0;
    let weekend = 0;
    let weekends = 0;
    for (const [day, n] of perDay) {
      const dow = new Date(day * DAY).getUTCDay();
      if (dow === 0 || dow === 6) {
        weekend += n;
        weekends++;
      } else {
        weekday += n;
        weekdays++;
      }
    }
    expect(weekday / weekdays).toBeGreaterThan(1.3 * (weekend / weekends));
  });

  it('has paying customers, all with a purchase, and churn', () => {
    const payers = new Set(events.filter((e) => e.event === 'purchase').map((e) => e.userId));
    const paidNow = [...profiles].filter(([, t]) => t.plan !== 'free').map(([u]) => u);
    expect(paidNow.length).toBeGreaterThan(0);
    for (const u of paidNow) expect(payers.has(u)).toBe(true);
    expect(count('subscription_cancelled')).toBeGreaterThan(0);
  });

  it('is the same for the same seed and different for another', () => {
    const again = simulate(200, 11).events;
    expect(again).toEqual(events.filter((e) => Number(e.userId.slice(1)) <= 200));
    expect(simulate(200, 12).events).not.toEqual(again);
  });

  it('writes timestamps exactly as Date#toISOString does', () => {
    for (const ts of [0, 1, 999, DAY - 1, DEMO_END_MS - 1, DEMO_END_MS, 1_700_000_000_123, 951_782_400_000 /* 2000-02-29 */]) {
      expect(isoTime(ts)).toBe(new Date(ts).toISOString());
    }
  });
});
