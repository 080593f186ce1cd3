/**
 * The `strata experiment power` calculator over power.ts: users needed for a relative minimum
 * detectable effect (MDE), the MDE of a given number of users, the duration given daily traffic,
 * and mid-experiment "how many more users". Two-sided test, normal approximation, unpooled
 * variances (as the analysis):
 *   N = (z₁₋α/₂ + z₁₋β)² (vA/wA + vB/wB) / δ²   users for a control/treatment pair split wA/wB,
 *   proportions: vA = pA(1-pA), vB = pB(1-pB), pB = pA(1 + mde), δ = pB - pA;
 *   means: vA = vB = sd², δ = mde·|baseline|.
 * With k ≥ 2 arms (weights w₀ control, w₁…): each treatment i against the control needs
 * N_i = N(w₀, wᵢ) for the pair, i.e. N_i (Σw)/(w₀ + wᵢ) in the whole experiment; the plan takes
 * the largest, and arm j gets ⌈N·wⱼ/Σw⌉ users. Duration: ⌈total/(daily users · coverage)⌉
 * days. More users: the same plan with the observed variances (observed control rate, or
 * observed per-user sd), minus the users each arm has, never below 0; current power is the
 * lowest over the treatments, Φ(|δ|/se - z₁₋α/₂).
 */
import { StrataError } from '../../errors/errors.js';
import { durationDays, mdeMeans, mdeProportions, powerForVariances, sampleSizeForVariances } from './power.js';

export interface PowerCalculatorInput {
  readonly metric: 'proportion' | 'mean';
  /** Control conversion rate (proportion) or control mean (mean). */
  readonly baseline: number;
  /** Per-user standard deviation (mean metrics). */
  readonly sd?: number;
  /** Relative MDE (0.05 = 5%); needed for a sample size. */
  readonly mde?: number;
  /** Total users: report the MDE they can detect. */
  readonly users?: number;
  readonly alpha: number;
  readonly power: number;
  /** Control first; default [1, 1]. */
  readonly weights?: readonly number[];
  readonly dailyUsers?: number;
  /** Share of the daily users enrolled, (0, 1]; default 1. */
  readonly coverage?: number;
  /** Mid-experiment: users so far per arm, and the observed control rate or per-user sd. */
  readonly current?: { readonly n: readonly number[]; readonly observed?: number };
}

export interface PowerPlan {
  readonly metric: 'proportion' | 'mean';
  readonly baseline: number;
  readonly sd: number | null;
  readonly alpha: number;
  readonly power: number;
  /** Normalized to sum to 1. */
  readonly weights: readonly number[];
  readonly formula: string;
  readonly mde: number | null;
  /** The absolute difference δ the plan detects. */
  readonly delta: number | null;
  readonly sampleSize: { readonly perArm: readonly number[]; readonly total: number } | null;
  readonly mdeForUsers: { readonly users: number; readonly relative: number | null; readonly absolute: number | null } | null;
  readonly duration: { readonly days: number; readonly dailyUsers: number; readonly coverage: number } | null;
  readonly more: {
    readonly currentPower: number;
    readonly additionalPerArm: readonly number[];
    readonly additionalTotal: number;
    readonly days: number | null;
  } | null;
}

export const POWER_FORMULAS = {
  proportion: 'N = (z(1-a/2) + z(1-b))^2 * (vA/wA + vB/wB) / delta^2; v = p(1-p) at pA = baseline and pB = pA*(1+mde); delta = pB - pA',
  mean: 'N = (z(1-a/2) + z(1-b))^2 * (vA/wA + vB/wB) / delta^2; vA = vB = sd^2; delta = mde*|baseline|',
} as const;

/** INPUT_INVALID naming the input field (the CLI maps it to its option). */
function invalid(field: string, message: string): never {
  throw new StrataError('INPUT_INVALID', 'the power calculation has an invalid input', [{ path: field, message }]);
}

function check(input: PowerCalculatorInput): readonly number[] {
  if (input.metric === 'proportion' && !(input.baseline > 0 && input.baseline < 1)) invalid('baseline', `a conversion rate strictly between 0 and 1 is needed, got ${input.baseline}`);
  if (input.metric === 'mean') {
    if (!Number.isFinite(input.baseline)) invalid('baseline', `a finite mean is needed, got ${input.baseline}`);
    if (!(input.sd !== undefined && Number.isFinite(input.sd) && input.sd > 0)) invalid('sd', `a mean metric needs its per-user standard deviation (> 0), got ${String(input.sd)}`);
  }
  if (input.mde === undefined && input.users === undefined) invalid('mde', 'give the relative MDE to size the experiment, or the number of users to get the MDE they detect');
  if (input.mde !== undefined && !(Number.isFinite(input.mde) && input.mde !== 0)) invalid('mde', `a non-zero relative effect is needed, got ${input.mde}`);
  if (input.mde !== undefined && input.metric === 'mean' && input.baseline === 0) invalid('baseline', 'a relative MDE needs a non-zero baseline mean');
  if (input.mde !== undefined && input.metric === 'proportion') {
    const pB = input.baseline * (1 + input.mde);
    if (!(pB > 0 && pB < 1)) invalid('mde', `the target rate ${input.baseline} x (1 + ${input.mde}) = ${pB} is not a rate strictly between 0 and 1`);
  }
  const weights = input.weights ?? [1, 1];
  if (weights.length < 2 || weights.some((w) => !(Number.isFinite(w) && w > 0))) invalid('weights', `at least 2 positive weights are needed (control first), got ${weights.join(',')}`);
  const total = weights.reduce((s, w) => s + w, 0);
  return weights.map((w) => w / total);
}

/** Users per arm for the variances vA (control) and vB (each treatment) and the difference delta. */
function planUsers(vA: number, vB: number, delta: number, weights: readonly number[], settings: { alpha: number; power: number }): number[] {
  let total = 0;
  for (let i = 1; i < weights.length; i++) {
    const pair = sampleSizeForVariances(vA, vB, delta, settings, [weights[0]!, weights[i]!]);
    total = Math.max(total, (pair.exact[0] + pair.exact[1]) / (weights[0]! + weights[i]!));
  }
  return weights.map((w) => Math.ceil(total * w));
}

function variancesFor(input: PowerCalculatorInput, rateOrSd: number): { vA: number; vB: number; delta: number } {
  const mde = input.mde!;
  if (input.metric === 'proportion') {
    const pB = rateOrSd * (1 + mde);
    return { vA: rateOrSd * (1 - rateOrSd), vB: pB * (1 - pB), delta: pB - rateOrSd };
  }
  return { vA: rateOrSd * rateOrSd, vB: rateOrSd * rateOrSd, delta: mde * Math.abs(input.baseline) };
}

function mdeFor(input: PowerCalculatorInput, weights: readonly number[], settings: { alpha: number; power: number }): PowerPlan['mdeForUsers'] {
  const users = input.users!;
  if (!(Number.isFinite(users) && users > 0)) invalid('users', `a positive number of users is needed, got ${users}`);
  const nA = users * weights[0]!;
  const nB = users * weights[1]!;
  const absolute = input.metric === 'proportion' ? mdeProportions(input.baseline, nA, nB, settings, 'up') : mdeMeans(input.sd!, nA, nB, settings);
  const relative = absolute === null || input.baseline === 0 ? null : absolute / Math.abs(input.baseline);
  return { users, relative, absolute };
}

function moreUsers(input: PowerCalculatorInput, weights: readonly number[], settings: { alpha: number; power: number }, coverage: number): PowerPlan['more'] {
  const current = input.current!;
  if (current.n.length !== weights.length) invalid('current.n', `expected ${weights.length} counts (one per arm, control first), got ${current.n.length}`);
  if (current.n.some((n) => !(Number.isInteger(n) && n >= 0))) invalid('current.n', `counts must be whole numbers >= 0, got ${current.n.join(',')}`);
  const observed = current.observed ?? (input.metric === 'proportion' ? input.baseline : input.sd!);
  if (input.metric === 'proportion' && !(observed > 0 && observed < 1)) invalid('current.observed', `an observed control rate strictly between 0 and 1 is needed, got ${observed}`);
  if (input.metric === 'mean' && !(observed > 0 && Number.isFinite(observed))) invalid('current.observed', `an observed per-user sd > 0 is needed, got ${observed}`);
  const { vA, vB, delta } = variancesFor(input, observed);
  const need = planUsers(vA, vB, delta, weights, settings);
  const additionalPerArm = need.map((n, j) => Math.max(0, n - current.n[j]!));
  const additionalTotal = additionalPerArm.reduce((s, n) => s + n, 0);
  const powers = current.n.slice(1).map((ni) => powerForVariances(vA, vB, delta, current.n[0]!, ni, settings.alpha));
  const days = input.dailyUsers !== undefined ? durationDays(additionalTotal, input.dailyUsers, coverage) : null;
  return { currentPower: Math.min(...powers), additionalPerArm, additionalTotal, days };
}

/** Sample size, MDE, duration and more users, as requested (see the header for the formulas). */
export function planPower(input: PowerCalculatorInput): PowerPlan {
  const weights = check(input);
  const settings = { alpha: input.alpha, power: input.power };
  const coverage = input.coverage ?? 1;
  let sampleSize: PowerPlan['sampleSize'] = null;
  let delta: number | null = null;
  if (input.mde !== undefined) {
    const v = variancesFor(input, input.metric === 'proportion' ? input.baseline : input.sd!);
    delta = v.delta;
    const perArm = planUsers(v.vA, v.vB, v.delta, weights, settings);
    sampleSize = { perArm, total: perArm.reduce((s, n) => s + n, 0) };
  }
  const duration = sampleSize && input.dailyUsers !== undefined ? { days: durationDays(sampleSize.total, input.dailyUsers, coverage), dailyUsers: input.dailyUsers, coverage } : null;
  if (input.current && input.mde === undefined) invalid('current.n', 'how many more users needs the target --mde');
  return {
    metric: input.metric,
    baseline: input.baseline,
    sd: input.metric === 'mean' ? input.sd! : null,
    alpha: input.alpha,
    power: input.power,
    weights,
    formula: POWER_FORMULAS[input.metric],
    mde: input.mde ?? null,
    delta,
    sampleSize,
    mdeForUsers: input.users !== undefined ? mdeFor(input, weights, settings) : null,
    duration,
    more: input.current ? moreUsers(input, weights, settings, coverage) : null,
  };
}
