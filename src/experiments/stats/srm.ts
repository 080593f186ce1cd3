/**
 * Sample ratio mismatch: Pearson's chi-square of the users per arm against the configured
 * weights, df = arms - 1, p = Q(df/2, χ²/2) (the regularized upper incomplete gamma, which
 * keeps precision in the tail where 1 - CDF would not); flagged below p = 0.001 (Kohavi, Tang
 * & Xu, "Trustworthy Online Controlled Experiments", ch. 21; Fabijan et al., KDD 2019).
 */
import gammainc from '@stdlib/math-base-special-gammainc';
import { StrataError } from '../../errors/errors.js';
import { degenerate, type Degenerate } from './result.js';

export const SRM_THRESHOLD = 0.001;

export interface SrmResult {
  readonly ok: true;
  readonly chiSquare: number;
  readonly df: number;
  readonly pValue: number;
  readonly expected: readonly number[];
  /** pValue < SRM_THRESHOLD. */
  readonly flagged: boolean;
}

function checkSrmInput(counts: readonly number[], weights: readonly number[]): void {
  if (counts.length < 2) throw new StrataError('INPUT_INVALID', `an SRM check needs at least 2 arms, got ${counts.length}`);
  if (weights.length !== counts.length) throw new StrataError('INPUT_INVALID', `${counts.length} arms but ${weights.length} weights`);
  counts.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0) throw new StrataError('INPUT_INVALID', `users in arm ${i} must be a non-negative integer, got ${c}`);
  });
  weights.forEach((w, i) => {
    if (!(Number.isFinite(w) && w > 0)) throw new StrataError('INPUT_INVALID', `weight of arm ${i} must be a positive finite number, got ${w}`);
  });
}

/** Chi-square test of users per arm against weights (any positive scale: [1, 1] is 50/50). */
export function srmTest(counts: readonly number[], weights: readonly number[]): SrmResult | Degenerate {
  checkSrmInput(counts, weights);
  const total = counts.reduce((s, c) => s + c, 0);
  if (total === 0) return degenerate('no-users', 'no users in any arm; the split cannot be checked');
  const weightSum = weights.reduce((s, w) => s + w, 0);
  const expected = weights.map((w) => (total * w) / weightSum);
  let chiSquare = 0;
  counts.forEach((c, i) => {
    const e = expected[i] as number;
    chiSquare += ((c - e) * (c - e)) / e;
  });
  const df = counts.length - 1;
  const pValue = gammainc(chiSquare / 2, df / 2, true, true);
  return { ok: true, chiSquare, df, pValue, expected, flagged: pValue < SRM_THRESHOLD };
}
