/**
 * The `$consent` event: the one record of a user's consent (issue 7). Whatever sets consent
 * (a `$consent` event in the stream, a consent trait on a profile, the library API or
 * `strata privacy consent --set`) becomes a `$consent` event, so consent has a history
 * (when, what, from where), is erased and exported with the user's other events, and every
 * engine reads it with the machinery it already has for events.
 *
 * Properties: `purpose` (string: analytics | personalization | marketing), `granted`
 * (boolean) and `source` (string: where the record came from, e.g. `banner`, `profile`,
 * `api`, `cli`). A user's consent for a purpose as of T is the `granted` of their latest
 * `$consent` event for it before T (at one instant a denial wins); with none, the
 * workspace's default (`privacy.consent`).
 */
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { CONSENT_PURPOSES, type ConsentPurpose } from '../privacy-config.js';

export { CONSENT_PURPOSES, type ConsentPurpose };

export const CONSENT_EVENT = '$consent';
export const PURPOSE_PROPERTY = 'purpose';
export const GRANTED_PROPERTY = 'granted';
export const SOURCE_PROPERTY = 'source';

/** What to add to strata.yaml so consent can be recorded. */
export const CONSENT_PLAN_FIX = `add to strata.yaml under plan.events:  "${CONSENT_EVENT}": {properties: {${PURPOSE_PROPERTY}: string, ${GRANTED_PROPERTY}: boolean, ${SOURCE_PROPERTY}: string}}`;

const EXPECTED_TYPES = { [PURPOSE_PROPERTY]: 'string', [GRANTED_PROPERTY]: 'boolean', [SOURCE_PROPERTY]: 'string' } as const;

/** Why the plan cannot carry consent records (empty when it can). */
export function consentPlanProblems(plan: TrackingPlan): string[] {
  const spec = Object.hasOwn(plan.events, CONSENT_EVENT) ? plan.events[CONSENT_EVENT] : undefined;
  if (spec === undefined) return [`consent is recorded as ${CONSENT_EVENT} events, but the tracking plan does not declare ${CONSENT_EVENT}`];
  return Object.entries(EXPECTED_TYPES).flatMap(([property, type]) => {
    const field = Object.hasOwn(spec.properties, property) ? spec.properties[property] : undefined;
    return field?.type === type ? [] : [`${CONSENT_EVENT} needs the ${type} property "${property}", but the plan ${field ? `declares it ${field.type}` : 'does not declare it'}`];
  });
}

export function isConsentPurpose(v: unknown): v is ConsentPurpose {
  return typeof v === 'string' && (CONSENT_PURPOSES as readonly string[]).includes(v);
}
