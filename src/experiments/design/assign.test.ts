/**
 * Assignment rules (assign.ts) on their own: bucket ranges, coverage thresholds, the
 * outcome reasons, and the two promises as properties (fast-check): raising coverage
 * never moves a user between variants, and a weight change moves exactly the users whose
 * variant bucket lies between an old and a new bound. Oracle: the rules as written in
 * assign.ts's header (ranges computed by hand below); spec/hash.json holds the
 * hashlib-computed cases (test/experiment-hash.test.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignmentOutcome, assignVariant, coverageThreshold, variantBounds, variantForBucket, type AssignmentDefinition } from './assign.js';
import { hashBucket, HASH_BUCKETS } from './hash.js';

const numRuns = process.env.CI ? 1000 : 200;
const two = (a: number, b: number) => [
  { key: 'control', weight: a },
  { key: 'treatment', weight: b },
];
const def = (coverage: number, variants = two(1, 1), seed = 'exp-1'): AssignmentDefinition => ({ seed, hashVersion: 1, coverage, variants });

describe('variantBounds', () => {
  it('splits [0, 10000) by cumulative weights, rounded half up, last bound 10000', () => {
    expect(variantBounds({ variants: two(1, 1) })).toEqual([
      { key: 'control', from: 0, to: 5000 },
      { key: 'treatment', from: 5000, to: 10000 },
    ]);
    // 1/3 each: 3333.33 -> 3333, 6666.67 -> 6667.
    const thirds = variantBounds({ variants: ['a', 'b', 'c'].map((key) => ({ key, weight: 1 })) });
    expect(thirds.map((r) => [r.from, r.to])).toEqual([
      [0, 3333],
      [3333, 6667],
      [6667, 10000],
    ]);
    expect(variantBounds({ variants: two(0.9, 0.1) }).map((r) => r.to)).toEqual([9000, 10000]);
    // 10000 / 800 = 12.5 exactly: halves go up (Python's round would give 12).
    expect(variantBounds({ variants: two(1, 799) }).map((r) => r.to)).toEqual([13, 10000]);
    // Scale does not matter: 60/40 and 0.6/0.4 are the same split.
    expect(variantBounds({ variants: two(60, 40) })).toEqual(variantBounds({ variants: two(0.6, 0.4) }));
  });

  it('gives a weight too small for one bucket an empty range rather than a negative one', () => {
    const r = variantBounds({ variants: [{ key: 'a', weight: 1 }, { key: 'tiny', weight: 1e-9 }, { key: 'c', weight: 1 }] });
    expect(r.map((x) => [x.key, x.from, x.to])).toEqual([
      ['a', 0, 5000],
      ['tiny', 5000, 5000],
      ['c', 5000, 10000],
    ]);
    expect(variantForBucket(r, 5000)).toBe('c');
  });

  it('rejects non-positive weights and empty variant lists with the variant named', () => {
    expect(() => variantBounds({ variants: [] })).toThrow(/at least one variant/);
    expect(() => variantBounds({ variants: two(1, 0) })).toThrow(/variants\[1\] \(treatment\): weight must be a positive/);
    expect(() => variantBounds({ variants: two(Number.NaN, 1) })).toThrow(/variants\[0\]/);
  });

  it('always tiles [0, 10000) in order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 12 }), (weights) => {
        const r = variantBounds({ variants: weights.map((weight, i) => ({ key: `v${i}`, weight })) });
        expect(r[0]!.from).toBe(0);
        expect(r[r.length - 1]!.to).toBe(HASH_BUCKETS);
        r.forEach((x, i) => {
          expect(x.to).toBeGreaterThanOrEqual(x.from);
          if (i > 0) expect(x.from).toBe(r[i - 1]!.to);
        });
      }),
      { numRuns },
    );
  });
});

describe('coverageThreshold', () => {
  it('is round(coverage * 10000), halves up, and checks its range', () => {
    expect(coverageThreshold(1)).toBe(10000);
    expect(coverageThreshold(0.2)).toBe(2000);
    expect(coverageThreshold(0.00125)).toBe(13);
    expect(coverageThreshold(0.00001)).toBe(0);
    expect(() => coverageThreshold(0)).toThrow(/coverage must be in \(0, 1\], got 0/);
    expect(() => coverageThreshold(1.5)).toThrow(/got 1.5/);
  });
});

describe('assignVariant', () => {
  it('hashes coverage and variant separately and picks the variant from its own bucket', () => {
    const a = assignVariant(def(0.5), 'alice');
    expect(a.coverageBucket).toBe(hashBucket('exp-1', 'coverage', 'alice'));
    expect(a.variantBucket).toBe(hashBucket('exp-1', 'variant', 'alice'));
    expect(a.covered).toBe(a.coverageBucket < 5000);
    expect(a.variant).toBe(a.variantBucket < 5000 ? 'control' : 'treatment');
  });

  it('raising coverage never moves a user out or between variants (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.integer({ min: 1, max: 10000 }),
        fc.integer({ min: 1, max: 10000 }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 5 }),
        (userId, x, y, weights) => {
          const [c1, c2] = [Math.min(x, y) / 10000, Math.max(x, y) / 10000];
          const variants = weights.map((weight, i) => ({ key: `v${i}`, weight }));
          const at1 = assignVariant(def(c1, variants), userId);
          const at2 = assignVariant(def(c2, variants), userId);
          if (at1.covered) expect(at2.covered).toBe(true);
          expect(at2.variant).toBe(at1.variant);
        },
      ),
      { numRuns },
    );
  });

  it('a weight change moves exactly the users between an old and a new bound (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 99 }), (userId, p, q) => {
        const before = assignVariant(def(1, two(p, 100 - p)), userId);
        const after = assignVariant(def(1, two(q, 100 - q)), userId);
        const lo = Math.min(p, q) * 100;
        const hi = Math.max(p, q) * 100;
        const between = before.variantBucket >= lo && before.variantBucket < hi;
        expect(after.variant !== before.variant).toBe(between);
      }),
      { numRuns },
    );
  });

  it('50/50 to 60/40 moves 10% of users, all from treatment to control (10,000 ids)', () => {
    let moved = 0;
    for (let i = 0; i < 10000; i++) {
      const id = `user-${i}`;
      const before = assignVariant(def(1, two(50, 50)), id).variant;
      const after = assignVariant(def(1, two(60, 40)), id).variant;
      if (before !== after) {
        moved++;
        expect([before, after]).toEqual(['treatment', 'control']);
      }
    }
    // Binomial(10000, 0.1): sd 30; 5 sd either side.
    expect(Math.abs(moved - 1000)).toBeLessThan(150);
  });

  it('rejects an unknown hash version', () => {
    expect(() => assignVariant({ ...def(1), hashVersion: 2 as 1 }, 'a')).toThrow(/unknown hash version 2/);
  });
});

describe('assignmentOutcome', () => {
  const full = { ...def(0.5), startMs: 1000, stopMs: 2000 };
  // An id inside coverage and one outside, found from the hash itself.
  const ids = Array.from({ length: 100 }, (_, i) => `u${i}`);
  const inside = ids.find((id) => assignVariant(full, id).covered)!;
  const outside = ids.find((id) => !assignVariant(full, id).covered)!;

  it('reports the first reason that applies, with the buckets and the would-be variant', () => {
    const a = assignVariant(full, inside);
    const buckets = { coverageBucket: a.coverageBucket, variantBucket: a.variantBucket };
    expect(assignmentOutcome(full, inside, { asOfMs: 1500, targeted: true })).toEqual({ inExperiment: true, variant: a.variant, ...buckets });
    expect(assignmentOutcome(full, inside, { asOfMs: 999, targeted: false })).toEqual({ inExperiment: false, reason: 'not-started', ...buckets, wouldBe: a.variant });
    expect(assignmentOutcome(full, inside, { asOfMs: 2000, targeted: false })).toMatchObject({ reason: 'stopped' });
    expect(assignmentOutcome(full, inside, { asOfMs: 1000, targeted: false })).toMatchObject({ reason: 'not-targeted' });
    expect(assignmentOutcome(full, outside, { asOfMs: 1999, targeted: true })).toMatchObject({
      inExperiment: false,
      reason: 'outside-coverage',
      wouldBe: assignVariant(full, outside).variant,
    });
    expect(assignmentOutcome({ ...full, stopMs: null }, inside, { asOfMs: 1e15, targeted: true })).toMatchObject({ inExperiment: true });
  });
});
