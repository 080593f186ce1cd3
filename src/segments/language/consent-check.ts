/**
 * The consent parts of the segment language (issue 7): the `{consent: PURPOSE}` condition
 * and the consent a targeting segment (`purpose: personalization | marketing`) is wrapped
 * in. Both read `$consent` events, so both need the plan to declare them
 * (src/privacy/consent/consent-event.ts); the defaults per purpose come from the workspace
 * (`privacy.consent` in strata.yaml) through the SegmentContext, and are written into the
 * IR node so that every back end applies the same one.
 */
import type { ErrorDetail } from '../../errors/errors.js';
import { CONSENT_PLAN_FIX, consentPlanProblems, isConsentPurpose } from '../../privacy/consent/consent-event.js';
import { CONSENT_PURPOSES, DEFAULT_PRIVACY_CONFIG, type ConsentPurpose } from '../../privacy/privacy-config.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { ConsentNode, Condition } from '../ir/nodes.js';
import { TARGETING_PURPOSES, type SegmentDefinition } from './definition.js';
import { closest, quote, show } from './messages.js';

/** Consent a user without any record has, per purpose (Config.privacy.consentDefaults). */
export type ConsentDefaults = Readonly<Record<ConsentPurpose, boolean>>;

export function consentDefaultsOf(defaults: ConsentDefaults | undefined): ConsentDefaults {
  return defaults ?? DEFAULT_PRIVACY_CONFIG.consentDefaults;
}

/** Why `what` cannot be evaluated on this plan, with the fix; undefined when the plan declares $consent as needed. */
export function consentPlanMessage(plan: TrackingPlan, what: string): string | undefined {
  const problems = consentPlanProblems(plan);
  return problems.length === 0 ? undefined : `${what} reads consent records: ${problems.join('; ')}; ${CONSENT_PLAN_FIX}`;
}

/** `{consent: PURPOSE}` checked: the node, or the errors (purpose first, then the plan). */
export function checkConsentCondition(value: unknown, path: string, plan: TrackingPlan, defaults: ConsentDefaults | undefined): { node?: ConsentNode; errors: ErrorDetail[] } {
  const errors: ErrorDetail[] = [];
  // A non-string is reported by the kind's schema.
  if (typeof value !== 'string' || value === '') return { errors };
  if (!isConsentPurpose(value)) {
    const near = closest(value, CONSENT_PURPOSES);
    errors.push({ path, message: `unknown consent purpose ${show(value)}${near ? ` (did you mean ${quote(near)}?)` : ''}; expected one of ${CONSENT_PURPOSES.join(', ')}` });
  }
  const planProblem = consentPlanMessage(plan, `{consent: ${value}}`);
  if (planProblem) errors.push({ path, message: planProblem });
  if (errors.length > 0 || !isConsentPurpose(value)) return { errors };
  return { node: consentNode(value, defaults), errors };
}

export function consentNode(purpose: ConsentPurpose, defaults: ConsentDefaults | undefined): ConsentNode {
  return { kind: 'consent', purpose, defaultGranted: consentDefaultsOf(defaults)[purpose] };
}

/** The targeting purpose of a definition (personalization or marketing), undefined for analytics. */
export function targetingPurpose(def: Pick<SegmentDefinition, 'purpose'>): ConsentPurpose | undefined {
  return def.purpose !== undefined && TARGETING_PURPOSES.includes(def.purpose) ? def.purpose : undefined;
}

/** A targeting segment needs $consent in the plan: the error at `purpose`, if any. */
export function targetingPlanErrors(raw: Record<string, unknown>, plan: TrackingPlan): ErrorDetail[] {
  const purpose = Object.hasOwn(raw, 'purpose') ? raw.purpose : undefined;
  if (typeof purpose !== 'string' || !(TARGETING_PURPOSES as readonly string[]).includes(purpose)) return [];
  const message = consentPlanMessage(plan, `a ${purpose} segment only has members who granted ${purpose} consent, so it`);
  return message ? [{ path: 'purpose', message }] : [];
}

/**
 * A targeting segment's root: AND {consent: purpose} around what the definition says, so
 * every engine, snapshot, report, stream and experiment targeting honours the consent.
 */
export function withTargetingConsent(root: Condition, def: Pick<SegmentDefinition, 'purpose'>, defaults: ConsentDefaults | undefined): Condition {
  const purpose = targetingPurpose(def);
  return purpose === undefined ? root : { kind: 'and', children: [consentNode(purpose, defaults), root] };
}
