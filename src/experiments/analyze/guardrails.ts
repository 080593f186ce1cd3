/**
 * Guardrails: a treatment may not make a guardrail metric worse by more than
 * `max_degradation` (a fraction of the control mean). The rule, on the uncorrected interval
 * of the comparison (the definition's method, sides and alpha):
 *   degradation D = -effect (higher is better) or +effect (inverse metrics: lower is better),
 *   so its interval is [-hi, -lo] or [lo, hi]; an open end (one-sided) is unbounded;
 *   threshold T = max_degradation for relative effects, max_degradation · |control mean| for
 *   absolute ones;
 *   fail     when the whole interval is beyond the threshold:  D_lo > T
 *   pass     when the whole interval is inside it:             D_hi < T
 *   at-risk  otherwise (the interval contains T, ends included)
 *   unknown  when the comparison is degenerate (its message says why).
 * Guardrails are not corrected for multiple comparisons: correcting widens intervals, which
 * would hide harm behind "at risk" more often.
 */
import type { ComparisonResult } from '../stats/compare-types.js';
import type { Difference } from '../stats/effects.js';
import type { GuardrailCheck } from './report-types.js';
import { formatEffect } from './format.js';

export function checkGuardrail(metric: string, variant: string, maxDegradation: number, inverse: boolean, result: ComparisonResult): GuardrailCheck {
  const base = { metric, variant, maxDegradation };
  if (!result.ok) return { ...base, status: 'unknown', degradation: null, threshold: null, message: `${variant}: ${metric} cannot be checked: ${result.message}` };
  const threshold = result.difference === 'relative' ? maxDegradation : maxDegradation * Math.abs(result.control.mean);
  const [lo, hi] = result.ci;
  const degradation: readonly [number | null, number | null] = inverse ? [lo, hi] : [hi === null ? null : -hi, lo === null ? null : -lo];
  const [dLo, dHi] = degradation;
  const d = result.difference;
  const shown = `degradation interval ${formatInterval(degradation, d)}, allowed ${formatEffect(threshold, d)}`;
  if (dLo !== null && dLo > threshold) return { ...base, status: 'fail', degradation, threshold, message: `${variant}: ${metric} is worse by more than allowed (${shown})` };
  if (dHi !== null && dHi < threshold) return { ...base, status: 'pass', degradation, threshold, message: `${variant}: ${metric} within the allowed degradation (${shown})` };
  return { ...base, status: 'at-risk', degradation, threshold, message: `${variant}: ${metric} may be worse than allowed (${shown})` };
}

function formatInterval(ci: readonly [number | null, number | null], difference: Difference): string {
  const end = (x: number | null, open: string) => (x === null ? open : formatEffect(x, difference));
  return `[${end(ci[0], '-inf')}, ${end(ci[1], 'inf')}]`;
}
