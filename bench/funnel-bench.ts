/**
 * The funnel table against hand-written DuckDB, on the generated product the segments
 * benchmark uses (bench/support/product-data.ts: 10M or 100M events, 1M users).
 *
 * The funnel is the product's onboarding: signed_up -> onboarding_started ->
 * first_project_created -> core_task_completed, span 7d, signups within 90 days, sequential
 * order; once overall and once by the channel trait. Strata's figure is the whole
 * `analyzeFunnel` call (SQL built, run, rows read and assembled); the peer is the query an
 * analyst would write for the same table (below), run through the same store and read
 * back, in the same process, interleaved, medians of the repetitions. Before any timing,
 * both must give the same table: users per step and the quartiles of time from the previous
 * step, exactly. Goal: strata / hand <= 1.2.
 */
import { analyzeFunnel, funnelFromArguments, type FunnelResult } from '../src/analysis/funnel/index.js';
import { demoPlan } from '../src/demo/demo-plan.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import type { Row } from '../src/store/event-store.js';
import { timestampLiteral } from './hand-queries.js';
import { interleave, secondsOf, type Timing } from './support/measure.js';
import { eachScale, withProductStore, type ProductBenchOptions, type ProductScale } from './support/product-store.js';
import { printTable, ratio, seconds } from './support/report.js';

export type FunnelBenchOptions = ProductBenchOptions;

export const FUNNEL_GOAL = 1.2;

const STEPS = ['signed_up', 'onboarding_started', 'first_project_created', 'core_task_completed'] as const;
const SPAN_DAYS = 7;
const WITHIN_DAYS = 90;

/** One row of the table: a group (null overall), users per step, quartiles of time to each step from the previous one. */
interface TableRow {
  readonly group: string | null;
  readonly reached: readonly number[];
  readonly quartiles: readonly (readonly number[] | null)[];
}

export interface FunnelFigure {
  readonly name: string;
  readonly groups: number;
  /** Overall users per step. */
  readonly reached: readonly number[];
  readonly same: boolean;
  readonly strata: Timing;
  readonly hand: Timing;
  readonly ratio: number;
}

export interface FunnelScaleResult extends ProductScale {
  readonly funnel: string;
  readonly cases: readonly FunnelFigure[];
}

/**
 * The hand-written query: starts (signups in the window), then each next step by an ASOF
 * LEFT JOIN to that step's events strictly after the previous one (the earliest such event,
 * dropped when not before signup + 7 days, so the chain stops), the furthest step per
 * start, per user the earliest start reaching the user's furthest step, then counts and
 * quantile_cont per step. `channel`: grouped by the profile's channel.
 */
export function handFunnelQuery(asOfMs: number, byChannel: boolean): string {
  const asOf = timestampLiteral(asOfMs);
  const span = SPAN_DAYS * 86_400_000;
  const stepRows = STEPS.slice(1)
    .map((e, i) => `e${i + 2} AS (SELECT user_id, epoch_ms(ts) AS t FROM events WHERE event = '${e}' AND ts >= ${asOf} - INTERVAL ${WITHIN_DAYS} DAY AND ts < ${asOf})`)
    .join(',\n');
  const chain = [2, 3, 4]
    .map(
      (j) => `c${j} AS (
  SELECT c.*, CASE WHEN e.t < c.t1 + ${span} THEN e.t END AS t${j}
  FROM c${j - 1} c ASOF LEFT JOIN e${j} e ON e.user_id = c.user_id AND e.t > c.t${j - 1})`,
    )
    .join(',\n');
  const quartiles = [2, 3, 4].map((j) => `quantile_cont(t[${j}] - t[${j - 1}], [0.25, 0.5, 0.75]) FILTER (WHERE k >= ${j}) AS q${j}`).join(',\n  ');
  const group = byChannel ? `coalesce(p.t_channel, '(none)')` : null;
  return `WITH c1 AS (SELECT user_id, epoch_ms(ts) AS t1 FROM events WHERE event = '${STEPS[0]}' AND ts >= ${asOf} - INTERVAL ${WITHIN_DAYS} DAY AND ts < ${asOf}),
${stepRows},
${chain},
per_user AS (
  SELECT user_id, max(k) AS k, arg_min([t1, t2, t3, t4], (-k, t1)) AS t
  FROM (SELECT *, 1 + (t2 IS NOT NULL)::INT + (t3 IS NOT NULL)::INT + (t4 IS NOT NULL)::INT AS k FROM c4)
  GROUP BY user_id)
SELECT ${group === null ? '' : `${group} AS grp,\n  `}count(*) AS r1, count(*) FILTER (WHERE k >= 2) AS r2, count(*) FILTER (WHERE k >= 3) AS r3, count(*) FILTER (WHERE k >= 4) AS r4,
  ${quartiles}
FROM per_user${byChannel ? ' LEFT JOIN profiles p USING (user_id)' : ''}${group === null ? '' : `\nGROUP BY ${group}`}`;
}

function handTable(rows: readonly Row[]): TableRow[] {
  return rows.map((r) => ({
    group: r.grp === undefined ? null : String(r.grp),
    reached: [r.r1, r.r2, r.r3, r.r4].map(Number),
    quartiles: [null, r.q2, r.q3, r.q4].map((q) => (Array.isArray(q) ? q.map(Number) : null)),
  }));
}

function strataTable(result: FunnelResult): TableRow[] {
  return result.groups.map((g) => ({
    group: g.group,
    reached: g.steps.map((s) => s.reached),
    quartiles: g.steps.map((s) => (s.timeFromPrevious === null ? null : [s.timeFromPrevious.p25, s.timeFromPrevious.median, s.timeFromPrevious.p75])),
  }));
}

const byGroup = (rows: readonly TableRow[]) => [...rows].sort((a, b) => ((a.group ?? '') < (b.group ?? '') ? -1 : (a.group ?? '') > (b.group ?? '') ? 1 : 0));

export function runFunnelBench(options: FunnelBenchOptions): Promise<FunnelScaleResult[]> {
  return eachScale(options, (events) => runScale(events, options));
}

function runScale(events: number, options: FunnelBenchOptions): Promise<FunnelScaleResult> {
  const plan = demoPlan();
  return withProductStore('funnel', events, plan, options, async ({ store, asOfMs, scale }) => {
    const registry = new SegmentRegistry(store, plan);
    const funnel = funnelFromArguments({ steps: [...STEPS], span: `${SPAN_DAYS}d`, within: `${WITHIN_DAYS}d` }, plan);
    const cases: FunnelFigure[] = [];
    for (const byChannel of [false, true]) {
      const name = byChannel ? 'onboarding, by channel' : 'onboarding';
      const strata = () => analyzeFunnel(store, registry, plan, funnel, { asOfMs, ...(byChannel ? { by: 'channel' } : {}) });
      const handSql = handFunnelQuery(asOfMs, byChannel);
      const hand = async () => handTable(await store.query(handSql));
      // The check doubles as the warm-up run of both.
      const s = byGroup(strataTable(await strata()));
      const h = byGroup(await hand());
      const same = JSON.stringify(s) === JSON.stringify(h);
      if (!same) process.stdout.write(`  MISMATCH ${name}:\n    strata ${JSON.stringify(s)}\n    hand   ${JSON.stringify(h)}\n`);
      const timings = await interleave(options.repetitions, { strata: () => secondsOf(strata), hand: () => secondsOf(hand) });
      const overall = s.reduce((acc, row) => acc.map((n, i) => n + row.reached[i]!), STEPS.map(() => 0));
      const figure: FunnelFigure = { name, groups: s.length, reached: overall, same, strata: timings.strata, hand: timings.hand, ratio: timings.strata.median / timings.hand.median };
      cases.push(figure);
      process.stdout.write(`  ${name}: strata ${seconds(figure.strata.median)} s, hand ${seconds(figure.hand.median)} s, ratio ${ratio(figure.ratio)}\n`);
    }
    const result: FunnelScaleResult = {
      ...scale,
      funnel: `${STEPS.join(' -> ')}, span ${SPAN_DAYS}d, within ${WITHIN_DAYS}d, sequential`,
      cases,
    };
    printScale(result);
    return result;
  });
}

function printScale(r: FunnelScaleResult): void {
  printTable(
    `Funnel ${r.funnel} on ${r.events.toLocaleString('en-US')} events, ${r.users.toLocaleString('en-US')} users, as of ${r.asOf}; medians in seconds; goal strata/hand <= ${FUNNEL_GOAL}`,
    ['case', 'groups', 'users per step', 'same', 'strata s', 'hand s', 'strata/hand', 'goal'],
    r.cases.map((c) => [
      c.name,
      c.groups,
      c.reached.map((n) => n.toLocaleString('en-US')).join(' / '),
      c.same ? 'yes' : 'NO',
      seconds(c.strata.median),
      seconds(c.hand.median),
      ratio(c.ratio),
      c.ratio <= FUNNEL_GOAL ? 'met' : 'MISSED',
    ]),
  );
}
