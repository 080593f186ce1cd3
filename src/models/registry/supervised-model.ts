/**
 * What a churn or propensity model version stores and the pieces every command shares:
 * the snapshot instants (out-of-time holdout), the population as of T, the stored feature
 * layout (so scoring rebuilds exactly the training columns), and the evaluation of
 * predictions against labels.
 */
import type { PurchaseSettings } from '../../analysis/rfm/rfm-config.js';
import { memberFilter } from '../../analysis/breakdown.js';
import { StrataError } from '../../errors/errors.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { SegmentRegistry } from '../../segments/registry/segment-registry.js';
import type { EventStore } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';
import { MS, utcDayStart } from '../../time/time.js';
import { resolveFeatureOptions, type FeatureOptions, type FeatureRestriction } from '../features/feature-options.js';
import { activeUsersSql } from '../features/feature-sql.js';
import { latestEventMs } from '../features/labelled-snapshots.js';
import { auc, calibrationTable, liftTable, logLoss, type CalibrationBin, type LiftRow } from '../learn/metrics.js';
import type { FeatureImportance, LearnedModel } from '../learn/explain.js';
import { modelFromJson } from '../learn/serialize.js';
import { DEFAULT_ACTIVE_DAYS, type ModelDefinition } from './model-definition.js';
import { getModelVersion, type StoredModelVersion } from './model-store.js';

/** Where a model reads and writes: the store, the plan, the purchase settings, and segments for a `population`. */
export interface ModelWorkspace {
  readonly store: EventStore;
  readonly plan: TrackingPlan;
  /** strata.yaml's `rfm:` purchase settings (`config.rfm.purchase`); null: no purchase features. */
  readonly purchase: PurchaseSettings | null;
  /** Needed only by models whose population is a stored segment. */
  readonly segments?: SegmentRegistry;
}

/** The resolved feature options a version was trained with: scoring passes them back to get the same columns. */
export interface StoredFeatureLayout {
  readonly events: readonly string[];
  readonly windowsDays: readonly number[];
  readonly activeDaysWindows: readonly number[];
  readonly purchase: PurchaseSettings | null;
  readonly sessionGapMs: number;
  readonly depthProperty: string | null;
  readonly traits: readonly string[];
  readonly oneHotTop: number;
  readonly categories: Readonly<Record<string, readonly string[]>>;
  readonly recencyCapDays: number;
}

export interface ModelEvaluation {
  readonly rows: number;
  readonly positives: number;
  readonly baseRate: number;
  /** null when the labels hold one class only. */
  readonly auc: number | null;
  readonly logLoss: number;
  readonly calibration: readonly CalibrationBin[];
  /** By decile of score (fewer groups below 10 rows); null without a positive label. */
  readonly lift: readonly LiftRow[] | null;
}

export interface InstantSummary {
  readonly asOf: string;
  readonly users: number;
  readonly positives: number;
}

export interface SkippedInstant {
  readonly asOf: string;
  readonly role: 'training' | 'holdout';
  readonly reason: string;
}

/** `model_versions.body` of a churn or propensity model. */
export interface SupervisedModelBody {
  readonly definition: ModelDefinition;
  /** The document as written (retraining by key revalidates it). */
  readonly document: Record<string, unknown>;
  /** The learner's model in the versioned JSON format of learn/serialize.ts. */
  readonly model: Record<string, unknown>;
  readonly features: StoredFeatureLayout;
  readonly dataEnd: string;
  readonly instants: { readonly training: readonly InstantSummary[]; readonly holdout: readonly InstantSummary[]; readonly skipped: readonly SkippedInstant[] };
  readonly evaluation: { readonly training: ModelEvaluation; readonly holdout: ModelEvaluation | null };
  readonly importance: readonly FeatureImportance[];
}

export interface LoadedModel {
  readonly stored: StoredModelVersion<SupervisedModelBody>;
  readonly model: LearnedModel;
}

/** A churn or propensity version and its learner (a personas model is refused with a clear error). */
export async function loadSupervisedModel(store: EventStore, key: string, version: number | null = null): Promise<LoadedModel> {
  const stored = await getModelVersion<SupervisedModelBody>(store, key, version);
  if (stored.kind !== 'churn' && stored.kind !== 'propensity') {
    throw new StrataError('MODEL_INVALID', `model "${key}" is a ${stored.kind} model; this command works on churn and propensity models (personas: strata discover personas)`);
  }
  return { stored, model: modelFromJson(stored.body.model, `model "${key}" version ${stored.version}`) };
}

/**
 * Snapshot instants for a horizon H ending by `dataEndMs`: T_h = the latest UTC midnight with
 * T_h + H <= the data's end; the `holdout` latest instants, `every` apart, end at T_h; the
 * training instants are `every` apart going back from (earliest holdout instant − H), so
 * every training label window ends by the first holdout instant. Ascending.
 */
export function snapshotInstants(def: ModelDefinition, dataEndMs: number): { training: number[]; holdout: number[] } {
  const H = def.horizonDays * MS.d;
  const every = def.training.everyDays * MS.d;
  const latest = utcDayStart(dataEndMs - H);
  const holdout = Array.from({ length: def.training.holdout }, (_, k) => latest - (def.training.holdout - 1 - k) * every);
  const lastTraining = holdout[0]! - H;
  const training = Array.from({ length: def.training.snapshots }, (_, k) => lastTraining - (def.training.snapshots - 1 - k) * every);
  return { training, holdout };
}

/** The end of the data: the given instant, else the latest stored event. */
export async function dataEndOf(store: EventStore, dataEndMs?: number): Promise<number> {
  if (dataEndMs !== undefined) return dataEndMs;
  const last = await latestEventMs(store);
  if (last === null) throw new StrataError('MODEL_INVALID', 'the store has no events: ingest events before training or scoring a model');
  return last;
}

/**
 * Who a model scores as of T: the members of the `population` segment as of T, or by kind:
 * churn = users with an event in [T − 28 d, T); propensity = users without the event before T.
 * Either way only users of the population as of T (a profile or an event before T).
 */
export async function populationAt(ws: ModelWorkspace, def: ModelDefinition, asOfMs: number): Promise<FeatureRestriction> {
  if (def.population !== null) {
    if (!ws.segments) throw new StrataError('MODEL_INVALID', `model "${def.key}" scores the segment "${def.population}": a segment registry is needed`);
    return { snapshotId: (await ws.segments.snapshot(def.population, { asOfMs })).snapshotId };
  }
  if (def.kind === 'churn') return { where: (d) => `user_id IN (${activeUsersSql(d, asOfMs - DEFAULT_ACTIVE_DAYS * MS.d, asOfMs, null)})` };
  const event = def.event!;
  return {
    where: (d) =>
      `user_id NOT IN (SELECT pe.user_id FROM ${d.table(TABLES.events)} pe WHERE pe.ts < ${d.timestampLiteral(asOfMs)} AND pe.event = ${d.stringLiteral(event)} GROUP BY pe.user_id)`,
  };
}

/** A restriction as one predicate on `user_id` (a snapshot's members, or the predicate itself). */
export function restrictionPredicate(r: FeatureRestriction): (d: SqlDialect) => string {
  return 'snapshotId' in r ? (d) => memberFilter(d, r.snapshotId) : r.where;
}

/** The definition's feature settings resolved against the plan (every default made explicit). */
export function resolveLayout(ws: ModelWorkspace, def: ModelDefinition): StoredFeatureLayout {
  const f = def.features;
  const r = resolveFeatureOptions(ws.plan, {
    asOfMs: 0,
    purchase: ws.purchase,
    ...(f.events ? { events: f.events } : {}),
    ...(f.windowsDays ? { windowsDays: f.windowsDays } : {}),
    ...(f.activeDaysWindows ? { activeDaysWindows: f.activeDaysWindows } : {}),
    ...(f.traits ? { traits: f.traits } : {}),
    ...(f.depthProperty !== undefined ? { depthProperty: f.depthProperty } : {}),
    ...(f.oneHotTop !== undefined ? { oneHotTop: f.oneHotTop } : {}),
    ...(f.recencyCapDays !== undefined ? { recencyCapDays: f.recencyCapDays } : {}),
  });
  return {
    events: r.events,
    windowsDays: r.windowsDays,
    activeDaysWindows: r.activeDaysWindows,
    purchase: r.purchase,
    sessionGapMs: r.sessionGapMs,
    depthProperty: r.depthProperty,
    traits: r.traits.map((t) => t.name),
    oneHotTop: r.oneHotTop,
    categories: {},
    recencyCapDays: r.recencyCapDays,
  };
}

/** Feature options for T from a stored layout (its one-hot values included once known). */
export function featureOptionsOf(layout: StoredFeatureLayout, asOfMs: number, restrict: FeatureRestriction, categories?: Readonly<Record<string, readonly string[]>>): FeatureOptions {
  const cats = categories ?? layout.categories;
  return {
    asOfMs,
    restrict,
    events: layout.events,
    windowsDays: layout.windowsDays,
    activeDaysWindows: layout.activeDaysWindows,
    purchase: layout.purchase,
    sessionGapMs: layout.sessionGapMs,
    ...(layout.depthProperty !== null ? { depthProperty: layout.depthProperty } : {}),
    traits: layout.traits,
    oneHotTop: layout.oneHotTop,
    ...(Object.keys(cats).length > 0 || layout.traits.length === 0 ? { categories: cats } : {}),
    recencyCapDays: layout.recencyCapDays,
  };
}

/** A feature page must have exactly the model's columns (a changed plan would shift them). */
export function checkColumns(model: LearnedModel, names: readonly string[], key: string): void {
  if (names.length === model.names.length && names.every((n, j) => n === model.names[j])) return;
  const missing = model.names.filter((n) => !names.includes(n));
  const extra = names.filter((n) => !model.names.includes(n));
  throw new StrataError('MODEL_INVALID', `model "${key}": the features built now differ from the trained ones (missing: ${missing.join(', ') || 'none'}; new: ${extra.join(', ') || 'none'}); retrain it with strata model train ${key}`);
}

/** AUC, log loss, base rate, calibration (10 quantile bins) and lift by decile of predictions against 0/1 labels. */
export function evaluatePredictions(y: Uint8Array, p: Float64Array): ModelEvaluation {
  const rows = y.length;
  if (rows === 0) throw new StrataError('MODEL_INVALID', 'nothing to evaluate: no users with a known label');
  let positives = 0;
  for (let i = 0; i < rows; i++) positives += y[i]!;
  const both = positives > 0 && positives < rows;
  return {
    rows,
    positives,
    baseRate: positives / rows,
    auc: both ? auc(y, p) : null,
    logLoss: logLoss(y, p),
    calibration: calibrationTable(y, p, 10),
    lift: positives > 0 ? liftTable(y, p, Math.min(10, rows)) : null,
  };
}

export const iso = (ms: number): string => new Date(ms).toISOString();
