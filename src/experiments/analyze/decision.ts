/**
 * The recommendation. Each treatment gets a verdict from the primary metric (whole
 * experiment, corrected within the `primary` family), its guardrails and its power:
 *   no-data                      the primary comparison is degenerate (its message says why)
 *   better                       significant in the good direction, no guardrail failing
 *   better-but-guardrail-failed  significant in the good direction, a guardrail fails
 *   guardrail-failed             not better, and a guardrail fails
 *   worse                        significant in the bad direction
 *   flat-powered                 not significant, power to detect the MDE ≥ the target
 *   flat-underpowered            not significant, power below the target
 * The decision, first rule that applies:
 *   1. the whole experiment's SRM is flagged (p < 0.001)          → keep-running (investigate;
 *      the split is broken, no effect can be trusted)
 *   2. some treatment is `better`                                 → ship (the best such one)
 *   3. some treatment is worse or fails a guardrail, and no other
 *      treatment is still underpowered or without data            → do-not-ship
 *   4. some treatment is flat-underpowered or without data        → keep-running (users and
 *      days still needed)
 *   5. otherwise (every treatment flat-powered)                   → inconclusive (no effect of
 *      the MDE's size)
 * "Significant": the correction procedure rejects at alpha (frequentist, sequential); for
 * Bayesian analyses chance to win ≥ 1 - alpha/2 (better) or ≤ alpha/2 (worse) two-sided, 1 - alpha or alpha one-sided.
 */
import type { ComparisonReport, Decision, GuardrailCheck, PowerReached, Recommendation, TreatmentVerdict } from './report-types.js';
import { formatEffect, formatShare, pEquals } from './format.js';

export interface TreatmentEvidence {
  readonly variant: string;
  readonly primary: ComparisonReport;
  readonly guardrails: readonly GuardrailCheck[];
  readonly power: PowerReached;
}

export interface DecisionInput {
  readonly treatments: readonly TreatmentEvidence[];
  /** The whole experiment's SRM, or null when it could not be computed. */
  readonly srm: { readonly pValue: number; readonly flagged: boolean } | null;
  /** Extra warnings to append to the reasons (per-group SRM, multiple exposures...). */
  readonly warnings: readonly string[];
  /** What would help when the answer is not yet clear. */
  readonly diagnostics: readonly string[];
}

export function verdictOf(t: TreatmentEvidence): TreatmentVerdict {
  const failed = t.guardrails.some((g) => g.status === 'fail');
  if (!t.primary.result.ok) return failed ? 'guardrail-failed' : 'no-data';
  if (t.primary.significant && t.primary.direction === 'better') return failed ? 'better-but-guardrail-failed' : 'better';
  if (t.primary.significant && t.primary.direction === 'worse') return 'worse';
  if (failed) return 'guardrail-failed';
  return t.power.reached ? 'flat-powered' : 'flat-underpowered';
}

export function recommend(input: DecisionInput): Recommendation {
  const verdicts = input.treatments.map((t) => ({ variant: t.variant, verdict: verdictOf(t) }));
  const has = (...v: TreatmentVerdict[]) => verdicts.some((x) => v.includes(x.verdict));
  const evidence = input.treatments.flatMap(describeTreatment);
  const finish = (decision: Decision, rule: string, variant: string | null = null): Recommendation => ({
    decision,
    variant,
    verdicts,
    reasons: [rule, ...evidence, ...input.warnings],
    diagnostics: decision === 'keep-running' || decision === 'inconclusive' ? input.diagnostics : [],
  });

  if (input.srm?.flagged) {
    return finish('keep-running', `sample ratio mismatch (${pEquals(input.srm.pValue)} < 0.001): users are not split as the weights say, so no effect can be trusted; investigate assignment and exposure logging before deciding`);
  }
  const winners = input.treatments.filter((t, i) => verdicts[i]!.verdict === 'better');
  if (winners.length > 0) {
    const best = winners.reduce((a, b) => (goodness(b) > goodness(a) ? b : a));
    return finish('ship', `${best.variant} improves the primary metric significantly and no guardrail fails`, best.variant);
  }
  const harmful = has('worse', 'guardrail-failed', 'better-but-guardrail-failed');
  const open = has('flat-underpowered', 'no-data');
  if (harmful && !open) {
    const names = verdicts.filter((v) => ['worse', 'guardrail-failed', 'better-but-guardrail-failed'].includes(v.verdict)).map((v) => `${v.variant} (${v.verdict})`);
    return finish('do-not-ship', `${names.join(', ')}: the primary metric is significantly worse or a guardrail fails`);
  }
  if (open) {
    const waiting = verdicts.filter((v) => v.verdict === 'flat-underpowered' || v.verdict === 'no-data').map((v) => v.variant);
    return finish('keep-running', `no significant result yet and ${waiting.join(', ')} ${waiting.length > 1 ? 'have' : 'has'} not reached the target power (or has no usable data)`);
  }
  return finish('inconclusive', 'no significant effect on the primary metric although power to detect the MDE reached the target: an effect of the MDE\'s size is unlikely');
}

/** The estimate in the metric's sense of better, for picking the best winner. */
function goodness(t: TreatmentEvidence): number {
  const r = t.primary.result;
  if (!r.ok) return -Infinity;
  return t.primary.direction === 'worse' ? -Math.abs(r.effect) : Math.abs(r.effect);
}

function describeTreatment(t: TreatmentEvidence): string[] {
  const lines: string[] = [];
  const r = t.primary.result;
  if (!r.ok) lines.push(`${t.variant}: primary metric: ${r.message}`);
  else {
    const p = t.primary.adjusted ? `${pEquals(t.primary.adjusted.pValue)}${t.primary.adjusted.familySize > 1 ? ' (corrected)' : ''}` : r.chanceToWin !== null ? `chance to win ${formatShare(r.chanceToWin)}` : 'no p-value';
    lines.push(`${t.variant}: primary effect ${formatEffect(r.effect, r.difference)}, ${p}, ${t.primary.significant ? `significant (${t.primary.direction})` : 'not significant'}`);
  }
  for (const g of t.guardrails) if (g.status !== 'pass') lines.push(`guardrail ${g.status}: ${g.message}`);
  if (!t.power.reached) lines.push(`power: ${t.power.message}`);
  return lines;
}
