/**
 * Personas: clustering of users on standardized behavioural features (pure, typed arrays).
 * - `standardize.ts`: z-scores as sklearn's StandardScaler (population sd; constant columns
 *   become 0 and are listed), `log1pMatrix` for skewed counts;
 * - `kmeans.ts`: greedy k-means++ seeding, Lloyd iterations with sklearn's tolerance and empty
 *   cluster relocation, n_init restarts; `kmeansFromCentroids` for explicit starting centroids;
 *   the assignment step with Hamerly's bounds (`bounded-assign.ts`, same labels, far fewer
 *   distances), or every distance (`assign-kernel.ts`) on worker threads (`parallel-assign.ts`);
 * - `silhouette.ts`: exact silhouette, on a seeded sample of 10,000 rows for large populations;
 *   `choose-k.ts`: best silhouette over k = 2..8 unless k is given;
 * - `describe.ts`: distinguishing features (standardized mean difference against the rest) and
 *   deterministic, unique names;
 * - `stable-ids.ts` + `hungarian.ts`: ids kept across refreshes by matching centroids;
 * - `adjusted-rand.ts`: the adjusted Rand index (the oracle tests' agreement measure).
 * Oracles: scikit-learn 1.2 (KMeans, silhouette_score, adjusted_rand_score) in test/cluster-*.test.ts.
 */
export type { Matrix } from './matrix.js';
export { matrix, matrixFromRows, selectRows, assertFinite } from './matrix.js';
export type { Scaler } from './standardize.js';
export { fitScaler, standardize, unstandardize, log1pMatrix } from './standardize.js';
export type { KMeansOptions, KMeansResult, LloydOptions } from './kmeans.js';
export { kmeans, kmeansFromCentroids, kmeansPlusPlus, inertiaOf, absoluteTolerance, KMEANS_DEFAULTS } from './kmeans.js';
export { SeededRandom } from './random.js';
export type { SilhouetteOptions } from './silhouette.js';
export { silhouetteExact, silhouetteScores, silhouetteRows, SILHOUETTE_SAMPLE_SIZE } from './silhouette.js';
export type { ChooseKOptions, ChosenClustering, KCandidate } from './choose-k.js';
export { chooseK, K_RANGE_DEFAULT, SEARCH_SAMPLE_SIZE } from './choose-k.js';
export type { DescribeOptions, DistinguishingFeature, FeatureLabel, PersonaDescription } from './describe.js';
export { describeClusters, uniqueNames, DISTINGUISHING_SMD, VERY_SMD, TYPICAL_NAME, SMD_CAP } from './describe.js';
export type { MatchOptions, PersonaIdAssignment, PersonaIdState, PersonaMatch } from './stable-ids.js';
export { matchPersonaIds, initialPersonaIds } from './stable-ids.js';
export { minimumCostAssignment } from './hungarian.js';
export { adjustedRandIndex } from './adjusted-rand.js';
