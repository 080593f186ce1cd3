/**
 * Literals and comparisons in SQL, and what a comparison gives on an empty measure
 * (which the compiler uses to know which relation a member must appear in).
 */
import type { Comparison, Literal } from '../ir/nodes.js';
import type { SqlDialect } from './dialect.js';

export interface SqlContext {
  readonly dialect: SqlDialect;
  readonly asOfMs: number;
}

export function literalSql(lit: Literal, ctx: SqlContext): string {
  const d = ctx.dialect;
  switch (lit.kind) {
    case 'string':
      return d.stringLiteral(lit.value);
    case 'number':
      return d.numberLiteral(lit.value);
    case 'boolean':
      return d.booleanLiteral(lit.value);
    case 'timestamp':
      return d.timestampLiteral(lit.epochMs);
    case 'relativeTime':
      return d.timestampLiteral(ctx.asOfMs + lit.offsetMs);
    case 'duration':
      // Duration measures (lastSeen, firstSeen, sessionDuration) are compiled to milliseconds.
      return d.numberLiteral(lit.ms);
  }
}

/**
 * The comparison as SQL. It is NULL when the operand is NULL (except `exists`), which
 * filters and CASE branches treat as false; `twoValued` closes it for boolean logic.
 */
export function comparisonSql(operand: string, cmp: Comparison, ctx: SqlContext): string {
  const lit = (l: Literal) => literalSql(l, ctx);
  switch (cmp.op) {
    case 'eq':
      return `${operand} = ${lit(cmp.value)}`;
    case 'ne':
      return `${operand} <> ${lit(cmp.value)}`;
    case 'gt':
      return `${operand} > ${lit(cmp.value)}`;
    case 'gte':
      return `${operand} >= ${lit(cmp.value)}`;
    case 'lt':
      return `${operand} < ${lit(cmp.value)}`;
    case 'lte':
      return `${operand} <= ${lit(cmp.value)}`;
    case 'in':
      // An empty list matches nothing, a missing operand included.
      return cmp.values.length === 0 ? ctx.dialect.booleanLiteral(false) : `${operand} IN (${cmp.values.map(lit).join(', ')})`;
    case 'notIn':
      // Missing stays false under notIn, even against an empty list.
      return cmp.values.length === 0 ? `${operand} IS NOT NULL` : ctx.dialect.notIn(operand, cmp.values.map(lit));
    case 'between':
      return `${operand} BETWEEN ${lit(cmp.lo)} AND ${lit(cmp.hi)}`;
    case 'contains':
      return ctx.dialect.contains(operand, lit(cmp.value));
    case 'startsWith':
      return ctx.dialect.startsWith(operand, lit(cmp.value));
    case 'exists':
      return cmp.value ? `${operand} IS NOT NULL` : `${operand} IS NULL`;
  }
}

/** A comparison that is never NULL: missing compares false. */
export function twoValuedComparison(operand: string, operandNullable: boolean, cmp: Comparison, ctx: SqlContext): string {
  const sql = comparisonSql(operand, cmp, ctx);
  if (!operandNullable || cmp.op === 'exists' || (cmp.op === 'in' && cmp.values.length === 0)) return sql;
  return `coalesce(${sql}, ${ctx.dialect.booleanLiteral(false)})`;
}

/**
 * What the comparison gives when the measure is empty: 0 for counts, missing for values.
 * `undefined` means "cannot tell", which callers must treat as "may be true".
 */
export function comparisonOnEmpty(cmp: Comparison, empty: 'zero' | 'missing'): boolean | undefined {
  if (cmp.op === 'exists') return empty === 'zero' ? cmp.value : !cmp.value;
  if (empty === 'missing') return false;
  const num = (l: Literal): number | undefined => (l.kind === 'number' ? l.value : l.kind === 'duration' ? l.ms : undefined);
  const test = (l: Literal, f: (v: number) => boolean): boolean | undefined => {
    const v = num(l);
    return v === undefined ? undefined : f(v);
  };
  switch (cmp.op) {
    case 'eq':
      return test(cmp.value, (v) => v === 0);
    case 'ne':
      return test(cmp.value, (v) => v !== 0);
    case 'gt':
      return test(cmp.value, (v) => 0 > v);
    case 'gte':
      return test(cmp.value, (v) => 0 >= v);
    case 'lt':
      return test(cmp.value, (v) => 0 < v);
    case 'lte':
      return test(cmp.value, (v) => 0 <= v);
    case 'in':
    case 'notIn': {
      const vs = cmp.values.map(num);
      if (vs.some((v) => v === undefined)) return undefined;
      const hit = vs.includes(0);
      return cmp.op === 'in' ? hit : !hit;
    }
    case 'between': {
      const lo = num(cmp.lo);
      const hi = num(cmp.hi);
      return lo === undefined || hi === undefined ? undefined : lo <= 0 && 0 <= hi;
    }
    case 'contains':
    case 'startsWith':
      return undefined;
  }
}
