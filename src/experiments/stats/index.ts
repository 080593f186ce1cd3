/**
 * # src/experiments/stats: experiment statistics from sufficient statistics
 *
 * Pure functions, no I/O: every result is a function of per-arm sufficient statistics, so
 * the same numbers come out whether the data was aggregated by DuckDB, ClickHouse or the
 * caller (`strata experiment stats`). Conventions are issue 5's (the industry's; GrowthBook's
 * gbstats uses the same), and results are meant to agree with references to the decimal.
 *
 * Files: sufficient.ts (arm statistics), effects.ts, frequentist.ts (Welch), srm.ts,
 * multiple.ts (Holm, Benjamini–Hochberg), result.ts (the degenerate-data answer),
 * power.ts (sample size, MDE, duration, more users), bayesian.ts, sequential.ts,
 * compare.ts (compareArms: one treatment against control by any method, CUPED, ratio
 * metrics; contract in compare-types.ts), bandit.ts (Thompson sampling weights),
 * heterogeneity.ts (Cochran's Q across segments), factorial.ts (main effects and
 * interactions), request.ts (`experiment stats` JSON in/out), power-calculator.ts
 * (`experiment power`).
 *
 * Formulas (A = control, B = treatment):
 * - Mean metric {n, sum, sumSquares}: m = sum/n, v = (sumSquares - sum²/n)/(n - 1).
 *   Proportion {n, sum = conversions}: p = sum/n, v = p(1 - p).
 * - Absolute effect mB - mA, variance vA/nA + vB/nB.
 *   Relative effect (mB - mA)/|mA| as a fraction, variance by the delta method
 *   vB/(nB mA²) + vA mB²/(nA mA⁴) (Deng, Knoblich & Lu, KDD 2018).
 * - Welch t = effect/se with Welch–Satterthwaite df = (vA/nA + vB/nB)² /
 *   ((vA/nA)²/(nA-1) + (vB/nB)²/(nB-1)) (Welch 1947; Satterthwaite 1946), the same df for the
 *   relative effect; p-values and intervals from Student-t (@stdlib t-cdf/t-quantile).
 *   Two-sided: p = 2 F(-|t|), CI effect ± t₍₁₋α/₂₎ se. 'greater': p = F(-t), CI [effect -
 *   t₍₁₋α₎ se, null]. 'lesser': p = F(t), CI [null, effect + t₍₁₋α₎ se].
 * - SRM: Pearson χ² = Σ (oᵢ - eᵢ)²/eᵢ, eᵢ = N wᵢ/Σw, df = k - 1, p = Q(df/2, χ²/2);
 *   flagged when p < 0.001 (Kohavi, Tang & Xu, "Trustworthy Online Controlled Experiments",
 *   ch. 21).
 * - Holm (1979) and Benjamini–Hochberg (1995) adjusted p-values as R's p.adjust; intervals at
 *   alpha/m for Holm (Bonferroni) and at alpha·R/m for BH (Benjamini & Yekutieli 2005 FCR
 *   intervals, R = BH rejections, R = 0 taken as 1). Details in multiple.ts.
 * - Power (power.ts), two-sided, normal approximation, unpooled variances as the analysis uses,
 *   N users split wA/wB: N = (z₁₋α/₂ + z₁₋β)² (vA/wA + vB/wB)/δ²; proportions v = p(1-p) at
 *   pA and pB (Chow, Shao & Wang 2008 §4.2: 0.65 vs 0.85, α 0.05, power 0.8 → 70 per group);
 *   power = Φ(|δ|/se - z₁₋α/₂); MDE of means (z₁₋α/₂ + z₁₋β) σ √(1/nA + 1/nB), of proportions
 *   the root of δ² = z²(pAqA/nA + pBqB/nB), pB = pA + δ; duration ⌈N/(daily · coverage)⌉ days;
 *   more users = max(0, ⌈N wX⌉ - nX) per arm with the observed variances.
 * - Bayesian (bayesian.ts): likelihood N(effect, se²), optional prior N(m₀, v₀) on the relative
 *   effect (N(m₀|mA|, v₀mA²) for absolute effects), precision-weighted posterior N(μ, s²);
 *   chance to win Φ(μ/s) (negated μ for inverse metrics), interval μ ± z₁₋α/₂ s, risk of
 *   control E[max(X,0)] = μΦ(μ/s) + sφ(μ/s), of treatment E[max(-X,0)] (GrowthBook gbstats).
 *   One-sided (alpha not halved): 'greater' [μ - z₁₋α s, null], 'lesser' [null, μ + z₁₋α s].
 * - Sequential (sequential.ts): asymptotic confidence sequence (Waudby-Smith et al., arXiv
 *   2103.06476), N = nA + nB, rho = √((-2 ln α + ln(-2 ln α + 1))/N*), N* = 5000 by default,
 *   half-width = se √N √(2(N rho² + 1) ln(√(N rho² + 1)/α)/(N² rho²)); always-valid p-value =
 *   the α where the half-width equals |effect| (bisection on ln α). One-sided (gbstats'
 *   sequentialIntervalHalfwidthOneSided; α < 0.5): rho₁ as rho at 2α, h = se √N
 *   √(2(N rho₁² + 1)/(N² rho₁²) · ln(1 + √(N rho₁² + 1)/(2α))), interval [effect - h, null] or
 *   [null, effect + h]; p-value with rho₁ fixed at the configured α, in closed form
 *   min(1, √(N rho₁² + 1)/(2(e^K - 1))), K = effect² N rho₁²/(2 se² (N rho₁² + 1)), and 1 when
 *   the effect is on the other side.
 * - compareArms (compare.ts): ratio metrics R = Σnum/Σden by the delta method, per-user
 *   variance v_n/d̄² + v_d n̄²/d̄⁴ - 2c_nd n̄/d̄³ of the linearization (num - R den)/d̄. CUPED
 *   (both arms carry a covariate): θ = joint cov(y, x)/joint var(x) over both arms' pooled sums
 *   (gbstats compute_theta); ratios θ = (c_A(L,x) + c_B(L,x))/(v_A(x) + v_B(x)) (gbstats
 *   compute_theta_regression_adjusted_ratio); adjusted mean ȳ - θ(x̄ - x̄_pooled), variance
 *   v - 2θc + θ²v_x; relative effects divide by the unadjusted control mean with the delta
 *   variance on adjusted variances and unadjusted means; Welch df on the adjusted variances.
 *   Bayesian comparisons report the posterior mean and sd as effect and se.
 * - Bandits (bandit.ts): P(arm best) = ∫ φ(z) Πⱼ Φ((mᵢ + sᵢz - mⱼ)/sⱼ) dz by adaptive
 *   Gauss–Kronrod (deterministic), floor m per arm by water-filling (floored arms get m, the
 *   rest 1 - |F|m is shared in proportion to P(best)), expected loss E[max] - mᵢ.
 * - Heterogeneity (heterogeneity.ts): Cochran's Q = Σ wᵢ(eᵢ - ē)², wᵢ = 1/seᵢ², df = k - 1,
 *   p = Q(df/2, Q/2), I² = max(0, (Q - df)/Q).
 * - Factorial (factorial.ts): main effects pool arms by summing sufficient statistics;
 *   interaction (μ_lm - μ_l0) - (μ_0m - μ_00), variance Σ vᵢ/nᵢ, Welch–Satterthwaite df
 *   (Σ vᵢ/nᵢ)²/Σ (vᵢ/nᵢ)²/(nᵢ - 1).
 * - Degenerate data (empty arm, n < 2, zero variance in both arms, zero control mean for a
 *   relative effect, no users for SRM) gives `{ ok: false, reason, message }`, never numbers;
 *   impossible input (negative n, conversions > n, sumSquares < sum²/n, non-finite values,
 *   alpha outside (0, 1)) throws StrataError INPUT_INVALID.
 *
 * Oracles (stats.test.ts): R's t.test(extra ~ group, data = sleep); the SRM example of
 * Kohavi, Tang & Xu ch. 21; scipy 1.10 (ttest_ind_from_stats, t.ppf, chisquare) and textbook
 * Holm/BH in scipy-oracle.py on random inputs. power.test.ts: Chow, Shao & Wang's 70 per group
 * and scipy (norm.ppf, optimize.brentq); bayesian.test.ts: scipy.stats.norm and
 * integrate.quad; sequential.test.ts: the formula in python and the p-value's defining
 * property (power-bayes-oracle.py), one-sided p-values against scipy.optimize.brentq.
 * compare.test.ts: numpy/scipy on RAW per-user data (ttest_ind(equal_var=False) on numpy
 * CUPED-adjusted values; the numpy delta-method linearization for ratios). bandit.test.ts:
 * scipy.integrate.quad and the 2-arm closed forms (Φ; Clark 1961). heterogeneity.test.ts:
 * metafor's BCG example, Q(df = 12) = 152.2330, and scipy.stats.chi2. factorial.test.ts:
 * numpy/scipy on raw data. request.test.ts: scipy ttest_ind_from_stats on the issue's example.
 */
export type { ArmStats, ArmSummary, CovariateSums, MeanStats, MetricStats, ProportionStats, RatioStats, Sums } from './sufficient.js';
export { meanStatsOf, summarizeArm } from './sufficient.js';
export type { Degenerate, DegenerateReason } from './result.js';
export { isDegenerate } from './result.js';
export type { Difference, Effect } from './effects.js';
export { effectOf } from './effects.js';
export type { Sides, TestOptions, WelchResult } from './frequentist.js';
export { tInterval, tPValue, welchDf, welchFromSummaries, welchTest } from './frequentist.js';
export type { SrmResult } from './srm.js';
export { SRM_THRESHOLD, srmTest } from './srm.js';
export type { Adjustment, Correction } from './multiple.js';
export { adjustPValues, benjaminiHochbergAdjust, benjaminiHochbergRejects, holmAdjust, holmRejects } from './multiple.js';
export type { Allocation, MoreUsers, SampleSize, TestSettings } from './power.js';
export {
  additionalUsersForPower,
  durationDays,
  mdeMeans,
  mdeProportions,
  powerForVariances,
  sampleSizeForVariances,
  sampleSizeMeans,
  sampleSizeProportions,
} from './power.js';
export type { BayesianOptions, BayesianResult, NormalPrior } from './bayesian.js';
export { bayesianFromEffect, bayesianTest, credibleInterval, expectedPositivePart } from './bayesian.js';
export type { SequentialOptions, SequentialResult } from './sequential.js';
export {
  DEFAULT_SEQUENTIAL_TUNING,
  sequentialFromEffect,
  sequentialHalfWidth,
  sequentialHalfWidthOneSided,
  sequentialPValue,
  sequentialPValueOneSided,
  sequentialTest,
} from './sequential.js';
export type { ArmEstimate, CompareOptions, Comparison, ComparisonResult } from './compare-types.js';
export { compareArms } from './compare.js';
export { metricSummary } from './compare.js';
export type { BanditArm, BanditArmResult, BanditOptions, BanditUpdate, NormalPosterior } from './bandit.js';
export { expectedBest, floorWeights, probabilityBest, updateBandit } from './bandit.js';
export type { HeterogeneityResult, SegmentEffect } from './heterogeneity.js';
export { heterogeneityTest } from './heterogeneity.js';
export type { FactorialAnalysis, FactorialCell, Interaction, InteractionContrast, MainEffect } from './factorial.js';
export { analyzeFactorial, interactionContrast, poolStats } from './factorial.js';
export type { StatsRequest, StatsRequestInput, StatsResponse, TreatmentOutput } from './request.js';
export { computeStats, parseStatsRequest, runStatsRequest, StatsRequestSchema } from './request.js';
export type { PowerCalculatorInput, PowerPlan } from './power-calculator.js';
export { planPower, POWER_FORMULAS } from './power-calculator.js';
