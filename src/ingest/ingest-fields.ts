/**
 * What the tracking plan declares, in the shape the store's validator takes: each
 * property with its type and the events that declare it, or each trait.
 */
import { isIpField } from '../privacy/minimize.js';
import type { FieldSpec, TrackingPlan } from '../schema/tracking-plan.js';
import type { IngestField } from '../store/event-store.js';

export function ingestFields(kind: 'events' | 'profiles', plan: TrackingPlan): IngestField[] {
  if (kind === 'profiles') return Object.entries(plan.traits).map(([name, spec]) => ({ name, type: spec.type, events: null, ...flags(name, [spec]) }));
  const byName = new Map<string, { type: IngestField['type']; events: string[]; specs: FieldSpec[] }>();
  for (const [event, spec] of Object.entries(plan.events)) {
    for (const [name, field] of Object.entries(spec.properties)) {
      const entry = byName.get(name) ?? { type: field.type, events: [], specs: [] };
      entry.events.push(event);
      entry.specs.push(field);
      byName.set(name, entry);
    }
  }
  return [...byName].map(([name, e]) => ({ name, type: e.type, events: e.events, ...flags(name, e.specs) }));
}

/**
 * A property is one column, so its privacy flags hold for every event declaring it: pii if
 * any declaration says so, an IP field if any declaration makes it one (the stricter reading).
 */
function flags(name: string, specs: readonly FieldSpec[]): { pii?: true; ip?: true } {
  return {
    ...(specs.some((s) => s.pii === true) ? { pii: true as const } : {}),
    ...(specs.some((s) => isIpField(name, s)) ? { ip: true as const } : {}),
  };
}
