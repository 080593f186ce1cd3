/**
 * Retention tables against hand-written DuckDB, on the synthetic product the segments
 * benchmark uses (support/product-data.ts: 10M events for 1M users by default, 180 days
 * ending at 2025-01-01, the asOf).
 *
 * Each case is a weekly cohort table with 12 periods after period 0. Strata's figure is
 * the whole library call (`retentionTable`: the dialect-built per-user query and the table
 * assembled in TypeScript); the peer is the DuckDB query an analyst who knows the schema
 * would write for the same numbers (`date_trunc('week', ...)`, the `users` index for first
 * seen). Before timing, both must give the same cohort sizes and the same counts in every
 * cell. Contenders are interleaved and each figure is the median. Goal: strata / hand <= 1.2.
 */
import { demoPlan } from '../src/demo/demo-plan.js';
import { checkRetentionDefinition, retentionTable, type RetentionDefinition, type RetentionResult } from '../src/analysis/retention/index.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { timestampLiteral } from './hand-queries.js';
import { interleave, secondsOf, type Timing } from './support/measure.js';
import { eachScale, withProductStore, type ProductBenchOptions, type ProductScale } from './support/product-store.js';
import { printTable, ratio, seconds } from './support/report.js';

export type RetentionBenchOptions = ProductBenchOptions;

export const RETENTION_GOAL = 1.2;
const PERIODS = 12;

interface RetentionCase {
  readonly key: string;
  readonly definition: RetentionDefinition;
  /** The table the hand query's rows hold: `returned` (users per cohort and period) or `last` (users per cohort and period of their last return). */
  readonly handTable: 'returned' | 'last';
  /** Rows (cohort TIMESTAMP, k, users); k = -1 holds the cohort sizes. */
  readonly hand: (asOf: string) => string;
}

const CASES: readonly RetentionCase[] = [
  {
    // The classic acquisition-cohort table: first seen, back on any event.
    key: 'weekly-first-seen-returned',
    definition: { cohort: 'week', periods: PERIODS, mode: 'returned' },
    handTable: 'returned',
    // Every event is at or after the user's first, so distinct (user, week) pairs suffice.
    hand: (asOf) => `
      WITH cohorts AS (SELECT user_id, date_trunc('week', first_event_at) AS cohort FROM users WHERE first_event_at < ${asOf}),
      weeks AS (SELECT DISTINCT user_id, date_trunc('week', ts) AS week FROM events WHERE ts < ${asOf})
      SELECT cohort, -1 AS k, count(*) AS users FROM cohorts GROUP BY cohort
      UNION ALL
      SELECT c.cohort, date_diff('day', c.cohort, w.week) // 7 AS k, count(*) AS users
      FROM weeks w JOIN cohorts c USING (user_id)
      WHERE w.week <= c.cohort + INTERVAL ${PERIODS * 7} DAY
      GROUP BY ALL`,
  },
  {
    // On or after week k: users whose last event is in week k or later; one max per user.
    key: 'weekly-first-seen-on-or-after',
    definition: { cohort: 'week', periods: PERIODS, mode: 'on-or-after' },
    handTable: 'last',
    hand: (asOf) => `
      WITH cohorts AS (SELECT user_id, date_trunc('week', first_event_at) AS cohort FROM users WHERE first_event_at < ${asOf}),
      lastweek AS (SELECT user_id, date_trunc('week', max(ts)) AS week FROM events WHERE ts < ${asOf} GROUP BY user_id)
      SELECT cohort, -1 AS k, count(*) AS users FROM cohorts GROUP BY cohort
      UNION ALL
      SELECT c.cohort, date_diff('day', c.cohort, l.week) // 7 AS k, count(*) AS users
      FROM lastweek l JOIN cohorts c USING (user_id)
      GROUP BY ALL`,
  },
  {
    // Cohorts by signup, back when they complete a core task; a task in the signup week counts only from the signup on.
    key: 'weekly-signup-core-task',
    definition: { cohort: 'week', periods: PERIODS, mode: 'returned', start: 'signed_up', return: 'core_task_completed' },
    handTable: 'returned',
    hand: (asOf) => `
      WITH starts AS (SELECT user_id, min(ts) AS start FROM events WHERE event = 'signed_up' AND ts < ${asOf} GROUP BY user_id),
      cohorts AS (SELECT user_id, start, date_trunc('week', start) AS cohort FROM starts),
      weeks AS (
        SELECT user_id, date_trunc('week', ts) AS week, max(ts) AS last FROM events
        WHERE event = 'core_task_completed' AND ts < ${asOf} GROUP BY ALL)
      SELECT cohort, -1 AS k, count(*) AS users FROM cohorts GROUP BY cohort
      UNION ALL
      SELECT c.cohort, date_diff('day', c.cohort, w.week) // 7 AS k, count(*) AS users
      FROM weeks w JOIN cohorts c USING (user_id)
      WHERE w.last >= c.start AND w.week <= c.cohort + INTERVAL ${PERIODS * 7} DAY
      GROUP BY ALL`,
  },
];

export interface RetentionFigure {
  readonly key: string;
  readonly cohorts: number;
  readonly users: number;
  readonly cells: number;
  readonly same: boolean;
  readonly strata: Timing;
  readonly hand: Timing;
  readonly ratio: number;
}

export interface RetentionScaleResult extends ProductScale {
  readonly cases: readonly RetentionFigure[];
}

export function runRetentionBench(options: RetentionBenchOptions): Promise<RetentionScaleResult[]> {
  return eachScale(options, (events) => runScale(events, options));
}

function runScale(events: number, options: RetentionBenchOptions): Promise<RetentionScaleResult> {
  const plan = demoPlan();
  return withProductStore('retention', events, plan, options, async ({ store, asOfMs, scale }) => {
    const ctx = { store, plan, registry: new SegmentRegistry(store, plan) };
    const figures: RetentionFigure[] = [];
    for (const c of CASES) {
      const spec = checkRetentionDefinition(c.definition, plan, asOfMs);
      const handSql = c.hand(timestampLiteral(asOfMs));
      // Verification doubles as the warm-up run of both.
      const strataTable = await retentionTable(ctx, spec, asOfMs);
      const handRows = await store.query(handSql);
      const mismatch = compareTables(strataTable, handRows, c.handTable);
      if (mismatch !== null) process.stdout.write(`  MISMATCH ${c.key}: ${mismatch}\n`);
      const timings = await interleave(options.repetitions, {
        strata: () => secondsOf(() => retentionTable(ctx, spec, asOfMs)),
        hand: () => secondsOf(() => store.query(handSql)),
      });
      const cohorts = strataTable.groups.flatMap((g) => g.cohorts);
      const figure: RetentionFigure = {
        key: c.key,
        cohorts: cohorts.length,
        users: cohorts.reduce((s, x) => s + x.size, 0),
        cells: cohorts.reduce((s, x) => s + x.cells.length, 0),
        same: mismatch === null,
        strata: timings.strata,
        hand: timings.hand,
        ratio: timings.strata.median / timings.hand.median,
      };
      figures.push(figure);
      process.stdout.write(`  ${c.key}: strata ${seconds(figure.strata.median)} s, hand ${seconds(figure.hand.median)} s, ratio ${ratio(figure.ratio)}\n`);
    }
    const result: RetentionScaleResult = { ...scale, cases: figures };
    printScale(result);
    return result;
  });
}

/**
 * null when Strata's table holds exactly the hand query's numbers: the same cohorts and
 * sizes, and in every cell Strata shows, the hand query's count (returned), or the users
 * whose last return is in that period or later (on or after). Else what differs first.
 */
export function compareTables(strata: RetentionResult, handRows: readonly Record<string, unknown>[], table: 'returned' | 'last'): string | null {
  const hand = new Map<string, Map<number, number>>();
  for (const r of handRows) {
    const cohort = (r.cohort as Date).toISOString();
    const byK = hand.get(cohort) ?? new Map<number, number>();
    hand.set(cohort, byK);
    byK.set(Number(r.k), Number(r.users));
  }
  const cohorts = strata.groups.flatMap((g) => g.cohorts);
  if (cohorts.length !== hand.size) return `${cohorts.length} cohorts, hand-written ${hand.size}`;
  for (const c of cohorts) {
    const byK = hand.get(c.start);
    if (byK === undefined) return `cohort ${c.cohort} (${c.start}) missing from the hand-written rows`;
    if (byK.get(-1) !== c.size) return `cohort ${c.cohort}: ${c.size} users, hand-written ${byK.get(-1)}`;
    for (const cell of c.cells) {
      const expected =
        table === 'returned'
          ? (byK.get(cell.period) ?? 0)
          : [...byK].filter(([k]) => k >= cell.period).reduce((s, [, n]) => s + n, 0);
      const actual = table === 'returned' ? cell.returned : cell.onOrAfter;
      if (actual !== expected) return `cohort ${c.cohort} period ${cell.period}: ${actual}, hand-written ${expected}`;
    }
    if (table === 'returned') {
      const extra = [...byK].find(([k, n]) => k >= 0 && n > 0 && !c.cells.some((x) => x.period === k));
      if (extra) return `cohort ${c.cohort}: hand-written has period ${extra[0]} (${extra[1]} users) that Strata does not show`;
    }
  }
  return null;
}

function printScale(r: RetentionScaleResult): void {
  printTable(
    `Weekly retention tables (${PERIODS} periods after period 0) on ${r.events.toLocaleString('en-US')} events, ${r.users.toLocaleString('en-US')} users, as of ${r.asOf}; medians in seconds; goal strata/hand <= ${RETENTION_GOAL}`,
    ['case', 'cohorts', 'users', 'cells', 'same', 'strata s', 'hand s', 'strata/hand', 'goal'],
    r.cases.map((f) => [
      f.key,
      f.cohorts,
      f.users,
      f.cells,
      f.same ? 'yes' : 'NO',
      seconds(f.strata.median),
      seconds(f.hand.median),
      ratio(f.ratio),
      f.ratio <= RETENTION_GOAL ? 'met' : 'MISSED',
    ]),
  );
}
