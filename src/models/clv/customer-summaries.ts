/**
 * A workspace's per-customer summaries, from its stored purchase events (clv-sql.ts),
 * in a time unit: x = days - 1, tx = (last - first) / unit, T = (end - first) / unit
 * (whole UTC days between dates, as the literature and `lifetimes` count them: a customer
 * whose first purchase is on the calibration end has T = 0), monetary = (total - first
 * value) / x, the mean value of the repeat transactions (0 when x = 0).
 */
import type { PurchaseSettings } from '../../analysis/rfm/rfm-config.js';
import { StrataError } from '../../errors/errors.js';
import type { EventStore } from '../../store/event-store.js';
import { UNIT_DAYS, type TimeUnit } from './clv.js';
import { DAY_MS, customerSummarySql, lastPurchaseSql } from './clv-sql.js';
import type { CustomerSummaries } from './summary.js';

export interface SummaryOptions {
  readonly purchase: PurchaseSettings;
  /** The calibration period's last UTC day, as epoch ms of any instant in it; null: the day of the latest purchase before `nowMs`. */
  readonly calibrationEndMs: number | null;
  readonly unit: TimeUnit;
  /** Used only without a calibration end: purchases at or after it are ignored. */
  readonly nowMs?: number;
}

export interface WorkspaceSummaries extends CustomerSummaries {
  /** The customers, in byte order of their ids, one per summary entry. */
  readonly userIds: readonly string[];
  readonly unit: TimeUnit;
  /** The calibration period's last day (00:00 UTC, epoch ms). */
  readonly calibrationEndMs: number;
}

const toNumber = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : Number(v));

/** The latest qualifying purchase day (00:00 UTC, epoch ms), or null when there is none. */
export async function lastPurchaseDayMs(store: EventStore, purchase: PurchaseSettings, beforeMs: number): Promise<number | null> {
  const rows = await store.queryByUser((d) => lastPurchaseSql(d, purchase, beforeMs));
  const last = Math.max(-Infinity, ...rows.filter((r) => r.last_ms !== null && r.last_ms !== undefined).map((r) => toNumber(r.last_ms)));
  return Number.isFinite(last) ? Math.floor(last / DAY_MS) * DAY_MS : null;
}

/** Every customer with a qualifying purchase up to the calibration end, summarized. */
export async function customerSummaries(store: EventStore, options: SummaryOptions): Promise<WorkspaceSummaries> {
  const endMs = options.calibrationEndMs ?? (await lastPurchaseDayMs(store, options.purchase, options.nowMs ?? Date.now()));
  if (endMs === null) {
    throw new StrataError('INPUT_INVALID', `no ${options.purchase.event} events qualify as purchases: nothing to summarize (check rfm.event, rfm.where or --event)`);
  }
  const endDay = Math.floor(endMs / DAY_MS);
  const rows = await store.queryByUser((d) => customerSummarySql(d, { purchase: options.purchase, endDay }));
  rows.sort((a, b) => Buffer.compare(Buffer.from(String(a.user_id)), Buffer.from(String(b.user_id))));
  const n = rows.length;
  const unitDays = UNIT_DAYS[options.unit];
  const s = { x: new Float64Array(n), tx: new Float64Array(n), T: new Float64Array(n), monetary: new Float64Array(n) };
  rows.forEach((row, i) => {
    const x = toNumber(row.days) - 1;
    const first = toNumber(row.first_day);
    s.x[i] = x;
    s.tx[i] = (toNumber(row.last_day) - first) / unitDays;
    s.T[i] = (endDay - first) / unitDays;
    s.monetary[i] = x > 0 ? (toNumber(row.total) - toNumber(row.first_value)) / x : 0;
  });
  return { ...s, userIds: rows.map((r) => String(r.user_id)), unit: options.unit, calibrationEndMs: endDay * DAY_MS };
}
