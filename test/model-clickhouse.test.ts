/**
 * `strata model` on ClickHouse, one node and a two-shard cluster, through the CLI: train
 * (logistic churn, gbt propensity, a segment population), evaluate, score, explain, show and
 * list. The oracle is the same commands on a DuckDB workspace with the same files (itself
 * held to sklearn and the fixture's rows in model-train.test.ts): features are computed from
 * the same raw measures on every engine, so the models, metrics and every stored score must
 * be the same numbers, not merely close.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, openStore } from '../src/config/index.js';
import { readScores, type UserScore } from '../src/models/registry/index.js';
import { cliJson } from './cli-helpers.js';
import { CHURN_YAML, DAY, MODEL_PLAN_YAML, UPGRADE_YAML, eventsCsv, productLog, profilesCsv } from './model-fixtures.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { LAYOUTS, startLayouts, type ClickHouseLayouts, type Layout } from './support/clickhouse-layouts.js';
import { layoutWorkspace, storeYaml, writeWorkspace } from './support/clickhouse-workspace.js';

const LOG = productLog(3, 300);
const DATA_END = LOG.events.at(-1)!.ts;
const T = new Date(Math.floor(DATA_END / DAY) * DAY - 20 * DAY).toISOString();
const HOLDOUT = new Date(Math.floor((DATA_END - 28 * DAY) / DAY) * DAY).toISOString();

let root = '';
let layouts: ClickHouseLayouts | undefined;

const workspace = (name: string, layout: Layout | 'duckdb', database: string) => writeWorkspace(path.join(root, name), storeYaml(layouts, layout, database), MODEL_PLAN_YAML);

/** Creation times and timings differ between runs; everything else must not. */
function stable<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v) => (['createdAt', 'latestCreatedAt', 'createdAtMs', 'timings'].includes(k) ? undefined : v)));
}

async function scoresOf(ws: string, runIds: readonly number[]): Promise<UserScore[][]> {
  const config = await loadConfig({ cwd: ws, env: {} });
  const store = await openStore(config);
  try {
    return await Promise.all(runIds.map((id) => readScores(store, id)));
  } finally {
    await store.close();
  }
}

async function session(ws: string) {
  await cliJson(ws, 'ingest', 'events', '../files/events.csv');
  await cliJson(ws, 'ingest', 'profiles', '../files/profiles.csv');
  await cliJson(ws, 'segment', 'add', '../segments');
  const trained = await cliJson(ws, 'model', 'train', '../models');
  const evaluated = await cliJson(ws, 'model', 'evaluate', 'churn-risk', '--as-of', HOLDOUT);
  const churn = await cliJson<{ run: { runId: number } }>(ws, 'model', 'score', 'churn-risk', '--as-of', T);
  const upgrade = await cliJson<{ run: { runId: number } }>(ws, 'model', 'score', 'upgrade-propensity', '--as-of', T);
  const paying = await cliJson<{ run: { runId: number } }>(ws, 'model', 'score', 'churn-paying', '--as-of', T);
  const explained = await cliJson(ws, 'model', 'explain', 'upgrade-propensity', 'u0007', '--as-of', T);
  const shown = await cliJson(ws, 'model', 'show', 'churn-risk');
  const listed = await cliJson(ws, 'model', 'list');
  const scores = await scoresOf(ws, [churn.run.runId, upgrade.run.runId, paying.run.runId]);
  return stable({ trained, evaluated, churn, upgrade, paying, explained, shown, listed, scores });
}

let oracle: Awaited<ReturnType<typeof session>>;

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-model-ch-'));
  for (const dir of ['files', 'models', 'segments']) await mkdir(path.join(root, dir));
  await writeFile(path.join(root, 'files', 'events.csv'), eventsCsv(LOG.events));
  await writeFile(path.join(root, 'files', 'profiles.csv'), profilesCsv(LOG));
  await writeFile(path.join(root, 'models', 'churn.yaml'), CHURN_YAML);
  await writeFile(path.join(root, 'models', 'upgrade.yaml'), UPGRADE_YAML);
  await writeFile(path.join(root, 'models', 'churn-paying.yaml'), CHURN_YAML.replace('key: churn-risk', 'key: churn-paying').replace('kind: churn', 'kind: churn\npopulation: paying'));
  await writeFile(path.join(root, 'segments', 'paying.yaml'), 'key: paying\nname: Paying\nobjective: monetization\nrationale: Paid plans.\nowner: growth\nmatch:\n  trait: plan\n  in: [pro, team]\n');
  layouts = await startLayouts('strata_model_test');
  oracle = await session(await workspace('duckdb', 'duckdb', 'unused'));
}, 180_000);

afterAll(async () => {
  await layouts?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe.skipIf(!clickhouseAvailable())('the DuckDB oracle of this file', () => {
  it('trains three models and scores their populations', () => {
    expect(oracle.trained).toHaveLength(3);
    expect(oracle.scores.map((s) => s.length).every((n) => n > 20)).toBe(true);
  });
});

describe.skipIf(!clickhouseAvailable()).each(LAYOUTS)('strata model on ClickHouse (%s)', (layout) => {
  const current = layoutWorkspace(() => layouts!, layout, (database) => workspace(layout, layout, database));

  it('trains, evaluates, scores and explains with the same numbers as DuckDB', async () => {
    const out = await session(current.ws);
    expect(out.trained).toEqual(oracle.trained);
    expect(out.evaluated).toEqual(oracle.evaluated);
    expect(out.scores).toEqual(oracle.scores);
    expect([out.churn, out.upgrade, out.paying]).toEqual([oracle.churn, oracle.upgrade, oracle.paying]);
    expect(out.explained).toEqual(oracle.explained);
    expect(out.shown).toEqual(oracle.shown);
    expect(out.listed).toEqual(oracle.listed);
  }, 120_000);
});
