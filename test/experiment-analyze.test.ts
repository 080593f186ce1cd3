/**
 * analyzeExperiment on constructed definitions and sufficient statistics with known answers.
 * The statistics themselves are held to their oracles upstream (src/experiments/stats); here:
 * - families and corrections: Benjamini & Hochberg (1995, JRSS B 57:289–300, §4.1) — their 15
 *   p-values, where BH at q = 0.05 rejects 4 and the Bonferroni-type procedures 3 — with the
 *   adjusted values of R's p.adjust (its code, `pmin(1, cummax((n - i + 1) * p[o]))[ro]` for
 *   holm and `pmin(1, cummin(n / i * p[o]))[ro]` over decreasing p for BH, run in numpy since
 *   R is not installed here), and which comparisons share a family;
 * - the guardrail rule at its edges (ends of the interval on the threshold);
 * - the decision rules, one case per rule, and SRM with Kohavi, Tang & Xu's ch. 21 example
 *   (821,588 vs 815,482 users at 50/50, p ≈ 1.8e-6);
 * - power reached against Chow, Shao & Wang (2008, §4.2): 0.65 vs 0.85 needs 70 per group;
 * - factorial main effects as the comparison of arms pooled by summing their statistics, an
 *   interaction-free design giving a zero contrast; bandit weights summing to 1 above the floor;
 * - degenerate comparisons give messages and no numbers.
 */
import { describe, expect, it } from 'vitest';
import { analyzeExperiment, checkGuardrail, correctFamilies, recommend, type ComparisonReport, type FamilyMember, type PowerReached } from '../src/experiments/analyze/index.js';
import type { ExperimentDefinition, MetricDefinition } from '../src/experiments/design/types.js';
import type { ExperimentData, MetricGroupStats } from '../src/experiments/metrics/types.js';
import type { Comparison } from '../src/experiments/stats/compare-types.js';
import type { MetricStats } from '../src/experiments/stats/sufficient.js';

const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 1);
const AS_OF = START + 10 * DAY;

function conversion(key: string, inverse = false): MetricDefinition {
  return { key, name: key, type: 'conversion', inverse, withinMs: 7 * DAY, covariateWindowMs: null, measure: { event: 'e', where: [], property: null } };
}

function definition(over: Partial<ExperimentDefinition> = {}): ExperimentDefinition {
  return {
    key: 'exp',
    name: 'An experiment',
    hypothesis: 'it helps',
    owner: null,
    tags: [],
    targeting: [],
    segments: [],
    variants: [
      { key: 'control', weight: 0.5 },
      { key: 'treatment', weight: 0.5 },
    ],
    factors: null,
    coverage: 1,
    seed: 'exp',
    hashVersion: 1,
    startMs: START,
    stopMs: null,
    exposure: 'event',
    primary: conversion('primary'),
    secondary: [],
    guardrails: [],
    mde: 0.05,
    alpha: 0.05,
    power: 0.8,
    method: 'frequentist',
    sides: 'two',
    difference: 'relative',
    sequentialTuning: 5000,
    prior: null,
    bandit: null,
    ...over,
  };
}

const prop = (n: number, sum: number): MetricStats => ({ type: 'proportion', n, sum });

/** One metric in one group: stats per variant in definition order. */
function metricStats(metric: string, group: string | null, stats: readonly MetricStats[], variants = ['control', 'treatment'], immature = 0): MetricGroupStats {
  return { metric, group, variants: variants.map((v, i) => ({ variant: v, stats: stats[i]! })), immature };
}

function data(metrics: MetricGroupStats[], over: Partial<ExperimentData> = {}): ExperimentData {
  // Exposures follow the first metric's n unless given.
  const exposures = metrics.filter((m) => m.metric === metrics[0]!.metric).flatMap((m) => m.variants.map((v) => ({ group: m.group, variant: v.variant, users: v.stats.n })));
  return { experiment: 'exp', version: 1, asOfMs: AS_OF, breakdown: null, groups: [], exposures, multipleExposures: 0, unknownVariants: {}, metrics, ...over };
}

/** A comparison object with a chosen p-value and interval (what correctFamilies and the rules read). */
function fakeComparison(pValue: number | null, ci: readonly [number | null, number | null] = [-0.1, 0.1], effect = 0, controlMean = 0.5): Comparison {
  return {
    ok: true,
    method: 'frequentist',
    difference: 'relative',
    sides: 'two',
    control: { n: 100, mean: controlMean, adjustedMean: controlMean },
    treatment: { n: 100, mean: controlMean, adjustedMean: controlMean },
    effect,
    se: 0.05,
    ci,
    pValue,
    chanceToWin: null,
    risk: null,
    df: 100,
    cuped: null,
  };
}

describe('multiple-comparison families', () => {
  const bh1995 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 0.759, 1.0];
  const holmR = [0.0015, 0.0056, 0.0247, 0.114, 0.2211, 0.278, 0.278, 0.278, 0.3213, 1, 1, 1, 1, 1, 1];
  const bhR = [0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.06385714285714286, 0.06385714285714286, 0.0645, 0.0765, 0.486, 0.5811818181818181, 0.7148749999999999, 0.7532307692307693, 0.8132142857142857, 1];
  const members: FamilyMember[] = bh1995.map((p) => ({ family: 'secondary', comparison: fakeComparison(p) }));
  const intervalAt = () => [-1, 1] as const;

  it('BH rejects 4 and Holm 3 of Benjamini and Hochberg\'s 15 p-values, with R\'s adjusted values', () => {
    const bh = correctFamilies(members, 0.05, 'bh', intervalAt);
    expect(bh.filter((o) => o?.rejected).length).toBe(4);
    bh.forEach((o, i) => expect(o!.adjusted.pValue).toBeCloseTo(bhR[i]!, 12));
    // Benjamini–Yekutieli FCR intervals: alpha R / m = 0.05 * 4 / 15.
    expect(bh[0]!.adjusted.intervalAlpha).toBeCloseTo((0.05 * 4) / 15, 15);
    const holm = correctFamilies(members, 0.05, 'holm', intervalAt);
    expect(holm.filter((o) => o?.rejected).length).toBe(3);
    holm.forEach((o, i) => expect(o!.adjusted.pValue).toBeCloseTo(holmR[i]!, 12));
    expect(holm[0]!.adjusted.intervalAlpha).toBeCloseTo(0.05 / 15, 15);
    expect(holm[0]!.adjusted.ci).toEqual([-1, 1]);
  });

  it('corrects each family on its own, never guardrails, and keeps raw values with none', () => {
    const mixed: FamilyMember[] = [
      { family: 'primary', comparison: fakeComparison(0.03) },
      { family: 'secondary', comparison: fakeComparison(0.03) },
      { family: 'secondary', comparison: fakeComparison(0.01) },
      { family: 'guardrail', comparison: fakeComparison(0.03) },
      { family: 'guardrail', comparison: fakeComparison(0.01) },
      { family: 'primary', comparison: fakeComparison(null) },
    ];
    const out = correctFamilies(mixed, 0.05, 'holm', intervalAt);
    expect(out[0]!.adjusted).toMatchObject({ family: 'primary', familySize: 1, pValue: 0.03 });
    expect(out[0]!.rejected).toBe(true);
    // Holm over {0.03, 0.01}: 0.01*2 = 0.02, max(0.02, 0.03*1) = 0.03.
    expect(out[1]!.adjusted).toMatchObject({ family: 'secondary', familySize: 2, pValue: 0.03 });
    expect(out[2]!.adjusted.pValue).toBeCloseTo(0.02, 15);
    expect(out[3]!.adjusted).toMatchObject({ family: 'guardrail', pValue: 0.03, intervalAlpha: 0.05 });
    expect(out[5]).toBeNull();
    const none = correctFamilies(mixed, 0.05, 'none', intervalAt);
    expect(none.slice(0, 5).map((o) => o!.adjusted.pValue)).toEqual([0.03, 0.03, 0.01, 0.03, 0.01]);
  });
});

describe('guardrails', () => {
  // Higher is better: degradation = -effect, interval [-hi, -lo]; threshold 0.02 (relative).
  const check = (ci: readonly [number | null, number | null], inverse = false, difference: 'relative' | 'absolute' = 'relative') =>
    checkGuardrail('g', 'treatment', 0.02, inverse, { ...fakeComparison(0.5, ci), difference }).status;

  it('passes inside, is at risk on the threshold (ends included), fails beyond', () => {
    expect(check([-0.0199, 0.01])).toBe('pass');
    expect(check([-0.02, 0.01])).toBe('at-risk');
    expect(check([-0.05, -0.02])).toBe('at-risk');
    expect(check([-0.05, -0.0201])).toBe('fail');
    expect(check([null, 0.01])).toBe('at-risk'); // an open end on the bad side is unbounded
  });

  it('follows inverse metrics and scales the threshold by the control mean for absolute effects', () => {
    expect(check([0.021, 0.05], true)).toBe('fail');
    expect(check([-0.05, 0.0199], true)).toBe('pass');
    // control mean 0.5: the threshold is 0.02 * 0.5 = 0.01 in absolute units.
    expect(check([-0.0099, 0.01], false, 'absolute')).toBe('pass');
    expect(check([-0.03, -0.0101], false, 'absolute')).toBe('fail');
  });

  it('is unknown, with the message, for a degenerate comparison', () => {
    const g = checkGuardrail('g', 'treatment', 0.02, false, { ok: false, reason: 'zero-control-mean', message: 'the control mean is zero' });
    expect(g.status).toBe('unknown');
    expect(g.degradation).toBeNull();
    expect(g.message).toContain('the control mean is zero');
  });
});

describe('the decision rules', () => {
  const power = (reached: boolean): PowerReached => ({ variant: 'treatment', mde: 0.05, delta: 0.01, alpha: 0.05, target: 0.8, power: reached ? 0.9 : 0.3, reached, additionalUsers: reached ? 0 : 1000, days: reached ? 0 : 5, varianceReduction: null, message: 'power' });
  const primary = (significant: boolean, direction: 'better' | 'worse' | 'flat', ok = true): ComparisonReport => ({
    variant: 'treatment',
    result: ok ? fakeComparison(significant ? 0.001 : 0.5) : { ok: false, reason: 'empty-arm', message: 'treatment has no users' },
    adjusted: null,
    significant,
    direction,
  });
  const fail = checkGuardrail('g', 'treatment', 0.02, false, fakeComparison(0.001, [-0.1, -0.05]));
  const decide = (p: ComparisonReport, reached: boolean, guardrails = [] as (typeof fail)[], srm: { pValue: number; flagged: boolean } | null = null) =>
    recommend({ treatments: [{ variant: 'treatment', primary: p, guardrails, power: power(reached) }], srm, warnings: [], diagnostics: ['d'] });

  it('applies each rule', () => {
    expect(decide(primary(true, 'better'), false).decision).toBe('ship');
    expect(decide(primary(true, 'better'), false, [fail]).decision).toBe('do-not-ship');
    expect(decide(primary(true, 'worse'), true).decision).toBe('do-not-ship');
    expect(decide(primary(false, 'worse'), true, [fail]).decision).toBe('do-not-ship');
    expect(decide(primary(false, 'better'), true).decision).toBe('inconclusive');
    expect(decide(primary(false, 'better'), false).decision).toBe('keep-running');
    expect(decide(primary(false, 'flat', false), false).decision).toBe('keep-running');
    // SRM first: a significant win is not trusted.
    const srm = decide(primary(true, 'better'), true, [], { pValue: 1e-6, flagged: true });
    expect(srm.decision).toBe('keep-running');
    expect(srm.reasons[0]).toMatch(/sample ratio mismatch/);
  });

  it('gives diagnostics only when the answer is not clear yet', () => {
    expect(decide(primary(true, 'better'), false).diagnostics).toEqual([]);
    expect(decide(primary(false, 'better'), false).diagnostics).toEqual(['d']);
    expect(decide(primary(false, 'better'), true).diagnostics).toEqual(['d']);
  });
});

describe('analyzeExperiment', () => {
  it('ships a clear winner: the recommendation, the numbers and the families', () => {
    const def = definition({ secondary: [conversion('second')], guardrails: [{ metric: conversion('cancel', true), maxDegradation: 0.02 }] });
    const report = analyzeExperiment(
      def,
      data([
        metricStats('primary', null, [prop(5000, 1000), prop(5000, 1200)]),
        metricStats('second', null, [prop(5000, 500), prop(5000, 510)]),
        metricStats('cancel', null, [prop(5000, 100), prop(5000, 50)]),
      ]),
    );
    expect(report.recommendation.decision).toBe('ship');
    expect(report.recommendation.variant).toBe('treatment');
    const p = report.metrics[0]!.groups[0]!.comparisons[0]!;
    expect(p.result.ok && p.result.effect).toBeCloseTo(0.2, 12); // (0.24 - 0.2) / 0.2
    expect(p.adjusted).toMatchObject({ family: 'primary', familySize: 1 });
    expect(report.metrics[1]!.groups[0]!.comparisons[0]!.adjusted!.family).toBe('secondary');
    expect(report.guardrails[0]!.status).toBe('pass');
    expect(report.srm[0]!.ok && report.srm[0]!.flagged).toBe(false);
  });

  it('does not trust any effect under a sample ratio mismatch (Kohavi et al. ch. 21)', () => {
    const report = analyzeExperiment(definition(), data([metricStats('primary', null, [prop(821_588, 164_000), prop(815_482, 180_000)])]));
    const srm = report.srm[0]!;
    expect(srm.ok && srm.pValue).toBeGreaterThan(1.5e-6);
    expect(srm.ok && srm.pValue).toBeLessThan(2.1e-6);
    expect(report.recommendation.decision).toBe('keep-running');
  });

  it('reaches power at 70 per group for 0.65 against 0.85 (Chow, Shao & Wang 2008) and says how many more users before', () => {
    // mde 0.2/0.65 relative: the absolute MDE is 0.2 at the control rate 0.65.
    const def = definition({ mde: 0.2 / 0.65 });
    const at = (n: number, a: number, b: number) => analyzeExperiment(def, data([metricStats('primary', null, [prop(n, a), prop(n, b)])])).power[0]!;
    const full = at(100, 65, 85);
    expect(full.reached).toBe(true);
    const short = at(60, 39, 51);
    expect(short.reached).toBe(false);
    // The variances seen (0.65·0.35 and 0.85·0.15) are the textbook's, so 70 per arm are needed:
    // 10 more per arm, 20 more users in all at 50/50; 120 users in 10 days is 12 a day: 2 days.
    expect(short.additionalUsers).toBe(20);
    expect(short.days).toBe(2);
  });

  it('keeps running when underpowered and is inconclusive when powered, with diagnostics', () => {
    const small = analyzeExperiment(definition(), data([metricStats('primary', null, [prop(200, 40), prop(200, 41)], undefined, 7)]));
    expect(small.recommendation.decision).toBe('keep-running');
    expect(small.recommendation.diagnostics.join('\n')).toMatch(/more users/);
    expect(small.recommendation.diagnostics.join('\n')).toMatch(/CUPED: off/);
    expect(small.recommendation.diagnostics.join('\n')).toMatch(/7 exposed users are not counted/);
    const big = analyzeExperiment(definition(), data([metricStats('primary', null, [prop(200_000, 40_000), prop(200_000, 40_010)])]));
    expect(big.power[0]!.reached).toBe(true);
    expect(big.recommendation.decision).toBe('inconclusive');
  });

  it('does not ship a significant harm, nor a treatment that fails a guardrail', () => {
    const harm = analyzeExperiment(definition(), data([metricStats('primary', null, [prop(5000, 1200), prop(5000, 1000)])]));
    expect(harm.recommendation.decision).toBe('do-not-ship');
    expect(harm.recommendation.verdicts[0]!.verdict).toBe('worse');
    const def = definition({ guardrails: [{ metric: conversion('cancel', true), maxDegradation: 0.02 }] });
    const guard = analyzeExperiment(def, data([metricStats('primary', null, [prop(5000, 1000), prop(5000, 1200)]), metricStats('cancel', null, [prop(5000, 100), prop(5000, 200)])]));
    expect(guard.guardrails[0]!.status).toBe('fail');
    expect(guard.recommendation.decision).toBe('do-not-ship');
    expect(guard.recommendation.verdicts[0]!.verdict).toBe('better-but-guardrail-failed');
  });

  it('puts breakdown comparisons in their own families and tests heterogeneity', () => {
    const def = definition({
      variants: [
        { key: 'control', weight: 1 / 3 },
        { key: 'b', weight: 1 / 3 },
        { key: 'c', weight: 1 / 3 },
      ],
      secondary: [conversion('second')],
    });
    const v = ['control', 'b', 'c'];
    const report = analyzeExperiment(
      def,
      data(
        [
          metricStats('primary', null, [prop(3000, 600), prop(3000, 700), prop(3000, 610)], v),
          metricStats('primary', 'x', [prop(1500, 300), prop(1500, 400), prop(1500, 305)], v),
          metricStats('primary', 'y', [prop(1500, 300), prop(1500, 300), prop(1500, 305)], v),
          metricStats('second', null, [prop(3000, 300), prop(3000, 310), prop(3000, 290)], v),
          metricStats('second', 'x', [prop(1500, 150), prop(1500, 155), prop(1500, 145)], v),
          metricStats('second', 'y', [prop(1500, 150), prop(1500, 155), prop(1500, 145)], v),
        ],
        { groups: ['x', 'y'], breakdown: 'trait t' },
      ),
    );
    const sizes = report.metrics.flatMap((m) => m.groups.flatMap((g) => g.comparisons.map((c) => [m.key, g.group, c.adjusted!.family, c.adjusted!.familySize])));
    expect(sizes).toEqual([
      ['primary', null, 'primary', 2],
      ['primary', null, 'primary', 2],
      ['primary', 'x', 'breakdown-primary', 4],
      ['primary', 'x', 'breakdown-primary', 4],
      ['primary', 'y', 'breakdown-primary', 4],
      ['primary', 'y', 'breakdown-primary', 4],
      ['second', null, 'secondary', 2],
      ['second', null, 'secondary', 2],
      ['second', 'x', 'breakdown-secondary', 4],
      ['second', 'x', 'breakdown-secondary', 4],
      ['second', 'y', 'breakdown-secondary', 4],
      ['second', 'y', 'breakdown-secondary', 4],
    ]);
    // b moves x (+33%) and not y: Cochran's Q over the two groups flags it.
    const h = report.heterogeneity.find((x) => x.metric === 'primary' && x.variant === 'b')!;
    expect(h.groups).toEqual(['x', 'y']);
    expect(h.differs).toBe(true);
    expect(report.recommendation.reasons.join('\n')).toMatch(/differs between trait t groups/);
    expect(report.recommendation.decision).toBe('ship');
    expect(report.recommendation.variant).toBe('b');
  });

  it('reports degenerate comparisons as messages, with no numbers', () => {
    const report = analyzeExperiment(definition(), data([metricStats('primary', null, [prop(100, 0), prop(100, 0)])]));
    const c = report.metrics[0]!.groups[0]!.comparisons[0]!;
    expect(c.result.ok).toBe(false);
    expect(!c.result.ok && c.result.message.length).toBeGreaterThan(10);
    expect(c.adjusted).toBeNull();
    expect(c.significant).toBe(false);
    expect(report.power[0]!.power).toBeNull();
    expect(report.recommendation.decision).toBe('keep-running');
    expect(report.recommendation.verdicts[0]!.verdict).toBe('no-data');
    const empty = analyzeExperiment(definition(), data([], { exposures: [] }));
    expect(empty.srm[0]!.ok).toBe(false);
    expect(empty.metrics[0]!.groups[0]!.comparisons[0]!.result.ok).toBe(false);
  });

  it('reads Bayesian results by chance to win, without corrections', () => {
    const report = analyzeExperiment(definition(), data([metricStats('primary', null, [prop(5000, 1000), prop(5000, 1200)])]), { method: 'bayesian' });
    const c = report.metrics[0]!.groups[0]!.comparisons[0]!;
    expect(c.adjusted).toBeNull();
    expect(c.result.ok && c.result.chanceToWin).toBeGreaterThan(0.95);
    expect(c.significant).toBe(true);
    expect(report.recommendation.decision).toBe('ship');
  });

  it('calls a Bayesian effect significant exactly when its credible interval excludes 0 (two-sided: alpha/2 per tail)', () => {
    // About 96% chance to win: beyond 1 - alpha one-sided, inside 1 - alpha/2 two-sided.
    const stats = data([metricStats('primary', null, [prop(5000, 1000), prop(5000, 1070)])]);
    const two = analyzeExperiment(definition(), stats, { method: 'bayesian' }).metrics[0]!.groups[0]!.comparisons[0]!;
    const chance = two.result.ok ? two.result.chanceToWin! : NaN;
    expect(chance).toBeGreaterThan(0.95);
    expect(chance).toBeLessThan(0.975);
    expect(two.result.ok && two.result.ci[0]! < 0).toBe(true);
    expect(two.significant).toBe(false);
    const one = analyzeExperiment(definition({ sides: 'greater' }), stats, { method: 'bayesian' }).metrics[0]!.groups[0]!.comparisons[0]!;
    expect(one.result.ok && one.result.ci[0]! > 0).toBe(true);
    expect(one.significant).toBe(true);
  });
});

describe('factorial designs and bandits', () => {
  it('reports main effects, the interaction and Thompson weights', () => {
    const levels = (a: string, b: string) => ({ checklist: a, reminder: b });
    const variants = [
      { key: 'off.none', weight: 0.25, levels: levels('off', 'none') },
      { key: 'off.email', weight: 0.25, levels: levels('off', 'email') },
      { key: 'on.none', weight: 0.25, levels: levels('on', 'none') },
      { key: 'on.email', weight: 0.25, levels: levels('on', 'email') },
    ];
    const def = definition({
      variants,
      factors: [
        { key: 'checklist', levels: ['off', 'on'] },
        { key: 'reminder', levels: ['none', 'email'] },
      ],
      bandit: { minWeight: 0.05 },
    });
    const stats = [prop(2000, 400), prop(2000, 420), prop(2000, 500), prop(2000, 520)];
    const report = analyzeExperiment(def, data([metricStats('primary', null, stats, variants.map((v) => v.key))]));
    const f = report.factorial![0]!;
    expect(f.metric).toBe('primary');
    if (!('mainEffects' in f.analysis)) throw new Error('expected a factorial analysis');
    // Main effect of checklist: arms with on (pooled by summing) against arms with off: 1020/4000 vs 820/4000.
    const main = f.analysis.mainEffects.find((m) => m.factor === 'checklist')!;
    expect(main.result.ok && main.result.effect).toBeCloseTo((1020 / 4000 - 820 / 4000) / (820 / 4000), 12);
    // No interaction by construction: (0.26 - 0.25) - (0.21 - 0.2) = 0 on the absolute scale.
    const inter = f.analysis.interactions[0]!;
    expect(inter.result.ok && inter.result.estimate).toBeCloseTo(0, 12);
    expect(report.bandit!.ok).toBe(true);
    if (report.bandit!.ok) {
      expect(report.bandit!.arms.map((a) => a.name)).toEqual(variants.map((v) => v.key));
      expect(report.bandit!.arms.reduce((s, a) => s + a.weight, 0)).toBeCloseTo(1, 12);
      expect(Math.min(...report.bandit!.arms.map((a) => a.weight))).toBeGreaterThanOrEqual(0.05 - 1e-12);
      expect(report.bandit!.best.name).toBe('on.email');
    }
  });
});
