/**
 * `npm run bench -- models [--users 1M] [--reps 3] [--gbt-iter 100]`: the supervised learning
 * core (src/models/learn) against scikit-learn on the same data, generated here and written to
 * a scratch folder as raw float64/uint8 files that /usr/bin/python3 reads with numpy.fromfile.
 *
 * - logistic: fitLogistic (standardize, C = 1; damped Newton to tol 1e-10) against
 *   make_pipeline(StandardScaler(), LogisticRegression(C=1)) with sklearn's defaults
 *   (lbfgs, tol 1e-4, max_iter 100), each timed around the fit only (Python: time.perf_counter
 *   inside the script, so interpreter start and loading are left out). Median of --reps.
 *   Also the largest coefficient difference, so the two answers can be seen to agree.
 * - scoring: predictLogistic / predictGbt over all rows, users per second (sklearn's
 *   predict_proba beside it).
 * - gbt: fitGbt against HistGradientBoostingClassifier with the same settings
 *   (max_iter, lr 0.1, 31 leaves, min_samples_leaf 20, 255 bins, no early stopping), once each;
 *   test AUC of both on a held-out fifth.
 * - end to end (runScoringBench, below): `strata model score` on a DuckDB store of the
 *   generated product (5 events per user unless `scoreEvents`), split into features, predict
 *   and write, each against a peer on the same data.
 * Goal (issue 6): logistic fit time at most 2× sklearn's.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auc, designMatrix, fitGbt, fitLogistic, predictGbt, predictLogistic, type DesignMatrix } from '../src/models/learn/index.js';
import { syntheticData } from '../test/support/learn-oracle.js';
import { printTable, ratio, rate, seconds } from './support/report.js';

export const LOGISTIC_GOAL = 2;

export interface ModelsBenchOptions {
  readonly users: number;
  readonly features?: number;
  readonly repetitions: number;
  readonly gbtIterations: number;
  readonly dir?: string;
  readonly keep: boolean;
  /** End-to-end `model score` on a DuckDB product store with this many events (default 5 per user; 0 skips it). */
  readonly scoreEvents?: number;
}

export interface ModelsBenchResult {
  readonly users: number;
  readonly features: number;
  readonly logistic: { strataSeconds: number; sklearnSeconds: number; ratio: number; meetsGoal: boolean; newtonIterations: number; sklearnIterations: number; maxCoefficientDifference: number };
  readonly scoring: { logisticUsersPerSecond: number; sklearnLogisticUsersPerSecond: number; gbtUsersPerSecond: number | null; sklearnGbtUsersPerSecond: number | null };
  readonly gbt: { strataSeconds: number; sklearnSeconds: number; ratio: number; strataAuc: number; sklearnAuc: number; trees: number } | null;
  readonly endToEnd: ScoringBenchResult | null;
}

interface PythonResult {
  logistic: { seconds: number[]; coef: number[]; intercept: number; nIter: number; scoreSeconds: number };
  gbt: { seconds: number; auc: number; scoreSeconds: number } | null;
}

export async function runModelsBench(o: ModelsBenchOptions): Promise<ModelsBenchResult> {
  const n = o.users;
  const p = o.features ?? 30;
  const dir = mkdtempSync(join(o.dir ?? tmpdir(), 'strata-models-bench-'));
  try {
    process.stderr.write(`models: generating ${n.toLocaleString('en-US')} users × ${p} features\n`);
    // Linear labels for logistic regression, nonlinear ones (interactions, thresholds) for trees.
    const data = syntheticData(n, p, 2026, 'linear');
    writeFileSync(join(dir, 'X.f64'), Buffer.from(data.x.buffer));
    writeFileSync(join(dir, 'y.u8'), Buffer.from(data.y.buffer));
    const names = Array.from({ length: p }, (_, j) => `f${j}`);
    const x = designMatrix(data.x, n, names);

    process.stderr.write('models: logistic regression (Strata)\n');
    const fits: number[] = [];
    let model = fitLogistic(x, data.y, { C: 1 });
    for (let r = 0; r < o.repetitions; r++) {
      const t0 = performance.now();
      model = fitLogistic(x, data.y, { C: 1 });
      fits.push((performance.now() - t0) / 1000);
    }
    const scoreStart = performance.now();
    predictLogistic(model, x);
    const logisticScoreSeconds = (performance.now() - scoreStart) / 1000;

    let gbtStrata: { seconds: number; auc: number; trees: number; scoreSeconds: number } | null = null;
    const trainRows = Math.floor(n * 0.8);
    if (o.gbtIterations > 0) {
      const trees = syntheticData(n, p, 2027, 'nonlinear');
      writeFileSync(join(dir, 'Xg.f64'), Buffer.from(trees.x.buffer));
      writeFileSync(join(dir, 'yg.u8'), Buffer.from(trees.y.buffer));
      process.stderr.write(`models: gradient-boosted trees, ${o.gbtIterations} rounds (Strata)\n`);
      const train = rowsOf(trees.x, p, names, 0, trainRows);
      const test = rowsOf(trees.x, p, names, trainRows, n);
      const t0 = performance.now();
      const gbt = fitGbt(train, trees.y.subarray(0, trainRows), { maxIter: o.gbtIterations });
      const seconds = (performance.now() - t0) / 1000;
      const s0 = performance.now();
      const proba = predictGbt(gbt, test);
      const scoreSeconds = (performance.now() - s0) / 1000;
      gbtStrata = { seconds, auc: auc(trees.y.subarray(trainRows), proba), trees: gbt.trees.length, scoreSeconds };
    }

    process.stderr.write('models: scikit-learn\n');
    const py = runPython(dir, n, p, o.repetitions, trainRows, o.gbtIterations);
    const strataSeconds = median(fits);
    const sklearnSeconds = median(py.logistic.seconds);
    const theta = [...model.coef, model.intercept];
    const sk = [...py.logistic.coef, py.logistic.intercept];
    const result: Omit<ModelsBenchResult, 'endToEnd'> = {
      users: n,
      features: p,
      logistic: {
        strataSeconds,
        sklearnSeconds,
        ratio: strataSeconds / sklearnSeconds,
        meetsGoal: strataSeconds / sklearnSeconds <= LOGISTIC_GOAL,
        newtonIterations: model.iterations,
        sklearnIterations: py.logistic.nIter,
        maxCoefficientDifference: Math.max(...sk.map((v, k) => Math.abs(v - theta[k]!))),
      },
      scoring: {
        logisticUsersPerSecond: n / logisticScoreSeconds,
        sklearnLogisticUsersPerSecond: n / py.logistic.scoreSeconds,
        gbtUsersPerSecond: gbtStrata ? (n - trainRows) / gbtStrata.scoreSeconds : null,
        sklearnGbtUsersPerSecond: py.gbt ? (n - trainRows) / py.gbt.scoreSeconds : null,
      },
      gbt:
        gbtStrata && py.gbt
          ? { strataSeconds: gbtStrata.seconds, sklearnSeconds: py.gbt.seconds, ratio: gbtStrata.seconds / py.gbt.seconds, strataAuc: gbtStrata.auc, sklearnAuc: py.gbt.auc, trees: gbtStrata.trees }
          : null,
    };
    print(result);
    const scoreEvents = o.scoreEvents ?? 5 * n;
    const endToEnd = scoreEvents > 0 ? await runScoringBench({ users: n, events: scoreEvents, keep: o.keep, ...(o.dir ? { dir: o.dir } : {}) }) : null;
    return { ...result, endToEnd };
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

function rowsOf(values: Float64Array, p: number, names: string[], from: number, to: number): DesignMatrix {
  return designMatrix(values.subarray(from * p, to * p), to - from, names);
}

function runPython(dir: string, n: number, p: number, reps: number, trainRows: number, gbtIterations: number): PythonResult {
  const script = `
import json, time, warnings
import numpy as np
warnings.simplefilter('ignore')
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
X = np.fromfile(${JSON.stringify(join(dir, 'X.f64'))}, dtype='<f8').reshape(${n}, ${p})
y = np.fromfile(${JSON.stringify(join(dir, 'y.u8'))}, dtype=np.uint8).astype(np.int64)
times = []
for _ in range(${reps}):
    t = time.perf_counter()
    m = make_pipeline(StandardScaler(), LogisticRegression(C=1.0)).fit(X, y)
    times.append(time.perf_counter() - t)
t = time.perf_counter(); m.predict_proba(X); score = time.perf_counter() - t
lr = m[-1]
res = {"logistic": {"seconds": times, "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]), "nIter": int(lr.n_iter_[0]), "scoreSeconds": score}, "gbt": None}
if ${gbtIterations} > 0:
    X = np.fromfile(${JSON.stringify(join(dir, 'Xg.f64'))}, dtype='<f8').reshape(${n}, ${p})
    y = np.fromfile(${JSON.stringify(join(dir, 'yg.u8'))}, dtype=np.uint8).astype(np.int64)
    g = HistGradientBoostingClassifier(max_iter=${gbtIterations}, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, max_bins=255, early_stopping=False, random_state=0)
    t = time.perf_counter(); g.fit(X[:${trainRows}], y[:${trainRows}]); fit = time.perf_counter() - t
    t = time.perf_counter(); pr = g.predict_proba(X[${trainRows}:])[:, 1]; score = time.perf_counter() - t
    res["gbt"] = {"seconds": fit, "auc": roc_auc_score(y[${trainRows}:], pr), "scoreSeconds": score}
print(json.dumps(res))
`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 26 })) as PythonResult;
}

function print(r: Omit<ModelsBenchResult, 'endToEnd'>): void {
  const l = r.logistic;
  printTable(`logistic regression, ${r.users.toLocaleString('en-US')} users × ${r.features} features (goal: ratio ≤ ${LOGISTIC_GOAL})`, ['', 'Strata (Newton)', 'sklearn (lbfgs)', 'ratio'], [
    ['fit seconds', seconds(l.strataSeconds), seconds(l.sklearnSeconds), ratio(l.ratio)],
    ['iterations', l.newtonIterations, l.sklearnIterations, ''],
    ['max |coef difference|', l.maxCoefficientDifference.toExponential(2), '', ''],
  ]);
  const s = r.scoring;
  printTable('scoring throughput (users/s)', ['model', 'Strata', 'sklearn predict_proba'], [
    ['logistic', rate(s.logisticUsersPerSecond), rate(s.sklearnLogisticUsersPerSecond)],
    ...(s.gbtUsersPerSecond !== null && s.sklearnGbtUsersPerSecond !== null ? [['gbt', rate(s.gbtUsersPerSecond), rate(s.sklearnGbtUsersPerSecond)]] : []),
  ]);
  if (r.gbt) {
    printTable(`gradient-boosted trees, ${r.gbt.trees} rounds, 80% train / 20% test`, ['', 'Strata', 'sklearn HistGradientBoosting', 'ratio'], [
      ['fit seconds', seconds(r.gbt.strataSeconds), seconds(r.gbt.sklearnSeconds), ratio(r.gbt.ratio)],
      ['test AUC', r.gbt.strataAuc.toFixed(4), r.gbt.sklearnAuc.toFixed(4), ''],
    ]);
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---------------------------------------------------------------------------------------
// End-to-end scoring: `strata model score` (scoreModel) on a DuckDB store of the generated
// product (bench/support/product-data.ts), split into its parts, each against a peer run
// here on the same data:
// - features (the per-user SQL and the matrix built from its rows) against DuckDB reading
//   the finished matrix (user_id + the same columns, stored as a table) through the same
//   driver: what fetching the answer costs without computing it;
// - predict (predictProbability over every page) against sklearn's StandardScaler +
//   LogisticRegression pipeline with the same coefficients, predict_proba on the same matrix;
// - write (writeScoreRun: percentiles, the appender, the run record) against DuckDB copying
//   the run's rows inside the engine (CREATE TABLE AS SELECT).

export interface ScoringBenchOptions {
  readonly users: number;
  readonly events: number;
  readonly dir?: string;
  readonly keep: boolean;
}

export interface ScoringBenchResult {
  readonly users: number;
  readonly events: number;
  readonly features: number;
  readonly asOf: string;
  readonly trainSeconds: number;
  readonly score: { readonly seconds: number; readonly usersPerSecond: number; readonly featuresSeconds: number; readonly predictSeconds: number; readonly writeSeconds: number };
  readonly peers: { readonly duckdbReadMatrixSeconds: number; readonly sklearnPredictSeconds: number; readonly duckdbCopyScoresSeconds: number };
  /** The largest |Strata − sklearn| probability on the same matrix. */
  readonly maxScoreDifference: number;
}

/** Seven of the demo's events, windows 7/28/90 days, no traits: 31 features. */
const SCORING_EVENTS = ['signed_up', 'project_created', 'core_task_completed', 'feature_used', 'page_viewed', 'pricing_viewed', 'invite_sent'];

export async function runScoringBench(o: ScoringBenchOptions): Promise<ScoringBenchResult> {
  const { DEMO_PLAN_DOCUMENT } = await import('../src/demo/demo-plan.js');
  const { parsePlan } = await import('../src/schema/tracking-plan.js');
  const { withProductStore } = await import('./support/product-store.js');
  const { forEachFeaturePage } = await import('../src/models/features/index.js');
  const registry = await import('../src/models/registry/index.js');
  const plan = parsePlan(DEMO_PLAN_DOCUMENT);
  const options = { events: [o.events], users: o.users, repetitions: 1, keep: o.keep, ...(o.dir ? { dir: o.dir } : {}) };
  return withProductStore('models-score', o.events, plan, options, async ({ store, asOfMs, scale }) => {
    const ws = { store, plan, purchase: null };
    // Cancellation propensity: its population (no cancellation before T) is nearly everyone.
    const definition = registry.validateModel(
      { key: 'cancel-propensity', name: 'Cancellation', kind: 'propensity', event: 'subscription_cancelled', horizon: '28d', training: { snapshots: 1, holdout: 1 }, features: { events: SCORING_EVENTS, traits: [] } },
      plan,
      { segmentKeys: null },
    );
    process.stdout.write('  training the model on a 5% sample (1 training and 1 holdout snapshot)\n');
    const t0 = performance.now();
    // Scoring is what is measured; a hash sample keeps training short.
    const trained = await registry.trainModel(ws, definition, { dataEndMs: asOfMs, sample: () => 'hash(user_id) % 20 = 0' });
    const trainSeconds = (performance.now() - t0) / 1000;
    process.stdout.write(`  scoring ${scale.users.toLocaleString('en-US')} users as of ${new Date(asOfMs).toISOString()}\n`);
    const s0 = performance.now();
    const scored = await registry.scoreModel(ws, definition.key, { asOfMs });
    const scoreSeconds = (performance.now() - s0) / 1000;

    // The peers' input: the same matrix, once as raw doubles for numpy and once as a DuckDB table.
    const dir = mkdtempSync(join(o.dir ?? tmpdir(), 'strata-model-score-'));
    try {
      const names = trained.model.names;
      const body = trained.stored.body;
      const restrict = await registry.populationAt(ws, definition, asOfMs);
      const xFile = join(dir, 'X.f64');
      writeFileSync(xFile, '');
      await store.execute(`CREATE TABLE bench_matrix (user_id VARCHAR, ${names.map((_, j) => `f${j} DOUBLE`).join(', ')})`);
      let rows = 0;
      await forEachFeaturePage(store, plan, registry.featureOptionsOf(body.features, asOfMs, restrict), 100_000, async (page) => {
        appendFileSync(xFile, Buffer.from(page.values.buffer, page.values.byteOffset, page.values.byteLength));
        const n = page.userIds.length;
        const cols = names.map((_, j) => ({ name: `f${j}`, type: 'double' as const, values: Float64Array.from({ length: n }, (_, i) => page.values[i * names.length + j]!) }));
        await store.appendRows('bench_matrix', [{ name: 'user_id', type: 'string', values: page.userIds }, ...cols], n);
        rows += n;
      });
      const r0 = performance.now();
      const read = await store.query('SELECT * FROM bench_matrix ORDER BY user_id');
      const duckdbReadMatrixSeconds = (performance.now() - r0) / 1000;
      if (read.length !== scored.users) throw new Error(`the matrix has ${read.length} rows, the run ${scored.users}`);
      const c0 = performance.now();
      await store.execute(`CREATE TABLE bench_scores_copy AS SELECT * FROM model_scores WHERE run_id = ${scored.run.runId}`);
      const duckdbCopyScoresSeconds = (performance.now() - c0) / 1000;
      const ours = Float64Array.from((await registry.readScores(store, scored.run.runId)).map((r) => r.score!));
      writeFileSync(join(dir, 's.f64'), Buffer.from(ours.buffer));
      const m = trained.model as import('../src/models/learn/logistic.js').LogisticModel;
      const py = JSON.parse(
        execFileSync('/usr/bin/python3', ['-c', `
import json, time, numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
p = ${names.length}
X = np.fromfile(${JSON.stringify(xFile)}, dtype='<f8').reshape(-1, p)
ours = np.fromfile(${JSON.stringify(join(dir, 's.f64'))}, dtype='<f8')
sc = StandardScaler(); sc.mean_ = np.array(${JSON.stringify(Array.from(m.standardizer.means))}); sc.scale_ = np.array(${JSON.stringify(Array.from(m.standardizer.sds))}); sc.n_features_in_ = p
lr = LogisticRegression(); lr.coef_ = np.array([${JSON.stringify(Array.from(m.coef))}]); lr.intercept_ = np.array([${m.intercept}]); lr.classes_ = np.array([0, 1])
pipe = make_pipeline(sc, lr)
t = time.perf_counter(); pr = pipe.predict_proba(X)[:, 1]; sec = time.perf_counter() - t
print(json.dumps({"seconds": sec, "maxDiff": float(np.max(np.abs(pr - ours)))}))
`], { encoding: 'utf8', maxBuffer: 1 << 24 }),
      ) as { seconds: number; maxDiff: number };
      if (rows !== scored.users) throw new Error(`exported ${rows} rows, scored ${scored.users}`);
      const result: ScoringBenchResult = {
        users: scored.users,
        events: scale.events,
        features: names.length,
        asOf: scored.asOf,
        trainSeconds,
        score: {
          seconds: scoreSeconds,
          usersPerSecond: scored.users / scoreSeconds,
          featuresSeconds: scored.timings.featuresMs / 1000,
          predictSeconds: scored.timings.predictMs / 1000,
          writeSeconds: scored.timings.writeMs / 1000,
        },
        peers: { duckdbReadMatrixSeconds, sklearnPredictSeconds: py.seconds, duckdbCopyScoresSeconds },
        maxScoreDifference: py.maxDiff,
      };
      printScoring(result);
      return result;
    } finally {
      if (!o.keep) rmSync(dir, { recursive: true, force: true });
    }
  });
}

function printScoring(r: ScoringBenchResult): void {
  const s = r.score;
  const p = r.peers;
  const u = r.users;
  printTable(`strata model score: ${u.toLocaleString('en-US')} users × ${r.features} features, ${r.events.toLocaleString('en-US')} events (DuckDB)`, ['part', 'Strata s', 'users/s', 'peer', 'peer s', 'ratio'], [
    ['features (SQL + matrix)', seconds(s.featuresSeconds), rate(u / s.featuresSeconds), 'DuckDB reads the finished matrix', seconds(p.duckdbReadMatrixSeconds), ratio(s.featuresSeconds / p.duckdbReadMatrixSeconds)],
    ['predict', seconds(s.predictSeconds), rate(u / s.predictSeconds), 'sklearn predict_proba (same coef)', seconds(p.sklearnPredictSeconds), ratio(s.predictSeconds / p.sklearnPredictSeconds)],
    ['write run (percentiles, rows)', seconds(s.writeSeconds), rate(u / s.writeSeconds), 'DuckDB copies the rows in-engine', seconds(p.duckdbCopyScoresSeconds), ratio(s.writeSeconds / p.duckdbCopyScoresSeconds)],
    ['total', seconds(s.seconds), rate(s.usersPerSecond), '', '', ''],
  ]);
  process.stdout.write(`  training (2 snapshots of a 5% sample): ${seconds(r.trainSeconds)} s; max |Strata − sklearn| probability: ${r.maxScoreDifference.toExponential(2)}\n`);
}
