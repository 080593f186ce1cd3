/**
 * Effects of treatment B against control A, with the variance of the estimate:
 *   absolute: mB - mA,          variance vA/nA + vB/nB
 *   relative: (mB - mA) / |mA|, variance vB/(nB mA²) + vA mB²/(nA mA⁴)   (delta method;
 *             GrowthBook's gbstats, and e.g. Deng, Knoblich & Lu, KDD 2018, "Applying the
 *             Delta Method in Metric Analytics")
 */
import { degenerate, type Degenerate } from './result.js';
import type { ArmSummary } from './sufficient.js';

export type Difference = 'absolute' | 'relative';

export interface Effect {
  readonly ok: true;
  readonly difference: Difference;
  readonly estimate: number;
  readonly variance: number;
  readonly se: number;
}

export function effectOf(control: ArmSummary, treatment: ArmSummary, difference: Difference): Effect | Degenerate {
  const { n: nA, mean: mA, variance: vA } = control;
  const { n: nB, mean: mB, variance: vB } = treatment;
  if (vA === 0 && vB === 0) return degenerate('zero-variance', 'both arms have zero variance; there is no uncertainty to test against');
  if (difference === 'absolute') {
    const variance = vA / nA + vB / nB;
    return { ok: true, difference, estimate: mB - mA, variance, se: Math.sqrt(variance) };
  }
  if (mA === 0) return degenerate('zero-control-mean', 'the control mean is zero; a relative effect is undefined (use the absolute difference)');
  const mA2 = mA * mA;
  const variance = vB / (nB * mA2) + (vA * mB * mB) / (nA * mA2 * mA2);
  const estimate = (mB - mA) / Math.abs(mA);
  // mA⁴ underflows (or the ratio overflows) when the control mean is tiny: no usable number.
  if (!Number.isFinite(variance) || !Number.isFinite(estimate)) {
    return degenerate('zero-control-mean', `the control mean ${mA} is too close to zero for a relative effect (use the absolute difference)`);
  }
  if (variance === 0) return degenerate('zero-variance', 'the relative effect has zero variance (treatment has zero variance and zero mean)');
  return { ok: true, difference, estimate, variance, se: Math.sqrt(variance) };
}
