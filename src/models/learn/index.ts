/**
 * Supervised learning core (pure TypeScript on typed arrays, no I/O):
 * - matrix.ts: the dense row-major design matrix and standardization;
 * - logistic.ts: L2 logistic regression, sklearn's objective, damped Newton;
 * - gbt.ts: histogram gradient-boosted trees for log loss (HistGradientBoostingClassifier's
 *   algorithm and defaults);
 * - metrics.ts: AUC, log loss, calibration table, lift/gains by decile (sklearn/numpy definitions);
 * - explain.ts: global importance and per-row reasons (exact for logistic, Saabas for trees);
 * - serialize.ts: the versioned JSON model format.
 * Oracles (test/learn*.test.ts): sklearn 1.2 / numpy in /usr/bin/python3 on the same data.
 */
import { predictGbt } from './gbt.js';
import { predictLogistic } from './logistic.js';
import type { LearnedModel } from './explain.js';
import type { DesignMatrix } from './matrix.js';

export * from './matrix.js';
export * from './logistic.js';
export * from './gbt.js';
export * from './metrics.js';
export * from './explain.js';
export * from './serialize.js';

/** P(y = 1) per row for either model family. */
export function predictProbability(model: LearnedModel, x: DesignMatrix): Float64Array {
  return model.kind === 'logistic' ? predictLogistic(model, x) : predictGbt(model, x);
}
