/**
 * analyzeExperiment: from an experiment's definition and its sufficient statistics
 * (computeExperimentData) to a report and a recommendation. Pure: no I/O, the same data
 * always gives the same report.
 *
 * Per metric (primary, secondaries, guardrails; a metric in two roles is reported once),
 * per group (the whole experiment first, then the breakdown's groups), per treatment
 * against the control (the first variant): compareArms by the chosen method, corrected
 * within its family (families.ts). SRM per group against the definition's weights;
 * guardrails (guardrails.ts) and power (power-reached.ts) on the whole experiment;
 * heterogeneity of each metric's effect across the breakdown's groups; the recommendation
 * (decision.ts) with its reasons and, when the answer is not clear yet, diagnostics.
 */
import { formatInstant, MS } from '../../time/time.js';
import type { AnalysisMethod, ExperimentDefinition, MetricDefinition } from '../design/types.js';
import type { ExperimentData, GroupKey, MetricGroupStats } from '../metrics/types.js';
import { compareArms } from '../stats/compare.js';
import type { CompareOptions, ComparisonResult } from '../stats/compare-types.js';
import { degenerate } from '../stats/result.js';
import { srmTest } from '../stats/srm.js';
import type { MetricStats } from '../stats/sufficient.js';
import { banditSection, factorialSection, heterogeneityOf } from './sections.js';
import { correctFamilies, type FamilyMember } from './families.js';
import { recommend, type TreatmentEvidence } from './decision.js';
import { checkGuardrail } from './guardrails.js';
import { powerReached } from './power-reached.js';
import { formatShare, pEquals } from './format.js';
import type {
  ComparisonReport,
  CorrectionName,
  Direction,
  ExperimentReport,
  FamilyName,
  GuardrailCheck,
  HeterogeneityReport,
  MetricGroupReport,
  MetricReport,
  MetricRole,
  PowerReached,
  SrmReport,
} from './report-types.js';

export interface AnalyzeOptions {
  /** Overrides the definition's method. */
  readonly method?: AnalysisMethod;
  /** Default holm. */
  readonly correction?: CorrectionName;
}

interface RoledMetric {
  readonly metric: MetricDefinition;
  readonly role: MetricRole;
}

/** Primary, secondaries, guardrails, each metric key once (first role wins). */
export function metricsOf(def: ExperimentDefinition): RoledMetric[] {
  const seen = new Set<string>();
  const out: RoledMetric[] = [];
  const add = (metric: MetricDefinition, role: MetricRole) => {
    if (seen.has(metric.key)) return;
    seen.add(metric.key);
    out.push({ metric, role });
  };
  add(def.primary, 'primary');
  for (const m of def.secondary) add(m, 'secondary');
  for (const g of def.guardrails) add(g.metric, 'guardrail');
  return out;
}

function familyOf(role: MetricRole, group: GroupKey): FamilyName {
  if (role === 'guardrail') return 'guardrail';
  if (group === null) return role;
  return role === 'primary' ? 'breakdown-primary' : 'breakdown-secondary';
}

/** One comparison before correction: where it sits and what compareArms said. */
interface RawComparison {
  readonly metric: number;
  readonly group: number;
  readonly variant: string;
  readonly control: MetricStats | null;
  readonly treatment: MetricStats | null;
  readonly inverse: boolean;
  readonly family: FamilyName;
  readonly result: ComparisonResult;
}

export function analyzeExperiment(def: ExperimentDefinition, data: ExperimentData, options: AnalyzeOptions = {}): ExperimentReport {
  const method = options.method ?? def.method;
  const correction = options.correction ?? 'holm';
  const compareOptions = (inverse: boolean, alpha = def.alpha): CompareOptions => ({
    method,
    difference: def.difference,
    alpha,
    sides: def.sides,
    sequentialTuning: def.sequentialTuning,
    prior: def.prior,
    inverse,
  });
  const control = def.variants[0]!.key;
  const treatments = def.variants.slice(1).map((v) => v.key);
  const groups: GroupKey[] = [null, ...data.groups];
  const metrics = metricsOf(def);

  // 1. Every comparison, uncorrected.
  const raw: RawComparison[] = [];
  metrics.forEach(({ metric, role }, mi) => {
    groups.forEach((group, gi) => {
      const stats = data.metrics.find((m) => m.metric === metric.key && m.group === group);
      for (const variant of treatments) {
        const a = statsOf(stats, control);
        const b = statsOf(stats, variant);
        const result = a && b ? compareArms(a, b, compareOptions(metric.inverse)) : degenerate('no-users', `no data for ${metric.key}${group === null ? '' : ` in group ${group}`}`);
        raw.push({ metric: mi, group: gi, variant, control: a, treatment: b, inverse: metric.inverse, family: familyOf(role, group), result });
      }
    });
  });

  // 2. Corrections within families (Bayesian results carry no p-value and join none).
  const members: FamilyMember[] = [];
  const memberOf: number[] = [];
  raw.forEach((r, i) => {
    if (r.result.ok && r.result.pValue !== null) {
      memberOf[i] = members.length;
      members.push({ family: r.family, comparison: r.result });
    }
  });
  const rawIndex = raw.map((_, i) => i).filter((i) => memberOf[i] !== undefined);
  const outcomes = correctFamilies(members, def.alpha, correction, (k, alpha) => {
    const r = raw[rawIndex[k]!]!;
    const again = compareArms(r.control!, r.treatment!, compareOptions(r.inverse, alpha));
    return again.ok ? again.ci : [null, null];
  });
  const reports: ComparisonReport[] = raw.map((r, i) => {
    const outcome = memberOf[i] !== undefined ? outcomes[memberOf[i]!] ?? null : null;
    return { variant: r.variant, result: r.result, adjusted: outcome?.adjusted ?? null, significant: significance(r.result, outcome?.rejected ?? false, def.alpha), direction: directionOf(r.result, r.inverse) };
  });

  const metricReports: MetricReport[] = metrics.map(({ metric, role }, mi) => ({
    key: metric.key,
    name: metric.name,
    role,
    type: metric.type,
    inverse: metric.inverse,
    cupedWindowMs: metric.covariateWindowMs,
    groups: groups.map((group, gi): MetricGroupReport => {
      const stats = data.metrics.find((m) => m.metric === metric.key && m.group === group);
      return {
        group,
        immature: stats?.immature ?? 0,
        users: def.variants.map((v) => ({ variant: v.key, n: statsOf(stats, v.key)?.n ?? 0 })),
        comparisons: raw.flatMap((r, i) => (r.metric === mi && r.group === gi ? [reports[i]!] : [])),
      };
    }),
  }));

  // 3. SRM, guardrails, power, heterogeneity.
  const srm = groups.map((g) => srmOf(def, data, g));
  const overall = (key: string, variant: string) => metricReports.find((m) => m.key === key)!.groups[0]!.comparisons.find((c) => c.variant === variant)!;
  const guardrails: GuardrailCheck[] = def.guardrails.flatMap((g) => treatments.map((v) => checkGuardrail(g.metric.key, v, g.maxDegradation, g.metric.inverse, overall(g.metric.key, v).result)));
  const dailyUsers = exposureRate(def, data);
  const primaryStats = data.metrics.find((m) => m.metric === def.primary.key && m.group === null);
  const power: PowerReached[] = treatments.map((v) => {
    const result = overall(def.primary.key, v).result;
    const a = statsOf(primaryStats, control);
    const b = statsOf(primaryStats, v);
    const powerAlpha = correction === 'none' || method === 'bayesian' ? def.alpha : def.alpha / treatments.length;
    const shares = [weightOf(def, control), weightOf(def, v)] as const;
    if (!a || !b) return noPower(v, def, powerAlpha);
    return powerReached({ variant: v, control: a, treatment: b, mde: def.mde, alpha: powerAlpha, target: def.power, shares, varianceReduction: result.ok ? result.cuped?.varianceReduction ?? null : null, dailyUsers });
  });
  const heterogeneity: HeterogeneityReport[] = data.groups.length < 2 ? [] : metricReports.filter((m) => m.role !== 'guardrail').flatMap((m) => treatments.map((v) => heterogeneityOf(m, v, def.alpha)));

  // 4. The recommendation.
  const evidence: TreatmentEvidence[] = treatments.map((v, i) => ({ variant: v, primary: overall(def.primary.key, v), guardrails: guardrails.filter((g) => g.variant === v), power: power[i]! }));
  const overallSrm = srm[0]!;
  const recommendation = recommend({
    treatments: evidence,
    srm: overallSrm.ok ? { pValue: overallSrm.pValue, flagged: overallSrm.flagged } : null,
    warnings: [...warningsOf(def, data, srm), ...heterogeneityNotes(heterogeneity, data.breakdown)],
    diagnostics: diagnosticsOf(def, data, metricReports, power, heterogeneity),
  });

  return {
    experiment: def.key,
    name: def.name,
    hypothesis: def.hypothesis,
    version: data.version,
    asOf: formatInstant(data.asOfMs),
    start: formatInstant(def.startMs),
    stop: def.stopMs === null ? null : formatInstant(def.stopMs),
    method,
    difference: def.difference,
    sides: def.sides,
    alpha: def.alpha,
    correction,
    breakdown: data.breakdown,
    groups: data.groups,
    control,
    variants: def.variants.map((v) => ({ key: v.key, weight: v.weight })),
    exposures: def.variants.map((v) => ({ variant: v.key, users: usersOf(data, null, v.key) })),
    multipleExposures: data.multipleExposures,
    unknownVariants: data.unknownVariants,
    srm,
    metrics: metricReports,
    guardrails,
    power,
    heterogeneity,
    factorial: def.factors ? factorialSection(def, data, compareOptions(false)) : null,
    bandit: def.bandit ? banditSection(def, data) : null,
    recommendation,
  };
}

function statsOf(stats: MetricGroupStats | undefined, variant: string): MetricStats | null {
  return stats?.variants.find((v) => v.variant === variant)?.stats ?? null;
}

/**
 * Frequentist and sequential: the family's procedure rejected. Bayesian: the chance to win is
 * beyond the interval's level, 1 - alpha/2 (or alpha/2) two-sided and 1 - alpha (or alpha)
 * one-sided, so a significant effect is one whose credible interval excludes 0.
 */
function significance(result: ComparisonResult, rejected: boolean, alpha: number): boolean {
  if (!result.ok) return false;
  if (result.pValue !== null) return rejected;
  const c = result.chanceToWin;
  const tail = result.sides === 'two' ? alpha / 2 : alpha;
  return c !== null && (c >= 1 - tail || c <= tail);
}

function directionOf(result: ComparisonResult, inverse: boolean): Direction {
  if (!result.ok) return 'flat';
  if (result.method === 'bayesian' && result.chanceToWin !== null) return result.chanceToWin > 0.5 ? 'better' : result.chanceToWin < 0.5 ? 'worse' : 'flat';
  if (result.effect === 0) return 'flat';
  return result.effect > 0 !== inverse ? 'better' : 'worse';
}

function usersOf(data: ExperimentData, group: GroupKey, variant: string): number {
  return data.exposures.find((e) => e.group === group && e.variant === variant)?.users ?? 0;
}

/** A variant's share of all traffic (weights normalized over every variant). */
function weightOf(def: ExperimentDefinition, variant: string): number {
  const total = def.variants.reduce((s, v) => s + v.weight, 0);
  return def.variants.find((v) => v.key === variant)!.weight / total;
}

function srmOf(def: ExperimentDefinition, data: ExperimentData, group: GroupKey): SrmReport {
  const users = def.variants.map((v) => usersOf(data, group, v.key));
  const weights = def.variants.map((v) => v.weight);
  const result = srmTest(users, weights);
  if (!result.ok) return { group, users, weights, ...result };
  return { group, users, weights, ok: true, chiSquare: result.chiSquare, df: result.df, pValue: result.pValue, flagged: result.flagged };
}

/** Exposed users per day since start (until stop or asOf, whichever is first); null before any time has passed. */
function exposureRate(def: ExperimentDefinition, data: ExperimentData): number | null {
  const end = Math.min(def.stopMs ?? data.asOfMs, data.asOfMs);
  const days = (end - def.startMs) / MS.d;
  if (!(days > 0)) return null;
  const users = def.variants.reduce((s, v) => s + usersOf(data, null, v.key), 0);
  return users > 0 ? users / days : null;
}

function noPower(variant: string, def: ExperimentDefinition, alpha: number): PowerReached {
  return { variant, mde: def.mde, delta: null, alpha, target: def.power, power: null, reached: false, additionalUsers: null, days: null, varianceReduction: null, message: `${variant}: no data for the primary metric yet` };
}

function warningsOf(def: ExperimentDefinition, data: ExperimentData, srm: readonly SrmReport[]): string[] {
  const out: string[] = [];
  for (const s of srm.slice(1)) if (s.ok && s.flagged) out.push(`sample ratio mismatch in group ${s.group} (${pEquals(s.pValue)}): read that group's results with care`);
  const exposed = def.variants.reduce((s, v) => s + usersOf(data, null, v.key), 0);
  if (data.multipleExposures > 0) out.push(`${data.multipleExposures} users were exposed to more than one variant and are left out (${formatShare(data.multipleExposures / (exposed + data.multipleExposures))} of exposed users)`);
  const unknown = Object.entries(data.unknownVariants);
  if (unknown.length > 0) out.push(`$exposure events name variants the definition does not have: ${unknown.map(([v, n]) => `${v} (${n})`).join(', ')}`);
  return out;
}

/** Effects that differ between the breakdown's groups (Cochran's Q p < alpha): always part of the reasons. */
function heterogeneityNotes(heterogeneity: readonly HeterogeneityReport[], breakdown: string | null): string[] {
  return heterogeneity.flatMap((h) =>
    h.differs && h.result.ok
      ? [`the effect of ${h.variant} on ${h.metric} differs between ${breakdown ?? 'groups'} groups (Cochran's Q = ${h.result.q.toFixed(2)}, df ${h.result.df}, ${pEquals(h.result.pValue)}); see the breakdown`]
      : [],
  );
}

function diagnosticsOf(def: ExperimentDefinition, data: ExperimentData, metrics: readonly MetricReport[], power: readonly PowerReached[], heterogeneity: readonly HeterogeneityReport[]): string[] {
  const out: string[] = power.map((p) => `power: ${p.message}`);
  if (def.stopMs !== null && data.asOfMs >= def.stopMs && power.some((p) => !p.reached)) {
    out.push(`stopped: the experiment stopped at ${formatInstant(def.stopMs)}; reaching the users still needed means moving \`stop:\` later (a new version)`);
  }
  const primary = metrics[0]!;
  const cuped = primary.groups[0]!.comparisons.flatMap((c) => (c.result.ok && c.result.cuped ? [c.result.cuped.varianceReduction] : []));
  if (def.primary.covariateWindowMs === null) out.push(`CUPED: off for ${def.primary.key}; a \`covariate:\` window (pre-exposure behaviour) on the primary metric can reduce its variance and the users needed`);
  else if (cuped.length > 0) out.push(`CUPED: on for ${def.primary.key}; variance reduced by ${cuped.map((r) => formatShare(r)).join(', ')}`);
  else out.push(`CUPED: configured for ${def.primary.key} but not applied (no covariate data)`);
  const immature = primary.groups[0]!.immature;
  if (immature > 0) out.push(`immature: ${immature} exposed users are not counted in ${def.primary.key} yet (their metric window has not ended by asOf)`);
  if (data.multipleExposures > 0) out.push(`multiple exposures: ${data.multipleExposures} users saw more than one variant and are left out`);
  for (const g of primary.groups.slice(1)) {
    for (const c of g.comparisons) {
      if (c.significant && c.result.ok) out.push(`group ${g.group}: ${c.variant} is significantly ${c.direction} on ${def.primary.key} (corrected within the breakdown)`);
    }
  }
  return out;
}
