/**
 * The demo product's consent records (`$consent` events: purpose, granted, source; see
 * src/privacy/consent/consent-event.ts), drawn from a random stream of their own so the
 * product's behaviour is the same with or without them:
 * - personalization: the cookie banner on the first visit after signup, granted by about
 *   70% (a refusal is recorded too: the banner records the choice either way);
 * - marketing: "send me product news" ticked on that first visit by about 40%; about 15%
 *   of them unsubscribe later (an in-app settings change, right after one of their events);
 * - analytics: about 2% opt out in the settings at some point; the app's tracker stops
 *   sending their events from then on, so the product's events after it never reach the
 *   export (only the consent record does).
 * Every record sits right after one of the user's own events (the export's merge moves it
 * to the next free millisecond), so consent never adds an active day, a session or a
 * later "last seen" of its own; and none comes before the user's first event after signup,
 * so `{first: '*', after: {event: signed_up}}` still finds a product action (the segment
 * language's `*` is any event, `$consent` included). Users who never come back after
 * signing up have no consent record.
 */
import { Rand } from './random.js';

export type DemoConsentPurpose = 'analytics' | 'personalization' | 'marketing';

export interface DemoConsent {
  readonly purpose: DemoConsentPurpose;
  readonly granted: boolean;
  readonly source: string;
}

export interface ConsentRecord {
  readonly event: '$consent';
  readonly ts: number;
  readonly properties: null;
  readonly consent: DemoConsent;
}

export const DEMO_CONSENT_RATES = { personalization: 0.7, marketing: 0.4, unsubscribe: 0.15, analyticsOptOut: 0.02 } as const;

/** Mixed into the seed so the consent stream is unrelated to the product's. */
const CONSENT_STREAM = 0x0c0_5e47;

export interface ConsentPlan {
  readonly records: readonly ConsentRecord[];
  /** The analytics opt-out: the user's own events after this instant are not sent; null when they never opt out. */
  readonly trackedUntilMs: number | null;
}

/** `own`: the user's events in time order (the first is signed_up). */
export function simulateConsent(seed: number, index: number, own: readonly { readonly ts: number }[]): ConsentPlan {
  if (own.length < 2) return { records: [], trackedUntilMs: null };
  const c = Rand.forItem(seed ^ CONSENT_STREAM, index);
  const firstVisit = own[1]!.ts;
  const record = (ts: number, purpose: DemoConsentPurpose, granted: boolean, source: string): ConsentRecord => ({
    event: '$consent',
    ts: ts + 1,
    properties: null,
    consent: { purpose, granted, source },
  });
  const records: ConsentRecord[] = [];
  records.push(record(firstVisit, 'personalization', c.chance(DEMO_CONSENT_RATES.personalization), 'banner'));
  const later = () => own[c.int(1, own.length - 1)]!.ts;
  if (c.chance(DEMO_CONSENT_RATES.marketing)) {
    records.push(record(firstVisit, 'marketing', true, 'first_visit'));
    if (c.chance(DEMO_CONSENT_RATES.unsubscribe) && own.length > 1) records.push(record(later(), 'marketing', false, 'settings'));
  }
  let trackedUntilMs: number | null = null;
  if (c.chance(DEMO_CONSENT_RATES.analyticsOptOut) && own.length > 2) {
    trackedUntilMs = later();
    records.push(record(trackedUntilMs, 'analytics', false, 'settings'));
  }
  // Nothing is sent after the opt-out, consent records included.
  return { records: trackedUntilMs === null ? records : records.filter((r) => r.ts <= trackedUntilMs! + 1), trackedUntilMs };
}
