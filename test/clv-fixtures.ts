/**
 * Shared by the CLV SQL tests: the RFM purchase log (rfm-fixtures.ts) summarized directly
 * from its rows, independently of the SQL: qualifying purchases (qty > 0, channel != test)
 * on UTC days up to the calibration end; one transaction per customer-day, valued at the
 * sum of amount x qty over the day's rows with an amount; x = days - 1, tx and T in units
 * from the first day, monetary = mean value of the days after the first.
 */
import { DAY, type PurchaseRow } from './rfm-fixtures.js';

export interface OracleSummary {
  readonly user: string;
  readonly x: number;
  readonly tx: number;
  readonly T: number;
  readonly monetary: number;
}

export function oracleSummaries(rows: readonly PurchaseRow[], endDay: number, unitDays: number): OracleSummary[] {
  const byUser = new Map<string, Map<number, number>>();
  for (const r of rows) {
    const day = Math.floor(r.ts / DAY);
    if (r.event !== 'purchase' || day > endDay || !(r.qty !== null && r.qty > 0) || r.channel === 'test') continue;
    const days = byUser.get(r.user) ?? new Map<number, number>();
    days.set(day, (days.get(day) ?? 0) + (r.amount === null ? 0 : r.amount * r.qty));
    byUser.set(r.user, days);
  }
  return [...byUser]
    .map(([user, days]) => {
      const sorted = [...days.keys()].sort((a, b) => a - b);
      const first = sorted[0]!;
      const x = sorted.length - 1;
      const repeat = sorted.slice(1).reduce((a, d) => a + days.get(d)!, 0);
      return { user, x, tx: (sorted.at(-1)! - first) / unitDays, T: (endDay - first) / unitDays, monetary: x > 0 ? repeat / x : 0 };
    })
    .sort((a, b) => Buffer.compare(Buffer.from(a.user), Buffer.from(b.user)));
}
