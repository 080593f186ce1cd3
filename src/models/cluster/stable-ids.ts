/**
 * Persona ids that survive a refresh. The previous model's centroids are kept in ORIGINAL
 * feature units (after any log1p, before standardizing), so they do not depend on the old
 * scaler; on refresh they are standardized with the NEW model's scaler and matched to the new
 * centroids by minimum total Euclidean distance (Hungarian method). A matched new cluster takes
 * the old id; a pair farther apart than `maxDistance` (default: no limit) is not a match. New
 * clusters without a match get fresh ids from `nextId` (ids are never reused); previous ids left
 * unmatched are reported as vanished.
 */
import { StrataError } from '../../errors/errors.js';
import { minimumCostAssignment } from './hungarian.js';
import type { Matrix } from './matrix.js';
import { squaredDistance } from './matrix.js';
import type { Scaler } from './standardize.js';
import { standardize } from './standardize.js';

export interface PersonaIdState {
  /** Id of each previous cluster, in the order of the rows of `centroids`. */
  readonly ids: readonly number[];
  /** Previous centroids in original feature units. */
  readonly centroids: Matrix;
  /** The next unused id (ids are never reused). */
  readonly nextId: number;
}

export interface PersonaMatch {
  readonly id: number;
  readonly cluster: number;
  readonly previous: number;
  /** Euclidean distance in the new model's standardized space. */
  readonly distance: number;
}

export interface PersonaIdAssignment {
  /** Id of each new cluster. */
  readonly ids: number[];
  readonly matched: PersonaMatch[];
  /** New clusters (indices) that got fresh ids. */
  readonly created: number[];
  /** Previous ids with no new cluster. */
  readonly vanished: number[];
  readonly nextId: number;
}

export interface MatchOptions {
  readonly maxDistance?: number;
}

/** Ids for a first model: 1..k. */
export function initialPersonaIds(k: number): PersonaIdAssignment {
  const ids = Array.from({ length: k }, (_, i) => i + 1);
  return { ids, matched: [], created: ids.map((_, i) => i), vanished: [], nextId: k + 1 };
}

export function matchPersonaIds(centroids: Matrix, scaler: Scaler, previous: PersonaIdState | null, options: MatchOptions = {}): PersonaIdAssignment {
  if (previous === null) return initialPersonaIds(centroids.rows);
  const old = previous.centroids;
  if (old.cols !== centroids.cols) throw new StrataError('INPUT_INVALID', `the previous centroids have ${old.cols} features, the new ones ${centroids.cols}`);
  if (previous.ids.length !== old.rows) throw new StrataError('INPUT_INVALID', `${previous.ids.length} previous ids for ${old.rows} previous centroids`);
  const a = standardize(centroids, scaler);
  const b = standardize(old, scaler);
  const cost = Array.from({ length: a.rows }, (_, i) => Array.from({ length: b.rows }, (_, j) => Math.sqrt(squaredDistance(a.data, i, b.data, j, a.cols))));
  const assignment = minimumCostAssignment(cost);
  const limit = options.maxDistance ?? Infinity;
  let nextId = Math.max(previous.nextId, ...previous.ids.map((id) => id + 1));
  const ids: number[] = [];
  const matched: PersonaMatch[] = [];
  const created: number[] = [];
  const taken = new Set<number>();
  assignment.forEach((j, i) => {
    const distance = j >= 0 ? cost[i]![j]! : Infinity;
    if (j >= 0 && distance <= limit) {
      ids.push(previous.ids[j]!);
      taken.add(j);
      matched.push({ id: previous.ids[j]!, cluster: i, previous: j, distance });
    } else {
      ids.push(nextId++);
      created.push(i);
    }
  });
  const vanished = previous.ids.filter((_, j) => !taken.has(j));
  return { ids, matched, created, vanished, nextId };
}
