/**
 * One line of plain words per moment rule, for `strata moments list` and `show`:
 * "first core_task_completed strictly after the first signed_up, within 7d".
 */
import type { Anchor, Comparison, EventFilter, Literal, PropertyPredicate } from '../../segments/ir/nodes.js';
import { formatDuration, formatInstant } from '../../time/time.js';
import type { MomentRule } from './moments-config.js';

export function describeMomentRule(rule: MomentRule): string {
  switch (rule.kind) {
    case 'first': {
      const head = `first ${describeFilter(rule.filter)}`;
      if (rule.after === null) return head;
      const within = rule.withinMs === null ? '' : `, within ${formatDuration(rule.withinMs)}`;
      return `${head} strictly after ${describeAnchor(rule.after)}${within}`;
    }
    case 'threshold': {
      const period = rule.per === 'month' ? 'one calendar month (UTC)' : 'one ISO week (UTC, Monday to Sunday)';
      return rule.measure === 'activeDays'
        ? `${describeFilter(rule.filter)} on ${rule.n} distinct day${rule.n === 1 ? '' : 's'} of ${period}`
        : `${describeFilter(rule.filter)} ${rule.n} time${rule.n === 1 ? '' : 's'} in ${period}`;
    }
    case 'absence':
      return `${formatDuration(rule.withinMs)} after ${describeAnchor(rule.after)} with no ${describeFilter(rule.filter)}`;
  }
}

function describeFilter(filter: EventFilter): string {
  const name = filter.event === null ? 'event of any name' : filter.event;
  return filter.where.length === 0 ? name : `${name} where ${filter.where.map(describePredicate).join(' and ')}`;
}

function describeAnchor(anchor: Anchor): string {
  return anchor.kind === 'trait' ? `trait ${anchor.trait}` : `the first ${describeFilter(anchor.filter)}`;
}

function describePredicate(p: PropertyPredicate): string {
  return `${p.property} ${describeComparison(p.cmp)}`;
}

const SYMBOLS = { eq: '=', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

function describeComparison(cmp: Comparison): string {
  switch (cmp.op) {
    case 'eq':
    case 'ne':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return `${SYMBOLS[cmp.op]} ${describeLiteral(cmp.value)}`;
    case 'in':
      return `in [${cmp.values.map(describeLiteral).join(', ')}]`;
    case 'notIn':
      return `not in [${cmp.values.map(describeLiteral).join(', ')}]`;
    case 'between':
      return `between ${describeLiteral(cmp.lo)} and ${describeLiteral(cmp.hi)}`;
    case 'contains':
      return `contains ${describeLiteral(cmp.value)}`;
    case 'startsWith':
      return `starts with ${describeLiteral(cmp.value)}`;
    case 'exists':
      return cmp.value ? 'is present' : 'is missing';
  }
}

function describeLiteral(lit: Literal): string {
  switch (lit.kind) {
    case 'string':
      return JSON.stringify(lit.value);
    case 'number':
      return String(lit.value);
    case 'boolean':
      return String(lit.value);
    case 'timestamp':
      return formatInstant(lit.epochMs);
    case 'relativeTime':
      return `asOf${lit.offsetMs < 0 ? '-' : '+'}${formatDuration(Math.abs(lit.offsetMs))}`;
    case 'duration':
      return formatDuration(lit.ms);
  }
}
