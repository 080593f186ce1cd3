/**
 * Oracles: scipy 1.10 (/usr/bin/python3): scipy.stats.ttest_ind_from_stats(equal_var=False)
 * and scipy.stats.t on the example variant (n 3407, sum 1396.87, sumSquares
 * 52377.9767) against a treatment; hand formulas (mean = sum/n, variance (Σy² - (Σy)²/n)/(n-1),
 * the delta-method relative variance) for the relative effect, scipy.stats.norm for the
 * Bayesian chance to win, scipy.stats.chisquare for SRM; the JSON paths of errors by hand.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { StrataError } from '../../errors/errors.js';
import { parseStatsRequest, runStatsRequest } from './request.js';

const PYTHON = '/usr/bin/python3';

function scipyPresent(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import scipy.stats'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const message = `stats request scipy oracle test: ${PYTHON} with scipy is missing; .ci/run installs python3-scipy`;
  if (process.env.CI) throw new Error(message);
  console.warn(`\n*** SKIPPED: ${message} ***\n`);
  return false;
}

function close(actual: number | null | undefined, expected: number, rel: number, what: string): void {
  expect(actual, what).not.toBeNull();
  expect(Math.abs(actual! - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.abs(expected) + 1e-15);
}

const CONTROL = { name: 'control', n: 3407, sum: 1396.87, sumSquares: 52377.9767 };
const TREATMENT = { name: 'checklist', n: 3350, sum: 1580.2, sumSquares: 50001.3 };
const OTHER = { name: 'tour', n: 3390, sum: 1301.5, sumSquares: 49876.1 };

function errorOf(fn: () => unknown): StrataError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StrataError) return e;
    throw e;
  }
  throw new Error('expected a StrataError');
}

const SCRIPT = `
import json, math, sys
from scipy import stats
def t_quantile(p, df):
    x = stats.t.ppf(p, df)
    return float(x - (stats.t.cdf(x, df) - p) / stats.t.pdf(x, df))
out = []
for a, b in json.load(sys.stdin):
    ma, mb = a["sum"] / a["n"], b["sum"] / b["n"]
    va = (a["sumSquares"] - a["sum"] ** 2 / a["n"]) / (a["n"] - 1)
    vb = (b["sumSquares"] - b["sum"] ** 2 / b["n"]) / (b["n"] - 1)
    r = stats.ttest_ind_from_stats(mb, math.sqrt(vb), b["n"], ma, math.sqrt(va), a["n"], equal_var=False)
    ga, gb = va / a["n"], vb / b["n"]
    df = (ga + gb) ** 2 / (ga * ga / (a["n"] - 1) + gb * gb / (b["n"] - 1))
    h = t_quantile(0.975, df) * math.sqrt(ga + gb)
    rel = (mb - ma) / abs(ma)
    rse = math.sqrt(vb / (b["n"] * ma ** 2) + va * mb ** 2 / (a["n"] * ma ** 4))
    out.append({"t": float(r.statistic), "p": float(r.pvalue), "lo": mb - ma - h, "hi": mb - ma + h, "df": df,
                "rel": rel, "relSe": rse, "relP": float(2 * stats.t.sf(abs(rel / rse), df)),
                "relLo": rel - t_quantile(0.975, df) * rse, "chance": float(stats.norm.cdf(rel / rse))})
print(json.dumps({"pairs": out, "srm": float(stats.chisquare([3407, 3350, 3390]).pvalue)}))
`;

describe.runIf(scipyPresent())('experiment stats request against scipy', () => {
  const run = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify([[CONTROL, TREATMENT], [CONTROL, OTHER]]), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  const ref = JSON.parse(run.stdout) as { pairs: Array<Record<string, number>>; srm: number };

  it("absolute effects match ttest_ind_from_stats for the issue's example, both treatments against variants[0]", () => {
    const r = runStatsRequest({ metric: { type: 'mean' }, difference: 'absolute', variants: [CONTROL, TREATMENT, OTHER] });
    expect(r.treatments.map((t) => t.name)).toEqual(['checklist', 'tour']);
    r.treatments.forEach((t, i) => {
      const o = ref.pairs[i]!;
      close(t.effect! / t.se!, o.t!, 1e-10, `${t.name} t`);
      close(t.pValue, o.p!, 1e-9, `${t.name} p`);
      close(t.ci![0], o.lo!, 1e-9, `${t.name} lo`);
      close(t.ci![1], o.hi!, 1e-9, `${t.name} hi`);
      close(t.df, o.df!, 1e-12, `${t.name} df`);
      expect(t.chanceToWin).toBeNull();
    });
    close(r.treatments[0]!.control!.mean, 1396.87 / 3407, 1e-15, "control mean");
    close(r.srmPValue, ref.srm, 1e-9, 'SRM p');
  });

  it('relative effects (the default) follow the delta method; Bayesian gives chance to win and risk', () => {
    const r = runStatsRequest({ metric: { type: 'mean' }, variants: [CONTROL, TREATMENT] });
    const o = ref.pairs[0]!;
    const t = r.treatments[0]!;
    close(t.effect, o.rel!, 1e-12, 'relative effect');
    close(t.se, o.relSe!, 1e-12, 'relative se');
    close(t.pValue, o.relP!, 1e-9, 'relative p');
    close(t.ci![0], o.relLo!, 1e-9, 'relative lo');
    const b = runStatsRequest({ metric: { type: 'mean' }, method: 'bayesian', variants: [CONTROL, TREATMENT] }).treatments[0]!;
    close(b.chanceToWin, o.chance!, 1e-12, 'chance to win');
    expect(b.pValue).toBeNull();
    expect(b.risk!.control).toBeGreaterThan(0);
  });
});

describe('experiment stats request: defaults, shapes and errors', () => {
  it('applies the defaults of the issue', () => {
    const r = parseStatsRequest({ metric: { type: 'proportion' }, variants: [{ name: 'a', n: 100, sum: 10 }, { name: 'b', n: 100, sum: 12 }] });
    expect({ method: r.method, difference: r.difference, alpha: r.alpha, sides: r.sides, tuning: r.sequentialTuning, weights: r.weights, inverse: r.metric.inverse, prior: r.prior }).toEqual({
      method: 'frequentist',
      difference: 'relative',
      alpha: 0.05,
      sides: 'two',
      tuning: 5000,
      weights: [0.5, 0.5],
      inverse: false,
      prior: null,
    });
  });

  it('corrects across treatments when asked: adjusted p-values as R p.adjust, intervals at the family level', () => {
    // Holm on two p-values (R: p.adjust(c(p1, p2), "holm")) is min(1, 2 p_min) and max(that, p_max);
    // the Holm interval is the Bonferroni one, at alpha/2 per comparison.
    const base = { metric: { type: 'mean' }, variants: [CONTROL, TREATMENT, OTHER] };
    const raw = runStatsRequest(base);
    expect(raw.correction).toBe('none');
    expect(raw.treatments.every((t) => t.adjusted === null)).toBe(true);
    const [p1, p2] = raw.treatments.map((t) => t.pValue!);
    const holm = runStatsRequest({ ...base, correction: 'holm' });
    const lo = Math.min(p1!, p2!);
    const hi = Math.max(p1!, p2!);
    const expectedLow = Math.min(1, 2 * lo);
    const expectedHigh = Math.max(expectedLow, hi);
    holm.treatments.forEach((t, i) => {
      const raw_p = raw.treatments[i]!.pValue!;
      close(t.adjusted!.pValue, raw_p === lo ? expectedLow : expectedHigh, 1e-12, `holm ${t.name}`);
      expect(t.pValue).toBe(raw_p);
      const bonferroni = runStatsRequest({ ...base, alpha: 0.025, variants: [CONTROL, base.variants[i + 1]!] }).treatments[0]!;
      expect(t.adjusted!.ci).toEqual(bonferroni.ci);
      expect(t.adjusted!.rejected).toBe(t.adjusted!.pValue <= 0.05);
    });
    // BH on two: the larger p stays, the smaller becomes min(2 p_min, p_max).
    const bh = runStatsRequest({ ...base, correction: 'bh' });
    bh.treatments.forEach((t, i) => {
      const raw_p = raw.treatments[i]!.pValue!;
      close(t.adjusted!.pValue, raw_p === lo ? Math.min(2 * lo, hi) : hi, 1e-12, `bh ${t.name}`);
    });
    // Bayesian results have no p-values: nothing to correct.
    expect(runStatsRequest({ ...base, method: 'bayesian', correction: 'holm' }).treatments.every((t) => t.adjusted === null)).toBe(true);
    expect(errorOf(() => parseStatsRequest({ ...base, correction: 'sidak' })).details[0]!.path).toBe('$.correction');
  });

  it('reports a degenerate treatment with its message and no numbers, next to a good one', () => {
    const r = runStatsRequest({ metric: { type: 'mean' }, variants: [CONTROL, TREATMENT, { name: 'empty', n: 0, sum: 0, sumSquares: 0 }] });
    expect(r.treatments[0]!.ok).toBe(true);
    expect(r.treatments[1]).toMatchObject({ name: 'empty', ok: false, reason: 'empty-arm', effect: null, ci: null, pValue: null, se: null, chanceToWin: null, risk: null });
    expect(r.treatments[1]!.message).toBe('treatment has no users');
  });

  it('one-sided requests leave the open end null (sequential too)', () => {
    const r = runStatsRequest({ metric: { type: 'mean' }, sides: 'greater', method: 'sequential', variants: [CONTROL, TREATMENT] });
    expect(r.treatments[0]!.ci![1]).toBeNull();
    expect(typeof r.treatments[0]!.ci![0]).toBe('number');
  });

  it('accepts ratio variants and covariates (CUPED)', () => {
    const ratio = (name: string, n: number, s: number) => ({ name, n, numerator: { sum: s * 3, sumSquares: s * 30 }, denominator: { sum: s, sumSquares: s * 2.5 }, sumProducts: s * 8, covariate: { sum: s, sumSquares: s * 3, sumProducts: s * 5, sumProductsDenominator: s * 2 } });
    const r = runStatsRequest({ metric: { type: 'ratio' }, variants: [ratio('a', 1000, 1500), ratio('b', 1000, 1600)] });
    expect(r.treatments[0]!.ok).toBe(true);
    expect(r.treatments[0]!.cuped).not.toBeNull();
  });

  it('names the JSON path of every problem', () => {
    const path = (value: unknown) => {
      const e = errorOf(() => parseStatsRequest(value));
      expect(e.code).toBe('INPUT_INVALID');
      return e.toLine();
    };
    expect(path({ metric: { type: 'mean' }, variants: [CONTROL, { name: 'b', n: 10, sum: 1, sumSquares: 'x' }] })).toBe('the stats request is invalid: $.variants[1].sumSquares: expected a number, got "x"');
    expect(path({ metric: { type: 'mean' }, variants: [CONTROL, { name: 'b', n: 10, sum: 1 }] })).toBe('the stats request is invalid: $.variants[1].sumSquares: required: expected a number');
    expect(path({ metric: { type: 'median' }, variants: [CONTROL, TREATMENT] })).toMatch(/^the stats request is invalid: \$\.metric\.type: expected mean, proportion or ratio/);
    expect(path({ metric: { type: 'mean' }, variants: [CONTROL, TREATMENT], weights: [1] })).toBe('the stats request is invalid: $.weights: expected 2 weights (one per variant), got 1');
    expect(path({ metric: { type: 'proportion' }, variants: [{ name: 'a', n: 10, sum: 11 }, { name: 'b', n: 10, sum: 1 }] })).toMatch(/\$\.variants\[0\]\.sum: expected a whole number of conversions between 0 and n = 10/);
    expect(path({ metric: { type: 'ratio' }, variants: [CONTROL, TREATMENT] })).toMatch(/\$\.variants\[0\]\.sum: unexpected for a ratio metric/);
    expect(path({ metric: { type: 'mean' }, variants: [CONTROL, { ...TREATMENT, name: 'control' }] })).toMatch(/\$\.variants\[1\]\.name: duplicate variant name "control"/);
    expect(path({ metric: { type: 'mean' }, alpha: 2, variants: [CONTROL, TREATMENT] })).toMatch(/\$\.alpha: expected a number strictly between 0 and 1/);
    expect(path({ metric: { type: 'mean' }, variants: [CONTROL] })).toMatch(/\$\.variants: expected an array of at least 2 variants/);
  });
});
