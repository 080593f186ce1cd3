/**
 * Privacy-budget accounting for differentially private releases (issue 7).
 *
 * Two budgets are kept apart, each with its own limit in strata.yaml (`privacy.budget`):
 * - epsilon, spent by pure-DP releases (discrete Laplace). Releases compose by basic
 *   sequential composition: k releases that are ε_i-DP together are (Σ ε_i)-DP (Dwork &
 *   Roth, "The Algorithmic Foundations of Differential Privacy", 2014, Theorem 3.16).
 * - rho, spent by zCDP releases (discrete Gaussian). ρ_i-zCDP releases together are
 *   (Σ ρ_i)-zCDP (Bun & Steinke, "Concentrated Differential Privacy: Simplifications,
 *   Extensions, and Lower Bounds", TCC 2016, Lemma 2.3).
 * Sums and limit checks are exact on rationals (the spends as written in decimal), so ten
 * releases of ε = 0.1 exactly fill a budget of 1. A release that would take either sum
 * past its limit is refused (PRIVACY_BUDGET_EXCEEDED) before any noise is drawn.
 *
 * Partition selection (releases whose group keys come from the data) adds a δ per
 * release: the probability that a group holding a single user is shown at all. These δ
 * add up (Dwork & Roth Theorem 3.16 for (ε, δ) pairs).
 *
 * The combined guarantee of the whole ledger, one (ε, δ)-DP statement at the configured
 * δ (`privacy.budget.delta`), is the tighter of two valid statements:
 * - via zCDP: every pure release converted with ε-DP ⇒ (ε²/2)-zCDP (Bun & Steinke 2016,
 *   Proposition 1.4), applied per query (a release splits ε evenly over its n queries, so
 *   it is n · (ε/n)²/2 = ε²/(2n)-zCDP), added to Σρ, and the total ρ stated as (ε', δ)-DP
 *   with ε' = ρ + 2·sqrt(ρ·ln(1/δ)) (Bun & Steinke 2016, Proposition 1.3); δ' = δ + Σ δ_sel;
 * - by basic composition: Σε plus the zCDP releases' ρ converted by Proposition 1.3 alone
 *   (ε' = Σε + ρ + 2·sqrt(ρ·ln(1/δ)), δ' = δ + Σ δ_sel), or, with no zCDP release at all,
 *   (Σε, Σ δ_sel) exactly.
 * The zCDP route wins after many small releases (it grows like the square root of their
 * number), basic composition after a few large ones.
 */
import { StrataError } from '../../errors/errors.js';
import type { PrivacyConfig } from '../privacy-config.js';
import type { Rational } from './discrete-noise.js';
import { add, compare, exactOf, formatRational, sub, toNumber, ZERO } from './rational.js';
import type { DpSpend } from './release-types.js';

/** What one ledger row contributes to the accounting. */
export interface SpendRecord {
  readonly mechanism: 'laplace' | 'gaussian';
  readonly epsilon: number;
  readonly rho: number;
  /** The δ spent on partition selection (0 when every key was public). */
  readonly delta: number;
  /** The release's zCDP equivalent: ρ for a Gaussian release, ε²/(2n) for a pure one over n queries. */
  readonly zcdpRho: number;
}

export interface SpentTotals {
  readonly epsilon: Rational;
  readonly rho: Rational;
  readonly selectionDelta: number;
  /** Σ over pure releases of their zCDP equivalent (ε²/(2n) each). */
  readonly pureAsZcdp: number;
  readonly releases: number;
}

/** ε-DP ⇒ (ε²/2)-zCDP (Bun & Steinke 2016, Proposition 1.4). */
export function zcdpOfPureDp(epsilon: number): number {
  return (epsilon * epsilon) / 2;
}

/** The zCDP equivalent of a pure release of ε split evenly over n queries: n · (ε/n)²/2. */
export function zcdpOfPureRelease(epsilon: number, queries: number): number {
  return queries * zcdpOfPureDp(epsilon / queries);
}

/** ρ-zCDP ⇒ (ρ + 2·sqrt(ρ·ln(1/δ)), δ)-DP for every δ > 0 (Bun & Steinke 2016, Proposition 1.3). */
export function epsilonOfZcdp(rho: number, delta: number): number {
  if (!(delta > 0 && delta < 1)) throw new StrataError('INPUT_INVALID', `delta must be in (0, 1), got ${delta}`);
  if (rho <= 0) return 0;
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

/** Add up ledger rows: ε and ρ exactly, δ and the zCDP equivalents in floating point. */
export function totalSpent(records: readonly SpendRecord[]): SpentTotals {
  let epsilon = ZERO;
  let rho = ZERO;
  let selectionDelta = 0;
  let pureAsZcdp = 0;
  for (const r of records) {
    if (r.mechanism === 'laplace') {
      epsilon = add(epsilon, exactOf(r.epsilon, 'a ledger epsilon'));
      pureAsZcdp += r.zcdpRho;
    } else rho = add(rho, exactOf(r.rho, 'a ledger rho'));
    selectionDelta += r.delta;
  }
  return { epsilon, rho, selectionDelta, pureAsZcdp, releases: records.length };
}

export interface CombinedGuarantee {
  readonly epsilon: number;
  readonly delta: number;
  /** Which statement was the tighter one (see the file header). */
  readonly basis: 'zcdp' | 'basic-composition' | 'nothing-spent';
}

/** The whole ledger as one (ε, δ)-DP statement at `delta` (the tighter of the two in the file header). */
export function combinedGuarantee(totals: SpentTotals, delta: number): CombinedGuarantee {
  const eps = toNumber(totals.epsilon);
  const rho = toNumber(totals.rho);
  if (eps === 0 && rho === 0 && totals.selectionDelta === 0) return { epsilon: 0, delta: 0, basis: 'nothing-spent' };
  const viaZcdp = { epsilon: epsilonOfZcdp(rho + totals.pureAsZcdp, delta), delta: delta + totals.selectionDelta, basis: 'zcdp' as const };
  const basic =
    rho > 0
      ? { epsilon: eps + epsilonOfZcdp(rho, delta), delta: delta + totals.selectionDelta, basis: 'basic-composition' as const }
      : { epsilon: eps, delta: totals.selectionDelta, basis: 'basic-composition' as const };
  return basic.epsilon <= viaZcdp.epsilon ? basic : viaZcdp;
}

/** Refuse (PRIVACY_BUDGET_EXCEEDED) a spend that would take ε or ρ past the workspace's limit. */
export function checkBudget(totals: SpentTotals, spend: DpSpend, budget: PrivacyConfig['budget'], release: string): void {
  const [name, spent, requested, limit, mechanism] =
    spend.mechanism === 'laplace'
      ? (['epsilon', totals.epsilon, exactOf(spend.epsilon, 'epsilon'), exactOf(budget.epsilon, 'privacy.budget.epsilon'), 'discrete Laplace, pure DP'] as const)
      : (['rho', totals.rho, exactOf(spend.rho, 'rho'), exactOf(budget.rho, 'privacy.budget.rho'), 'discrete Gaussian, zCDP'] as const);
  const after = add(spent, requested);
  if (compare(after, limit) <= 0) return;
  const left = compare(limit, spent) > 0 ? sub(limit, spent) : ZERO;
  const show = (r: Rational) => String(toNumber(r));
  throw new StrataError(
    'PRIVACY_BUDGET_EXCEEDED',
    `refused "${release}": it would spend ${name} ${show(requested)} (${mechanism}), but the workspace has spent ${show(spent)} of its limit ${show(limit)} ` +
      `(privacy.budget.${name} in strata.yaml), so ${show(left)} is left and the total would be ${show(after)}. ` +
      `Release with a smaller ${name}, or raise the limit knowingly (every release so far stays spent; see \`strata privacy budget\`).`,
  );
}

/** Exact totals for display and JSON (`0.3`, not `0.30000000000000004`). */
export function describeTotal(r: Rational): { readonly value: number; readonly exact: string } {
  return { value: toNumber(r), exact: formatRational(r) };
}
