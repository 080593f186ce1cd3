/**
 * Churn and propensity models end to end on a DuckDB workspace (the CLI and the library),
 * on the synthetic product of model-fixtures.ts whose churn follows recent activity.
 * Oracles, by test: the generating process (holdout AUC well above 0.5); sklearn 1.2's
 * roc_auc_score and log_loss on the predictions `model evaluate --out` exports; sklearn's
 * LogisticRegression(C) (StandardScaler pipeline, newton-cg) on the exported training
 * matrix; the fixture's own rows for who is scored; the weak percentile's definition;
 * the in-memory model for what the store gives back; and the leakage rule (events at or
 * after T change no feature, only labels).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, openStore, type Config } from '../src/config/index.js';
import { buildFeatures } from '../src/models/features/index.js';
import { designMatrix, modelFromJson, predictProbability, type LogisticModel } from '../src/models/learn/index.js';
import {
  evaluateModel,
  featureOptionsOf,
  getModelVersion,
  populationAt,
  readScores,
  saveModelVersion,
  scoreRunsAsOf,
  trainModel,
  validateModel,
  validateModelText,
  modelDocument,
  type ModelEvaluation,
  type ModelWorkspace,
  type SupervisedModelBody,
} from '../src/models/registry/index.js';
import type { EventStore } from '../src/store/event-store.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { cli, cliJson } from './cli-helpers.js';
import { CHURN_YAML, DAY, MODEL_PLAN_YAML, UPGRADE_YAML, eventsCsv, productLog, profilesCsv } from './model-fixtures.js';
import { writeWorkspace } from './support/clickhouse-workspace.js';
import { pythonHas, runOracle } from './support/learn-oracle.js';
import { reloadStore, seedDataset, type SeedEvent } from './support/load-duckdb.js';

const LOG = productLog(1, 800);
const DATA_END = LOG.events.at(-1)!.ts;
const HORIZON = 28 * DAY;
const T_HOLDOUT = Math.floor((DATA_END - HORIZON) / DAY) * DAY;
const iso = (ms: number) => new Date(ms).toISOString();
const hasSklearn = pythonHas(['sklearn', 'numpy']);
if (!hasSklearn && process.env.CI) throw new Error('/usr/bin/python3 lacks sklearn (.ci/run installs python3-sklearn)');

let root = '';
let ws = '';

async function withWorkspace<T>(fn: (w: ModelWorkspace, config: Config, store: EventStore) => Promise<T>): Promise<T> {
  const config = await loadConfig({ cwd: ws, env: {} });
  const store = await openStore(config);
  try {
    return await fn({ store, plan: config.plan, purchase: config.rfm.purchase }, config, store);
  } finally {
    await store.close();
  }
}

interface Trained {
  key: string;
  version: number;
  instants: SupervisedModelBody['instants'];
  evaluation: { training: ModelEvaluation; holdout: ModelEvaluation };
}

let trained: Trained[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-model-'));
  await mkdir(path.join(root, 'files'));
  await mkdir(path.join(root, 'models'));
  await mkdir(path.join(root, 'segments'));
  await writeFile(path.join(root, 'files', 'events.csv'), eventsCsv(LOG.events));
  await writeFile(path.join(root, 'files', 'profiles.csv'), profilesCsv(LOG));
  await writeFile(path.join(root, 'models', 'churn.yaml'), CHURN_YAML);
  await writeFile(path.join(root, 'models', 'upgrade.yaml'), UPGRADE_YAML);
  await writeFile(path.join(root, 'segments', 'paying.yaml'), 'key: paying\nname: Paying\nobjective: monetization\nrationale: Paid plans.\nowner: growth\nmatch:\n  trait: plan\n  in: [pro, team]\n');
  ws = await writeWorkspace(path.join(root, 'ws'), 'store:\n  engine: duckdb\n', MODEL_PLAN_YAML);
  await cliJson(ws, 'ingest', 'events', '../files/events.csv');
  await cliJson(ws, 'ingest', 'profiles', '../files/profiles.csv');
  await cliJson(ws, 'segment', 'add', '../segments');
  trained = await cliJson<Trained[]>(ws, 'model', 'train', '../models');
}, 60_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('strata model train (DuckDB)', () => {
  it('holds out the latest instant out of time and reaches a holdout AUC well above 0.5 (oracle: the generating process)', () => {
    const [churn, upgrade] = trained;
    expect(churn!.key).toBe('churn-risk');
    expect(churn!.instants.holdout.map((s) => s.asOf)).toEqual([iso(T_HOLDOUT)]);
    // Training instants: 14 days apart, the latest label window ending at the holdout instant.
    expect(churn!.instants.training.map((s) => s.asOf)).toEqual([4, 3, 2, 1, 0].map((k) => iso(T_HOLDOUT - HORIZON - k * 14 * DAY)));
    for (const s of churn!.instants.training) expect(Date.parse(s.asOf) + HORIZON).toBeLessThanOrEqual(T_HOLDOUT);
    expect(churn!.evaluation.holdout.auc).toBeGreaterThan(0.85);
    expect(upgrade!.key).toBe('upgrade-propensity');
    expect(upgrade!.evaluation.holdout.auc).toBeGreaterThan(0.7);
    // Holdout labels from the rows: churn = no event at all in [T, T + 28d) among users active in [T - 28d, T).
    const active = (from: number, to: number) => new Set(LOG.events.filter((e) => e.ts >= from && e.ts < to).map((e) => e.user));
    const population = active(T_HOLDOUT - HORIZON, T_HOLDOUT);
    const later = active(T_HOLDOUT, T_HOLDOUT + HORIZON);
    expect(churn!.evaluation.holdout.rows).toBe(population.size);
    expect(churn!.evaluation.holdout.positives).toBe([...population].filter((u) => !later.has(u)).length);
  });

  it('never uses the sensitive trait, and show lists every feature with its importance', async () => {
    const shown = await cliJson<{ body: SupervisedModelBody }>(ws, 'model', 'show', 'upgrade-propensity');
    const names = shown.body.importance.map((f) => f.feature);
    expect(names).toContain('trait:plan=free');
    expect(names.some((n) => n.includes('country'))).toBe(false);
    expect(shown.body.features.traits).toEqual(['plan', 'seats']);
  });

  it.skipIf(!hasSklearn)('holdout AUC and log loss equal sklearn roc_auc_score and log_loss on the exported predictions', async () => {
    const out = path.join(root, 'eval.csv');
    const run = await cliJson<{ asOf: string; evaluation: ModelEvaluation }>(ws, 'model', 'evaluate', 'churn-risk', '--as-of', iso(T_HOLDOUT), '--out', out);
    // The same snapshot as training's holdout: the same numbers.
    expect(run.evaluation).toEqual(trained[0]!.evaluation.holdout);
    const rows = (await readFile(out, 'utf8')).trim().split('\n').slice(1).map((l) => l.split(','));
    const y = Uint8Array.from(rows.map((r) => Number(r[1])));
    const s = Float64Array.from(rows.map((r) => Number(r[2])));
    const sk = runOracle<{ auc: number; logLoss: number }>({ n: y.length, y, scores: s }, `
from sklearn.metrics import roc_auc_score, log_loss
out({"auc": roc_auc_score(y, s), "logLoss": log_loss(y, s)})`);
    expect(run.evaluation.auc).toBeCloseTo(sk.auc, 14);
    expect(Math.abs(run.evaluation.logLoss - sk.logLoss)).toBeLessThan(1e-12 * sk.logLoss);
  });

  it.skipIf(!hasSklearn)('the library reproduces the CLI version bit for bit; its coefficients equal sklearn LogisticRegression(C=0.5) on the exported matrix', async () => {
    await withWorkspace(async (w) => {
      const { definition } = validateModelText(CHURN_YAML, 'churn.yaml', w.plan, { segmentKeys: null })[0]!;
      const result = await trainModel(w, definition);
      const cliVersion = await getModelVersion<SupervisedModelBody>(w.store, 'churn-risk', 1);
      expect(result.stored.body.model).toEqual(cliVersion.body.model);
      // The stored model scores exactly as the fitted one.
      const back = modelFromJson(cliVersion.body.model);
      expect(Array.from(predictProbability(back, result.holdout!.x))).toEqual(Array.from(result.holdout!.predictions));
      const { x, y } = result.training;
      const model = result.model as LogisticModel;
      const sk = runOracle<number[]>({ x: x.values, n: x.n, p: x.p, y }, `
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
m = LogisticRegression(C=0.5, tol=1e-10, max_iter=200, solver='newton-cg').fit(StandardScaler().fit_transform(X), y)
out(m.coef_[0].tolist() + [float(m.intercept_[0])])`);
      const ours = [...model.coef, model.intercept];
      const scale = Math.max(...sk.map(Math.abs));
      sk.forEach((v, k) => expect(Math.abs(ours[k]! - v)).toBeLessThanOrEqual(1e-6 * Math.max(Math.abs(v), 1e-3 * scale)));
    });
  });
});

describe('strata model score and explain (DuckDB)', () => {
  const T = Date.UTC(2026, 7, 1);

  it('stores a run conditions can read (scoreRunsAsOf, readScores) with the in-memory predictions and weak percentiles', async () => {
    const scored = await cliJson<{ run: { runId: number }; users: number; asOf: string }>(ws, 'model', 'score', 'churn-risk', '--as-of', iso(T));
    expect(scored.asOf).toBe(iso(T));
    // Who: users with an event in [T - 28d, T), from the fixture's rows.
    const active = new Set(LOG.events.filter((e) => e.ts >= T - HORIZON && e.ts < T).map((e) => e.user));
    expect(scored.users).toBe(active.size);
    await withWorkspace(async (w) => {
      expect((await scoreRunsAsOf(w.store, ['churn-risk'], T)).get('churn-risk')).toBe(scored.run.runId);
      expect((await scoreRunsAsOf(w.store, ['churn-risk'], T - 1)).get('churn-risk')).toBeNull();
      const rows = await readScores(w.store, scored.run.runId);
      expect(rows.map((r) => r.userId)).toEqual([...active].sort());
      const { body } = await getModelVersion<SupervisedModelBody>(w.store, 'churn-risk');
      const m = await buildFeatures(w.store, w.plan, featureOptionsOf(body.features, T, await populationAt(w, body.definition, T)));
      const p = predictProbability(modelFromJson(body.model), designMatrix(m.values, m.userIds.length, m.names));
      expect(rows.map((r) => r.score)).toEqual(Array.from(p));
      // Weak percentile: 100 x #{j : s_j <= s_i} / n.
      const scores = rows.map((r) => r.score!);
      rows.forEach((r) => expect(r.percentile).toBe((100 * scores.filter((v) => v <= r.score!).length) / scores.length));
    });
  });

  it('a segment condition on the score reads the run as of its instant', async () => {
    await writeFile(path.join(ws, 'at-risk.yaml'), 'key: at-risk\nname: At risk\nobjective: retention\nrationale: High churn risk.\nowner: growth\nmatch: {score: churn-risk, gte: 0.7}\n');
    await cliJson(ws, 'segment', 'add', 'at-risk.yaml');
    const [computed] = await cliJson<{ size: number }[]>(ws, 'segment', 'compute', 'at-risk', '--as-of', iso(T));
    const run = (await withWorkspace((w) => scoreRunsAsOf(w.store, ['churn-risk'], T))).get('churn-risk')!;
    const rows = await withWorkspace((w) => readScores(w.store, run));
    expect(computed!.size).toBe(rows.filter((r) => r.score! >= 0.7).length);
    expect(computed!.size).toBeGreaterThan(0);
  });

  it('explain gives the stored score and reasons that add up to the log-odds; users outside the population get none', async () => {
    const run = await cliJson<{ run: { runId: number } }>(ws, 'model', 'score', 'upgrade-propensity', '--as-of', iso(T));
    const members = await withWorkspace((w) => readScores(w.store, run.run.runId));
    const user = members[Math.floor(members.length / 2)]!;
    const e = await cliJson<{ inPopulation: boolean; score: number; logOdds: number; baseLogOdds: number; reasons: { contribution: number }[]; stored: { runId: number; score: number; percentile: number } }>(
      ws, 'model', 'explain', 'upgrade-propensity', user.userId, '--as-of', iso(T), '--top', '3',
    );
    expect(e.inPopulation).toBe(true);
    expect(e.score).toBe(user.score);
    expect(e.stored).toEqual({ runId: run.run.runId, runAsOf: iso(T), score: user.score, percentile: user.percentile });
    expect(e.logOdds).toBeCloseTo(Math.log(e.score / (1 - e.score)), 9);
    expect(e.reasons).toHaveLength(3);
    const mags = e.reasons.map((r) => Math.abs(r.contribution));
    expect(mags).toEqual([...mags].sort((a, b) => b - a));
    // An upgraded user is outside the propensity population: no score.
    const upgraded = LOG.events.find((ev) => ev.event === 'subscription_upgraded' && ev.ts < T)!.user;
    const out = await cliJson<{ inPopulation: boolean; score: null; stored: { score: null } }>(ws, 'model', 'explain', 'upgrade-propensity', upgraded, '--as-of', iso(T));
    expect(out).toMatchObject({ inPopulation: false, score: null, stored: { score: null } });
  });

  it('a stored segment as the population: its members as of T are scored', async () => {
    await writeFile(path.join(root, 'churn-paying.yaml'), CHURN_YAML.replace('key: churn-risk', 'key: churn-paying').replace('kind: churn', 'kind: churn\npopulation: paying'));
    const [t] = await cliJson<Trained[]>(ws, 'model', 'train', '../churn-paying.yaml');
    expect(t!.evaluation.holdout.rows).toBe(LOG.profiles.filter((p) => p.plan !== 'free').length);
    const scored = await cliJson<{ users: number }>(ws, 'model', 'score', 'churn-paying', '--as-of', iso(T));
    expect(scored.users).toBe(LOG.profiles.filter((p) => p.plan !== 'free').length);
  });

  it('train lists the instants it skipped: those before the first user', async () => {
    await writeFile(path.join(ws, 'long.yaml'), CHURN_YAML.replace('key: churn-risk', 'key: churn-long').replace('snapshots: 5', 'snapshots: 16'));
    const [t] = await cliJson<Trained[]>(ws, 'model', 'train', 'long.yaml');
    const first = LOG.events[0]!.ts;
    const expected = Array.from({ length: 16 }, (_, k) => T_HOLDOUT - HORIZON - (15 - k) * 14 * DAY);
    // With the default population (an event in the 28 days before T), an instant is empty until the first event.
    const empty = expected.filter((t0) => t0 <= first);
    expect(t!.instants.skipped).toEqual(empty.map((t0) => ({ asOf: iso(t0), role: 'training', reason: 'no users in the population' })));
    expect(t!.instants.training.map((s) => s.asOf)).toEqual(expected.filter((t0) => t0 > first).map(iso));
    const human = await cli(ws, 'model', 'show', 'churn-long');
    expect(human.stdout).toContain(`Skipped (training): ${iso(empty[0]!).slice(0, 10)}: no users in the population`);
  });

  it('list shows every model with its versions, holdout AUC and last run; retraining by key adds a version', async () => {
    const again = await cliJson<Trained[]>(ws, 'model', 'train', 'upgrade-propensity');
    expect(again[0]!.evaluation).toEqual(trained[1]!.evaluation);
    const list = await cliJson<{ key: string; kind: string; versions: number; holdoutAuc: number; lastRun: { asOf: string } | null }[]>(ws, 'model', 'list');
    const byKey = new Map(list.map((m) => [m.key, m]));
    expect(byKey.get('upgrade-propensity')).toMatchObject({ kind: 'propensity', versions: 2, holdoutAuc: trained[1]!.evaluation.holdout.auc, lastRun: { asOf: iso(T) } });
    expect(byKey.get('churn-risk')).toMatchObject({ kind: 'churn', lastRun: { asOf: iso(T) } });
    const human = await cli(ws, 'model', 'list');
    expect(human.stdout).toContain('churn-paying');
  });
});

describe('no leakage through the model path', () => {
  it('events at or after T change labels but no feature or score; one just before T changes its user', async () => {
    const config = await withWorkspace(async (_w, c) => c);
    const store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    try {
      await store.migrate();
      await store.applyPlan(config.plan);
      // A smaller product than the workspace's: the store is reloaded three times.
      const small = productLog(2, 250);
      const dataEnd = small.events.at(-1)!.ts;
      const T = Math.floor((dataEnd - HORIZON) / DAY) * DAY;
      const base: SeedEvent[] = small.events.map((e) => ({ user: e.user, event: e.event, at: e.ts, props: { page: e.page ?? null } }));
      const profiles = Object.fromEntries(small.profiles.map((p) => [p.user, { plan: p.plan, seats: p.seats, country: p.country }]));
      await reloadStore(store, config.plan, seedDataset({ events: base, profiles }));
      const w: ModelWorkspace = { store, plan: config.plan, purchase: null };
      const { definition } = validateModelText(CHURN_YAML, 'churn.yaml', w.plan, { segmentKeys: null })[0]!;
      const { stored } = await trainModel(w, definition, { dataEndMs: dataEnd });
      // Reloading empties the model tables too: the trained version is put back each time.
      const reload = async (events: SeedEvent[]) => {
        await reloadStore(store, config.plan, seedDataset({ events, profiles }));
        await saveModelVersion(store, stored);
      };
      const before = await evaluateModel(w, 'churn-risk', { asOfMs: T, dataEndMs: dataEnd });
      const churned = before.predictions.userIds.filter((_, i) => before.predictions.labels[i] === 1).slice(0, 5);
      const planted = before.predictions.userIds[0]!;
      const future: SeedEvent[] = [
        ...churned.map((user) => ({ user, event: 'visit', at: T + 2 * DAY, props: { page: 'home' } })),
        ...before.predictions.userIds.slice(10, 15).map((user) => ({ user, event: 'task_completed', at: T })),
        { user: 'newcomer', event: 'visit', at: T, props: { page: 'docs' } },
      ];
      await reload([...base, ...future]);
      const after = await evaluateModel(w, 'churn-risk', { asOfMs: T, dataEndMs: dataEnd });
      expect(after.predictions.userIds).toEqual(before.predictions.userIds);
      expect(Array.from(after.predictions.scores)).toEqual(Array.from(before.predictions.scores));
      const changed = after.predictions.userIds.filter((_, i) => after.predictions.labels[i] !== before.predictions.labels[i]);
      expect(changed).toEqual(churned);
      await reload([...base, { user: planted, event: 'task_completed', at: T - 1 }]);
      const leaked = await evaluateModel(w, 'churn-risk', { asOfMs: T, dataEndMs: dataEnd });
      const moved = leaked.predictions.userIds.filter((_, i) => leaked.predictions.scores[i] !== before.predictions.scores[i]);
      expect(moved).toEqual([planted]);
    } finally {
      await store.close();
    }
  });
});

describe('the document', () => {
  it('validates back from the document the library stores (modelDocument)', async () => {
    const config = await loadConfig({ cwd: ws, env: {} });
    for (const text of [CHURN_YAML, UPGRADE_YAML, `${CHURN_YAML}population: paying\n`]) {
      const { definition } = validateModelText(text, 'm.yaml', config.plan, { segmentKeys: new Set(['paying']) })[0]!;
      expect(validateModel(modelDocument(definition), config.plan, { segmentKeys: new Set(['paying']) })).toEqual(definition);
    }
  });
});

describe('errors', () => {
  it('reports every problem of a bad document at once, each at file:line and path', async () => {
    const bad = ['key: Bad Key', 'name: Bad', 'kind: propensity', 'horizon: 28h', 'family: forest', 'training: {snapshots: 0, every: 14d}', 'features:', '  traits: [country]', 'populaton: paying', ''].join('\n');
    await writeFile(path.join(ws, 'bad.yaml'), bad);
    const run = await cli(ws, 'model', 'train', 'bad.yaml', '--json');
    expect(run.code).toBe(2);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; details: { path: string; message: string }[] } };
    expect(error.code).toBe('MODEL_INVALID');
    const at = Object.fromEntries(error.details.map((d) => [d.path, d.message]));
    expect(Object.keys(at).sort()).toEqual(
      ['bad.yaml event', 'bad.yaml:1 key', 'bad.yaml:4 horizon', 'bad.yaml:5 family', 'bad.yaml:6 training.snapshots', 'bad.yaml:8 features.traits[0]', 'bad.yaml:9 populaton'].sort(),
    );
    expect(at['bad.yaml:8 features.traits[0]']).toContain('sensitive');
    expect(at['bad.yaml:4 horizon']).toContain('28d');
  });

  it('names unknown models, unknown files, versions, and a population of one class', async () => {
    const missing = await cli(ws, 'model', 'show', 'nope');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no model "nope"');
    const version = await cli(ws, 'model', 'score', 'churn-risk', '--at-version', '9');
    expect(version.stderr).toContain('has no version 9');
    const file = await cli(ws, 'model', 'train', 'Missing.yaml');
    expect(file.stderr).toContain('no such file, folder or stored model');
    // Paying users never upgrade in the fixture: every label is 0.
    await writeFile(path.join(root, 'one-class.yaml'), UPGRADE_YAML.replace('key: upgrade-propensity', 'key: paying-upgrade').replace('kind: propensity', 'kind: propensity\npopulation: paying'));
    const oneClass = await cli(ws, 'model', 'train', '../one-class.yaml');
    expect(oneClass.code).toBe(2);
    expect(oneClass.stderr).toContain('every training label is 0');
    const late = await cli(ws, 'model', 'evaluate', 'churn-risk', '--as-of', iso(DATA_END - DAY));
    expect(late.stderr).toContain('after the data\'s end');
  });

  it('every model subcommand help fits 80 columns', async () => {
    for (const sub of ['train', 'evaluate', 'score', 'show', 'list', 'explain']) {
      const help = await cli(ws, 'model', sub, '--help');
      expect(help.code).toBe(0);
      for (const line of help.stdout.split('\n')) expect(line.length, `${sub}: ${line}`).toBeLessThanOrEqual(80);
    }
  });
});
