/**
 * Settings name events the way segments do (`E` or `{event: E, where: [P...]}`, e.g.
 * `lifecycle.core_action`); the SQL wants the IR's EventFilter. The document is checked and
 * lowered as the condition `{did: E, where}` would be, so predicates mean the same here as
 * in a segment.
 */
import { StrataError } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { EventFilter } from '../../segments/ir/nodes.js';
import { checkConditionDocument } from '../../segments/language/index.js';

export function eventFilterFromDocument(doc: { readonly event: string; readonly where?: readonly unknown[] } | null, plan: TrackingPlan, path: string): EventFilter | null {
  if (doc === null) return null;
  const { condition, errors } = checkConditionDocument({ did: doc.event, ...(doc.where && doc.where.length > 0 ? { where: doc.where } : {}) }, plan, path);
  if (condition === undefined || condition.kind !== 'eventCount') {
    throw new StrataError('CONFIG_INVALID', `${path} does not name an event of the tracking plan`, errors.length > 0 ? errors : [{ path, message: 'expected E or {event: E, where: [...]}' }]);
  }
  return condition.filter;
}
