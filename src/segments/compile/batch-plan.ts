/**
 * The shared work of a batch of segments: every measure any condition needs, registered
 * under a canonical key so equal measures from different segments are computed once, and
 * grouped into as few passes over the events as the semantics allow:
 *
 * - `ev`   the events before asOf grouped by user, with one filtered aggregate per measure
 *          on plain windows (counts, sums, min/max, distinct values, distinct days,
 *          first/last times, distinct periods), and the first time of every anchor event.
 *          It is one GROUP BY per start cut (`ev_<k>`, FULL JOINed on user_id when there are
 *          several): each event is read from the earliest start its measures need, and
 *          distinct counts never share a GROUP BY with other aggregates (see passGroups);
 * - `eva`  the same for anchored windows: the events joined to their users' anchors;
 * - `ss<i>` / `sm<i>`  the events that start or end a session, for one session gap (one
 *          window of lag and lead, or per-user sorted arrays without window functions),
 *          then the session measures over them: counts, totals and averages from the edge
 *          rows alone, the longest session by pairing edges;
 * - `sq<i>` / `sqr<f>` / `sqm`  sequences and funnels: for each prefix of steps, the chains
 *          reaching it (one per start, each next step at the earliest later instant by an
 *          ASOF join, shared by every chain that begins with the same steps), the rows of
 *          each later step, and the furthest step each chain reaches per user;
 * - `sqa<i>` the same without ASOF joins: one chain in one pass, from per-user sorted
 *          arrays of each step's times (renderArrayChain);
 * - `rg<i>` per-period counts for `regularly` with `times` above 1;
 * - `sc<i>` one stored model's scoring run (`model_scores` WHERE run_id = the run resolved
 *          as of asOf by the caller): score, percentile or persona id per scored user;
 * - `p`    the profiles table, for traits and timestamp-trait anchors;
 * - `u`    the users population index, for the population and for first-seen of any event.
 *
 * Rendering pushes down to the WHERE clause whatever all measures of a GROUP BY share
 * (event names, time bounds, predicates) so the engine can skip row groups. Where the
 * engine lacks a query shape (dialect.ts capabilities), the same relation is rendered
 * another way here; every table is named through `dialect.table`, so a shard's dialect
 * reads its local tables.
 */
import { StrataError } from '../../errors/errors.js';
import { TABLES, propertyColumn, traitColumn } from '../../store/schema.js';
import type { EventFilter, Window } from '../ir/nodes.js';
import { comparisonSql, type SqlContext } from './comparison-sql.js';
import type { AggregateFunction, ArrayFunctions, UserJoinKind } from './dialect.js';
import { indentLines, selectLines, subqueryLines, whereLines, wrapLines, type Lines } from './sql-lines.js';

/** A column that the final select can read, and the relation it comes from. */
export interface ColumnRef {
  readonly relation: string;
  readonly sql: string;
}

/** Which rows a measure aggregates, split so that shared parts can move to WHERE. */
interface RowConditions {
  readonly event: string | null;
  readonly lowerMs: number | null;
  readonly upperMs: number | null;
  /** Property predicates and anchored bounds, sorted so equal sets compare equal. */
  readonly others: readonly string[];
}

interface PassMeasure {
  readonly column: string;
  readonly fn: AggregateFunction;
  readonly arg: string | null;
  readonly rows: RowConditions;
  readonly anchors: readonly ColumnRef[];
}

type ResolvedWindow =
  | { readonly kind: 'bounds'; readonly lowerMs: number | null; readonly upperMs: number | null }
  | { readonly kind: 'anchored'; readonly anchor: ColumnRef; readonly durationMs: number };

/** Instants a measure may be narrowed to: [lowerMs, upperMs), null meaning unbounded. */
export interface TimeCut {
  readonly lowerMs: number | null;
  readonly upperMs: number | null;
}

/** A measure as the condition compiler sees it: where to read it and the anchor it needs, if any. */
export interface MeasureRef {
  readonly value: ColumnRef;
  readonly anchor: ColumnRef | null;
}

/** The plan's inputs: the SQL context and, per stored model a condition reads, the run resolved as of asOf (null: none). */
export interface PlanContext extends SqlContext {
  readonly scoreRuns?: ReadonlyMap<string, number | null>;
}

/** A model's value in a scoring run: the probability, its percentile rank, or the persona id. */
export type ModelColumn = 'score' | 'percentile' | 'cluster';

/** One scoring run read by the batch: relation `sc<i>` over `model_scores`, with the columns conditions read. */
interface ScoreRelation {
  readonly name: string;
  readonly model: string;
  readonly runId: number;
  readonly columns: Set<ModelColumn>;
}

export const RELATIONS = { events: 'ev', anchored: 'eva', profiles: 'p', users: 'u', chains: 'sqm' } as const;

/**
 * The range of a JavaScript Date, which holds every stored timestamp, anchor and asOf: a
 * lower bound before it bounds nothing, and a window longer than the whole range never
 * ends before asOf. Dropping such bounds keeps absurd durations (`within: 999999999w`)
 * from overflowing the engine's timestamp arithmetic.
 */
const EARLIEST_MS = -8.64e15;
const LONGEST_MS = 2 * 8.64e15;

function boundedBelow(ms: number): number | null {
  return ms <= EARLIEST_MS ? null : ms;
}

const EVENTS_ALIAS = 'e';
const SESSIONS_ALIAS = 's';

/** One GROUP BY user_id pass with filtered aggregates, deduplicated by canonical key. */
class AggregatePass {
  private readonly byKey = new Map<string, PassMeasure>();

  /**
   * `ts` and `event` are the row's time and event name columns (`event` null: rows are not
   * events); `ref` says how a query joining the pass reads one of its columns.
   */
  constructor(
    readonly name: string,
    readonly alias: string,
    readonly ts: string,
    readonly event: string | null,
    private readonly ref: (relation: string, column: string) => string,
  ) {}

  add(fn: AggregateFunction, arg: string | null, rows: RowConditions, anchors: readonly ColumnRef[]): ColumnRef {
    const key = JSON.stringify([fn, arg, rows.event, rows.lowerMs, rows.upperMs, rows.others]);
    let m = this.byKey.get(key);
    if (!m) {
      m = { column: `m${this.byKey.size}`, fn, arg, rows, anchors };
      this.byKey.set(key, m);
    }
    return { relation: this.name, sql: this.ref(this.name, m.column) };
  }

  get measures(): readonly PassMeasure[] {
    return [...this.byKey.values()];
  }

  get empty(): boolean {
    return this.byKey.size === 0;
  }
}

interface ChainStep {
  readonly index: number;
  /** Whether an event (alias `e`) matches the step. */
  readonly sql: string;
}

/**
 * The first `length` steps of one or more chains. A chain is followed from each start (an
 * event matching the first step in the window) by taking every next step at the earliest
 * event strictly after the previous one: for a fixed start that reaches furthest, since an
 * earlier step leaves more room for the rest before start + span. Relation `sq<index>`
 * holds one row per start still within its span: user_id, s (the start) and t (this
 * step's time), all in epoch ms.
 */
interface ChainPrefix {
  readonly index: number;
  readonly length: number;
  readonly step: ChainStep;
  readonly parent: ChainPrefix | null;
  /** For length >= 2: the last step must be strictly before start + span (no bound when null). */
  readonly spanMs: number | null;
  /** For length 1: the window on the first step. */
  readonly window: ResolvedWindow | null;
  /** The instants starts lie in: [from, before), null meaning unbounded (before: asOf). */
  readonly startFrom: number | null;
  readonly startBefore: number | null;
}

/**
 * The session edges of one gap: relation `ss<i>` holds the events that start or end a
 * session (user_id, ts, t in epoch ms, is_start, and when needed is_end and end_t, the end
 * of the session a start row begins), and pass `sm<i>` the measures over them.
 */
interface SessionRelation {
  readonly list: string;
  readonly gapMs: number;
  readonly pass: AggregatePass;
  /** Some measure reads is_end (session totals and averages). */
  ends: boolean;
  /** Some measure reads end_t (the longest session), which pairs each start with its end. */
  pairs: boolean;
}

export type SessionStat = 'count' | 'total' | 'avg' | 'max';

/**
 * A sequence or funnel followed in per-user arrays (engines without ASOF joins): relation
 * `sqa<i>` holds per user the furthest step any start reaches (`reached`) and the number
 * of starts that reach every step (`starts`).
 */
interface ArrayChain {
  readonly name: string;
  readonly steps: readonly ChainStep[];
  /** The last step must be strictly before start + span; null: no bound. */
  readonly spanMs: number | null;
  readonly window: ResolvedWindow;
}

interface RegularRelation {
  readonly name: string;
  readonly periodMs: number;
  readonly periods: number;
  readonly filter: { readonly event: string | null; readonly props: readonly string[] };
  readonly thresholds: Map<number, string>;
}

/** A query over the plan's relations: the final select of a batch or of a member list. */
export interface FinalSelect {
  /** `u` (the users table, with the population predicate) or a relation every member appears in. */
  readonly base: string;
  readonly columns: readonly string[];
  readonly relations: ReadonlySet<string>;
  readonly where: string | null;
}

/** A pass's conditions: `where` holds for every row; `select` is each measure's aggregate with its own filter. */
interface PassParts {
  readonly where: readonly string[];
  readonly select: readonly { readonly column: string; readonly expression: string }[];
}

/** How a relation appears in FROM or JOIN: its CTE name, or its body inlined, under `alias`. */
type RelationSource = (name: string, alias?: string) => Lines;
type RelationDefiner = (name: string, body: Lines) => void;

export interface RelationExplanation {
  readonly name: string;
  /** Row conditions shared by all the relation's measures, moved to its WHERE clause. */
  readonly where: readonly string[];
  readonly measures: readonly { readonly column: string; readonly expression: string }[];
}

/** A relation joined on user_id to the FROM source of a query. */
interface JoinPart {
  readonly kind: UserJoinKind;
  readonly source: Lines;
  readonly alias: string;
  /** The relation's columns besides user_id, when a nesting must name them (see fromLines). */
  readonly columns?: readonly string[];
}

export class BatchPlan {
  private readonly events: AggregatePass;
  private readonly anchored: AggregatePass;
  private readonly sessions = new Map<number, SessionRelation>();
  private readonly regular = new Map<string, RegularRelation>();
  private readonly chainSteps = new Map<string, ChainStep>();
  private readonly chainPrefixes = new Map<string, ChainPrefix>();
  private readonly chains = new Map<string, { readonly column: string; readonly prefixes: readonly ChainPrefix[] }>();
  private readonly completions = new Set<ChainPrefix>();
  /** Chains followed in per-user arrays (no ASOF join), by steps, span and window. */
  private readonly arrayChains = new Map<string, ArrayChain>();
  /** The profile columns conditions read (quoted), for a nesting that names its columns. */
  private readonly traitColumns = new Set<string>();
  /** Scoring runs read, by model; models without a run as of asOf, for `explain`. */
  private readonly scoreRelations = new Map<string, ScoreRelation>();
  private readonly unscoredModels = new Map<string, Set<ModelColumn>>();

  constructor(readonly ctx: PlanContext) {
    const ref = (relation: string, column: string) => this.ref(relation, column);
    this.events = new AggregatePass(RELATIONS.events, EVENTS_ALIAS, `${EVENTS_ALIAS}.ts`, `${EVENTS_ALIAS}.event`, ref);
    this.anchored = new AggregatePass(RELATIONS.anchored, EVENTS_ALIAS, `${EVENTS_ALIAS}.ts`, `${EVENTS_ALIAS}.event`, ref);
  }

  /** One JOIN per SELECT: joins nest, so relation columns carry names unique in the query and are read unqualified. */
  private get nested(): boolean {
    return !this.ctx.dialect.capabilities.multipleJoins;
  }

  /** The name a relation gives one of its computed columns: `m0` in `ev`, or `ev_m0` where joins nest. */
  private outName(relation: string, column: string): string {
    return this.nested ? `${relation}_${column}` : column;
  }

  /** How a query that joins a relation reads one of its computed columns. */
  private ref(relation: string, column: string): string {
    return this.nested ? this.outName(relation, column) : `${relation}.${column}`;
  }

  /**
   * How a query reads a column of a store table joined as `relation` (`p`, `u`): qualified,
   * or by its own name where joins nest (no other relation has a column of that name).
   */
  private tableColumn(relation: string, column: string): string {
    return this.nested ? column : `${relation}.${column}`;
  }

  /** The user id of a relation in a query joining it (the FROM relation's, where joins nest). */
  userId(relation: string): string {
    return this.tableColumn(relation, 'user_id');
  }

  private get arrays(): ArrayFunctions {
    const a = this.ctx.dialect.arrays;
    if (a === undefined) throw new StrataError('INTERNAL', `dialect ${this.ctx.dialect.name} lacks window functions or ASOF joins but has no array functions`);
    return a;
  }

  /**
   * `FROM base` and its joins on user_id. Where a SELECT takes one join only, the query so
   * far nests under the base's alias before each further join (`e.ts` still reads the
   * events; relation columns are unique names, see `ref`). A nesting selects `*`, or, when
   * the base and every join name their columns, user_id and those: ClickHouse 18.16 gives
   * the unmatched rows of a nested FULL JOIN under `*` one more column than the matched
   * ones (the right side's key) and fails.
   */
  private fromLines(base: Lines, baseAlias: string, joins: readonly JoinPart[], baseColumns?: readonly string[]): string[] {
    const d = this.ctx.dialect;
    let lines = wrapLines('FROM ', base);
    let columns = baseColumns;
    joins.forEach((j, i) => {
      if (i > 0 && this.nested) lines = wrapLines('FROM ', subqueryLines([`SELECT ${columns === undefined ? '*' : ['user_id', ...columns].join(', ')}`, ...lines], baseAlias));
      columns = columns === undefined || j.columns === undefined ? undefined : [...columns, ...j.columns];
      const { keyword, condition } = d.userJoin(j.kind, baseAlias, j.alias);
      lines = [...lines, ...wrapLines(`${keyword} `, j.source, ` ${condition}`)];
    });
    return lines;
  }

  /**
   * The columns besides user_id that a relation of the final select gives, as the query
   * reads them. Nestings name them rather than `*`: users and profiles share column names
   * (version), and releases differ in how `*` over a join treats a name on both sides.
   */
  private relationColumns(relation: string): string[] {
    const out = (rel: string, columns: readonly string[]) => columns.map((c) => this.outName(rel, c));
    if (relation === RELATIONS.users) return ['first_event_at', 'has_profile'];
    if (relation === RELATIONS.profiles) return [...this.traitColumns];
    if (relation === RELATIONS.chains) return out(relation, [...this.chains.values()].map((c) => c.column));
    if (relation.startsWith('sqd') || relation.startsWith('sqa')) return out(relation, relation.startsWith('sqd') ? ['starts'] : ['reached', 'starts']);
    if (relation.startsWith('sc')) return out(relation, [...this.scoreRelationNamed(relation).columns]);
    if (relation.startsWith('rg')) return out(relation, [...[...this.regular.values()].find((r) => r.name === relation)!.thresholds.values()]);
    const pass = [this.events, this.anchored, ...[...this.sessions.values()].map((x) => x.pass)].find((x) => x.name === relation);
    if (pass === undefined) throw new StrataError('INTERNAL', `no columns known for relation ${relation}`);
    return out(relation, pass.measures.map((m) => m.column));
  }

  /** The LEFT JOINs of a pass to the relations holding its anchors. */
  private anchorJoins(anchors: readonly ColumnRef[], from: RelationSource): JoinPart[] {
    return sortedUnique(anchors.map((a) => this.anchorRelation(a))).map((rel) => ({ kind: 'left', source: from(rel), alias: rel }));
  }

  /**
   * The relation to join for an anchor. Where relations are inlined and read unqualified,
   * an anchor in a pass of several GROUP BYs reads only the one computing it, rather than
   * computing the whole pass once more.
   */
  private anchorRelation(anchor: ColumnRef): string {
    if (this.ctx.dialect.capabilities.commonTableExpressions || !this.nested || anchor.relation !== RELATIONS.events) return anchor.relation;
    const group = this.passGroups(this.events).find((g) => g.measures.some((m) => this.ref(RELATIONS.events, m.column) === anchor.sql));
    return group?.name ?? anchor.relation;
  }

  private q(name: string): string {
    return this.ctx.dialect.quoteIdentifier(name);
  }

  private lit(ms: number): string {
    return this.ctx.dialect.timestampLiteral(ms);
  }

  /** The current value of a trait (missing: NULL). */
  trait(name: string): ColumnRef {
    const column = this.q(traitColumn(name));
    this.traitColumns.add(column);
    return { relation: RELATIONS.profiles, sql: this.tableColumn(RELATIONS.profiles, column) };
  }

  /**
   * Each user's first event of any name, from the population index: `first_event_at` is the
   * earliest event the store holds for the user (store/schema.ts), which is the first before
   * asOf whenever it is before asOf. NULL when the user has no event before asOf.
   */
  firstEventBeforeAsOf(): ColumnRef {
    const first = this.tableColumn(RELATIONS.users, 'first_event_at');
    return { relation: RELATIONS.users, sql: `CASE WHEN ${first} < ${this.lit(this.ctx.asOfMs)} THEN ${first} END` };
  }

  /**
   * A model's value per user in the scoring run resolved for it as of asOf (NULL for a user
   * the run did not score), or null when the model has no run as of asOf: every value is
   * then missing and no relation is read. Throws when the caller resolved no run for the
   * model: a missing entry would silently read as "no run".
   */
  modelValue(model: string, column: ModelColumn): ColumnRef | null {
    const runs = this.ctx.scoreRuns;
    if (runs === undefined || !runs.has(model)) {
      throw new StrataError(
        'INTERNAL',
        `a condition reads model "${model}" but the compile options resolve no scoring run for it: pass scoreRuns with every model the segments use (scoreRunsAsOf(store, modelsUsed(roots), asOfMs))`,
      );
    }
    const runId = runs.get(model)!;
    if (runId === null) {
      const columns = this.unscoredModels.get(model) ?? new Set<ModelColumn>();
      columns.add(column);
      this.unscoredModels.set(model, columns);
      return null;
    }
    if (!Number.isSafeInteger(runId) || runId < 0) throw new StrataError('INTERNAL', `scoring run id of model "${model}" is not a whole number: ${runId}`);
    let rel = this.scoreRelations.get(model);
    if (!rel) {
      rel = { name: `sc${this.scoreRelations.size}`, model, runId, columns: new Set() };
      this.scoreRelations.set(model, rel);
    }
    rel.columns.add(column);
    return { relation: rel.name, sql: this.ref(rel.name, column) };
  }

  private scoreRelationNamed(name: string): ScoreRelation {
    const rel = [...this.scoreRelations.values()].find((r) => r.name === name);
    if (rel === undefined) throw new StrataError('INTERNAL', `no scoring run relation ${name}`);
    return rel;
  }

  /** A scoring run's rows: user_id and the columns read, for one run id (each shard reads its own users' rows). */
  private renderScores(rel: ScoreRelation): Lines {
    const d = this.ctx.dialect;
    const columns = [...rel.columns].sort();
    return [`SELECT user_id, ${columns.map((c) => `${c} AS ${this.outName(rel.name, c)}`).join(', ')}`, `FROM ${d.table(TABLES.modelScores)}`, `WHERE run_id = ${d.numberLiteral(rel.runId)}`];
  }

  /** A property of the event row in an events pass. */
  propertyColumn(name: string): string {
    return `${EVENTS_ALIAS}.${this.q(propertyColumn(name))}`;
  }

  eventTimestamp(): string {
    return `${EVENTS_ALIAS}.ts`;
  }

  /**
   * An aggregate over the user's matching events in the window. `cut` narrows a plain
   * window further to [lowerMs, upperMs) (null: no bound), for a measure whose comparison
   * can only hold when its value lies there: the value is then exact wherever it matters
   * and missing elsewhere, and the pass reads fewer rows.
   */
  eventMeasure(fn: AggregateFunction, arg: string | null, filter: EventFilter, window: Window, cut: TimeCut | null = null): MeasureRef {
    const f = this.filterParts(filter);
    const w = this.resolveWindow(window);
    if (w.kind === 'bounds') {
      let { lowerMs, upperMs } = w;
      if (cut?.lowerMs != null) lowerMs = boundedBelow(Math.max(lowerMs ?? cut.lowerMs, cut.lowerMs));
      if (cut?.upperMs != null && cut.upperMs < this.ctx.asOfMs) upperMs = Math.max(EARLIEST_MS, Math.min(upperMs ?? cut.upperMs, cut.upperMs));
      return { value: this.events.add(fn, arg, { event: f.event, lowerMs, upperMs, others: f.props }, []), anchor: null };
    }
    const others = sortedUnique([...f.props, ...this.anchoredBounds(`${EVENTS_ALIAS}.ts`, w.anchor.sql, w.durationMs)]);
    return {
      value: this.anchored.add(fn, arg, { event: f.event, lowerMs: null, upperMs: null, others }, [w.anchor]),
      anchor: w.anchor,
    };
  }

  /** The number of periods [asOf-(k+1)P, asOf-kP), k < periods, with at least `times` matching events. */
  periodsWithEvents(filter: EventFilter, periodMs: number, periods: number, times: number): ColumnRef {
    if (times === 1) {
      // At least once per period is a distinct count of period indexes: one more aggregate in the shared pass.
      const window: Window = { kind: 'relative', startMs: periods * periodMs, endMs: 0 };
      return this.eventMeasure('countDistinct', this.periodIndex(periodMs), filter, window).value;
    }
    const f = this.filterParts(filter);
    const key = JSON.stringify([f.event, f.props, periodMs, periods]);
    let r = this.regular.get(key);
    if (!r) {
      r = { name: `rg${this.regular.size}`, periodMs, periods, filter: f, thresholds: new Map() };
      this.regular.set(key, r);
    }
    let column = r.thresholds.get(times);
    if (!column) {
      column = `m${r.thresholds.size}`;
      r.thresholds.set(times, column);
    }
    return { relation: r.name, sql: this.ref(r.name, column) };
  }

  /**
   * A statistic of the user's sessions (for one gap) whose first event lies in the window:
   * their number, or the total, average or longest duration (last event minus first).
   *
   * Totals and averages need no pairing of each start with its end: over the edge rows,
   * the durations of the sessions starting in [lo, hi) sum to (the ends in the window) minus
   * (the starts in it), less the end of a session that began before lo (an end in the window
   * before its first start) and plus the end of the session that runs past hi (the first end
   * from hi on, when it comes before the first start from hi on).
   */
  sessionMeasure(gapMs: number, stat: SessionStat, window: Window): MeasureRef {
    let rel = this.sessions.get(gapMs);
    if (!rel) {
      const i = this.sessions.size;
      const pass = new AggregatePass(`sm${i}`, SESSIONS_ALIAS, `${SESSIONS_ALIAS}.ts`, null, (relation, column) => this.ref(relation, column));
      rel = { list: `ss${i}`, gapMs, pass, ends: false, pairs: false };
      this.sessions.set(gapMs, rel);
    }
    const pass = rel.pass;
    const S = SESSIONS_ALIAS;
    const d = this.ctx.dialect;
    const w = this.resolveWindow(window);
    const anchors = w.kind === 'anchored' ? [w.anchor] : [];
    const anchor = w.kind === 'anchored' ? w.anchor : null;
    const inWindow: RowConditions =
      w.kind === 'bounds'
        ? { event: null, lowerMs: w.lowerMs, upperMs: w.upperMs, others: [] }
        : { event: null, lowerMs: null, upperMs: null, others: this.anchoredBounds(`${S}.ts`, w.anchor.sql, w.durationMs) };
    const rows = (base: RowConditions, flag: string): RowConditions => ({ ...base, others: sortedUnique([...base.others, flag]) });
    const starts = rows(inWindow, `${S}.is_start`);
    const value = (sql: string): MeasureRef => ({ value: { relation: pass.name, sql }, anchor });
    if (stat === 'count') return value(pass.add('count', null, starts, anchors).sql);
    if (stat === 'max') {
      rel.pairs = true;
      return value(pass.add('max', `${S}.end_t - ${S}.t`, starts, anchors).sql);
    }
    rel.ends = true;
    const ends = rows(inWindow, `${S}.is_end`);
    const t = `${S}.t`;
    const count = pass.add('count', null, starts, anchors).sql;
    const terms = [`coalesce(${pass.add('sum', t, ends, anchors).sql}, 0)`, `- ${pass.add('sum', t, starts, anchors).sql}`];
    // The end of a session whose first row is `before` a later first start, or 0.
    const firstEndBeforeStart = (endRows: RowConditions, startRows: RowConditions) => {
      const end = pass.add('min', t, endRows, anchors).sql;
      const start = pass.add('min', t, startRows, anchors).sql;
      return `coalesce(CASE WHEN ${end} < coalesce(${start}, ${end} + 1) THEN ${end} END, 0)`;
    };
    const hasLower = w.kind === 'anchored' || w.lowerMs !== null;
    if (hasLower) terms.push(`- ${firstEndBeforeStart(ends, starts)}`);
    let after: RowConditions | null = null;
    if (w.kind === 'bounds') {
      if (w.upperMs !== null) after = { event: null, lowerMs: w.upperMs, upperMs: null, others: [] };
    } else if (w.durationMs < LONGEST_MS) {
      after = { event: null, lowerMs: null, upperMs: null, others: [`${d.epochMs(`${S}.ts`)} >= ${d.epochMs(w.anchor.sql)} + ${d.numberLiteral(w.durationMs)}`] };
    }
    if (after !== null) terms.push(`+ ${firstEndBeforeStart(rows(after, `${S}.is_end`), rows(after, `${S}.is_start`))}`);
    const total = `(${terms.join(' ')})`;
    return value(`CASE WHEN ${count} > 0 THEN ${stat === 'total' ? total : d.divide(total, count)} END`);
  }

  /**
   * The furthest step reached (0 to steps.length) by chains of events matching the steps at
   * strictly increasing times, the first in the window and the last before first + span.
   * NULL when the user has no event matching any step; reading it as 0 is then right.
   */
  chainReached(steps: readonly EventFilter[], spanMs: number | null, window: Window): MeasureRef {
    if (!this.ctx.dialect.capabilities.asofJoin) return this.arrayChainMeasure(steps, spanMs, window, 'reached');
    const { prefixes, key, anchor } = this.chainPrefixesOf(steps, spanMs, window);
    let chain = this.chains.get(key);
    if (!chain) {
      chain = { column: `k${this.chains.size}`, prefixes };
      this.chains.set(key, chain);
    }
    return { value: { relation: RELATIONS.chains, sql: this.ref(RELATIONS.chains, chain.column) }, anchor };
  }

  /**
   * The number of starts from which every step is reached (0 when none): a sequence needs
   * only its last prefix, not the furthest step of every start.
   */
  chainCompleted(steps: readonly EventFilter[], spanMs: number | null, window: Window): MeasureRef {
    if (!this.ctx.dialect.capabilities.asofJoin) return this.arrayChainMeasure(steps, spanMs, window, 'starts');
    const { prefixes, anchor } = this.chainPrefixesOf(steps, spanMs, window);
    const last = prefixes[prefixes.length - 1]!;
    this.completions.add(last);
    const name = `sqd${last.index}`;
    return { value: { relation: name, sql: this.ref(name, 'starts') }, anchor };
  }

  /** A chain followed in per-user arrays: its furthest step reached, or its completed starts. */
  private arrayChainMeasure(steps: readonly EventFilter[], spanMs: number | null, window: Window, column: 'reached' | 'starts'): MeasureRef {
    if (steps.length === 0) throw new StrataError('INTERNAL', 'a sequence or funnel needs at least one step');
    const w = this.resolveWindow(window);
    const chainSteps = steps.map((f) => this.chainStep(f));
    const span = spanMs === null || spanMs >= LONGEST_MS ? null : spanMs;
    const key = JSON.stringify([chainSteps.map((st) => st.index), w.kind === 'bounds' ? [w.lowerMs, w.upperMs] : [w.anchor.sql, w.durationMs], span]);
    let chain = this.arrayChains.get(key);
    if (!chain) {
      chain = { name: `sqa${this.arrayChains.size}`, steps: chainSteps, spanMs: span, window: w };
      this.arrayChains.set(key, chain);
    }
    return { value: { relation: chain.name, sql: this.ref(chain.name, column) }, anchor: w.kind === 'anchored' ? w.anchor : null };
  }

  private chainPrefixesOf(steps: readonly EventFilter[], spanMs: number | null, window: Window): { prefixes: ChainPrefix[]; key: string; anchor: ColumnRef | null } {
    if (steps.length === 0) throw new StrataError('INTERNAL', 'a sequence or funnel needs at least one step');
    const w = this.resolveWindow(window);
    const prefixes: ChainPrefix[] = [];
    let key = '';
    for (const [i, filter] of steps.entries()) {
      const step = this.chainStep(filter);
      const parent = prefixes[i - 1] ?? null;
      // The first step's key holds the window; later ones the span (a one-step chain has none).
      key =
        parent === null
          ? JSON.stringify([step.index, w.kind === 'bounds' ? [w.lowerMs, w.upperMs] : [w.anchor.sql, w.durationMs]])
          : JSON.stringify([key, step.index, spanMs]);
      let p = this.chainPrefixes.get(key);
      if (!p) {
        p = {
          index: this.chainPrefixes.size,
          length: i + 1,
          step,
          parent,
          spanMs: parent === null ? null : spanMs,
          window: parent === null ? w : null,
          startFrom: parent?.startFrom ?? (w.kind === 'bounds' ? w.lowerMs : null),
          startBefore: parent?.startBefore ?? (w.kind === 'bounds' ? w.upperMs : null),
        };
        this.chainPrefixes.set(key, p);
      }
      prefixes.push(p);
    }
    return { prefixes, key, anchor: w.kind === 'anchored' ? w.anchor : null };
  }

  private chainStep(filter: EventFilter): ChainStep {
    const f = this.filterParts(filter);
    const key = JSON.stringify([f.event, f.props]);
    let step = this.chainSteps.get(key);
    if (!step) {
      const conjuncts = [...(f.event === null ? [] : [`${EVENTS_ALIAS}.event = ${this.ctx.dialect.stringLiteral(f.event)}`]), ...f.props];
      step = { index: this.chainSteps.size, sql: conjuncts.length === 0 ? this.ctx.dialect.booleanLiteral(true) : conjuncts.join(' AND ') };
      this.chainSteps.set(key, step);
    }
    return step;
  }

  /** Index k of the period [asOf-(k+1)P, asOf-kP) holding the event: floor((asOf - 1 - t) / P) on whole ms. */
  private periodIndex(periodMs: number): string {
    const d = this.ctx.dialect;
    return d.intDiv(`${d.numberLiteral(this.ctx.asOfMs - 1)} - ${d.epochMs(`${EVENTS_ALIAS}.ts`)}`, d.numberLiteral(periodMs));
  }

  private filterParts(filter: EventFilter): { event: string | null; props: readonly string[] } {
    const props = filter.where.map((p) => comparisonSql(this.propertyColumn(p.property), p.cmp, this.ctx));
    return { event: filter.event, props: sortedUnique(props) };
  }

  private resolveWindow(window: Window): ResolvedWindow {
    const asOf = this.ctx.asOfMs;
    // An end at or after asOf is asOf's; one before every instant is an empty window all the same.
    const cut = (upper: number | null): number | null => (upper === null || upper >= asOf ? null : Math.max(upper, EARLIEST_MS));
    switch (window.kind) {
      case 'all':
        return { kind: 'bounds', lowerMs: null, upperMs: null };
      case 'relative':
        return { kind: 'bounds', lowerMs: boundedBelow(asOf - window.startMs), upperMs: cut(asOf - window.endMs) };
      case 'absolute':
        return { kind: 'bounds', lowerMs: boundedBelow(window.fromMs), upperMs: cut(window.toMs) };
      case 'anchored': {
        const anchor =
          window.anchor.kind === 'trait'
            ? this.trait(window.anchor.trait)
            : this.eventMeasure('min', `${EVENTS_ALIAS}.ts`, window.anchor.filter, { kind: 'all' }).value;
        return { kind: 'anchored', anchor, durationMs: window.durationMs };
      }
    }
  }

  /** [anchor, anchor + duration) on timestamps; the end in whole ms, where no interval can overflow. */
  private anchoredBounds(ts: string, anchor: string, durationMs: number): string[] {
    const d = this.ctx.dialect;
    const from = `${ts} >= ${anchor}`;
    return durationMs >= LONGEST_MS ? [from] : [from, `${d.epochMs(ts)} < ${d.epochMs(anchor)} + ${d.numberLiteral(durationMs)}`];
  }

  /** Every measure column, per relation: what `--explain` shows and what tests count. */
  explain(): RelationExplanation[] {
    const out: RelationExplanation[] = [];
    const passes = [this.events, this.anchored, ...[...this.sessions.values()].map((s) => s.pass)];
    for (const pass of passes) {
      if (pass.empty) continue;
      for (const group of this.passGroups(pass)) {
        const parts = this.renderPassParts(pass, group.measures);
        out.push({ name: group.name, where: parts.where, measures: parts.select });
      }
    }
    for (const last of this.completions) {
      out.push({ name: `sqd${last.index}`, where: [], measures: [{ column: 'starts', expression: `${this.ctx.dialect.aggregate('count', null, null)} over sq${last.index}` }] });
    }
    for (const c of this.arrayChains.values()) {
      out.push({
        name: c.name,
        where: [],
        measures: [
          { column: 'reached', expression: `furthest of ${c.steps.length} steps per start, in per-user arrays` },
          { column: 'starts', expression: `starts reaching all ${c.steps.length} steps` },
        ],
      });
    }
    if (this.chains.size > 0) {
      out.push({ name: RELATIONS.chains, where: [], measures: [...this.chains.values()].map((c) => ({ column: c.column, expression: this.chainReachedSql(c) })) });
    }
    for (const r of this.scoreRelations.values()) {
      out.push({
        name: r.name,
        where: [`run_id = ${r.runId}`],
        measures: [...r.columns].sort().map((column) => ({ column, expression: `${column} of model "${r.model}" in scoring run ${r.runId} (the latest as of asOf)` })),
      });
    }
    for (const [model, columns] of this.unscoredModels) {
      out.push({
        name: `model ${model}`,
        where: [],
        measures: [...columns].sort().map((column) => ({ column, expression: `no scoring run of model "${model}" as of asOf: missing for every user` })),
      });
    }
    for (const r of this.regular.values()) {
      out.push({
        name: r.name,
        where: [],
        measures: [...r.thresholds].map(([times, column]) => ({ column, expression: `periods of ${r.periodMs} ms with >= ${times} events` })),
      });
    }
    return out;
  }

  /** The whole query: the relations the final select needs, as CTEs (or inlined), then the select. */
  render(final: FinalSelect): string {
    const d = this.ctx.dialect;
    const bodies = new Map<string, Lines>();
    const ctes: Lines[] = [];
    const useCtes = d.capabilities.commonTableExpressions;
    const from: RelationSource = (name, alias = name) => {
      if (name === RELATIONS.profiles) return [`${d.table(TABLES.profiles)} ${alias}`];
      if (name === RELATIONS.users) return [`${d.table(TABLES.users)} ${alias}`];
      const body = bodies.get(name);
      if (body === undefined) throw new StrataError('INTERNAL', `relation ${name} is used before it is defined`);
      if (!useCtes) return subqueryLines(body, alias);
      return [alias === name ? name : `${name} ${alias}`];
    };
    const define: RelationDefiner = (name, body) => {
      bodies.set(name, body);
      if (useCtes) ctes.push([`${name} AS (`, ...indentLines(body), ')']);
    };

    const eventsFrom = [`${d.table(TABLES.events)} ${EVENTS_ALIAS}`];
    const eventsWhere = [`${EVENTS_ALIAS}.ts < ${this.lit(this.ctx.asOfMs)}`];
    if (!this.events.empty) this.renderAggregatePass(this.events, eventsFrom, eventsWhere, define, from);
    if (!this.anchored.empty) this.renderAggregatePass(this.anchored, eventsFrom, eventsWhere, define, from);
    for (const s of this.sessions.values()) {
      define(s.list, this.renderSessionList(s));
      this.renderAggregatePass(s.pass, from(s.list, SESSIONS_ALIAS), [], define, from);
    }
    if (this.chainPrefixes.size > 0) this.renderChains(define, from);
    for (const c of this.arrayChains.values()) define(c.name, this.renderArrayChain(c, from));
    for (const r of this.regular.values()) define(r.name, this.renderRegular(r));
    for (const r of this.scoreRelations.values()) define(r.name, this.renderScores(r));

    const base = final.base;
    const where: string[] = [];
    if (base === RELATIONS.users) {
      const u = (column: string) => this.tableColumn(RELATIONS.users, column);
      where.push(`(${u('has_profile')} OR ${u('first_event_at')} < ${this.lit(this.ctx.asOfMs)})`);
    }
    if (final.where !== null) where.push(final.where);
    const joins = orderRelations(final.relations)
      .filter((rel) => rel !== base)
      .map((rel): JoinPart => ({ kind: 'left', source: from(rel), alias: rel, columns: this.relationColumns(rel) }));
    const select = [...selectLines(final.columns), ...this.fromLines(from(base), base, joins, this.relationColumns(base)), ...whereLines(where)];
    const withClause = ctes.length === 0 ? [] : ['WITH', ...ctes.flatMap((c, i) => (i < ctes.length - 1 ? wrapLines('', c, ',') : c))];
    return [...withClause, ...select].join('\n');
  }

  /**
   * The measures of a pass, grouped into the GROUP BYs that compute them, each one scan the
   * engine can filter on event and time:
   * - when every measure names its event, each event is read from the earliest start any of
   *   its measures needs, and events read from the same start share a GROUP BY, so a
   *   recent-window count does not read an all-history measure's old rows of another event;
   * - distinct counts and other aggregates never share a GROUP BY: DuckDB computes every
   *   aggregate of a GROUP BY holding a DISTINCT one on its slower distinct path.
   * A pass of several groups joins them (FULL JOIN on user_id): its users are those of any.
   */
  private passGroups(pass: AggregatePass): { readonly name: string; readonly measures: readonly PassMeasure[] }[] {
    const ms = pass.measures;
    let cuts: PassMeasure[][] = [[...ms]];
    if (pass.event !== null && ms.every((m) => m.rows.event !== null)) {
      const byEvent = new Map<string, PassMeasure[]>();
      for (const m of ms) byEvent.set(m.rows.event as string, [...(byEvent.get(m.rows.event as string) ?? []), m]);
      const minLower = (lowers: readonly (number | null)[]) => (lowers.every((l) => l !== null) ? Math.min(...(lowers as number[])) : null);
      const byCut = new Map<number | null, PassMeasure[]>();
      for (const name of [...byEvent.keys()].sort()) {
        const cut = minLower(byEvent.get(name)!.map((m) => m.rows.lowerMs));
        byCut.set(cut, [...(byCut.get(cut) ?? []), ...byEvent.get(name)!]);
      }
      cuts = [...byCut.values()];
    }
    const isDistinct = (m: PassMeasure) => m.fn === 'countDistinct';
    const groups = cuts.flatMap((g) => [g.filter((m) => !isDistinct(m)), g.filter(isDistinct)]).filter((g) => g.length > 0);
    return groups.map((measures, i) => ({ name: groups.length === 1 ? pass.name : `${pass.name}_${i}`, measures }));
  }

  /**
   * Splits a group's row conditions into what all its measures share (WHERE, so the engine
   * can skip row groups) and what each keeps (FILTER).
   */
  private renderPassParts(pass: AggregatePass, ms: readonly PassMeasure[]): PassParts {
    const d = this.ctx.dialect;
    const { ts, event: eventExpr } = pass;
    const where: string[] = [];
    const names = sortedUnique(ms.map((m) => m.rows.event).filter((n): n is string => n !== null));
    const named = eventExpr !== null && ms.every((m) => m.rows.event !== null);
    if (named) where.push(names.length === 1 ? `${eventExpr} = ${d.stringLiteral(names[0]!)}` : `${eventExpr} IN (${names.map((n) => d.stringLiteral(n)).join(', ')})`);
    const lowers = ms.map((m) => m.rows.lowerMs);
    const lower = lowers.every((l) => l !== null) ? Math.min(...(lowers as number[])) : null;
    if (lower !== null) where.push(`${ts} >= ${this.lit(lower)}`);
    const upper = ms.every((m) => m.rows.upperMs !== null) ? Math.max(...ms.map((m) => m.rows.upperMs as number)) : null;
    if (upper !== null) where.push(`${ts} < ${this.lit(upper)}`);
    const common = ms.map((m) => m.rows.others).reduce((acc, o) => acc.filter((x) => o.includes(x)));
    where.push(...common);
    const select = ms.map((m) => {
      const f: string[] = [];
      if (m.rows.event !== null && !(named && names.length === 1) && eventExpr !== null) f.push(`${eventExpr} = ${d.stringLiteral(m.rows.event)}`);
      if (m.rows.lowerMs !== null && m.rows.lowerMs !== lower) f.push(`${ts} >= ${this.lit(m.rows.lowerMs)}`);
      if (m.rows.upperMs !== null && m.rows.upperMs !== upper) f.push(`${ts} < ${this.lit(m.rows.upperMs)}`);
      f.push(...m.rows.others.filter((x) => !common.includes(x)));
      return { column: m.column, expression: d.aggregate(m.fn, m.arg, f.length === 0 ? null : f.join(' AND ')) };
    });
    return { where, select };
  }

  /** Defines the pass's relation: one GROUP BY user_id per group, joined when there are several. */
  private renderAggregatePass(pass: AggregatePass, source: Lines, baseWhere: readonly string[], define: RelationDefiner, from: RelationSource): void {
    const groups = this.passGroups(pass);
    for (const group of groups) {
      const parts = this.renderPassParts(pass, group.measures);
      const anchors = uniqueAnchors(group.measures.flatMap((m) => m.anchors));
      const where = [...baseWhere, ...parts.where];
      // Only users with an anchor can have rows in a group made only of anchored measures.
      if (anchors.length > 0 && group.measures.every((m) => m.anchors.length > 0)) {
        where.push(anchors.length === 1 ? `${anchors[0]!.sql} IS NOT NULL` : `(${anchors.map((a) => `${a.sql} IS NOT NULL`).join(' OR ')})`);
      }
      define(group.name, [
        ...selectLines([`${pass.alias}.user_id`, ...parts.select.map((s) => `${s.expression} AS ${this.outName(pass.name, s.column)}`)]),
        ...this.fromLines(source, pass.alias, this.anchorJoins(anchors, from)),
        ...whereLines(where),
        `GROUP BY ${pass.alias}.user_id`,
      ]);
    }
    if (groups.length > 1) {
      const columnsOf = (g: (typeof groups)[number]) => g.measures.map((m) => this.outName(pass.name, m.column));
      const rest = groups.slice(1).map((g): JoinPart => ({ kind: 'full', source: from(g.name), alias: g.name, columns: columnsOf(g) }));
      // Where joins nest, name the columns (see fromLines); DuckDB's USING keeps one user_id under `*`.
      const select = this.nested ? ['user_id', ...groups.flatMap(columnsOf)].join(', ') : '*';
      define(pass.name, [`SELECT ${select}`, ...this.fromLines(from(groups[0]!.name), groups[0]!.name, rest, columnsOf(groups[0]!))]);
    }
  }

  /**
   * The session edges: each event starts a session when its previous event is at least a
   * gap earlier (or absent) and ends one when its next event is at least a gap later (or
   * absent). Events at one instant always belong to one session, and among them exactly
   * one row starts it and one ends it. A start row's session ends at itself or at the next
   * edge row (ordering ties by is_end puts a start before an end at the same instant).
   */
  private renderSessionList(s: SessionRelation): Lines {
    const d = this.ctx.dialect;
    const gap = d.numberLiteral(s.gapMs);
    const where = [`${EVENTS_ALIAS}.ts < ${this.lit(this.ctx.asOfMs)}`];
    // Whether an event at or after L starts or ends a session depends on events from L - gap on only.
    const ms = s.pass.measures;
    const from = ms.every((m) => m.rows.lowerMs !== null) ? boundedBelow(Math.min(...ms.map((m) => m.rows.lowerMs as number)) - s.gapMs) : null;
    if (from !== null) where.push(`${EVENTS_ALIAS}.ts >= ${this.lit(from)}`);
    if (!d.capabilities.windowFunctions) return this.renderSessionListFromArrays(s, where);
    const ends = s.ends || s.pairs;
    const events = [
      `SELECT ${EVENTS_ALIAS}.user_id, ${EVENTS_ALIAS}.ts, ${d.epochMs(`${EVENTS_ALIAS}.ts`)} AS t`,
      `FROM ${d.table(TABLES.events)} ${EVENTS_ALIAS}`,
      `WHERE ${where.join(' AND ')}`,
    ];
    const isStart = `(prev_t IS NULL OR t - prev_t >= ${gap})`;
    const isEnd = `(next_t IS NULL OR next_t - t >= ${gap})`;
    const neighbours = [
      `SELECT user_id, ts, t, ${d.previousValue('t', 'user_id', ['t'])} AS prev_t${ends ? `, ${d.nextValue('t', 'user_id', ['t'])} AS next_t` : ''}`,
      ...wrapLines('FROM ', subqueryLines(events, 'ev_t')),
    ];
    if (!ends) return [`SELECT user_id, ts, t, ${d.booleanLiteral(true)} AS is_start`, ...wrapLines('FROM ', subqueryLines(neighbours, 'ev_n')), `WHERE ${isStart}`];
    const edges = [
      `SELECT user_id, ts, t, ${isStart} AS is_start, ${isEnd} AS is_end`,
      ...wrapLines('FROM ', subqueryLines(neighbours, 'ev_n')),
      `WHERE ${isStart} OR ${isEnd}`,
    ];
    if (!s.pairs) return edges;
    return [
      `SELECT user_id, ts, t, is_start, is_end, CASE WHEN is_end THEN t ELSE ${d.nextValue('t', 'user_id', ['t', 'is_end'])} END AS end_t`,
      ...wrapLines('FROM ', subqueryLines(edges, 'ev_e')),
    ];
  }

  /**
   * The same edge rows without window functions, from each user's event times as one
   * sorted array: `gaps[i]` says whether events i and i + 1 are at least a gap apart, so
   * event i starts a session when gaps[i - 1] does (the first always does) and ends one
   * when gaps[i] does (the last always does). The sessions are numbered by the running
   * count of starts, and the k-th end is the end of session k.
   */
  private renderSessionListFromArrays(s: SessionRelation, where: readonly string[]): Lines {
    const d = this.ctx.dialect;
    const a = this.arrays;
    const one = d.booleanLiteral(true);
    const perUser = [
      `SELECT ${EVENTS_ALIAS}.user_id, ${a.sortedGroupArray(`${EVENTS_ALIAS}.ts`)} AS stamps`,
      `FROM ${d.table(TABLES.events)} ${EVENTS_ALIAS}`,
      `WHERE ${where.join(' AND ')}`,
      `GROUP BY ${EVENTS_ALIAS}.user_id`,
    ];
    // Where timestamps are epoch ms already (ClickHouse), the times are the stamps themselves.
    const times = d.epochMs('x') === 'x' ? 'stamps' : a.map(['x'], d.epochMs('x'), ['stamps']);
    const gaps = a.dropFirst(a.map(['x'], `x >= ${d.numberLiteral(s.gapMs)}`, [a.differences(times)]));
    const ends = s.ends || s.pairs;
    const flags = [`${a.prepend(one, gaps)} AS starts`];
    const unnested = [
      { array: 'stamps', alias: 'ts' },
      { array: 'starts', alias: 'is_start' },
    ];
    const columns = ['user_id', 'ts', `${d.epochMs('ts')} AS t`, 'is_start'];
    if (ends) {
      flags.push(`${a.append(gaps, one)} AS ends`);
      unnested.push({ array: 'ends', alias: 'is_end' });
      columns.push('is_end');
    }
    if (s.pairs) {
      // Written out again rather than read by alias: the engine computes equal expressions once.
      flags.push(`${a.cumulativeSum(a.prepend(one, gaps))} AS session_no`, `${a.filter(['x', 'last'], 'last', ['stamps', a.append(gaps, one)])} AS session_ends`);
      unnested.push({ array: 'session_no', alias: 'k' });
      columns.push(`${d.epochMs(a.element('session_ends', 'k'))} AS end_t`);
    }
    const perUserFlags = [`SELECT user_id, stamps, ${flags.join(', ')}`, ...wrapLines('FROM ', subqueryLines(perUser, 'per_user'))];
    return [
      `SELECT ${columns.join(', ')}`,
      ...wrapLines('FROM ', subqueryLines(perUserFlags, 'per_user')),
      a.unnest(unnested),
      `WHERE ${ends ? 'is_start OR is_end' : 'is_start'}`,
    ];
  }

  /** The furthest step of the chain reached per user: the longest of its prefixes with a row. */
  private chainReachedSql(chain: { readonly prefixes: readonly ChainPrefix[] }): string {
    return this.ctx.dialect.aggregate('max', 'level', `prefix IN (${chain.prefixes.map((p) => p.index).join(', ')})`);
  }

  private renderChains(define: RelationDefiner, from: RelationSource): void {
    const d = this.ctx.dialect;
    const asOf = this.ctx.asOfMs;
    const prefixes = [...this.chainPrefixes.values()];
    const time = `${d.epochMs(`${EVENTS_ALIAS}.ts`)} AS t`;

    // The rows of each step used after a first step: nothing before the earliest start can
    // follow one, nor anything from the latest start plus the longest span on.
    for (const step of this.chainSteps.values()) {
      const users = prefixes.filter((p) => p.parent !== null && p.step === step);
      if (users.length === 0) continue;
      const froms = users.map((p) => p.startFrom);
      const from_ = froms.every((x) => x !== null) ? Math.min(...(froms as number[])) : null;
      const ends = users.map((p) => (p.startBefore === null || p.spanMs === null || p.spanMs >= LONGEST_MS ? null : p.startBefore + p.spanMs));
      const end = ends.every((x) => x !== null) ? Math.min(asOf, Math.max(...(ends as number[]))) : asOf;
      define(`sqr${step.index}`, [
        `SELECT ${EVENTS_ALIAS}.user_id, ${time}`,
        `FROM ${d.table(TABLES.events)} ${EVENTS_ALIAS}`,
        ...whereLines([`${EVENTS_ALIAS}.ts < ${this.lit(end)}`, ...(from_ === null ? [] : [`${EVENTS_ALIAS}.ts >= ${this.lit(from_)}`]), ...(step.sql === d.booleanLiteral(true) ? [] : [step.sql])]),
      ]);
    }

    for (const p of prefixes) {
      if (p.parent === null) {
        const w = p.window!;
        const where = [`${EVENTS_ALIAS}.ts < ${this.lit(asOf)}`];
        if (p.step.sql !== d.booleanLiteral(true)) where.push(p.step.sql);
        if (w.kind === 'bounds') {
          if (w.lowerMs !== null) where.push(`${EVENTS_ALIAS}.ts >= ${this.lit(w.lowerMs)}`);
          if (w.upperMs !== null) where.push(`${EVENTS_ALIAS}.ts < ${this.lit(w.upperMs)}`);
        } else where.push(...this.anchoredBounds(`${EVENTS_ALIAS}.ts`, w.anchor.sql, w.durationMs));
        define(`sq${p.index}`, [
          `SELECT ${EVENTS_ALIAS}.user_id, ${d.epochMs(`${EVENTS_ALIAS}.ts`)} AS s, ${time}`,
          ...this.fromLines([`${d.table(TABLES.events)} ${EVENTS_ALIAS}`], EVENTS_ALIAS, this.anchorJoins(w.kind === 'anchored' ? [w.anchor] : [], from)),
          ...whereLines(where),
        ]);
        continue;
      }
      const join = d.nextMatchJoin({ leftKey: 'q.user_id', rightKey: 'r.user_id', leftTime: 'q.t', rightTime: 'r.t' });
      define(`sq${p.index}`, [
        'SELECT q.user_id, q.s, r.t',
        ...wrapLines('FROM ', from(`sq${p.parent.index}`, 'q')),
        ...wrapLines(`${join.keyword} `, from(`sqr${p.step.index}`, 'r'), ` ON ${join.condition}`),
        ...(p.spanMs === null || p.spanMs >= LONGEST_MS ? [] : [`WHERE r.t < q.s + ${d.numberLiteral(p.spanMs)}`]),
      ]);
    }

    for (const last of this.completions) {
      const name = `sqd${last.index}`;
      define(name, [`SELECT user_id, ${d.aggregate('count', null, null)} AS ${this.outName(name, 'starts')}`, ...wrapLines('FROM ', from(`sq${last.index}`)), 'GROUP BY user_id']);
    }
    if (this.chains.size === 0) return;
    // A user's furthest step per chain; users with no start are absent and read as 0.
    const used = prefixes.filter((p) => [...this.chains.values()].some((c) => c.prefixes.includes(p)));
    const reached = used.flatMap((p, i) => [...(i > 0 ? ['UNION ALL'] : []), ...wrapLines(`SELECT user_id, ${p.index} AS prefix, ${p.length} AS level FROM `, from(`sq${p.index}`))]);
    define(RELATIONS.chains, [
      ...selectLines(['user_id', ...[...this.chains.values()].map((c) => `${this.chainReachedSql(c)} AS ${this.outName(RELATIONS.chains, c.column)}`)]),
      ...wrapLines('FROM ', subqueryLines(reached, 'reached')),
      'GROUP BY user_id',
    ]);
  }

  /**
   * A chain without ASOF joins, in one pass over the events: per user, the sorted times of
   * the starts (first step, in the window) and of every later step; then per start, each
   * next step is the first element of its array after the step before (a search that
   * reads the previous time as one more array, see ArrayFunctions), and the start reaches
   * step j when steps 2..j are all found before start + span. Per user: the furthest step
   * of any start, and the starts reaching every step. Users with no start are absent.
   */
  private renderArrayChain(c: ArrayChain, from: RelationSource): Lines {
    const d = this.ctx.dialect;
    const a = this.arrays;
    const E = EVENTS_ALIAS;
    const asOf = this.ctx.asOfMs;
    const w = c.window;
    const t = d.epochMs(`${E}.ts`);
    const conjunction = (parts: readonly string[]) => (parts.length === 0 ? null : parts.join(' AND '));
    const stepSql = (step: ChainStep) => (step.sql === d.booleanLiteral(true) ? [] : [step.sql]);

    const first = [...stepSql(c.steps[0]!)];
    // A window's lower bound holds for every row read (WHERE below): later steps come after a start.
    if (w.kind === 'bounds') {
      if (w.upperMs !== null) first.push(`${E}.ts < ${this.lit(w.upperMs)}`);
    } else first.push(...this.anchoredBounds(`${E}.ts`, w.anchor.sql, w.durationMs));
    // Nothing from the latest start plus the span on can be a later step; nothing before the earliest start.
    const laterEnd = w.kind === 'bounds' && w.upperMs !== null && c.spanMs !== null ? w.upperMs + c.spanMs : null;
    const later = (step: ChainStep) => conjunction([...stepSql(step), ...(laterEnd !== null && laterEnd < asOf ? [`${E}.ts < ${this.lit(laterEnd)}`] : [])]);
    const where = [`${E}.ts < ${this.lit(asOf)}`];
    if (w.kind === 'bounds' && w.lowerMs !== null) where.push(`${E}.ts >= ${this.lit(w.lowerMs)}`);
    if (w.kind === 'anchored') where.push(`${w.anchor.sql} IS NOT NULL`);
    const perUser = [
      ...selectLines([
        `${E}.user_id`,
        `${a.sortedGroupArray(t, conjunction(first))} AS starts`,
        ...c.steps.slice(1).map((step, i) => `${a.sortedGroupArray(t, later(step))} AS steps_${i + 2}`),
      ]),
      ...this.fromLines([`${d.table(TABLES.events)} ${E}`], E, this.anchorJoins(w.kind === 'anchored' ? [w.anchor] : [], from)),
      ...whereLines(where),
      `GROUP BY ${E}.user_id`,
    ];

    // reached[j]: the start reaches step j + 2 (each implies the one before).
    const reached: string[] = [];
    let previous = 's';
    for (let j = 2; j <= c.steps.length; j++) {
      const steps = `steps_${j}`;
      const index = a.firstIndex(['x', 'after'], 'x > after', [steps, a.repeat(previous, steps)]);
      const time = a.element(steps, index);
      const span = c.spanMs === null ? [] : [`${time} < s + ${d.numberLiteral(c.spanMs)}`];
      reached.push(`(${[...reached.slice(-1), `${index} > 0`, ...span].join(' AND ')})`);
      previous = time;
    }
    const level = reached.length === 0 ? d.numberLiteral(1) : `CASE ${reached.map((r, i) => `WHEN ${r} THEN ${d.numberLiteral(i + 2)}`).reverse().join(' ')} ELSE ${d.numberLiteral(1)} END`;
    const perStart = [`SELECT user_id, ${level} AS level`, ...wrapLines('FROM ', subqueryLines(perUser, 'per_user')), a.unnest([{ array: 'starts', alias: 's' }])];
    return [
      ...selectLines([
        'user_id',
        `${d.aggregate('max', 'level', null)} AS ${this.outName(c.name, 'reached')}`,
        `${d.aggregate('count', null, `level = ${d.numberLiteral(c.steps.length)}`)} AS ${this.outName(c.name, 'starts')}`,
      ]),
      ...wrapLines('FROM ', subqueryLines(perStart, 'chain_starts')),
      'GROUP BY user_id',
    ];
  }

  private renderRegular(r: RegularRelation): Lines {
    const d = this.ctx.dialect;
    const k = this.periodIndex(r.periodMs);
    const from = boundedBelow(this.ctx.asOfMs - r.periods * r.periodMs);
    const where = [
      `${EVENTS_ALIAS}.ts < ${this.lit(this.ctx.asOfMs)}`,
      ...(from === null ? [] : [`${EVENTS_ALIAS}.ts >= ${this.lit(from)}`]),
      ...(r.filter.event === null ? [] : [`${EVENTS_ALIAS}.event = ${d.stringLiteral(r.filter.event)}`]),
      ...r.filter.props,
    ];
    // Periods below the smallest threshold count for nothing: drop them before the second grouping.
    const least = Math.min(...r.thresholds.keys());
    const perPeriod = [
      `SELECT ${EVENTS_ALIAS}.user_id, ${k} AS period, ${d.aggregate('count', null, null)} AS n`,
      `FROM ${d.table(TABLES.events)} ${EVENTS_ALIAS}`,
      ...whereLines(where),
      `GROUP BY ${EVENTS_ALIAS}.user_id, ${k}`,
      `HAVING ${d.aggregate('count', null, null)} >= ${d.numberLiteral(least)}`,
    ];
    const counts = [...r.thresholds].map(
      ([times, column]) => `${d.aggregate('count', null, times === least ? null : `n >= ${d.numberLiteral(times)}`)} AS ${this.outName(r.name, column)}`,
    );
    return [...selectLines(['user_id', ...counts]), ...wrapLines('FROM ', subqueryLines(perPeriod, 'per_period')), 'GROUP BY user_id'];
  }
}

function uniqueAnchors(anchors: readonly ColumnRef[]): ColumnRef[] {
  const seen = new Map<string, ColumnRef>();
  for (const a of anchors) seen.set(a.sql, a);
  return [...seen.values()];
}

const RELATION_ORDER = (name: string): number =>
  name === RELATIONS.events ? 0 : name === RELATIONS.anchored ? 1 : name.startsWith('sm') ? 2 : name.startsWith('sq') ? 3 : name.startsWith('rg') ? 4 : 5;

export function orderRelations(relations: Iterable<string>): string[] {
  return [...relations].sort((a, b) => RELATION_ORDER(a) - RELATION_ORDER(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}
