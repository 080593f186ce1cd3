/**
 * Property test: after any event log, the streaming evaluator's membership equals the batch
 * in-memory evaluator's (`evaluateSegments`, which test/differential.test.ts holds to DuckDB)
 * at the same asOf over the events it has seen. Random definitions and data come from the
 * differential test's generators (test/support/segment-arbitraries.ts); the events arrive
 * released in time order by a manual clock, or shuffled within the lateness under the event
 * clock or a manual clock ticking at random instants (test/support/stream-harness.ts).
 *
 * Checked after every event, profile and tick: membership equals the batch evaluator's at
 * the stream's asOf; at the end: replaying the entered/left changes gives the final
 * membership, changes come in time order, and (released feeds) each change's `at` is exact:
 * the batch says the old membership at `at` and the new one a millisecond later.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { buildSegmentIR, validateSegment, type SegmentDefinition } from '../src/segments/language/index.js';
import { MS } from '../src/time/time.js';
import { CONSENT_PLAN, consentScenarioWith, denseScenario, PLAN, scenario, type ConsentScenario, type Scenario } from './support/segment-arbitraries.js';
import { feed, type FeedKind } from './support/stream-harness.js';
import { toMemoryDataset } from './support/to-memory.js';

const KINDS: readonly FeedKind[] = ['released', 'late-event-clock', 'late-manual-clock'];
const LATENESS = [0, 15 * MS.m, 6 * MS.h, 1 * MS.d, 3 * MS.d, Infinity] as const;

function describeCase(s: Scenario | ConsentScenario, kind: FeedKind, latenessMs: number, seed: number, problems: readonly string[]): string {
  const lines = (items: readonly unknown[]) => items.map((x) => `  ${JSON.stringify(x)}`).join('\n');
  return [
    `the streaming evaluator disagrees with the batch evaluator (plan: PLAN_DOCUMENT in test/support/segment-arbitraries.ts; feed ${kind}, lateness ${latenessMs} ms, seed ${seed})`,
    `asOf: ${s.asOf}`,
    `events:\n${lines(s.events)}`,
    `profiles:\n${lines(s.profiles)}`,
    `definitions (match):\n${lines(s.definitions.map((d) => ({ [d.key]: d.match })))}`,
    `problems:\n${lines(problems.slice(0, 10))}`,
  ].join('\n');
}

function check(s: Scenario | ConsentScenario, kind: FeedKind, lateness: number, seed: number, checkEvery: number): void {
  // A released feed never has late events; lateness then only decides how much is sealed.
  const latenessMs = kind !== 'released' && !Number.isFinite(lateness) ? 3 * MS.d : lateness;
  // Consent scenarios: the plan with $consent and the drawn workspace defaults.
  const plan = 'consentDefaults' in s ? CONSENT_PLAN : PLAN;
  const context = 'consentDefaults' in s ? { consentDefaults: s.consentDefaults } : {};
  const defs = new Map<string, SegmentDefinition>();
  for (const raw of s.definitions) defs.set(raw.key, validateSegment(raw, plan, context));
  const segments = [...defs.values()].map((def) => buildSegmentIR(def, plan, (key) => defs.get(key), context));
  const data = toMemoryDataset(s.events, [], plan);
  const profiles = s.profiles.map((p) => ({ userId: p.user_id, traits: toMemoryDataset([], [p], plan).profiles.get(p.user_id)! }));
  const r = feed({ segments, events: data.events, profiles, asOfMs: Date.parse(s.asOf) }, { kind, latenessMs, seed, checkEvery });
  if (r.problems.length > 0) throw new Error(describeCase(s, kind, latenessMs, seed, r.problems));
}

describe('stream property: incremental membership equals the batch evaluator', () => {
  it('for random definitions, data, arrival orders and lateness', () => {
    fc.assert(
      fc.property(scenario, fc.constantFrom(...KINDS), fc.constantFrom(...LATENESS), fc.nat(), (s, kind, lateness, seed) => check(s, kind, lateness, seed, 1)),
      { numRuns: process.env.CI ? 500 : 200 },
    );
  });

  it('over long, dense histories (windows slide past many events; old state is trimmed and sealed)', () => {
    fc.assert(
      fc.property(denseScenario, fc.constantFrom(...KINDS), fc.constantFrom(...LATENESS), fc.nat(), (s, kind, lateness, seed) => check(s, kind, lateness, seed, 13)),
      { numRuns: process.env.CI ? 100 : 40 },
    );
  });

  it('with consent records, consent conditions, targeting purposes and workspace defaults (a $consent event can flip membership)', () => {
    fc.assert(
      fc.property(consentScenarioWith(4), fc.constantFrom(...KINDS), fc.constantFrom(...LATENESS), fc.nat(), (s, kind, lateness, seed) => check(s, kind, lateness, seed, 1)),
      { numRuns: process.env.CI ? 300 : 100 },
    );
  });
});
