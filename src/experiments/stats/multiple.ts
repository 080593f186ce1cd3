/**
 * Multiple comparisons across metrics, variants and segments.
 *
 * Adjusted p-values (as R's p.adjust), p₍₁₎ ≤ … ≤ p₍ₘ₎ sorted ascending:
 *   Holm (1979, Scand. J. Statist. 6:65–70):    p̃₍ᵢ₎ = max_{j≤i} min(1, (m - j + 1) p₍ⱼ₎)
 *   Benjamini & Hochberg (1995, JRSS B 57:289–300): p̃₍ᵢ₎ = min_{j≥i} min(1, m p₍ⱼ₎ / j)
 *
 * Adjusted intervals, as the alpha each interval is then built at:
 *   Holm: alpha / m (Bonferroni). Holm's step-down has no simple compatible intervals
 *     (Strassburger & Bretz 2008, Stat. Med. 27:4914–4927), so the Bonferroni intervals are
 *     reported: simultaneous at 1 - alpha, and conservative for Holm's decisions (a Holm
 *     rejection can have a Bonferroni interval that still touches 0).
 *   Benjamini–Hochberg: alpha R / m, the false-coverage-rate adjusted intervals of Benjamini &
 *     Yekutieli (2005, JASA 100:71–81, "False Discovery Rate–Adjusted Multiple Confidence
 *     Intervals for Selected Parameters"), R = the number of hypotheses BH rejects at alpha.
 *     When R = 0 nothing is selected and the level R = 1 is used (alpha / m), so unselected
 *     intervals are never narrower than a selected one would be.
 */
import { StrataError } from '../../errors/errors.js';

export type Correction = 'holm' | 'benjamini-hochberg';

function checkPValues(pValues: readonly number[]): void {
  pValues.forEach((p, i) => {
    if (!(p >= 0 && p <= 1)) throw new StrataError('INPUT_INVALID', `p-value ${i} must be in [0, 1], got ${p}`);
  });
}

/** Indices of pValues in ascending order of p (ties by position, so the result is stable). */
function ascending(pValues: readonly number[]): number[] {
  return pValues.map((_, i) => i).sort((a, b) => (pValues[a] as number) - (pValues[b] as number) || a - b);
}

export function holmAdjust(pValues: readonly number[]): number[] {
  checkPValues(pValues);
  const m = pValues.length;
  const adjusted = new Array<number>(m);
  let running = 0;
  ascending(pValues).forEach((index, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * (pValues[index] as number)));
    adjusted[index] = running;
  });
  return adjusted;
}

export function benjaminiHochbergAdjust(pValues: readonly number[]): number[] {
  checkPValues(pValues);
  const m = pValues.length;
  const adjusted = new Array<number>(m);
  const order = ascending(pValues);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const index = order[rank] as number;
    running = Math.min(running, (m * (pValues[index] as number)) / (rank + 1));
    adjusted[index] = running;
  }
  return adjusted;
}

/** Holm's step-down: reject in ascending order while p₍ₖ₎ ≤ alpha / (m - k + 1). */
export function holmRejects(pValues: readonly number[], alpha: number): boolean[] {
  const m = pValues.length;
  const rejected = pValues.map(() => false);
  for (const [rank, index] of ascending(pValues).entries()) {
    if ((pValues[index] as number) > alpha / (m - rank)) break;
    rejected[index] = true;
  }
  return rejected;
}

/** BH step-up: k = max{k : p₍ₖ₎ ≤ k alpha / m}; reject the k smallest. */
export function benjaminiHochbergRejects(pValues: readonly number[], alpha: number): boolean[] {
  const m = pValues.length;
  const order = ascending(pValues);
  let k = 0;
  order.forEach((index, rank) => {
    if ((pValues[index] as number) <= ((rank + 1) * alpha) / m) k = rank + 1;
  });
  const rejected = pValues.map(() => false);
  for (const index of order.slice(0, k)) rejected[index] = true;
  return rejected;
}

export interface Adjustment {
  readonly correction: Correction;
  /** Adjusted p-values, in the input's order. */
  readonly pValues: number[];
  /**
   * Which hypotheses the procedure rejects at alpha. Decided by the procedure itself, not by
   * adjusted p ≤ alpha, which can differ in the last bit when a p-value sits on a threshold.
   */
  readonly rejected: boolean[];
  /** The alpha every interval of the family is built at (see the header). */
  readonly intervalAlpha: number;
}

/** Adjusts a family of p-values and gives the alpha its intervals are built at. */
export function adjustPValues(pValues: readonly number[], alpha: number, correction: Correction): Adjustment {
  if (!(alpha > 0 && alpha < 1)) throw new StrataError('INPUT_INVALID', `alpha must be in (0, 1), got ${alpha}`);
  if (pValues.length === 0) throw new StrataError('INPUT_INVALID', 'a multiple-comparison correction needs at least one p-value');
  const m = pValues.length;
  if (correction === 'holm') {
    return { correction, pValues: holmAdjust(pValues), rejected: holmRejects(pValues, alpha), intervalAlpha: alpha / m };
  }
  if (correction !== 'benjamini-hochberg') throw new StrataError('INPUT_INVALID', `correction must be holm or benjamini-hochberg, got ${String(correction)}`);
  const rejected = benjaminiHochbergRejects(pValues, alpha);
  const r = rejected.filter(Boolean).length;
  return { correction, pValues: benjaminiHochbergAdjust(pValues), rejected, intervalAlpha: (alpha * Math.max(r, 1)) / m };
}
