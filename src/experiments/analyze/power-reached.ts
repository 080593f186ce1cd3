/**
 * Power reached: the chance the experiment, at its current users, detects the definition's
 * MDE on the primary metric, and how many more users (and days) reaching the target power
 * takes. Two-sided, fixed horizon, normal approximation (stats/power.ts), whatever the
 * analysis method, with:
 *   delta = mde · |control mean| (the MDE is relative);
 *   per-user variances observed in each arm: p(1-p) for conversions, the sample variance
 *     for means, and for ratio metrics the delta-method variance
 *     (vN - 2 r cov(N, D) + r² vD) / mD², r = ΣN/ΣD (Deng, Knoblich & Lu, KDD 2018);
 *   both variances scaled by (1 - CUPED's variance reduction) when CUPED applied;
 *   alpha / (number of treatments) when a correction is on (Bonferroni: conservative for Holm
 *     and for BH), alpha otherwise;
 *   users still needed = max over the two arms of (more users the arm needs / its share of
 *     all traffic), since new users spread over every arm by the weights; days = that / the
 *     exposures per day seen so far (exposed users / days since start).
 */
import { metricSummary } from '../stats/compare.js';
import { isDegenerate } from '../stats/result.js';
import type { ArmSummary, MetricStats } from '../stats/sufficient.js';
import { additionalUsersForPower, powerForVariances } from '../stats/power.js';
import type { PowerReached } from './report-types.js';
import { formatShare } from './format.js';

export interface PowerInput {
  readonly variant: string;
  readonly control: MetricStats;
  readonly treatment: MetricStats;
  readonly mde: number;
  readonly alpha: number;
  readonly target: number;
  /** Normalized weights (shares of all traffic) of the control and of the treatment. */
  readonly shares: readonly [number, number];
  readonly varianceReduction: number | null;
  /** Exposed users per day so far; null when unknown (no elapsed time). */
  readonly dailyUsers: number | null;
}

/** The mean and per-user variance of an arm's metric (ratio: delta method, stats/compare.ts), or null when it has none. */
export function armMoments(stats: MetricStats): ArmSummary | null {
  const s = metricSummary(stats);
  return isDegenerate(s) ? null : s;
}

export function powerReached(input: PowerInput): PowerReached {
  const { variant, mde, alpha, target } = input;
  const base = { variant, mde, alpha, target, varianceReduction: input.varianceReduction };
  const none = (message: string): PowerReached => ({ ...base, delta: null, power: null, reached: false, additionalUsers: null, days: null, message });
  const a = armMoments(input.control);
  const b = armMoments(input.treatment);
  if (!a || !b) return none(`${variant}: power cannot be computed yet (an arm has fewer than 2 users or no denominator)`);
  if (a.mean === 0) return none(`${variant}: the control mean is zero, so a relative MDE of ${formatShare(mde)} has no size`);
  const scale = 1 - (input.varianceReduction ?? 0);
  const vA = a.variance * scale;
  const vB = b.variance * scale;
  if (vA === 0 && vB === 0) return none(`${variant}: both arms have zero variance; power is not defined`);
  const delta = mde * Math.abs(a.mean);
  const power = powerForVariances(vA, vB, delta, a.n, b.n, alpha);
  const more = additionalUsersForPower({ nControl: a.n, nTreatment: b.n, varianceControl: vA, varianceTreatment: vB }, delta, { alpha, power: target }, input.shares);
  const [sA, sB] = input.shares;
  const additionalUsers = Math.ceil(Math.max(more.additionalPerArm[0] / sA, more.additionalPerArm[1] / sB));
  const reached = power >= target;
  const days = reached ? 0 : input.dailyUsers !== null && input.dailyUsers > 0 ? Math.ceil(additionalUsers / input.dailyUsers) : null;
  const message = reached
    ? `${variant}: power ${formatShare(power)} to detect ${formatShare(mde)} (target ${formatShare(target, 0)}) reached`
    : `${variant}: power ${formatShare(power)} to detect ${formatShare(mde)}; about ${additionalUsers.toLocaleString('en-US')} more users` +
      (days !== null ? ` (${days} days at the current exposure rate)` : '') +
      ` to reach ${formatShare(target, 0)}`;
  return { ...base, delta, power, reached, additionalUsers: reached ? 0 : additionalUsers, days, message };
}
