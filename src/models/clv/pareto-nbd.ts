/**
 * Pareto/NBD (Schmittlein, Morrison & Colombo 1987, "Counting Your Customers",
 * Management Science 33(1)), in the form of Fader & Hardie (2005), "A Note on Deriving
 * the Pareto/NBD Model and Related Expressions". While alive a customer buys as a Poisson
 * process with rate lambda ~ Gamma(r, alpha); lifetimes are exponential with rate
 * mu ~ Gamma(s, beta).
 *
 * Likelihood of one customer (the note's eq. 22):
 *   L = Gamma(r+x) alpha^r beta^s / Gamma(r)
 *       * (1/((alpha+T)^(r+x) (beta+T)^s) + s/(r+s+x) A0)
 * with, for alpha >= beta (the note's eq. 24-25; swap the roles for alpha < beta, with
 * b = r+x in place of s+1),
 *   A0 = 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+tx)) / (alpha+tx)^(r+s+x)
 *      - 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+T)) / (alpha+T)^(r+s+x).
 * Numerically stable evaluation: everything in logs; A0's two terms are differences of
 * positive numbers taken as logSubExp, and the 2F1 arguments always lie in [0, 1) because
 * the larger of alpha, beta is in the denominator (so the series converges).
 *
 * P(alive | x, tx, T) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)
 * E[Y(t) | x, tx, T]  = (r+x)(beta+T) / ((alpha+T)(s-1)) * (1 - ((beta+T)/(beta+T+t))^(s-1))
 *                       * P(alive | x, tx, T)        (the note's eq. 29 and 33; s != 1)
 */
import type { CustomerSummaries } from './summary.js';
import { gammaln, hyp2f1, logAddExp, logSubExp } from './special.js';

export interface ParetoNbdParams {
  readonly r: number;
  readonly alpha: number;
  readonly s: number;
  readonly beta: number;
}

/** One of A0's two terms, log(2F1(...; gap/(big+t)) / (big+t)^(r+s+x)). */
function logA0Term(p: ParetoNbdParams, x: number, t: number): number {
  const { r, alpha, s, beta } = p;
  const rsx = r + s + x;
  const [big, small, b] = alpha >= beta ? [alpha, beta, s + 1] : [beta, alpha, r + x];
  return Math.log(hyp2f1(rsx, b, rsx + 1, (big - small) / (big + t))) - rsx * Math.log(big + t);
}

/** log A0 of the note (eq. 24-25), in logs throughout; `term` may cache logA0Term. */
function logA0(p: ParetoNbdParams, x: number, tx: number, T: number, term = (x: number, t: number) => logA0Term(p, x, t)): number {
  // With tx = T the two terms cancel exactly: A0 = 0.
  return logSubExp(term(x, tx), term(x, T));
}

/** The log-likelihood of one customer. */
export function paretoNbdCustomerLogLikelihood(p: ParetoNbdParams, x: number, tx: number, T: number, term?: (x: number, t: number) => number): number {
  const { r, alpha, s, beta } = p;
  const head = gammaln(r + x) - gammaln(r) + r * Math.log(alpha) + s * Math.log(beta);
  const alive = -(r + x) * Math.log(alpha + T) - s * Math.log(beta + T);
  const died = Math.log(s) - Math.log(r + s + x) + logA0(p, x, tx, T, term);
  return head + logAddExp(alive, died);
}

/** The sample's log-likelihood: the sum over customers. */
export function paretoNbdLogLikelihood(p: ParetoNbdParams, s: CustomerSummaries): number {
  // The 2F1 terms depend on (x, t) only; customers share them (T repeats by cohort day,
  // tx by purchase day), so each is computed once per evaluation.
  const cache = new Map<string, number>();
  const term = (x: number, t: number) => {
    const key = `${x}|${t}`;
    let v = cache.get(key);
    if (v === undefined) cache.set(key, (v = logA0Term(p, x, t)));
    return v;
  };
  let ll = 0;
  for (let i = 0; i < s.x.length; i++) ll += paretoNbdCustomerLogLikelihood(p, s.x[i]!, s.tx[i]!, s.T[i]!, term);
  return ll;
}

/** The probability that a customer with this history is still alive at T. */
export function paretoNbdProbabilityAlive(p: ParetoNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, s, beta } = p;
  const logOdds = Math.log(s) - Math.log(r + s + x) + (r + x) * Math.log(alpha + T) + s * Math.log(beta + T) + logA0(p, x, tx, T);
  return 1 / (1 + Math.exp(logOdds));
}

/** Expected transactions in (T, T + t] given the history. */
export function paretoNbdExpectedPurchases(p: ParetoNbdParams, t: number, x: number, tx: number, T: number): number {
  if (t <= 0) return 0;
  const { r, alpha, s, beta } = p;
  // (1 - q^(s-1)) / (s-1) tends to -log q as s -> 1; expm1 keeps it accurate near there.
  const logQ = Math.log(beta + T) - Math.log(beta + T + t);
  const shrink = Math.abs(s - 1) < 1e-8 ? -logQ : -Math.expm1((s - 1) * logQ) / (s - 1);
  return (((r + x) * (beta + T)) / (alpha + T)) * shrink * paretoNbdProbabilityAlive(p, x, tx, T);
}
