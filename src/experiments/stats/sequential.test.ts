/**
 * Oracles: the confidence-sequence formula of issue 5 (Waudby-Smith et al., arXiv 2103.06476)
 * evaluated independently in python (power-bayes-oracle.py) on random inputs from fast-check;
 * the defining property of the always-valid p-value (at alpha = p the interval touches 0);
 * and, as a sanity bound, the sequence is wider than the fixed-horizon normal interval.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { StrataError } from '../../errors/errors.js';
import { isDegenerate } from './result.js';
import { sequentialHalfWidth, sequentialPValue, sequentialTest, type SequentialResult } from './sequential.js';

const PYTHON = '/usr/bin/python3';
const ORACLE = path.resolve(import.meta.dirname, 'power-bayes-oracle.py');

function pythonPresent(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import scipy.stats'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const message = `sequential python oracle test: ${PYTHON} with scipy is missing; .ci/run installs python3-scipy`;
  if (process.env.CI) throw new Error(message);
  console.warn(`\n*** SKIPPED: ${message} ***\n`);
  return false;
}

function close(actual: number, expected: number, rel: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.max(Math.abs(actual), Math.abs(expected)));
}

const seed = Number(process.env.STRATA_SEED ?? 20261129) // fixed: CI reproducible; STRATA_SEED explores others;
const runs = process.env.CI ? 2000 : 300;
const cases = fc.sample(
  fc.record({
    n: fc.integer({ min: 2, max: 50_000_000 }),
    se: fc.double({ min: 1e-6, max: 100, noNaN: true }),
    alpha: fc.oneof(fc.constantFrom(0.01, 0.05, 0.1), fc.double({ min: 1e-12, max: 0.999, noNaN: true })),
    tuning: fc.oneof(fc.constant(5000), fc.integer({ min: 10, max: 10_000_000 })),
    z: fc.double({ min: 0, max: 30, noNaN: true }),
  }),
  { numRuns: runs, seed },
);

describe('always-valid p-value', () => {
  it(`at alpha = p the interval touches 0, for ${runs} random cases (STRATA_SEED=${seed})`, () => {
    for (const c of cases) {
      const effect = c.z * c.se;
      const p = sequentialPValue(effect, c.se, c.n, c.tuning);
      const at = JSON.stringify(c);
      expect(p, at).toBeGreaterThanOrEqual(0);
      expect(p, at).toBeLessThanOrEqual(1);
      if (p > 0 && p < 1) {
        // Just below p the interval still contains 0, just above it excludes 0 (p is exact to ~1e-14 relative).
        expect(sequentialHalfWidth(c.se, c.n, p * (1 - 1e-11), c.tuning), at).toBeGreaterThan(effect * (1 - 1e-12));
        if (p * (1 + 1e-11) < 1) expect(sequentialHalfWidth(c.se, c.n, p * (1 + 1e-11), c.tuning), at).toBeLessThan(effect * (1 + 1e-12));
        // Within 1e-3 of alpha = 1 the width is ill-conditioned in alpha (l = -2 ln alpha → 0), so equality is checked below.
        if (p < 0.999) close(sequentialHalfWidth(c.se, c.n, p, c.tuning), effect, 1e-9, `${at} half-width at p`);
      }
      if (p === 1) expect(sequentialHalfWidth(c.se, c.n, 1 - 1e-12, c.tuning), at).toBeGreaterThan(effect);
      // The interval at alpha excludes 0 exactly when p < alpha (away from the boundary).
      if (Math.abs(p - c.alpha) > 1e-6 * c.alpha) expect(sequentialHalfWidth(c.se, c.n, c.alpha, c.tuning) < effect, at).toBe(p < c.alpha);
    }
  });

  it('the half-width decreases in alpha and is wider than the fixed-horizon interval', () => {
    const grid = [1e-12, 1e-6, 1e-3, 0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 0.99, 0.999999];
    for (const c of cases.slice(0, 100)) {
      const widths = grid.map((a) => sequentialHalfWidth(c.se, c.n, a, c.tuning));
      for (let i = 1; i < widths.length; i++) expect(widths[i]!, JSON.stringify(c)).toBeLessThan(widths[i - 1]!);
      expect(sequentialHalfWidth(c.se, c.n, 0.05, c.tuning)).toBeGreaterThan(normalQuantile(0.975, 0, 1) * c.se);
    }
  });

  it('from sufficient statistics; degenerate data and bad input', () => {
    const control = { type: 'proportion' as const, n: 5000, sum: 500 };
    const treatment = { type: 'proportion' as const, n: 5000, sum: 600 };
    const r = sequentialTest(control, treatment, { difference: 'absolute', alpha: 0.05 });
    if (isDegenerate(r)) throw new Error(r.message);
    const s = r as SequentialResult;
    expect(s.n).toBe(10_000);
    close(s.halfWidth, sequentialHalfWidth(Math.sqrt((0.09 + 0.12 * 0.88) / 5000), 10_000, 0.05), 1e-12, 'half-width');
    expect(s.ci[0] > 0).toBe(s.pValue < 0.05);
    expect(sequentialTest({ type: 'mean', n: 1, sum: 1, sumSquares: 1 }, { type: 'mean', n: 3, sum: 3, sumSquares: 5 }, { difference: 'absolute', alpha: 0.05 })).toMatchObject({ ok: false, reason: 'too-few-users' });
    expect(() => sequentialTest(control, treatment, { difference: 'absolute', alpha: 0.05, tuning: 0 })).toThrow(StrataError);
    expect(() => sequentialHalfWidth(1, 100, 1)).toThrow(StrataError);
  });
});

describe.skipIf(!pythonPresent())('the half-width against the formula in python (power-bayes-oracle.py)', () => {
  it(`agrees for ${runs} random (N, se, alpha, N*)`, () => {
    const run = spawnSync(PYTHON, [ORACLE], { input: JSON.stringify({ sequential: cases }), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (run.status !== 0) throw new Error(`power-bayes-oracle.py failed: ${run.stderr}`);
    const ref = (JSON.parse(run.stdout) as { sequential: Array<{ half: number }> }).sequential;
    cases.forEach((c, i) => close(sequentialHalfWidth(c.se, c.n, c.alpha, c.tuning), ref[i]!.half, 1e-12, `case ${i}: ${JSON.stringify(c)}`));
  });
});
