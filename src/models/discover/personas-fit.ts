/**
 * The numeric part of persona discovery (pure, no I/O): a raw feature matrix in, personas out.
 * 1. log1p on every count-like column (`isLoggedFeature`: everything but `trend_14d` and traits),
 *    the same transform as the cluster core's `log1pMatrix`, column by column;
 * 2. z-scores (`fitScaler` / `standardize`, sklearn's StandardScaler);
 * 3. k by the best mean silhouette over kMin..kMax (`searchK`: exactly `chooseK`'s rule, run here
 *    k by k so a progress bar can move between fits), or the given k;
 * 4. k-means++ with restarts from `seed`;
 * 5. descriptions and unique names (`describeClusters`), and per-cluster means in raw units for
 *    reports ("their mean vs the rest").
 * Async only to yield to the event loop between fits (progress bars redraw on a timer).
 */
import { StrataError } from '../../errors/errors.js';
import type { FeatureLabel, KCandidate, KMeansResult, Matrix, PersonaDescription, Scaler } from '../cluster/index.js';
import {
  K_RANGE_DEFAULT,
  KMEANS_DEFAULTS,
  SEARCH_SAMPLE_SIZE,
  SILHOUETTE_SAMPLE_SIZE,
  SeededRandom,
  assertFinite,
  describeClusters,
  fitScaler,
  kmeans,
  matrix,
  selectRows,
  silhouetteScores,
  standardize,
  unstandardize,
} from '../cluster/index.js';

export interface PersonaFitOptions {
  /** A fixed number of personas (no search; its silhouette is still reported). */
  readonly k?: number;
  readonly kMin?: number;
  readonly kMax?: number;
  /** Seeds k-means++ (restarts) and the samples (default 0). */
  readonly seed?: number;
  /** k-means restarts (default 10, sklearn's n_init). */
  readonly nInit?: number;
  /** Rows above which silhouettes are computed on a seeded sample (default 10,000). */
  readonly sampleSize?: number;
  /** Rows above which the k search runs on a seeded sample (default 100,000). */
  readonly searchSampleSize?: number;
  /** Readable labels and phrases per feature (default: `personaFeatureLabel`). */
  readonly labels?: Readonly<Record<string, FeatureLabel>>;
  /** Called before each step: the search's fits, their silhouettes, the final fit, the descriptions. */
  readonly onProgress?: (p: { readonly phase: 'k search' | 'silhouette' | 'kmeans' | 'describing'; readonly done: number; readonly total: number }) => void;
}

export interface PersonaFit {
  readonly features: readonly string[];
  /** The input: raw feature values, one row per user. */
  readonly raw: Matrix;
  /** Which columns went through log1p. */
  readonly logged: readonly boolean[];
  /** After log1p (the "original units" centroids are stored in). */
  readonly transformed: Matrix;
  readonly scaler: Scaler;
  readonly standardized: Matrix;
  readonly k: number;
  readonly chosenBy: 'silhouette' | 'given';
  /** Mean silhouette of the final model (on the same rows as the search: all, or the seeded sample). */
  readonly silhouette: number;
  readonly candidates: readonly KCandidate[];
  /** Labels of each candidate fit, in candidate order, when the search ran on all rows (the tests' handle on it). */
  readonly candidateLabels: readonly Int32Array[] | null;
  /** The final k-means (standardized units). */
  readonly model: KMeansResult;
  /** k × features, after log1p, before standardizing. */
  readonly centroids: Matrix;
  /** k × features: each cluster's mean in raw units, and the mean of everyone else. */
  readonly clusterMeans: Matrix;
  readonly restMeans: Matrix;
  readonly descriptions: readonly PersonaDescription[];
}

/** Counts, days, minutes and money are skewed: log1p them; a trend in (-1, 1) and trait columns stay as they are. */
export function isLoggedFeature(name: string): boolean {
  return name !== 'trend_14d' && !name.startsWith('trait:');
}

/** `log1p(max(0, x))` on the chosen columns (log1pMatrix's transform, per column). */
export function log1pColumns(x: Matrix, logged: readonly boolean[]): Matrix {
  const out = Float64Array.from(x.data);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < x.cols; j++) if (logged[j]) out[i * x.cols + j] = Math.log1p(Math.max(0, out[i * x.cols + j]!));
  }
  return matrix(x.rows, x.cols, out);
}

const WINDOWED = /^(count|active_days)_(\d+)d(?::(.*))?$/;

/** Readable names for the feature builder's columns (describe.ts turns them into "high X" phrases). */
export function personaFeatureLabel(name: string): FeatureLabel {
  const fixed: Record<string, FeatureLabel> = {
    recency_days: { label: 'days since last seen' },
    events: { label: 'events' },
    purchase_recency_days: { label: 'days since last purchase' },
    purchases: { label: 'purchases' },
    monetary: { label: 'spend' },
    trend_14d: { high: 'rising activity', low: 'falling activity' },
    sessions_28d: { label: 'sessions (28d)' },
    session_minutes_28d: { label: 'session length' },
    events_per_session_28d: { label: 'events per session' },
    distinct_events: { label: 'event variety' },
    days_since_first_seen: { label: 'tenure' },
  };
  if (Object.hasOwn(fixed, name)) return fixed[name]!;
  const w = WINDOWED.exec(name);
  if (w) return { label: w[1] === 'count' ? `${w[3]} (${w[2]}d)` : `active days (${w[2]}d)` };
  if (name.startsWith('distinct:')) return { label: `distinct ${name.slice('distinct:'.length)}` };
  if (name.startsWith('trait:')) return { label: name.slice('trait:'.length) };
  return {};
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Search {
  readonly k: number;
  readonly chosenBy: 'silhouette' | 'given';
  readonly silhouette: number;
  readonly candidates: KCandidate[];
  readonly candidateLabels: Int32Array[] | null;
  readonly model: KMeansResult;
}

function kRange(rows: number, o: PersonaFitOptions): number[] {
  const kMin = o.kMin ?? K_RANGE_DEFAULT.kMin;
  const kMax = Math.min(o.kMax ?? K_RANGE_DEFAULT.kMax, rows - 1);
  if (!Number.isInteger(kMin) || kMin < 2 || kMax < kMin) {
    throw new StrataError('INPUT_INVALID', `personas need 2 <= kMin <= kMax <= users - 1, got ${kMin}..${o.kMax ?? K_RANGE_DEFAULT.kMax} with ${rows} users`, [{ path: 'kMin', message: 'expected a wider population or a smaller k range' }]);
  }
  return Array.from({ length: kMax - kMin + 1 }, (_, i) => kMin + i);
}

/**
 * The k search, `chooseK`'s rule step by step: every k of the range fitted (on a seeded sample of
 * `searchSampleSize` rows for large populations), all scored by silhouette on the same rows in one
 * pass, the best wins (ties: the smaller k); with a sample, the winner is refitted on all rows.
 */
export async function searchK(x: Matrix, o: PersonaFitOptions): Promise<Search> {
  const km = { seed: o.seed ?? KMEANS_DEFAULTS.seed, nInit: o.nInit ?? KMEANS_DEFAULTS.nInit };
  const sil = { seed: km.seed, sampleSize: o.sampleSize ?? SILHOUETTE_SAMPLE_SIZE };
  if (o.k !== undefined) {
    if (!Number.isInteger(o.k) || o.k < 2 || o.k >= x.rows) {
      throw new StrataError('INPUT_INVALID', `k must be a whole number from 2 to users - 1 (${x.rows - 1}), got ${o.k}`, [{ path: 'k', message: 'expected a number of personas such as 4' }]);
    }
    o.onProgress?.({ phase: 'kmeans', done: 0, total: 1 });
    await tick();
    const model = kmeans(x, { ...km, k: o.k });
    const [silhouette] = silhouetteScores(x, [model.labels], sil);
    return { k: o.k, chosenBy: 'given', silhouette: silhouette!, candidates: [{ k: o.k, silhouette: silhouette!, inertia: model.inertia }], candidateLabels: [model.labels], model };
  }
  const searchSize = o.searchSampleSize ?? SEARCH_SAMPLE_SIZE;
  const sampled = x.rows > searchSize;
  const xs = sampled ? selectRows(x, new SeededRandom(km.seed ^ 0x5eed).sampleIndices(x.rows, searchSize)) : x;
  const range = kRange(xs.rows, o);
  const total = range.length + (sampled ? 1 : 0);
  const models: KMeansResult[] = [];
  for (const [i, k] of range.entries()) {
    o.onProgress?.({ phase: 'k search', done: i, total });
    await tick();
    models.push(kmeans(xs, { ...km, k }));
  }
  // One pass over the (sampled) pairs scores every candidate: the longest step of the search.
  o.onProgress?.({ phase: 'silhouette', done: range.length, total });
  await tick();
  const scores = silhouetteScores(xs, models.map((m) => m.labels), sil);
  let best = -1;
  scores.forEach((s, i) => {
    if (!Number.isNaN(s) && (best < 0 || s > scores[best]!)) best = i;
  });
  if (best < 0) best = 0;
  const candidates = range.map((k, i) => ({ k, silhouette: scores[i]!, inertia: models[i]!.inertia }));
  if (!sampled) return { k: range[best]!, chosenBy: 'silhouette', silhouette: scores[best]!, candidates, candidateLabels: models.map((m) => m.labels), model: models[best]! };
  o.onProgress?.({ phase: 'kmeans', done: range.length, total });
  await tick();
  const model = kmeans(x, { ...km, k: range[best]! });
  const [silhouette] = silhouetteScores(x, [model.labels], sil);
  return { k: range[best]!, chosenBy: 'silhouette', silhouette: silhouette!, candidates, candidateLabels: null, model };
}

/** Per-cluster means of the raw columns, and of everyone outside the cluster. */
function meansByCluster(raw: Matrix, labels: Int32Array, k: number): { clusterMeans: Matrix; restMeans: Matrix } {
  const { rows, cols, data } = raw;
  const sums = new Float64Array(k * cols);
  const total = new Float64Array(cols);
  const n = new Float64Array(k);
  for (let i = 0; i < rows; i++) {
    const c = labels[i]!;
    n[c]! += 1;
    for (let j = 0; j < cols; j++) {
      sums[c * cols + j]! += data[i * cols + j]!;
      total[j]! += data[i * cols + j]!;
    }
  }
  const cm = new Float64Array(k * cols);
  const rm = new Float64Array(k * cols);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < cols; j++) {
      cm[c * cols + j] = n[c]! > 0 ? sums[c * cols + j]! / n[c]! : 0;
      rm[c * cols + j] = rows - n[c]! > 0 ? (total[j]! - sums[c * cols + j]!) / (rows - n[c]!) : 0;
    }
  }
  return { clusterMeans: matrix(k, cols, cm), restMeans: matrix(k, cols, rm) };
}

/** Personas of the rows of `raw` (one column per feature in `features`). */
export async function fitPersonas(raw: Matrix, features: readonly string[], options: PersonaFitOptions = {}): Promise<PersonaFit> {
  if (features.length !== raw.cols) throw new StrataError('INPUT_INVALID', `${features.length} feature names for ${raw.cols} columns`);
  if (raw.rows < 3) {
    throw new StrataError('INPUT_INVALID', `personas need at least 3 users, the population has ${raw.rows}`, [{ path: 'population', message: 'expected a wider population (a longer --active window, another --segment or --as-of)' }]);
  }
  assertFinite(raw, 'persona features');
  const logged = features.map(isLoggedFeature);
  const transformed = log1pColumns(raw, logged);
  const scaler = fitScaler(transformed);
  const standardized = standardize(transformed, scaler);
  const search = await searchK(standardized, options);
  options.onProgress?.({ phase: 'describing', done: 0, total: 1 });
  await tick();
  const labels = Object.fromEntries(features.map((f) => [f, options.labels?.[f] ?? personaFeatureLabel(f)]));
  const descriptions = describeClusters(transformed, search.model.labels, search.k, features, { labels });
  return {
    features,
    raw,
    logged,
    transformed,
    scaler,
    standardized,
    ...search,
    centroids: unstandardize(search.model.centroids, scaler),
    ...meansByCluster(raw, search.model.labels, search.k),
    descriptions,
  };
}
