import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Comparison, Literal } from '../ir/nodes.js';
import { applyComparison, compareCodePoints } from './compare.js';

const num = (value: number): Literal => ({ kind: 'number', value });
const str = (value: string): Literal => ({ kind: 'string', value });

describe('compareCodePoints', () => {
  it('orders an astral character after U+FFFD, unlike UTF-16 code units', () => {
    // Oracle: UTF-8 byte order (Buffer.compare), which is code point order by construction of UTF-8.
    expect(Buffer.compare(Buffer.from('\u{1F600}'), Buffer.from('\uFFFD'))).toBe(1);
    expect('\u{1F600}' < '\uFFFD').toBe(true);
    expect(compareCodePoints('\u{1F600}', '\uFFFD')).toBeGreaterThan(0);
  });

  it('agrees with the sign of Buffer.compare on UTF-8 for arbitrary strings', () => {
    // Oracle: Buffer.compare on UTF-8 bytes; well-formed strings only (lone surrogates have no UTF-8 form).
    const wellFormed = fc.string({ unit: 'binary', maxLength: 6 });
    fc.assert(
      fc.property(wellFormed, wellFormed, (a, b) => {
        expect(Math.sign(compareCodePoints(a, b))).toBe(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
      }),
      { numRuns: 500 },
    );
  });
});

describe('applyComparison', () => {
  const asOf = Date.UTC(2024, 5, 1);
  const every: Comparison[] = [
    { op: 'eq', value: num(1) },
    { op: 'ne', value: num(1) },
    { op: 'gt', value: num(1) },
    { op: 'gte', value: num(1) },
    { op: 'lt', value: num(1) },
    { op: 'lte', value: num(1) },
    { op: 'in', values: [num(1)] },
    { op: 'notIn', values: [num(1)] },
    { op: 'between', lo: num(0), hi: num(2) },
    { op: 'contains', value: str('a') },
    { op: 'startsWith', value: str('a') },
    { op: 'exists', value: true },
  ];

  it('is false on a missing operand for every operator but exists: false (nodes.ts, Comparison)', () => {
    for (const cmp of every) expect(applyComparison(cmp, undefined, asOf), cmp.op).toBe(false);
    expect(applyComparison({ op: 'exists', value: false }, undefined, asOf)).toBe(true);
    expect(applyComparison({ op: 'exists', value: false }, 0, asOf)).toBe(false);
  });

  it('treats between as inclusive at both ends (DESIGN.md: between is [lo, hi])', () => {
    const cmp: Comparison = { op: 'between', lo: num(10), hi: num(50) };
    expect([9, 10, 30, 50, 51].map((v) => applyComparison(cmp, v, asOf))).toEqual([false, true, true, true, false]);
  });

  it('resolves a relative instant against asOf (DESIGN.md: -30d means asOf - 30d)', () => {
    const cmp: Comparison = { op: 'gte', value: { kind: 'relativeTime', offsetMs: -30 * 86_400_000 } };
    expect(applyComparison(cmp, asOf - 30 * 86_400_000, asOf)).toBe(true);
    expect(applyComparison(cmp, asOf - 30 * 86_400_000 - 1, asOf)).toBe(false);
  });

  it('orders strings by code point for gt and between', () => {
    expect(applyComparison({ op: 'gt', value: str('\uFFFD') }, '\u{1F600}', asOf)).toBe(true);
    expect(applyComparison({ op: 'between', lo: str('a'), hi: str('\uFFFF') }, '\u{10000}', asOf)).toBe(false);
  });

  it('matches contains and startsWith case-sensitively', () => {
    expect(applyComparison({ op: 'contains', value: str('Pro') }, 'the pro plan', asOf)).toBe(false);
    expect(applyComparison({ op: 'contains', value: str('pro') }, 'the pro plan', asOf)).toBe(true);
    expect(applyComparison({ op: 'startsWith', value: str('the') }, 'the pro plan', asOf)).toBe(true);
    expect(applyComparison({ op: 'startsWith', value: str('pro') }, 'the pro plan', asOf)).toBe(false);
  });

  it('keeps notIn false on a missing value but true on a present value outside the list', () => {
    const cmp: Comparison = { op: 'notIn', values: [str('a'), str('b')] };
    expect(applyComparison(cmp, 'c', asOf)).toBe(true);
    expect(applyComparison(cmp, 'a', asOf)).toBe(false);
  });
});
