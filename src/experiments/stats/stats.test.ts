/**
 * Oracles: R's t.test(extra ~ group, data = sleep) (Welch); the SRM example of Kohavi, Tang &
 * Xu, "Trustworthy Online Controlled Experiments", ch. 21; scipy 1.10 in /usr/bin/python3
 * (scipy-oracle.py: ttest_ind_from_stats, t.ppf, chisquare, textbook Holm/BH) on random
 * sufficient statistics from fast-check, fed to one python process as a JSON batch.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { StrataError } from '../../errors/errors.js';
import {
  adjustPValues,
  benjaminiHochbergAdjust,
  holmAdjust,
  isDegenerate,
  meanStatsOf,
  srmTest,
  welchTest,
  type ArmStats,
  type Degenerate,
  type Sides,
  type SrmResult,
  type TestOptions,
  type WelchResult,
} from './index.js';

const PYTHON = '/usr/bin/python3';
const ORACLE = path.resolve(import.meta.dirname, 'scipy-oracle.py');

/** Whether scipy is there; when not, skipped loudly, except under CI, where it is an error. */
function scipyPresent(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import scipy.stats'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const message = `stats scipy oracle test: ${PYTHON} with scipy is missing (${probe.error?.message ?? probe.stderr.trim()}); .ci/run installs python3-scipy`;
  if (process.env.CI) throw new Error(message);
  console.warn(`\n*** SKIPPED: ${message} ***\n`);
  return false;
}

function ok<T extends object>(value: T | Degenerate): T {
  if (isDegenerate(value)) throw new Error(`unexpected degenerate result: ${value.message}`);
  return value;
}

/** |a - b| ≤ rel · max(|a|, |b|): relative agreement where both sides use the same formulas. */
function expectRelClose(actual: number, expected: number, rel: number, what: string): void {
  const scale = Math.max(Math.abs(actual), Math.abs(expected));
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * scale);
}

const SLEEP_GROUP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const SLEEP_GROUP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

describe("Welch's t against R's t.test(extra ~ group, data = sleep)", () => {
  // R reports group 1 - group 2, so group 2 is the control and group 1 the treatment.
  const result = ok(welchTest(meanStatsOf(SLEEP_GROUP_2), meanStatsOf(SLEEP_GROUP_1), { difference: 'absolute', alpha: 0.05, sides: 'two' }));

  it('gives t = -1.8608, df = 17.776, p = 0.07939 and the 95% interval -3.3654832 to 0.2054832', () => {
    expect(result.effect).toBeCloseTo(-1.58, 12);
    expect(Math.abs(result.t - -1.8608)).toBeLessThan(5e-5);
    expect(Math.abs(result.df - 17.776)).toBeLessThan(5e-4);
    expect(Math.abs(result.pValue - 0.07939)).toBeLessThan(5e-6);
    expect(Math.abs((result.ci[0] as number) - -3.3654832)).toBeLessThan(5e-8);
    expect(Math.abs((result.ci[1] as number) - 0.2054832)).toBeLessThan(5e-8);
  });

  it('halves the p-value one-sided and opens one end of the interval', () => {
    const lesser = ok(welchTest(meanStatsOf(SLEEP_GROUP_2), meanStatsOf(SLEEP_GROUP_1), { difference: 'absolute', alpha: 0.05, sides: 'lesser' }));
    const greater = ok(welchTest(meanStatsOf(SLEEP_GROUP_2), meanStatsOf(SLEEP_GROUP_1), { difference: 'absolute', alpha: 0.05, sides: 'greater' }));
    // The effect is negative, so 'lesser' gets half the two-sided p (the t distribution is symmetric).
    expectRelClose(lesser.pValue, result.pValue / 2, 1e-12, 'lesser p');
    expectRelClose(greater.pValue + lesser.pValue, 1, 1e-12, 'one-sided p-values sum to 1');
    expect(lesser.ci[0]).toBeNull();
    expect(greater.ci[1]).toBeNull();
    // A one-sided 95% bound is the two-sided 90% interval's end.
    const ninety = ok(welchTest(meanStatsOf(SLEEP_GROUP_2), meanStatsOf(SLEEP_GROUP_1), { difference: 'absolute', alpha: 0.1, sides: 'two' }));
    expectRelClose(lesser.ci[1] as number, ninety.ci[1] as number, 1e-12, 'lesser upper bound');
    expectRelClose(greater.ci[0] as number, ninety.ci[0] as number, 1e-12, 'greater lower bound');
  });
});

describe('SRM against Kohavi, Tang & Xu ch. 21', () => {
  it('flags 821,588 against 815,482 users at 50/50 with p about 1.8e-6', () => {
    const result = ok(srmTest([821_588, 815_482], [0.5, 0.5]));
    expect(result.df).toBe(1);
    expect(Math.abs(result.pValue - 1.8e-6)).toBeLessThan(0.05e-6);
    expect(result.flagged).toBe(true);
  });

  it('does not flag a split that matches its weights', () => {
    const result = ok(srmTest([2000, 1000, 1000], [2, 1, 1]));
    expect(result.chiSquare).toBe(0);
    expect(result.pValue).toBe(1);
    expect(result.flagged).toBe(false);
  });
});

describe('degenerate data gives a reason, never numbers', () => {
  const opts: TestOptions = { difference: 'absolute', alpha: 0.05, sides: 'two' };
  const arm: ArmStats = { type: 'mean', n: 10, sum: 20, sumSquares: 50 };
  const cases: Array<[string, ArmStats, ArmStats, TestOptions, string]> = [
    ['an empty arm', { type: 'mean', n: 0, sum: 0, sumSquares: 0 }, arm, opts, 'empty-arm'],
    ['one user', arm, { type: 'mean', n: 1, sum: 3, sumSquares: 9 }, opts, 'too-few-users'],
    ['zero variance in both arms', { type: 'mean', n: 5, sum: 5, sumSquares: 5 }, { type: 'mean', n: 3, sum: 6, sumSquares: 12 }, opts, 'zero-variance'],
    ['all-equal values that do not cancel exactly', meanStatsOf([0.1, 0.1, 0.1]), meanStatsOf([0.7, 0.7, 0.7, 0.7]), opts, 'zero-variance'],
    ['no conversions anywhere', { type: 'proportion', n: 100, sum: 0 }, { type: 'proportion', n: 80, sum: 0 }, opts, 'zero-variance'],
    ['a zero control mean, relative', { type: 'mean', n: 4, sum: 0, sumSquares: 8 }, arm, { ...opts, difference: 'relative' }, 'zero-control-mean'],
    ['a control mean so small mA⁴ underflows, relative', { type: 'mean', n: 4, sum: 4e-100, sumSquares: 8 }, arm, { ...opts, difference: 'relative' }, 'zero-control-mean'],
    ['a zero proportion in control, relative', { type: 'proportion', n: 50, sum: 0 }, { type: 'proportion', n: 50, sum: 5 }, { ...opts, difference: 'relative' }, 'zero-control-mean'],
  ];
  for (const [name, control, treatment, options, reason] of cases) {
    it(`${name} → ${reason}`, () => {
      const result = welchTest(control, treatment, options);
      expect(result).toEqual({ ok: false, reason, message: expect.any(String) });
      expect(Object.values(result).some((v) => typeof v === 'number')).toBe(false);
    });
  }

  it('zero variance in one arm only is a valid Welch test with df = n - 1 of the other', () => {
    const result = ok(welchTest({ type: 'mean', n: 5, sum: 5, sumSquares: 5 }, arm, opts));
    expectRelClose(result.df, 9, 1e-12, 'df');
  });

  it('an SRM check with no users says so', () => {
    expect(srmTest([0, 0], [1, 1])).toEqual({ ok: false, reason: 'no-users', message: expect.any(String) });
  });

  it('impossible statistics throw INPUT_INVALID', () => {
    const bad: Array<() => unknown> = [
      () => welchTest({ type: 'proportion', n: 10, sum: 11 }, { type: 'proportion', n: 10, sum: 1 }, opts),
      () => welchTest({ type: 'mean', n: -1, sum: 0, sumSquares: 0 }, arm, opts),
      () => welchTest({ type: 'mean', n: 10, sum: 20, sumSquares: 30 }, arm, opts),
      () => welchTest(arm, { type: 'mean', n: 10, sum: Number.NaN, sumSquares: 1 }, opts),
      () => welchTest(arm, { type: 'proportion', n: 10, sum: 1 }, opts),
      () => welchTest(arm, arm, { ...opts, alpha: 1 }),
      () => srmTest([10, 10], [1, 0]),
      () => srmTest([10], [1]),
      () => adjustPValues([0.5, 1.2], 0.05, 'holm'),
    ];
    for (const call of bad) {
      expect(call).toThrow(StrataError);
      try {
        call();
      } catch (error) {
        expect((error as StrataError).code).toBe('INPUT_INVALID');
      }
    }
  });
});

describe('multiple comparisons against R p.adjust values', () => {
  // R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") = 0.03 0.06 0.06 0.02;
  //    p.adjust(c(0.01, 0.04, 0.03, 0.005), "BH")   = 0.02 0.04 0.04 0.02.
  it('adjusts a small family', () => {
    holmAdjust([0.01, 0.04, 0.03, 0.005]).forEach((p, i) => expectRelClose(p, [0.03, 0.06, 0.06, 0.02][i] as number, 1e-12, `holm ${i}`));
    benjaminiHochbergAdjust([0.01, 0.04, 0.03, 0.005]).forEach((p, i) => expectRelClose(p, [0.02, 0.04, 0.04, 0.02][i] as number, 1e-12, `BH ${i}`));
  });

  it('builds BH intervals at alpha R / m and Holm intervals at alpha / m', () => {
    const bh = adjustPValues([0.01, 0.04, 0.03, 0.005], 0.05, 'benjamini-hochberg');
    expect(bh.rejected).toEqual([true, true, true, true]);
    expectRelClose(bh.intervalAlpha, 0.05, 1e-15, 'BH interval alpha');
    const holm = adjustPValues([0.01, 0.04, 0.03, 0.005], 0.05, 'holm');
    expect(holm.rejected).toEqual([true, false, false, true]);
    expectRelClose(holm.intervalAlpha, 0.0125, 1e-15, 'Holm interval alpha');
    expectRelClose(adjustPValues([0.5, 0.9], 0.05, 'benjamini-hochberg').intervalAlpha, 0.025, 1e-15, 'BH with no rejection');
  });
});

// ---- scipy cross-checks on random sufficient statistics ----------------------------------

interface WelchCase {
  control: ArmStats;
  treatment: ArmStats;
  alpha: number;
  sides: Sides;
  difference: 'absolute' | 'relative';
}
interface ScipyWelch {
  effect: number;
  se: number;
  t: number;
  df: number;
  pValue: number;
  ci: [number | null, number | null];
}
interface ScipyMultiple {
  holm: number[];
  holmRejected: boolean[];
  holmIntervalAlpha: number;
  bh: number[];
  bhRejected: boolean[];
  bhIntervalAlpha: number;
}

/** A mean arm from a mean and a standard deviation kept well away from cancellation (sd ≥ 0.1, |mean| ≤ 100). */
const meanArm = fc
  .record({ n: fc.integer({ min: 2, max: 200_000 }), mean: fc.double({ min: -100, max: 100, noNaN: true }).map((m) => (Math.abs(m) < 1e-6 ? 0 : m)), sd: fc.oneof(fc.constant(0), fc.double({ min: 0.1, max: 100, noNaN: true })) })
  .map(({ n, mean, sd }): ArmStats => {
    const sum = n * mean;
    return { type: 'mean', n, sum, sumSquares: (n - 1) * sd * sd + (sum * sum) / n };
  });
const proportionArm = fc
  .integer({ min: 2, max: 1_000_000 })
  .chain((n) => fc.record({ n: fc.constant(n), sum: fc.oneof(fc.integer({ min: 0, max: n }), fc.integer({ min: 0, max: Math.min(n, 20) })) }))
  .map(({ n, sum }): ArmStats => ({ type: 'proportion', n, sum }));
const settings = fc.record({
  alpha: fc.constantFrom(0.01, 0.05, 0.1, 0.2),
  sides: fc.constantFrom<Sides>('two', 'greater', 'lesser'),
  difference: fc.constantFrom<'absolute' | 'relative'>('absolute', 'relative'),
});
const welchCase: fc.Arbitrary<WelchCase> = fc
  .oneof(fc.tuple(meanArm, meanArm), fc.tuple(proportionArm, proportionArm))
  .chain(([control, treatment]) => settings.map((s) => ({ control, treatment, ...s })))
  // Degenerate cases are covered above; scipy would answer them with NaN or inf.
  .filter((c) => !isDegenerate(welchTest(c.control, c.treatment, c)));
const srmCase = fc.integer({ min: 2, max: 6 }).chain((k) =>
  fc.record({
    counts: fc.array(fc.integer({ min: 0, max: 2_000_000 }), { minLength: k, maxLength: k }),
    weights: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: k, maxLength: k }),
  }),
).filter((c) => c.counts.some((x) => x > 0));
const pValue = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 0.01, noNaN: true }), fc.constantFrom(0, 0.05, 1));
const multipleCase = fc.record({ pValues: fc.array(pValue, { minLength: 1, maxLength: 30 }), alpha: fc.constantFrom(0.01, 0.05, 0.1) });

/**
 * Tolerance: relative 1e-9 where scipy and we evaluate the same formulas (effect, se, df, t,
 * chi-square, Holm/BH). p-values and t quantiles compare @stdlib's incomplete beta/gamma with
 * scipy's (cephes/boost) implementations: also 1e-9 relative, down to p = 1e-290 (below,
 * both are only meaningful as "zero"); interval ends are effect ± q·se and are compared with
 * 1e-9 of max(|end|, q·se) since an end near zero is a difference of two close numbers.
 */
const REL = 1e-9;

/** How much sumSquares - sum²/n amplifies rounding (1 for proportions, which have no sumSquares). */
function conditionOf(arm: { type: string; n: number; sum: number; sumSquares?: number }): number {
  if (arm.type !== 'mean' || arm.sumSquares === undefined || arm.n < 2) return 1;
  // A spread at rounding level (a zero-variance arm written as floats) is all noise on both sides.
  const spread = Math.max(arm.sumSquares - (arm.sum * arm.sum) / arm.n, Number.EPSILON * Math.abs(arm.sumSquares));
  return spread > 0 ? Math.abs(arm.sumSquares) / spread : 1;
}

describe.skipIf(!scipyPresent())('cross-checks against scipy (scipy-oracle.py)', () => {
  // A fixed seed keeps CI reproducible; STRATA_SEED explores others.
  const seed = Number(process.env.STRATA_SEED ?? 20261129);
  const runs = process.env.CI ? 2000 : 400;
  const batch = {
    welch: fc.sample(welchCase, { numRuns: runs, seed }),
    srm: fc.sample(srmCase, { numRuns: runs, seed: seed + 1 }),
    multiple: fc.sample(multipleCase, { numRuns: runs, seed: seed + 2 }),
  };
  // In beforeAll, not at collection, so a skipped suite never starts python.
  let reference: { welch: ScipyWelch[]; srm: Array<{ chiSquare: number; pValue: number }>; multiple: ScipyMultiple[] };
  beforeAll(() => {
    const run = spawnSync(PYTHON, [ORACLE], { input: JSON.stringify(batch), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (run.status !== 0) throw new Error(`scipy-oracle.py failed: ${run.stderr}`);
    reference = JSON.parse(run.stdout) as typeof reference;
  });
  const where = (kind: string, i: number, input: unknown): string => `${kind} case ${i} (STRATA_SEED=${seed}): ${JSON.stringify(input)}`;

  it(`Welch t, df, p and intervals agree for ${runs} random mean and proportion comparisons`, () => {
    batch.welch.forEach((input, i) => {
      const ours = ok(welchTest(input.control, input.treatment, input)) as WelchResult;
      const ref = reference.welch[i] as ScipyWelch;
      const at = where('welch', i, input);
      // sumSquares - sum²/n cancels: its relative rounding error is about eps times
      // sumSquares / (sumSquares - sum²/n), whichever side computes it, so the tolerance of
      // everything derived from a variance grows with that condition number.
      const tol = Math.max(REL, 64 * Number.EPSILON * Math.max(conditionOf(input.control), conditionOf(input.treatment)));
      expectRelClose(ours.effect, ref.effect, REL, `${at} effect`);
      expectRelClose(ours.se, ref.se, tol, `${at} se`);
      expectRelClose(ours.t, ref.t, tol, `${at} t`);
      expectRelClose(ours.df, ref.df, tol, `${at} df`);
      if (ref.pValue > 1e-290 || ours.pValue > 1e-290) expectRelClose(ours.pValue, ref.pValue, tol * Math.max(1, Math.abs(ours.t)), `${at} p`);
      for (const end of [0, 1] as const) {
        const mine = ours.ci[end];
        const theirs = ref.ci[end];
        if (theirs === null || mine === null) {
          expect(mine, `${at} open end ${end}`).toBe(theirs);
          continue;
        }
        const width = Math.abs(mine - ours.effect);
        expect(Math.abs(mine - theirs), `${at} ci[${end}]: ${mine} vs ${theirs}`).toBeLessThanOrEqual(tol * Math.max(Math.abs(mine), width));
      }
    });
  });

  it(`SRM chi-square and p agree for ${runs} random splits of 2 to 6 arms`, () => {
    batch.srm.forEach((input, i) => {
      const ours = ok(srmTest(input.counts, input.weights)) as SrmResult;
      const ref = reference.srm[i] as { chiSquare: number; pValue: number };
      const at = where('srm', i, input);
      if (ref.chiSquare > 1e-6) expectRelClose(ours.chiSquare, ref.chiSquare, REL, `${at} chi-square`);
      else expect(Math.abs(ours.chiSquare - ref.chiSquare), `${at} chi-square`).toBeLessThan(1e-9);
      if (ref.pValue > 1e-290) expectRelClose(ours.pValue, ref.pValue, REL, `${at} p`);
      expect(ours.flagged).toBe(ref.pValue < 0.001);
    });
  });

  it(`Holm and Benjamini-Hochberg agree with the textbook procedures for ${runs} random families`, () => {
    batch.multiple.forEach((input, i) => {
      const ref = reference.multiple[i] as ScipyMultiple;
      const at = where('multiple', i, input);
      const holm = adjustPValues(input.pValues, input.alpha, 'holm');
      const bh = adjustPValues(input.pValues, input.alpha, 'benjamini-hochberg');
      holm.pValues.forEach((p, j) => expectRelClose(p, ref.holm[j] as number, REL, `${at} holm ${j}`));
      bh.pValues.forEach((p, j) => expectRelClose(p, ref.bh[j] as number, REL, `${at} bh ${j}`));
      expect(holm.rejected, `${at} holm decisions`).toEqual(ref.holmRejected);
      expect(bh.rejected, `${at} bh decisions`).toEqual(ref.bhRejected);
      expectRelClose(holm.intervalAlpha, ref.holmIntervalAlpha, 1e-15, `${at} holm alpha`);
      expectRelClose(bh.intervalAlpha, ref.bhIntervalAlpha, 1e-15, `${at} bh alpha`);
    });
  });
});
