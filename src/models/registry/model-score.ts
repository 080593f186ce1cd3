/**
 * Scoring a churn or propensity model as of T: the population's features (events before T,
 * in pages, with the version's columns), the model's probability per user, one scoring run
 * (model_scores rows with weak percentile ranks, then the score_runs record). Users outside
 * the population get no row, so a `score` condition is false for them. And one user's score
 * with the reasons behind it.
 */
import { StrataError } from '../../errors/errors.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { buildFeatures, forEachFeaturePage } from '../features/build-features.js';
import { explainRow } from '../learn/explain.js';
import { predictProbability } from '../learn/index.js';
import { designMatrix } from '../learn/matrix.js';
import { numpyPercentile } from '../learn/metrics.js';
import { latestEventMs, defaultModelAsOf } from '../features/labelled-snapshots.js';
import { readScores, scoreRunsAsOf, listScoreRuns, writeScoreRun, type ScoreRun } from './model-store.js';
import { checkColumns, featureOptionsOf, iso, loadSupervisedModel, populationAt, restrictionPredicate, type ModelWorkspace } from './supervised-model.js';

export const DEFAULT_SCORE_PAGE_USERS = 100_000;

/** The default instant of `score` and `explain`: 1 ms after the latest stored event, so every stored event counts. */
export async function defaultScoreAsOf(ws: ModelWorkspace): Promise<number> {
  if ((await latestEventMs(ws.store)) === null) throw new StrataError('MODEL_INVALID', 'the store has no events: nothing to score');
  return defaultModelAsOf(ws.store);
}

export interface ScoreDistribution {
  readonly mean: number;
  readonly min: number;
  readonly p10: number;
  readonly p25: number;
  readonly median: number;
  readonly p75: number;
  readonly p90: number;
  readonly max: number;
  /** Users per probability band [0, 0.1), [0.1, 0.2), ..., [0.9, 1]. */
  readonly bands: readonly { readonly from: number; readonly to: number; readonly users: number }[];
}

export interface ScoreResult {
  readonly key: string;
  readonly version: number;
  readonly asOf: string;
  readonly run: ScoreRun;
  readonly users: number;
  readonly distribution: ScoreDistribution | null;
  /** Time spent building features, predicting and writing the run (ms). */
  readonly timings: { readonly featuresMs: number; readonly predictMs: number; readonly writeMs: number };
}

export interface ScoreOptions {
  readonly version?: number | null;
  /** Default: 1 ms after the latest stored event. */
  readonly asOfMs?: number;
  readonly nowMs?: number;
  readonly pageUsers?: number;
  readonly onProgress?: (p: { readonly phase: 'features' | 'write'; readonly users: number; readonly pages: number }) => void;
}

export function scoreDistribution(scores: Float64Array): ScoreDistribution | null {
  const n = scores.length;
  if (n === 0) return null;
  const sorted = Float64Array.from(scores).sort();
  let sum = 0;
  const bands = Array.from({ length: 10 }, (_, b) => ({ from: b / 10, to: (b + 1) / 10, users: 0 }));
  for (let i = 0; i < n; i++) {
    sum += scores[i]!;
    bands[Math.min(9, Math.floor(scores[i]! * 10))]!.users++;
  }
  const q = (p: number) => numpyPercentile(sorted, p);
  return { mean: sum / n, min: sorted[0]!, p10: q(0.1), p25: q(0.25), median: q(0.5), p75: q(0.75), p90: q(0.9), max: sorted[n - 1]!, bands };
}

/** Score the model's population as of T and store the run. */
export async function scoreModel(ws: ModelWorkspace, key: string, options: ScoreOptions = {}): Promise<ScoreResult> {
  const { stored, model } = await loadSupervisedModel(ws.store, key, options.version ?? null);
  const def = stored.body.definition;
  const asOfMs = options.asOfMs ?? (await defaultScoreAsOf(ws));
  const restrict = await populationAt(ws, def, asOfMs);
  const userIds: string[] = [];
  const parts: Float64Array[] = [];
  let predictMs = 0;
  let pages = 0;
  const t0 = performance.now();
  await forEachFeaturePage(ws.store, ws.plan, featureOptionsOf(stored.body.features, asOfMs, restrict), options.pageUsers ?? DEFAULT_SCORE_PAGE_USERS, (page) => {
    const t = performance.now();
    checkColumns(model, page.names, key);
    parts.push(predictProbability(model, designMatrix(page.values, page.userIds.length, page.names)));
    for (const u of page.userIds) userIds.push(u);
    predictMs += performance.now() - t;
    options.onProgress?.({ phase: 'features', users: userIds.length, pages: ++pages });
  });
  const featuresMs = performance.now() - t0 - predictMs;
  const scores = new Float64Array(userIds.length);
  let at = 0;
  for (const p of parts) {
    scores.set(p, at);
    at += p.length;
  }
  options.onProgress?.({ phase: 'write', users: userIds.length, pages });
  const t1 = performance.now();
  const run = await writeScoreRun(ws.store, { modelKey: key, modelVersion: stored.version, asOfMs, createdAtMs: options.nowMs ?? Date.now(), userIds, scores });
  const writeMs = performance.now() - t1;
  return { key, version: stored.version, asOf: iso(asOfMs), run, users: userIds.length, distribution: scoreDistribution(scores), timings: { featuresMs, predictMs, writeMs } };
}

export interface ExplainOptions {
  readonly version?: number | null;
  /** Default: 1 ms after the latest stored event. */
  readonly asOfMs?: number;
  readonly top?: number;
}

export interface UserExplanation {
  readonly key: string;
  readonly version: number;
  readonly userId: string;
  readonly asOf: string;
  /** Whether the user is in the model's population as of T (else: no score). */
  readonly inPopulation: boolean;
  readonly score: number | null;
  /** Log-odds of the reference (the mean training row for logistic, the baseline for trees) and of the user. */
  readonly baseLogOdds: number | null;
  readonly logOdds: number | null;
  /** The largest contributions to the user's log-odds, with sign (positive raises the score). */
  readonly reasons: readonly { readonly feature: string; readonly value: number; readonly contribution: number }[];
  /** The user's row in the run a condition reads as of T, when there is one. */
  readonly stored: { readonly runId: number; readonly runAsOf: string; readonly score: number | null; readonly percentile: number | null } | null;
}

/** One user's score as of T and the top reasons (learn/explain.ts), computed from events before T. */
export async function explainModelUser(ws: ModelWorkspace, key: string, userId: string, options: ExplainOptions = {}): Promise<UserExplanation> {
  const { stored, model } = await loadSupervisedModel(ws.store, key, options.version ?? null);
  const def = stored.body.definition;
  const asOfMs = options.asOfMs ?? (await defaultScoreAsOf(ws));
  const population = await populationAt(ws, def, asOfMs);
  // The population's condition and the user's, both predicates on user_id.
  const inPopulation = restrictionPredicate(population);
  const restrict = { where: (d: SqlDialect) => `${inPopulation(d)} AND user_id = ${d.stringLiteral(userId)}` };
  const m = await buildFeatures(ws.store, ws.plan, featureOptionsOf(stored.body.features, asOfMs, restrict));
  const runId = (await scoreRunsAsOf(ws.store, [key], asOfMs)).get(key) ?? null;
  let storedRow: UserExplanation['stored'] = null;
  if (runId !== null) {
    const run = (await listScoreRuns(ws.store, key)).find((r) => r.runId === runId)!;
    const [row] = await readScores(ws.store, runId, [userId]);
    storedRow = { runId, runAsOf: iso(run.asOfMs), score: row?.score ?? null, percentile: row?.percentile ?? null };
  }
  const head = { key, version: stored.version, userId, asOf: iso(asOfMs) };
  if (m.userIds.length === 0) return { ...head, inPopulation: false, score: null, baseLogOdds: null, logOdds: null, reasons: [], stored: storedRow };
  checkColumns(model, m.names, key);
  const x = designMatrix(m.values, 1, m.names);
  const e = explainRow(model, x, 0, options.top ?? 5);
  const logOdds = e.base + e.contributions.reduce((a, c) => a + c, 0);
  return { ...head, inPopulation: true, score: predictProbability(model, x)[0]!, baseLogOdds: e.base, logOdds, reasons: e.reasons, stored: storedRow };
}
