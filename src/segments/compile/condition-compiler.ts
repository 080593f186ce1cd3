/**
 * Conditions to boolean SQL over the batch plan's relations, with a visitor keyed by node
 * kind: a new kind breaks the build here until it is compiled.
 *
 * Every compiled condition is a never-NULL boolean (two-valued logic), so `not` is plain
 * negation. Alongside the SQL it carries `requires`: relations a user must appear in for
 * the condition to hold. A user absent from a relation reads all its columns as NULL, so a
 * leaf requires its relation when the leaf is false on an empty measure; `and` requires
 * what any child requires, `or` what every child requires, `not` nothing. The member list
 * of a segment starts from such a relation instead of from the whole population.
 */
import { visit, type Comparison, type Condition, type ConditionVisitor, type EventFilter, type Literal, type Window } from '../ir/nodes.js';
import type { BatchPlan, ColumnRef, MeasureRef } from './batch-plan.js';
import { comparisonOnEmpty, comparisonSql, twoValuedComparison } from './comparison-sql.js';
import type { AggregateFunction } from './dialect.js';
import { consentRecordFilter } from '../ir/consent-filters.js';

export interface CompiledCondition {
  readonly sql: string;
  /** Relations the SQL reads. */
  readonly relations: ReadonlySet<string>;
  /** Relations a user must appear in for the condition to be true. */
  readonly requires: ReadonlySet<string>;
}

/**
 * `value`: a never-NULL boolean, for a batch's columns and anything under `not`.
 * `filter`: only whether the condition is true matters (a member query's WHERE, outside any
 * `not`): a NULL filters a row out exactly like false, and AND / OR of leaves that are true
 * or not-true is true exactly when the two-valued result is, so leaves can stay bare
 * comparisons that the engine pushes into its scans.
 */
export type ConditionUse = 'value' | 'filter';

export function compileCondition(node: Condition, plan: BatchPlan, use: ConditionUse = 'value'): CompiledCondition {
  return visit(node, conditionVisitor(plan, use));
}

function conditionVisitor(plan: BatchPlan, use: ConditionUse): ConditionVisitor<CompiledCondition> {
  const d = plan.ctx.dialect;
  const asOfMs = plan.ctx.asOfMs;
  const self = (n: Condition) => visit(n, visitor);

  /** A comparison on a measure: counts read an absent row as 0, values as missing. */
  const leaf = (operand: string, ref: ColumnRef, empty: 'zero' | 'missing', cmp: Comparison, anchor: ColumnRef | null = null): CompiledCondition => {
    const onEmpty = comparisonOnEmpty(cmp, empty);
    // An absent count is 0, unless the comparison is false at 0 anyway and NULL may stand for false.
    const bare = use === 'filter' && cmp.op !== 'exists' && (empty === 'missing' || onEmpty === false);
    const value = empty === 'zero' && !bare ? `coalesce(${operand}, 0)` : operand;
    let sql = bare ? comparisonSql(value, cmp, plan.ctx) : twoValuedComparison(value, empty === 'missing', cmp, plan.ctx);
    const relations = new Set([ref.relation]);
    const requires = new Set<string>(onEmpty === false ? [ref.relation] : []);
    if (anchor !== null) {
      // No anchor, no match: whatever the comparison would say about an empty window.
      sql = `(${anchor.sql} IS NOT NULL AND ${sql})`;
      relations.add(anchor.relation);
      requires.add(anchor.relation);
    }
    return { sql, relations, requires };
  };
  const measure = (m: MeasureRef, empty: 'zero' | 'missing', cmp: Comparison, operand: string = m.value.sql) => leaf(operand, m.value, empty, cmp, m.anchor);
  const events = (fn: AggregateFunction, arg: string | null, filter: EventFilter, window: Window) => plan.eventMeasure(fn, arg, filter, window);
  const sinceAsOf = (timestamp: string) => `(${d.numberLiteral(asOfMs)} - ${d.epochMs(timestamp)})`;
  const atLeast = (n: number): Comparison => ({ op: 'gte', value: { kind: 'number', value: n } });

  const visitor: ConditionVisitor<CompiledCondition> = {
    and: (n) => combine(n.children.map(self), 'AND', d.booleanLiteral(true)),
    or: (n) => combine(n.children.map(self), 'OR', d.booleanLiteral(false)),
    not: (n) => {
      const c = compileCondition(n.child, plan, 'value');
      return { sql: `(NOT ${c.sql})`, relations: c.relations, requires: new Set() };
    },
    trait: (n) => {
      const ref = plan.trait(n.trait);
      return leaf(ref.sql, ref, 'missing', n.cmp);
    },
    eventCount: (n) => measure(events('count', null, n.filter, n.window), 'zero', n.cmp),
    aggregate: (n) =>
      n.fn === 'distinct'
        ? measure(events('countDistinct', plan.propertyColumn(n.property), n.filter, n.window), 'zero', n.cmp)
        : measure(events(n.fn, plan.propertyColumn(n.property), n.filter, n.window), 'missing', n.cmp),
    activeDays: (n) => measure(events('countDistinct', d.utcDay(plan.eventTimestamp()), n.filter, n.window), 'zero', n.cmp),
    lastSeen: (n) => {
      // Only a last event at or after asOf - (the longest duration that can match) matters.
      const longest = durationBound(n.cmp, 'upper');
      const cut = longest === null ? null : { lowerMs: asOfMs - longest, upperMs: null };
      const m = plan.eventMeasure('max', plan.eventTimestamp(), n.filter, n.window, cut);
      return measure(m, 'missing', n.cmp, sinceAsOf(m.value.sql));
    },
    firstSeen: (n) => {
      if (n.filter.event === null && n.filter.where.length === 0 && n.window.kind === 'all') {
        // The first event of any name over all history is in the population index: no pass over the events.
        const first = plan.firstEventBeforeAsOf();
        return leaf(sinceAsOf(first.sql), first, 'missing', n.cmp);
      }
      // Only a first event at or before asOf - (the shortest duration that can match) matters.
      const shortest = durationBound(n.cmp, 'lower');
      const cut = shortest === null ? null : { lowerMs: null, upperMs: asOfMs - shortest + 1 };
      const m = plan.eventMeasure('min', plan.eventTimestamp(), n.filter, n.window, cut);
      return measure(m, 'missing', n.cmp, sinceAsOf(m.value.sql));
    },
    sequence: (n) => {
      if (n.steps.length === 0) return anchorOnly(plan, n.window, d.booleanLiteral(true));
      return measure(plan.chainCompleted(n.steps, n.spanMs, n.window), 'zero', atLeast(1));
    },
    funnel: (n) => {
      if (n.steps.length === 0) return anchorOnly(plan, n.window, twoValuedComparison(d.numberLiteral(0), false, n.cmp, plan.ctx));
      return measure(plan.chainReached(n.steps, n.spanMs, n.window), 'zero', n.cmp);
    },
    regularly: (n) => {
      // Zero times a period holds in every period, whatever happened.
      if (n.times <= 0) return { sql: d.booleanLiteral(n.periods >= n.atLeast), relations: new Set(), requires: new Set() };
      const ref = plan.periodsWithEvents(n.filter, n.periodMs, n.periods, n.times);
      return leaf(ref.sql, ref, 'zero', atLeast(n.atLeast));
    },
    sessions: (n) => measure(plan.sessionMeasure(n.gapMs, 'count', n.window), 'zero', n.cmp),
    sessionDuration: (n) => measure(plan.sessionMeasure(n.gapMs, n.stat, n.window), 'missing', n.cmp),
    score: (n) => modelLeaf(plan.modelValue(n.model, n.measure), n.cmp),
    cluster: (n) => modelLeaf(plan.modelValue(n.model, 'cluster'), n.cmp),
    consent: (n) => {
      // The latest granting and the latest denying record before asOf, two more aggregates of the shared pass.
      const last = (granted: boolean) => plan.eventMeasure('max', plan.eventTimestamp(), consentRecordFilter(n.purpose, granted), { kind: 'all' }).value;
      const grant = last(true);
      const deny = last(false);
      const grantWins = `(${grant.sql} IS NOT NULL AND (${deny.sql} IS NULL OR ${grant.sql} > ${deny.sql}))`;
      const relations = new Set([grant.relation, deny.relation]);
      // Granted by default: only a denial not overtaken by a later grant says no. A user absent from the pass has neither.
      if (n.defaultGranted) return { sql: `(${deny.sql} IS NULL OR ${grantWins})`, relations, requires: new Set() };
      return { sql: grantWins, relations, requires: new Set([grant.relation]) };
    },
  };

  /**
   * A comparison on a model's value, missing for users the run did not score. It requires
   * nothing: a scored user may be outside the population (a run as of an earlier instant,
   * an erased user), so the scores never serve as a member list's base. No run as of asOf:
   * every value is missing, so the comparison is a constant (false; `exists: false` true).
   */
  const modelLeaf = (ref: ColumnRef | null, cmp: Comparison): CompiledCondition => {
    if (ref === null) return { sql: d.booleanLiteral(comparisonOnEmpty(cmp, 'missing') === true), relations: new Set(), requires: new Set() };
    const bare = use === 'filter' && cmp.op !== 'exists';
    const sql = bare ? comparisonSql(ref.sql, cmp, plan.ctx) : twoValuedComparison(ref.sql, true, cmp, plan.ctx);
    return { sql, relations: new Set([ref.relation]), requires: new Set() };
  };
  return visitor;
}

/**
 * For a comparison on a duration: the largest (`upper`) or smallest (`lower`) duration in ms
 * for which it can hold, or null when it can hold for arbitrarily long (short) ones or for
 * a missing value. A comparison that can never hold may get any bound.
 */
export function durationBound(cmp: Comparison, side: 'upper' | 'lower'): number | null {
  const ms = (l: Literal): number | null => (l.kind === 'duration' ? l.ms : l.kind === 'number' ? l.value : null);
  const finite = (v: number | null) => (v !== null && Number.isSafeInteger(v) ? v : null);
  switch (cmp.op) {
    case 'eq':
      return finite(ms(cmp.value));
    case 'lt':
    case 'lte':
      return side === 'upper' ? finite(ms(cmp.value)) : null;
    case 'gt':
    case 'gte':
      return side === 'lower' ? finite(ms(cmp.value)) : null;
    case 'between':
      return finite(ms(side === 'upper' ? cmp.hi : cmp.lo));
    case 'in': {
      const vs = cmp.values.map((v) => finite(ms(v)));
      if (vs.length === 0 || vs.some((v) => v === null)) return null;
      return side === 'upper' ? Math.max(...(vs as number[])) : Math.min(...(vs as number[]));
    }
    default:
      return null;
  }
}

/** A chain of no steps: its value does not depend on events, but an anchored window still needs its anchor. */
function anchorOnly(plan: BatchPlan, window: Window, sql: string): CompiledCondition {
  if (window.kind !== 'anchored') return { sql, relations: new Set(), requires: new Set() };
  const anchor =
    window.anchor.kind === 'trait'
      ? plan.trait(window.anchor.trait)
      : plan.eventMeasure('min', plan.eventTimestamp(), window.anchor.filter, { kind: 'all' }).value;
  return { sql: `(${anchor.sql} IS NOT NULL AND ${sql})`, relations: new Set([anchor.relation]), requires: new Set([anchor.relation]) };
}

function combine(children: readonly CompiledCondition[], op: 'AND' | 'OR', identity: string): CompiledCondition {
  if (children.length === 0) return { sql: identity, relations: new Set(), requires: new Set() };
  const relations = new Set(children.flatMap((c) => [...c.relations]));
  const requires =
    op === 'AND'
      ? new Set(children.flatMap((c) => [...c.requires]))
      : new Set([...children[0]!.requires].filter((r) => children.every((c) => c.requires.has(r))));
  const sql = children.length === 1 ? children[0]!.sql : `(${children.map((c) => c.sql).join(` ${op} `)})`;
  return { sql, relations, requires };
}
