/**
 * The contract of a differentially private release (issue 7). Callers (`--private` on
 * segment sizes, breakdowns, lifecycle and experiment summaries) compute the true
 * aggregates with contribution bounding already applied in SQL (each user in at most
 * `maxGroupsPerUser` groups, at most `maxRowsPerUser` rows per count, each user's value
 * clamped into [lower, upper] before summing), then hand them to `releasePrivately`
 * (`release.ts`), which checks and spends the budget, adds noise, selects partitions and
 * suppresses small groups, and records the release in the ledger and the audit log.
 */

export type DpMechanismKind = 'laplace' | 'gaussian';

/** How much of the budget one release spends: epsilon (pure DP, discrete Laplace) or rho (zCDP, discrete Gaussian). */
export type DpSpend = { readonly mechanism: 'laplace'; readonly epsilon: number } | { readonly mechanism: 'gaussian'; readonly rho: number };

export interface DpGroupValue {
  /** The group's key as shown (a trait value, a stage, a variant); '' for a single total. */
  readonly key: string;
  /** The exact aggregate: a count, or a sum of clamped per-user values. */
  readonly value: number;
}

interface QueryBase {
  /** Names the query in the result and the ledger: `size`, `users`, `conversions`, `sum:revenue`. */
  readonly name: string;
  readonly groups: readonly DpGroupValue[];
  /**
   * `public`: the group keys are known without looking at the data (stages, variants, a
   * total) and every one is released; `private`: keys come from the data (trait values),
   * so a group is released only if it survives partition selection.
   */
  readonly keys: 'public' | 'private';
  /** The most groups one user adds to (1 for a partition of users). */
  readonly maxGroupsPerUser: number;
}

export interface CountQuery extends QueryBase {
  readonly kind: 'count';
  /** The most one user adds to one group's count (1 for counts of users). */
  readonly maxRowsPerUser: number;
}

export interface SumQuery extends QueryBase {
  readonly kind: 'sum';
  /** The clamp applied to each user's value before summing. */
  readonly lower: number;
  readonly upper: number;
}

export type DpQuery = CountQuery | SumQuery;

export interface ReleaseRequest {
  /** What is released, for the ledger and the audit log: `segment size power-users as of 2026-11-01`. */
  readonly release: string;
  readonly actor: string;
  /** The whole release's spend, split evenly over its queries (sequential composition). */
  readonly spend: DpSpend;
  readonly queries: readonly DpQuery[];
  /**
   * Groups whose noisy size is below this are suppressed (default: privacy.min_group_size).
   * The release's first count query gives the sizes; a suppressed group's value is null in
   * every query of the release (release.ts). A release without a count query suppresses nothing.
   */
  readonly minGroupSize?: number;
  /** The delta spent on partition selection for `private` keys (default: privacy.budget.delta). */
  readonly selectionDelta?: number;
}

export interface NoisyGroup {
  readonly key: string;
  /** The noisy value; null when suppressed. */
  readonly value: number | null;
  /**
   * Why the value is null. `releasePrivately` leaves private keys that fail partition
   * selection out of `groups` altogether (showing the key would disclose it), so it never
   * produces 'partition_selection'; the value stays for callers' own displays.
   */
  readonly suppressed: null | 'min_group_size' | 'partition_selection';
}

export interface NoisyQuery {
  readonly name: string;
  readonly kind: 'count' | 'sum';
  readonly groups: readonly NoisyGroup[];
  /** The noise's standard deviation and the half-width of its 95% interval, for readers. */
  readonly noiseSd: number;
  readonly ci95: number;
  /** The partition-selection threshold τ, on the query that selected the private keys (added by dp-core). */
  readonly threshold?: number;
}

export interface ReleaseResult {
  readonly releaseId: number;
  readonly release: string;
  readonly mechanism: DpMechanismKind;
  readonly epsilon: number;
  readonly rho: number;
  /** The delta spent on partition selection (0 when every key was public; added by dp-core). */
  readonly delta: number;
  readonly queries: readonly NoisyQuery[];
  /** The ledger after this release. */
  readonly budget: BudgetState;
}

export interface BudgetState {
  readonly epsilonSpent: number;
  readonly epsilonLimit: number;
  readonly rhoSpent: number;
  readonly rhoLimit: number;
  /** The combined guarantee: every release converted to zCDP and added, stated as (epsilon, delta)-DP at the configured delta. */
  readonly combined: {
    readonly epsilon: number;
    readonly delta: number;
    /** Which valid statement was the tighter (accounting.ts header; added by dp-core). */
    readonly basis?: 'zcdp' | 'basic-composition' | 'nothing-spent';
  };
  readonly releases: number;
}
