/**
 * The per-user query behind a feature matrix, written once for DuckDB and ClickHouse back
 * to 18.16 (the registry's rules: no CTEs, one JOIN per SELECT with `USING (user_id)`,
 * `count()` and conditional aggregates through the dialect, no window functions on
 * ClickHouse). It returns raw measures (epoch ms, counts, sums); the features themselves
 * are computed from them in TypeScript (build-features.ts), so ratios, caps and fills are
 * the same bits on every engine.
 *
 * Parts, each one row per user, LEFT JOINed to the population as of T:
 * - `ev`: one GROUP BY over the user's events with ts < T (first and last instants, counts,
 *   purchases, per-event counts per window, trend halves, the session window's bounds);
 * - `dc`: the distinct counts (event names, active days, depth values) in a GROUP BY of their own;
 * - `ss`: the gaps between consecutive events of the last 28 days, summed where they are at
 *   least the session gap (a session break), from lag() where the dialect has window
 *   functions and from each user's sorted array of times where it does not (as the
 *   segment compiler's session edges do, batch-plan.ts);
 * - `tr`: the profile's trait columns.
 */
import { purchaseAmountSql } from '../../analysis/rfm/rfm-sql.js';
import { memberFilter } from '../../analysis/breakdown.js';
import { twoValuedComparison } from '../../segments/compile/comparison-sql.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { populationPredicate } from '../../segments/registry/registry-sql.js';
import { TABLES, propertyColumn, traitColumn } from '../../store/schema.js';
import { DAY_MS, SESSION_WINDOW_MS, TREND_HALF_MS, type FeatureLayout } from './feature-options.js';

/** Aliases of the raw measures the query returns (all numbers or NULL). */
export const RAW = {
  first: 'fs_first',
  last: 'fs_last',
  events: 'fs_n',
  purchases: 'fs_np',
  lastPurchase: 'fs_lp',
  monetary: 'fs_m',
  count: (event: number, window: number) => `fs_c${event}_${window}`,
  activeDays: (window: number) => `fs_ad${window}`,
  recentHalf: 'fs_a14',
  earlierHalf: 'fs_b14',
  sessionEvents: 'fs_n28',
  sessionFirst: 'fs_f28',
  sessionLast: 'fs_l28',
  distinctEvents: 'fs_de',
  distinctDepth: 'fs_dp',
  breaks: 'fs_br',
  breakMs: 'fs_bms',
  trait: (i: number) => `fs_t${i}`,
} as const;

const E = 'e';

/** The page's user range as conditions on a user id column (none when not paging). */
function rangeConditions(d: SqlDialect, layout: FeatureLayout, column: string): string[] {
  const r = layout.userRange;
  if (r === null) return [];
  return [...(r.from === null ? [] : [`${column} >= ${d.stringLiteral(r.from)}`]), ...(r.to === null ? [] : [`${column} < ${d.stringLiteral(r.to)}`])];
}

function purchaseFilter(d: SqlDialect, layout: FeatureLayout): string {
  const p = layout.purchase!;
  const parts = [`${E}.event = ${d.stringLiteral(p.event)}`];
  for (const w of p.where) parts.push(twoValuedComparison(`${E}.${d.quoteIdentifier(propertyColumn(w.property))}`, true, w.cmp, { dialect: d, asOfMs: layout.asOfMs }));
  return parts.map((x) => `(${x})`).join(' AND ');
}

function since(d: SqlDialect, layout: FeatureLayout, ms: number): string {
  return `${E}.ts >= ${d.timestampLiteral(layout.asOfMs - ms)}`;
}

/** The `ev` part's columns. */
function eventColumns(d: SqlDialect, layout: FeatureLayout): string[] {
  const t = d.epochMs(`${E}.ts`);
  const agg = d.aggregate.bind(d);
  const cols = [`${agg('min', t, null)} AS ${RAW.first}`, `${agg('max', t, null)} AS ${RAW.last}`, `${agg('count', null, null)} AS ${RAW.events}`];
  if (layout.purchase !== null) {
    const bought = purchaseFilter(d, layout);
    cols.push(`${agg('count', null, bought)} AS ${RAW.purchases}`, `${agg('max', t, bought)} AS ${RAW.lastPurchase}`);
    // Columns unqualified in purchaseAmountSql: the events table is the only relation here.
    const amount = purchaseAmountSql(d, layout.purchase);
    if (amount !== null) cols.push(`${agg('sum', amount, bought)} AS ${RAW.monetary}`);
  }
  layout.events.forEach((event, i) => {
    for (const w of layout.windowsDays) cols.push(`${agg('count', null, `${E}.event = ${d.stringLiteral(event)} AND ${since(d, layout, w * DAY_MS)}`)} AS ${RAW.count(i, w)}`);
  });
  const recent = since(d, layout, TREND_HALF_MS);
  cols.push(
    `${agg('count', null, recent)} AS ${RAW.recentHalf}`,
    `${agg('count', null, `${since(d, layout, 2 * TREND_HALF_MS)} AND NOT (${recent})`)} AS ${RAW.earlierHalf}`,
  );
  const inSessions = since(d, layout, SESSION_WINDOW_MS);
  cols.push(
    `${agg('count', null, inSessions)} AS ${RAW.sessionEvents}`,
    `${agg('min', t, inSessions)} AS ${RAW.sessionFirst}`,
    `${agg('max', t, inSessions)} AS ${RAW.sessionLast}`,
  );
  return cols;
}

/** The distinct counts, in a GROUP BY of their own: DuckDB takes a slower path for every aggregate of a GROUP BY holding a DISTINCT (measured: the split query takes about half the time). */
function distinctColumns(d: SqlDialect, layout: FeatureLayout): string[] {
  const cols = [`${d.aggregate('countDistinct', `${E}.event`, null)} AS ${RAW.distinctEvents}`];
  for (const w of layout.activeDaysWindows) cols.push(`${d.aggregate('countDistinct', d.utcDay(`${E}.ts`), since(d, layout, w * DAY_MS))} AS ${RAW.activeDays(w)}`);
  if (layout.depthProperty !== null) cols.push(`${d.aggregate('countDistinct', `${E}.${d.quoteIdentifier(propertyColumn(layout.depthProperty))}`, null)} AS ${RAW.distinctDepth}`);
  return cols;
}

function eventPart(d: SqlDialect, layout: FeatureLayout, columns: readonly string[]): string {
  return `(SELECT ${E}.user_id AS user_id,
    ${columns.join(',\n    ')}
  FROM ${d.table(TABLES.events)} ${E}
  WHERE ${[`${E}.ts < ${d.timestampLiteral(layout.asOfMs)}`, ...rangeConditions(d, layout, `${E}.user_id`)].join(' AND ')}
  GROUP BY ${E}.user_id)`;
}

/** `(user_id, gap)`: each event of the session window with the ms since the user's previous one there (0 or NULL for the first). */
function gapRows(d: SqlDialect, layout: FeatureLayout): string {
  const where = [`${E}.ts >= ${d.timestampLiteral(layout.asOfMs - SESSION_WINDOW_MS)}`, `${E}.ts < ${d.timestampLiteral(layout.asOfMs)}`, ...rangeConditions(d, layout, `${E}.user_id`)].join(' AND ');
  if (d.capabilities.windowFunctions) {
    return `(SELECT user_id, t - ${d.previousValue('t', 'user_id', ['t'])} AS gap
  FROM (SELECT ${E}.user_id AS user_id, ${d.epochMs(`${E}.ts`)} AS t FROM ${d.table(TABLES.events)} ${E} WHERE ${where}) ev_t)`;
  }
  const a = d.arrays!;
  // Where timestamps are epoch ms already (ClickHouse), the times are the stamps themselves.
  const times = d.epochMs('x') === 'x' ? 'stamps' : a.map(['x'], d.epochMs('x'), ['stamps']);
  return `(SELECT user_id, gap
  FROM (SELECT user_id, ${a.differences(times)} AS gaps
    FROM (SELECT ${E}.user_id AS user_id, ${a.sortedGroupArray(`${E}.ts`)} AS stamps FROM ${d.table(TABLES.events)} ${E} WHERE ${where} GROUP BY ${E}.user_id) per_user) per_user_gaps
  ${a.unnest([{ array: 'gaps', alias: 'gap' }])})`;
}

function sessionPart(d: SqlDialect, layout: FeatureLayout): string {
  const isBreak = `gap >= ${d.numberLiteral(layout.sessionGapMs)}`;
  return `(SELECT user_id, ${d.aggregate('count', null, isBreak)} AS ${RAW.breaks}, ${d.aggregate('sum', 'gap', isBreak)} AS ${RAW.breakMs}
  FROM ${gapRows(d, layout)} gaps
  GROUP BY user_id)`;
}

function traitPart(d: SqlDialect, layout: FeatureLayout): string {
  const cols = layout.traits.map((t, i) => {
    const col = `pr.${d.quoteIdentifier(traitColumn(t.name))}`;
    return `${t.type === 'timestamp' ? d.epochMs(col) : col} AS ${RAW.trait(i)}`;
  });
  const range = rangeConditions(d, layout, 'pr.user_id');
  return `(SELECT pr.user_id AS user_id, ${cols.join(', ')} FROM ${d.table(TABLES.profiles)} pr${range.length > 0 ? ` WHERE ${range.join(' AND ')}` : ''})`;
}

function populationPart(d: SqlDialect, layout: FeatureLayout): string {
  const where = [populationPredicate(d, layout.asOfMs), ...rangeConditions(d, layout, 'u.user_id')];
  const r = layout.restrict;
  if (r !== null) where.push('snapshotId' in r ? memberFilter(d, r.snapshotId, 'u.user_id') : `(${r.where(d)})`);
  return `(SELECT u.user_id AS user_id FROM ${d.table(TABLES.users)} u WHERE ${where.join(' AND ')})`;
}

/** The raw measure aliases of each part, in query order. */
export function rawColumns(layout: FeatureLayout): { readonly events: string[]; readonly distinct: string[]; readonly sessions: string[]; readonly traits: string[] } {
  const events: string[] = [RAW.first, RAW.last, RAW.events];
  if (layout.purchase !== null) {
    events.push(RAW.purchases, RAW.lastPurchase);
    if (layout.purchase.value !== null) events.push(RAW.monetary);
  }
  layout.events.forEach((_, i) => layout.windowsDays.forEach((w) => events.push(RAW.count(i, w))));
  events.push(RAW.recentHalf, RAW.earlierHalf, RAW.sessionEvents, RAW.sessionFirst, RAW.sessionLast);
  const distinct: string[] = [RAW.distinctEvents, ...layout.activeDaysWindows.map((w) => RAW.activeDays(w))];
  if (layout.depthProperty !== null) distinct.push(RAW.distinctDepth);
  return { events, distinct, sessions: [RAW.breaks, RAW.breakMs], traits: layout.traits.map((_, i) => RAW.trait(i)) };
}

/**
 * One row per user of the population as of T (restricted as asked): `user_id` and every
 * raw measure (NULL where the user has no row in a part), ordered by user_id. Per user:
 * on a cluster each shard answers for its own users.
 */
export function featureRowsSql(d: SqlDialect, layout: FeatureLayout): string {
  const raw = rawColumns(layout);
  const join = (left: string, leftAlias: string, right: string, rightAlias: string, columns: readonly string[]) =>
    `(SELECT user_id, ${columns.join(', ')}
  FROM ${left} ${leftAlias}
  ${d.userJoin('left', leftAlias, rightAlias).keyword} ${right} ${rightAlias} USING (user_id))`;
  let sql = join(populationPart(d, layout), 'pop', eventPart(d, layout, eventColumns(d, layout)), 'ev', raw.events);
  sql = join(sql, 'pe', eventPart(d, layout, distinctColumns(d, layout)), 'dc', [...raw.events, ...raw.distinct]);
  sql = join(sql, 'ped', sessionPart(d, layout), 'ss', [...raw.events, ...raw.distinct, ...raw.sessions]);
  if (layout.traits.length > 0) sql = join(sql, 'peds', traitPart(d, layout), 'tr', [...raw.events, ...raw.distinct, ...raw.sessions, ...raw.traits]);
  return `SELECT * FROM ${sql} features ORDER BY user_id`;
}

/** `(user_id)` for each user with an event in [from, to) (matching `event` when given): the label query. */
export function activeUsersSql(d: SqlDialect, fromMs: number, toMs: number, event: string | null): string {
  const where = [`${E}.ts >= ${d.timestampLiteral(fromMs)}`, `${E}.ts < ${d.timestampLiteral(toMs)}`];
  if (event !== null) where.push(`${E}.event = ${d.stringLiteral(event)}`);
  return `SELECT ${E}.user_id AS user_id FROM ${d.table(TABLES.events)} ${E} WHERE ${where.join(' AND ')} GROUP BY ${E}.user_id`;
}

/** The population's user ids (restricted as asked), in byte order per part: page bounds. */
export function populationIdsSql(d: SqlDialect, layout: FeatureLayout): string {
  return `SELECT user_id FROM ${populationPart(d, layout)} pop ORDER BY user_id`;
}

/** `(v, n)`: how many users of the population have each value of string trait `i` of the layout. */
export function traitValueCountsSql(d: SqlDialect, layout: FeatureLayout, i: number): string {
  const col = `pr.${d.quoteIdentifier(traitColumn(layout.traits[i]!.name))}`;
  return `SELECT ${col} AS v, ${d.aggregate('count', null, null)} AS n
  FROM ${d.table(TABLES.profiles)} pr
  WHERE ${col} IS NOT NULL AND pr.user_id IN (SELECT user_id FROM ${populationPart(d, layout)} pop)
  GROUP BY ${col}`;
}
