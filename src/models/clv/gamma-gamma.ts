/**
 * Gamma-Gamma spend (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves for
 * Customer Base Analysis", JMR 42(4); Fader & Hardie 2013, "The Gamma-Gamma Model of
 * Monetary Value"). Each transaction's value is Gamma(p, nu) with nu ~ Gamma(q, gamma)
 * across customers, independent of the transaction process. Fitted on the customers with
 * x > 0 repeat transactions and mean repeat value mx:
 *   f(mx | p, q, gamma, x) = Gamma(px+q) / (Gamma(px) Gamma(q))
 *                            * gamma^q mx^(px-1) x^(px) / (gamma + mx x)^(px+q)
 * Expected value of a customer's transactions (the posterior mean of p/nu):
 *   E[M | x, mx] = p (gamma + x mx) / (px + q - 1),  and p gamma / (q - 1) when x = 0.
 */
import type { CustomerSummaries } from './summary.js';
import { gammaln } from './special.js';

export interface GammaGammaParams {
  readonly p: number;
  readonly q: number;
  readonly gamma: number;
}

/** The log density of one repeat buyer's mean value (x > 0). */
export function gammaGammaCustomerLogLikelihood(g: GammaGammaParams, x: number, mx: number): number {
  const { p, q, gamma } = g;
  const px = p * x;
  return gammaln(px + q) - gammaln(px) - gammaln(q) + q * Math.log(gamma) + (px - 1) * Math.log(mx) + px * Math.log(x) - (px + q) * Math.log(gamma + mx * x);
}

/** The log-likelihood over the customers with x > 0 and a positive mean value. */
export function gammaGammaLogLikelihood(g: GammaGammaParams, s: CustomerSummaries): number {
  let ll = 0;
  for (let i = 0; i < s.x.length; i++) if (s.x[i]! > 0 && s.monetary[i]! > 0) ll += gammaGammaCustomerLogLikelihood(g, s.x[i]!, s.monetary[i]!);
  return ll;
}

/** The expected value of this customer's future transactions. */
export function gammaGammaExpectedSpend(g: GammaGammaParams, x: number, mx: number): number {
  const { p, q, gamma } = g;
  if (x === 0 || !(mx > 0)) return (p * gamma) / (q - 1);
  return (p * (gamma + x * mx)) / (p * x + q - 1);
}
