/**
 * Choosing the number of personas: k-means for every k in a range (default 2..8), each scored by
 * its mean silhouette on the same rows (a seeded sample for large populations, see silhouette.ts);
 * the best silhouette wins, the smaller k on ties. A given k skips the search (its silhouette is
 * still reported).
 *
 * For large populations the search itself runs on a seeded sample of `searchSampleSize` rows
 * (default 100,000): fitting seven k values with ten restarts each on millions of rows would take
 * hours, and the silhouette is sampled anyway. The chosen k is then fitted on all rows (same
 * restarts), and its silhouette recomputed on the full model's labels.
 */
import { StrataError } from '../../errors/errors.js';
import type { KMeansOptions, KMeansResult } from './kmeans.js';
import { kmeans } from './kmeans.js';
import type { Matrix } from './matrix.js';
import { selectRows } from './matrix.js';
import { SeededRandom } from './random.js';
import type { SilhouetteOptions } from './silhouette.js';
import { silhouetteScores } from './silhouette.js';

export interface ChooseKOptions extends Omit<KMeansOptions, 'k'>, SilhouetteOptions {
  /** A fixed k (no search). */
  readonly k?: number;
  readonly kMin?: number;
  readonly kMax?: number;
  /** Rows above which the k search runs on a seeded sample of this many rows (default 100,000). */
  readonly searchSampleSize?: number;
}

export interface KCandidate {
  readonly k: number;
  readonly silhouette: number;
  readonly inertia: number;
}

export interface ChosenClustering {
  readonly model: KMeansResult;
  readonly k: number;
  readonly silhouette: number;
  /** Every k tried, in increasing k (scored on the search sample when there was one). */
  readonly candidates: readonly KCandidate[];
}

export const K_RANGE_DEFAULT = { kMin: 2, kMax: 8 } as const;
export const SEARCH_SAMPLE_SIZE = 100_000;

export function chooseK(x: Matrix, options: ChooseKOptions = {}): ChosenClustering {
  const searchSize = options.searchSampleSize ?? SEARCH_SAMPLE_SIZE;
  if (options.k === undefined && x.rows > searchSize) {
    const sample = selectRows(x, new SeededRandom((options.seed ?? 0) ^ 0x5eed).sampleIndices(x.rows, searchSize));
    const search = chooseK(sample, { ...options, searchSampleSize: Infinity });
    const full = chooseK(x, { ...options, k: search.k });
    return { ...full, candidates: search.candidates };
  }
  const range = options.k !== undefined ? [options.k] : kRange(x, options);
  const models = range.map((k) => kmeans(x, { ...options, k }));
  const scores = silhouetteScores(x, models.map((m) => m.labels), options);
  // Strictly greater, so ties keep the smaller k; NaN (fewer than 2 clusters) never wins.
  let best = -1;
  scores.forEach((s, i) => {
    if (!Number.isNaN(s) && (best < 0 || s > scores[best]!)) best = i;
  });
  if (best < 0) best = 0;
  return {
    model: models[best]!,
    k: range[best]!,
    silhouette: scores[best]!,
    candidates: range.map((k, i) => ({ k, silhouette: scores[i]!, inertia: models[i]!.inertia })),
  };
}

function kRange(x: Matrix, options: ChooseKOptions): number[] {
  const kMin = options.kMin ?? K_RANGE_DEFAULT.kMin;
  const kMax = Math.min(options.kMax ?? K_RANGE_DEFAULT.kMax, x.rows - 1);
  if (!Number.isInteger(kMin) || kMin < 2 || kMax < kMin) {
    throw new StrataError('INPUT_INVALID', `the k range must satisfy 2 <= kMin <= kMax <= rows - 1, got ${kMin}..${options.kMax ?? K_RANGE_DEFAULT.kMax} with ${x.rows} rows`);
  }
  return Array.from({ length: kMax - kMin + 1 }, (_, i) => kMin + i);
}
