/**
 * Explanations for both model families.
 *
 * Logistic regression (exact, additive on the log-odds scale):
 * - importance_j = |β_j · sd_j|, the coefficient per standard deviation of feature j (β on the
 *   raw scale; when the model was fitted standardized, β·sd is its own coefficient), reported
 *   as is and normalized to sum 1;
 * - contribution_ij = β_j · (x_ij − mean_j), so base + Σ_j contribution_ij = z_i with base the
 *   score of the mean training row: reasons are relative to the average user.
 *
 * Gradient-boosted trees (Saabas path attribution):
 * - importance_j = total split gain on feature j over all trees, normalized to sum 1;
 * - along each tree's path, the change in node value (child − parent, values −G/(H+λ)·lr) is
 *   credited to the parent's split feature, so base + Σ_j contribution_ij = F_i with base the
 *   baseline plus every root's value.
 *
 * Top reasons: the k features with the largest |contribution|, with sign (positive raises
 * the probability), ties by feature order.
 */
import { invalid, type DesignMatrix } from './matrix.js';
import type { LogisticModel } from './logistic.js';
import type { GbtModel } from './gbt.js';

export type LearnedModel = LogisticModel | GbtModel;

export interface FeatureImportance {
  readonly feature: string;
  /** Normalized to sum 1 over features (0 when every raw value is 0). */
  readonly importance: number;
  /** |standardized coefficient| (logistic) or total gain (trees). */
  readonly raw: number;
}

export interface RowExplanation {
  /** The log-odds of the reference (mean row, or baseline plus root values). */
  readonly base: number;
  /** Per feature, in model order; base + Σ = the row's log-odds. */
  readonly contributions: Float64Array;
  readonly reasons: readonly { readonly feature: string; readonly value: number; readonly contribution: number }[];
}

export function featureImportance(model: LearnedModel): FeatureImportance[] {
  const raw = model.kind === 'logistic' ? logisticImportance(model) : gbtImportance(model);
  let total = 0;
  for (const v of raw) total += v;
  return model.names
    .map((feature, j) => ({ feature, raw: raw[j]!, importance: total > 0 ? raw[j]! / total : 0 }))
    .sort((a, b) => b.raw - a.raw || model.names.indexOf(a.feature) - model.names.indexOf(b.feature));
}

export function explainRow(model: LearnedModel, x: DesignMatrix, row: number, top = 5): RowExplanation {
  if (!Number.isInteger(row) || row < 0 || row >= x.n) throw invalid(`row ${row} is outside the matrix (0..${x.n - 1})`);
  if (x.p !== model.names.length || x.names.some((name, j) => name !== model.names[j])) {
    throw invalid(`the matrix's features (${x.names.join(', ')}) differ from the model's (${model.names.join(', ')})`);
  }
  const { base, contributions } = model.kind === 'logistic' ? logisticContributions(model, x, row) : saabasContributions(model, x, row);
  const order = model.names.map((_, j) => j).sort((a, b) => Math.abs(contributions[b]!) - Math.abs(contributions[a]!) || a - b);
  const reasons = order
    .slice(0, top)
    .map((j) => ({ feature: model.names[j]!, value: x.values[row * x.p + j]!, contribution: contributions[j]! }));
  return { base, contributions, reasons };
}

/** Raw-scale coefficients β_j and intercept, whatever scale the model was fitted on. */
export function rawCoefficients(model: LogisticModel): { coef: Float64Array; intercept: number } {
  if (!model.standardized) return { coef: model.coef.slice(), intercept: model.intercept };
  const { means, sds } = model.standardizer;
  const coef = new Float64Array(model.coef.length);
  let intercept = model.intercept;
  for (let j = 0; j < coef.length; j++) {
    coef[j] = model.coef[j]! / sds[j]!;
    intercept -= coef[j]! * means[j]!;
  }
  return { coef, intercept };
}

function logisticImportance(model: LogisticModel): Float64Array {
  const { coef } = rawCoefficients(model);
  return coef.map((b, j) => Math.abs(b * model.standardizer.sds[j]!));
}

function logisticContributions(model: LogisticModel, x: DesignMatrix, row: number): { base: number; contributions: Float64Array } {
  const { coef, intercept } = rawCoefficients(model);
  const { means } = model.standardizer;
  const contributions = new Float64Array(x.p);
  let base = intercept;
  for (let j = 0; j < x.p; j++) {
    base += coef[j]! * means[j]!;
    contributions[j] = coef[j]! * (x.values[row * x.p + j]! - means[j]!);
  }
  return { base, contributions };
}

function gbtImportance(model: GbtModel): Float64Array {
  const gains = new Float64Array(model.names.length);
  for (const tree of model.trees) {
    for (let node = 0; node < tree.feature.length; node++) if (tree.feature[node]! >= 0) gains[tree.feature[node]!]! += tree.gain[node]!;
  }
  return gains;
}

function saabasContributions(model: GbtModel, x: DesignMatrix, row: number): { base: number; contributions: Float64Array } {
  const contributions = new Float64Array(x.p);
  let base = model.baseline;
  const offset = row * x.p;
  for (const tree of model.trees) {
    let node = 0;
    base += tree.value[0]!;
    while (tree.feature[node]! >= 0) {
      const f = tree.feature[node]!;
      const next = x.values[offset + f]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
      contributions[f]! += tree.value[next]! - tree.value[node]!;
      node = next;
    }
  }
  return { base, contributions };
}
