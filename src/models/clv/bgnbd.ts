/**
 * BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way", Marketing
 * Science 24(2)). While alive a customer buys as a Poisson process with rate lambda ~
 * Gamma(r, alpha); after each purchase they drop out with probability p ~ Beta(a, b).
 *
 * Likelihood of one customer (eq. 6), in logs:
 *   L = B(a, b+x)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+T)^(r+x))
 *     + [x > 0] B(a+1, b+x-1)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+tx)^(r+x))
 * P(alive | x, tx, T) = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+tx))^(r+x))
 * E[Y(t) | x, tx, T] (eq. 10) = (a+b+x-1)/(a-1)
 *     * (1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t)))
 *     * P(alive | x, tx, T)
 */
import type { CustomerSummaries } from './summary.js';
import { betaln, gammaln, hyp2f1, logAddExp } from './special.js';

export interface BgNbdParams {
  readonly r: number;
  readonly alpha: number;
  readonly a: number;
  readonly b: number;
}

/** The log-likelihood of one customer. */
export function bgnbdCustomerLogLikelihood(p: BgNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = p;
  const common = gammaln(r + x) - gammaln(r) + r * Math.log(alpha) - betaln(a, b);
  const stay = betaln(a, b + x) - (r + x) * Math.log(alpha + T);
  if (x === 0) return common + stay;
  const dropped = betaln(a + 1, b + x - 1) - (r + x) * Math.log(alpha + tx);
  return common + logAddExp(stay, dropped);
}

/**
 * The sample's log-likelihood: the sum over customers. The terms that depend on x alone
 * (log-gamma and log-beta) are computed once per distinct x: x takes few values, and they
 * are most of the cost (the same sums as bgnbdCustomerLogLikelihood, term for term).
 */
export function bgnbdLogLikelihood(p: BgNbdParams, s: CustomerSummaries): number {
  const { r, alpha, a, b } = p;
  const base = -gammaln(r) + r * Math.log(alpha) - betaln(a, b);
  const byX = new Map<number, { common: number; stay: number; dropped: number }>();
  let ll = 0;
  for (let i = 0; i < s.x.length; i++) {
    const x = s.x[i]!;
    let c = byX.get(x);
    if (c === undefined) {
      c = { common: gammaln(r + x) + base, stay: betaln(a, b + x), dropped: x === 0 ? -Infinity : betaln(a + 1, b + x - 1) };
      byX.set(x, c);
    }
    const stay = c.stay - (r + x) * Math.log(alpha + s.T[i]!);
    ll += x === 0 ? c.common + stay : c.common + logAddExp(stay, c.dropped - (r + x) * Math.log(alpha + s.tx[i]!));
  }
  return ll;
}

/** The probability that a customer with this history is still alive at T. */
export function bgnbdProbabilityAlive(p: BgNbdParams, x: number, tx: number, T: number): number {
  if (x === 0) return 1;
  const { r, alpha, a, b } = p;
  const logOdds = Math.log(a) - Math.log(b + x - 1) + (r + x) * (Math.log(alpha + T) - Math.log(alpha + tx));
  return 1 / (1 + Math.exp(logOdds));
}

/** Expected transactions in (T, T + t] given the history (eq. 10). */
export function bgnbdExpectedPurchases(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  if (t <= 0) return 0;
  const { r, alpha, a, b } = p;
  const z = t / (alpha + T + t);
  const decay = Math.exp((r + x) * (Math.log(alpha + T) - Math.log(alpha + T + t)));
  const bracket = 1 - decay * hyp2f1(r + x, b + x, a + b + x - 1, z);
  return ((a + b + x - 1) / (a - 1)) * bracket * bgnbdProbabilityAlive(p, x, tx, T);
}
