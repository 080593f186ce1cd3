/**
 * Events Strata itself defines: `$exposure` (what an experiment showed the user) and
 * `$consent` (what the user agreed to). They record what happened to or was chosen by a
 * user, not product behaviour, so behavioural features, personas and drivers leave them
 * out by default (the segment language's `*` still matches every event).
 */
import { EXPOSURE_EVENT } from '../experiments/design/exposure.js';
import { CONSENT_EVENT } from '../privacy/consent/consent-event.js';

export const SYSTEM_EVENTS: readonly string[] = [EXPOSURE_EVENT, CONSENT_EVENT];

export function isSystemEvent(event: string): boolean {
  return SYSTEM_EVENTS.includes(event);
}
