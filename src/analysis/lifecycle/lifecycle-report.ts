/**
 * Users per lifecycle stage (`lifecycle report`) and the transition matrix between two
 * instants (`lifecycle flow`), computed in the store with one query per part.
 *
 * The stages' own conditions are compiled as ONE segment batch (one boolean column per
 * stage, shared measures computed once); a CASE in priority order picks each user's stage
 * (the first whose condition holds, else the fallback), and a GROUP BY counts. The query
 * is per user (`store.queryByUser`): on a cluster each shard answers for its own users and
 * the counts are summed here. Only counts leave the store.
 *
 * SQL for both engines (registry-sql.ts lists the limits): one JOIN per SELECT, on
 * user_id, `count()`, no CTEs of our own (the compiled batch uses them where the dialect
 * has them, inside its own subquery).
 */
import { StrataError } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { compileSegmentBatch } from '../../segments/compile/index.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { modelsUsed } from '../../segments/ir/nodes.js';
import { checkConditionDocument } from '../../segments/language/validate-segment.js';
import { asSubquery, byteOrder, sumByKey } from '../../segments/registry/registry-sql.js';
import { scoreRunsFor, withModelCatalogue } from '../../segments/registry/score-runs.js';
import type { EventStore } from '../../store/event-store.js';
import { formatInstant } from '../../time/time.js';
import { breakdownRelation, defaultGroup, memberFilter, type BoundBreakdown } from '../breakdown.js';
import type { LifecycleModel } from './lifecycle-model.js';
import { lifecycleStageConditions, type StageIR } from './lifecycle-stages.js';

/** The row of the flow matrix for users not in the population at the first instant. */
export const NOT_YET_SEEN = '(not yet seen)';

/** What the analyses need from the workspace configuration. */
export interface LifecycleSettings {
  readonly plan: TrackingPlan;
  readonly lifecycle: LifecycleModel;
}

/** `--segment KEY`: the members of a snapshot (from `registry.snapshot(key, {asOfMs})`). */
export interface SegmentRestriction {
  readonly key: string;
  readonly snapshotId: number;
}

export interface LifecycleReportOptions {
  readonly asOfMs: number;
  /** Users per stage within each group of a bound breakdown (src/analysis/breakdown.ts). */
  readonly by?: BoundBreakdown;
  /** Only the members of this snapshot (take it at the same asOf). */
  readonly segment?: SegmentRestriction;
}

export interface StageCount {
  readonly stage: string;
  readonly name: string;
  readonly users: number;
  /** users / the population counted (of the group, with a breakdown); 0 when it is empty. */
  readonly share: number;
}

export interface LifecycleReportGroup {
  readonly group: string;
  readonly population: number;
  readonly stages: readonly StageCount[];
}

export interface LifecycleReport {
  readonly asOf: string;
  readonly segment: string | null;
  /** Users counted: the population as of asOf (members of the segment with --segment). */
  readonly population: number;
  /** Every stage of the model in priority order, the fallback last, zero counts included. */
  readonly stages: readonly StageCount[];
  readonly by: { readonly label: string; readonly groups: readonly LifecycleReportGroup[] } | null;
}

export interface LifecycleFlowOptions {
  readonly fromMs: number;
  readonly toMs: number;
  /** Only these users: members as of `fromMs` (take the snapshot there). */
  readonly segment?: SegmentRestriction;
}

export interface FlowCell {
  readonly stage: string;
  readonly users: number;
  /** users / the row's total; 0 for an empty row. */
  readonly share: number;
}

export interface FlowRow {
  /** A stage at `from`, or NOT_YET_SEEN. */
  readonly stage: string;
  readonly name: string;
  readonly users: number;
  readonly to: readonly FlowCell[];
}

export interface LifecycleFlow {
  readonly from: string;
  readonly to: string;
  readonly segment: string | null;
  /** The stages in model order, fallback last: the columns, and the rows before NOT_YET_SEEN. */
  readonly stages: readonly { readonly key: string; readonly name: string }[];
  readonly rows: readonly FlowRow[];
  /** Users per stage at `to` (the column totals). */
  readonly totals: readonly FlowCell[];
  /** Users counted: the population at `to` (restricted with --segment). */
  readonly users: number;
}

/**
 * Users per stage as of asOf, optionally per group of a breakdown.
 * @example await lifecycleReport(store, config, { asOfMs: Date.parse('2025-06-02') })
 */
export async function lifecycleReport(store: EventStore, settings: LifecycleSettings, options: LifecycleReportOptions): Promise<LifecycleReport> {
  checkInstant(options.asOfMs, 'asOf');
  const conditions = await stageConditionsFor(store, settings);
  const fallback = settings.lifecycle.fallback;
  const scoreRuns = await scoreRunsFor(store, irsOf(conditions), options.asOfMs);
  const rows = await store.queryByUser((d) => reportSql(d, conditions, fallback.key, options, scoreRuns));
  const stageList = [...conditions.map((c) => ({ key: c.key, name: c.name })), { key: fallback.key, name: fallback.name }];
  const counts = sumByKey(rows, (r) => `${String(r.stage)}\u0000${options.by ? String(r.grp) : ''}`, 'n');
  const countsFor = (group: string): StageCount[] => {
    const users = stageList.map((s) => counts.get(`${s.key}\u0000${group}`) ?? 0);
    const total = users.reduce((a, b) => a + b, 0);
    return stageList.map((s, i) => ({ stage: s.key, name: s.name, users: users[i]!, share: total > 0 ? users[i]! / total : 0 }));
  };
  let stages: StageCount[];
  let by: LifecycleReport['by'] = null;
  if (options.by) {
    const groupNames = [...new Set(rows.map((r) => String(r.grp)))];
    const groups = groupNames.map((group) => {
      const s = countsFor(group);
      return { group, population: s.reduce((a, c) => a + c.users, 0), stages: s };
    });
    const none = defaultGroup(options.by);
    groups.sort((a, b) => (a.group === none ? 1 : 0) - (b.group === none ? 1 : 0) || b.population - a.population || byteOrder(a.group, b.group));
    const overall = stageList.map((s) => groups.reduce((sum, g) => sum + g.stages.find((x) => x.stage === s.key)!.users, 0));
    const total = overall.reduce((a, b) => a + b, 0);
    stages = stageList.map((s, i) => ({ stage: s.key, name: s.name, users: overall[i]!, share: total > 0 ? overall[i]! / total : 0 }));
    by = { label: options.by.label, groups };
  } else {
    stages = countsFor('');
  }
  return {
    asOf: formatInstant(options.asOfMs),
    segment: options.segment?.key ?? null,
    population: stages.reduce((a, s) => a + s.users, 0),
    stages,
    by,
  };
}

/**
 * The transition matrix: users counted by (stage at fromMs, stage at toMs). Users of the
 * population at toMs who were not in it at fromMs are in the NOT_YET_SEEN row.
 * @example await lifecycleFlow(store, config, { fromMs: Date.parse('2025-05-01'), toMs: Date.parse('2025-06-01') })
 */
export async function lifecycleFlow(store: EventStore, settings: LifecycleSettings, options: LifecycleFlowOptions): Promise<LifecycleFlow> {
  checkInstant(options.fromMs, 'from');
  checkInstant(options.toMs, 'to');
  if (!(options.fromMs < options.toMs)) {
    throw new StrataError('INPUT_INVALID', `the flow runs forward in time: --from (${formatInstant(options.fromMs)}) must be before --to (${formatInstant(options.toMs)})`, [
      { path: '--from', message: 'expected an instant before --to' },
    ]);
  }
  const conditions = await stageConditionsFor(store, settings);
  const fallback = settings.lifecycle.fallback;
  const runs = {
    from: await scoreRunsFor(store, irsOf(conditions), options.fromMs),
    to: await scoreRunsFor(store, irsOf(conditions), options.toMs),
  };
  const rows = await store.queryByUser((d) => flowSql(d, conditions, fallback.key, options, runs));
  const stageList = [...conditions.map((c) => ({ key: c.key, name: c.name })), { key: fallback.key, name: fallback.name }];
  const counts = sumByKey(rows, (r) => `${String(r.stage_from)}\u0000${String(r.stage_to)}`, 'n');
  const rowKeys = [...stageList, { key: NOT_YET_SEEN, name: 'Not in the population yet' }];
  const flowRows: FlowRow[] = rowKeys.map((r) => {
    const cells = stageList.map((c) => counts.get(`${r.key}\u0000${c.key}`) ?? 0);
    const users = cells.reduce((a, b) => a + b, 0);
    return { stage: r.key, name: r.name, users, to: stageList.map((c, i) => ({ stage: c.key, users: cells[i]!, share: users > 0 ? cells[i]! / users : 0 })) };
  });
  const users = flowRows.reduce((a, r) => a + r.users, 0);
  const totals = stageList.map((c, i) => {
    const n = flowRows.reduce((a, r) => a + r.to[i]!.users, 0);
    return { stage: c.key, users: n, share: users > 0 ? n / users : 0 };
  });
  return {
    from: formatInstant(options.fromMs),
    to: formatInstant(options.toMs),
    segment: options.segment?.key ?? null,
    stages: stageList,
    rows: flowRows,
    totals,
    users,
  };
}

/**
 * `(user_id, <column>)`: each user of the population as of asOf with the key of their stage,
 * the first stage in priority order whose own condition holds, else the fallback.
 */
export function stageRelation(
  d: SqlDialect,
  conditions: readonly StageIR[],
  fallbackKey: string,
  asOfMs: number,
  column: string,
  restrict?: SegmentRestriction,
  /** The scoring runs as of asOf of the models stage conditions read (scoreRunsFor); needed only when some stage reads one. */
  scoreRuns?: ReadonlyMap<string, number | null>,
): string {
  const batch = compileSegmentBatch(
    conditions.map((c) => c.ir),
    { dialect: d, asOfMs, ...(scoreRuns ? { scoreRuns } : {}) },
  );
  const whens = batch.columns.map((c, i) => `WHEN ${d.quoteIdentifier(c.column)} THEN ${d.stringLiteral(conditions[i]!.key)}`).join(' ');
  const where = restrict ? `\nWHERE ${memberFilter(d, restrict.snapshotId)}` : '';
  return `(SELECT user_id, CASE ${whens} ELSE ${d.stringLiteral(fallbackKey)} END AS ${d.quoteIdentifier(column)}
FROM ${asSubquery(batch.sql)} lc_batch${where})`;
}

function reportSql(d: SqlDialect, conditions: readonly StageIR[], fallbackKey: string, options: LifecycleReportOptions, scoreRuns: ScoreRuns): string {
  const stages = stageRelation(d, conditions, fallbackKey, options.asOfMs, 'lc_stage', options.segment, scoreRuns);
  if (!options.by) return `SELECT lc_stage AS stage, count() AS n FROM ${stages} st GROUP BY lc_stage`;
  const join = d.userJoin('left', 'st', 'g');
  return `SELECT stage, grp, count() AS n FROM (
  SELECT st.lc_stage AS stage, coalesce(g.grp, ${d.stringLiteral(defaultGroup(options.by))}) AS grp
  FROM ${stages} st
  ${join.keyword} ${breakdownRelation(d, options.by)} g ${join.condition}
) lc_rows
GROUP BY stage, grp`;
}

function flowSql(d: SqlDialect, conditions: readonly StageIR[], fallbackKey: string, options: LifecycleFlowOptions, runs: { from: ScoreRuns; to: ScoreRuns }): string {
  const to = stageRelation(d, conditions, fallbackKey, options.toMs, 'lc_to', options.segment, runs.to);
  const from = stageRelation(d, conditions, fallbackKey, options.fromMs, 'lc_from', undefined, runs.from);
  const join = d.userJoin('left', 'b', 'a');
  return `SELECT stage_from, stage_to, count() AS n FROM (
  SELECT coalesce(a.lc_from, ${d.stringLiteral(NOT_YET_SEEN)}) AS stage_from, b.lc_to AS stage_to
  FROM ${to} b
  ${join.keyword} ${from} a ${join.condition}
) lc_rows
GROUP BY stage_from, stage_to`;
}

type ScoreRuns = ReadonlyMap<string, number | null>;

const irsOf = (conditions: readonly StageIR[]) => conditions.map((c) => c.ir);

/**
 * Each stage's own condition. strata.yaml is parsed before a store is open, so a stage that
 * reads a stored model (`{score: MODEL}`, `{cluster: MODEL}`) is checked against the
 * store's model catalogue here, with the stage's path.
 */
export async function stageConditionsFor(store: EventStore, settings: LifecycleSettings): Promise<StageIR[]> {
  const conditions = lifecycleStageConditions(settings.lifecycle, settings.plan);
  if (modelsUsed(irsOf(conditions).map((ir) => ir.root)).length === 0) return conditions;
  const { models } = await withModelCatalogue(store);
  const errors = settings.lifecycle.stages.flatMap(
    (stage) => checkConditionDocument(stage.match, settings.plan, `lifecycle.stages.${stage.key}.match`, { stageCondition: true, ...(models ? { models } : {}) }).errors,
  );
  if (errors.length > 0) throw new StrataError('CONFIG_INVALID', 'a lifecycle stage reads a model the workspace does not hold', errors);
  return conditions;
}

function checkInstant(ms: number, what: string): void {
  if (!Number.isSafeInteger(ms)) throw new StrataError('INPUT_INVALID', `${what} must be whole epoch milliseconds, got ${ms}`);
}
