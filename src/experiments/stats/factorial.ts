/**
 * Factorial designs (variants are the cross product of factor levels; the first level of each
 * factor is its baseline).
 *
 * Main effect of level l of factor F: the arms with F = l against the arms with F = baseline,
 * each side pooled over the other factors by SUMMING their sufficient statistics (n, sums, sums
 * of squares and products, covariates when every pooled arm has one), then compared by
 * compareArms with the caller's options (method, difference, sides, CUPED). Pooling averages
 * over the other factors with the arms' traffic as weights, so with unequal weights (or an
 * interaction) a main effect is the effect at that mix of the other factors.
 *
 * Two-way interaction of levels l (factor F) and m (factor G), on the absolute scale, with
 * cells pooled over the remaining factors: contrast
 *   c = (μ_lm - μ_l0) - (μ_0m - μ_00),  variance Σ vᵢ/nᵢ over the four cells,
 * Welch–Satterthwaite df for a linear contrast Σ cᵢ μᵢ (Satterthwaite 1946):
 *   df = (Σ cᵢ² vᵢ/nᵢ)² / Σ (cᵢ² vᵢ/nᵢ)²/(nᵢ - 1)   (cᵢ = ±1),
 * t = c/se, p-value and interval from Student-t with options.alpha and options.sides (frequentist
 * whatever the method; no CUPED: the contrast uses each cell's plain mean and per-user variance,
 * ratio metrics by the delta method). A missing or degenerate cell gives a Degenerate answer.
 */
import { StrataError } from '../../errors/errors.js';
import type { FactorDefinition } from '../design/types.js';
import type { CompareOptions, ComparisonResult } from './compare-types.js';
import { compareArms, metricSummary } from './compare.js';
import { tInterval, tPValue, type Sides } from './frequentist.js';
import { degenerate, isDegenerate, type Degenerate } from './result.js';
import type { CovariateSums, MetricStats } from './sufficient.js';

export interface FactorialCell {
  /** The level of every factor for this arm. */
  readonly levels: Readonly<Record<string, string>>;
  readonly stats: MetricStats;
}

export interface MainEffect {
  readonly factor: string;
  readonly level: string;
  readonly baseline: string;
  readonly result: ComparisonResult;
}

export interface InteractionContrast {
  readonly ok: true;
  readonly estimate: number;
  readonly se: number;
  readonly df: number;
  readonly t: number;
  readonly pValue: number;
  readonly sides: Sides;
  readonly ci: readonly [number | null, number | null];
}

export interface Interaction {
  readonly factors: readonly [string, string];
  /** The non-baseline levels [l of the first factor, m of the second]. */
  readonly levels: readonly [string, string];
  readonly result: InteractionContrast | Degenerate;
}

export interface FactorialAnalysis {
  readonly mainEffects: readonly MainEffect[];
  readonly interactions: readonly Interaction[];
}

function addCovariates(a: CovariateSums | undefined, b: CovariateSums | undefined): CovariateSums | undefined {
  if (!a || !b) return undefined;
  const withDen = a.sumProductsDenominator !== undefined && b.sumProductsDenominator !== undefined;
  return {
    sum: a.sum + b.sum,
    sumSquares: a.sumSquares + b.sumSquares,
    sumProducts: a.sumProducts + b.sumProducts,
    ...(withDen ? { sumProductsDenominator: a.sumProductsDenominator! + b.sumProductsDenominator! } : {}),
  };
}

function withCovariate<T extends MetricStats>(stats: T, covariate: CovariateSums | undefined): T {
  const { covariate: _drop, ...rest } = stats;
  return (covariate ? { ...rest, covariate } : rest) as T;
}

/** The sufficient statistics of the union of disjoint arms: every sum adds. */
export function poolStats(arms: readonly MetricStats[]): MetricStats {
  if (arms.length === 0) throw new StrataError('INPUT_INVALID', 'nothing to pool');
  return arms.reduce((a, b): MetricStats => {
    if (a.type !== b.type) throw new StrataError('INPUT_INVALID', `cannot pool a ${a.type} arm with a ${b.type} arm`);
    const covariate = addCovariates(a.covariate, b.covariate);
    if (a.type === 'ratio' && b.type === 'ratio') {
      return withCovariate(
        {
          type: 'ratio',
          n: a.n + b.n,
          numerator: { sum: a.numerator.sum + b.numerator.sum, sumSquares: a.numerator.sumSquares + b.numerator.sumSquares },
          denominator: { sum: a.denominator.sum + b.denominator.sum, sumSquares: a.denominator.sumSquares + b.denominator.sumSquares },
          sumProducts: a.sumProducts + b.sumProducts,
        },
        covariate,
      );
    }
    if (a.type === 'mean' && b.type === 'mean') return withCovariate({ type: 'mean', n: a.n + b.n, sum: a.sum + b.sum, sumSquares: a.sumSquares + b.sumSquares }, covariate);
    if (a.type === 'proportion' && b.type === 'proportion') return withCovariate({ type: 'proportion', n: a.n + b.n, sum: a.sum + b.sum }, covariate);
    throw new StrataError('INPUT_INVALID', 'cannot pool arms of different metric types');
  });
}

function checkCells(factors: readonly FactorDefinition[], cells: readonly FactorialCell[]): void {
  if (factors.length === 0) throw new StrataError('INPUT_INVALID', 'a factorial analysis needs at least one factor');
  cells.forEach((cell, i) => {
    for (const f of factors) {
      const level = cell.levels[f.key];
      if (level === undefined || !f.levels.includes(level)) {
        throw new StrataError('INPUT_INVALID', `arm ${i}: factor ${f.key} must have one of the levels ${f.levels.join(', ')}, got ${String(level)}`);
      }
    }
  });
}

function cellsWhere(cells: readonly FactorialCell[], fixed: Readonly<Record<string, string>>): MetricStats[] {
  return cells.filter((c) => Object.entries(fixed).every(([f, l]) => c.levels[f] === l)).map((c) => c.stats);
}

/** The interaction contrast of four pooled cells [00, 0m, l0, lm] with coefficients [+1, -1, -1, +1]. */
export function interactionContrast(cells: readonly [MetricStats, MetricStats, MetricStats, MetricStats], alpha: number, sides: Sides): InteractionContrast | Degenerate {
  if (!(alpha > 0 && alpha < 1)) throw new StrataError('INPUT_INVALID', `alpha must be in (0, 1), got ${alpha}`);
  const names = ['baseline cell', 'second-factor cell', 'first-factor cell', 'both-levels cell'];
  const coef = [1, -1, -1, 1];
  const parts: Array<{ mean: number; a: number; n: number }> = [];
  for (let i = 0; i < 4; i++) {
    const s = metricSummary(cells[i]!, names[i]);
    if (isDegenerate(s)) return s;
    parts.push({ mean: s.mean, a: s.variance / s.n, n: s.n });
  }
  const estimate = parts.reduce((acc, p, i) => acc + coef[i]! * p.mean, 0);
  const variance = parts.reduce((acc, p) => acc + p.a, 0);
  if (variance === 0) return degenerate('zero-variance', 'every cell has zero variance; the interaction cannot be tested');
  const df = variance ** 2 / parts.reduce((acc, p) => acc + (p.a * p.a) / (p.n - 1), 0);
  const se = Math.sqrt(variance);
  const t = estimate / se;
  return { ok: true, estimate, se, df, t, pValue: tPValue(t, df, sides), sides, ci: tInterval(estimate, se, df, alpha, sides) };
}

function mainEffects(factors: readonly FactorDefinition[], cells: readonly FactorialCell[], options: CompareOptions): MainEffect[] {
  const out: MainEffect[] = [];
  for (const f of factors) {
    const baseline = f.levels[0]!;
    const base = cellsWhere(cells, { [f.key]: baseline });
    for (const level of f.levels.slice(1)) {
      const arm = cellsWhere(cells, { [f.key]: level });
      const result: ComparisonResult =
        base.length === 0 || arm.length === 0
          ? degenerate('empty-arm', `no arm has ${f.key} = ${base.length === 0 ? baseline : level}`)
          : compareArms(poolStats(base), poolStats(arm), options);
      out.push({ factor: f.key, level, baseline, result });
    }
  }
  return out;
}

function interactions(factors: readonly FactorDefinition[], cells: readonly FactorialCell[], options: CompareOptions): Interaction[] {
  const out: Interaction[] = [];
  factors.forEach((f, i) => {
    for (const g of factors.slice(i + 1)) {
      const [f0, g0] = [f.levels[0]!, g.levels[0]!];
      for (const l of f.levels.slice(1)) {
        for (const m of g.levels.slice(1)) {
          const pick = [
            [f0, g0],
            [f0, m],
            [l, g0],
            [l, m],
          ].map(([a, b]) => ({ key: `${f.key} = ${a}, ${g.key} = ${b}`, arms: cellsWhere(cells, { [f.key]: a!, [g.key]: b! }) }));
          const missing = pick.find((p) => p.arms.length === 0);
          const result = missing
            ? degenerate('empty-arm', `no arm has ${missing.key}`)
            : interactionContrast(pick.map((p) => poolStats(p.arms)) as unknown as [MetricStats, MetricStats, MetricStats, MetricStats], options.alpha, options.sides);
          out.push({ factors: [f.key, g.key], levels: [l, m], result });
        }
      }
    }
  });
  return out;
}

/** Main effects of every non-baseline level and every two-way interaction contrast. */
export function analyzeFactorial(factors: readonly FactorDefinition[], cells: readonly FactorialCell[], options: CompareOptions): FactorialAnalysis {
  checkCells(factors, cells);
  return { mainEffects: mainEffects(factors, cells, options), interactions: interactions(factors, cells, options) };
}
