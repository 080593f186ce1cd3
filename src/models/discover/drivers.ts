/**
 * `discover drivers`: which early behaviours ("did E at least n times in the first N
 * days") go with an outcome later on (conversion: the outcome event; retention: any event)
 * and with revenue. Definitions (docs/models.md, "Drivers"):
 *
 * - Cohort: users first seen (users.first_event_at = f) in [cohortFrom, cohortTo) with
 *   f + early + within <= asOf, optionally members of a segment as of asOf. Early window
 *   [f, f + early); outcome window [f + early, f + early + within).
 * - Conversion users who already did the outcome event in the early window are counted
 *   (`alreadyConverted`) and left out: a behaviour after conversion cannot predict it.
 * - Candidates: every declared event but the outcome event and `$exposure` (or the given
 *   list), at each threshold n, "did E at least n times in the early window", kept when
 *   both sides hold at least minUsers users and the split differs from the one of the next
 *   smaller threshold (equal counts mean the same users, nested sets).
 * - Statistics per candidate: drivers-stats.ts. Benjamini–Hochberg q-values across all
 *   candidates (src/experiments/stats/multiple.ts); significant when BH rejects at fdr;
 *   intervals at the false-coverage-rate level alpha R / m of Benjamini & Yekutieli (2005),
 *   R the rejections (1 when none), as experiment corrections do.
 * - Revenue (with purchase settings that have a value): per user, the purchases' value in
 *   the outcome window; per candidate the mean with vs without, the difference with a
 *   Welch interval and p-value (Welch t), the ratio with the delta-method interval of the
 *   relative effect, payer shares; BH across the revenue candidates as its own family.
 *
 * Associations, not causes: users who do more early also differ in other ways.
 */
import { StrataError } from '../../errors/errors.js';
import type { PurchaseSettings } from '../../analysis/rfm/rfm-config.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { EventStore, Row } from '../../store/event-store.js';
import { adjustPValues } from '../../experiments/stats/multiple.js';
import { welchTest } from '../../experiments/stats/frequentist.js';
import { isDegenerate } from '../../experiments/stats/result.js';
import { isSystemEvent } from '../../schema/system-events.js';
import { toNumber } from '../../segments/registry/registry-sql.js';
import { closest, quote } from '../../segments/language/messages.js';
import { COLUMNS, driversSql, latestMatureFirstMs, type DriversScope } from './drivers-sql.js';
import { tableStatistics, type Interval, type TableTest, type TwoByTwo } from './drivers-stats.js';

const DAY_MS = 86_400_000;

export const DEFAULT_THRESHOLDS: readonly number[] = [1, 2, 3, 5, 10];
export const DEFAULT_EARLY_MS = 14 * DAY_MS;
export const DEFAULT_WITHIN_MS = 28 * DAY_MS;
export const DEFAULT_MIN_USERS = 30;
export const DEFAULT_FDR = 0.05;

export const ASSOCIATION_NOTE =
  'Associations, not causes: users who do a behaviour early also differ in other ways (intent, fit, acquisition channel). Test a driver with an experiment before acting on it.';

export type DriverOutcome = { readonly kind: 'conversion'; readonly event: string } | { readonly kind: 'retention' };

export interface DriversOptions {
  readonly outcome: DriverOutcome;
  readonly asOfMs: number;
  /** Early window length (default 14 days). */
  readonly earlyMs?: number;
  /** Outcome window length after it (default 28 days). */
  readonly withinMs?: number;
  readonly cohortFromMs?: number | null;
  readonly cohortToMs?: number | null;
  /** Only members of this snapshot (`--segment`, taken as of asOf). */
  readonly memberSnapshotId?: number | null;
  /** Candidate events; default every declared event but the outcome and `$exposure`. */
  readonly events?: readonly string[];
  readonly thresholds?: readonly number[];
  readonly minUsers?: number;
  readonly fdr?: number;
  /** Purchase settings with a value: turns the revenue section on. */
  readonly purchase?: PurchaseSettings | null;
  readonly onStep?: (step: 'counting' | 'statistics') => void;
}

export interface DriverSide {
  readonly users: number;
  readonly outcomes: number;
  readonly rate: number;
}

export interface DriverCandidate {
  readonly event: string;
  readonly atLeast: number;
  readonly table: TwoByTwo;
  readonly with: DriverSide;
  readonly without: DriverSide;
  readonly lift: number | null;
  readonly liftCi: Interval | null;
  readonly difference: number;
  readonly differenceCi: Interval;
  readonly phi: number;
  readonly phiCi: Interval;
  readonly test: TableTest;
  readonly chiSquare: number;
  readonly pValue: number;
  readonly qValue: number;
  readonly significant: boolean;
}

export interface RevenueSide {
  readonly users: number;
  readonly mean: number;
  readonly payers: number;
  readonly payerShare: number;
}

export interface RevenueCandidate {
  readonly event: string;
  readonly atLeast: number;
  readonly with: RevenueSide;
  readonly without: RevenueSide;
  readonly difference: number;
  /** null when both sides have no variance (Welch is undefined). */
  readonly differenceCi: Interval | null;
  /** mean with / mean without; null unless the mean without is positive. */
  readonly ratio: number | null;
  readonly ratioCi: Interval | null;
  readonly t: number | null;
  readonly df: number | null;
  /** 1 when Welch is undefined. */
  readonly pValue: number;
  readonly qValue: number;
  readonly significant: boolean;
}

export interface RevenueSection {
  readonly event: string;
  readonly value: string;
  readonly quantity: string | null;
  readonly users: number;
  readonly mean: number;
  readonly payers: number;
  readonly intervalLevel: number;
  readonly significant: number;
  readonly candidates: readonly RevenueCandidate[];
}

export interface SkippedCandidate {
  readonly event: string;
  readonly atLeast: number;
  readonly reason: 'too-few-with' | 'too-few-without' | 'same-split';
}

export interface DriversResult {
  readonly asOfMs: number;
  readonly outcome: DriverOutcome;
  readonly earlyMs: number;
  readonly withinMs: number;
  /**
   * First seen in [fromMs, lastMs], both inclusive: lastMs is the latest instant whose
   * windows are over by asOf (asOf - early - within), or cohortTo less 1 ms when earlier.
   */
  readonly cohort: { readonly fromMs: number | null; readonly lastMs: number };
  readonly thresholds: readonly number[];
  readonly minUsers: number;
  readonly fdr: number;
  /** Cohort users (including those already converted). */
  readonly users: number;
  /** Conversion: users who did the outcome event in the early window (left out). */
  readonly alreadyConverted: number;
  /** Users analysed. */
  readonly analysed: number;
  readonly outcomes: number;
  readonly outcomeRate: number;
  /** 1 - the alpha every interval is built at (FCR-adjusted). */
  readonly intervalLevel: number;
  readonly significant: number;
  /** Ranked by |phi|, then p-value. */
  readonly candidates: readonly DriverCandidate[];
  readonly skipped: readonly SkippedCandidate[];
  readonly revenue: RevenueSection | null;
  /** Why nothing was tested, when so. */
  readonly reason: string | null;
  readonly note: string;
}

interface Settings {
  readonly scope: DriversScope;
  readonly minUsers: number;
  readonly fdr: number;
}

function invalid(message: string, path: string, expected: string): never {
  throw new StrataError('INPUT_INVALID', message, [{ path, message: expected }]);
}

function checkEvent(plan: TrackingPlan, event: string, path: string): void {
  if (Object.hasOwn(plan.events, event)) return;
  const near = closest(event, Object.keys(plan.events));
  invalid(`${path}: ${quote(event)} is not an event of the tracking plan${near ? ` (did you mean ${quote(near)}?)` : ''}`, path, `one of ${Object.keys(plan.events).map(quote).join(', ') || '(none declared)'}`);
}

function checkPositive(value: number, path: string, integer: boolean): void {
  if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value)))) {
    invalid(`${path}: expected a positive ${integer ? 'integer' : 'number'}, got ${value}`, path, `a positive ${integer ? 'integer' : 'number'}`);
  }
}

/** Options checked against the plan and completed with defaults. */
function settingsOf(plan: TrackingPlan, o: DriversOptions): Settings {
  const outcomeEvent = o.outcome.kind === 'conversion' ? o.outcome.event : null;
  if (outcomeEvent !== null) checkEvent(plan, outcomeEvent, 'outcome');
  const earlyMs = o.earlyMs ?? DEFAULT_EARLY_MS;
  const withinMs = o.withinMs ?? DEFAULT_WITHIN_MS;
  checkPositive(earlyMs, 'first', false);
  checkPositive(withinMs, 'within', false);
  const thresholds = [...new Set(o.thresholds ?? DEFAULT_THRESHOLDS)].sort((x, y) => x - y);
  if (thresholds.length === 0) invalid('thresholds: expected at least one', 'thresholds', 'positive integers such as 1,2,3,5,10');
  for (const n of thresholds) checkPositive(n, 'thresholds', true);
  const minUsers = o.minUsers ?? DEFAULT_MIN_USERS;
  checkPositive(minUsers, 'min-users', true);
  const fdr = o.fdr ?? DEFAULT_FDR;
  if (!(fdr > 0 && fdr < 1)) invalid(`fdr: expected a rate in (0, 1), got ${fdr}`, 'fdr', 'a false discovery rate such as 0.05');
  const events = o.events ?? Object.keys(plan.events).filter((e) => e !== outcomeEvent && !isSystemEvent(e));
  for (const e of events) checkEvent(plan, e, 'events');
  const purchase = o.purchase ?? null;
  if (purchase !== null) {
    checkEvent(plan, purchase.event, 'purchase.event');
    if (purchase.value === null) invalid('revenue needs purchase settings with a value (rfm.value or --value)', 'purchase.value', 'a number property of the purchase event');
  }
  return {
    scope: {
      asOfMs: o.asOfMs,
      earlyMs,
      withinMs,
      cohortFromMs: o.cohortFromMs ?? null,
      cohortToMs: o.cohortToMs ?? null,
      memberSnapshotId: o.memberSnapshotId ?? null,
      outcomeEvent,
      events,
      thresholds,
      purchase,
    },
    minUsers,
    fdr,
  };
}

/** The parts' rows added up per (early, outcome) group. */
interface Group {
  n: number;
  readonly sums: Map<string, number>;
}

function addRows(rows: readonly Row[]): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const row of rows) {
    const key = `${toNumber(row.early)}:${toNumber(row.outcome)}`;
    const g = groups.get(key) ?? { n: 0, sums: new Map<string, number>() };
    groups.set(key, g);
    g.n += toNumber(row.n);
    for (const [column, value] of Object.entries(row)) {
      if (column === 'early' || column === 'outcome' || column === 'n') continue;
      g.sums.set(column, (g.sums.get(column) ?? 0) + toNumber(value));
    }
  }
  return groups;
}

/** Sums over the analysed users, split by outcome. */
class Analysed {
  constructor(
    readonly converted: Group,
    readonly notConverted: Group,
  ) {}
  get users(): number {
    return this.converted.n + this.notConverted.n;
  }
  sum(column: string): number {
    return (this.converted.sums.get(column) ?? 0) + (this.notConverted.sums.get(column) ?? 0);
  }
  table(i: number, j: number): TwoByTwo {
    const a = this.converted.sums.get(COLUMNS.with(i, j)) ?? 0;
    const b = this.notConverted.sums.get(COLUMNS.with(i, j)) ?? 0;
    return { a, b, c: this.converted.n - a, d: this.notConverted.n - b };
  }
}

const empty = (): Group => ({ n: 0, sums: new Map() });

interface Split {
  readonly event: string;
  readonly eventIndex: number;
  readonly atLeast: number;
  readonly thresholdIndex: number;
  readonly table: TwoByTwo;
}

/** The candidate splits worth testing (see the header), and why the others were not. */
function candidateSplits(s: Settings, data: Analysed): { splits: Split[]; skipped: SkippedCandidate[] } {
  const splits: Split[] = [];
  const skipped: SkippedCandidate[] = [];
  s.scope.events.forEach((event, i) => {
    let previous = -1;
    s.scope.thresholds.forEach((atLeast, j) => {
      const table = data.table(i, j);
      const users = table.a + table.b;
      if (users < s.minUsers) skipped.push({ event, atLeast, reason: 'too-few-with' });
      else if (data.users - users < s.minUsers) skipped.push({ event, atLeast, reason: 'too-few-without' });
      else if (users === previous) skipped.push({ event, atLeast, reason: 'same-split' });
      else {
        splits.push({ event, eventIndex: i, atLeast, thresholdIndex: j, table });
        previous = users;
      }
    });
  });
  return { splits, skipped };
}

function side(users: number, outcomes: number): DriverSide {
  return { users, outcomes, rate: users === 0 ? 0 : outcomes / users };
}

function rankByPhi(a: DriverCandidate, b: DriverCandidate): number {
  return Math.abs(b.phi) - Math.abs(a.phi) || a.pValue - b.pValue || (a.event < b.event ? -1 : a.event > b.event ? 1 : a.atLeast - b.atLeast);
}

function testCandidates(splits: readonly Split[], fdr: number): { candidates: DriverCandidate[]; intervalLevel: number } {
  if (splits.length === 0) return { candidates: [], intervalLevel: 1 - fdr };
  // p-values do not depend on the interval level; the level depends on BH's rejections.
  const pValues = splits.map((sp) => tableStatistics(sp.table, fdr).pValue);
  const adjustment = adjustPValues(pValues, fdr, 'benjamini-hochberg');
  const candidates = splits.map((sp, k): DriverCandidate => {
    const st = tableStatistics(sp.table, adjustment.intervalAlpha);
    const t = sp.table;
    return {
      event: sp.event,
      atLeast: sp.atLeast,
      table: t,
      with: side(t.a + t.b, t.a),
      without: side(t.c + t.d, t.c),
      lift: st.lift,
      liftCi: st.liftCi,
      difference: st.difference,
      differenceCi: st.differenceCi,
      phi: st.phi,
      phiCi: st.phiCi,
      test: st.test,
      chiSquare: st.chiSquare,
      pValue: st.pValue,
      qValue: adjustment.pValues[k]!,
      significant: adjustment.rejected[k]!,
    };
  });
  return { candidates: candidates.sort(rankByPhi), intervalLevel: 1 - adjustment.intervalAlpha };
}

interface RevenueSums {
  readonly n: number;
  readonly sum: number;
  readonly squares: number;
  readonly payers: number;
}

function revenueSide(x: RevenueSums): RevenueSide {
  return { users: x.n, mean: x.n === 0 ? 0 : x.sum / x.n, payers: x.payers, payerShare: x.n === 0 ? 0 : x.payers / x.n };
}

function welch(without: RevenueSums, withIt: RevenueSums, alpha: number, difference: 'absolute' | 'relative') {
  return welchTest(
    { type: 'mean', n: without.n, sum: without.sum, sumSquares: without.squares },
    { type: 'mean', n: withIt.n, sum: withIt.sum, sumSquares: withIt.squares },
    { difference, alpha, sides: 'two' },
  );
}

function revenueSection(s: Settings, data: Analysed, splits: readonly Split[]): RevenueSection {
  const p = s.scope.purchase!;
  const total: RevenueSums = { n: data.users, sum: data.sum(COLUMNS.totalRevenue), squares: data.sum(COLUMNS.totalRevenueSquares), payers: data.sum(COLUMNS.totalPayers) };
  const sides = splits.map((sp) => {
    const [i, j] = [sp.eventIndex, sp.thresholdIndex];
    const withIt: RevenueSums = { n: sp.table.a + sp.table.b, sum: data.sum(COLUMNS.revenue(i, j)), squares: data.sum(COLUMNS.revenueSquares(i, j)), payers: data.sum(COLUMNS.payers(i, j)) };
    // The side without is the total less the side with (sums of squares of non-negative
    // revenue subtract without cancellation worth noting: both are sums of positive terms).
    const without: RevenueSums = { n: total.n - withIt.n, sum: total.sum - withIt.sum, squares: Math.max(0, total.squares - withIt.squares), payers: total.payers - withIt.payers };
    return { sp, withIt, without };
  });
  const pValues = sides.map(({ withIt, without }) => {
    const r = welch(without, withIt, s.fdr, 'absolute');
    return isDegenerate(r) ? 1 : r.pValue;
  });
  const adjustment = pValues.length === 0 ? null : adjustPValues(pValues, s.fdr, 'benjamini-hochberg');
  const alpha = adjustment?.intervalAlpha ?? s.fdr;
  const candidates = sides.map(({ sp, withIt, without }, k): RevenueCandidate => {
    const abs = welch(without, withIt, alpha, 'absolute');
    const rel = welch(without, withIt, alpha, 'relative');
    const w = revenueSide(withIt);
    const wo = revenueSide(without);
    return {
      event: sp.event,
      atLeast: sp.atLeast,
      with: w,
      without: wo,
      difference: w.mean - wo.mean,
      differenceCi: isDegenerate(abs) ? null : (abs.ci as Interval),
      // A ratio of means reads as "x times the revenue" only when the mean without is positive.
      ratio: wo.mean > 0 ? w.mean / wo.mean : null,
      ratioCi: wo.mean <= 0 || isDegenerate(rel) ? null : [1 + (rel.ci[0] as number), 1 + (rel.ci[1] as number)],
      t: isDegenerate(abs) ? null : abs.t,
      df: isDegenerate(abs) ? null : abs.df,
      pValue: pValues[k]!,
      qValue: adjustment!.pValues[k]!,
      significant: adjustment!.rejected[k]!,
    };
  });
  candidates.sort((a, b) => a.pValue - b.pValue || Math.abs(b.difference) - Math.abs(a.difference) || (a.event < b.event ? -1 : a.event > b.event ? 1 : a.atLeast - b.atLeast));
  const revenue = revenueSide(total);
  return {
    event: p.event,
    value: p.value!,
    quantity: p.quantity,
    users: total.n,
    mean: revenue.mean,
    payers: total.payers,
    intervalLevel: 1 - alpha,
    significant: candidates.filter((c) => c.significant).length,
    candidates,
  };
}

/**
 * Candidate events per query: each adds up to 4 x thresholds aggregates, and ClickHouse
 * parses at most max_query_size (256 KiB by default) of a query's text.
 */
export const EVENTS_PER_QUERY = 40;

/**
 * Run the per-user pass on every part, EVENTS_PER_QUERY candidate events at a time, and
 * return the rows: every query gives the same group sizes and totals, so only the first
 * query's are kept and the others add their own candidate columns.
 */
export async function driverCounts(store: EventStore, scope: DriversScope, eventsPerQuery = EVENTS_PER_QUERY): Promise<Row[]> {
  const rows: Row[] = [];
  const chunks = Math.max(1, Math.ceil(scope.events.length / eventsPerQuery));
  for (let k = 0; k < chunks; k++) {
    const events = scope.events.slice(k * eventsPerQuery, (k + 1) * eventsPerQuery);
    const part = await store.queryByUser((d) => driversSql(d, { ...scope, events, firstEventIndex: k * eventsPerQuery }));
    rows.push(...(k === 0 ? part : part.map(candidateColumnsOnly)));
  }
  return rows;
}

const TOTALS: ReadonlySet<string> = new Set(['n', COLUMNS.totalRevenue, COLUMNS.totalRevenueSquares, COLUMNS.totalPayers]);

function candidateColumnsOnly(row: Row): Row {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, TOTALS.has(k) ? 0 : v]));
}

/**
 * Which early behaviours predict conversion or retention, and go with revenue (see the
 * header for the exact definitions).
 * @example await discoverDrivers(store, config.plan, { outcome: { kind: 'conversion', event: 'upgrade' }, asOfMs: Date.now() })
 */
export async function discoverDrivers(store: EventStore, plan: TrackingPlan, options: DriversOptions): Promise<DriversResult> {
  const s = settingsOf(plan, options);
  options.onStep?.('counting');
  const groups = addRows(await driverCounts(store, s.scope));
  options.onStep?.('statistics');
  const alreadyConverted = (groups.get('1:0')?.n ?? 0) + (groups.get('1:1')?.n ?? 0);
  const data = new Analysed(groups.get('0:1') ?? empty(), groups.get('0:0') ?? empty());
  const outcomes = data.converted.n;
  let reason: string | null = null;
  if (data.users === 0) reason = 'no users in the cohort: nobody was first seen early enough for both windows to end by asOf';
  else if (outcomes === 0 || outcomes === data.users) reason = `${outcomes === 0 ? 'no' : 'every'} analysed user reached the outcome, so no behaviour can separate them`;
  const { splits, skipped } = data.users === 0 ? { splits: [], skipped: [] } : candidateSplits(s, data);
  // Revenue needs no variation in the outcome; the outcome's tests do.
  const { candidates, intervalLevel } = testCandidates(reason === null ? splits : [], s.fdr);
  const sc = s.scope;
  const mature = latestMatureFirstMs(sc);
  return {
    asOfMs: sc.asOfMs,
    outcome: options.outcome,
    earlyMs: sc.earlyMs,
    withinMs: sc.withinMs,
    cohort: { fromMs: sc.cohortFromMs, lastMs: sc.cohortToMs === null ? mature : Math.min(sc.cohortToMs - 1, mature) },
    thresholds: sc.thresholds,
    minUsers: s.minUsers,
    fdr: s.fdr,
    users: data.users + alreadyConverted,
    alreadyConverted,
    analysed: data.users,
    outcomes,
    outcomeRate: data.users === 0 ? 0 : outcomes / data.users,
    intervalLevel,
    significant: candidates.filter((c) => c.significant).length,
    candidates,
    skipped,
    revenue: sc.purchase === null || data.users === 0 ? null : revenueSection(s, data, splits),
    reason: reason ?? (splits.length === 0 ? `no behaviour splits the analysed users with at least ${s.minUsers} on each side` : null),
    note: ASSOCIATION_NOTE,
  };
}
