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
 * power.ts (sample size, MDE, duration, more users), bayesian.ts, sequential.ts.
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
 * - Sequential (sequential.ts): asymptotic confidence sequence (Waudby-Smith et al., arXiv
 *   2103.06476), N = nA + nB, rho = √((-2 ln α + ln(-2 ln α + 1))/N*), N* = 5000 by default,
 *   half-width = se √N √(2(N rho² + 1) ln(√(N rho² + 1)/α)/(N² rho²)); always-valid p-value =
 *   the α where the half-width equals |effect| (bisection on ln α).
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
 * property (power-bayes-oracle.py).
 */
export type { ArmStats, ArmSummary, MeanStats, ProportionStats } from './sufficient.js';
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
export { bayesianFromEffect, bayesianTest, expectedPositivePart } from './bayesian.js';
export type { SequentialOptions, SequentialResult } from './sequential.js';
export { DEFAULT_SEQUENTIAL_TUNING, sequentialHalfWidth, sequentialPValue, sequentialTest } from './sequential.js';
