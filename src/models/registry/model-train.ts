/**
 * Training and evaluating churn and propensity models (docs/models.md, "Models: churn and
 * propensity"): labelled snapshots at past instants (features before T, labels in
 * [T, T + H)), one learner fitted on the training instants' rows, evaluated out of time on
 * the holdout instants, stored as the next version; and a stored version evaluated again on
 * a later snapshot (monitoring).
 */
import { StrataError } from '../../errors/errors.js';
import { jsonDiff } from '../../governance/diff.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import type { FeatureMatrix } from '../features/build-features.js';
import { labelledSnapshots } from '../features/labelled-snapshots.js';
import { featureImportance, type LearnedModel } from '../learn/explain.js';
import { fitGbt, type GbtOptions } from '../learn/gbt.js';
import { predictProbability } from '../learn/index.js';
import { fitLogistic } from '../learn/logistic.js';
import { designMatrix, type DesignMatrix } from '../learn/matrix.js';
import { modelToJson } from '../learn/serialize.js';
import { MS, utcDayStart } from '../../time/time.js';
import { modelDocument, type ModelDefinition } from './model-definition.js';
import { saveModelVersion, type StoredModelVersion } from './model-store.js';
import {
  checkColumns,
  dataEndOf,
  evaluatePredictions,
  featureOptionsOf,
  iso,
  loadSupervisedModel,
  populationAt,
  resolveLayout,
  restrictionPredicate,
  snapshotInstants,
  type InstantSummary,
  type ModelEvaluation,
  type ModelWorkspace,
  type SkippedInstant,
  type StoredFeatureLayout,
  type SupervisedModelBody,
} from './supervised-model.js';

/** Rows of one labelled set: which user at which instant, the features, the labels. */
export interface LabelledRows {
  readonly userIds: readonly string[];
  readonly asOfMs: Float64Array;
  readonly x: DesignMatrix;
  readonly y: Uint8Array;
}

export interface TrainProgress {
  readonly phase: 'snapshot' | 'fit' | 'evaluate' | 'save';
  readonly done: number;
  readonly total: number;
}

export interface TrainOptions {
  /** The end of the data (default: the latest stored event). */
  readonly dataEndMs?: number;
  readonly nowMs?: number;
  /** The document as written, stored with the version. */
  readonly document?: Record<string, unknown>;
  readonly onProgress?: (p: TrainProgress) => void;
  /**
   * Train and evaluate on a part of the population only: a predicate on `user_id` ANDed with
   * the population at every instant (e.g. a hash sample of a very large population).
   */
  readonly sample?: (dialect: SqlDialect) => string;
  /** Who trains it, for the audit log (default `library`). */
  readonly actor?: string;
}

export interface TrainResult {
  readonly stored: StoredModelVersion<SupervisedModelBody>;
  /** The fitted learner (the stored one parses back to it bit for bit). */
  readonly model: LearnedModel;
  readonly training: LabelledRows;
  /** The holdout rows with the model's predictions; null when every holdout instant was skipped. */
  readonly holdout: (LabelledRows & { readonly predictions: Float64Array }) | null;
}

interface BuiltSnapshot {
  readonly asOfMs: number;
  readonly features: FeatureMatrix;
  readonly labels: Float64Array;
}

/** One labelled snapshot at T for the model (null with a reason when it cannot be used). */
async function labelledAt(
  ws: ModelWorkspace,
  def: ModelDefinition,
  layout: StoredFeatureLayout,
  asOfMs: number,
  dataEndMs: number,
  categories: Readonly<Record<string, readonly string[]>> | undefined,
  sample?: (dialect: SqlDialect) => string,
): Promise<BuiltSnapshot | string> {
  const population = await populationAt(ws, def, asOfMs);
  const restrict = sample === undefined ? population : { where: (d: SqlDialect) => `${restrictionPredicate(population)(d)} AND (${sample(d)})` };
  const set = await labelledSnapshots(ws.store, ws.plan, {
    ...featureOptionsOf(layout, asOfMs, restrict, categories),
    snapshotsMs: [asOfMs],
    horizonDays: def.horizonDays,
    label: def.kind === 'churn' ? { kind: 'churn' } : { kind: 'conversion', event: def.event! },
    dataEndMs,
  });
  const snap = set.snapshots[0];
  if (!snap) return set.skipped[0]?.reason ?? 'not built';
  if (snap.features.userIds.length === 0) return 'no users in the population';
  return snap;
}

/** Rows of several snapshots stacked, in instant order then user order. */
export function stackSnapshots(snaps: readonly BuiltSnapshot[]): LabelledRows {
  const names = snaps[0]!.features.names;
  const n = snaps.reduce((a, s) => a + s.features.userIds.length, 0);
  const values = new Float64Array(n * names.length);
  const y = new Uint8Array(n);
  const asOf = new Float64Array(n);
  const userIds: string[] = [];
  let row = 0;
  for (const s of snaps) {
    values.set(s.features.values, row * names.length);
    for (let i = 0; i < s.labels.length; i++) {
      y[row + i] = s.labels[i]!;
      asOf[row + i] = s.asOfMs;
    }
    for (const u of s.features.userIds) userIds.push(u);
    row += s.labels.length;
  }
  return { userIds, asOfMs: asOf, x: designMatrix(values, n, names), y };
}

function summary(s: BuiltSnapshot): InstantSummary {
  let positives = 0;
  for (const v of s.labels) positives += v;
  return { asOf: iso(s.asOfMs), users: s.labels.length, positives };
}

function fitLearner(def: ModelDefinition, x: DesignMatrix, y: Uint8Array): LearnedModel {
  if (def.family === 'logistic') return fitLogistic(x, y, { C: (def.params.C as number | undefined) ?? 1 });
  return fitGbt(x, y, def.params as GbtOptions);
}

/**
 * Train a model from a checked definition: build the labelled snapshots, fit on the
 * training instants, evaluate on the holdout, compute importance, store the next version.
 */
export async function trainModel(ws: ModelWorkspace, def: ModelDefinition, options: TrainOptions = {}): Promise<TrainResult> {
  const dataEndMs = await dataEndOf(ws.store, options.dataEndMs);
  const instants = snapshotInstants(def, dataEndMs);
  const layout0 = resolveLayout(ws, def);
  const all = [...instants.training.map((t) => ({ t, role: 'training' as const })), ...instants.holdout.map((t) => ({ t, role: 'holdout' as const }))];
  const built: Record<'training' | 'holdout', BuiltSnapshot[]> = { training: [], holdout: [] };
  const skipped: SkippedInstant[] = [];
  let categories: Readonly<Record<string, readonly string[]>> | undefined;
  for (const [i, { t, role }] of all.entries()) {
    options.onProgress?.({ phase: 'snapshot', done: i, total: all.length });
    const snap = await labelledAt(ws, def, layout0, t, dataEndMs, categories, options.sample);
    if (typeof snap === 'string') skipped.push({ asOf: iso(t), role, reason: snap });
    else {
      // The first snapshot built fixes the one-hot values for every other one (and for scoring).
      categories ??= snap.features.categories;
      built[role].push(snap);
    }
  }
  if (built.training.length === 0) {
    throw new StrataError('MODEL_INVALID', `model "${def.key}": no training snapshot could be built (${skipped.map((s) => `${s.asOf}: ${s.reason}`).join('; ')}); the data ends ${iso(dataEndMs)}: fewer or closer snapshots (training.snapshots, training.every) or a shorter horizon may fit`);
  }
  const training = stackSnapshots(built.training);
  const pos = training.y.reduce((a, v) => a + v, 0);
  if (pos === 0 || pos === training.y.length) {
    throw new StrataError('MODEL_INVALID', `model "${def.key}": every training label is ${pos === 0 ? 0 : 1} (${training.y.length} rows at ${built.training.length} instants), so there is nothing to learn; check the horizon and the ${def.kind === 'churn' ? 'population' : 'event'}`);
  }
  options.onProgress?.({ phase: 'fit', done: 0, total: 1 });
  const model = fitLearner(def, training.x, training.y);
  options.onProgress?.({ phase: 'evaluate', done: 0, total: 1 });
  const trainEval = evaluatePredictions(training.y, predictProbability(model, training.x));
  let holdout: TrainResult['holdout'] = null;
  let holdoutEval: ModelEvaluation | null = null;
  if (built.holdout.length > 0) {
    const rows = stackSnapshots(built.holdout);
    checkColumns(model, rows.x.names, def.key);
    const predictions = predictProbability(model, rows.x);
    holdout = { ...rows, predictions };
    holdoutEval = evaluatePredictions(rows.y, predictions);
  }
  const body: SupervisedModelBody = {
    definition: def,
    document: options.document ?? modelDocument(def),
    model: modelToJson(model),
    features: { ...layout0, categories: categories ?? {} },
    dataEnd: iso(dataEndMs),
    instants: { training: built.training.map(summary), holdout: built.holdout.map(summary), skipped },
    evaluation: { training: trainEval, holdout: holdoutEval },
    importance: featureImportance(model),
  };
  options.onProgress?.({ phase: 'save', done: 0, total: 1 });
  const stored = await saveModelVersion(ws.store, { key: def.key, kind: def.kind, createdAtMs: options.nowMs ?? Date.now(), body }, {
    ...(options.actor !== undefined ? { actor: options.actor } : {}),
    action: 'model.train',
    detail: (version, previous) => trainAuditDetail(body, version, previous),
  });
  return { stored, model, training, holdout };
}

/** The audit record's detail: the version, the definition's diff against the previous version, the holdout metrics. */
function trainAuditDetail(body: SupervisedModelBody, version: number, previous: { readonly version: number; readonly body: SupervisedModelBody } | null): unknown {
  const metrics = (e: ModelEvaluation | null) => (e === null ? null : { rows: e.rows, positives: e.positives, baseRate: e.baseRate, auc: e.auc, logLoss: e.logLoss });
  return {
    version,
    previousVersion: previous?.version ?? null,
    diff: jsonDiff(previous?.body.document, body.document),
    dataEnd: body.dataEnd,
    holdout: metrics(body.evaluation.holdout),
    training: metrics(body.evaluation.training),
  };
}

export interface EvaluateOptions {
  readonly version?: number | null;
  /** The snapshot instant (default: the latest UTC midnight whose horizon has ended by the data's end). */
  readonly asOfMs?: number;
  readonly dataEndMs?: number;
}

export interface EvaluationRun {
  readonly key: string;
  readonly version: number;
  readonly asOf: string;
  readonly horizonEnd: string;
  readonly evaluation: ModelEvaluation;
  /** Per user of the population at T: the label and the model's probability. */
  readonly predictions: { readonly userIds: readonly string[]; readonly labels: Uint8Array; readonly scores: Float64Array };
}

/** A stored version on a fresh labelled snapshot at T: the same metrics as the holdout's. */
export async function evaluateModel(ws: ModelWorkspace, key: string, options: EvaluateOptions = {}): Promise<EvaluationRun> {
  const { stored, model } = await loadSupervisedModel(ws.store, key, options.version ?? null);
  const def = stored.body.definition;
  const H = def.horizonDays * MS.d;
  const dataEndMs = await dataEndOf(ws.store, options.dataEndMs);
  const asOfMs = options.asOfMs ?? utcDayStart(dataEndMs - H);
  if (asOfMs + H > dataEndMs) {
    throw new StrataError('MODEL_INVALID', `--as-of ${iso(asOfMs)}: the horizon ends at ${iso(asOfMs + H)}, after the data's end ${iso(dataEndMs)}, so the labels are not known yet; use ${iso(utcDayStart(dataEndMs - H))} or earlier`);
  }
  const snap = await labelledAt(ws, def, stored.body.features, asOfMs, dataEndMs, stored.body.features.categories);
  if (typeof snap === 'string') throw new StrataError('MODEL_INVALID', `model "${key}" as of ${iso(asOfMs)}: ${snap}`);
  const rows = stackSnapshots([snap]);
  checkColumns(model, rows.x.names, key);
  const scores = predictProbability(model, rows.x);
  return {
    key,
    version: stored.version,
    asOf: iso(asOfMs),
    horizonEnd: iso(asOfMs + H),
    evaluation: evaluatePredictions(rows.y, scores),
    predictions: { userIds: rows.userIds, labels: rows.y, scores },
  };
}
