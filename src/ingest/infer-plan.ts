/**
 * Propose a tracking plan from data files, so a newcomer with a CSV writes nothing by
 * hand; and merge a proposal into an existing plan without changing what is declared.
 *
 * Types, per field name over every event and file (a property has one type):
 * - every value `true`/`false` (any case): boolean (a 0/1 column stays a number);
 * - every value a finite number (`12`, `-3.5`, `17850.0`): number;
 * - every value an ISO-8601 date or instant: timestamp (epoch numbers stay numbers);
 * - anything else, or a mix: string.
 * Empty values are ignored. Typed Parquet columns keep their type.
 */
import { StrataError } from '../errors/errors.js';
import {
  DEFAULT_SESSION_GAP_MS,
  childPath,
  isValidName,
  propertyTypes,
  type EventSpec,
  type FieldSpec,
  type FieldType,
  type TrackingPlan,
} from '../schema/tracking-plan.js';
import type { EventStore, FieldProfile, SourceFormat } from '../store/event-store.js';
import { resolveMapping, type ColumnMapping } from './column-mapping.js';
import { resolveSource } from './source-files.js';

/** Rows read per file. DuckDB scans millions of rows in seconds; the cap bounds very large files. */
export const DEFAULT_INFER_MAX_ROWS = 5_000_000;

export interface InferPlanOptions {
  readonly events?: string[];
  readonly profiles?: string[];
  readonly mapping?: ColumnMapping;
  readonly format?: SourceFormat;
  /** Rows read per file (default 5,000,000). */
  readonly maxRows?: number;
}

interface Tally {
  present: number;
  booleans: number;
  numbers: number;
  timestamps: number;
}

export async function inferPlan(store: EventStore, options: InferPlanOptions): Promise<TrackingPlan> {
  const eventFiles = options.events ?? [];
  const profileFiles = options.profiles ?? [];
  if (eventFiles.length === 0 && profileFiles.length === 0) {
    throw new StrataError('INPUT_INVALID', 'plan inference needs at least one event or profile file', [{ path: 'files', message: 'expected files' }]);
  }
  const maxRows = options.maxRows ?? DEFAULT_INFER_MAX_ROWS;

  const eventNames = new Set<string>();
  const eventFields = new Map<string, Set<string>>();
  const propertyTally = new Map<string, Tally>();
  const traitTally = new Map<string, Tally>();
  for (const [kind, files] of [
    ['events', eventFiles],
    ['profiles', profileFiles],
  ] as const) {
    for (const file of files) {
      const resolved = await resolveSource(file, file, options.format);
      try {
        const shape = await store.describeSource(resolved.source);
        const mapping = resolveMapping(kind, options.mapping, shape, file);
        const profile = await store.profileSource(resolved.source, mapping, maxRows);
        if (kind === 'events') {
          for (const e of profile.events) if (isEventName(e.event)) eventNames.add(e.event);
          for (const f of profile.fields) {
            if (f.event === null || !isEventName(f.event) || !isValidName(f.field)) continue;
            const names = eventFields.get(f.event) ?? new Set<string>();
            names.add(f.field);
            eventFields.set(f.event, names);
            tally(propertyTally, f);
          }
        } else {
          for (const f of profile.fields) if (isValidName(f.field)) tally(traitTally, f);
        }
      } finally {
        await resolved.cleanup();
      }
    }
  }

  const events: Record<string, EventSpec> = {};
  for (const name of [...eventNames].sort()) {
    const props = [...(eventFields.get(name) ?? [])].sort();
    events[name] = { properties: Object.fromEntries(props.map((p) => [p, { type: typeOf(propertyTally.get(p)!) }])) };
  }
  const traits: Record<string, FieldSpec> = Object.fromEntries([...traitTally.keys()].sort().map((t) => [t, { type: typeOf(traitTally.get(t)!) }]));
  return { undeclared: 'drop', sessionGapMs: DEFAULT_SESSION_GAP_MS, events, traits };
}

function isEventName(name: string): boolean {
  return isValidName(name) && name !== '*';
}

function tally(into: Map<string, Tally>, f: FieldProfile): void {
  const t = into.get(f.field) ?? { present: 0, booleans: 0, numbers: 0, timestamps: 0 };
  t.present += f.present;
  t.booleans += f.booleans;
  t.numbers += f.numbers;
  t.timestamps += f.timestamps;
  into.set(f.field, t);
}

function typeOf(t: Tally): FieldType {
  if (t.present === 0) return 'string';
  if (t.booleans === t.present) return 'boolean';
  if (t.numbers === t.present) return 'number';
  if (t.timestamps === t.present) return 'timestamp';
  return 'string';
}

export interface PlanConflict {
  /** The declaration that was kept, e.g. `plan.events.purchase.properties.amount`. */
  readonly path: string;
  readonly declared: FieldType;
  readonly inferred: FieldType;
}

export interface PlanMerge {
  readonly plan: TrackingPlan;
  /** Paths of what was added. */
  readonly added: readonly string[];
  /** Where the data suggest another type than the plan declares; the declaration stays. */
  readonly conflicts: readonly PlanConflict[];
}

/** Add what `inferred` has and `existing` lacks; never change an existing declaration. */
export function mergePlan(existing: TrackingPlan, inferred: TrackingPlan): TrackingPlan {
  return mergePlanWithReport(existing, inferred).plan;
}

export function mergePlanWithReport(existing: TrackingPlan, inferred: TrackingPlan): PlanMerge {
  const added: string[] = [];
  const conflicts: PlanConflict[] = [];
  // A property name has one type across events: a new use of a declared name takes the declared type.
  const declaredTypes = new Map(propertyTypes(existing));
  const events: Record<string, EventSpec> = { ...existing.events };
  for (const [name, spec] of Object.entries(inferred.events)) {
    const eventPath = childPath('plan.events', name);
    const current = events[name];
    if (!current) added.push(eventPath);
    const properties: Record<string, FieldSpec> = { ...(current?.properties ?? {}) };
    for (const [prop, field] of Object.entries(spec.properties)) {
      const path = childPath(`${eventPath}.properties`, prop);
      const declared = properties[prop]?.type ?? declaredTypes.get(prop);
      if (declared !== undefined && declared !== field.type) conflicts.push({ path, declared, inferred: field.type });
      if (properties[prop]) continue;
      properties[prop] = { type: declared ?? field.type };
      declaredTypes.set(prop, declared ?? field.type);
      added.push(path);
    }
    events[name] = { ...(current ?? {}), properties };
  }
  const traits: Record<string, FieldSpec> = { ...existing.traits };
  for (const [name, field] of Object.entries(inferred.traits)) {
    const path = childPath('plan.traits', name);
    const current = traits[name];
    if (current) {
      if (current.type !== field.type) conflicts.push({ path, declared: current.type, inferred: field.type });
      continue;
    }
    traits[name] = { type: field.type };
    added.push(path);
  }
  return { plan: { ...existing, events, traits }, added, conflicts };
}
