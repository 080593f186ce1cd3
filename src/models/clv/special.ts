/**
 * Special functions for the CLV likelihoods. Log-gamma, log-beta and the Gauss
 * hypergeometric function come from @stdlib (ports of Boost/Cephes with documented
 * accuracy, and maintained): no hand-written series to keep convergent.
 */
import betaln from '@stdlib/math-base-special-betaln';
import gammaln from '@stdlib/math-base-special-gammaln';
import hyp2f1 from '@stdlib/math-base-special-hyp2f1';

export { betaln, gammaln, hyp2f1 };

/** log(exp(a) + exp(b)) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/** log(exp(a) - exp(b)) for a >= b (NaN otherwise, -Infinity when equal). */
export function logSubExp(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (a < b) return NaN;
  if (a === b) return -Infinity;
  return a + Math.log1p(-Math.exp(b - a));
}
