/**
 * A stored persona model: the JSON body of a `model_versions` row of kind `personas`, and the
 * id matching against the previous version of the same key.
 *
 * The body keeps what a refresh and a report need: the options, the feature names (and one-hot
 * categories), which columns were log1p'ed, the scaler, the centroids in ORIGINAL units (after
 * log1p, before standardizing: they do not depend on the scaler, so a later model can
 * standardize them with its own), the persona ids and the next unused id, and per persona its
 * name, description, size, distinguishing features and raw means.
 */
import { StrataError } from '../../errors/errors.js';
import type { KCandidate, Matrix, PersonaIdAssignment, Scaler } from '../cluster/index.js';
import { matchPersonaIds, matrix } from '../cluster/index.js';

export const PERSONAS_FORMAT = 'strata-personas';
export const PERSONAS_FORMAT_VERSION = 1;

export interface PersonaFeature {
  readonly feature: string;
  /** Standardized mean difference, persona against the rest (computed after log1p). */
  readonly smd: number;
  /** Raw units (before log1p): the persona's mean and the mean of everyone else. */
  readonly mean: number;
  readonly restMean: number;
  readonly phrase: string;
}

export interface PersonaSummary {
  readonly id: number;
  readonly name: string;
  readonly description: string;
  readonly size: number;
  readonly share: number;
  /** Up to three most distinguishing features (|smd| >= 0.2), largest first. */
  readonly features: readonly PersonaFeature[];
}

export interface PersonaChanges {
  /** The version ids were matched against (null: the first model of the key). */
  readonly previousVersion: number | null;
  /** How many features both versions share (the space centroids were matched in). */
  readonly comparedFeatures: number;
  readonly matched: readonly { readonly id: number; readonly name: string; readonly previousName: string; readonly distance: number }[];
  /** Personas with fresh ids. */
  readonly created: readonly number[];
  /** Previous ids with no persona now. */
  readonly vanished: readonly { readonly id: number; readonly name: string }[];
}

export interface PersonaPopulationRecord {
  /** The segment whose snapshot members were clustered (null: everyone). */
  readonly segment: { readonly key: string; readonly version: number | null } | null;
  /** Only users with an event in [T - activeDays, T) (null: no activity filter). */
  readonly activeDays: number | null;
  readonly users: number;
}

export interface PersonaSettings {
  readonly k: number | null;
  readonly kMin: number;
  readonly kMax: number;
  readonly seed: number;
  readonly nInit: number;
  readonly sampleSize: number;
  readonly searchSampleSize: number;
  readonly windowsDays: readonly number[];
  readonly activeDaysWindows: readonly number[];
  readonly purchase: unknown;
  readonly depthProperty: string | null;
  readonly traits: readonly string[];
  readonly recencyCapDays: number;
  readonly maxDistance: number | null;
}

/** What `discoverPersonas` reports and `showPersonas` shows. */
export interface PersonaReport {
  readonly key: string;
  /** The stored version (null with save: false). */
  readonly version: number | null;
  /** The cluster run holding the assignments (null with save: false). */
  readonly runId: number | null;
  readonly asOf: string;
  readonly asOfMs: number;
  readonly createdAtMs: number;
  readonly population: PersonaPopulationRecord;
  readonly features: readonly string[];
  readonly k: number;
  readonly chosenBy: 'silhouette' | 'given';
  readonly silhouette: number;
  /** Every k tried (one with a given k), with its silhouette and inertia. */
  readonly candidates: readonly KCandidate[];
  readonly inertia: number;
  /** In id order. */
  readonly personas: readonly PersonaSummary[];
  readonly changes: PersonaChanges;
}

export interface PersonaModelBody extends Omit<PersonaReport, 'key' | 'version' | 'runId' | 'createdAtMs'> {
  readonly format: typeof PERSONAS_FORMAT;
  readonly formatVersion: number;
  readonly settings: PersonaSettings;
  readonly categories: Readonly<Record<string, readonly string[]>>;
  readonly logged: readonly boolean[];
  readonly scaler: { readonly mean: number[]; readonly scale: number[]; readonly constant: number[] };
  /** k rows, aligned with `ids`: after log1p, before standardizing. */
  readonly centroids: number[][];
  /** Id of each centroid row. */
  readonly ids: number[];
  readonly nextId: number;
  /** k rows aligned with `ids`: raw means of every feature, in the persona and in the rest. */
  readonly means: number[][];
  readonly restMeans: number[][];
}

export const rowsOf = (m: Matrix): number[][] => Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));

function invalidBody(key: string, version: number, what: string): never {
  throw new StrataError('MODEL_INVALID', `model "${key}" version ${version} is not a persona model this version of Strata reads: ${what}`, [{ path: 'body', message: 'expected a body written by strata discover personas' }]);
}

/** The stored body, checked enough that matching and rendering cannot go wrong silently. */
export function parsePersonaBody(key: string, version: number, body: unknown): PersonaModelBody {
  const b = body as Partial<PersonaModelBody> | null;
  if (b === null || typeof b !== 'object' || b.format !== PERSONAS_FORMAT) invalidBody(key, version, `format is ${JSON.stringify(b?.format ?? null)}`);
  if (b.formatVersion !== PERSONAS_FORMAT_VERSION) invalidBody(key, version, `format version ${b.formatVersion}`);
  const p = b.features?.length ?? 0;
  const k = b.ids?.length ?? 0;
  if (p === 0 || k === 0) invalidBody(key, version, 'no features or no personas');
  const rowsOk = (rows: unknown) => Array.isArray(rows) && rows.length === k && rows.every((r) => Array.isArray(r) && r.length === p && r.every((v) => typeof v === 'number'));
  if (!rowsOk(b.centroids)) invalidBody(key, version, `centroids are not ${k} x ${p} numbers`);
  if (b.scaler?.mean.length !== p || b.scaler.scale.length !== p) invalidBody(key, version, `the scaler does not have ${p} columns`);
  if (!Number.isSafeInteger(b.nextId)) invalidBody(key, version, 'nextId is missing');
  // JSON turned a NaN silhouette into null.
  return { ...(b as PersonaModelBody), silhouette: b.silhouette ?? Number.NaN };
}

/** Columns `cols` of a matrix. */
function columns(m: Matrix, cols: readonly number[]): Matrix {
  const out = new Float64Array(m.rows * cols.length);
  for (let i = 0; i < m.rows; i++) cols.forEach((c, j) => (out[i * cols.length + j] = m.data[i * m.cols + c]!));
  return matrix(m.rows, cols.length, out);
}

function scalerColumns(s: Scaler, cols: readonly number[]): Scaler {
  const constant = new Set(s.constant);
  return {
    mean: Float64Array.from(cols, (c) => s.mean[c]!),
    scale: Float64Array.from(cols, (c) => s.scale[c]!),
    constant: cols.flatMap((c, j) => (constant.has(c) ? [j] : [])),
  };
}

/**
 * Ids for the new centroids: matched to the previous version's by `matchPersonaIds` (Hungarian,
 * in the new scaler's standardized space). When the feature set changed (a new declared event,
 * other options), both are compared on the features they share; none shared: every persona is new.
 */
export function assignPersonaIds(
  features: readonly string[],
  centroids: Matrix,
  scaler: Scaler,
  previous: { readonly body: PersonaModelBody } | null,
  maxDistance: number | null,
): PersonaIdAssignment & { comparedFeatures: number } {
  if (previous === null) return { ...matchPersonaIds(centroids, scaler, null), comparedFeatures: features.length };
  const old = previous.body;
  const oldIndex = new Map(old.features.map((f, j) => [f, j]));
  const shared = features.flatMap((f, j) => (oldIndex.has(f) ? [j] : []));
  if (shared.length === 0) {
    const ids = Array.from({ length: centroids.rows }, (_, i) => old.nextId + i);
    return { ids, matched: [], created: ids.map((_, i) => i), vanished: [...old.ids], nextId: old.nextId + centroids.rows, comparedFeatures: 0 };
  }
  const oldCols = shared.map((j) => oldIndex.get(features[j]!)!);
  const oldCentroids = columns(matrix(old.ids.length, old.features.length, Float64Array.from(old.centroids.flat())), oldCols);
  const state = { ids: old.ids, centroids: oldCentroids, nextId: old.nextId };
  const assignment = matchPersonaIds(columns(centroids, shared), scalerColumns(scaler, shared), state, maxDistance === null ? {} : { maxDistance });
  return { ...assignment, comparedFeatures: shared.length };
}
