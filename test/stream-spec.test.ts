/**
 * The spec vectors (spec/segments/*.json) through the streaming evaluator. The oracle is
 * each case's `expected`, worked out by hand from DESIGN.md; on the way, every membership
 * the stream reports is compared with the batch in-memory evaluator at the stream's asOf
 * over the events it has seen (test/support/stream-harness.ts). A case's scoring runs
 * (`scoreRuns`, spec/segments/scores.json) arrive as score blocks between the events
 * (percentiles from `percentileRanks`, as the store computes them; run ids in array order),
 * and the models they name are the catalogue the definition is checked against.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parsePlan, type TrackingPlan } from '../src/schema/tracking-plan.js';
import type { SegmentIR } from '../src/segments/ir/nodes.js';
import { buildSegmentIR, validateSegment, type SegmentDefinition } from '../src/segments/language/index.js';
import { MS } from '../src/time/time.js';
import { readSpecFiles, specConsentDefaults, specScoreRuns, type SpecCase } from './support/spec-case.js';
import { feed, type FeedKind } from './support/stream-harness.js';
import { instantMs, specModels, toMemoryDataset, toMemoryScoreRuns } from './support/to-memory.js';

const SPEC_DIR = fileURLToPath(new URL('../spec/segments', import.meta.url));
const files = readSpecFiles(SPEC_DIR);

function segmentOf(c: SpecCase, plan: TrackingPlan): SegmentIR {
  const consentDefaults = specConsentDefaults(c);
  const context = { models: specModels(specScoreRuns(c)), ...(consentDefaults ? { consentDefaults } : {}) };
  const referenced = new Map<string, SegmentDefinition>();
  for (const raw of c.segments ?? []) {
    const def = validateSegment(raw, plan, context);
    referenced.set(def.key, def);
  }
  return buildSegmentIR(validateSegment(c.definition, plan, context), plan, (key) => referenced.get(key), context);
}

const FEEDS: readonly { kind: FeedKind; latenessMs: number }[] = [
  { kind: 'released', latenessMs: 0 },
  { kind: 'released', latenessMs: 2 * MS.d },
  { kind: 'late-event-clock', latenessMs: 6 * MS.h },
  { kind: 'late-event-clock', latenessMs: 3 * MS.d },
  { kind: 'late-manual-clock', latenessMs: 2 * MS.d },
];

for (const [file, spec] of files) {
  describe(`stream: ${file}`, () => {
    const plan = parsePlan(spec.plan);
    for (const c of spec.cases) {
      it(c.name, () => {
        const asOfMs = instantMs(c.asOf, 'asOf');
        const segment = segmentOf(c, plan);
        const events = toMemoryDataset(c.events, [], plan).events;
        const profiles = c.profiles.map((p) => ({ userId: p.user_id, traits: toMemoryDataset([], [p], plan).profiles.get(p.user_id)! }));
        const scoreRuns = toMemoryScoreRuns(specScoreRuns(c));
        const expected = [...c.expected].sort();
        for (const [i, f] of FEEDS.entries()) {
          for (const seed of [1, 2]) {
            const r = feed({ segments: [segment], events, profiles, asOfMs, scoreRuns }, { ...f, seed: seed * 100 + i, checkEvery: 1 });
            const got = [...r.final.get(segment.key)!].sort();
            expect({ feed: f, seed, members: got, problems: r.problems }).toEqual({ feed: f, seed, members: expected, problems: [] });
          }
        }
      });
    }
  });
}
