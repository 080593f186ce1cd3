/**
 * The demo's example segments (src/demo/segments/*.yaml), read and lowered to IR exactly as
 * the registry does: parse, validate against the demo plan, inline references.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrackingPlan } from '../../src/schema/tracking-plan.js';
import type { SegmentIR } from '../../src/segments/ir/nodes.js';
import { buildSegmentIR, parseSegmentText, validateSegment, type SegmentDefinition } from '../../src/segments/language/index.js';

export const DEMO_SEGMENTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'demo', 'segments');

export interface DemoSegment {
  readonly key: string;
  readonly file: string;
  readonly definition: SegmentDefinition;
  readonly ir: SegmentIR;
}

export function loadDemoSegments(plan: TrackingPlan, dir = DEMO_SEGMENTS_DIR): DemoSegment[] {
  const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  if (files.length === 0) throw new Error(`no segment files in ${dir}`);
  const definitions = files.map((f) => {
    const file = join(dir, f);
    return { file, definition: validateSegment(parseSegmentText(readFileSync(file, 'utf8'), file), plan) };
  });
  const byKey = new Map(definitions.map((d) => [d.definition.key, d.definition]));
  return definitions.map(({ file, definition }) => ({
    key: definition.key,
    file,
    definition,
    ir: buildSegmentIR(definition, plan, (key) => byKey.get(key)),
  }));
}
