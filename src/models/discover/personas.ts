/**
 * `discoverPersonas`: personas of the workspace's users as of T, stored as a versioned model
 * whose ids survive refreshes, with a `cluster` scoring run (persona id per user) that the
 * `{cluster: KEY, eq: ID}` condition reads (docs/models.md, "Personas").
 *
 * Steps: the population (default: users with an event in [T - 90 days, T); or a segment
 * snapshot's members; or everyone), behavioural features as of T (buildFeatures, no traits
 * unless named), the fit (personas-fit.ts), ids matched to the previous version of the key
 * (personas-model.ts), then `saveModelVersion` and `writeScoreRun` unless `save: false`.
 */
import { jsonDiff } from '../../governance/diff.js';
import type { PurchaseSettings } from '../../analysis/rfm/rfm-config.js';
import { memberFilter } from '../../analysis/breakdown.js';
import { isSystemEvent } from '../../schema/system-events.js';
import { StrataError } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import type { EventStore } from '../../store/event-store.js';
import { formatInstant } from '../../time/time.js';
import { K_RANGE_DEFAULT, KMEANS_DEFAULTS, SEARCH_SAMPLE_SIZE, SILHOUETTE_SAMPLE_SIZE, matrix } from '../cluster/index.js';
import { DEFAULT_ACTIVE_DAYS_WINDOWS, DEFAULT_RECENCY_CAP_DAYS, buildFeatures, type FeatureOptions, type FeatureRestriction } from '../features/index.js';
import { activeUsersSql } from '../features/feature-sql.js';
import { MODEL_KEY_PATTERN, getModelVersion, listModelVersions, listScoreRuns, saveModelVersion, writeScoreRun } from '../registry/index.js';
import { fitPersonas, type PersonaFit, type PersonaFitOptions } from './personas-fit.js';
import {
  PERSONAS_FORMAT,
  PERSONAS_FORMAT_VERSION,
  assignPersonaIds,
  parsePersonaBody,
  rowsOf,
  type PersonaChanges,
  type PersonaModelBody,
  type PersonaReport,
  type PersonaSettings,
  type PersonaSummary,
} from './personas-model.js';

export const DEFAULT_PERSONAS_KEY = 'personas';
/** Without a segment, personas describe the users active in the last 90 days. */
export const DEFAULT_ACTIVE_DAYS = 90;
/** Per-event counts over the last 28 days (the window of the session and active-day features). */
export const PERSONA_WINDOWS_DAYS: readonly number[] = [28];

const DAY_MS = 86_400_000;

export type PersonaPhase = 'features' | 'k search' | 'silhouette' | 'kmeans' | 'describing' | 'saving';

export interface PersonaPopulation {
  /** Members of this stored snapshot (`registry.snapshot(key, {asOfMs})` resolves it). */
  readonly segment?: { readonly key: string; readonly snapshotId: number; readonly version?: number };
  /**
   * Only users with an event in [T - activeDays, T); null: no activity filter. Default: 90
   * without a segment, null with one.
   */
  readonly activeDays?: number | null;
}

export interface DiscoverPersonasOptions extends Omit<PersonaFitOptions, 'onProgress'> {
  /** The model key (default `personas`). */
  readonly key?: string;
  /** T: features read events before T; the run is as of T. */
  readonly asOfMs: number;
  readonly population?: PersonaPopulation;
  /** Purchase features (strata.yaml's `rfm:`, `config.rfm.purchase`); absent or null: none. */
  readonly purchase?: PurchaseSettings | null;
  /** A declared property whose distinct values measure depth (a "feature" property). */
  readonly depthProperty?: string;
  /** Traits to add as features (default none: personas are behavioural). Sensitive traits are refused. */
  readonly traits?: readonly string[];
  /** Per-event count windows in days (default 28). */
  readonly windowsDays?: readonly number[];
  readonly activeDaysWindows?: readonly number[];
  readonly recencyCapDays?: number;
  /** Centroids farther apart than this (standardized units) keep no id (default: no limit). */
  readonly maxDistance?: number | null;
  /** Store the model and its run (default true). */
  readonly save?: boolean;
  /** Who saves the model, for the audit log (default `library`). */
  readonly actor?: string;
  /** The model's creation time (default now). */
  readonly nowMs?: number;
  readonly onProgress?: (p: { readonly phase: PersonaPhase; readonly done: number; readonly total: number }) => void;
}

export interface DiscoveredPersonas {
  readonly report: PersonaReport;
  /** The population's user ids (byte order) and each one's persona id. */
  readonly userIds: readonly string[];
  readonly assignments: Int32Array;
  /** The numeric fit (standardized matrix, k search, k-means), for callers and tests. */
  readonly fit: PersonaFit;
}

function populationRestriction(population: PersonaPopulation, asOfMs: number): { restrict?: FeatureRestriction; activeDays: number | null } {
  const segment = population.segment;
  const activeDays = population.activeDays === undefined ? (segment ? null : DEFAULT_ACTIVE_DAYS) : population.activeDays;
  if (activeDays !== null && !(Number.isFinite(activeDays) && activeDays > 0)) {
    throw new StrataError('INPUT_INVALID', `the activity window must be a positive number of days, got ${activeDays}`, [{ path: 'population.activeDays', message: 'expected days such as 90' }]);
  }
  if (activeDays === null) return segment ? { restrict: { snapshotId: segment.snapshotId }, activeDays } : { activeDays };
  const fromMs = asOfMs - Math.round(activeDays * DAY_MS);
  const where = (d: SqlDialect) => {
    const active = `user_id IN (${activeUsersSql(d, fromMs, asOfMs, null)})`;
    return segment ? `${memberFilter(d, segment.snapshotId, 'user_id')} AND ${active}` : active;
  };
  return { restrict: { where }, activeDays };
}

function settingsOf(o: DiscoverPersonasOptions): PersonaSettings {
  return {
    k: o.k ?? null,
    kMin: o.kMin ?? K_RANGE_DEFAULT.kMin,
    kMax: o.kMax ?? K_RANGE_DEFAULT.kMax,
    seed: o.seed ?? KMEANS_DEFAULTS.seed,
    nInit: o.nInit ?? KMEANS_DEFAULTS.nInit,
    sampleSize: o.sampleSize ?? SILHOUETTE_SAMPLE_SIZE,
    searchSampleSize: o.searchSampleSize ?? SEARCH_SAMPLE_SIZE,
    windowsDays: o.windowsDays ?? PERSONA_WINDOWS_DAYS,
    activeDaysWindows: o.activeDaysWindows ?? DEFAULT_ACTIVE_DAYS_WINDOWS,
    purchase: o.purchase ?? null,
    depthProperty: o.depthProperty ?? null,
    traits: o.traits ?? [],
    recencyCapDays: o.recencyCapDays ?? DEFAULT_RECENCY_CAP_DAYS,
    maxDistance: o.maxDistance ?? null,
  };
}

/**
 * Per-event counts for every declared event except the purchase event, which `purchases`,
 * `purchase_recency_days` and `monetary` already measure (counted twice it would weigh double),
 * and the system events (`$exposure`, `$consent`), which record what was shown to or chosen
 * by the user, not what they did.
 */
function countedEvents(plan: TrackingPlan, purchase: PurchaseSettings | null): string[] {
  return Object.keys(plan.events).filter((e) => !isSystemEvent(e) && (purchase === null || e !== purchase.event));
}

/** The previous version of the key (null: none), refusing a key that holds another kind of model. */
async function previousVersion(store: EventStore, key: string): Promise<{ version: number; body: PersonaModelBody } | null> {
  const last = (await listModelVersions(store, key)).at(-1);
  if (!last) return null;
  if (last.kind !== 'personas') {
    throw new StrataError('INPUT_INVALID', `model "${key}" is a ${last.kind} model; personas need another key`, [{ path: 'key', message: 'expected a new key or a personas model' }]);
  }
  return { version: last.version, body: parsePersonaBody(key, last.version, last.body) };
}

function summaries(fit: PersonaFit, ids: readonly number[]): PersonaSummary[] {
  const p = fit.features.length;
  const index = new Map(fit.features.map((f, j) => [f, j]));
  return fit.descriptions
    .map((d) => ({
      id: ids[d.cluster]!,
      name: d.name,
      description: d.description,
      size: d.size,
      share: d.share,
      features: d.features.map((f) => {
        const j = index.get(f.feature)!;
        return { feature: f.feature, smd: f.smd, mean: fit.clusterMeans.data[d.cluster * p + j]!, restMean: fit.restMeans.data[d.cluster * p + j]!, phrase: f.phrase };
      }),
    }))
    .sort((a, b) => a.id - b.id);
}

/** Discover personas as of T, match their ids to the previous version, and (unless save: false) store the model and the run. */
export async function discoverPersonas(store: EventStore, plan: TrackingPlan, options: DiscoverPersonasOptions): Promise<DiscoveredPersonas> {
  const key = options.key ?? DEFAULT_PERSONAS_KEY;
  // Checked first, so a bad key fails before the work (saving would refuse it too).
  if (!MODEL_KEY_PATTERN.test(key)) throw new StrataError('INPUT_INVALID', `model key "${key}" must match ${MODEL_KEY_PATTERN.source} (lower-case letters, digits and '-')`, [{ path: 'key', message: 'expected a key such as personas' }]);
  const asOfMs = options.asOfMs;
  const progress = options.onProgress ?? (() => undefined);
  const previous = await previousVersion(store, key);
  const { restrict, activeDays } = populationRestriction(options.population ?? {}, asOfMs);
  const settings = settingsOf(options);
  progress({ phase: 'features', done: 0, total: 1 });
  const featureOptions: FeatureOptions = {
    asOfMs,
    events: countedEvents(plan, options.purchase ?? null),
    purchase: options.purchase ?? null,
    traits: settings.traits,
    windowsDays: settings.windowsDays,
    activeDaysWindows: settings.activeDaysWindows,
    recencyCapDays: settings.recencyCapDays,
    ...(options.depthProperty !== undefined ? { depthProperty: options.depthProperty } : {}),
    ...(restrict ? { restrict } : {}),
  };
  const features = await buildFeatures(store, plan, featureOptions);
  const raw = matrix(features.userIds.length, features.names.length, features.values);
  const fit = await fitPersonas(raw, features.names, { ...options, onProgress: progress });
  const ids = assignPersonaIds(features.names, fit.centroids, fit.scaler, previous, settings.maxDistance);
  const personas = summaries(fit, ids.ids);
  const nameOf = new Map(personas.map((s) => [s.id, s.name]));
  const oldName = new Map(previous?.body.personas.map((s) => [s.id, s.name]) ?? []);
  const changes: PersonaChanges = {
    previousVersion: previous?.version ?? null,
    comparedFeatures: ids.comparedFeatures,
    matched: ids.matched.map((m) => ({ id: m.id, name: nameOf.get(m.id)!, previousName: oldName.get(m.id) ?? '', distance: m.distance })).sort((a, b) => a.id - b.id),
    created: ids.created.map((c) => ids.ids[c]!).sort((a, b) => a - b),
    vanished: ids.vanished.map((id) => ({ id, name: oldName.get(id) ?? '' })),
  };
  const assignments = Int32Array.from(fit.model.labels, (c) => ids.ids[c]!);
  const createdAtMs = options.nowMs ?? Date.now();
  const segment = options.population?.segment;
  const base = {
    asOf: formatInstant(asOfMs),
    asOfMs,
    population: { segment: segment ? { key: segment.key, version: segment.version ?? null } : null, activeDays, users: features.userIds.length },
    features: features.names,
    k: fit.k,
    chosenBy: fit.chosenBy,
    silhouette: fit.silhouette,
    candidates: fit.candidates,
    inertia: fit.model.inertia,
    personas,
    changes,
  };
  let version: number | null = null;
  let runId: number | null = null;
  if (options.save !== false) {
    progress({ phase: 'saving', done: 0, total: 1 });
    const body: PersonaModelBody = {
      format: PERSONAS_FORMAT,
      formatVersion: PERSONAS_FORMAT_VERSION,
      ...base,
      settings,
      categories: features.categories,
      logged: fit.logged,
      scaler: { mean: Array.from(fit.scaler.mean), scale: Array.from(fit.scaler.scale), constant: [...fit.scaler.constant] },
      centroids: rowsOf(fit.centroids),
      ids: ids.ids,
      nextId: ids.nextId,
      means: rowsOf(fit.clusterMeans),
      restMeans: rowsOf(fit.restMeans),
    };
    const saved = await saveModelVersion(store, { key, kind: 'personas', createdAtMs, body }, {
      ...(options.actor !== undefined ? { actor: options.actor } : {}),
      action: 'personas.save',
      detail: (v, prior) => ({
        version: v,
        previousVersion: prior?.version ?? null,
        // The personas' "definition" is how they were found: the settings and the population.
        diff: jsonDiff(prior ? { settings: prior.body.settings, population: prior.body.population } : undefined, { settings, population: base.population }),
        asOf: base.asOf,
        k: base.k,
        personas: personas.map((p) => ({ id: p.id, name: p.name, size: p.size })),
        changes: { matched: changes.matched.length, created: changes.created, vanished: changes.vanished.map((x) => x.id) },
      }),
    });
    version = saved.version;
    const run = await writeScoreRun(store, { modelKey: key, modelVersion: saved.version, asOfMs, createdAtMs, userIds: features.userIds, clusters: assignments });
    runId = run.runId;
  }
  return { report: { key, version, runId, createdAtMs, ...base }, userIds: features.userIds, assignments, fit };
}

/** A stored persona model (the latest version unless `version`), as `discoverPersonas` reported it, with its latest run. */
export async function showPersonas(store: EventStore, key: string = DEFAULT_PERSONAS_KEY, version: number | null = null): Promise<PersonaReport & { readonly settings: PersonaSettings }> {
  const stored = await getModelVersion(store, key, version);
  if (stored.kind !== 'personas') throw new StrataError('INPUT_INVALID', `model "${key}" is a ${stored.kind} model, not personas: see strata model show ${key}`);
  const body = parsePersonaBody(key, stored.version, stored.body);
  const run = (await listScoreRuns(store, key)).filter((r) => r.modelVersion === stored.version).at(-1);
  return {
    key,
    version: stored.version,
    runId: run?.runId ?? null,
    asOf: body.asOf,
    asOfMs: body.asOfMs,
    createdAtMs: stored.createdAtMs,
    population: body.population,
    features: body.features,
    k: body.k,
    chosenBy: body.chosenBy,
    silhouette: body.silhouette,
    candidates: body.candidates,
    inertia: body.inertia,
    personas: body.personas,
    changes: body.changes,
    settings: body.settings,
  };
}
