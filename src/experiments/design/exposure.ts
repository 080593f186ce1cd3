/**
 * The `$exposure` event (docs/experiments.md): string properties `experiment` and `variant`.
 * One place for its names and for the plan check, used by definition validation and by the
 * metrics layer (which library callers may reach with a hand-built definition).
 */
import type { TrackingPlan } from '../../schema/tracking-plan.js';

export const EXPOSURE_EVENT = '$exposure';
export const EXPERIMENT_PROPERTY = 'experiment';
export const VARIANT_PROPERTY = 'variant';

/** What to add to strata.yaml so `exposure: event` can read exposures. */
export const EXPOSURE_PLAN_FIX = `add to strata.yaml under plan.events:  "${EXPOSURE_EVENT}": {properties: {${EXPERIMENT_PROPERTY}: string, ${VARIANT_PROPERTY}: string}}  (or set exposure: assignment to derive exposures from assignment)`;

/** Why the plan cannot carry exposures (empty when it can): the event or a string property is missing. */
export function exposurePlanProblems(plan: TrackingPlan): string[] {
  const spec = Object.hasOwn(plan.events, EXPOSURE_EVENT) ? plan.events[EXPOSURE_EVENT] : undefined;
  if (spec === undefined) return [`exposure: event reads ${EXPOSURE_EVENT} events, but the tracking plan does not declare ${EXPOSURE_EVENT}`];
  return [EXPERIMENT_PROPERTY, VARIANT_PROPERTY].flatMap((property) => {
    const field = Object.hasOwn(spec.properties, property) ? spec.properties[property] : undefined;
    return field?.type === 'string'
      ? []
      : [`exposure: event needs the string property "${property}" on ${EXPOSURE_EVENT}, but the plan ${field ? `declares it ${field.type}` : 'does not declare it'}`];
  });
}
