/**
 * What the tracking plan declares, in the shape the store's validator takes: each
 * property with its type and the events that declare it, or each trait.
 */
import type { TrackingPlan } from '../schema/tracking-plan.js';
import type { IngestField } from '../store/event-store.js';

export function ingestFields(kind: 'events' | 'profiles', plan: TrackingPlan): IngestField[] {
  if (kind === 'profiles') return Object.entries(plan.traits).map(([name, spec]) => ({ name, type: spec.type, events: null }));
  const byName = new Map<string, { type: IngestField['type']; events: string[] }>();
  for (const [event, spec] of Object.entries(plan.events)) {
    for (const [name, field] of Object.entries(spec.properties)) {
      const entry = byName.get(name) ?? { type: field.type, events: [] };
      entry.events.push(event);
      byName.set(name, entry);
    }
  }
  return [...byName].map(([name, e]) => ({ name, type: e.type, events: e.events }));
}
