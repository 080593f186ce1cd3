/**
 * Differential property test: random segment definitions (as language documents) on random
 * data must give identical members on the in-memory evaluator and, through the SQL
 * compiler, on DuckDB, a ClickHouse single node and a two-shard ClickHouse cluster
 * (DESIGN.md: "Every back end gives the same answer"). DuckDB runs most cases; ClickHouse
 * round trips cost milliseconds each, so its runs batch more definitions per dataset and
 * every engine answers the same scenarios, side by side in a failure.
 *
 * Timestamps sit on a coarse grid (6h steps plus 0, 15 or 30 minutes) and every duration and
 * instant in the definitions is a multiple of 15 minutes on the same grid, so ties, events
 * exactly at asOf, exactly at window starts and at first + span happen often. The session
 * gap is the grid step (6h): events in neighbouring slots are 5h30 to 6h30 apart, so
 * sessions both merge and split on a gap exactly equal to the plan's, and often straddle a
 * window start. A failure prints the shrunk case in spec-vector form (spec/README.md), ready
 * to be judged against DESIGN.md and pasted into spec/segments. The generators are in
 * test/support/segment-arbitraries.ts, shared with the streaming evaluator's property tests.
 * A second property per engine set draws `score`, `percentile` and `cluster` conditions over
 * random scoring runs (ties, runs after asOf, equal as_of, scored users outside the
 * population), stored through the model layer and given to the in-memory evaluator. A third
 * draws consent records, `{consent: PURPOSE}` conditions, targeting purposes and the
 * workspace's consent defaults on a plan with `$consent` (consentScenarioWith).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { evaluateSegments, indexDataset } from '../src/segments/evaluate/index.js';
import { buildSegmentIR, validateSegment, type SegmentDefinition } from '../src/segments/language/index.js';
import { clickhouseAvailable, type LocalClickHouse } from './support/clickhouse-server.js';
import { SegmentEngine, startServerFor } from './support/segment-engines.js';
import { CONSENT_PLAN, MODEL_CATALOGUE, PLAN, consentScenarioWith, scenarioWith, scoredScenarioWith, type Scenario } from './support/segment-arbitraries.js';
import type { SpecScoreRunJson } from './support/spec-case.js';
import { toMemoryDataset, toMemoryScoreRuns } from './support/to-memory.js';

// ---- the property ---------------------------------------------------------------------

/** One segment's members per engine, where some engine differs from the in-memory evaluator. */
interface Disagreement {
  readonly key: string;
  readonly inMemory: readonly string[];
  /** `<engine>` (batch column) and `<engine> membersOnly` (member-list query). */
  readonly engines: Readonly<Record<string, readonly string[]>>;
}

/** A scenario, with scoring runs when its definitions read stored models (scoredScenarioWith). */
type AnyScenario = Scenario & {
  readonly scoreRuns?: readonly SpecScoreRunJson[];
  /** Consent scenarios (consentScenarioWith): the workspace's defaults; their plan is CONSENT_PLAN. */
  readonly consentDefaults?: { readonly analytics: boolean; readonly personalization: boolean; readonly marketing: boolean };
};

/** The failing case, one JSON line per item, in the shapes of spec/README.md so it can become a vector. */
function describeCase(s: AnyScenario, disagreements: readonly Disagreement[]): string {
  const lines = (items: readonly unknown[]) => items.map((x) => `  ${JSON.stringify(x)}`).join('\n');
  return [
    'the engines disagree (plan: PLAN_DOCUMENT in test/support/segment-arbitraries.ts)',
    `asOf: ${s.asOf}`,
    `events:\n${lines(s.events)}`,
    `profiles:\n${lines(s.profiles)}`,
    ...(s.scoreRuns ? [`scoreRuns:\n${lines(s.scoreRuns)}`] : []),
    ...(s.consentDefaults ? [`consentDefaults (plan: CONSENT_PLAN_DOCUMENT): ${JSON.stringify(s.consentDefaults)}`] : []),
    `definitions (match):\n${lines(s.definitions.map((d) => ({ [d.key]: d.match })))}`,
    `members:\n${lines(disagreements.map((d) => ({ [d.key]: { inMemory: d.inMemory, ...d.engines } })))}`,
  ].join('\n');
}

/** Every engine's batch and member lists against the in-memory evaluator; throws the case when any differs. */
async function checkScenario(engines: readonly SegmentEngine[], s: AnyScenario): Promise<void> {
  const asOfMs = Date.parse(s.asOf);
  // The models of the scored scenarios are the stored catalogue; runs numbered in order, as the stores number them.
  const context = { models: MODEL_CATALOGUE, ...(s.consentDefaults ? { consentDefaults: s.consentDefaults } : {}) };
  const scenarioPlan = s.consentDefaults ? CONSENT_PLAN : PLAN;
  const runs = (s.scoreRuns ?? []).map((r) => ({ ...r, asOfMs: Date.parse(r.as_of) }));
  const defs = new Map<string, SegmentDefinition>();
  for (const raw of s.definitions) defs.set(raw.key, validateSegment(raw, scenarioPlan, context));
  const segments = [...defs.values()].map((def) => buildSegmentIR(def, scenarioPlan, (key) => defs.get(key), context));
  const data = { ...toMemoryDataset(s.events, s.profiles, scenarioPlan), scoreRuns: toMemoryScoreRuns(runs) };
  const memory = evaluateSegments(segments, data, asOfMs);
  // The batch has one row per user of the population (DESIGN.md, "Evaluation").
  const population = [...indexDataset(data, asOfMs).keys()].sort();

  const answers = new Map<string, Record<string, readonly string[]>>([['(population)', {}], ...segments.map((g): [string, Record<string, readonly string[]>] => [g.key, {}])]);
  // Engines are separate stores (and servers): they answer side by side.
  await Promise.all(
    engines.map(async (engine) => {
      await engine.load(scenarioPlan, data, MODEL_CATALOGUE);
      const [batch, ...membersOnly] = await Promise.all([engine.batch(segments, asOfMs), ...segments.map((g) => engine.members(g, asOfMs))]);
      answers.get('(population)')![engine.kind] = batch!.users;
      segments.forEach((segment, i) => {
        answers.get(segment.key)![engine.kind] = batch!.members.get(segment.key)!;
        answers.get(segment.key)![`${engine.kind} membersOnly`] = membersOnly[i] as readonly string[];
      });
    }),
  );
  const same = (a: readonly string[], b: readonly string[]) => JSON.stringify(a) === JSON.stringify(b);
  const expected = new Map<string, readonly string[]>([['(population)', population], ...segments.map((g): [string, string[]] => [g.key, [...memory.get(g.key)!].sort()])]);
  const disagreements: Disagreement[] = [...answers].flatMap(([key, byEngine]) => {
    const inMemory = expected.get(key)!;
    return Object.values(byEngine).every((got) => same(got, inMemory)) ? [] : [{ key, inMemory, engines: byEngine }];
  });
  if (disagreements.length > 0) throw new Error(describeCase(s, disagreements));
}

describe('differential: in-memory evaluator vs DuckDB', () => {
  let engine: SegmentEngine;
  beforeAll(async () => {
    engine = await SegmentEngine.open('duckdb', PLAN, null, 'differential');
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('gives identical members for random definitions on random data', async () => {
    const numRuns = process.env.CI ? 500 : 200;
    await fc.assert(
      fc.asyncProperty(scenarioWith(4), (s) => checkScenario([engine], s)),
      { numRuns },
    );
  });

  it('gives identical members with score, percentile and cluster conditions over random scoring runs', async () => {
    const numRuns = process.env.CI ? 150 : 100;
    await fc.assert(
      fc.asyncProperty(scoredScenarioWith(4), (s) => checkScenario([engine], s)),
      { numRuns },
    );
  }, 300_000);

  it('gives identical members with consent conditions, targeting purposes and workspace consent defaults', async () => {
    await engine.store.applyPlan(CONSENT_PLAN);
    const numRuns = process.env.CI ? 100 : 40;
    await fc.assert(
      fc.asyncProperty(consentScenarioWith(4), (s) => checkScenario([engine], s)),
      { numRuns },
    );
  }, 300_000);
});

const clickhouse = clickhouseAvailable();

describe.skipIf(!clickhouse)('differential: in-memory evaluator vs DuckDB, ClickHouse single node and ClickHouse cluster', () => {
  const servers: LocalClickHouse[] = [];
  const engines: SegmentEngine[] = [];
  beforeAll(async () => {
    engines.push(await SegmentEngine.open('duckdb', PLAN, null, 'differential'));
    for (const kind of ['clickhouse', 'clickhouse-cluster'] as const) {
      const server = await startServerFor(kind);
      servers.push(server!);
      engines.push(await SegmentEngine.open(kind, PLAN, server, 'strata_differential'));
    }
  }, 120_000);
  afterAll(async () => {
    for (const e of engines) await e.close();
    for (const s of servers) await s.stop();
  });

  it('gives identical members on every engine for random definitions on random data', async () => {
    // Eight definitions per dataset in one batch: round trips, not definitions, cost time here.
    const numRuns = process.env.CI ? 100 : 40;
    await fc.assert(
      fc.asyncProperty(scenarioWith(8), (s) => checkScenario(engines, s)),
      { numRuns },
    );
  }, 600_000);

  it('gives identical members on every engine with score, percentile and cluster conditions', async () => {
    const numRuns = process.env.CI ? 15 : 12;
    await fc.assert(
      fc.asyncProperty(scoredScenarioWith(8), (s) => checkScenario(engines, s)),
      { numRuns },
    );
  }, 600_000);

  it('gives identical members on every engine with consent conditions and targeting purposes', async () => {
    for (const e of engines) await e.store.applyPlan(CONSENT_PLAN);
    const numRuns = process.env.CI ? 12 : 5;
    await fc.assert(
      fc.asyncProperty(consentScenarioWith(8), (s) => checkScenario(engines, s)),
      { numRuns },
    );
  }, 600_000);
});
