/**
 * Oracles: numpy and scipy 1.10 (/usr/bin/python3, compare-oracle.py) on the RAW per-user data
 * the sufficient statistics were summed from — scipy.stats.ttest_ind(equal_var=False) on the
 * raw (CUPED: numpy-adjusted) values for mean metrics, the numpy delta-method linearization
 * with ttest_ind_from_stats for ratios, textbook formulas with scipy.stats.t for proportions
 * (variance p(1-p) by convention) and relative effects, scipy.stats.norm for Bayesian and the
 * confidence-sequence formulas for sequential; plus R's t.test on the sleep data through
 * compareArms, and hand-checked degenerate cases.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StrataError } from '../../errors/errors.js';
import type { CompareOptions, Comparison } from './compare-types.js';
import { compareArms } from './compare.js';
import { isDegenerate, type Degenerate } from './result.js';
import { meanStatsOf, type MetricStats } from './sufficient.js';
import type { Sides } from './frequentist.js';
import { prng } from '../../../test/support/prng.js';

const PYTHON = '/usr/bin/python3';
const ORACLE = path.resolve(import.meta.dirname, 'compare-oracle.py');

function scipyPresent(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import scipy.stats, numpy'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const message = `compare scipy oracle test: ${PYTHON} with scipy/numpy is missing; .ci/run installs python3-scipy`;
  if (process.env.CI) throw new Error(message);
  console.warn(`\n*** SKIPPED: ${message} ***\n`);
  return false;
}

function ok(value: Comparison | Degenerate): Comparison {
  if (isDegenerate(value)) throw new Error(`unexpected degenerate result: ${value.message}`);
  return value;
}

function close(actual: number | null, expected: number | null, rel: number, what: string, abs = 0): void {
  if (expected === null || actual === null) {
    expect(actual, what).toBe(expected);
    return;
  }
  const scale = Math.max(Math.abs(actual), Math.abs(expected));
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * scale + abs);
}

/** mulberry32: a small seeded PRNG so the raw data is reproducible. */

function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

type Kind = 'mean' | 'proportion' | 'ratio';
interface RawArm {
  y?: number[];
  num?: number[];
  den?: number[];
  x: number[];
}

function rawArm(kind: Kind, n: number, lift: number, u: () => number): RawArm {
  const x: number[] = [];
  const y: number[] = [];
  const num: number[] = [];
  const den: number[] = [];
  for (let i = 0; i < n; i++) {
    const xi = 10 + 3 * normal(u);
    x.push(Math.round(xi * 100) / 100);
    if (kind === 'mean') y.push(Math.round((5 + 0.8 * xi + 2 * normal(u) + lift) * 100) / 100);
    else if (kind === 'proportion') y.push(u() < 1 / (1 + Math.exp(-(xi - 10) / 3 - lift)) ? 1 : 0);
    else {
      const d = 1 + Math.floor(u() * 5);
      den.push(d);
      num.push(Math.round(d * (2 + 0.2 * xi + lift + normal(u)) * 100) / 100);
    }
  }
  return kind === 'ratio' ? { num, den, x } : { y, x };
}

function sums(values: readonly number[]): { sum: number; sumSquares: number } {
  let sum = 0;
  let sumSquares = 0;
  for (const v of values) {
    sum += v;
    sumSquares += v * v;
  }
  return { sum, sumSquares };
}

function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function statsOf(kind: Kind, arm: RawArm, cuped: boolean): MetricStats {
  const n = arm.x.length;
  if (kind === 'ratio') {
    const num = arm.num!;
    const den = arm.den!;
    const covariate = cuped ? { ...sums(arm.x), sumProducts: dot(arm.x, num), sumProductsDenominator: dot(arm.x, den) } : undefined;
    return { type: 'ratio', n, numerator: sums(num), denominator: sums(den), sumProducts: dot(num, den), ...(covariate ? { covariate } : {}) };
  }
  const y = arm.y!;
  const covariate = cuped ? { ...sums(arm.x), sumProducts: dot(arm.x, y) } : undefined;
  const base = kind === 'mean' ? { type: 'mean' as const, n, ...sums(y) } : { type: 'proportion' as const, n, sum: sums(y).sum };
  return { ...base, ...(covariate ? { covariate } : {}) };
}

interface OracleCase {
  kind: Kind;
  difference: 'absolute' | 'relative';
  alpha: number;
  sides: Sides;
  cuped: boolean;
  inverse: boolean;
  tuning: number;
  control: RawArm;
  treatment: RawArm;
}

interface OracleResult {
  theta?: number;
  scipyT?: number;
  scipyP?: number;
  controlMean: number;
  treatmentMean: number;
  adjustedControl: number;
  adjustedTreatment: number;
  effect: number;
  se: number;
  df: number;
  p: number;
  ci: [number | null, number | null];
  bayes: { chance: number; ci: [number | null, number | null] };
  seqCi: [number | null, number | null];
}

const seed = Number(process.env.STRATA_SEED ?? 20261129);
const runs = process.env.CI ? 240 : 60;

function makeCases(): OracleCase[] {
  const u = prng(seed);
  const kinds: Kind[] = ['mean', 'proportion', 'ratio'];
  const sides: Sides[] = ['two', 'greater', 'lesser'];
  const out: OracleCase[] = [];
  for (let i = 0; i < runs; i++) {
    const kind = kinds[i % 3]!;
    const nA = 30 + Math.floor(u() * 400);
    const nB = 30 + Math.floor(u() * 400);
    const lift = (u() - 0.3) * 1.5;
    out.push({
      kind,
      difference: u() < 0.5 ? 'absolute' : 'relative',
      alpha: [0.01, 0.05, 0.1][Math.floor(u() * 3)]!,
      sides: sides[Math.floor(i / 3) % 3]!,
      cuped: Math.floor(i / 9) % 2 === 0,
      inverse: u() < 0.3,
      tuning: u() < 0.5 ? 5000 : 200,
      control: rawArm(kind, nA, 0, u),
      treatment: rawArm(kind, nB, lift, u),
    });
  }
  return out;
}

const REL = 1e-9;

describe.runIf(scipyPresent())('compareArms against numpy/scipy on raw per-user data', () => {
  const cases = makeCases();
  const run = spawnSync(PYTHON, [ORACLE], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`compare-oracle.py failed: ${run.stderr}`);
  const ref = JSON.parse(run.stdout) as OracleResult[];

  function options(c: OracleCase, method: CompareOptions['method']): CompareOptions {
    return { method, difference: c.difference, alpha: c.alpha, sides: c.sides, inverse: c.inverse, sequentialTuning: c.tuning };
  }

  it(`frequentist effect, se, df, p and interval for ${runs} random experiments (mean, proportion, ratio; CUPED on and off; STRATA_SEED=${seed})`, () => {
    cases.forEach((c, i) => {
      const at = `case ${i} (${c.kind}, ${c.difference}, ${c.sides}, cuped ${c.cuped})`;
      const o = ref[i]!;
      const r = ok(compareArms(statsOf(c.kind, c.control, c.cuped), statsOf(c.kind, c.treatment, c.cuped), options(c, 'frequentist')));
      close(r.control.mean, o.controlMean, REL, `${at} control mean`);
      close(r.treatment.mean, o.treatmentMean, REL, `${at} treatment mean`);
      close(r.control.adjustedMean, o.adjustedControl, REL, `${at} adjusted control mean`);
      close(r.treatment.adjustedMean, o.adjustedTreatment, REL, `${at} adjusted treatment mean`);
      close(r.effect, o.effect, REL, `${at} effect`, 1e-12);
      close(r.se, o.se, REL, `${at} se`);
      close(r.df, o.df, REL, `${at} df`);
      close(r.pValue, o.p, 1e-8, `${at} p`, 1e-13);
      close(r.ci[0], o.ci[0], REL, `${at} lo`, 1e-12);
      close(r.ci[1], o.ci[1], REL, `${at} hi`, 1e-12);
      if (c.cuped) close(r.cuped!.theta, o.theta!, REL, `${at} theta`);
      else expect(r.cuped, at).toBeNull();
      if (o.scipyT !== undefined) {
        // scipy's own Welch test on the raw (adjusted) values: the oracle proper.
        close(r.effect / r.se, o.scipyT, 1e-8, `${at} scipy t`);
        close(r.pValue, o.scipyP!, 1e-7, `${at} scipy p`, 1e-13);
      }
    });
  });

  it('Bayesian (flat prior) and sequential use the same effect and se', () => {
    cases.forEach((c, i) => {
      const at = `case ${i} (${c.kind}, ${c.difference}, ${c.sides}, cuped ${c.cuped})`;
      const o = ref[i]!;
      const control = statsOf(c.kind, c.control, c.cuped);
      const treatment = statsOf(c.kind, c.treatment, c.cuped);
      const b = ok(compareArms(control, treatment, options(c, 'bayesian')));
      close(b.chanceToWin, o.bayes.chance, 1e-8, `${at} chance to win`, 1e-13);
      close(b.ci[0], o.bayes.ci[0], REL, `${at} credible lo`, 1e-12);
      close(b.ci[1], o.bayes.ci[1], REL, `${at} credible hi`, 1e-12);
      expect(b.pValue).toBeNull();
      expect(b.risk!.control).toBeGreaterThanOrEqual(0);
      const s = ok(compareArms(control, treatment, options(c, 'sequential')));
      close(s.ci[0], o.seqCi[0], REL, `${at} sequence lo`, 1e-12);
      close(s.ci[1], o.seqCi[1], REL, `${at} sequence hi`, 1e-12);
      // The always-valid p-value is below alpha exactly when the sequence excludes 0.
      const excludes = (s.ci[0] !== null && s.ci[0] > 0) || (s.ci[1] !== null && s.ci[1] < 0);
      if (Math.abs(s.pValue! - c.alpha) > 1e-9) expect(s.pValue! < c.alpha, at).toBe(excludes);
    });
  });

  it('CUPED reduces the variance when the covariate predicts the metric', () => {
    // On the absolute effect, 1 - (adjusted/unadjusted variance) is 1 - (se/se without CUPED)².
    const withCuped = cases.filter((c) => c.cuped && c.kind === 'mean').map((c) => ({ ...c, difference: 'absolute' as const }));
    expect(withCuped.length).toBeGreaterThan(0);
    for (const c of withCuped) {
      const r = ok(compareArms(statsOf(c.kind, c.control, true), statsOf(c.kind, c.treatment, true), options(c, 'frequentist')));
      const plain = ok(compareArms(statsOf(c.kind, c.control, true), statsOf(c.kind, c.treatment, true), { ...options(c, 'frequentist'), cuped: false }));
      expect(r.cuped!.varianceReduction).toBeGreaterThan(0.3);
      close(r.cuped!.varianceReduction, 1 - (r.se / plain.se) ** 2, 1e-9, 'reduction', 1e-12);
    }
  });
});

const SLEEP_GROUP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const SLEEP_GROUP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

describe('compareArms: references and degenerate data', () => {
  const base: CompareOptions = { method: 'frequentist', difference: 'absolute', alpha: 0.05, sides: 'two' };

  it("reproduces R's t.test(extra ~ group, data = sleep): t = -1.8608, df = 17.776, p = 0.07939, CI -3.3654832 to 0.2054832", () => {
    const r = ok(compareArms(meanStatsOf(SLEEP_GROUP_2), meanStatsOf(SLEEP_GROUP_1), base));
    expect(Math.abs(r.effect / r.se - -1.8608)).toBeLessThan(5e-5);
    expect(Math.abs(r.df! - 17.776)).toBeLessThan(5e-4);
    expect(Math.abs(r.pValue! - 0.07939)).toBeLessThan(5e-6);
    expect(Math.abs(r.ci[0]! - -3.3654832)).toBeLessThan(5e-8);
    expect(Math.abs(r.ci[1]! - 0.2054832)).toBeLessThan(5e-8);
  });

  it('a covariate equal to the metric removes all variance within arms (theta = 1 by hand) and the result is degenerate', () => {
    const a = meanStatsOf([1, 2, 3, 4]);
    const b = meanStatsOf([2, 3, 4, 5]);
    const withX = (s: ReturnType<typeof meanStatsOf>) => ({ ...s, covariate: { sum: s.sum, sumSquares: s.sumSquares, sumProducts: s.sumSquares } });
    const r = compareArms(withX(a), withX(b), base);
    expect(isDegenerate(r) && r.reason).toBe('zero-variance');
  });

  it('reports empty arms, zero variance, zero control mean and zero denominators with a message and no numbers', () => {
    const empty = compareArms({ type: 'mean', n: 0, sum: 0, sumSquares: 0 }, meanStatsOf([1, 2]), base);
    expect(empty).toEqual({ ok: false, reason: 'empty-arm', message: 'control has no users' });
    const flat = compareArms(meanStatsOf([3, 3, 3]), meanStatsOf([4, 4]), base);
    expect(isDegenerate(flat) && flat.reason).toBe('zero-variance');
    const zero = compareArms(meanStatsOf([-1, 1]), meanStatsOf([1, 2]), { ...base, difference: 'relative' });
    expect(isDegenerate(zero) && zero.reason).toBe('zero-control-mean');
    const ratio = (num: number[], den: number[]): MetricStats => ({ type: 'ratio', n: num.length, numerator: sums(num), denominator: sums(den), sumProducts: dot(num, den) });
    const noDen = compareArms(ratio([1, 2], [0, 0]), ratio([1, 2], [1, 1]), base);
    expect(isDegenerate(noDen) && noDen.reason).toBe('zero-denominator');
    expect((noDen as Degenerate).message).toMatch(/denominators sum to 0/);
  });

  it('rejects impossible input and mismatched arms with INPUT_INVALID', () => {
    expect(() => compareArms(meanStatsOf([1, 2]), { type: 'proportion', n: 2, sum: 1 }, base)).toThrow(StrataError);
    expect(() => compareArms(meanStatsOf([1, 2]), meanStatsOf([1, 3]), { ...base, alpha: 1 })).toThrow(/alpha/);
    const badRatioCovariate: MetricStats = { type: 'ratio', n: 2, numerator: sums([1, 2]), denominator: sums([1, 1]), sumProducts: 3, covariate: { sum: 1, sumSquares: 1, sumProducts: 1 } };
    expect(() => compareArms(badRatioCovariate, badRatioCovariate, base)).toThrow(/sumProductsDenominator/);
    expect(() => compareArms(meanStatsOf([1, 2]), meanStatsOf([1, 3]), { ...base, method: 'sequential', sides: 'greater', alpha: 0.6 })).toThrow(/alpha in \(0, 0.5\)/);
  });
});
