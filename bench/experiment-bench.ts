/**
 * Experiment analysis against hand-written DuckDB (issue 5, "Performance"): an A/B test with
 * 10M exposed users (`--users` sets it; support/experiment-store.ts generates the data) and
 * three metrics, activated within 7 days (conversion), projects within 14 days (count) and
 * revenue within 28 days (sum of `amount`), broken down by a stored segment snapshotted at
 * the experiment's start.
 *
 * Strata's figure is the whole library path: `computeExperimentData` (the exposure and
 * per-user metric SQL, reduced to sufficient statistics in the store) and `analyzeExperiment`
 * (the statistics and the recommendation). The peer is the query an analyst would write for
 * the same sufficient statistics (below), run through the same store and read back. Before
 * any timing both must give the same numbers: per group x variant x metric n, Σ and Σ²
 * (exactly for the integer ones, within 1e-9 relative for sums of amounts), the immature
 * users per metric and the exposures per group and variant. Contenders are interleaved and
 * each figure is the median of the repetitions. Goal: strata / hand <= 1.3.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { analyzeExperiment } from '../src/experiments/analyze/index.js';
import type { StoredExperiment } from '../src/experiments/design/types.js';
import { computeExperimentData } from '../src/experiments/metrics/index.js';
import type { ExperimentData } from '../src/experiments/metrics/types.js';
import type { Row } from '../src/store/event-store.js';
import { timestampLiteral } from './hand-queries.js';
import { interleave, secondsOf, summarize, type Timing } from './support/measure.js';
import {
  AS_OF_MS,
  EXPERIMENT,
  EXPERIMENT_KEY,
  EXPERIMENT_PLAN,
  METRICS,
  SEGMENT_KEY,
  START_MS,
  STOP_MS,
  VARIANTS,
  withExperimentStore,
  type ExperimentScale,
  type ExperimentStore,
} from './support/experiment-store.js';
import { printTable, ratio, seconds } from './support/report.js';

export const EXPERIMENT_GOAL = 1.3;

export interface ExperimentBenchOptions {
  readonly users: readonly number[];
  readonly repetitions: number;
  readonly dir?: string;
  readonly keep: boolean;
  readonly threads?: number;
  readonly memoryLimit?: string;
}

/** Sufficient statistics of one metric in one group and variant (`group` null: everyone). */
export interface Cell {
  readonly metric: string;
  readonly group: string | null;
  readonly variant: string;
  readonly n: number;
  readonly sum: number;
  readonly sumSquares: number;
}

/** Everything both sides must agree on. */
export interface Statistics {
  readonly cells: readonly Cell[];
  /** Exposed users per group and variant. */
  readonly exposures: readonly { readonly group: string | null; readonly variant: string; readonly users: number }[];
  /** Users left out of a metric (per group) because its window had not ended by asOf. */
  readonly immature: readonly { readonly metric: string; readonly group: string | null; readonly users: number }[];
}

export interface ExperimentScaleResult extends ExperimentScale {
  readonly experiment: string;
  readonly breakdown: string;
  readonly same: boolean;
  readonly differences: readonly string[];
  readonly strata: Timing;
  readonly hand: Timing;
  readonly ratio: number;
  /** Strata's time in computeExperimentData (the SQL and reading its rows); the rest is analyzeExperiment. */
  readonly strataData: Timing;
  /** CPU seconds of the process (all DuckDB threads) per run, and their ratio strata / hand. */
  readonly cpuSeconds: { readonly strata: Timing; readonly hand: Timing };
  readonly cpuRatio: number;
}

const METRIC_LIST = [METRICS.activated, METRICS.projects, METRICS.revenue] as const;
const DAY_MS = 86_400_000;

/**
 * The hand-written peer, as a good analyst writes it against the store's schema: each
 * user's first exposure in [start, min(stop, asOf)) (users in two variants dropped), one
 * join to the metric events after it, conditional aggregation per user, then n, Σ and Σ²
 * per group and variant with GROUPING SETS for the whole experiment beside the segment's
 * groups; a metric's n counts only users whose window ended by asOf.
 */
export function handExperimentQuery(snapshotId: number): string {
  const asOf = timestampLiteral(AS_OF_MS);
  const start = timestampLiteral(START_MS);
  const end = timestampLiteral(Math.min(STOP_MS, AS_OF_MS));
  const variants = VARIANTS.map((v) => `'${v}'`).join(', ');
  const events = METRIC_LIST.map((m) => `'${m.measure.event}'`).join(', ');
  const within = (m: (typeof METRIC_LIST)[number]) => `INTERVAL ${m.withinMs / DAY_MS} DAY`;
  const { activated, projects, revenue } = METRICS;
  const stats = METRIC_LIST.map((m) => {
    const mature = `t0 + ${within(m)} <= ${asOf}`;
    return `count(*) FILTER (WHERE ${mature}) AS "${m.key}_n", sum(${m.key}) FILTER (WHERE ${mature}) AS "${m.key}_sum",
      sum(${m.key} * ${m.key}) FILTER (WHERE ${mature}) AS "${m.key}_ss"`;
  }).join(',\n      ');
  return `
    WITH exposed AS (
      SELECT user_id, min(ts) AS t0, min(p_variant) AS variant
      FROM events
      WHERE event = '$exposure' AND p_experiment = '${EXPERIMENT_KEY}' AND ts >= ${start} AND ts < ${end} AND p_variant IN (${variants})
      GROUP BY user_id
      HAVING min(p_variant) = max(p_variant)
    ),
    per_user AS (
      SELECT x.user_id, any_value(x.variant) AS variant, x.t0,
        coalesce(max(CASE WHEN e.event = '${activated.measure.event}' AND e.ts < x.t0 + ${within(activated)} THEN 1 ELSE 0 END), 0) AS ${activated.key},
        count(*) FILTER (WHERE e.event = '${projects.measure.event}' AND e.ts < x.t0 + ${within(projects)}) AS ${projects.key},
        coalesce(sum(e.p_${revenue.measure.property}) FILTER (WHERE e.event = '${revenue.measure.event}' AND e.ts < x.t0 + ${within(revenue)}), 0) AS ${revenue.key}
      FROM exposed x
      LEFT JOIN events e ON e.user_id = x.user_id AND e.event IN (${events}) AND e.ts >= x.t0 AND e.ts < ${asOf} AND e.ts >= ${start}
      GROUP BY x.user_id, x.t0
    )
    SELECT CASE WHEN grouping(grp) = 0 THEN grp END AS grp, variant, count(*) AS exposed,
      ${stats}
    FROM (
      SELECT p.*, CASE WHEN m.user_id IS NULL THEN 'non-member' ELSE 'member' END AS grp
      FROM per_user p LEFT JOIN (SELECT user_id FROM snapshot_members WHERE snapshot_id = ${snapshotId}) m ON m.user_id = p.user_id
    )
    GROUP BY GROUPING SETS ((variant), (grp, variant))`;
}

/** The hand query's rows as Statistics. */
export function handStatistics(rows: readonly Row[]): Statistics {
  const cells: Cell[] = [];
  const exposures: Statistics['exposures'][number][] = [];
  const immature: Map<string, { metric: string; group: string | null; users: number }> = new Map();
  for (const r of rows) {
    const group = r.grp === null || r.grp === undefined ? null : String(r.grp);
    const variant = String(r.variant);
    const exposed = Number(r.exposed);
    exposures.push({ group, variant, users: exposed });
    for (const m of METRIC_LIST) {
      const n = Number(r[`${m.key}_n`]);
      cells.push({ metric: m.key, group, variant, n, sum: Number(r[`${m.key}_sum`] ?? 0), sumSquares: Number(r[`${m.key}_ss`] ?? 0) });
      const k = `${m.key}|${group}`;
      const prior = immature.get(k);
      immature.set(k, { metric: m.key, group, users: (prior?.users ?? 0) + exposed - n });
    }
  }
  return { cells, exposures, immature: [...immature.values()] };
}

/** Strata's ExperimentData as Statistics (a proportion's Σ² is its Σ: values are 0 or 1). */
export function strataStatistics(data: ExperimentData): Statistics {
  const cells: Cell[] = [];
  for (const m of data.metrics) {
    for (const v of m.variants) {
      const s = v.stats;
      if (s.type === 'ratio') throw new Error(`metric ${m.metric}: the benchmark has no ratio metrics`);
      cells.push({ metric: m.metric, group: m.group, variant: v.variant, n: s.n, sum: s.sum, sumSquares: s.type === 'proportion' ? s.sum : s.sumSquares });
    }
  }
  return {
    cells,
    exposures: data.exposures.map((e) => ({ group: e.group, variant: e.variant, users: e.users })),
    immature: data.metrics.map((m) => ({ metric: m.metric, group: m.group, users: m.immature })),
  };
}

/**
 * What differs between Strata's statistics and the hand query's: the same metric x group x
 * variant cells (the whole experiment and each of the segment's groups) with the same
 * numbers. Integer quantities must be equal; sums of amounts within 1e-9 relative (the two
 * add doubles in different orders).
 */
export function compareStatistics(strata: Statistics, hand: Statistics): string[] {
  const out: string[] = [];
  const key = (...parts: (string | null)[]) => parts.map((p) => p ?? '(all)').join(' / ');
  const close = (a: number, b: number, exact: boolean) => (exact ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)));
  const handCells = new Map(hand.cells.map((c) => [key(c.metric, c.group, c.variant), c]));
  for (const c of strata.cells) {
    const h = handCells.get(key(c.metric, c.group, c.variant));
    if (h === undefined) {
      out.push(`${key(c.metric, c.group, c.variant)}: in Strata's data, not in the hand query's`);
      continue;
    }
    const exact = c.metric !== METRICS.revenue.key;
    for (const f of ['n', 'sum', 'sumSquares'] as const) {
      if (!close(c[f], h[f], f === 'n' || exact)) out.push(`${key(c.metric, c.group, c.variant)} ${f}: strata ${c[f]}, hand ${h[f]}`);
    }
  }
  const strataCells = new Set(strata.cells.map((c) => key(c.metric, c.group, c.variant)));
  for (const k of handCells.keys()) if (!strataCells.has(k)) out.push(`${k}: in the hand query's statistics, not in Strata's`);
  const handExposures = new Map(hand.exposures.map((e) => [key(e.group, e.variant), e.users]));
  for (const e of strata.exposures) {
    const h = handExposures.get(key(e.group, e.variant));
    if (h !== e.users) out.push(`exposures ${key(e.group, e.variant)}: strata ${e.users}, hand ${h}`);
  }
  const handImmature = new Map(hand.immature.map((i) => [key(i.metric, i.group), i.users]));
  for (const i of strata.immature) {
    const h = handImmature.get(key(i.metric, i.group));
    if (h !== i.users) out.push(`immature ${key(i.metric, i.group)}: strata ${i.users}, hand ${h}`);
  }
  return out;
}

export async function runExperimentBench(options: ExperimentBenchOptions): Promise<ExperimentScaleResult[]> {
  const out: ExperimentScaleResult[] = [];
  for (const users of options.users) out.push(await withExperimentStore({ ...options, users }, (s) => runScale(s, options)));
  return out;
}

async function runScale(s: ExperimentStore, options: ExperimentBenchOptions): Promise<ExperimentScaleResult> {
  const handSql = handExperimentQuery(s.snapshotId);
  const stored: StoredExperiment = {
    definition: EXPERIMENT,
    version: 1,
    createdAtMs: START_MS,
    definitionHash: createHash('sha256').update(JSON.stringify(EXPERIMENT)).digest('hex'),
  };
  const data = () => computeExperimentData(s.store, s.registry, stored, { asOfMs: AS_OF_MS, plan: EXPERIMENT_PLAN, by: `segment:${SEGMENT_KEY}` });
  // Strata's time is the whole call pair; the share of computeExperimentData is kept beside
  // it. CPU seconds of the process (DuckDB's threads included) are kept too: on a shared
  // machine they move less than wall time.
  const dataSamples: number[] = [];
  const cpu = { strata: [] as number[], hand: [] as number[] };
  const strata = async () => {
    const started = performance.now();
    const computed = await data();
    dataSamples.push((performance.now() - started) / 1000);
    analyzeExperiment(EXPERIMENT, computed);
    return (performance.now() - started) / 1000;
  };
  const hand = async () => handStatistics(await s.store.query(handSql));
  // The check doubles as the warm-up run of both.
  const strataData = await data();
  const report = analyzeExperiment(EXPERIMENT, strataData);
  const differences = compareStatistics(strataStatistics(strataData), await hand());
  // The generator writes one known variant per user: Strata must find nothing to leave out.
  if (strataData.multipleExposures !== 0) differences.push(`Strata counts ${strataData.multipleExposures} users in several variants; the data has none`);
  if (Object.keys(strataData.unknownVariants).length > 0) differences.push(`Strata reports unknown variants ${JSON.stringify(strataData.unknownVariants)}; the data has none`);
  if (differences.length > 0) process.stdout.write(`  MISMATCH:\n    ${differences.slice(0, 20).join('\n    ')}\n`);
  process.stdout.write(`  checked: ${differences.length === 0 ? 'same statistics' : `${differences.length} differences`}; Strata recommends ${report.recommendation.decision}\n`);
  const withCpu = (samples: number[], run: () => Promise<number>) => async () => {
    const since = process.cpuUsage();
    const wall = await run();
    const used = process.cpuUsage(since);
    samples.push((used.user + used.system) / 1e6);
    return wall;
  };
  const timings = await interleave(options.repetitions, { strata: withCpu(cpu.strata, strata), hand: withCpu(cpu.hand, () => secondsOf(hand)) });
  const cpuSeconds = { strata: summarize(cpu.strata), hand: summarize(cpu.hand) };
  const result: ExperimentScaleResult = {
    ...s.scale,
    experiment: `${EXPERIMENT_KEY}: ${METRIC_LIST.map((m) => `${m.key} (${m.type}, ${m.withinMs / DAY_MS}d)`).join(', ')}`,
    breakdown: `segment ${SEGMENT_KEY} as of the start`,
    same: differences.length === 0,
    differences,
    strata: timings.strata,
    hand: timings.hand,
    strataData: summarize(dataSamples),
    cpuSeconds,
    cpuRatio: cpuSeconds.strata.median / cpuSeconds.hand.median,
    ratio: timings.strata.median / timings.hand.median,
  };
  printScale(result);
  return result;
}

function printScale(r: ExperimentScaleResult): void {
  const generated = r.reused ? 'kept store reused' : `generated in ${seconds(r.generateSeconds)} s`;
  printTable(
    `Experiment ${r.experiment}; by ${r.breakdown}; ${r.exposures.toLocaleString('en-US')} exposed users, ${r.events.toLocaleString('en-US')} events (${generated}), as of ${r.asOf}; medians in seconds; goal strata/hand <= ${EXPERIMENT_GOAL}`,
    ['users', 'events', 'same', 'strata s', 'of which data s', 'hand s', 'strata/hand', 'goal', 'CPU s strata', 'CPU s hand', 'CPU ratio'],
    [
      [
        r.exposures.toLocaleString('en-US'),
        r.events.toLocaleString('en-US'),
        r.same ? 'yes' : 'NO',
        seconds(r.strata.median),
        seconds(r.strataData.median),
        seconds(r.hand.median),
        ratio(r.ratio),
        r.ratio <= EXPERIMENT_GOAL ? 'met' : 'MISSED',
        seconds(r.cpuSeconds.strata.median),
        seconds(r.cpuSeconds.hand.median),
        ratio(r.cpuRatio),
      ],
    ],
  );
}
