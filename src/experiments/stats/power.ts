/**
 * Power for experiments: sample size, minimum detectable effect (MDE), duration and the
 * mid-experiment "how many more users" question, for a two-sided test at level alpha.
 *
 * These use the same unpooled variance as the analysis (Welch, effects.ts), so the plan and
 * the result agree: with N users in total split by weights wA, wB (fractions summing to 1),
 *   se² = vA/(N wA) + vB/(N wB),   the test detects δ with power 1-β when |δ| = (z₁₋α/₂ + z₁₋β) se,
 *   so N = (z₁₋α/₂ + z₁₋β)² (vA/wA + vB/wB) / δ²                         (normal approximation)
 * Proportions: v = p(1-p) in each arm, vB at the target pB = pA + δ (Chow, Shao & Wang,
 * "Sample Size Calculations in Clinical Research", 2nd ed. 2008, §4.2, two-sample test for
 * equality: 0.65 vs 0.85 at alpha 0.05, power 0.8 gives 70 per group). Means: vA = vB = σ².
 * Power of n users: Φ(|δ|/se - z₁₋α/₂) (the far tail, under 1e-6 in practice, is left out,
 * as the references do). Relative MDEs are the absolute ones divided by |mA|.
 *
 * src/analysis/power.ts (segment lint) keeps R's power.prop.test (pooled, Fleiss) form for
 * 50/50 splits; the normal quantile and settings check are shared from there.
 */
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import { StrataError } from '../../errors/errors.js';
import { checkTestSettings, zQuantile, type TestSettings } from '../../analysis/power.js';

export type { TestSettings } from '../../analysis/power.js';

/** Traffic fractions of control and treatment (need not sum to 1; normalized). */
export type Allocation = readonly [control: number, treatment: number];

export interface SampleSize {
  /** Unrounded users per arm. */
  readonly exact: readonly [control: number, treatment: number];
  /** Users per arm rounded up: what to plan for. */
  readonly perArm: readonly [control: number, treatment: number];
  readonly total: number;
}

function fractions(allocation: Allocation): readonly [number, number] {
  const [a, b] = allocation;
  if (!(Number.isFinite(a) && Number.isFinite(b) && a > 0 && b > 0)) throw new StrataError('INPUT_INVALID', `allocation weights must be positive finite numbers, got [${a}, ${b}]`);
  return [a / (a + b), b / (a + b)];
}

function zSum(settings: TestSettings): number {
  checkTestSettings(settings);
  return zQuantile(1 - settings.alpha / 2) + zQuantile(settings.power);
}

function checkProportion(p: number, what: string): void {
  if (!(Number.isFinite(p) && p >= 0 && p <= 1)) throw new StrataError('INPUT_INVALID', `${what} must be a proportion in [0, 1], got ${p}`);
}

function checkNonNegative(x: number, what: string): void {
  if (!(Number.isFinite(x) && x >= 0)) throw new StrataError('INPUT_INVALID', `${what} must be a finite number >= 0, got ${x}`);
}

/** Users needed for a difference delta given the per-user variances of each arm; Infinity when delta = 0. */
export function sampleSizeForVariances(varianceControl: number, varianceTreatment: number, delta: number, settings: TestSettings, allocation: Allocation = [1, 1]): SampleSize {
  checkNonNegative(varianceControl, 'control variance');
  checkNonNegative(varianceTreatment, 'treatment variance');
  if (!Number.isFinite(delta)) throw new StrataError('INPUT_INVALID', `delta must be finite, got ${delta}`);
  const [wA, wB] = fractions(allocation);
  const z = zSum(settings);
  const total = delta === 0 ? Infinity : (z * z * (varianceControl / wA + varianceTreatment / wB)) / (delta * delta);
  const exact = [total * wA, total * wB] as const;
  const perArm = [Math.ceil(exact[0]), Math.ceil(exact[1])] as const;
  return { exact, perArm, total: perArm[0] + perArm[1] };
}

/** Sample size to detect control rate pA against treatment rate pB (Chow, Shao & Wang 2008). */
export function sampleSizeProportions(pA: number, pB: number, settings: TestSettings, allocation: Allocation = [1, 1]): SampleSize {
  checkProportion(pA, 'control proportion');
  checkProportion(pB, 'treatment proportion');
  return sampleSizeForVariances(pA * (1 - pA), pB * (1 - pB), pB - pA, settings, allocation);
}

/** Sample size to detect a difference delta in means with per-user standard deviation sd in both arms. */
export function sampleSizeMeans(sd: number, delta: number, settings: TestSettings, allocation: Allocation = [1, 1]): SampleSize {
  checkNonNegative(sd, 'standard deviation');
  return sampleSizeForVariances(sd * sd, sd * sd, delta, settings, allocation);
}

/** Power of the two-sided test of delta with nA, nB users and per-user variances vA, vB. */
export function powerForVariances(varianceControl: number, varianceTreatment: number, delta: number, nControl: number, nTreatment: number, alpha: number): number {
  checkTestSettings({ alpha, power: 0.5 });
  if (nControl <= 0 || nTreatment <= 0) return 0;
  const se = Math.sqrt(varianceControl / nControl + varianceTreatment / nTreatment);
  if (se === 0) return delta === 0 ? 0 : 1;
  return normalCdf(Math.abs(delta) / se - zQuantile(1 - alpha / 2), 0, 1);
}

/** Smallest absolute difference in means detectable with nA, nB users: (z₁₋α/₂ + z₁₋β) sd √(1/nA + 1/nB). */
export function mdeMeans(sd: number, nControl: number, nTreatment: number, settings: TestSettings): number {
  checkNonNegative(sd, 'standard deviation');
  if (!(nControl > 0 && nTreatment > 0)) return Infinity;
  return zSum(settings) * sd * Math.sqrt(1 / nControl + 1 / nTreatment);
}

/**
 * Smallest change of the control rate pA detectable with nA, nB users, upwards (δ > 0) or
 * downwards. vB depends on pB = pA + δ, so δ solves δ² = z² (pA qA/nA + (pA+δ)(1-pA-δ)/nB),
 * the quadratic δ² (1 + z²/nB) - δ z² (1 - 2pA)/nB - z² pA qA (1/nA + 1/nB) = 0, z = z₁₋α/₂ + z₁₋β.
 * null when the root takes pB outside [0, 1] (no rate is detectable).
 */
export function mdeProportions(pA: number, nControl: number, nTreatment: number, settings: TestSettings, direction: 'up' | 'down' = 'up'): number | null {
  checkProportion(pA, 'control proportion');
  const z = zSum(settings);
  if (!(nControl > 0 && nTreatment > 0)) return null;
  const c = z * z;
  const a = 1 + c / nTreatment;
  const b = (-c * (1 - 2 * pA)) / nTreatment;
  const k = -c * pA * (1 - pA) * (1 / nControl + 1 / nTreatment);
  const root = Math.sqrt(b * b - 4 * a * k);
  const delta = direction === 'up' ? (-b + root) / (2 * a) : (-b - root) / (2 * a);
  const pB = pA + delta;
  return pB >= 0 && pB <= 1 ? delta : null;
}

/** Days to reach totalUsers when dailyUsers enter the segment per day and coverage of them are enrolled. */
export function durationDays(totalUsers: number, dailyUsers: number, coverage = 1): number {
  checkNonNegative(totalUsers, 'total users');
  if (!(Number.isFinite(dailyUsers) && dailyUsers > 0)) throw new StrataError('INPUT_INVALID', `daily users must be positive, got ${dailyUsers}`);
  if (!(coverage > 0 && coverage <= 1)) throw new StrataError('INPUT_INVALID', `coverage must be in (0, 1], got ${coverage}`);
  return Math.ceil(totalUsers / (dailyUsers * coverage));
}

export interface MoreUsers {
  /** Power with the users enrolled so far. */
  readonly currentPower: number;
  /** Users still to enroll, in total, keeping the allocation; 0 when the target is already reached. */
  readonly additionalTotal: number;
  /** Additional users per arm (rounded up), so that nA + more reaches N wA for each arm. */
  readonly additionalPerArm: readonly [control: number, treatment: number];
}

/**
 * Mid-experiment: with nA, nB users and the observed per-user variances vA, vB, how many more
 * users (split by the allocation) give the target power against delta. Needed N as in
 * sampleSizeForVariances with the observed variances; per arm max(0, ⌈N wX⌉ - nX)
 * (Infinity for delta = 0: no number of users detects no effect).
 */
export function additionalUsersForPower(
  current: { readonly nControl: number; readonly nTreatment: number; readonly varianceControl: number; readonly varianceTreatment: number },
  delta: number,
  settings: TestSettings,
  allocation: Allocation = [1, 1],
): MoreUsers {
  checkNonNegative(current.nControl, 'control n');
  checkNonNegative(current.nTreatment, 'treatment n');
  const need = sampleSizeForVariances(current.varianceControl, current.varianceTreatment, delta, settings, allocation);
  const currentPower = powerForVariances(current.varianceControl, current.varianceTreatment, delta, current.nControl, current.nTreatment, settings.alpha);
  const more = [Math.max(0, need.perArm[0] - current.nControl), Math.max(0, need.perArm[1] - current.nTreatment)] as const;
  return { currentPower, additionalTotal: more[0] + more[1], additionalPerArm: more };
}
