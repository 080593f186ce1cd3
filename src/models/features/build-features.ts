/**
 * `buildFeatures`: the feature matrix of a population as of T (docs/models.md, "Features").
 * One per-user query per store part (feature-sql.ts) returns raw measures; this file turns
 * each row straight into its slice of one row-major Float64Array (no per-user feature
 * objects), with the fills that keep every cell finite.
 */
import { StrataError } from '../../errors/errors.js';
import { byteOrder, toNullableNumber, toNumber } from '../../segments/registry/registry-sql.js';
import type { ColumnRows, EventStore } from '../../store/event-store.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { DAY_MS, resolveFeatureOptions, type FeatureLayout, type FeatureOptions } from './feature-options.js';
import { RAW, featureRowsSql, populationIdsSql, traitValueCountsSql } from './feature-sql.js';

export interface FeatureMatrix {
  readonly asOfMs: number;
  /** One per row, in UTF-8 byte order (the order both engines sort strings in). */
  readonly userIds: readonly string[];
  /** One per column. */
  readonly names: readonly string[];
  /** Row-major: the value of feature j for user i is `values[i * names.length + j]`; always finite. */
  readonly values: Float64Array;
  /** The one-hot values of each string trait (pass back as `categories` to get the same columns). */
  readonly categories: Readonly<Record<string, readonly string[]>>;
}

export const OTHER = '(other)';
export const MISSING = '(missing)';

/**
 * A cursor over the raw result read column by column (store.queryColumnsByUser): `at(key)` is
 * the current row's value. One cursor moves over all rows, so no object is made per row.
 */
export class RawCursor {
  i = 0;
  constructor(readonly raw: ColumnRows) {}
  at(key: string): unknown {
    const v = this.raw.columns[key]?.[this.i];
    return v === undefined ? null : v;
  }
}

/** One column of the matrix: its name and how it reads the cursor's row. */
interface Column {
  readonly name: string;
  readonly value: (row: RawCursor) => number;
}

const num = (row: RawCursor, key: string): number | null => toNullableNumber(row.at(key));
const count = (row: RawCursor, key: string): number => toNumber(row.at(key) ?? 0);

/** Days from an instant to T, capped; the cap when there is none. */
function cappedDays(asOfMs: number, cap: number, atMs: number | null): number {
  return atMs === null ? cap : Math.min((asOfMs - atMs) / DAY_MS, cap);
}

/** The columns before the traits: activity, purchases, counts, sessions, depth. */
function activityColumns(layout: FeatureLayout): Column[] {
  const T = layout.asOfMs;
  const cap = layout.recencyCapDays;
  const cols: Column[] = [
    { name: 'recency_days', value: (r) => cappedDays(T, cap, num(r, RAW.last)) },
    { name: 'events', value: (r) => count(r, RAW.events) },
  ];
  if (layout.purchase !== null) {
    cols.push({ name: 'purchase_recency_days', value: (r) => cappedDays(T, cap, num(r, RAW.lastPurchase)) }, { name: 'purchases', value: (r) => count(r, RAW.purchases) });
    if (layout.purchase.value !== null) cols.push({ name: 'monetary', value: (r) => num(r, RAW.monetary) ?? 0 });
  }
  // Keys are built once, not per cell.
  layout.windowsDays.forEach((w) =>
    layout.events.forEach((event, i) => {
      const key = RAW.count(i, w);
      cols.push({ name: `count_${w}d:${event}`, value: (r) => count(r, key) });
    }),
  );
  for (const w of layout.activeDaysWindows) {
    const key = RAW.activeDays(w);
    cols.push({ name: `active_days_${w}d`, value: (r) => count(r, key) });
  }
  cols.push({
    name: 'trend_14d',
    value: (r) => {
      const a = count(r, RAW.recentHalf);
      const b = count(r, RAW.earlierHalf);
      return (a - b) / (a + b + 1);
    },
  });
  const sessions = (r: RawCursor) => (count(r, RAW.sessionEvents) > 0 ? 1 + count(r, RAW.breaks) : 0);
  cols.push(
    { name: 'sessions_28d', value: sessions },
    {
      name: 'session_minutes_28d',
      value: (r) => {
        const s = sessions(r);
        if (s === 0) return 0;
        const span = num(r, RAW.sessionLast)! - num(r, RAW.sessionFirst)!;
        return (span - (num(r, RAW.breakMs) ?? 0)) / 60_000 / s;
      },
    },
    { name: 'events_per_session_28d', value: (r) => (sessions(r) === 0 ? 0 : count(r, RAW.sessionEvents) / sessions(r)) },
    { name: 'distinct_events', value: (r) => count(r, RAW.distinctEvents) },
  );
  if (layout.depthProperty !== null) cols.push({ name: `distinct:${layout.depthProperty}`, value: (r) => count(r, RAW.distinctDepth) });
  cols.push({ name: 'days_since_first_seen', value: (r) => (num(r, RAW.first) === null ? 0 : (T - num(r, RAW.first)!) / DAY_MS) });
  return cols;
}

/** A trait value as stored: strings, numbers (and epoch ms), booleans (DuckDB true/false, ClickHouse 1/0). */
const TRAIT_KEYS: string[] = [];
function traitValue(row: RawCursor, i: number): unknown {
  return row.at((TRAIT_KEYS[i] ??= RAW.trait(i)));
}

/**
 * The one-hot values of a string trait: the `top` most frequent non-missing values over
 * the rows, ties broken by byte order of the value.
 */
export function topValues(raw: ColumnRows, i: number, top: number): string[] {
  const counts = new Map<string, number>();
  const r = new RawCursor(raw);
  for (r.i = 0; r.i < raw.length; r.i++) {
    const v = traitValue(r, i);
    if (typeof v === 'string') counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return [...counts]
    .sort((x, y) => y[1] - x[1] || byteOrder(x[0], y[0]))
    .slice(0, top)
    .map(([v]) => v);
}

function traitColumns(layout: FeatureLayout, rows: ColumnRows): { columns: Column[]; categories: Record<string, string[]> } {
  const columns: Column[] = [];
  const categories: Record<string, string[]> = {};
  const T = layout.asOfMs;
  layout.traits.forEach((t, i) => {
    const missing: Column = { name: `trait:${t.name}=${MISSING}`, value: (r) => (traitValue(r, i) === null ? 1 : 0) };
    if (t.type === 'string') {
      const values = Object.hasOwn(layout.categories, t.name) ? [...layout.categories[t.name]!] : topValues(rows, i, layout.oneHotTop);
      categories[t.name] = values;
      const known = new Set(values);
      for (const v of values) columns.push({ name: `trait:${t.name}=${v}`, value: (r) => (traitValue(r, i) === v ? 1 : 0) });
      columns.push({ name: `trait:${t.name}=${OTHER}`, value: (r) => { const v = traitValue(r, i); return typeof v === 'string' && !known.has(v) ? 1 : 0; } }, missing);
    } else if (t.type === 'boolean') {
      columns.push({ name: `trait:${t.name}`, value: (r) => { const v = traitValue(r, i); return v === true || v === 1 ? 1 : 0; } }, missing);
    } else if (t.type === 'number') {
      columns.push({ name: `trait:${t.name}`, value: (r) => { const v = toNullableNumber(traitValue(r, i)); return v ?? 0; } }, missing);
    } else {
      columns.push({ name: `trait:${t.name}`, value: (r) => { const v = toNullableNumber(traitValue(r, i)); return v === null ? 0 : (T - v) / DAY_MS; } }, missing);
    }
  });
  return { columns, categories };
}

function isSorted(ids: readonly string[]): boolean {
  for (let i = 1; i < ids.length; i++) if (byteOrder(ids[i - 1]!, ids[i]!) > 0) return false;
  return true;
}

/** The matrix of the raw measures (one row per user) under `layout`. Exported for the training-set builder. */
export function matrixFromRows(layout: FeatureLayout, raw: ColumnRows): FeatureMatrix {
  const n = raw.length;
  const idColumn = raw.columns.user_id ?? [];
  let ids = Array.from({ length: n }, (_, i) => String(idColumn[i]));
  // Parts of a cluster come back each sorted; the concatenation is sorted again (rows read in that order).
  let order: number[] | null = null;
  if (!isSorted(ids)) {
    const keyed = ids.map((id, i) => ({ i, id, key: Buffer.from(id, 'utf8') }));
    keyed.sort((a, b) => Buffer.compare(a.key, b.key));
    order = keyed.map((k) => k.i);
    ids = keyed.map((k) => k.id);
  }
  const { columns: traits, categories } = traitColumns(layout, raw);
  const columns = [...activityColumns(layout), ...traits];
  const width = columns.length;
  const values = new Float64Array(n * width);
  const row = new RawCursor(raw);
  for (let i = 0; i < n; i++) {
    row.i = order === null ? i : order[i]!;
    const base = i * width;
    for (let j = 0; j < width; j++) values[base + j] = columns[j]!.value(row);
  }
  return { asOfMs: layout.asOfMs, userIds: ids, names: columns.map((c) => c.name), values, categories };
}

/** The raw per-user measures of every store part, concatenated, column by column. */
export async function featureRows(store: EventStore, layout: FeatureLayout): Promise<ColumnRows> {
  return store.queryColumnsByUser((d) => featureRowsSql(d, layout));
}

/**
 * Every user of the population as of `asOfMs` (restricted as asked) with their features,
 * computed from events before asOfMs only.
 */
export async function buildFeatures(store: EventStore, plan: TrackingPlan, options: FeatureOptions): Promise<FeatureMatrix> {
  const layout = resolveFeatureOptions(plan, options);
  return matrixFromRows(layout, await featureRows(store, layout));
}

/** One user's features as a name → value record (for display and tests; the matrix itself never holds objects). */
export function featureRecord(matrix: FeatureMatrix, row: number): Record<string, number> {
  const w = matrix.names.length;
  return Object.fromEntries(matrix.names.map((n, j) => [n, matrix.values[row * w + j]!]));
}

/**
 * The one-hot values of every string trait over the whole population (summed over the
 * store's parts), the same as `buildFeatures` picks from its rows; given ones are kept.
 */
export async function traitCategories(store: EventStore, layout: FeatureLayout): Promise<Record<string, readonly string[]>> {
  const out: Record<string, readonly string[]> = { ...layout.categories };
  for (const [i, t] of layout.traits.entries()) {
    if (t.type !== 'string' || Object.hasOwn(out, t.name)) continue;
    const counts = new Map<string, number>();
    for (const r of await store.queryByUser((d) => traitValueCountsSql(d, layout, i))) counts.set(String(r.v), (counts.get(String(r.v)) ?? 0) + toNumber(r.n));
    out[t.name] = [...counts]
      .sort((x, y) => y[1] - x[1] || byteOrder(x[0], y[0]))
      .slice(0, layout.oneHotTop)
      .map(([v]) => v);
  }
  return out;
}

/** Page bounds: every `pageUsers`-th user id of the population in byte order (the first page starts unbounded). */
async function pageBounds(store: EventStore, layout: FeatureLayout, pageUsers: number): Promise<(string | null)[]> {
  const ids = (await store.queryByUser((d) => populationIdsSql(d, layout))).map((r) => Buffer.from(String(r.user_id), 'utf8'));
  ids.sort(Buffer.compare);
  const bounds: (string | null)[] = [null];
  for (let i = pageUsers; i < ids.length; i += pageUsers) bounds.push(ids[i]!.toString('utf8'));
  return [...bounds, null];
}

/**
 * The same matrix as `buildFeatures`, in pages of about `pageUsers` users (consecutive in
 * byte order of user id), each handed to `onPage` before the next is read, so that only one
 * page's rows are in memory at a time: for populations too big for one result. The one-hot
 * values are fixed over the whole population first, so every page has the same columns.
 * Returns the number of pages.
 */
export async function forEachFeaturePage(
  store: EventStore,
  plan: TrackingPlan,
  options: FeatureOptions,
  pageUsers: number,
  onPage: (page: FeatureMatrix) => void | Promise<void>,
): Promise<number> {
  if (!(Number.isSafeInteger(pageUsers) && pageUsers > 0)) throw new StrataError('INPUT_INVALID', `pageUsers must be a positive whole number, got ${pageUsers}`, [{ path: 'pageUsers', message: 'expected a count such as 100000' }]);
  const base = resolveFeatureOptions(plan, options);
  const layout = { ...base, categories: await traitCategories(store, base) };
  const bounds = await pageBounds(store, layout, pageUsers);
  for (let p = 0; p + 1 < bounds.length; p++) {
    const page = { ...layout, userRange: { from: bounds[p] ?? null, to: bounds[p + 1] ?? null } };
    await onPage(matrixFromRows(page, await featureRows(store, page)));
  }
  return bounds.length - 1;
}
