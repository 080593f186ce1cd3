/**
 * `score`, `percentile` and `cluster` segments through the registry on ClickHouse 18.16, a
 * single node and a two-shard cluster (model_versions and score_runs on the initiator,
 * model_scores sharded with each user's rows): the catalogue is read for validation, the
 * run as of each instant is resolved once and every shard reads its own rows of it. The
 * answers are worked out by hand below and are the same on every layout; the lifecycle
 * report with a stage reading a score agrees too.
 *
 * Users u01..u10 visited on 2024-05-20; u11 too, unscored. Run 1 (churn-risk, as of
 * 2024-06-01): scores 0.05 0.15 0.25 0.35 0.45 0.55 0.65 0.70 0.85 0.95, weak ranks 10..100.
 * Run 2 (as of 2024-06-20) reverses them. Run 3 (personas, 2024-06-01): u(i) is i mod 3.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifecycleReport, parseLifecycleSection } from '../src/analysis/lifecycle/index.js';
import { saveModelVersion, writeScoreRun } from '../src/models/registry/model-store.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { LAYOUTS, startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';
import { loadIntoStore, seedDataset } from './support/load-duckdb.js';

const plan = parsePlan({ events: { visit: {} }, traits: { plan: 'string' } });
const USERS = Array.from({ length: 11 }, (_, i) => `u${String(i + 1).padStart(2, '0')}`);
const SCORED = USERS.slice(0, 10);
const SCORES = [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.7, 0.85, 0.95];
const AS_OF = Date.UTC(2024, 5, 10);
const LATER = Date.UTC(2024, 5, 25);
const envelope = { name: 'n', objective: 'retention' as const, rationale: 'score conditions on ClickHouse', owner: 'growth' };
const DEFINITIONS = [
  { ...envelope, key: 'at-risk', match: { score: 'churn-risk', gte: 0.7 } },
  { ...envelope, key: 'top-decile', match: { score: 'churn-risk', percentile: { gte: 90 } } },
  { ...envelope, key: 'persona-two', match: { cluster: 'personas', eq: 2 } },
  { ...envelope, key: 'not-two', match: { not: { cluster: 'personas', eq: 2 } } },
  { ...envelope, key: 'unscored', match: { score: 'churn-risk', exists: false } },
];

/** Hand-worked members per segment as of AS_OF and LATER. */
const EXPECTED: Record<string, [string[], string[]]> = {
  'at-risk': [['u08', 'u09', 'u10'], ['u01', 'u02', 'u03']],
  'top-decile': [['u09', 'u10'], ['u01', 'u02']],
  'persona-two': [['u02', 'u05', 'u08'], ['u02', 'u05', 'u08']],
  'not-two': [['u01', 'u03', 'u04', 'u06', 'u07', 'u09', 'u10', 'u11'], ['u01', 'u03', 'u04', 'u06', 'u07', 'u09', 'u10', 'u11']],
  unscored: [['u11'], ['u11']],
};

describe.skipIf(!clickhouseAvailable())('score and cluster segments on ClickHouse', () => {
  let layouts: ClickHouseLayouts;
  beforeAll(async () => {
    layouts = await startLayouts('strata_scores_test');
  }, 120_000);
  afterAll(async () => {
    await layouts?.stop();
  });

  for (const layout of LAYOUTS) {
    it(`selects the hand-worked members on a ${layout === 'single' ? 'single node' : 'two-shard cluster'}`, async () => {
      const store = await layouts.open(layout);
      try {
        await store.applyPlan(plan);
        await loadIntoStore(store, plan, seedDataset({ events: USERS.map((user) => ({ user, event: 'visit', at: Date.UTC(2024, 4, 20, 10) })) }));
        const churn = await saveModelVersion(store, { key: 'churn-risk', kind: 'churn', createdAtMs: AS_OF, body: {} });
        const personas = await saveModelVersion(store, { key: 'personas', kind: 'personas', createdAtMs: AS_OF, body: {} });
        const run = { modelKey: 'churn-risk', modelVersion: churn.version, createdAtMs: AS_OF, userIds: SCORED };
        await writeScoreRun(store, { ...run, asOfMs: Date.UTC(2024, 5, 1), scores: Float64Array.from(SCORES) });
        await writeScoreRun(store, { ...run, asOfMs: Date.UTC(2024, 5, 20), scores: Float64Array.from([...SCORES].reverse()) });
        await writeScoreRun(store, {
          modelKey: 'personas',
          modelVersion: personas.version,
          asOfMs: Date.UTC(2024, 5, 1),
          createdAtMs: AS_OF,
          userIds: SCORED,
          clusters: Int32Array.from(SCORED.map((_, i) => (i + 1) % 3)),
        });

        const registry = new SegmentRegistry(store, plan, { now: () => AS_OF });
        await expect(registry.add([{ ...envelope, key: 'bad', match: { cluster: 'personaz', eq: 1 } }])).rejects.toMatchObject({
          details: [{ path: 'match.cluster', message: 'model "personaz" is not stored in the workspace (did you mean "personas"?); stored personas models: "personas"' }],
        });
        await registry.add(DEFINITIONS);
        for (const [i, asOfMs] of [AS_OF, LATER].entries()) {
          const computed = await registry.compute(undefined, { asOfMs });
          expect(computed[0]!.population).toBe(11);
          for (const def of DEFINITIONS) {
            const { ids } = await registry.members(def.key, { asOfMs });
            const got: string[] = [];
            for await (const id of ids) got.push(id);
            expect(got, `${def.key} as of ${new Date(asOfMs).toISOString()}`).toEqual(EXPECTED[def.key]![i]);
          }
        }

        const lifecycle = parseLifecycleSection({ stages: { risky: { name: 'Churn risk', match: { score: 'churn-risk', gte: 0.7 } } }, order: ['risky', 'dormant', 'resurrected', 'at_risk', 'engaged', 'new'] }, plan, () => {});
        const report = await lifecycleReport(store, { plan, lifecycle }, { asOfMs: AS_OF });
        expect(report.stages.find((s) => s.stage === 'risky')!.users).toBe(3);
        expect(report.population).toBe(11);
      } finally {
        await store.dropDatabase();
        await store.close();
      }
    }, 120_000);
  }
});
