/**
 * Maximum-likelihood fits of the transaction models and the spend model: every parameter
 * is positive, so the optimizer works on their logarithms (an unconstrained problem with a
 * better-conditioned surface), starting from 1 for shapes and the mean age (or mean value)
 * for scales, so the start is in the right units whatever the time unit.
 */
import { StrataError } from '../../errors/errors.js';
import { bgnbdLogLikelihood, type BgNbdParams } from './bgnbd.js';
import { gammaGammaLogLikelihood, type GammaGammaParams } from './gamma-gamma.js';
import { minimize } from './optimize.js';
import { paretoNbdLogLikelihood, type ParetoNbdParams } from './pareto-nbd.js';
import type { CustomerSummaries } from './summary.js';

export const TRANSACTION_MODELS = ['bgnbd', 'paretonbd'] as const;
export type TransactionModel = (typeof TRANSACTION_MODELS)[number];

export interface FitDiagnostics {
  /** The maximized log-likelihood. */
  readonly logLikelihood: number;
  /** Customers the likelihood covers. */
  readonly customers: number;
  /** Likelihood evaluations the optimizer used. */
  readonly evaluations: number;
  readonly converged: boolean;
}

export type TransactionFit =
  | ({ readonly model: 'bgnbd'; readonly params: BgNbdParams } & FitDiagnostics)
  | ({ readonly model: 'paretonbd'; readonly params: ParetoNbdParams } & FitDiagnostics);

export type GammaGammaFit = { readonly params: GammaGammaParams } & FitDiagnostics;

function meanOf(values: Float64Array, keep: (i: number) => boolean): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (!keep(i)) continue;
    sum += values[i]!;
    n++;
  }
  return n === 0 ? 1 : Math.max(sum / n, 1e-6);
}

function requireCustomers(s: CustomerSummaries, what: string): void {
  let repeat = 0;
  for (let i = 0; i < s.x.length; i++) if (s.x[i]! > 0) repeat++;
  if (s.x.length < 2 || repeat === 0) {
    throw new StrataError('INPUT_INVALID', `${what}: needs customers with repeat purchases to fit (got ${s.x.length} customers, ${repeat} with a repeat purchase)`);
  }
}

/** BG/NBD by maximum likelihood. */
export function fitBgNbd(s: CustomerSummaries): TransactionFit {
  requireCustomers(s, 'BG/NBD');
  const scale = meanOf(s.T, () => true);
  const params = (v: Float64Array): BgNbdParams => ({ r: Math.exp(v[0]!), alpha: Math.exp(v[1]!), a: Math.exp(v[2]!), b: Math.exp(v[3]!) });
  const run = minimize((v) => -bgnbdLogLikelihood(params(v), s), [0, Math.log(scale), 0, 0]);
  return { model: 'bgnbd', params: params(run.x), logLikelihood: -run.value, customers: s.x.length, evaluations: run.evaluations, converged: run.converged };
}

/** Pareto/NBD by maximum likelihood. */
export function fitParetoNbd(s: CustomerSummaries): TransactionFit {
  requireCustomers(s, 'Pareto/NBD');
  const scale = Math.log(meanOf(s.T, () => true));
  const params = (v: Float64Array): ParetoNbdParams => ({ r: Math.exp(v[0]!), alpha: Math.exp(v[1]!), s: Math.exp(v[2]!), beta: Math.exp(v[3]!) });
  const run = minimize((v) => -paretoNbdLogLikelihood(params(v), s), [0, scale, 0, scale]);
  return { model: 'paretonbd', params: params(run.x), logLikelihood: -run.value, customers: s.x.length, evaluations: run.evaluations, converged: run.converged };
}

/** Either transaction model. */
export function fitTransactionModel(model: TransactionModel, s: CustomerSummaries): TransactionFit {
  return model === 'bgnbd' ? fitBgNbd(s) : fitParetoNbd(s);
}

/** Gamma-Gamma on the customers with repeat purchases of positive mean value. */
export function fitGammaGamma(s: CustomerSummaries): GammaGammaFit {
  const repeat = (i: number) => s.x[i]! > 0 && s.monetary[i]! > 0;
  let customers = 0;
  for (let i = 0; i < s.x.length; i++) if (repeat(i)) customers++;
  if (customers < 2) throw new StrataError('INPUT_INVALID', `Gamma-Gamma: needs at least 2 customers with repeat purchases of positive value, got ${customers}`);
  const scale = meanOf(s.monetary, repeat);
  const params = (v: Float64Array): GammaGammaParams => ({ p: Math.exp(v[0]!), q: Math.exp(v[1]!), gamma: Math.exp(v[2]!) });
  const run = minimize((v) => -gammaGammaLogLikelihood(params(v), s), [0, Math.log(2), Math.log(scale)]);
  return { params: params(run.x), logLikelihood: -run.value, customers, evaluations: run.evaluations, converged: run.converged };
}
