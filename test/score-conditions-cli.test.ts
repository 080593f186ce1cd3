/**
 * `score`, `percentile` and `cluster` conditions through the CLI on a DuckDB workspace:
 * model versions and scoring runs are written through the library (saveModelVersion,
 * writeScoreRun, as `strata model score` and `discover personas` store them), then
 * `segment add` + `segment compute` + `segment members` select the users worked out by
 * hand below, and a segment naming a model the workspace does not hold fails at add with
 * its file and path.
 *
 * Users u01..u10 visited before 2024-06-10; u11 too, but no run scores it. The churn-risk
 * run as of 2024-06-01 gives u01..u10 the scores 0.05 0.15 0.25 0.35 0.45 0.55 0.65 0.70
 * 0.85 0.95 (distinct), so the weak percentile ranks are 10, 20, ..., 100. A second run as
 * of 2024-06-20 reverses them (u01 0.95 ... u10 0.05): read only as of 2024-06-20 or later.
 * The personas run as of 2024-06-01 gives u(i) persona i mod 3.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWorkspace, loadConfig, openStore } from '../src/config/index.js';
import { saveModelVersion, writeScoreRun } from '../src/models/registry/model-store.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { cli, cliJson } from './cli-helpers.js';

const PLAN = parsePlan({ events: { visit: {}, purchase: {} }, traits: { plan: 'string' } });
const USERS = Array.from({ length: 11 }, (_, i) => `u${String(i + 1).padStart(2, '0')}`);
const SCORED = USERS.slice(0, 10);
const SCORES = [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.7, 0.85, 0.95];
const AS_OF = '2024-06-10';
const LATER = '2024-06-25';

let root: string;
let ws: string;

const yaml = (key: string, match: string) => `key: ${key}\nname: ${key}\nobjective: retention\nrationale: score conditions test\nowner: growth\nmatch: ${match}\n`;

async function members(key: string, asOf: string): Promise<string[]> {
  return (await cliJson<{ members: string[] }>(ws, 'segment', 'members', key, '--as-of', asOf)).members.sort();
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-score-cli-'));
  ws = path.join(root, 'ws');
  await initWorkspace(ws, { plan: PLAN });
  const events = USERS.map((u) => JSON.stringify({ user_id: u, event: 'visit', timestamp: '2024-05-20T10:00:00Z' }));
  await writeFile(path.join(root, 'events.jsonl'), `${events.join('\n')}\n`);
  expect((await cli(ws, 'ingest', 'events', path.join(root, 'events.jsonl'))).code).toBe(0);

  const config = await loadConfig({ cwd: ws, env: {}, workspace: ws });
  const store = await openStore(config);
  try {
    const churn = await saveModelVersion(store, { key: 'churn-risk', kind: 'churn', createdAtMs: Date.UTC(2024, 5, 1), body: {} });
    const personas = await saveModelVersion(store, { key: 'personas', kind: 'personas', createdAtMs: Date.UTC(2024, 5, 1), body: {} });
    const run = { modelKey: 'churn-risk', modelVersion: churn.version, createdAtMs: Date.UTC(2024, 5, 1), userIds: SCORED };
    await writeScoreRun(store, { ...run, asOfMs: Date.UTC(2024, 5, 1), scores: Float64Array.from(SCORES) });
    await writeScoreRun(store, { ...run, asOfMs: Date.UTC(2024, 5, 20), scores: Float64Array.from([...SCORES].reverse()) });
    await writeScoreRun(store, {
      modelKey: 'personas',
      modelVersion: personas.version,
      asOfMs: Date.UTC(2024, 5, 1),
      createdAtMs: Date.UTC(2024, 5, 1),
      userIds: SCORED,
      clusters: Int32Array.from(SCORED.map((_, i) => (i + 1) % 3)),
    });
  } finally {
    await store.close();
  }

  const defs = path.join(root, 'defs');
  await mkdir(defs);
  await writeFile(path.join(defs, 'at-risk.yaml'), yaml('at-risk', '{score: churn-risk, gte: 0.7}'));
  await writeFile(path.join(defs, 'top-decile.yaml'), yaml('top-decile', '{score: churn-risk, percentile: {gte: 90}}'));
  await writeFile(path.join(defs, 'persona-two.yaml'), yaml('persona-two', '{cluster: personas, eq: 2}'));
  await writeFile(path.join(defs, 'unscored.yaml'), yaml('unscored', '{score: churn-risk, exists: false}'));
  expect((await cli(ws, 'segment', 'add', defs)).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('score and cluster conditions through segment add / compute / members', () => {
  it('selects the users of the run as of the instant', async () => {
    const computed = await cliJson<{ key: string; size: number; population: number }[]>(ws, 'segment', 'compute', '--as-of', AS_OF);
    const size = Object.fromEntries(computed.map((r) => [r.key, r.size]));
    expect(computed[0]!.population).toBe(11);
    // gte 0.7: u08 (0.70, equal to the threshold), u09 (0.85), u10 (0.95).
    expect(await members('at-risk', AS_OF)).toEqual(['u08', 'u09', 'u10']);
    // Weak ranks 10..100: gte 90 is u09 (90) and u10 (100).
    expect(await members('top-decile', AS_OF)).toEqual(['u09', 'u10']);
    // Persona i mod 3 = 2 for i = 2, 5, 8.
    expect(await members('persona-two', AS_OF)).toEqual(['u02', 'u05', 'u08']);
    // u11 is in the population without a row: its score is missing.
    expect(await members('unscored', AS_OF)).toEqual(['u11']);
    expect(size).toEqual({ 'at-risk': 3, 'top-decile': 2, 'persona-two': 3, unscored: 1 });
  });

  it('reads the later run once it is as of the instant, and no run before the first', async () => {
    // As of 06-25 the reversed run is the latest: u01 0.95, u02 0.85, u03 0.70.
    expect(await members('at-risk', LATER)).toEqual(['u01', 'u02', 'u03']);
    expect(await members('top-decile', LATER)).toEqual(['u01', 'u02']);
    // As of 05-25 no run exists yet: every score is missing.
    expect(await members('at-risk', '2024-05-25')).toEqual([]);
    expect(await members('unscored', '2024-05-25')).toEqual(USERS);
  });

  it('rejects a segment naming a model the workspace does not hold, with its file and path', async () => {
    const bad = path.join(root, 'bad.yaml');
    await writeFile(bad, yaml('bad', '{all: [{did: visit}, {score: churn-rsk, gte: 0.5}]}'));
    const run = await cli(ws, 'segment', 'add', bad);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('match.all[1].score: model "churn-rsk" is not stored in the workspace (did you mean "churn-risk"?); stored churn or propensity models: "churn-risk"');
  });

  it('rejects a score on a personas model and a cluster on a churn model', async () => {
    const wrongScore = path.join(root, 'wrong-score.yaml');
    await writeFile(wrongScore, yaml('wrong-score', '{any: [{did: purchase}, {score: personas, gte: 0.5}]}'));
    const score = await cli(ws, 'segment', 'add', wrongScore);
    expect(score.code).toBe(2);
    expect(score.stderr).toContain('match.any[1].score: model "personas" is a personas model; score reads churn or propensity models (for this model write {cluster: personas, eq: ID}); stored churn or propensity models: "churn-risk"');
    const wrongCluster = path.join(root, 'wrong-cluster.yaml');
    await writeFile(wrongCluster, yaml('wrong-cluster', '{not: {cluster: churn-risk, eq: 1}}'));
    const cluster = await cli(ws, 'segment', 'add', wrongCluster);
    expect(cluster.code).toBe(2);
    expect(cluster.stderr).toContain('match.not.cluster: model "churn-risk" is a churn model; cluster reads personas models (for this model write {score: churn-risk, gte: P}); stored personas models: "personas"');
  });
});
