/**
 * Multiple-comparison correction by family. A family is a set of hypotheses whose error
 * rate is controlled together (report-types.ts `FamilyName` lists them; the rule is written
 * in docs/experiments.md, "Analysing"):
 *   primary              the primary metric, whole experiment, each treatment vs control
 *   secondary            each secondary metric, whole experiment, each treatment
 *   breakdown-primary    the primary metric in each breakdown group, each treatment
 *   breakdown-secondary  each secondary metric in each breakdown group, each treatment
 *   guardrail            not corrected
 * Only comparisons with a p-value join a family (degenerate ones have none). Holm and BH
 * come from stats/multiple.ts, with their adjusted intervals (Bonferroni alpha/m for Holm,
 * Benjamini–Yekutieli alpha·R/m for BH); `none` keeps the raw p-values and intervals.
 */
import { adjustPValues } from '../stats/multiple.js';
import type { Comparison } from '../stats/compare-types.js';
import type { AdjustedResult, CorrectionName, FamilyName } from './report-types.js';

export interface FamilyMember {
  readonly family: FamilyName;
  readonly comparison: Comparison;
}

export interface FamilyOutcome {
  readonly adjusted: AdjustedResult;
  /** The procedure rejects the null at alpha within the family. */
  readonly rejected: boolean;
}

/** The interval of a comparison recomputed at another alpha (compareArms with that alpha). */
export type IntervalAt = (member: number, alpha: number) => readonly [number | null, number | null];

/**
 * Correct every family in `members` (indices are kept: outcome i belongs to member i).
 * Members without a p-value get null. `intervalAt` is only called when the interval alpha
 * differs from alpha.
 */
export function correctFamilies(members: readonly FamilyMember[], alpha: number, correction: CorrectionName, intervalAt: IntervalAt): (FamilyOutcome | null)[] {
  const outcomes: (FamilyOutcome | null)[] = members.map(() => null);
  const byFamily = new Map<FamilyName, number[]>();
  members.forEach((m, i) => {
    if (m.comparison.pValue === null) return;
    const list = byFamily.get(m.family) ?? [];
    list.push(i);
    byFamily.set(m.family, list);
  });
  for (const [family, indices] of byFamily) {
    const pValues = indices.map((i) => members[i]!.comparison.pValue as number);
    const uncorrected = correction === 'none' || family === 'guardrail';
    if (uncorrected) {
      indices.forEach((i, k) => {
        const c = members[i]!.comparison;
        outcomes[i] = { adjusted: { family, familySize: indices.length, pValue: pValues[k]!, ci: c.ci, intervalAlpha: alpha }, rejected: pValues[k]! <= alpha };
      });
      continue;
    }
    const adjustment = adjustPValues(pValues, alpha, correction === 'holm' ? 'holm' : 'benjamini-hochberg');
    indices.forEach((i, k) => {
      const c = members[i]!.comparison;
      const ci = adjustment.intervalAlpha === alpha ? c.ci : intervalAt(i, adjustment.intervalAlpha);
      outcomes[i] = {
        adjusted: { family, familySize: indices.length, pValue: adjustment.pValues[k]!, ci, intervalAlpha: adjustment.intervalAlpha },
        rejected: adjustment.rejected[k]!,
      };
    });
  }
  return outcomes;
}
