/**
 * RFM as of an instant: each purchaser's recency, frequency and monetary value (rfm-sql.ts),
 * quantile scores, and the named R x F map.
 *
 * Two passes, both per user on every part of the store:
 * 1. the value counts of each measure (small for recency and frequency; for monetary as
 *    many rows as distinct amounts), merged here into exact frequency tables, from which
 *    come the cut points (quantiles.ts) and the median, min and max;
 * 2. users and measure sums per (R, F, M) score cell, at most levels^3 rows per part,
 *    from which come the score counts, the R x F grid and each named segment's figures.
 * Per-user rows (`rfmUserRows`, `--out`) are a third pass with the same scores.
 */
import { StrataError } from '../../errors/errors.js';
import type { EventStore, Row } from '../../store/event-store.js';
import { byteOrder, toNumber } from '../../segments/registry/registry-sql.js';
import { formatDuration, formatInstant } from '../../time/time.js';
import { cutPoints, describeTable, frequencyTable, type FrequencyTable, type QuantileMethod } from './quantiles.js';
import type { RfmConfig, ScoreLevels } from './rfm-config.js';
import { defaultRfmMap, mapNames, nameGrid, type RfmMapEntry, type RfmNameGrid } from './rfm-map.js';
import { RFM_MEASURES, cellTotalsSql, scoredSql, valueCountsSql, type RfmCuts, type RfmMeasure, type RfmScope } from './rfm-sql.js';

export interface RfmOptions {
  readonly asOfMs: number;
  /** Only purchases in the last `withinMs` before asOf count (`--within`). */
  readonly withinMs?: number | null;
  /** Only members of a segment as of asOf: its key and the snapshot (`registry.snapshot(key, {asOfMs})`). */
  readonly segment?: { readonly key: string; readonly snapshotId: number } | null;
  /** Overrides `rfm.scores`. */
  readonly scores?: ScoreLevels;
  /** Overrides `rfm.quantile_method`. */
  readonly quantileMethod?: QuantileMethod;
}

/** The configuration and options resolved into what one RFM table needs. */
export interface RfmSettings {
  readonly scope: RfmScope;
  readonly levels: ScoreLevels;
  readonly method: QuantileMethod;
  readonly map: readonly RfmMapEntry[];
  readonly grid: RfmNameGrid;
  readonly segmentKey: string | null;
}

export interface RfmMeasureSummary {
  readonly mean: number | null;
  readonly median: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** The i/levels quantiles, i = 1..levels-1 ([] when no one is scored). */
  readonly cuts: readonly number[];
}

export interface RfmSegmentSummary {
  readonly name: string;
  readonly users: number;
  /** Of the users scored; null when there are none. */
  readonly share: number | null;
  /** Mean recency (days), frequency and monetary value of its users; null when it has none. */
  readonly recency: number | null;
  readonly frequency: number | null;
  readonly monetary: number | null;
  /** Its cells of the R x F grid. */
  readonly cells: readonly { readonly r: number; readonly f: number }[];
}

export interface RfmResult {
  readonly asOf: string;
  readonly event: string;
  /** The `--within` window, or null for all history. */
  readonly within: string | null;
  /** The `--segment` restriction, or null. */
  readonly segment: string | null;
  readonly scores: ScoreLevels;
  readonly method: QuantileMethod;
  /** Users with at least one qualifying purchase: the users scored. */
  readonly users: number;
  readonly recency: RfmMeasureSummary;
  readonly frequency: RfmMeasureSummary;
  readonly monetary: RfmMeasureSummary;
  /** Users per score 1..levels (index score - 1). */
  readonly scoreCounts: { readonly r: readonly number[]; readonly f: readonly number[]; readonly m: readonly number[] };
  /** Every name of the map, in map order, with its users (possibly none). */
  readonly segments: readonly RfmSegmentSummary[];
  /** Users per R x F cell: grid[r - 1][f - 1]. */
  readonly grid: readonly (readonly number[])[];
}

export interface RfmUserRow {
  readonly user_id: string;
  readonly recency: number;
  readonly frequency: number;
  readonly monetary: number;
  readonly r: number;
  readonly f: number;
  readonly m: number;
  readonly segment: string;
}

/** The `rfm:` settings with the options applied; fails when there is no `rfm:` section or the map does not fit. */
export function resolveRfmSettings(config: RfmConfig, options: RfmOptions): RfmSettings {
  if (config.purchase === null) {
    throw new StrataError('CONFIG_INVALID', 'strata.yaml has no rfm: section, so RFM does not know what a purchase is', [
      { path: 'rfm', message: 'add rfm: {event: purchase, value: amount} (see strata rfm --help)' },
    ]);
  }
  const levels = options.scores ?? config.scores;
  if (config.map !== null && levels !== config.scores) {
    throw new StrataError('INPUT_INVALID', `--scores ${levels}: the rfm.map of strata.yaml names cells of a ${config.scores}-level grid`, [
      { path: '--scores', message: `use ${config.scores}, or remove rfm.map to use the default map for ${levels} levels` },
    ]);
  }
  if (options.withinMs !== undefined && options.withinMs !== null && !(options.withinMs > 0)) {
    throw new StrataError('INPUT_INVALID', '--within must be a positive duration', [{ path: '--within', message: 'expected a duration such as 90d' }]);
  }
  const map = config.map ?? defaultRfmMap(levels);
  return {
    scope: {
      purchase: config.purchase,
      asOfMs: options.asOfMs,
      withinMs: options.withinMs ?? null,
      memberSnapshotId: options.segment?.snapshotId ?? null,
    },
    levels,
    method: options.quantileMethod ?? config.quantileMethod,
    map,
    grid: nameGrid(map, levels),
    segmentKey: options.segment?.key ?? null,
  };
}

/** The RFM table's summary, score counts, R x F grid and named segments. */
export async function computeRfm(store: EventStore, config: RfmConfig, options: RfmOptions): Promise<RfmResult> {
  const settings = resolveRfmSettings(config, options);
  const tables = await measureTables(store, settings.scope);
  const cuts: RfmCuts = {
    levels: settings.levels,
    recency: cutPoints(tables.recency, settings.levels, settings.method),
    frequency: cutPoints(tables.frequency, settings.levels, settings.method),
    monetary: cutPoints(tables.monetary, settings.levels, settings.method),
  };
  const cells = tables.recency.n === 0 ? [] : await store.queryByUser((d) => cellTotalsSql(d, settings.scope, cuts));
  return summarize(settings, tables, cuts, cells);
}

/** The cut points a result was scored with. */
export function resultCuts(result: RfmResult): RfmCuts {
  return { levels: result.scores, recency: result.recency.cuts, frequency: result.frequency.cuts, monetary: result.monetary.cuts };
}

/**
 * Every scored user's measures, scores and segment, in byte order of the user id, scored
 * with the cut points of `result` (computed with the same config and options).
 */
export async function rfmUserRows(store: EventStore, config: RfmConfig, options: RfmOptions, result: RfmResult): Promise<RfmUserRow[]> {
  const settings = resolveRfmSettings(config, options);
  if (result.users === 0) return [];
  const rows = await store.queryByUser((d) => scoredSql(d, settings.scope, resultCuts(result)));
  return rows
    .map((row) => {
      const r = toNumber(row.r);
      const f = toNumber(row.f);
      return {
        user_id: String(row.user_id),
        recency: toNumber(row.recency),
        frequency: toNumber(row.frequency),
        monetary: toNumber(row.monetary),
        r,
        f,
        m: toNumber(row.m),
        segment: settings.grid[r - 1]![f - 1]!,
      };
    })
    .sort((a, b) => byteOrder(a.user_id, b.user_id));
}

async function measureTables(store: EventStore, scope: RfmScope): Promise<Record<RfmMeasure, FrequencyTable>> {
  const out = {} as Record<RfmMeasure, FrequencyTable>;
  for (const measure of RFM_MEASURES) {
    const rows = await store.queryByUser((d) => valueCountsSql(d, scope, measure));
    out[measure] = frequencyTable(rows.map((r) => [toNumber(r.v), toNumber(r.n)] as const));
  }
  return out;
}

function summarize(settings: RfmSettings, tables: Record<RfmMeasure, FrequencyTable>, cuts: RfmCuts, cells: readonly Row[]): RfmResult {
  const k = settings.levels;
  const zeros = () => Array.from({ length: k }, () => 0);
  const scoreCounts = { r: zeros(), f: zeros(), m: zeros() };
  const grid = Array.from({ length: k }, zeros);
  const byName = new Map<string, { users: number; recency: number; frequency: number; monetary: number }>();
  for (const c of cells) {
    const [r, f, m, n] = [toNumber(c.r), toNumber(c.f), toNumber(c.m), toNumber(c.n)];
    scoreCounts.r[r - 1]! += n;
    scoreCounts.f[f - 1]! += n;
    scoreCounts.m[m - 1]! += n;
    grid[r - 1]![f - 1]! += n;
    const name = settings.grid[r - 1]![f - 1]!;
    const acc = byName.get(name) ?? { users: 0, recency: 0, frequency: 0, monetary: 0 };
    acc.users += n;
    acc.recency += toNumber(c.sum_r);
    acc.frequency += toNumber(c.sum_f);
    acc.monetary += toNumber(c.sum_m);
    byName.set(name, acc);
  }
  const users = tables.recency.n;
  const segments = mapNames(settings.map).map((name): RfmSegmentSummary => {
    const acc = byName.get(name);
    const n = acc?.users ?? 0;
    const cellsOf: { r: number; f: number }[] = [];
    for (let r = k; r >= 1; r--) for (let f = 1; f <= k; f++) if (settings.grid[r - 1]![f - 1] === name) cellsOf.push({ r, f });
    return {
      name,
      users: n,
      share: users > 0 ? n / users : null,
      recency: n > 0 ? acc!.recency / n : null,
      frequency: n > 0 ? acc!.frequency / n : null,
      monetary: n > 0 ? acc!.monetary / n : null,
      cells: cellsOf,
    };
  });
  const measure = (m: RfmMeasure): RfmMeasureSummary => ({ ...describeTable(tables[m]), cuts: cuts[m] });
  return {
    asOf: formatInstant(settings.scope.asOfMs),
    event: settings.scope.purchase.event,
    within: settings.scope.withinMs === null ? null : formatDuration(settings.scope.withinMs),
    segment: settings.segmentKey,
    scores: k,
    method: settings.method,
    users,
    recency: measure('recency'),
    frequency: measure('frequency'),
    monetary: measure('monetary'),
    scoreCounts,
    segments,
    grid,
  };
}

