/**
 * Comparisons under the IR's two-valued logic (segments/ir/nodes.ts, `Comparison`): a
 * missing operand makes every operator false except `exists: false`.
 */
import type { Comparison, Literal } from '../ir/nodes.js';
import type { MemoryValue } from './memory-dataset.js';

/**
 * Order two strings by Unicode code point, as SQL engines do on UTF-8 bytes. JavaScript's
 * `<` orders UTF-16 code units, which puts astral characters (surrogate pairs, D800-DFFF)
 * before U+E000..U+FFFF; shifting the code units at the first difference restores
 * code point order without decoding either string.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixup(x) - fixup(y);
  }
  return a.length - b.length;
}

function fixup(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

/** A literal's value in the evaluator's terms: instants and durations become milliseconds. */
export function literalValue(literal: Literal, asOfMs: number): MemoryValue {
  switch (literal.kind) {
    case 'string':
    case 'number':
    case 'boolean':
      return literal.value;
    case 'timestamp':
      return literal.epochMs;
    case 'relativeTime':
      return asOfMs + literal.offsetMs;
    case 'duration':
      return literal.ms;
  }
}

/** Sign of a - b, or undefined when the two values are not of one type (never equal, never ordered). */
export function compareValues(a: MemoryValue, b: MemoryValue): number | undefined {
  if (typeof a === 'string') return typeof b === 'string' ? Math.sign(compareCodePoints(a, b)) : undefined;
  if (typeof a === 'number') return typeof b === 'number' ? Math.sign(a - b) : undefined;
  return typeof b === 'boolean' ? Number(a) - Number(b) : undefined;
}

/** Apply one comparison to an operand that may be missing. */
export function applyComparison(cmp: Comparison, operand: MemoryValue | undefined, asOfMs: number): boolean {
  if (cmp.op === 'exists') return (operand !== undefined) === cmp.value;
  if (operand === undefined) return false;
  switch (cmp.op) {
    case 'eq':
    case 'ne':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const c = compareValues(operand, literalValue(cmp.value, asOfMs));
      if (c === undefined) return false;
      if (cmp.op === 'eq') return c === 0;
      if (cmp.op === 'ne') return c !== 0;
      if (cmp.op === 'gt') return c > 0;
      if (cmp.op === 'gte') return c >= 0;
      if (cmp.op === 'lt') return c < 0;
      return c <= 0;
    }
    case 'in':
    case 'notIn': {
      let found = false;
      for (const v of cmp.values) {
        const c = compareValues(operand, literalValue(v, asOfMs));
        if (c === undefined) return false;
        if (c === 0) found = true;
      }
      return cmp.op === 'in' ? found : !found;
    }
    case 'between': {
      const lo = compareValues(operand, literalValue(cmp.lo, asOfMs));
      const hi = compareValues(operand, literalValue(cmp.hi, asOfMs));
      return lo !== undefined && hi !== undefined && lo >= 0 && hi <= 0;
    }
    case 'contains':
    case 'startsWith': {
      const needle = literalValue(cmp.value, asOfMs);
      if (typeof operand !== 'string' || typeof needle !== 'string') return false;
      return cmp.op === 'contains' ? operand.includes(needle) : operand.startsWith(needle);
    }
  }
}
