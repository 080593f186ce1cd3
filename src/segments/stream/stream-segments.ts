/**
 * The segments a stream evaluates, from the workspace registry: the current version of
 * each (all by default), validated against the plan and lowered to IR with references
 * resolved among the stored definitions, exactly as `segment compute` builds them.
 */
import { isStrataError, StrataError } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { SegmentIR } from '../ir/nodes.js';
import { buildSegmentIR, validateSegment, type SegmentDefinition } from '../language/index.js';
import type { SegmentRegistry } from '../registry/index.js';

/**
 * `{lifecycle: STAGE}` conditions are lowered over the registry's lifecycle model, and
 * `{score: MODEL}` / `{cluster: MODEL}` checked against the store's model catalogue read now
 * (`registry.segmentContext()`; afterwards `registry.context.models` holds it).
 */
export async function loadStreamSegments(registry: SegmentRegistry, plan: TrackingPlan, keys?: readonly string[]): Promise<SegmentIR[]> {
  // Stored definitions: a version stored before owners were required still loads.
  const context = { ...(await registry.segmentContext()), storedDefinition: true };
  const stored = (await registry.list()).map((s) => s.key);
  if (stored.length === 0) {
    throw new StrataError('SEGMENT_NOT_FOUND', 'no segments in the registry to stream', [{ path: 'segments', message: 'add definitions first: strata segment add segments/' }]);
  }
  const wanted = keys && keys.length > 0 ? [...new Set(keys)] : stored;
  const missing = wanted.filter((k) => !stored.includes(k));
  if (missing.length > 0) {
    throw new StrataError(
      'SEGMENT_NOT_FOUND',
      `no segment ${missing.map((k) => JSON.stringify(k)).join(', ')} in the registry`,
      missing.map((k) => ({ path: `--segments ${k}`, message: `expected one of ${stored.join(', ')}` })),
    );
  }
  const definitions = new Map<string, SegmentDefinition>();
  const resolve = (key: string): SegmentDefinition | undefined => definitions.get(key);
  for (const key of stored) {
    const details = await registry.show(key);
    try {
      definitions.set(key, validateSegment(details.definition, plan, context));
    } catch (e) {
      if (!isStrataError(e)) throw e;
      // Only a segment the stream needs (or one it references) must still fit the plan.
      if (wanted.includes(key)) {
        throw new StrataError('SEGMENT_INVALID', `stored segment "${key}" (version ${details.version}) no longer fits the tracking plan: ${e.message}`, e.details, { cause: e });
      }
    }
  }
  return wanted.map((key) => buildSegmentIR(definitions.get(key)!, plan, resolve, context));
}
