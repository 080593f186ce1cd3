/**
 * The cases the experiment-metrics tests run on every engine: the experiment document (every
 * metric type, covariates, windows), the same metrics as the reference reads them, the
 * stored segments, and per case the breakdown, restriction and exposure source with the
 * reference options that say the same thing (test/support/experiment-metrics-oracle.ts).
 */
import { parse as parseYaml } from 'yaml';
import { parseLifecycleSection } from '../../src/analysis/lifecycle/index.js';
import { validateExperiment } from '../../src/experiments/design/definition.js';
import type { ExperimentDefinition, StoredExperiment } from '../../src/experiments/design/types.js';
import type { ExperimentDataOptions } from '../../src/experiments/metrics/index.js';
import type { ExperimentData } from '../../src/experiments/metrics/types.js';
import { parseSegmentText, validateSegment } from '../../src/segments/language/index.js';
import { seedDataset } from './load-duckdb.js';
import { classifyUsers, oracleDefaults } from './lifecycle-oracle.js';
import { BASE, D, EXPERIMENT_KEY, EXPERIMENT_PLAN, H, referenceData, type GeneratedLog, type RefMetric, type RefOptions } from './experiment-metrics-oracle.js';

export const PLAN = EXPERIMENT_PLAN;
export const START = BASE + 2 * D;

/** The windows the metrics use, in hours (null: none); drawn per seed by the DuckDB test. */
export interface MetricWindows {
  readonly convertedWithin: number;
  readonly convertedCovariate: number | null;
  readonly viewsWithin: number;
  readonly viewsCovariate: number | null;
  readonly revenueWithin: number;
  readonly depthWithin: number | null;
  readonly depthCovariate: number | null;
  readonly retentionDay: number;
  readonly retentionCovariate: number | null;
  readonly ratioCovariate: number | null;
}

export const DEFAULT_WINDOWS: MetricWindows = {
  convertedWithin: 48,
  convertedCovariate: 24,
  viewsWithin: 24,
  viewsCovariate: 48,
  revenueWithin: 72,
  depthWithin: 48,
  depthCovariate: 24,
  retentionDay: 1,
  retentionCovariate: 24,
  ratioCovariate: 48,
};

/** Windows on the 6-hour grid of the generated logs, so window edges fall on event times. */
export function drawWindows(r: () => number): MetricWindows {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const within = [6, 18, 24, 30, 48, 72];
  const covariate = [null, 6, 24, 48];
  return {
    convertedWithin: pick(within),
    convertedCovariate: pick(covariate),
    viewsWithin: pick(within),
    viewsCovariate: pick(covariate),
    revenueWithin: pick(within),
    depthWithin: pick([null, ...within]),
    depthCovariate: pick(covariate),
    retentionDay: pick([0, 1, 2]),
    retentionCovariate: pick(covariate),
    ratioCovariate: pick(covariate),
  };
}

const hours = (key: string, h: number | null) => (h === null ? '' : `, ${key}: ${h}h`);

/** The metrics section of the experiment document. */
export function metricsYaml(w: MetricWindows = DEFAULT_WINDOWS): string {
  return `
metrics:
  primary: converted
  secondary: [views, depth, day1, rev-per-order, activity]
  guardrails:
    - {metric: revenue, max_degradation: 0.02}
definitions:
  converted: {type: conversion, event: buy${hours('within', w.convertedWithin)}${hours('covariate', w.convertedCovariate)}, where: [{property: amount, gt: 1}]}
  views: {type: count, event: view${hours('within', w.viewsWithin)}${hours('covariate', w.viewsCovariate)}, where: [{property: page, eq: pricing}]}
  revenue: {type: sum, event: buy, property: amount${hours('within', w.revenueWithin)}}
  depth: {type: mean, event: view, property: n${hours('within', w.depthWithin)}${hours('covariate', w.depthCovariate)}}
  day1: {type: retention, event: '*', day: ${w.retentionDay}${hours('covariate', w.retentionCovariate)}}
  rev-per-order: {type: ratio, numerator: {event: buy, property: amount}, denominator: {event: buy}${hours('covariate', w.ratioCovariate)}}
  activity: {type: count, event: '*'}
`;
}

const any = () => true;
const ms = (h: number | null) => (h === null ? null : h * H);

/** The same metrics for the reference, read off metricsYaml by hand. */
export function refMetrics(w: MetricWindows = DEFAULT_WINDOWS): RefMetric[] {
  return [
    { key: 'converted', kind: 'proportion', binary: true, numerator: { event: 'buy', where: (p) => typeof p.amount === 'number' && p.amount > 1, sum: null, present: null }, denominator: null, from: 0, to: ms(w.convertedWithin), covariate: ms(w.convertedCovariate) },
    { key: 'views', kind: 'mean', binary: false, numerator: { event: 'view', where: (p) => p.page === 'pricing', sum: null, present: null }, denominator: null, from: 0, to: ms(w.viewsWithin), covariate: ms(w.viewsCovariate) },
    {
      key: 'depth',
      kind: 'ratio',
      binary: false,
      numerator: { event: 'view', where: any, sum: 'n', present: null },
      denominator: { event: 'view', where: any, sum: null, present: 'n' },
      from: 0,
      to: ms(w.depthWithin),
      covariate: ms(w.depthCovariate),
    },
    { key: 'day1', kind: 'proportion', binary: true, numerator: { event: null, where: any, sum: null, present: null }, denominator: null, from: w.retentionDay * D, to: (w.retentionDay + 1) * D, covariate: ms(w.retentionCovariate) },
    {
      key: 'rev-per-order',
      kind: 'ratio',
      binary: false,
      numerator: { event: 'buy', where: any, sum: 'amount', present: null },
      denominator: { event: 'buy', where: any, sum: null, present: null },
      from: 0,
      to: null,
      covariate: ms(w.ratioCovariate),
    },
    { key: 'activity', kind: 'mean', binary: false, numerator: { event: null, where: any, sum: null, present: null }, denominator: null, from: 0, to: null, covariate: null },
    { key: 'revenue', kind: 'mean', binary: false, numerator: { event: 'buy', where: any, sum: 'amount', present: null }, denominator: null, from: 0, to: ms(w.revenueWithin), covariate: null },
  ];
}

/** Metrics whose numerator sums the double property `amount`: their numerator-side sums are compared within 1e-9. */
const FLOAT_METRICS = new Set(['revenue', 'rev-per-order']);

export function exactPaths(expected: ExperimentData): (path: string) => boolean {
  return (path) => {
    const m = /^\.metrics\[(\d+)\]\.variants\[\d+\]\.stats\.(\w+)/.exec(path);
    if (!m) return true;
    const key = expected.metrics[Number(m[1])]!.metric;
    return !(FLOAT_METRICS.has(key) && ['sum', 'sumSquares', 'numerator', 'sumProducts', 'covariate'].includes(m[2]!));
  };
}

export const SEGMENTS = [
  'key: viewers\nname: Viewers\nobjective: other\nrationale: Viewed a page.\nowner: growth\nmatch: { did: view }\n',
  'key: pro\nname: Pro\nobjective: other\nrationale: On the pro plan.\nowner: growth\nmatch: { trait: plan, eq: pro }\n',
].map((text, i) => validateSegment(parseSegmentText(text, `s${i}.yaml`), PLAN));

export function experimentYaml(extra: string, windows: MetricWindows = DEFAULT_WINDOWS): string {
  return `key: ${EXPERIMENT_KEY}\nname: Checkout\nhypothesis: A shorter checkout sells more.\nvariants:\n  - {key: control, weight: 1}\n  - {key: treat, weight: 1}\n  - {key: big, weight: 2}\nstart: ${new Date(START).toISOString()}\n${extra}${metricsYaml(windows)}`;
}

export function stored(yaml: string): StoredExperiment {
  const raw = JSON.parse(JSON.stringify(parseYaml(yaml))) as unknown;
  const definition: ExperimentDefinition = validateExperiment(raw, PLAN, { segmentKeys: SEGMENTS.map((s) => s.key) });
  return { definition, version: 3, createdAtMs: BASE, definitionHash: 'test' };
}


export const LIFECYCLE = parseLifecycleSection({ core_action: 'buy', advocacy_event: 'signup' }, PLAN, (p, m) => {
  throw new Error(`${p}: ${m}`);
});
export const LIFECYCLE_ORACLE = oracleDefaults('buy', 'signup');

/** Members of the stored segments as of an instant, by their definitions. */
export function membersAt(log: GeneratedLog, key: 'viewers' | 'pro', atMs: number): Set<string> {
  if (key === 'pro') return new Set(Object.entries(log.profiles).filter(([, t]) => t.plan === 'pro').map(([u]) => u));
  return new Set(log.events.filter((e) => e.event === 'view' && e.at < atMs).map((e) => e.user));
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** The reference options for a breakdown name, bound as of start. */
export function refBreakdown(log: GeneratedLog, by: string | undefined): Pick<RefOptions, 'groupOf' | 'orderGroups' | 'label'> {
  if (by === undefined) return {};
  if (by === 'plan') {
    return {
      label: 'plan',
      groupOf: (u) => {
        const v = log.profiles[u]?.plan;
        return typeof v === 'string' ? v : '(none)';
      },
      orderGroups: (users) => [...users.keys()].sort((a, b) => (a === '(none)' ? 1 : 0) - (b === '(none)' ? 1 : 0) || users.get(b)! - users.get(a)! || byteOrder(a, b)),
    };
  }
  if (by === 'viewers') {
    const members = membersAt(log, 'viewers', START);
    return { label: 'segment viewers', groupOf: (u) => (members.has(u) ? 'member' : 'non-member'), orderGroups: (users) => ['member', 'non-member'].filter((g) => users.has(g)) };
  }
  const stages = classifyUsers(seedDataset({ events: log.events, profiles: log.profiles }), START, LIFECYCLE_ORACLE);
  const order = [...LIFECYCLE_ORACLE.order, LIFECYCLE_ORACLE.fallback, '(not yet seen)'];
  return { label: 'lifecycle', groupOf: (u) => stages.get(u) ?? '(not yet seen)', orderGroups: (users) => order.filter((g) => users.has(g)) };
}

export interface Case {
  readonly name: string;
  readonly extra: string;
  readonly by?: string;
  readonly segment?: 'viewers' | 'pro';
  readonly targeting?: readonly ('viewers' | 'pro')[];
}

export const CASES: readonly Case[] = [
  { name: 'event exposures, stop before asOf', extra: `stop: ${new Date(BASE + 7 * D).toISOString()}\n` },
  { name: 'event exposures, no stop, by trait', extra: '', by: 'plan' },
  { name: 'by segment as of start', extra: '', by: 'viewers' },
  { name: 'by lifecycle stage as of start', extra: '', by: 'lifecycle' },
  { name: 'restricted to a segment', extra: `stop: ${new Date(BASE + 5 * D + 6 * H).toISOString()}\n`, segment: 'viewers' },
  { name: 'derived exposures, targeting and coverage', extra: 'exposure: assignment\ntargeting: [viewers]\ncoverage: 0.7\n', targeting: ['viewers'] },
  { name: 'derived exposures, everyone, by trait', extra: 'exposure: assignment\n', by: 'plan', segment: 'pro' },
];

export const AS_OFS = [BASE + 5 * D, BASE + 8 * D, BASE + 9 * D + 6 * H, BASE + 13 * D];

/** The reference answer for a case. */
export function expectedFor(log: GeneratedLog, s: StoredExperiment, c: Case, asOfMs: number, windows: MetricWindows = DEFAULT_WINDOWS): ExperimentData {
  return referenceData(log, s.definition, s.version, {
    asOfMs,
    metrics: refMetrics(windows),
    ...refBreakdown(log, c.by),
    ...(c.segment ? { members: membersAt(log, c.segment, START) } : {}),
    ...(c.targeting ? { targeting: c.targeting.map((k) => membersAt(log, k, START)) } : {}),
  });
}

export function optionsFor(c: Case, asOfMs: number): ExperimentDataOptions {
  return { asOfMs, plan: PLAN, lifecycle: LIFECYCLE, ...(c.by ? { by: c.by } : {}), ...(c.segment ? { segment: c.segment } : {}) };
}

