/**
 * Oracles: the BCG vaccine trials (Colditz et al. 1994; metafor's dat.bcg, log risk ratios by
 * escalc(measure = "RR")), for which metafor prints "Q(df = 12) = 152.2330, p-val < .0001"
 * (Viechtbauer 2010, "Conducting meta-analyses in R with the metafor package", J. Stat. Softw.
 * 36(3); the fixed-effect pooled log RR is -0.4303, se 0.0405); and scipy.stats.chi2.sf for
 * the p-value, on that example and on random inputs.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { StrataError } from '../../errors/errors.js';
import { heterogeneityTest, type HeterogeneityResult, type SegmentEffect } from './heterogeneity.js';
import { isDegenerate } from './result.js';

const PYTHON = '/usr/bin/python3';

function scipyPresent(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import scipy.stats'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const message = `heterogeneity scipy oracle test: ${PYTHON} with scipy is missing; .ci/run installs python3-scipy`;
  if (process.env.CI) throw new Error(message);
  console.warn(`\n*** SKIPPED: ${message} ***\n`);
  return false;
}

function ok(r: ReturnType<typeof heterogeneityTest>): HeterogeneityResult {
  if (isDegenerate(r)) throw new Error(r.message);
  return r;
}

// trial: [vaccinated TB+, vaccinated TB-, control TB+, control TB-] (metafor dat.bcg: tpos, tneg, cpos, cneg)
const BCG: Array<[string, number, number, number, number]> = [
  ['Aronson 1948', 4, 119, 11, 128],
  ['Ferguson & Simes 1949', 6, 300, 29, 274],
  ['Rosenthal et al 1960', 3, 228, 11, 209],
  ['Hart & Sutherland 1977', 62, 13536, 248, 12619],
  ['Frimodt-Moller et al 1973', 33, 5036, 47, 5761],
  ['Stein & Aronson 1953', 180, 1361, 372, 1079],
  ['Vandiviere et al 1973', 8, 2537, 10, 619],
  ['TPT Madras 1980', 505, 87886, 499, 87892],
  ['Coetzee & Berjak 1968', 29, 7470, 45, 7232],
  ['Rosenthal et al 1961', 17, 1699, 65, 1600],
  ['Comstock et al 1974', 186, 50448, 141, 27197],
  ['Comstock & Webster 1969', 5, 2493, 3, 2338],
  ['Comstock et al 1976', 27, 16886, 29, 17825],
];

/** escalc(measure = "RR"): yi = log((a/(a+b))/(c/(c+d))), vi = 1/a - 1/(a+b) + 1/c - 1/(c+d). */
const bcgEffects: SegmentEffect[] = BCG.map(([name, a, b, c, d]) => ({
  name,
  effect: Math.log(a / (a + b) / (c / (c + d))),
  se: Math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)),
}));

describe("Cochran's Q", () => {
  const r = ok(heterogeneityTest(bcgEffects));

  it('reproduces metafor on the BCG trials: Q(df = 12) = 152.2330, p < .0001, pooled -0.4303 (se 0.0405)', () => {
    expect(r.q.toFixed(4)).toBe('152.2330');
    expect(r.df).toBe(12);
    expect(r.pValue).toBeLessThan(1e-4);
    expect(r.pooledEffect.toFixed(4)).toBe('-0.4303');
    expect(r.pooledSe.toFixed(4)).toBe('0.0405');
    // I² = (Q - df)/Q by hand: 140.2330/152.2330.
    expect(r.iSquared).toBeCloseTo(140.233008 / 152.233008, 6);
  });

  it.runIf(scipyPresent())('p-values match scipy.stats.chi2.sf (BCG and random inputs)', () => {
    let a = 12345;
    const u = () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648);
    const cases = [bcgEffects, ...Array.from({ length: 30 }, (_, i) => Array.from({ length: 2 + (i % 7) }, (_, j) => ({ name: `s${j}`, effect: u() - 0.5, se: 0.05 + u() * 0.3 })))];
    const qs = cases.map((c) => ok(heterogeneityTest(c)));
    const script = 'import json,sys\nfrom scipy.stats import chi2\nprint(json.dumps([float(chi2.sf(q, df)) for q, df in json.load(sys.stdin)]))';
    const run = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(qs.map((q) => [q.q, q.df])), encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    const ref = JSON.parse(run.stdout) as number[];
    qs.forEach((q, i) => expect(Math.abs(q.pValue - ref[i]!), `case ${i}: ${q.pValue} vs ${ref[i]}`).toBeLessThanOrEqual(1e-12 * ref[i]! + 1e-300));
    expect(ref[0]!).toBeLessThan(1e-25);
  });

  it('gives Q = 0, p = 1, I² = 0 for equal effects, and degenerate answers for too few segments or se = 0', () => {
    const same = ok(heterogeneityTest([{ name: 'a', effect: 0.1, se: 0.1 }, { name: 'b', effect: 0.1, se: 0.2 }]));
    expect([same.q, same.pValue, same.iSquared]).toEqual([0, 1, 0]);
    const one = heterogeneityTest([{ name: 'a', effect: 0.1, se: 0.1 }]);
    expect(isDegenerate(one) && one.reason).toBe('too-few-segments');
    const zero = heterogeneityTest([{ name: 'a', effect: 0.1, se: 0 }, { name: 'b', effect: 0.2, se: 0.1 }]);
    expect(isDegenerate(zero) && zero.message).toMatch(/segment a has a zero standard error/);
    expect(() => heterogeneityTest([{ name: 'a', effect: Number.NaN, se: 1 }, { name: 'b', effect: 0, se: 1 }])).toThrow(StrataError);
  });
});
