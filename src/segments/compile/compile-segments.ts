/**
 * Segments to SQL: the public entry points of the compiler.
 *
 * A batch compiles every segment over one shared plan, so a measure that several segments
 * use (the same event count on the same window, the same anchor, the same sessions) is
 * computed once, and all plain-window event measures share one pass over the events.
 *
 * @example
 * compileSegmentMembers({ key: 'pro', root: { kind: 'trait', trait: 'plan', type: 'string',
 *   cmp: { op: 'eq', value: { kind: 'string', value: 'pro' } } } }, { dialect: duckdbDialect, asOfMs })
 * // SELECT p.user_id
 * // FROM profiles p
 * // WHERE p."t_plan" = 'pro'
 */
import { StrataError } from '../../errors/errors.js';
import type { SegmentIR } from '../ir/nodes.js';
import { BatchPlan, RELATIONS, orderRelations, type RelationExplanation } from './batch-plan.js';
import { compileCondition } from './condition-compiler.js';
import type { SqlDialect } from './dialect.js';

export interface CompileOptions {
  readonly dialect: SqlDialect;
  /** The instant the segments are evaluated as of, in whole epoch milliseconds. */
  readonly asOfMs: number;
  /**
   * For every stored model a `score` or `cluster` condition reads: the scoring run it reads
   * as of asOf (`scoreRunsAsOf(store, modelsUsed(roots), asOfMs)` in src/models/registry),
   * or null when the model has none yet (every value missing). A model used but absent
   * from the map is a programming error (INTERNAL), never a silent "no run".
   */
  readonly scoreRuns?: ReadonlyMap<string, number | null>;
}

export interface SegmentColumn {
  readonly key: string;
  readonly column: string;
}

export interface CompiledBatch {
  /** One row per user of the population as of asOf: `user_id` and one non-null BOOLEAN per segment. */
  readonly sql: string;
  readonly columns: readonly SegmentColumn[];
}

export interface BatchExplanation extends CompiledBatch {
  /** The shared relations and each measure computed in them, once however many segments use it. */
  readonly relations: readonly RelationExplanation[];
}

export function compileSegmentBatch(segments: readonly SegmentIR[], options: CompileOptions): CompiledBatch {
  const { sql, columns } = explainSegmentBatch(segments, options);
  return { sql, columns };
}

/** The batch query together with the measures it shares: what `--explain` prints. */
export function explainSegmentBatch(segments: readonly SegmentIR[], options: CompileOptions): BatchExplanation {
  const plan = new BatchPlan(checkedContext(options));
  const compiled = segments.map((s) => compileCondition(s.root, plan));
  const columns = segments.map((s, i) => ({ key: s.key, column: `s_${i}` }));
  const q = (name: string) => options.dialect.quoteIdentifier(name);
  const sql = plan.render({
    base: RELATIONS.users,
    columns: [`${plan.userId(RELATIONS.users)} AS user_id`, ...compiled.map((c, i) => `${c.sql} AS ${q(columns[i]!.column)}`)],
    relations: new Set(compiled.flatMap((c) => [...c.relations])),
    where: null,
  });
  return { sql, columns, relations: plan.explain() };
}

/**
 * The user ids of the segment's members. When the condition can only hold for users found
 * in one of its relations (their events, their profile), the query starts from that
 * relation, so a trait segment reads profiles only and an event segment never scans the
 * whole population.
 */
export function compileSegmentMembers(segment: SegmentIR, options: CompileOptions): string {
  const plan = new BatchPlan(checkedContext(options));
  const c = compileCondition(segment.root, plan, 'filter');
  const base = orderRelations(c.requires)[0] ?? RELATIONS.users;
  return plan.render({ base, columns: [plan.userId(base)], relations: c.relations, where: c.sql });
}

function checkedContext(options: CompileOptions): CompileOptions {
  if (!Number.isSafeInteger(options.asOfMs)) {
    throw new StrataError('INPUT_INVALID', `asOf must be whole epoch milliseconds, got ${options.asOfMs}`);
  }
  return { dialect: options.dialect, asOfMs: options.asOfMs, ...(options.scoreRuns ? { scoreRuns: options.scoreRuns } : {}) };
}
