/**
 * Thompson sampling weights for a multi-armed bandit (issue 5: "Thompson sampling weights with
 * a minimum weight per arm, updated from results").
 *
 * Posterior of each arm's mean: N(mᵢ, sᵢ²) with mᵢ the arm's estimate and sᵢ² = vᵢ/nᵢ from its
 * sufficient statistics (flat prior; ratio metrics by the delta method, as compare.ts; no
 * CUPED). Thompson sampling allocates traffic by P(arm i is best), which is computed here by
 * deterministic numerical integration rather than by drawing samples, so the same results
 * always give the same weights:
 *   P(i best) = ∫ φ(z) Πⱼ≠ᵢ Φ((mᵢ + sᵢ z - mⱼ)/sⱼ) dz   over z ∈ [-10, 10]
 * (higher is better; `inverse` negates every mean). The integral is taken by adaptive
 * Gauss–Kronrod (7/15 points) with break points where each Φ factor steps, to 1e-13 absolute
 * (E[max] below: 1e-13 (|mᵢ| + sᵢ)).
 * An arm with sᵢ = 0 (e.g. no conversions yet) is a point mass: Φ of it becomes a step; ties
 * between point masses split their probability equally. The probabilities are normalized to sum
 * to 1 (they do to ~1e-13 before).
 *
 * Floor (water-filling): with k arms and floor m (k·m ≤ 1), arms whose probability is below
 * their share get exactly m, and the remaining 1 - |F|·m is shared among the other arms in
 * proportion to their probabilities, repeating until no arm falls below m:
 *   F = ∅; repeat: wᵢ = (1 - |F| m) pᵢ / Σⱼ∉F pⱼ for i ∉ F; F ∪= {i : wᵢ < m}; until F stops growing
 * (Σⱼ∉F pⱼ = 0 shares the rest equally). Arms at or above the floor keep their relative
 * probabilities. Regret summary: E[max_j Xⱼ] by the same integration
 * (Σᵢ ∫ (mᵢ + sᵢ z) φ(z) Πⱼ≠ᵢ Φ(...) dz), and each arm's expected loss E[max Xⱼ] - mᵢ (inverse:
 * mᵢ - E[min Xⱼ]): what choosing that arm now costs per user, in the metric's units.
 */
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import { StrataError } from '../../errors/errors.js';
import { metricSummary } from './compare.js';
import { isDegenerate, type Degenerate } from './result.js';
import type { ArmSummary, MetricStats } from './sufficient.js';

export interface NormalPosterior {
  readonly mean: number;
  /** ≥ 0; 0 is a point mass. */
  readonly sd: number;
}

export interface BanditArm {
  readonly name: string;
  readonly stats: MetricStats;
}

export interface BanditOptions {
  /** Floor per arm, in [0, 1/k]. */
  readonly minWeight: number;
  /** Lower is better. */
  readonly inverse?: boolean;
}

export interface BanditArmResult {
  readonly name: string;
  readonly n: number;
  readonly mean: number;
  readonly sd: number;
  readonly probabilityBest: number;
  /** The new traffic weight, after the floor. */
  readonly weight: number;
  /** E[best arm's value] - this arm's mean (inverse: the other way round), ≥ 0. */
  readonly expectedLoss: number;
}

export interface BanditUpdate {
  readonly ok: true;
  readonly arms: readonly BanditArmResult[];
  /** The arm most likely to be best, its probability and its expected loss (the regret of stopping now). */
  readonly best: { readonly name: string; readonly probabilityBest: number; readonly expectedLoss: number };
}

const Z_LIMIT = 10;
/** Break points around each Φ step, in units of that arm's sd over this arm's: beyond ±8 the step is flat to 1e-15. */
const STEP_POINTS = [-8, -4, -2, -1, 0, 1, 2, 4, 8];
const ABS_TOL = 1e-13;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

// Gauss–Kronrod 7/15 nodes and weights (QUADPACK qk15).
const XGK = [0.991455371120812639, 0.949107912342758525, 0.864864423359769073, 0.741531185599394440, 0.586087235467691130, 0.405845151377397167, 0.207784955007898468, 0];
const WGK = [0.022935322010529225, 0.063092092629978553, 0.104790010322250184, 0.140653259715525919, 0.169004726639267903, 0.190350578064785410, 0.204432940075298892, 0.209482141084727828];
const WG = [0.129484966168869693, 0.279705391489276668, 0.381830050505118945, 0.417959183673469388];

function kronrod(f: (x: number) => number, a: number, b: number): { value: number; error: number } {
  const c = (a + b) / 2;
  const h = (b - a) / 2;
  const fc = f(c);
  let k = fc * WGK[7]!;
  let g = fc * WG[3]!;
  for (let i = 0; i < 7; i++) {
    const dx = h * XGK[i]!;
    const pair = f(c - dx) + f(c + dx);
    k += WGK[i]! * pair;
    if (i % 2 === 1) g += WG[(i - 1) / 2]! * pair;
  }
  return { value: k * h, error: Math.abs((k - g) * h) };
}

/**
 * Adaptive bisection until the Kronrod/Gauss difference is within tol (or within rounding of
 * the value); a budget of intervals bounds the work on pathological input.
 */
function adaptive(f: (x: number) => number, a: number, b: number, tol: number): number {
  const stack: Array<[number, number, number]> = [[a, b, tol]];
  let total = 0;
  let budget = 20_000;
  while (stack.length > 0) {
    const [lo, hi, t] = stack.pop()!;
    const r = kronrod(f, lo, hi);
    if (r.error <= Math.max(t, 1e-14 * Math.abs(r.value)) || --budget <= 0 || hi - lo < 1e-12) {
      total += r.value;
      continue;
    }
    const m = (lo + hi) / 2;
    stack.push([lo, m, t / 2], [m, hi, t / 2]);
  }
  return total;
}

/** ∫ f over [a, b] split at the given break points (where the integrand bends sharply), to scale·ABS_TOL. */
function integrate(f: (x: number) => number, a: number, b: number, breaks: readonly number[], scale = 1): number {
  const points = [a, ...breaks.filter((x) => x > a && x < b).sort((x, y) => x - y), b];
  let total = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const lo = points[i]!;
    const hi = points[i + 1]!;
    if (hi > lo) total += adaptive(f, lo, hi, (scale * ABS_TOL * (hi - lo)) / (b - a));
  }
  return total;
}

function checkPosteriors(posteriors: readonly NormalPosterior[]): void {
  if (posteriors.length < 2) throw new StrataError('INPUT_INVALID', `a bandit needs at least 2 arms, got ${posteriors.length}`);
  posteriors.forEach((p, i) => {
    if (!Number.isFinite(p.mean) || !(Number.isFinite(p.sd) && p.sd >= 0)) throw new StrataError('INPUT_INVALID', `arm ${i}: posterior needs a finite mean and sd >= 0, got mean ${p.mean}, sd ${p.sd}`);
  });
}

/** P(Xᵢ is the largest) and E[Xᵢ; Xᵢ is the largest] for each arm i (higher is better). */
function bestMoments(posteriors: readonly NormalPosterior[]): { probability: number[]; partialMean: number[] } {
  const probability: number[] = [];
  const partialMean: number[] = [];
  posteriors.forEach((pi, i) => {
    const others = posteriors.filter((_, j) => j !== i);
    const points = others.filter((o) => o.sd === 0);
    const smooth = others.filter((o) => o.sd > 0);
    if (pi.sd === 0) {
      // A point mass wins when every smooth arm is below it and no point mass is above it; ties split.
      if (points.some((o) => o.mean > pi.mean)) {
        probability.push(0);
        partialMean.push(0);
        return;
      }
      const tied = 1 + points.filter((o) => o.mean === pi.mean).length;
      const p = smooth.reduce((acc, o) => acc * normalCdf((pi.mean - o.mean) / o.sd, 0, 1), 1) / tied;
      probability.push(p);
      partialMean.push(p * pi.mean);
      return;
    }
    // Every point mass must lie below Xᵢ = mᵢ + sᵢ z.
    const lower = Math.max(-Z_LIMIT, ...points.map((o) => (o.mean - pi.mean) / pi.sd));
    if (lower >= Z_LIMIT) {
      probability.push(0);
      partialMean.push(0);
      return;
    }
    const others_ = (z: number): number => {
      const x = pi.mean + pi.sd * z;
      let prod = INV_SQRT_2PI * Math.exp(-0.5 * z * z);
      for (const o of smooth) prod *= normalCdf((x - o.mean) / o.sd, 0, 1);
      return prod;
    };
    const breaks = smooth.flatMap((o) => {
      const at = (o.mean - pi.mean) / pi.sd;
      const w = o.sd / pi.sd;
      return STEP_POINTS.map((k) => at + k * w);
    });
    probability.push(integrate(others_, lower, Z_LIMIT, breaks));
    partialMean.push(integrate((z) => (pi.mean + pi.sd * z) * others_(z), lower, Z_LIMIT, breaks, Math.abs(pi.mean) + pi.sd));
  });
  return { probability, partialMean };
}

/** P(arm i is best) under independent normal posteriors, by numerical integration; sums to 1. */
export function probabilityBest(posteriors: readonly NormalPosterior[], inverse = false): number[] {
  checkPosteriors(posteriors);
  const oriented = inverse ? posteriors.map((p) => ({ mean: -p.mean, sd: p.sd })) : posteriors;
  const { probability } = bestMoments(oriented);
  const total = probability.reduce((s, p) => s + p, 0);
  return probability.map((p) => Math.max(0, p / total));
}

/** E[max Xⱼ] (inverse: E[min Xⱼ]) under independent normal posteriors. */
export function expectedBest(posteriors: readonly NormalPosterior[], inverse = false): number {
  checkPosteriors(posteriors);
  const oriented = inverse ? posteriors.map((p) => ({ mean: -p.mean, sd: p.sd })) : posteriors;
  const { probability, partialMean } = bestMoments(oriented);
  const total = probability.reduce((s, p) => s + p, 0);
  const e = partialMean.reduce((s, p) => s + p, 0) / total;
  return inverse ? -e : e;
}

/** Applies the floor minWeight per arm by water-filling (see the header). */
export function floorWeights(probabilities: readonly number[], minWeight: number): number[] {
  const k = probabilities.length;
  if (!(Number.isFinite(minWeight) && minWeight >= 0 && minWeight * k <= 1 + 1e-12)) {
    throw new StrataError('INPUT_INVALID', `minWeight must be in [0, 1/${k}] for ${k} arms, got ${minWeight}`);
  }
  const floored = new Set<number>();
  for (;;) {
    const free = probabilities.map((p, i) => (floored.has(i) ? 0 : p));
    const freeMass = free.reduce((s, p) => s + p, 0);
    const rest = 1 - floored.size * minWeight;
    const freeCount = k - floored.size;
    const weights = probabilities.map((_, i) => (floored.has(i) ? minWeight : freeMass > 0 ? (rest * free[i]!) / freeMass : rest / freeCount));
    const below = weights.map((w, i) => (!floored.has(i) && w < minWeight ? i : -1)).filter((i) => i >= 0);
    if (below.length === 0) return weights;
    for (const i of below) floored.add(i);
  }
}

/** New Thompson sampling weights from the arms' results, with the best-arm and regret summary. */
export function updateBandit(arms: readonly BanditArm[], options: BanditOptions): BanditUpdate | Degenerate {
  if (arms.length < 2) throw new StrataError('INPUT_INVALID', `a bandit needs at least 2 arms, got ${arms.length}`);
  const summaries: ArmSummary[] = [];
  for (const arm of arms) {
    const s = metricSummary(arm.stats, arm.name);
    if (isDegenerate(s)) return { ...s, message: `${s.message}; keep the current weights until every arm has data` };
    summaries.push(s);
  }
  const posteriors = summaries.map((s) => ({ mean: s.mean, sd: Math.sqrt(s.variance / s.n) }));
  const inverse = options.inverse ?? false;
  const probabilities = probabilityBest(posteriors, inverse);
  const weights = floorWeights(probabilities, options.minWeight);
  const best = expectedBest(posteriors, inverse);
  const results = arms.map((arm, i) => {
    const p = posteriors[i]!;
    const loss = Math.max(0, inverse ? p.mean - best : best - p.mean);
    return { name: arm.name, n: summaries[i]!.n, mean: p.mean, sd: p.sd, probabilityBest: probabilities[i]!, weight: weights[i]!, expectedLoss: loss };
  });
  const top = results.reduce((a, b) => (b.probabilityBest > a.probabilityBest ? b : a));
  return { ok: true, arms: results, best: { name: top.name, probabilityBest: top.probabilityBest, expectedLoss: top.expectedLoss } };
}
