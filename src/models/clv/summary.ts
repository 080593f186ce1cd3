/**
 * Per-customer summaries, the sufficient statistics of the BG/NBD, Pareto/NBD and
 * Gamma-Gamma models (Fader, Hardie & Lee 2005): for customer i, in one time unit
 * (weeks in the literature),
 *   x[i]        repeat transactions in the calibration period (transactions after the first)
 *   tx[i]       time of the last transaction, from the first (0 when x = 0)
 *   T[i]        time from the first transaction to the end of the calibration period
 *   monetary[i] mean value of the x repeat transactions (0 when x = 0)
 */
import { StrataError } from '../../errors/errors.js';

export interface CustomerSummaries {
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
  readonly monetary: Float64Array;
}

/** Summaries from plain rows (tests, the library API). */
export function summariesFrom(rows: readonly { readonly x: number; readonly tx: number; readonly T: number; readonly monetary?: number }[]): CustomerSummaries {
  const n = rows.length;
  const s = { x: new Float64Array(n), tx: new Float64Array(n), T: new Float64Array(n), monetary: new Float64Array(n) };
  rows.forEach((r, i) => {
    s.x[i] = r.x;
    s.tx[i] = r.tx;
    s.T[i] = r.T;
    s.monetary[i] = r.monetary ?? 0;
  });
  checkSummaries(s);
  return s;
}

/** x a whole number >= 0, 0 <= tx <= T, tx = 0 when x = 0: else the data cannot come from the models. */
export function checkSummaries(s: CustomerSummaries): void {
  const n = s.x.length;
  if (s.tx.length !== n || s.T.length !== n || s.monetary.length !== n) {
    throw new StrataError('INPUT_INVALID', `customer summaries: x, tx, T and monetary must have the same length (${n}, ${s.tx.length}, ${s.T.length}, ${s.monetary.length})`);
  }
  for (let i = 0; i < n; i++) {
    const x = s.x[i]!;
    const tx = s.tx[i]!;
    const T = s.T[i]!;
    const ok = Number.isInteger(x) && x >= 0 && tx >= 0 && tx <= T && (x > 0 || tx === 0) && Number.isFinite(s.monetary[i]!) && Number.isFinite(T);
    if (!ok) {
      throw new StrataError(
        'INPUT_INVALID',
        `customer summary ${i}: expected x a whole number >= 0, 0 <= tx <= T, tx = 0 when x = 0 and a finite monetary; got x = ${x}, tx = ${tx}, T = ${T}, monetary = ${s.monetary[i]}`,
      );
    }
  }
}
