/**
 * Does the effect differ between disjoint segments? Cochran's Q test (Cochran 1954), as in
 * fixed-effect meta-analysis (Borenstein, Hedges, Higgins & Rothstein, "Introduction to
 * Meta-Analysis", 2009, ch. 16; R's metafor prints the same Q):
 *   wᵢ = 1/seᵢ²,  ē = Σ wᵢ eᵢ / Σ wᵢ (the pooled effect, se √(1/Σwᵢ)),
 *   Q = Σ wᵢ (eᵢ - ē)²,  df = k - 1,  p = P(χ²_df > Q) = Q(df/2, Q/2) (regularized upper
 *   incomplete gamma from @stdlib, as srm.ts),
 *   I² = max(0, (Q - df)/Q) (Higgins & Thompson 2002; 0 when Q = 0): the share of the spread
 *   between segments beyond what chance explains.
 * Segments must be disjoint (independent estimates); effects are taken as given (absolute, or
 * relative to each segment's own control mean). Degenerate: fewer than 2 segments, or a segment
 * with se = 0 (an infinite weight).
 */
import gammainc from '@stdlib/math-base-special-gammainc';
import { StrataError } from '../../errors/errors.js';
import { degenerate, type Degenerate } from './result.js';

export interface SegmentEffect {
  readonly name: string;
  readonly effect: number;
  readonly se: number;
}

export interface HeterogeneityResult {
  readonly ok: true;
  readonly q: number;
  readonly df: number;
  readonly pValue: number;
  /** In [0, 1). */
  readonly iSquared: number;
  /** Inverse-variance weighted (fixed-effect) effect over the segments and its se. */
  readonly pooledEffect: number;
  readonly pooledSe: number;
  readonly segments: number;
}

export function heterogeneityTest(effects: readonly SegmentEffect[]): HeterogeneityResult | Degenerate {
  effects.forEach((e, i) => {
    if (!Number.isFinite(e.effect) || !(Number.isFinite(e.se) && e.se >= 0)) {
      throw new StrataError('INPUT_INVALID', `segment ${i} (${e.name}): effect must be finite and se >= 0, got effect ${e.effect}, se ${e.se}`);
    }
  });
  if (effects.length < 2) return degenerate('too-few-segments', `a heterogeneity test needs at least 2 segments with an effect, got ${effects.length}`);
  const zero = effects.find((e) => e.se === 0);
  if (zero) return degenerate('zero-variance', `segment ${zero.name} has a zero standard error, so its weight is infinite; the test is undefined`);
  const w = effects.map((e) => 1 / (e.se * e.se));
  const wSum = w.reduce((s, x) => s + x, 0);
  const pooled = effects.reduce((s, e, i) => s + w[i]! * e.effect, 0) / wSum;
  const q = effects.reduce((s, e, i) => s + w[i]! * (e.effect - pooled) ** 2, 0);
  const df = effects.length - 1;
  return {
    ok: true,
    q,
    df,
    pValue: q === 0 ? 1 : gammainc(q / 2, df / 2, true, true),
    iSquared: q > 0 ? Math.max(0, (q - df) / q) : 0,
    pooledEffect: pooled,
    pooledSe: Math.sqrt(1 / wSum),
    segments: effects.length,
  };
}
