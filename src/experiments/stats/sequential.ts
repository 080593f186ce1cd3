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
 */
import { StrataError } from '../../errors/errors.js';
import { effectOf, type Difference } from './effects.js';
import { isDegenerate, type Degenerate } from './result.js';
import { summarizeArm, type ArmStats } from './sufficient.js';

export const DEFAULT_SEQUENTIAL_TUNING = 5000;

export interface SequentialOptions {
  readonly difference: Difference;
  readonly alpha: number;
  /** N*, the total sample size at which the sequence is tightest; default 5000. */
  readonly tuning?: number;
}

export interface SequentialResult {
  readonly ok: true;
  readonly difference: Difference;
  readonly effect: number;
  readonly se: number;
  readonly n: number;
  readonly halfWidth: number;
  readonly ci: readonly [number, number];
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
  const n = a.n + b.n;
  const halfWidth = sequentialHalfWidth(effect.se, n, options.alpha, tuning);
  return {
    ok: true,
    difference: options.difference,
    effect: effect.estimate,
    se: effect.se,
    n,
    halfWidth,
    ci: [effect.estimate - halfWidth, effect.estimate + halfWidth],
    pValue: sequentialPValue(effect.estimate, effect.se, n, tuning),
  };
}
