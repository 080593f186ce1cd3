/**
 * The events a ConsentNode reads, as event filters every back end already knows how to
 * match: the `$consent` records of one purpose that grant it, and those that deny it. A
 * record whose `granted` is missing matches neither, so it is no record anywhere.
 */
import { CONSENT_EVENT, GRANTED_PROPERTY, PURPOSE_PROPERTY } from '../../privacy/consent/consent-event.js';
import type { EventFilter, PropertyPredicate } from './nodes.js';

function purposeIs(purpose: string): PropertyPredicate {
  return { property: PURPOSE_PROPERTY, type: 'string', cmp: { op: 'eq', value: { kind: 'string', value: purpose } } };
}

/** `$consent` events for `purpose` whose `granted` is `granted`. */
export function consentRecordFilter(purpose: string, granted: boolean): EventFilter {
  return {
    event: CONSENT_EVENT,
    where: [purposeIs(purpose), { property: GRANTED_PROPERTY, type: 'boolean', cmp: { op: 'eq', value: { kind: 'boolean', value: granted } } }],
  };
}

/** Every `$consent` event for `purpose` (the stream keeps `granted` as the payload). */
export function consentPurposeFilter(purpose: string): EventFilter {
  return { event: CONSENT_EVENT, where: [purposeIs(purpose)] };
}

/**
 * The decision from the instants of the latest granting and latest denying record before
 * asOf (undefined: none): the later wins, a denial on a tie, the default without either.
 */
export function consentDecision(lastGrantMs: number | undefined, lastDenyMs: number | undefined, defaultGranted: boolean): boolean {
  if (lastGrantMs === undefined && lastDenyMs === undefined) return defaultGranted;
  if (lastDenyMs === undefined) return true;
  return lastGrantMs !== undefined && lastGrantMs > lastDenyMs;
}
