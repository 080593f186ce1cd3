/**
 * Sequential analysis: always-valid asymptotic confidence sequences (Waudby-Smith, Arbour,
 * Sinha, Kennedy & Ramdas, "Time-uniform central limit theory and asymptotic confidence
 * sequences", arXiv 2103.06476; the form GrowthBook's gbstats uses), two-sided, exactly as
 * issue 5 states it. With N = nA + nB users and tuning N* (default 5000, the sample size at
 * which the sequence is tightest):
 *   rho = sqrt((-2 ln α + ln(-2 ln α + 1)) / N*)
 *   half-width = se √N √(2 (N rho² + 1) ln(√(N rho² + 1)/α) / (N² rho²))
 *   interval = effect ± half-width, valid at every N simultaneously.
 * Always-valid p-value: the smallest α at which the interval excludes 0, i.e. the α solving
 * half-width(α) = |effect|. rho depends on α too, so there is no closed form; the half-width
 * decreases in α (checked by the tests on a grid), and the root is found by bisection on ln α
 * over [-700, ln(1 - 1e-12)]. p = 1 when even α → 1 leaves 0 inside (the half-width tends to
 * a positive limit), and 0 when the root is below e^-700 (~1e-304).
 *
 * One-sided ('greater': H1 effect > 0, interval [effect - h, null]; 'lesser': [null, effect +
 * h]): the one-sided asymptotic confidence sequence of the same paper, as GrowthBook's gbstats
 * uses it (sequentialIntervalHalfwidthOneSided), alpha not halved:
 *   rho₁ = sqrt((-2 ln 2α + ln(-2 ln 2α + 1)) / N*)      (needs α < 0.5)
 *   h = se √N √(2 (N rho₁² + 1) / (N² rho₁²) · ln(1 + √(N rho₁² + 1)/(2α)))
 * Its p-value keeps rho₁ at the configured α (as gbstats does; with rho varying the width blows
 * up as α → 0.5, so "the α where the bound reaches 0" would not be unique) and solves h(α) =
 * |effect| in closed form: with K = effect² N rho₁² / (2 se² (N rho₁² + 1)),
 *   p = min(1, √(N rho₁² + 1) / (2 (e^K - 1)))   when the effect lies on the alternative's side,
 *   p = 1                                          otherwise;
 * so p < α exactly when the reported bound excludes 0.
 */
import { StrataError } from '../../errors/errors.js';
import { effectOf, type Difference, type Effect } from './effects.js';
import type { Sides } from './frequentist.js';
import { isDegenerate, type Degenerate } from './result.js';
import { summarizeArm, type ArmStats } from './sufficient.js';

export const DEFAULT_SEQUENTIAL_TUNING = 5000;

export interface SequentialOptions {
  readonly difference: Difference;
  readonly alpha: number;
  /** N*, the total sample size at which the sequence is tightest; default 5000. */
  readonly tuning?: number;
  /** Two-sided (default) or a one-sided sequence with the open end null (alpha < 0.5). */
  readonly sides?: Sides;
}

export interface SequentialResult {
  readonly ok: true;
  readonly difference: Difference;
  readonly effect: number;
  readonly se: number;
  readonly n: number;
  readonly halfWidth: number;
  /** [lo, hi]; null marks the open end of a one-sided sequence. */
  readonly ci: readonly [number | null, number | null];
  readonly pValue: number;
}

function checkTuning(tuning: number): void {
  if (!(Number.isFinite(tuning) && tuning > 0)) throw new StrataError('INPUT_INVALID', `sequential tuning N* must be a positive number, got ${tuning}`);
}

/** The confidence-sequence half-width at N users for an estimate with standard error se. */
export function sequentialHalfWidth(se: number, n: number, alpha: number, tuning = DEFAULT_SEQUENTIAL_TUNING): number {
  if (!(alpha > 0 && alpha < 1)) throw new StrataError('INPUT_INVALID', `alpha must be in (0, 1), got ${alpha}`);
  checkTuning(tuning);
  if (!(n > 0) || !(se >= 0)) throw new StrataError('INPUT_INVALID', `the sequence needs N > 0 users and se >= 0, got N = ${n}, se = ${se}`);
  const l = -2 * Math.log(alpha);
  const rho2 = (l + Math.log(l + 1)) / tuning;
  const nr = n * rho2 + 1;
  return se * Math.sqrt(n) * Math.sqrt((2 * nr * Math.log(Math.sqrt(nr) / alpha)) / (n * n * rho2));
}

const LOG_ALPHA_MIN = -700;
const LOG_ALPHA_MAX = Math.log(1 - 1e-12);

/** The always-valid two-sided p-value: the α at which the sequence's interval just reaches 0. */
export function sequentialPValue(effect: number, se: number, n: number, tuning = DEFAULT_SEQUENTIAL_TUNING): number {
  const target = Math.abs(effect);
  const excess = (logAlpha: number): number => sequentialHalfWidth(se, n, Math.exp(logAlpha), tuning) - target;
  if (excess(LOG_ALPHA_MAX) > 0) return 1;
  if (excess(LOG_ALPHA_MIN) <= 0) return 0;
  let lo = LOG_ALPHA_MIN; // still contains 0
  let hi = LOG_ALPHA_MAX; // excludes 0
  for (let i = 0; i < 200 && hi - lo > 1e-14 * Math.max(1, Math.abs(hi)); i++) {
    const mid = (lo + hi) / 2;
    if (excess(mid) > 0) lo = mid;
    else hi = mid;
  }
  return Math.exp(hi);
}

/** rho² of the one-sided sequence tuned for level alpha (< 0.5) and N*. */
function oneSidedRho2(alpha: number, tuning: number): number {
  if (!(alpha > 0 && alpha < 0.5)) throw new StrataError('INPUT_INVALID', `a one-sided sequential test needs alpha in (0, 0.5), got ${alpha}`);
  checkTuning(tuning);
  const l = -2 * Math.log(2 * alpha);
  return (l + Math.log(l + 1)) / tuning;
}

function checkSeN(se: number, n: number): void {
  if (!(n > 0) || !(se >= 0)) throw new StrataError('INPUT_INVALID', `the sequence needs N > 0 users and se >= 0, got N = ${n}, se = ${se}`);
}

/** The one-sided confidence-sequence half-width at N users (level alpha < 0.5). */
export function sequentialHalfWidthOneSided(se: number, n: number, alpha: number, tuning = DEFAULT_SEQUENTIAL_TUNING): number {
  const rho2 = oneSidedRho2(alpha, tuning);
  checkSeN(se, n);
  const nr = n * rho2 + 1;
  return se * Math.sqrt(n) * Math.sqrt(((2 * nr) / (n * n * rho2)) * Math.log(1 + Math.sqrt(nr) / (2 * alpha)));
}

/**
 * The always-valid one-sided p-value for H1 'greater' or 'lesser', with rho₁ tuned for the
 * configured alpha (see the header): min(1, √(N rho₁² + 1) / (2 (e^K - 1))).
 */
export function sequentialPValueOneSided(effect: number, se: number, n: number, side: 'greater' | 'lesser', alpha: number, tuning = DEFAULT_SEQUENTIAL_TUNING): number {
  const rho2 = oneSidedRho2(alpha, tuning);
  checkSeN(se, n);
  const onSide = side === 'greater' ? effect > 0 : effect < 0;
  if (!onSide) return 1;
  const nr = n * rho2 + 1;
  const k = (effect * effect * n * rho2) / (2 * se * se * nr);
  // expm1 keeps precision for small K; e^K overflows to Infinity for huge K, giving p = 0.
  return Math.min(1, Math.sqrt(nr) / (2 * Math.expm1(k)));
}

/** The sequence for an effect already estimated by effectOf (or CUPED/ratio estimates) with N users in total. */
export function sequentialFromEffect(effect: Effect, n: number, options: SequentialOptions): SequentialResult {
  const tuning = options.tuning ?? DEFAULT_SEQUENTIAL_TUNING;
  checkTuning(tuning);
  if (!(options.alpha > 0 && options.alpha < 1)) throw new StrataError('INPUT_INVALID', `alpha must be in (0, 1), got ${options.alpha}`);
  const sides = options.sides ?? 'two';
  const base = { ok: true as const, difference: options.difference, effect: effect.estimate, se: effect.se, n };
  if (sides === 'two') {
    const halfWidth = sequentialHalfWidth(effect.se, n, options.alpha, tuning);
    return { ...base, halfWidth, ci: [effect.estimate - halfWidth, effect.estimate + halfWidth], pValue: sequentialPValue(effect.estimate, effect.se, n, tuning) };
  }
  if (sides !== 'greater' && sides !== 'lesser') throw new StrataError('INPUT_INVALID', `sides must be two, greater or lesser, got ${String(sides)}`);
  const halfWidth = sequentialHalfWidthOneSided(effect.se, n, options.alpha, tuning);
  return {
    ...base,
    halfWidth,
    ci: sides === 'greater' ? [effect.estimate - halfWidth, null] : [null, effect.estimate + halfWidth],
    pValue: sequentialPValueOneSided(effect.estimate, effect.se, n, sides, options.alpha, tuning),
  };
}

/** Sequential comparison of treatment B against control A from their sufficient statistics. */
export function sequentialTest(control: ArmStats, treatment: ArmStats, options: SequentialOptions): SequentialResult | Degenerate {
  if (control.type !== treatment.type) throw new StrataError('INPUT_INVALID', `control is a ${control.type} metric but treatment is a ${treatment.type} metric`);
  const tuning = options.tuning ?? DEFAULT_SEQUENTIAL_TUNING;
  checkTuning(tuning);
  if (!(options.alpha > 0 && options.alpha < 1)) throw new StrataError('INPUT_INVALID', `alpha must be in (0, 1), got ${options.alpha}`);
  const a = summarizeArm(control, 'control');
  if (isDegenerate(a)) return a;
  const b = summarizeArm(treatment, 'treatment');
  if (isDegenerate(b)) return b;
  const effect = effectOf(a, b, options.difference);
  if (isDegenerate(effect)) return effect;
  return sequentialFromEffect(effect, a.n + b.n, options);
}
