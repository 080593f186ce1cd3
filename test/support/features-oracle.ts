/**
 * A brute-force reference for feature matrices, written from docs/models.md ("Features")
 * and not from the SQL: per user, the events before T sorted in memory, sessions split
 * one by one, every feature computed from its definition. Used by test/features*.test.ts
 * against DuckDB, a ClickHouse node and a two-shard cluster.
 */
import type { PurchaseSettings } from '../../src/analysis/rfm/rfm-config.js';
import type { TrackingPlan } from '../../src/schema/tracking-plan.js';
import type { MemoryDataset, MemoryValue } from '../../src/segments/evaluate/index.js';

const D = 86_400_000;

export interface OracleOptions {
  readonly asOfMs: number;
  readonly events: readonly string[];
  readonly windowsDays: readonly number[];
  readonly activeDaysWindows: readonly number[];
  readonly purchase: PurchaseSettings | null;
  readonly sessionGapMs: number;
  readonly depthProperty: string | null;
  readonly traits: readonly string[];
  readonly oneHotTop: number;
  readonly recencyCapDays: number;
  /** Only these users (a restriction), when given. */
  readonly only?: ReadonlySet<string>;
}

export interface OracleMatrix {
  readonly userIds: string[];
  readonly names: string[];
  readonly rows: number[][];
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

export function referenceFeatures(plan: TrackingPlan, data: MemoryDataset, o: OracleOptions): OracleMatrix {
  const T = o.asOfMs;
  const firstEver = new Map<string, number>();
  for (const e of data.events) firstEver.set(e.userId, Math.min(firstEver.get(e.userId) ?? Infinity, e.ts));
  const users = [...new Set([...firstEver.keys(), ...data.profiles.keys()])]
    .filter((u) => data.profiles.has(u) || firstEver.get(u)! < T)
    .filter((u) => o.only === undefined || o.only.has(u))
    .sort(byBytes);
  const before = new Map<string, { event: string; ts: number; properties: Readonly<Record<string, MemoryValue>> }[]>();
  for (const e of data.events) if (e.ts < T) before.set(e.userId, [...(before.get(e.userId) ?? []), e]);

  // String traits: the N most frequent values among the population, ties by byte order.
  const categories = new Map<string, string[]>();
  for (const t of o.traits) {
    if (plan.traits[t]!.type !== 'string') continue;
    const counts = new Map<string, number>();
    for (const u of users) {
      const v = data.profiles.get(u)?.[t];
      if (typeof v === 'string') counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    categories.set(t, [...counts].sort((a, b) => b[1] - a[1] || byBytes(a[0], b[0])).slice(0, o.oneHotTop).map(([v]) => v));
  }

  const names: string[] = [];
  const rows = users.map((u) => {
    const row: [string, number][] = [];
    const put = (name: string, value: number) => row.push([name, value]);
    const evs = [...(before.get(u) ?? [])].sort((a, b) => a.ts - b.ts);
    const recency = (list: typeof evs) => (list.length === 0 ? o.recencyCapDays : Math.min((T - list[list.length - 1]!.ts) / D, o.recencyCapDays));
    put('recency_days', recency(evs));
    put('events', evs.length);
    if (o.purchase !== null) {
      const p = o.purchase;
      if (p.where.length > 0) throw new Error('the oracle does not read purchase where');
      const buys = evs.filter((e) => e.event === p.event);
      put('purchase_recency_days', recency(buys));
      put('purchases', buys.length);
      if (p.value !== null) {
        let sum = 0;
        for (const b of buys) {
          const v = b.properties[p.value];
          const q = p.quantity === null ? 1 : b.properties[p.quantity];
          if (typeof v === 'number' && typeof q === 'number') sum += v * q;
        }
        put('monetary', sum);
      }
    }
    for (const w of o.windowsDays) for (const name of o.events) put(`count_${w}d:${name}`, evs.filter((e) => e.event === name && e.ts >= T - w * D).length);
    for (const w of o.activeDaysWindows) put(`active_days_${w}d`, new Set(evs.filter((e) => e.ts >= T - w * D).map((e) => Math.floor(e.ts / D))).size);
    const a = evs.filter((e) => e.ts >= T - 14 * D).length;
    const b = evs.filter((e) => e.ts >= T - 28 * D && e.ts < T - 14 * D).length;
    put('trend_14d', (a - b) / (a + b + 1));
    // Sessions of the last 28 days, split one by one at gaps of at least the session gap.
    const recent = evs.filter((e) => e.ts >= T - 28 * D).map((e) => e.ts);
    const sessions: number[][] = [];
    for (const t of recent) {
      const last = sessions[sessions.length - 1];
      if (last !== undefined && t - last[last.length - 1]! < o.sessionGapMs) last.push(t);
      else sessions.push([t]);
    }
    put('sessions_28d', sessions.length);
    const total = sessions.reduce((s, x) => s + (x[x.length - 1]! - x[0]!), 0);
    put('session_minutes_28d', sessions.length === 0 ? 0 : total / 60_000 / sessions.length);
    put('events_per_session_28d', sessions.length === 0 ? 0 : recent.length / sessions.length);
    put('distinct_events', new Set(evs.map((e) => e.event)).size);
    if (o.depthProperty !== null) {
      const prop = o.depthProperty;
      put(`distinct:${prop}`, new Set(evs.map((e) => e.properties[prop]).filter((v) => v !== undefined && v !== null)).size);
    }
    put('days_since_first_seen', evs.length === 0 ? 0 : (T - evs[0]!.ts) / D);
    const profile = data.profiles.get(u) ?? {};
    for (const t of o.traits) {
      const v = Object.hasOwn(profile, t) ? profile[t] : undefined;
      const type = plan.traits[t]!.type;
      if (type === 'string') {
        const cats = categories.get(t)!;
        for (const c of cats) put(`trait:${t}=${c}`, v === c ? 1 : 0);
        put(`trait:${t}=(other)`, typeof v === 'string' && !cats.includes(v) ? 1 : 0);
      } else if (type === 'boolean') put(`trait:${t}`, v === true ? 1 : 0);
      else if (type === 'number') put(`trait:${t}`, typeof v === 'number' ? v : 0);
      else put(`trait:${t}`, typeof v === 'number' ? (T - v) / D : 0);
      put(`trait:${t}=(missing)`, v === undefined ? 1 : 0);
    }
    if (names.length === 0) names.push(...row.map(([n]) => n));
    return row.map(([, v]) => v);
  });
  return { userIds: users, names, rows };
}
