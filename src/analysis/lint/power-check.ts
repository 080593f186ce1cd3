/**
 * Is a segment big enough to detect the minimum effect its objective calls for? Each
 * objective maps to one metric and a default minimum detectable relative effect (MDE);
 * the baseline is the segment's own members at asOf; the test is two-sided at level alpha
 * with the given power, between two equal halves of the segment (a 50/50 split). A segment
 * is underpowered when size / 2 is under the n needed per group (formulas in ../power.ts).
 *
 * | objective    | metric                                          | test           | default MDE |
 * |--------------|-------------------------------------------------|----------------|-------------|
 * | activation   | share who did the core action in the window     | two-proportion | 10%         |
 * | conversion   | share who did the purchase event in the window  | two-proportion | 10%         |
 * | retention    | share active in the last 7 days of the window   | two-proportion | 5%          |
 * | engagement   | mean active days in the window                  | two-means      | 5%          |
 * | monetization | mean revenue per user in the window             | two-means      | 10%         |
 * | other        | none: skipped                                   |                |             |
 */
import type { Objective } from '../../segments/language/index.js';
import type { ActivityMeasure, SufficientStats } from '../../segments/registry/behavior-metrics.js';
import { statsMean, statsSd } from '../../segments/registry/behavior-metrics.js';
import {
  MEANS_FORMULA,
  PROPORTIONS_FORMULA,
  minimumDetectableMeanDifference,
  minimumDetectableProportion,
  sampleSizeTwoMeans,
  sampleSizeTwoProportions,
  type TestSettings,
} from '../power.js';
import type { LintMetric, PowerCheck } from './lint-types.js';

/** What the metrics need that strata.yaml may not give. */
export type MetricRequirement = 'coreAction' | 'purchase' | 'revenue';

export interface ObjectiveMetric {
  readonly metric: LintMetric;
  readonly measure: ActivityMeasure;
  readonly kind: 'proportion' | 'mean';
  readonly label: string;
  readonly defaultMde: number;
  readonly needs?: MetricRequirement;
}

export const RETENTION_RECENT_DAYS = 7;

export const OBJECTIVE_METRICS: Readonly<Record<Objective, ObjectiveMetric | null>> = {
  activation: { metric: 'coreActionRate', measure: 'coreAction', kind: 'proportion', label: 'core-action rate', defaultMde: 0.1, needs: 'coreAction' },
  conversion: { metric: 'purchaseRate', measure: 'converted', kind: 'proportion', label: 'purchase rate', defaultMde: 0.1, needs: 'purchase' },
  retention: { metric: 'activeLast7Days', measure: 'activeRecently', kind: 'proportion', label: `share active in the last ${RETENTION_RECENT_DAYS} days`, defaultMde: 0.05 },
  engagement: { metric: 'meanActiveDays', measure: 'activeDays', kind: 'mean', label: 'mean active days', defaultMde: 0.05 },
  monetization: { metric: 'revenuePerUser', measure: 'revenue', kind: 'mean', label: 'revenue per user', defaultMde: 0.1, needs: 'revenue' },
  other: null,
};

/** Why a requirement is missing, in the words of strata.yaml. */
export const MISSING_SETTING: Readonly<Record<MetricRequirement, string>> = {
  coreAction: 'activation segments need the core action: set lifecycle.core_action in strata.yaml',
  purchase: 'conversion segments need the purchase event: set rfm.event in strata.yaml',
  revenue: 'monetization segments need the purchase event and its value property: set rfm.event and rfm.value in strata.yaml',
};

export interface PowerCheckInput {
  readonly key: string;
  readonly objective: Objective;
  readonly size: number;
  /** The members' sums of each measure over the window; a measure missing here was not computable. */
  readonly stats: ReadonlyMap<ActivityMeasure, SufficientStats>;
  readonly settings: TestSettings & { readonly mde: number | null };
  /** Requirements strata.yaml does not meet. */
  readonly missing: ReadonlySet<MetricRequirement>;
  readonly window: string;
}

export function powerCheck(input: PowerCheckInput): PowerCheck {
  const { key, objective, size, settings } = input;
  const spec = OBJECTIVE_METRICS[objective];
  const nAvailable = Math.floor(size / 2);
  const base = {
    key,
    objective,
    metric: spec?.metric ?? null,
    metricLabel: spec ? `${spec.label} (${input.window} before asOf)` : null,
    test: spec ? (spec.kind === 'proportion' ? ('two-proportions' as const) : ('two-means' as const)) : null,
    formula: spec ? (spec.kind === 'proportion' ? PROPORTIONS_FORMULA : MEANS_FORMULA) : null,
    baseline: null,
    sd: null,
    mde: null,
    mdeSource: null,
    target: null,
    alpha: settings.alpha,
    power: settings.power,
    nPerGroupNeeded: null,
    nPerGroupAvailable: nAvailable,
    size,
    detectableEffect: null,
  } satisfies Omit<PowerCheck, 'status' | 'reason'>;
  const skip = (reason: string): PowerCheck => ({ ...base, status: 'skipped', reason });

  if (spec === null) return skip('objective "other" names no metric to power a test on');
  if (spec.needs !== undefined && input.missing.has(spec.needs)) return skip(MISSING_SETTING[spec.needs]);
  if (size === 0) return skip('no members: nothing to test');
  const stats = input.stats.get(spec.measure);
  if (stats === undefined) return skip(`the ${spec.label} could not be computed`);
  const mde = settings.mde ?? spec.defaultMde;
  const withMde = { ...base, mde, mdeSource: settings.mde === null ? ('objective default' as const) : ('--mde' as const) };
  const baseline = statsMean(stats)!;
  if (baseline === 0) return { ...withMde, baseline, status: 'skipped', reason: `the members' ${spec.label} is 0, so a relative effect is 0 too` };

  if (spec.kind === 'proportion') {
    // A relative increase unless it would pass 100%; then the same relative decrease.
    const up = baseline * (1 + mde) <= 1;
    const target = up ? baseline * (1 + mde) : baseline * (1 - mde);
    if (target < 0) {
      return { ...withMde, baseline, status: 'skipped', reason: `a ${percent(mde)} relative change of a ${percent(baseline)} ${spec.label} would leave 0% to 100% either way` };
    }
    const needed = Math.ceil(sampleSizeTwoProportions(baseline, target, settings));
    const detectable = minimumDetectableProportion(baseline, nAvailable, settings, up ? 'up' : 'down');
    const detectableEffect = detectable === null ? null : Math.abs(detectable - baseline) / baseline;
    return decide({ ...withMde, baseline, target, nPerGroupNeeded: needed, detectableEffect }, spec, percent);
  }
  const sd = statsSd(stats);
  if (sd === null) return { ...withMde, baseline, status: 'underpowered', reason: `${size} member${size === 1 ? '' : 's'}: too few to estimate the spread of the ${spec.label}, let alone split in two` };
  if (sd === 0) return { ...withMde, baseline, sd, status: 'skipped', reason: `every member has the same ${spec.label}: no spread to compute a sample size from` };
  const target = baseline * (1 + mde);
  const needed = Math.ceil(sampleSizeTwoMeans(sd, baseline * mde, settings));
  const detectableEffect = nAvailable > 0 ? minimumDetectableMeanDifference(sd, nAvailable, settings) / Math.abs(baseline) : null;
  return decide({ ...withMde, baseline, sd, target, nPerGroupNeeded: needed, detectableEffect }, spec, plain);
}

function decide(check: Omit<PowerCheck, 'status' | 'reason'>, spec: ObjectiveMetric, format: (x: number) => string): PowerCheck {
  const needed = check.nPerGroupNeeded!;
  const underpowered = check.nPerGroupAvailable < needed;
  const sd = check.sd === null ? '' : `, sd ${plain(check.sd)}`;
  const detectable =
    check.detectableEffect === null ? 'no effect is detectable at this size' : `the smallest detectable effect at this size is ${percent(check.detectableEffect)}`;
  const reason =
    `${count(check.size)} members give ${count(check.nPerGroupAvailable)} per group of a 50/50 split; detecting a ${percent(check.mde!)} relative change in the ${spec.label} ` +
    `(baseline ${format(check.baseline!)}${sd}, target ${format(check.target!)}) with a two-sided test at alpha ${check.alpha} and power ${check.power} ` +
    `needs ${count(needed)} per group; ${detectable}`;
  return { ...check, status: underpowered ? 'underpowered' : 'ok', reason };
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function plain(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3);
}
