/**
 * `strata experiment stats`: the statistics straight from sufficient statistics, for teams
 * whose data lives elsewhere (issue 5). The request and response are JSON; the form below is
 * normative (README "experiment stats"):
 *
 * {"metric": {"type": "mean"|"proportion"|"ratio", "inverse": false},
 *  "method": "frequentist"|"bayesian"|"sequential",          default frequentist
 *  "difference": "relative"|"absolute",                       default relative
 *  "alpha": 0.05, "sides": "two"|"greater"|"lesser",          defaults 0.05, two
 *  "sequentialTuning": 5000, "prior": {"mean": 0, "variance": 0.09} (optional),
 *  "weights": [0.5, 0.5] (default equal), "cuped": true (default; false ignores covariates),
 *  "correction": "none"|"holm"|"bh" (default none; across the treatments, p-value methods only),
 *  "variants": [{"name": "control", "n": 3407, "sum": 1396.87, "sumSquares": 52377.9767}, ...]}
 * A proportion variant gives n and sum (conversions); a ratio variant gives `numerator` and
 * `denominator` ({sum, sumSquares}) and `sumProducts` (Σ num·den); an optional `covariate`
 * ({sum, sumSquares, sumProducts} with the metric; ratio: also sumProductsDenominator) on every
 * variant turns CUPED on. variants[0] is the control; every other variant is a treatment.
 *
 * Response: {srmPValue, srm: {ok, chiSquare, df, pValue, expected, flagged} | {ok: false,
 * reason, message}, treatments: [{name, ok, effect, ci: [lo|null, hi|null], pValue,
 * chanceToWin, risk: {control, treatment}|null, se, df, control, treatment, cuped,
 * adjusted: {pValue, ci, rejected}|null}]}; `adjusted` holds the corrected p-value and the
 * interval at the correction's level (multiple.ts: Bonferroni alpha/m for Holm, Benjamini–
 * Yekutieli alpha·R/m for BH) when a correction applies; a degenerate comparison is {name, ok: false, reason, message} with every number null.
 * Errors: StrataError INPUT_INVALID with a detail per problem naming its JSON path
 * (`$.variants[1].sumSquares`, message `required: expected a number`).
 */
import { Type, type Static } from '@sinclair/typebox';
import { StrataError, type ErrorDetail } from '../../errors/errors.js';
import { schemaErrors } from '../../segments/language/schema-errors.js';
import type { AnalysisMethod } from '../design/types.js';
import type { NormalPrior } from './bayesian.js';
import type { ArmEstimate, ComparisonResult } from './compare-types.js';
import { compareArms } from './compare.js';
import type { Difference } from './effects.js';
import type { Sides } from './frequentist.js';
import { adjustPValues } from './multiple.js';
import { DEFAULT_SEQUENTIAL_TUNING } from './sequential.js';
import { srmTest, type SrmResult } from './srm.js';
import type { CovariateSums, MetricStats, Sums } from './sufficient.js';

const num = (what = 'a number') => Type.Number({ description: what });
const sumsSchema = Type.Object({ sum: num(), sumSquares: num() }, { additionalProperties: false, description: 'an object {sum, sumSquares}' });
const covariateSchema = Type.Object(
  { sum: num(), sumSquares: num(), sumProducts: num(), sumProductsDenominator: Type.Optional(num()) },
  { additionalProperties: false, description: 'an object {sum, sumSquares, sumProducts}' },
);
const variantSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'a non-empty variant name' }),
    n: Type.Integer({ minimum: 0, description: 'a whole number of users >= 0' }),
    sum: Type.Optional(num()),
    sumSquares: Type.Optional(num()),
    numerator: Type.Optional(sumsSchema),
    denominator: Type.Optional(sumsSchema),
    sumProducts: Type.Optional(num()),
    covariate: Type.Optional(covariateSchema),
  },
  { additionalProperties: false, description: 'a variant object' },
);

export const StatsRequestSchema = Type.Object(
  {
    metric: Type.Object(
      {
        type: Type.Union([Type.Literal('mean'), Type.Literal('proportion'), Type.Literal('ratio')], { description: 'mean, proportion or ratio' }),
        inverse: Type.Optional(Type.Boolean({ description: 'true or false' })),
      },
      { additionalProperties: false, description: 'an object {type, inverse}' },
    ),
    method: Type.Optional(Type.Union([Type.Literal('frequentist'), Type.Literal('bayesian'), Type.Literal('sequential')], { description: 'frequentist, bayesian or sequential' })),
    difference: Type.Optional(Type.Union([Type.Literal('relative'), Type.Literal('absolute')], { description: 'relative or absolute' })),
    alpha: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'a number strictly between 0 and 1' })),
    sides: Type.Optional(Type.Union([Type.Literal('two'), Type.Literal('greater'), Type.Literal('lesser')], { description: 'two, greater or lesser' })),
    sequentialTuning: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'a positive number' })),
    prior: Type.Optional(
      Type.Union([Type.Null(), Type.Object({ mean: num(), variance: Type.Number({ exclusiveMinimum: 0, description: 'a positive number' }) }, { additionalProperties: false })], {
        description: 'an object {mean, variance} with variance > 0, or null',
      }),
    ),
    weights: Type.Optional(Type.Array(Type.Number({ exclusiveMinimum: 0, description: 'a positive number' }), { description: 'an array of positive numbers' })),
    cuped: Type.Optional(Type.Boolean({ description: 'true or false' })),
    correction: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('holm'), Type.Literal('bh')], { description: 'none, holm or bh' })),
    variants: Type.Array(variantSchema, { minItems: 2, description: 'an array of at least 2 variants (the first is the control)' }),
  },
  { additionalProperties: false, description: 'a stats request object' },
);

export type StatsRequestInput = Static<typeof StatsRequestSchema>;

/** The request with defaults applied and every variant turned into MetricStats. */
export interface StatsRequest {
  readonly metric: { readonly type: MetricStats['type']; readonly inverse: boolean };
  readonly method: AnalysisMethod;
  readonly difference: Difference;
  readonly alpha: number;
  readonly sides: Sides;
  readonly sequentialTuning: number;
  readonly prior: NormalPrior | null;
  readonly weights: readonly number[];
  readonly cuped: boolean;
  /** Across the treatments' p-values (frequentist and sequential); none by default. */
  readonly correction: 'none' | 'holm' | 'bh';
  readonly variants: ReadonlyArray<{ readonly name: string; readonly stats: MetricStats }>;
}

export interface TreatmentOutput {
  readonly name: string;
  readonly ok: boolean;
  readonly effect: number | null;
  readonly ci: readonly [number | null, number | null] | null;
  readonly pValue: number | null;
  readonly chanceToWin: number | null;
  readonly risk: { readonly control: number; readonly treatment: number } | null;
  readonly se: number | null;
  readonly df: number | null;
  readonly control: ArmEstimate | null;
  readonly treatment: ArmEstimate | null;
  readonly cuped: { readonly theta: number; readonly varianceReduction: number } | null;
  /** With a correction and a p-value: the corrected p-value, the interval at the correction's level, and whether it rejects at alpha. */
  readonly adjusted: { readonly pValue: number; readonly ci: readonly [number | null, number | null]; readonly rejected: boolean } | null;
  /** Degenerate comparisons only. */
  readonly reason?: string;
  readonly message?: string;
}

export interface StatsResponse {
  readonly method: AnalysisMethod;
  readonly difference: Difference;
  readonly sides: Sides;
  readonly alpha: number;
  readonly correction: 'none' | 'holm' | 'bh';
  readonly srmPValue: number | null;
  readonly srm: SrmResult | { readonly ok: false; readonly reason: string; readonly message: string };
  readonly treatments: readonly TreatmentOutput[];
}

/** INPUT_INVALID with one detail per problem; toLine() reads `the stats request is invalid: $.path: message`. */
function fail(details: readonly ErrorDetail[]): never {
  throw new StrataError('INPUT_INVALID', 'the stats request is invalid', details);
}

type VariantInput = StatsRequestInput['variants'][number];

function need<T>(value: T | undefined, path: string, what: string): T {
  if (value === undefined) fail([{ path, message: `required: expected ${what}` }]);
  return value;
}

function covariateOf(v: VariantInput, at: string, type: MetricStats['type']): CovariateSums | undefined {
  if (!v.covariate) return undefined;
  if (type === 'ratio') need(v.covariate.sumProductsDenominator, `${at}.covariate.sumProductsDenominator`, 'a number (Σ covariate·denominator) for a ratio metric');
  return v.covariate;
}

function variantStats(v: VariantInput, i: number, type: MetricStats['type']): MetricStats {
  const at = `$.variants[${i}]`;
  const unexpected = (key: keyof VariantInput, why: string): void => {
    if (v[key] !== undefined) fail([{ path: `${at}.${key}`, message: `unexpected for a ${type} metric; ${why}` }]);
  };
  const covariate = covariateOf(v, at, type);
  const extra = covariate ? { covariate } : {};
  if (type === 'ratio') {
    unexpected('sum', 'a ratio variant gives numerator and denominator');
    unexpected('sumSquares', 'a ratio variant gives numerator and denominator');
    const numerator: Sums = need(v.numerator, `${at}.numerator`, 'an object {sum, sumSquares}');
    const denominator: Sums = need(v.denominator, `${at}.denominator`, 'an object {sum, sumSquares}');
    return { type, n: v.n, numerator, denominator, sumProducts: need(v.sumProducts, `${at}.sumProducts`, 'a number (Σ numerator·denominator)'), ...extra };
  }
  unexpected('numerator', 'only ratio variants have one');
  unexpected('denominator', 'only ratio variants have one');
  unexpected('sumProducts', 'only ratio variants have one');
  const sum = need(v.sum, `${at}.sum`, type === 'proportion' ? 'a number (conversions)' : 'a number');
  if (type === 'proportion') {
    unexpected('sumSquares', 'a proportion variant gives n and sum (conversions)');
    if (!Number.isInteger(sum) || sum < 0 || sum > v.n) fail([{ path: `${at}.sum`, message: `expected a whole number of conversions between 0 and n = ${v.n}, got ${sum}` }]);
    return { type, n: v.n, sum, ...extra };
  }
  return { type, n: v.n, sum, sumSquares: need(v.sumSquares, `${at}.sumSquares`, 'a number'), ...extra };
}

/** Validates a parsed JSON request (TypeBox, then per-metric-type fields) and applies the defaults. */
export function parseStatsRequest(value: unknown): StatsRequest {
  const errors = schemaErrors(StatsRequestSchema, value, '$');
  if (errors.length > 0) fail(errors);
  const input = value as StatsRequestInput;
  const type = input.metric.type;
  const weights = input.weights ?? input.variants.map(() => 1 / input.variants.length);
  if (weights.length !== input.variants.length) fail([{ path: '$.weights', message: `expected ${input.variants.length} weights (one per variant), got ${weights.length}` }]);
  const seen = new Set<string>();
  input.variants.forEach((v, i) => {
    if (seen.has(v.name)) fail([{ path: `$.variants[${i}].name`, message: `duplicate variant name ${JSON.stringify(v.name)}` }]);
    seen.add(v.name);
  });
  const method = input.method ?? 'frequentist';
  const sides = input.sides ?? 'two';
  const alpha = input.alpha ?? 0.05;
  if (method === 'sequential' && sides !== 'two' && alpha >= 0.5) fail([{ path: '$.alpha', message: `a one-sided sequential test needs alpha below 0.5, got ${alpha}` }]);
  return {
    metric: { type, inverse: input.metric.inverse ?? false },
    method,
    difference: input.difference ?? 'relative',
    alpha,
    sides,
    sequentialTuning: input.sequentialTuning ?? DEFAULT_SEQUENTIAL_TUNING,
    prior: input.prior ?? null,
    weights,
    cuped: input.cuped ?? true,
    correction: input.correction ?? 'none',
    variants: input.variants.map((v, i) => ({ name: v.name, stats: variantStats(v, i, type) })),
  };
}

function treatmentOutput(name: string, r: ComparisonResult, adjusted: TreatmentOutput['adjusted']): TreatmentOutput {
  const none = { effect: null, ci: null, pValue: null, chanceToWin: null, risk: null, se: null, df: null, control: null, treatment: null, cuped: null, adjusted: null };
  if (!r.ok) return { name, ok: false, ...none, reason: r.reason, message: r.message };
  return { name, ok: true, effect: r.effect, ci: r.ci, pValue: r.pValue, chanceToWin: r.chanceToWin, risk: r.risk, se: r.se, df: r.df, control: r.control, treatment: r.treatment, cuped: r.cuped, adjusted };
}

/** Every treatment against variants[0], plus the SRM check of users per variant against the weights. */
export function computeStats(request: StatsRequest): StatsResponse {
  const [control, ...treatments] = request.variants;
  const srm = srmTest(
    request.variants.map((v) => v.stats.n),
    request.weights,
  );
  const options = {
    method: request.method,
    difference: request.difference,
    alpha: request.alpha,
    sides: request.sides,
    sequentialTuning: request.sequentialTuning,
    prior: request.prior,
    inverse: request.metric.inverse,
    cuped: request.cuped,
  };
  const results = treatments.map((t) => compareArms(control!.stats, t.stats, options));
  // The family is the treatments with a p-value (degenerate ones and Bayesian results have none).
  const tested = results.flatMap((r, i) => (r.ok && r.pValue !== null ? [{ i, p: r.pValue }] : []));
  const adjusted = new Map<number, NonNullable<TreatmentOutput['adjusted']>>();
  if (request.correction !== 'none' && tested.length > 0) {
    const a = adjustPValues(tested.map((t) => t.p), request.alpha, request.correction === 'holm' ? 'holm' : 'benjamini-hochberg');
    tested.forEach((t, k) => {
      const wide = compareArms(control!.stats, treatments[t.i]!.stats, { ...options, alpha: a.intervalAlpha });
      adjusted.set(t.i, { pValue: a.pValues[k]!, ci: wide.ok ? wide.ci : [null, null], rejected: a.rejected[k]! });
    });
  }
  return {
    method: request.method,
    difference: request.difference,
    sides: request.sides,
    alpha: request.alpha,
    correction: request.correction,
    srmPValue: srm.ok ? srm.pValue : null,
    srm,
    treatments: treatments.map((t, i) => treatmentOutput(t.name, results[i]!, adjusted.get(i) ?? null)),
  };
}

/** parseStatsRequest then computeStats: the whole `experiment stats` command as a function. */
export function runStatsRequest(value: unknown): StatsResponse {
  return computeStats(parseStatsRequest(value));
}
