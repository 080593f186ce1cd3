/**
 * Oracle: numpy and scipy 1.10 on the RAW per-user data of a 2 x 3 x 2 factorial experiment
 * (factorial-oracle.py): main effects by scipy.stats.ttest_ind(equal_var=False) on the pooled
 * raw values, interaction contrasts by numpy means/variances, the Welch–Satterthwaite df
 * written out and scipy.stats.t.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StrataError } from '../../errors/errors.js';
import type { FactorDefinition } from '../design/types.js';
import { analyzeFactorial, poolStats, type FactorialCell } from './factorial.js';
import { isDegenerate } from './result.js';
import { meanStatsOf } from './sufficient.js';
import { prng } from '../../../test/support/prng.js';

const PYTHON = '/usr/bin/python3';
const ORACLE = path.resolve(import.meta.dirname, 'factorial-oracle.py');

function scipyPresent(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import scipy.stats, numpy'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const message = `factorial scipy oracle test: ${PYTHON} with scipy/numpy is missing; .ci/run installs python3-scipy`;
  if (process.env.CI) throw new Error(message);
  console.warn(`\n*** SKIPPED: ${message} ***\n`);
  return false;
}

function close(actual: number, expected: number, rel: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.max(Math.abs(actual), Math.abs(expected)) + 1e-14);
}


const factors: FactorDefinition[] = [
  { key: 'checklist', levels: ['off', 'on'] },
  { key: 'reminder', levels: ['none', 'email', 'push'] },
  { key: 'tone', levels: ['plain', 'warm'] },
];

function rawCells(seed: number): Array<{ levels: Record<string, string>; y: number[] }> {
  const u = prng(seed);
  const out: Array<{ levels: Record<string, string>; y: number[] }> = [];
  for (const c of factors[0]!.levels) {
    for (const r of factors[1]!.levels) {
      for (const t of factors[2]!.levels) {
        const n = 40 + Math.floor(u() * 160);
        const shift = (c === 'on' ? 0.4 : 0) + (r === 'email' ? 0.2 : r === 'push' ? -0.1 : 0) + (c === 'on' && r === 'push' ? 1 : 0) + (t === 'warm' ? 0.1 : 0);
        const y = Array.from({ length: n }, () => Math.round((3 + shift + Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()) * (1 + u())) * 1000) / 1000);
        out.push({ levels: { checklist: c, reminder: r, tone: t }, y });
      }
    }
  }
  return out;
}

describe.runIf(scipyPresent())('factorial main effects and interactions against numpy/scipy on raw data', () => {
  const raw = rawCells(Number(process.env.STRATA_SEED ?? 20261129));
  const cells: FactorialCell[] = raw.map((c) => ({ levels: c.levels, stats: meanStatsOf(c.y) }));
  const run = spawnSync(PYTHON, [ORACLE], { input: JSON.stringify({ factors, cells: raw }), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`factorial-oracle.py failed: ${run.stderr}`);
  const ref = JSON.parse(run.stdout) as { main: Array<{ effect: number; t: number; p: number }>; interactions: Array<{ estimate: number; se: number; df: number; p: number }> };
  const result = analyzeFactorial(factors, cells, { method: 'frequentist', difference: 'absolute', alpha: 0.05, sides: 'two' });

  it('main effects pool the other factors by summing sufficient statistics (scipy ttest_ind on the pooled raw values)', () => {
    expect(result.mainEffects.map((m) => `${m.factor}=${m.level}`)).toEqual(['checklist=on', 'reminder=email', 'reminder=push', 'tone=warm']);
    result.mainEffects.forEach((m, i) => {
      if (!m.result.ok) throw new Error(m.result.message);
      close(m.result.effect, ref.main[i]!.effect, 1e-9, `${m.factor}=${m.level} effect`);
      close(m.result.effect / m.result.se, ref.main[i]!.t, 1e-9, `${m.factor}=${m.level} t`);
      close(m.result.pValue!, ref.main[i]!.p, 1e-7, `${m.factor}=${m.level} p`);
    });
  });

  it('two-way interaction contrasts with Welch–Satterthwaite df (numpy + scipy.stats.t)', () => {
    expect(result.interactions.map((x) => `${x.factors.join('x')}:${x.levels.join(',')}`)).toEqual([
      'checklistxreminder:on,email',
      'checklistxreminder:on,push',
      'checklistxtone:on,warm',
      'reminderxtone:email,warm',
      'reminderxtone:push,warm',
    ]);
    result.interactions.forEach((x, i) => {
      if (isDegenerate(x.result)) throw new Error(x.result.message);
      const o = ref.interactions[i]!;
      close(x.result.estimate, o.estimate, 1e-9, `${i} estimate`);
      close(x.result.se, o.se, 1e-9, `${i} se`);
      close(x.result.df, o.df, 1e-9, `${i} df`);
      close(x.result.pValue, o.p, 1e-7, `${i} p`);
    });
    // The simulated interaction (checklist on x push, +1) is the one that stands out.
    const push = result.interactions[1]!.result;
    expect(!isDegenerate(push) && push.pValue < 0.01).toBe(true);
  });
});

describe('factorial edge cases', () => {
  const two: FactorDefinition[] = [
    { key: 'a', levels: ['0', '1'] },
    { key: 'b', levels: ['0', '1'] },
  ];
  const opts = { method: 'frequentist' as const, difference: 'absolute' as const, alpha: 0.05, sides: 'two' as const };

  it('reports a missing cell instead of a number', () => {
    const cells: FactorialCell[] = [
      { levels: { a: '0', b: '0' }, stats: meanStatsOf([1, 2, 3]) },
      { levels: { a: '1', b: '0' }, stats: meanStatsOf([2, 3, 4]) },
      { levels: { a: '0', b: '1' }, stats: meanStatsOf([1, 3, 3]) },
    ];
    const r = analyzeFactorial(two, cells, opts);
    const x = r.interactions[0]!.result;
    expect(isDegenerate(x) && x.message).toBe('no arm has a = 1, b = 1');
  });

  it('rejects unknown levels and pools by adding sums', () => {
    expect(() => analyzeFactorial(two, [{ levels: { a: '2', b: '0' }, stats: meanStatsOf([1, 2]) }], opts)).toThrow(StrataError);
    expect(poolStats([meanStatsOf([1, 2]), meanStatsOf([3])])).toEqual(meanStatsOf([1, 2, 3]));
  });
});
