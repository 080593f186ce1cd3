/**
 * Terse IR builders for the compiler's tests (the language front end is not needed to
 * write a node by hand).
 */
import type { Anchor, Comparison, Condition, EventFilter, Literal, PropertyPredicate, SegmentIR, ValueType, Window } from '../../ir/nodes.js';
import { MS } from '../../../time/time.js';

export const str = (value: string): Literal => ({ kind: 'string', value });
export const num = (value: number): Literal => ({ kind: 'number', value });
export const bool = (value: boolean): Literal => ({ kind: 'boolean', value });
export const at = (epochMs: number): Literal => ({ kind: 'timestamp', epochMs });
export const rel = (offsetMs: number): Literal => ({ kind: 'relativeTime', offsetMs });
export const dur = (ms: number): Literal => ({ kind: 'duration', ms });

type ValueOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'contains' | 'startsWith';
export const cmp = (op: ValueOp, value: Literal): Comparison => ({ op, value }) as Comparison;
export const inList = (...values: Literal[]): Comparison => ({ op: 'in', values });
export const notIn = (...values: Literal[]): Comparison => ({ op: 'notIn', values });
export const between = (lo: Literal, hi: Literal): Comparison => ({ op: 'between', lo, hi });
export const exists = (value: boolean): Comparison => ({ op: 'exists', value });
export const gte = (n: number): Comparison => cmp('gte', num(n));

export const prop = (property: string, type: ValueType, c: Comparison): PropertyPredicate => ({ property, type, cmp: c });
export const on = (event: string | null, ...where: PropertyPredicate[]): EventFilter => ({ event, where });

export const all: Window = { kind: 'all' };
export const within = (ms: number): Window => ({ kind: 'relative', startMs: ms, endMs: 0 });
export const during = (fromMs: number, toMs: number | null): Window => ({ kind: 'absolute', fromMs, toMs });
export const afterEvent = (filter: EventFilter, durationMs: number): Window => ({ kind: 'anchored', anchor: { kind: 'event', filter } as Anchor, durationMs });
export const afterTrait = (trait: string, durationMs: number): Window => ({ kind: 'anchored', anchor: { kind: 'trait', trait }, durationMs });

export const and = (...children: Condition[]): Condition => ({ kind: 'and', children });
export const or = (...children: Condition[]): Condition => ({ kind: 'or', children });
export const not = (child: Condition): Condition => ({ kind: 'not', child });
export const trait = (name: string, type: ValueType, c: Comparison): Condition => ({ kind: 'trait', trait: name, type, cmp: c });
export const did = (filter: EventFilter, window: Window = all, c: Comparison = gte(1)): Condition => ({ kind: 'eventCount', filter, window, cmp: c });

export const segment = (key: string, root: Condition): SegmentIR => ({ key, root });

export const DAY = MS.d;
export const HOUR = MS.h;
export const MINUTE = MS.m;
