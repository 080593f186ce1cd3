/**
 * The per-customer summary in SQL, written once for every dialect (the registry's
 * limits: no CTEs, no window functions, GROUP BY on plain columns) and run per user
 * through `store.queryByUser`, so a sharded store summarizes each shard's own customers.
 *
 * As the literature does (Fader, Hardie & Lee 2005; `lifetimes`), a transaction is a
 * customer-day: qualifying purchases on one UTC day are one transaction whose value is
 * their sum (value x quantity, added in ascending order through `dialect.orderedSum` so
 * every engine gets the same bits). Only purchases on days up to the calibration end
 * (inclusive) count. Per customer the query returns
 *   days        transactions (x = days - 1)
 *   first_day, last_day   UTC day numbers (epoch days) of the first and last transaction
 *   total       the summed value of all transactions (in ascending order too)
 *   first_value the first transaction's value (the repeat mean leaves it out)
 * Day numbers are floor(epoch ms / 1 day): events before 1970 are not supported.
 */
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { TABLES } from '../../store/schema.js';
import type { PurchaseSettings } from '../../analysis/rfm/rfm-config.js';
import { purchaseAmountSql, purchaseConditions } from '../../analysis/rfm/rfm-sql.js';

export const DAY_MS = 86_400_000;

/** Which purchases a summary covers. */
export interface SummaryScope {
  readonly purchase: PurchaseSettings;
  /** The last UTC day (epoch day number) of the calibration period, inclusive. */
  readonly endDay: number;
}

/** One row per customer-day: `(user_id, day, v)`. */
export function customerDaysSql(d: SqlDialect, scope: SummaryScope): string {
  const amount = purchaseAmountSql(d, scope.purchase);
  const conditions = purchaseConditions(d, { purchase: scope.purchase, asOfMs: (scope.endDay + 1) * DAY_MS, withinMs: null, memberSnapshotId: null });
  return `SELECT user_id, day, ${d.orderedSum('amount')} AS v
FROM (
  SELECT user_id, ${d.intDiv(d.epochMs('ts'), d.numberLiteral(DAY_MS))} AS day, ${amount ?? d.numberLiteral(0)} AS amount
  FROM ${d.table(TABLES.events)}
  WHERE ${conditions.join('\n    AND ')}
) purchases
GROUP BY user_id, day`;
}

/** One row per customer: `(user_id, days, first_day, last_day, total, first_value)`. */
export function customerSummarySql(d: SqlDialect, scope: SummaryScope): string {
  return `SELECT user_id, ${d.aggregate('count', null, null)} AS days, min(day) AS first_day, max(day) AS last_day,
  ${d.orderedSum('v')} AS total, ${d.argMin('v', ['day'])} AS first_value
FROM (${customerDaysSql(d, scope)}) customer_days
GROUP BY user_id`;
}

/**
 * The latest qualifying purchase before `beforeMs` (for a default calibration end):
 * `(last_ms)`, NULL when none; per part, so callers take the maximum over the rows.
 */
export function lastPurchaseSql(d: SqlDialect, purchase: PurchaseSettings, beforeMs: number): string {
  const conditions = purchaseConditions(d, { purchase, asOfMs: beforeMs, withinMs: null, memberSnapshotId: null });
  return `SELECT max(${d.epochMs('ts')}) AS last_ms FROM ${d.table(TABLES.events)} WHERE ${conditions.join(' AND ')}`;
}
