/**
 * `computeExperimentData`: an experiment's exposures and the sufficient statistics of its
 * metrics per variant (and per breakdown group) as of an instant, for the statistics.
 * Every number is computed in the store (metric-sql.ts) and summed over the store's parts
 * here; groups and restrictions are bound as of the experiment's start (pre-treatment).
 */
import { resolveBreakdown, bindBreakdown, defaultGroup, MEMBER_GROUP, NON_MEMBER_GROUP } from '../../analysis/breakdown.js';
import { defaultLifecycleModel, type LifecycleModel } from '../../analysis/lifecycle/lifecycle-model.js';
import { NOT_YET_SEEN } from '../../analysis/lifecycle/lifecycle-report.js';
import { stageConditionsFor } from '../../analysis/lifecycle/lifecycle-report.js';
import { scoreRunsFor } from '../../segments/registry/score-runs.js';
import { StrataError } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { SegmentRegistry } from '../../segments/registry/index.js';
import { byteOrder, toNumber } from '../../segments/registry/registry-sql.js';
import type { EventStore } from '../../store/event-store.js';
import type { CovariateSums, MetricStats } from '../stats/sufficient.js';
import { variantSql } from '../design/assignment-sql.js';
import type { ExperimentDefinition, StoredExperiment } from '../design/types.js';
import { planMetrics, selectMetrics, type MetricClamp, type MetricPlan } from './metric-plan.js';
import { EXPOSURE_PLAN_FIX, exposurePlanProblems } from '../design/exposure.js';
import {
  MULTIPLE_VARIANT,
  countsInMetricPass,
  exposureCountsSql,
  metricSumsSql,
  sumColumns,
  unknownVariantsSql,
  type ExposureScope,
  type GroupSource,
} from './metric-sql.js';
import type { ExperimentData, ExposureCount, MetricGroupStats, VariantStats } from './types.js';

/** The breakdown name that splits by lifecycle stage as of start. */
export const LIFECYCLE_BREAKDOWN = 'lifecycle';
/** How `unknownVariants` names `$exposure` events without a variant property. */
export const MISSING_VARIANT = '(missing)';

export interface ExperimentDataOptions {
  readonly asOfMs: number;
  readonly plan: TrackingPlan;
  /**
   * `--by NAME`: `lifecycle` (the stage as of start), or trait:T, segment:KEY, a bare trait
   * or segment name (analysis/breakdown.ts; `trait:lifecycle` reaches a trait of that name),
   * bound as of start.
   */
  readonly by?: string;
  /** `--segment KEY`: only members as of start. */
  readonly segment?: string;
  /** The lifecycle model for `by: lifecycle` (the registry's, else the default model). */
  readonly lifecycle?: LifecycleModel;
  /** Metric keys; default: primary, secondary and guardrails, deduplicated. */
  readonly metrics?: readonly string[];
  /** Per metric key: clamp each user's value before summing (private releases bound contributions in SQL). */
  readonly clamps?: Readonly<Record<string, MetricClamp>>;
}

/**
 * Exposures and per-variant sufficient statistics of an experiment's metrics.
 * @example await computeExperimentData(store, registry, stored, { asOfMs: Date.now(), plan })
 */
export async function computeExperimentData(
  store: EventStore,
  segments: SegmentRegistry,
  stored: StoredExperiment,
  options: ExperimentDataOptions,
): Promise<ExperimentData> {
  const def = stored.definition;
  if (!Number.isSafeInteger(options.asOfMs)) throw new StrataError('INPUT_INVALID', `asOf must be whole epoch milliseconds, got ${options.asOfMs}`);
  checkExposurePlan(def, options.plan);
  const clamps = options.clamps ?? {};
  const plans = planMetrics(selectMetrics(def, options.metrics), options.plan).map((p) => (Object.hasOwn(clamps, p.key) ? { ...p, clamp: clamps[p.key]! } : p));
  // Nobody is exposed before the start: no snapshot is taken for an instant not reached yet.
  const empty = def.startMs >= Math.min(options.asOfMs, def.stopMs ?? options.asOfMs);
  const { groups, label } = await groupSource(store, segments, def, options, !empty);
  const memberSnapshotId = options.segment === undefined || empty ? null : (await segments.snapshot(options.segment, { asOfMs: def.startMs })).snapshotId;
  const scope: ExposureScope = {
    definition: def,
    asOfMs: options.asOfMs,
    groups,
    memberSnapshotId,
    targetingSnapshotIds: def.exposure === 'assignment' && !empty ? await targetingSnapshots(segments, def) : [],
    assignedVariant: def.exposure === 'assignment' ? (d, userIdExpr) => variantSql(d, def, userIdExpr) : null,
  };
  // One pass gives the sums, and on engines where it can, the exposure counts too.
  const onePass = plans.length > 0 && countsInMetricPass(store.dialect);
  const sums = empty || plans.length === 0 ? [] : await store.queryByUser((d) => metricSumsSql(d, scope, plans));
  const counts = empty ? [] : onePass ? sums : await store.queryByUser((d) => exposureCountsSql(d, scope, plans));
  const unknown = empty || def.exposure !== 'event' ? [] : await store.queryByUser((d) => unknownVariantsSql(d, scope));
  return assemble(stored, options.asOfMs, plans, groups, label, counts, unknown, sums);
}

/** Event exposures read the `$exposure` event's `experiment` and `variant` properties: the plan must declare them. */
function checkExposurePlan(def: ExperimentDefinition, plan: TrackingPlan): void {
  if (def.exposure !== 'event') return;
  const problems = exposurePlanProblems(plan);
  if (problems.length > 0) {
    throw new StrataError('INPUT_INVALID', `experiment ${def.key}: ${problems[0]}`, problems.map((message) => ({ path: 'plan.events', message: `${message}; ${EXPOSURE_PLAN_FIX}` })));
  }
}

async function groupSource(
  store: EventStore,
  segments: SegmentRegistry,
  def: ExperimentDefinition,
  options: ExperimentDataOptions,
  bind: boolean,
): Promise<{ groups: GroupSource | null; label: string | null }> {
  if (options.by === undefined) return { groups: null, label: null };
  if (options.by === LIFECYCLE_BREAKDOWN) {
    const model = options.lifecycle ?? segments.context.lifecycle ?? defaultLifecycleModel();
    const conditions = await stageConditionsFor(store, { plan: options.plan, lifecycle: model });
    // Stages bound as of start, as every breakdown: the scoring runs read are those as of start.
    const scoreRuns = await scoreRunsFor(store, conditions.map((c) => c.ir), def.startMs);
    return { groups: { kind: 'lifecycle', conditions, fallbackKey: model.fallback.key, scoreRuns }, label: LIFECYCLE_BREAKDOWN };
  }
  const keys = (await segments.list()).map((s) => s.key);
  const resolved = resolveBreakdown(options.by, options.plan, keys);
  const label = resolved.kind === 'trait' ? resolved.trait : `segment ${resolved.key}`;
  if (!bind) return { groups: null, label };
  return { groups: { kind: 'breakdown', breakdown: await bindBreakdown(resolved, segments, def.startMs) }, label };
}

async function targetingSnapshots(segments: SegmentRegistry, def: ExperimentDefinition): Promise<number[]> {
  if (def.targeting.length === 0) return [];
  const snapshots = await segments.snapshots(def.targeting, { asOfMs: def.startMs });
  return def.targeting.map((k) => snapshots.get(k)!.snapshotId);
}

type Row = Record<string, unknown>;

function assemble(
  stored: StoredExperiment,
  asOfMs: number,
  plans: readonly MetricPlan[],
  groups: GroupSource | null,
  label: string | null,
  countRows: readonly Row[],
  unknownRows: readonly Row[],
  sumRows: readonly Row[],
): ExperimentData {
  const def = stored.definition;
  const variants = def.variants.map((v) => v.key);
  const cell = (grp: unknown, xv: unknown) => `${String(grp)}\u0000${String(xv)}`;
  const counts = addRows(countRows, (r) => cell(r.grp, r.xv));
  const sums = addRows(sumRows, (r) => cell(r.grp, r.xv));
  let multipleExposures = 0;
  const groupUsers = new Map<string, number>();
  for (const [key, row] of counts) {
    const [grp, xv] = key.split('\u0000') as [string, string];
    if (xv === MULTIPLE_VARIANT) multipleExposures += row.n ?? 0;
    else groupUsers.set(grp, (groupUsers.get(grp) ?? 0) + (row.n ?? 0));
  }
  const groupNames = groups === null ? [] : orderGroups(groups, groupUsers);
  const scopes: { group: string | null; grps: readonly string[] }[] = [{ group: null, grps: groups === null ? [''] : groupNames }];
  for (const g of groupNames) scopes.push({ group: g, grps: [g] });

  const total = (grps: readonly string[], xv: string, table: Map<string, Record<string, number>>, column: string) =>
    grps.reduce((a, g) => a + (table.get(cell(g, xv))?.[column] ?? 0), 0);
  const exposures: ExposureCount[] = scopes.flatMap(({ group, grps }) => variants.map((variant) => ({ group, variant, users: total(grps, variant, counts, 'n') })));
  const metrics: MetricGroupStats[] = plans.flatMap((m, i) =>
    scopes.map(({ group, grps }) => {
      const variantStats: VariantStats[] = variants.map((variant) => {
        const get = (c: string) => total(grps, variant, sums, c);
        return { variant, stats: metricStats(m, i, total(grps, variant, counts, `mat_${i}`), get) };
      });
      const immature = variants.reduce((a, v) => a + total(grps, v, counts, 'n') - total(grps, v, counts, `mat_${i}`), 0);
      return { metric: m.key, group, variants: variantStats, immature };
    }),
  );
  const unknownVariants: Record<string, number> = {};
  for (const r of unknownRows) {
    const name = r.uv === null || r.uv === undefined ? MISSING_VARIANT : String(r.uv);
    unknownVariants[name] = (unknownVariants[name] ?? 0) + toNumber(r.n);
  }
  return {
    experiment: def.key,
    version: stored.version,
    asOfMs,
    breakdown: label,
    groups: groupNames,
    exposures,
    multipleExposures,
    unknownVariants,
    metrics,
  };
}

/** Sum the numeric columns of per-part rows by a key. */
function addRows(rows: readonly Row[], key: (r: Row) => string): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const r of rows) {
    const k = key(r);
    const acc = out.get(k) ?? {};
    for (const [c, v] of Object.entries(r)) if (c !== 'grp' && c !== 'xv') acc[c] = (acc[c] ?? 0) + toNumber(v);
    out.set(k, acc);
  }
  return out;
}

function metricStats(m: MetricPlan, i: number, n: number, get: (column: string) => number): MetricStats {
  const s = (name: string) => get(`s${i}_${name}`);
  const has = new Set(sumColumns(m, i));
  const covariate: CovariateSums | undefined = has.has(`s${i}_x`)
    ? { sum: s('x'), sumSquares: s('xx'), sumProducts: s('xy'), ...(has.has(`s${i}_xd`) ? { sumProductsDenominator: s('xd') } : {}) }
    : undefined;
  const withCovariate = covariate === undefined ? {} : { covariate };
  if (m.stats === 'proportion') return { type: 'proportion', n, sum: s('y'), ...withCovariate };
  if (m.stats === 'mean') return { type: 'mean', n, sum: s('y'), sumSquares: s('yy'), ...withCovariate };
  return {
    type: 'ratio',
    n,
    numerator: { sum: s('y'), sumSquares: s('yy') },
    denominator: { sum: s('d'), sumSquares: s('dd') },
    sumProducts: s('yd'),
    ...withCovariate,
  };
}

/** Segment: member, non-member; lifecycle: model order, then not yet seen; trait: most users first, no value last. */
function orderGroups(groups: GroupSource, users: ReadonlyMap<string, number>): string[] {
  const present = [...users.keys()];
  if (groups.kind === 'lifecycle') {
    const order = [...groups.conditions.map((c) => c.key), groups.fallbackKey, NOT_YET_SEEN];
    return order.filter((g) => users.has(g));
  }
  const b = groups.breakdown;
  if (b.kind === 'segment') return [MEMBER_GROUP, NON_MEMBER_GROUP].filter((g) => users.has(g));
  const none = defaultGroup(b);
  return present.sort((a, c) => (a === none ? 1 : 0) - (c === none ? 1 : 0) || users.get(c)! - users.get(a)! || byteOrder(a, c));
}
