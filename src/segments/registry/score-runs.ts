/**
 * What segment evaluation needs from the model store (src/models/registry/model-store.ts):
 * the catalogue that `{score: MODEL}` and `{cluster: MODEL}` are checked against, and the
 * scoring run each model's conditions read as of an instant, resolved before SQL is
 * compiled so the per-user query names a run id (each shard then reads its own rows).
 */
import { modelCatalogue, scoreRunsAsOf } from '../../models/registry/model-store.js';
import type { EventStore } from '../../store/event-store.js';
import { modelsUsed, type Condition, type SegmentIR } from '../ir/nodes.js';
import type { SegmentContext } from '../language/index.js';

/** `base` with the store's model catalogue (key -> kind), read now. */
export async function withModelCatalogue(store: EventStore, base: SegmentContext = {}): Promise<SegmentContext> {
  return { ...base, models: await modelCatalogue(store) };
}

/**
 * The scoring run as of asOfMs of every model the segments (or bare conditions) read,
 * null for a model with none: `CompileOptions.scoreRuns`. Empty when no segment reads a
 * model, without a query.
 */
export async function scoreRunsFor(store: EventStore, segments: Iterable<SegmentIR | Condition>, asOfMs: number): Promise<Map<string, number | null>> {
  const roots = [...segments].map((s) => ('root' in s ? s.root : s));
  const models = modelsUsed(roots);
  return models.length === 0 ? new Map() : scoreRunsAsOf(store, models, asOfMs);
}
