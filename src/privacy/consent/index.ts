/**
 * Consent (issue 7): stored only as `$consent` events (consent-event.ts: names, the plan
 * check, the normative rule), read back as a history and a state per purpose
 * (consent-records.ts), recorded through ingest with an audit record (set-consent.ts).
 * The segment language's `{consent: PURPOSE}` and the consent of targeting segments live in
 * src/segments (language/consent-check.ts, ir/consent-filters.ts and every back end).
 */
export {
  CONSENT_EVENT,
  CONSENT_PLAN_FIX,
  CONSENT_PURPOSES,
  GRANTED_PROPERTY,
  PURPOSE_PROPERTY,
  SOURCE_PROPERTY,
  consentPlanProblems,
  isConsentPurpose,
  type ConsentPurpose,
} from './consent-event.js';
export { consentHistory, consentState, type ConsentRecord, type ConsentState, type ConsentStatus } from './consent-records.js';
export { DEFAULT_CONSENT_SOURCE, setConsent, type ConsentSetting, type SetConsentRequest, type SetConsentResult } from './set-consent.js';
