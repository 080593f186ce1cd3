/**
 * The segments a definition depends on directly, read from the condition as written, so
 * the registry can order, version and check references without a tracking plan.
 */
import { isRecord } from './condition-checker.js';
import type { SegmentDefinition } from './definition.js';

/** Keys named by `{segment: KEY}` anywhere under all / any / not, each once, in order of appearance. */
export function segmentReferences(def: SegmentDefinition): string[] {
  const keys = new Set<string>();
  const walk = (condition: unknown): void => {
    if (!isRecord(condition)) return;
    if (Object.hasOwn(condition, 'segment') && typeof condition.segment === 'string') keys.add(condition.segment);
    for (const kind of ['all', 'any'] as const) {
      const children = Object.hasOwn(condition, kind) ? condition[kind] : undefined;
      if (Array.isArray(children)) children.forEach(walk);
    }
    if (Object.hasOwn(condition, 'not')) walk(condition.not);
  };
  walk(def.match);
  return [...keys];
}
