/**
 * Spec data (ISO timestamps, JSON values) to the in-memory evaluator's dataset, typed by the
 * tracking plan the way ingest types it: timestamp-typed properties and traits become epoch
 * ms, and profiles are upserted trait by trait in the order given (DESIGN.md, "Data model").
 * A value that does not fit the plan throws: a spec with a typo must fail loudly rather than
 * quietly test something else.
 */
import { propertyTypes, type FieldType, type TrackingPlan } from '../../src/schema/tracking-plan.js';
import { parseInstantMs } from '../../src/time/time.js';
import { percentileRanks } from '../../src/models/registry/model-store.js';
import type { MemoryDataset, MemoryEvent, MemoryScoreRun, MemoryScoreValues, MemoryValue } from '../../src/segments/evaluate/index.js';
import type { SpecEvent, SpecProfile, SpecScoreRun, SpecValue } from './spec-case.js';

export function instantMs(text: string, where: string): number {
  const ms = parseInstantMs(text);
  if (ms === undefined) throw new Error(`${where}: not an ISO-8601 instant: ${JSON.stringify(text)}`);
  return ms;
}

function typed(value: SpecValue, type: FieldType | undefined, where: string): MemoryValue {
  if (type === undefined) throw new Error(`${where}: not declared in the plan`);
  if (type === 'timestamp') {
    if (typeof value !== 'string') throw new Error(`${where}: expected an ISO-8601 instant`);
    return instantMs(value, where);
  }
  if (typeof value !== type) throw new Error(`${where}: expected a ${type}, got ${JSON.stringify(value)}`);
  return value;
}

export function toMemoryDataset(events: readonly SpecEvent[], profiles: readonly SpecProfile[], plan: TrackingPlan): MemoryDataset {
  const types = propertyTypes(plan);
  const memoryEvents: MemoryEvent[] = events.map((e, i) => {
    const where = `events[${i}]`;
    if (!Object.hasOwn(plan.events, e.event)) throw new Error(`${where}.event: ${JSON.stringify(e.event)} is not declared in the plan`);
    // fromEntries defines own properties, so even a property named __proto__ stays data.
    const properties = Object.fromEntries(
      Object.entries(e.properties ?? {}).map(([name, value]) => {
        if (!Object.hasOwn(plan.events[e.event]!.properties, name)) throw new Error(`${where}.properties.${name}: not declared for ${e.event}`);
        return [name, typed(value, types.get(name), `${where}.properties.${name}`)];
      }),
    );
    return { userId: e.user_id, event: e.event, ts: instantMs(e.timestamp, `${where}.timestamp`), properties };
  });
  const merged = new Map<string, Map<string, MemoryValue>>();
  profiles.forEach((p, i) => {
    const traits = merged.get(p.user_id) ?? new Map<string, MemoryValue>();
    for (const [name, value] of Object.entries(p.traits)) {
      const spec = Object.hasOwn(plan.traits, name) ? plan.traits[name] : undefined;
      traits.set(name, typed(value, spec?.type, `profiles[${i}].traits.${name}`));
    }
    merged.set(p.user_id, traits);
  });
  return { events: memoryEvents, profiles: new Map([...merged].map(([u, traits]) => [u, Object.fromEntries(traits)])) };
}

/**
 * A case's scoring runs as the in-memory evaluator reads them: run ids 1, 2, ... in array
 * order (as `writeScoreRun` numbers them in an empty store), percentiles computed from each
 * run's scores with `percentileRanks` (weak ranks within the run), as the store does.
 */
export function toMemoryScoreRuns(runs: readonly SpecScoreRun[]): MemoryScoreRun[] {
  return runs.map((r, i) => {
    const rows = new Map<string, MemoryScoreValues>();
    if (r.scores) {
      const users = Object.keys(r.scores);
      const pct = percentileRanks(Float64Array.from(users.map((u) => r.scores![u]!)));
      users.forEach((u, j) => rows.set(u, { score: r.scores![u]!, percentile: pct[j]!, cluster: null }));
    } else {
      for (const [u, c] of Object.entries(r.clusters ?? {})) rows.set(u, { score: null, percentile: null, cluster: c });
    }
    return { model: r.model, runId: i + 1, asOfMs: r.asOfMs, rows };
  });
}

/** The model catalogue a case's runs imply: each model's key and kind. */
export function specModels(runs: readonly SpecScoreRun[]): Map<string, SpecScoreRun['kind']> {
  return new Map(runs.map((r) => [r.model, r.kind]));
}
