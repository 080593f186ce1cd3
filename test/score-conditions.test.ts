/**
 * The `score`, `percentile` and `cluster` condition kinds below the CLI: validation errors
 * (exact paths, the stored models of the right kind), canonical definitions, the SQL the
 * compiler writes for a scoring run (a shared relation per run, a constant when there is no
 * run, a loud error when the caller resolved none), the in-memory run selection, and the
 * integrations that resolve runs: the registry (add, compute), `strata user`'s evaluation
 * of one user and the lifecycle report with a stage that reads a score. Membership itself
 * is held to hand-worked answers on every engine by spec/segments/scores.json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifecycleReport, parseLifecycleSection } from '../src/analysis/lifecycle/index.js';
import { userProfile } from '../src/analysis/user/user-profile.js';
import { StrataError, isStrataError } from '../src/errors/errors.js';
import { saveModelVersion, writeScoreRun } from '../src/models/registry/model-store.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { clickhouseDialect } from '../src/segments/compile/clickhouse-dialect.js';
import { compileSegmentBatch, compileSegmentMembers, duckdbDialect, explainSegmentBatch } from '../src/segments/compile/index.js';
import { selectScoreRuns, type MemoryScoreRun } from '../src/segments/evaluate/index.js';
import { modelsUsed, type SegmentIR } from '../src/segments/ir/nodes.js';
import { buildSegmentIR, canonicalDefinitionJson, definitionHash, validateSegment, type ModelKindName, type SegmentContext } from '../src/segments/language/index.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { SHARDED_TABLES } from '../src/store/clickhouse/migrations.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { loadIntoStore, seedDataset } from './support/load-duckdb.js';

const plan = parsePlan({ events: { visit: {}, purchase: {} }, traits: { plan: 'string' } });
const models = new Map<string, ModelKindName>([
  ['churn-risk', 'churn'],
  ['upgrade', 'propensity'],
  ['personas', 'personas'],
]);
const context: SegmentContext = { models };
const envelope = { key: 'k', name: 'n', objective: 'retention' as const, rationale: 'r', owner: 'growth' };
const asOfMs = Date.UTC(2024, 5, 10);

function details(match: unknown, ctx: SegmentContext = context): [string | undefined, string][] {
  try {
    validateSegment({ ...envelope, match }, plan, ctx);
  } catch (e) {
    if (e instanceof StrataError) return e.details.map((d) => [d.path, d.message]);
    throw e;
  }
  throw new Error('expected validateSegment to throw');
}

const ir = (match: unknown, key = 'k'): SegmentIR => buildSegmentIR(validateSegment({ ...envelope, key, match }, plan, context), plan, () => undefined, context);

describe('validation', () => {
  it('lowers score, percentile and cluster conditions to their IR nodes', () => {
    expect(ir({ score: 'churn-risk', gte: 0.7 }).root).toEqual({ kind: 'score', model: 'churn-risk', measure: 'score', cmp: { op: 'gte', value: { kind: 'number', value: 0.7 } } });
    expect(ir({ score: 'upgrade', percentile: { between: [90, 100] } }).root).toEqual({
      kind: 'score',
      model: 'upgrade',
      measure: 'percentile',
      cmp: { op: 'between', lo: { kind: 'number', value: 90 }, hi: { kind: 'number', value: 100 } },
    });
    expect(ir({ cluster: 'personas', in: [0, 2] }).root).toEqual({ kind: 'cluster', model: 'personas', cmp: { op: 'in', values: [{ kind: 'number', value: 0 }, { kind: 'number', value: 2 }] } });
    expect(ir({ cluster: 'personas', exists: false }).root).toEqual({ kind: 'cluster', model: 'personas', cmp: { op: 'exists', value: false } });
    expect(modelsUsed([ir({ all: [{ score: 'churn-risk', gte: 0.5 }, { not: { cluster: 'personas', eq: 1 } }, { score: 'churn-risk', lt: 0.9 }] }).root])).toEqual(['churn-risk', 'personas']);
  });

  it('names the path of a model the workspace does not hold and lists the stored models of the kind', () => {
    expect(details({ all: [{ did: 'visit' }, { score: 'churn-rsk', gte: 0.7 }] })).toEqual([
      ['match.all[1].score', 'model "churn-rsk" is not stored in the workspace (did you mean "churn-risk"?); stored churn or propensity models: "churn-risk", "upgrade"'],
    ]);
    expect(details({ cluster: 'segments', eq: 1 })).toEqual([['match.cluster', 'model "segments" is not stored in the workspace; stored personas models: "personas"']]);
    expect(details({ score: 'churn-risk', gte: 0.7 }, { models: new Map([['personas', 'personas']]) })).toEqual([
      ['match.score', 'model "churn-risk" is not stored in the workspace; no churn or propensity models are stored (train one with strata model train)'],
    ]);
  });

  it('refuses a model of the wrong kind, saying which condition fits it', () => {
    expect(details({ any: [{ score: 'personas', gte: 0.5 }, { cluster: 'upgrade', eq: 1 }] })).toEqual([
      ['match.any[0].score', 'model "personas" is a personas model; score reads churn or propensity models (for this model write {cluster: personas, eq: ID}); stored churn or propensity models: "churn-risk", "upgrade"'],
      ['match.any[1].cluster', 'model "upgrade" is a propensity model; cluster reads personas models (for this model write {score: upgrade, gte: P}); stored personas models: "personas"'],
    ]);
  });

  it('takes exactly one comparison: an operator beside score, or percentile', () => {
    expect(details({ score: 'churn-risk' })).toEqual([
      [
        'match',
        'expected a comparison on the score: one operator (eq, ne, in, notIn, gt, gte, lt, lte, between, exists) such as {score: churn-risk, gte: 0.7}, or percentile: {<op>: Q} such as {score: churn-risk, percentile: {gte: 90}}',
      ],
    ]);
    expect(details({ score: 'churn-risk', gte: 0.5, percentile: { gte: 90 } })).toEqual([
      ['match.gte', 'expected one comparison: either an operator beside score (the probability) or percentile: {<op>: Q} (the percentile rank), not both; found percentile and gte'],
    ]);
    expect(details({ score: 'churn-risk', gte: 0.5, lt: 0.9 })).toEqual([['match', 'expected exactly one operator, found gte and lt: use between for a range, or combine conditions with all: [...]']]);
    expect(details({ score: 'churn-risk', percentile: {} })).toEqual([['match.percentile', 'expected one operator: eq, ne, in, notIn, gt, gte, lt, lte, between, exists']]);
    expect(details({ cluster: 'personas' })).toEqual([['match', 'expected a comparison on the persona id: one operator (eq, ne, in, notIn, exists) such as {cluster: personas, eq: 2}']]);
  });

  it('checks the literal: a probability, a percentile, a persona id', () => {
    expect(details({ score: 'churn-risk', gte: 70 })).toEqual([
      ['match.gte', 'expected a probability between 0 and 1 (the score of model "churn-risk"); for the top percentiles write percentile: {<op>: 70}, for a probability 0.7, got 70'],
    ]);
    expect(details({ score: 'churn-risk', between: [0.9, 0.5] })).toEqual([['match.between', 'expected lo <= hi, got [0.9,0.5]']]);
    expect(details({ score: 'churn-risk', in: ['high'] })).toEqual([['match.in[0]', 'expected a probability between 0 and 1 (the score of model "churn-risk"), got "high"']]);
    expect(details({ score: 'churn-risk', percentile: { gte: 120 } })).toEqual([['match.percentile.gte', 'expected a percentile between 0 and 100 (the percentile rank of model "churn-risk"), got 120']]);
    expect(details({ cluster: 'personas', eq: 1.5 })).toEqual([['match.eq', 'expected a persona id: a whole number of at least 0 (the persona id of model "personas"), got 1.5']]);
    expect(details({ cluster: 'personas', gt: 1 })).toEqual([['match.gt', 'gt does not apply to the persona id of model "personas"; expected one of eq, ne, in, notIn, exists']]);
    expect(details({ score: 'churn-risk', contains: 'x' })).toEqual([['match.contains', 'contains does not apply to the score of model "churn-risk"; expected one of eq, ne, in, notIn, gt, gte, lt, lte, between, exists']]);
  });

  it('checks the shape: model keys, and no windows or other keys', () => {
    const bad = details({ score: 'Churn Risk', gte: 0.5 });
    expect(bad).toHaveLength(1);
    expect(bad[0]![0]).toBe('match.score');
    expect(bad[0]![1]).toContain('expected the key of a churn or propensity model stored in the workspace');
    const window = details({ score: 'churn-risk', gte: 0.5, within: '7d' });
    expect(window.map(([p]) => p)).toEqual(['match.within']);
    expect(window[0]![1]).toContain('unknown key');
    expect(details({ cluster: 'personas', eq: 1, percentile: { gte: 1 } }).map(([p]) => p)).toEqual(['match.percentile']);
  });

  it('round-trips through the canonical definition', () => {
    const def = validateSegment({ ...envelope, match: { all: [{ percentile: { gte: 90 }, score: 'churn-risk' }, { eq: 2, cluster: 'personas' }] } }, plan, context);
    const json = canonicalDefinitionJson(def);
    expect(json).toContain('{"score":"churn-risk","percentile":{"gte":90}}');
    expect(json).toContain('{"cluster":"personas","eq":2}');
    const again = validateSegment(JSON.parse(json), plan, context);
    expect(definitionHash(again)).toBe(definitionHash(def));
    expect(buildSegmentIR(again, plan, () => undefined, context)).toEqual(buildSegmentIR(def, plan, () => undefined, context));
  });
});

describe('SQL', () => {
  const high = ir({ score: 'churn-risk', gte: 0.7 }, 'high');
  const top = ir({ score: 'churn-risk', percentile: { gte: 90 } }, 'top');
  const persona = ir({ cluster: 'personas', notIn: [1] }, 'persona');

  it('reads each run once, from model_scores by run id, joined on user_id', () => {
    const scoreRuns = new Map([
      ['churn-risk', 7],
      ['personas', 8],
    ]);
    const { sql, relations } = explainSegmentBatch([high, top, persona], { dialect: duckdbDialect, asOfMs, scoreRuns });
    expect(sql.match(/FROM model_scores/g)).toHaveLength(2);
    expect(sql).toContain('sc0 AS (\n  SELECT user_id, percentile AS percentile, score AS score\n  FROM model_scores\n  WHERE run_id = 7\n)');
    expect(sql).toContain('LEFT JOIN sc0 ON sc0.user_id = u.user_id');
    expect(sql).toContain('WHERE run_id = 8');
    expect(sql).toContain('coalesce(sc0.score >= 0.7::DOUBLE, FALSE) AS "s_0"');
    expect(sql).toContain('coalesce(sc0.percentile >= 90, FALSE) AS "s_1"');
    expect(sql).toContain('coalesce(sc1.cluster NOT IN (1), FALSE) AS "s_2"');
    expect(relations.filter((r) => r.name.startsWith('sc'))).toEqual([
      {
        name: 'sc0',
        where: ['run_id = 7'],
        measures: [
          { column: 'percentile', expression: 'percentile of model "churn-risk" in scoring run 7 (the latest as of asOf)' },
          { column: 'score', expression: 'score of model "churn-risk" in scoring run 7 (the latest as of asOf)' },
        ],
      },
      { name: 'sc1', where: ['run_id = 8'], measures: [{ column: 'cluster', expression: 'cluster of model "personas" in scoring run 8 (the latest as of asOf)' }] },
    ]);
  });

  it('starts a member list from the population, not from the scores (a scored user may be outside it)', () => {
    const sql = compileSegmentMembers(high, { dialect: duckdbDialect, asOfMs, scoreRuns: new Map([['churn-risk', 3]]) });
    expect(sql).toMatch(/FROM users u\n/);
    expect(sql).toContain('LEFT JOIN sc0 ON sc0.user_id = u.user_id');
    expect(sql).toContain('sc0.score >= 0.7::DOUBLE');
  });

  it("reads a shard's local scores on a ClickHouse cluster", () => {
    const shard = clickhouseDialect({ tables: 'local', sharded: SHARDED_TABLES });
    const sql = compileSegmentBatch([high, persona], { dialect: shard, asOfMs, scoreRuns: new Map([['churn-risk', 3], ['personas', 4]]) }).sql;
    expect(sql).toContain('FROM model_scores_local\n');
    expect(sql).toContain('sc0_score >= toFloat64(0.7)');
    expect(sql).not.toMatch(/FROM model_scores\n/);
  });

  it('compiles a model without a run as of asOf to a constant, and says so in the explanation', () => {
    const missing = ir({ cluster: 'personas', exists: false }, 'missing');
    const scoreRuns = new Map<string, number | null>([
      ['churn-risk', null],
      ['personas', null],
    ]);
    const { sql, relations } = explainSegmentBatch([high, missing], { dialect: duckdbDialect, asOfMs, scoreRuns });
    expect(sql).not.toContain('model_scores');
    expect(sql).toContain('FALSE AS "s_0"');
    expect(sql).toContain('TRUE AS "s_1"');
    expect(relations).toContainEqual({ name: 'model churn-risk', where: [], measures: [{ column: 'score', expression: 'no scoring run of model "churn-risk" as of asOf: missing for every user' }] });
  });

  it('refuses to compile a model whose run the caller did not resolve', () => {
    const attempt = () => compileSegmentBatch([high, persona], { dialect: duckdbDialect, asOfMs, scoreRuns: new Map([['churn-risk', 1]]) });
    expect(attempt).toThrow(/a condition reads model "personas" but the compile options resolve no scoring run for it/);
    try {
      compileSegmentMembers(high, { dialect: duckdbDialect, asOfMs });
    } catch (e) {
      expect(isStrataError(e) && e.code).toBe('INTERNAL');
    }
  });
});

describe('in-memory run selection', () => {
  const run = (runId: number, asOf: number, model = 'm'): MemoryScoreRun => ({ model, runId, asOfMs: asOf, rows: new Map([[`r${runId}`, { score: 0.5, percentile: 100, cluster: null }]]) });
  it('takes the latest as_of at or before asOf, ties to the larger run id, per model', () => {
    const runs = [run(1, 100), run(2, 300), run(3, 200), run(4, 200), run(5, 50, 'other'), run(6, 401, 'other')];
    const rowsOf = (asOf: number) => new Map([...selectScoreRuns(runs, asOf)].map(([m, rows]) => [m, [...rows.keys()]]));
    expect(rowsOf(250)).toEqual(new Map([['m', ['r4']], ['other', ['r5']]]));
    expect(rowsOf(300)).toEqual(new Map([['m', ['r2']], ['other', ['r5']]]));
    expect(rowsOf(99)).toEqual(new Map([['other', ['r5']]]));
    expect(rowsOf(49)).toEqual(new Map());
  });
});

describe('integration on DuckDB: registry, strata user, lifecycle report', () => {
  let store: DuckDbStore;
  let registry: SegmentRegistry;
  const users = ['u1', 'u2', 'u3', 'u4'];

  beforeAll(async () => {
    store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    await store.applyPlan(plan);
    registry = new SegmentRegistry(store, plan, { now: () => asOfMs });
    await loadIntoStore(store, plan, seedDataset({ events: users.map((user) => ({ user, event: 'visit', at: Date.UTC(2024, 5, 2) })) }));
  });
  afterAll(async () => {
    await store?.close();
  });

  it('refuses a segment on a model not yet stored, then accepts it once the model is saved', async () => {
    const def = { ...envelope, key: 'at-risk', match: { score: 'churn-risk', gte: 0.7 } };
    await expect(registry.add([def])).rejects.toMatchObject({
      code: 'SEGMENT_INVALID',
      details: [{ path: 'match.score', message: 'model "churn-risk" is not stored in the workspace; no churn or propensity models are stored (train one with strata model train)' }],
    });
    const model = await saveModelVersion(store, { key: 'churn-risk', kind: 'churn', createdAtMs: Date.UTC(2024, 5, 1), body: {} });
    expect((await registry.add([def]))[0]).toMatchObject({ key: 'at-risk', version: 1, status: 'created' });
    expect(registry.context.models).toEqual(new Map([['churn-risk', 'churn']]));
    // No run yet: the snapshot is empty.
    expect((await registry.compute(['at-risk'], { asOfMs }))[0]).toMatchObject({ size: 0, population: 4 });
    await writeScoreRun(store, {
      modelKey: 'churn-risk',
      modelVersion: model.version,
      asOfMs: Date.UTC(2024, 5, 5),
      createdAtMs: Date.UTC(2024, 5, 5),
      userIds: ['u1', 'u2', 'u3'],
      scores: Float64Array.from([0.9, 0.7, 0.2]),
    });
    expect((await registry.compute(['at-risk'], { asOfMs }))[0]).toMatchObject({ size: 2, population: 4 });
    // As of the run's own instant it is read; a millisecond before, it is not.
    expect((await registry.compute(['at-risk'], { asOfMs: Date.UTC(2024, 5, 5) }))[0]!.size).toBe(2);
    expect((await registry.compute(['at-risk'], { asOfMs: Date.UTC(2024, 5, 5) - 1 }))[0]!.size).toBe(0);
  });

  it("evaluates one user's segments with that user's own row of the run (strata user)", async () => {
    const segments = await registry.currentSegments();
    const profile = (id: string) => userProfile({ store, plan, segments }, id, { asOfMs });
    expect((await profile('u2')).segments).toEqual([{ key: 'at-risk', version: 1 }]);
    expect((await profile('u3')).segments).toEqual([]);
    expect((await profile('u4')).segments).toEqual([]);
  });

  it('counts a lifecycle stage that reads a score, and refuses one naming a model not stored', async () => {
    const section = (model: string) => ({ stages: { risky: { name: 'Churn risk', match: { score: model, gte: 0.7 } } }, order: ['risky', 'dormant', 'resurrected', 'at_risk', 'engaged', 'new'] });
    const errors: string[] = [];
    const lifecycle = parseLifecycleSection(section('churn-risk'), plan, (p, m) => errors.push(`${p}: ${m}`));
    expect(errors).toEqual([]);
    const report = await lifecycleReport(store, { plan, lifecycle }, { asOfMs });
    expect(report.stages.find((s) => s.stage === 'risky')!.users).toBe(2);
    expect(report.population).toBe(4);
    // {lifecycle: risky} in a segment: the stage's score condition lowered into the segment, its run resolved by compute.
    const withModel = new SegmentRegistry(store, plan, { now: () => asOfMs, lifecycle });
    await withModel.add([{ ...envelope, key: 'risky-stage', match: { lifecycle: 'risky' } }]);
    expect((await withModel.compute(['risky-stage'], { asOfMs }))[0]!.size).toBe(2);
    const unknown = parseLifecycleSection(section('churn-rsk'), plan, () => {});
    await expect(lifecycleReport(store, { plan, lifecycle: unknown }, { asOfMs })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      details: [{ path: 'lifecycle.stages.risky.match.score', message: 'model "churn-rsk" is not stored in the workspace (did you mean "churn-risk"?); stored churn or propensity models: "churn-risk"' }],
    });
  });
});
