/**
 * Derived quantities per customer from a transaction fit and a spend fit.
 *
 * CLV over a horizon H with an annual discount rate d (the discrete form of the discounted
 * expected residual transactions of Fader, Hardie & Lee 2005, "RFM and CLV", as the
 * `lifetimes` library computes it, with steps of `step` time units instead of months):
 *   CLV = E[M] * sum_{k=1..K} (E[Y(t_k)] - E[Y(t_{k-1})]) / (1 + d)^(t_k / U)
 * with t_k = min(k * step, H), K = ceil(H / step), t_0 = 0, E[Y(t)] the conditional
 * expected transactions in (T, T+t], E[M] the Gamma-Gamma expected spend per transaction
 * and U the time units in a year (52.1775 weeks, 365.2425 days). Each step's transactions
 * are discounted from its end: a slight underestimate of value, as in `lifetimes`.
 */
import { bgnbdExpectedPurchases, bgnbdProbabilityAlive } from './bgnbd.js';
import type { GammaGammaFit, TransactionFit } from './fit.js';
import { gammaGammaExpectedSpend } from './gamma-gamma.js';
import { paretoNbdExpectedPurchases, paretoNbdProbabilityAlive } from './pareto-nbd.js';
import type { CustomerSummaries } from './summary.js';

export const TIME_UNITS = ['week', 'day'] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];
export const UNIT_DAYS: Record<TimeUnit, number> = { week: 7, day: 1 };
/** Time units in a (Gregorian) year. */
export const UNITS_PER_YEAR: Record<TimeUnit, number> = { week: 365.2425 / 7, day: 365.2425 };

/** P(alive | x, tx, T). */
export function probabilityAlive(fit: TransactionFit, x: number, tx: number, T: number): number {
  return fit.model === 'bgnbd' ? bgnbdProbabilityAlive(fit.params, x, tx, T) : paretoNbdProbabilityAlive(fit.params, x, tx, T);
}

/** E[Y(t) | x, tx, T]: expected transactions in the next t time units. */
export function expectedPurchases(fit: TransactionFit, t: number, x: number, tx: number, T: number): number {
  return fit.model === 'bgnbd' ? bgnbdExpectedPurchases(fit.params, t, x, tx, T) : paretoNbdExpectedPurchases(fit.params, t, x, tx, T);
}

export interface ClvSettings {
  /** The horizon H, in the fit's time unit. */
  readonly horizon: number;
  /** The annual discount rate d (0.1 = 10% a year). */
  readonly discountRate: number;
  /** Time units per year U. */
  readonly unitsPerYear: number;
  /** The discounting step, in time units (default: one week's worth). */
  readonly step: number;
}

/** CLV of one customer (the formula above). */
export function customerLifetimeValue(fit: TransactionFit, spend: number, settings: ClvSettings, x: number, tx: number, T: number): number {
  const { horizon, discountRate, unitsPerYear, step } = settings;
  let total = 0;
  let before = 0;
  const k = Math.ceil(horizon / step - 1e-12);
  for (let i = 1; i <= k; i++) {
    const t = Math.min(i * step, horizon);
    const upTo = expectedPurchases(fit, t, x, tx, T);
    total += (upTo - before) / Math.pow(1 + discountRate, t / unitsPerYear);
    before = upTo;
  }
  return spend * total;
}

export interface CustomerScores {
  readonly probabilityAlive: Float64Array;
  readonly expectedPurchases: Float64Array;
  readonly expectedSpend: Float64Array;
  readonly clv: Float64Array;
}

/** Every customer's P(alive), expected purchases over the horizon, expected spend per transaction and CLV. */
export function scoreCustomers(fit: TransactionFit, spend: GammaGammaFit, s: CustomerSummaries, settings: ClvSettings, onProgress?: (done: number) => void): CustomerScores {
  const n = s.x.length;
  const out = { probabilityAlive: new Float64Array(n), expectedPurchases: new Float64Array(n), expectedSpend: new Float64Array(n), clv: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const [x, tx, T] = [s.x[i]!, s.tx[i]!, s.T[i]!];
    out.probabilityAlive[i] = probabilityAlive(fit, x, tx, T);
    out.expectedPurchases[i] = expectedPurchases(fit, settings.horizon, x, tx, T);
    out.expectedSpend[i] = gammaGammaExpectedSpend(spend.params, x, s.monetary[i]!);
    out.clv[i] = customerLifetimeValue(fit, out.expectedSpend[i]!, settings, x, tx, T);
    if (onProgress && (i + 1) % 1000 === 0) onProgress(i + 1);
  }
  onProgress?.(n);
  return out;
}
