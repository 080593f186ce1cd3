/**
 * Demo data the engine tests share: the demo's segment definitions, and visitors (users
 * with one page view and no profile) written as an events file beside the demo's export.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { demoSegmentFiles } from '../../src/demo/index.js';
import type { TrackingPlan } from '../../src/schema/tracking-plan.js';
import { parseSegmentText, validateSegment, type SegmentDefinition } from '../../src/segments/language/index.js';

/** The demo's segment definitions (src/demo/segments), validated against `plan`, sorted by key. */
export async function demoDefinitions(plan: TrackingPlan): Promise<SegmentDefinition[]> {
  const definitions: SegmentDefinition[] = [];
  for (const f of await demoSegmentFiles()) definitions.push(validateSegment(parseSegmentText(await readFile(f, 'utf8'), f), plan));
  return definitions.sort((a, b) => (a.key < b.key ? -1 : 1));
}

/**
 * Write `file`: one page_viewed event per instant from `visitor-0` on, users with events and
 * no profile, so the population grows over the instants a test looks at.
 */
export async function writeVisitors(file: string, instantsMs: readonly number[], properties?: Readonly<Record<string, string>>): Promise<string> {
  const lines = instantsMs.map((ms, i) =>
    JSON.stringify({ user_id: `visitor-${i}`, event: 'page_viewed', timestamp: new Date(ms).toISOString(), ...(properties ? { properties } : {}) }),
  );
  await writeFile(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}
