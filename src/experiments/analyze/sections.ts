/**
 * The report's optional sections: heterogeneity of an effect across the breakdown's groups,
 * factorial main effects and interactions, and bandit weights. Each reads the comparisons
 * already made (or the data) and calls the statistics of src/experiments/stats.
 */
import type { ExperimentDefinition } from '../design/types.js';
import { updateBandit, type BanditUpdate } from '../stats/bandit.js';
import { degenerate, type Degenerate } from '../stats/result.js';
import type { ExperimentData } from '../metrics/types.js';
import { analyzeFactorial } from '../stats/factorial.js';
import type { CompareOptions } from '../stats/compare-types.js';
import { heterogeneityTest } from '../stats/heterogeneity.js';
import type { FactorialReport, HeterogeneityReport, MetricReport } from './report-types.js';

/**
 * Cochran's Q (stats/heterogeneity.ts) over the groups whose comparison of `variant` on the
 * metric has an estimate and a standard error (the whole-experiment row is left out): does
 * the effect differ between groups? `differs` when p < alpha. Breakdown groups are disjoint
 * (a trait's values, member or not, lifecycle stages), as the test requires.
 */
export function heterogeneityOf(metric: MetricReport, variant: string, alpha: number): HeterogeneityReport {
  const rows = metric.groups.slice(1).flatMap((g) => {
    const c = g.comparisons.find((x) => x.variant === variant)?.result;
    return c && c.ok && c.se > 0 ? [{ name: g.group as string, effect: c.effect, se: c.se }] : [];
  });
  const result = heterogeneityTest(rows);
  return { metric: metric.key, variant, groups: rows.map((r) => r.name), result, differs: result.ok && result.pValue < alpha };
}

/**
 * Factorial designs: main effects of each factor level and two-way interactions
 * (stats/factorial.ts) for the primary and secondary metrics over the whole experiment, with
 * the analysis's options. Uncorrected: they re-read the same arms the variant comparisons do.
 */
export function factorialSection(def: ExperimentDefinition, data: ExperimentData, options: CompareOptions): readonly FactorialReport[] {
  const factors = def.factors!;
  return [def.primary, ...def.secondary].map((metric) => {
    const stats = data.metrics.find((m) => m.metric === metric.key && m.group === null);
    const cells = def.variants.map((v) => ({ levels: v.levels ?? {}, stats: stats?.variants.find((x) => x.variant === v.key)?.stats }));
    const missing = cells.findIndex((c) => c.stats === undefined);
    if (missing >= 0) return { metric: metric.key, analysis: degenerate('empty-arm', `no data for ${metric.key} in ${def.variants[missing]!.key}`) };
    return { metric: metric.key, analysis: analyzeFactorial(factors, cells.map((c) => ({ levels: c.levels, stats: c.stats! })), { ...options, inverse: metric.inverse }) };
  });
}

/**
 * Thompson sampling weights for the next period (stats/bandit.ts) from the primary metric over
 * the whole experiment, with the definition's floor per arm; the degenerate answer when an
 * arm has no usable data.
 */
export function banditSection(def: ExperimentDefinition, data: ExperimentData): BanditUpdate | Degenerate {
  const stats = data.metrics.find((m) => m.metric === def.primary.key && m.group === null);
  const arms = def.variants.map((v) => ({ name: v.key, stats: stats?.variants.find((x) => x.variant === v.key)?.stats }));
  const missing = arms.find((a) => a.stats === undefined);
  if (missing) return degenerate('empty-arm', `no data for ${def.primary.key} in ${missing.name}`);
  return updateBandit(
    arms.map((a) => ({ name: a.name, stats: a.stats! })),
    { minWeight: def.bandit!.minWeight, inverse: def.primary.inverse },
  );
}
