import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StrataError } from '../../errors/errors.js';
import { parsePlan } from '../../schema/tracking-plan.js';
import {
  canonicalExperimentJson,
  experimentDefinitionHash,
  parseExperimentText,
  validateExperiment,
  validateExperimentText,
} from './definition.js';
import type { ExperimentDefinition } from './types.js';

const DAY = 86_400_000;

const plan = parsePlan({
  events: {
    $exposure: { properties: { experiment: 'string', variant: 'string' } },
    core_task_completed: {},
    project_created: { properties: { template: 'string' } },
    purchase: { properties: { amount: 'number', currency: 'string' } },
    feature_used: { properties: { duration_s: 'number' } },
    subscription_cancelled: {},
  },
  traits: { plan: 'string' },
});
const planWithoutExposure = parsePlan({ events: { core_task_completed: {} } });
const context = { segmentKeys: ['stalled-onboarding', 'power-users'] };

/** The smallest valid document; each case below changes one thing. */
function base(): Record<string, unknown> {
  return {
    key: 'onboarding-checklist',
    name: 'Personalized onboarding checklist',
    hypothesis: 'Stalled users finish the core workflow more often with a checklist.',
    variants: [{ key: 'control' }, { key: 'checklist' }],
    start: '2026-10-01',
    metrics: { primary: 'activated' },
    definitions: { activated: { type: 'conversion', event: 'core_task_completed', within: '7d' } },
  };
}

function failure(raw: unknown, p = plan): StrataError {
  try {
    validateExperiment(raw, p, context);
  } catch (e) {
    if (e instanceof StrataError) return e;
    throw e;
  }
  throw new Error('expected validateExperiment to throw');
}

const details = (raw: unknown, p = plan) => failure(raw, p).details.map((d) => [d.path, d.message]);

describe('validateExperiment: a valid document', () => {
  it('fills in every default of docs/experiments.md', () => {
    const def = validateExperiment(base(), plan, context);
    expect(def).toEqual<ExperimentDefinition>({
      key: 'onboarding-checklist',
      name: 'Personalized onboarding checklist',
      hypothesis: 'Stalled users finish the core workflow more often with a checklist.',
      owner: null,
      tags: [],
      targeting: [],
      segments: [],
      variants: [
        { key: 'control', weight: 0.5 },
        { key: 'checklist', weight: 0.5 },
      ],
      factors: null,
      coverage: 1,
      seed: 'onboarding-checklist',
      hashVersion: 1,
      startMs: Date.UTC(2026, 9, 1),
      stopMs: null,
      exposure: 'event',
      primary: {
        key: 'activated',
        name: 'activated',
        inverse: false,
        withinMs: 7 * DAY,
        covariateWindowMs: null,
        type: 'conversion',
        measure: { event: 'core_task_completed', where: [], property: null },
      },
      secondary: [],
      guardrails: [],
      mde: 0.05,
      alpha: 0.05,
      power: 0.8,
      method: 'frequentist',
      sides: 'two',
      difference: 'relative',
      sequentialTuning: 5000,
      prior: null,
      bandit: null,
    });
  });

  it('reads every field of the full document', () => {
    const def = validateExperiment(
      {
        ...base(),
        owner: 'growth',
        tags: ['onboarding'],
        targeting: ['stalled-onboarding'],
        segments: ['power-users'],
        variants: [
          { key: 'control', weight: 3 },
          { key: 'checklist', weight: 1 },
        ],
        coverage: 0.5,
        seed: 'Onboarding.v2',
        hash_version: 1,
        start: '2026-10-01T09:30:00+02:00',
        stop: '2026-11-01',
        exposure: 'assignment',
        metrics: {
          primary: 'activated',
          secondary: ['projects', 'revenue-per-user', 'page-depth', 'day7', 'rev-per-order'],
          guardrails: [{ metric: 'cancellations', max_degradation: 0.02 }],
        },
        definitions: {
          activated: { type: 'conversion', event: 'core_task_completed', within: '7d', name: 'Activated in 7 days' },
          projects: { type: 'count', event: 'project_created', within: '14d', covariate: '14d', where: [{ property: 'template', eq: 'blank' }] },
          'revenue-per-user': { type: 'sum', event: 'purchase', property: 'amount', within: '28d' },
          'page-depth': { type: 'mean', event: 'feature_used', property: 'duration_s' },
          day7: { type: 'retention', event: '*', day: 7 },
          'rev-per-order': { type: 'ratio', numerator: { event: 'purchase', property: 'amount' }, denominator: { event: 'purchase' } },
          cancellations: { type: 'conversion', event: 'subscription_cancelled', within: '28d', inverse: true },
          unused: { type: 'count', event: '*' },
        },
        mde: 0.1,
        alpha: 0.1,
        power: 0.9,
        method: 'bayesian',
        sides: 'greater',
        difference: 'absolute',
        sequential_tuning: 2000,
        prior: { mean: 0, variance: 0.09 },
        bandit: { min_weight: 0.05 },
      },
      plan,
      context,
    );
    expect(def.variants).toEqual([
      { key: 'control', weight: 0.75 },
      { key: 'checklist', weight: 0.25 },
    ]);
    expect(def.startMs).toBe(Date.UTC(2026, 9, 1, 7, 30));
    expect(def.stopMs).toBe(Date.UTC(2026, 10, 1));
    expect([def.coverage, def.seed, def.exposure, def.owner, def.tags, def.targeting, def.segments]).toEqual([
      0.5,
      'Onboarding.v2',
      'assignment',
      'growth',
      ['onboarding'],
      ['stalled-onboarding'],
      ['power-users'],
    ]);
    expect(def.primary.name).toBe('Activated in 7 days');
    expect(def.secondary.map((m) => [m.key, m.type, m.withinMs, m.covariateWindowMs])).toEqual([
      ['projects', 'count', 14 * DAY, 14 * DAY],
      ['revenue-per-user', 'sum', 28 * DAY, null],
      ['page-depth', 'mean', null, null],
      // Retention day 7 is [exposure + 7d, exposure + 8d): mature 8 days after exposure.
      ['day7', 'retention', 8 * DAY, null],
      ['rev-per-order', 'ratio', null, null],
    ]);
    expect(def.secondary[0]).toMatchObject({ measure: { event: 'project_created', where: [{ property: 'template', eq: 'blank' }], property: null } });
    expect(def.secondary[3]).toMatchObject({ type: 'retention', day: 7, measure: { event: '*', property: null } });
    expect(def.secondary[4]).toMatchObject({
      numerator: { event: 'purchase', where: [], property: 'amount' },
      denominator: { event: 'purchase', where: [], property: null },
    });
    expect(def.guardrails).toEqual([{ metric: expect.objectContaining({ key: 'cancellations', inverse: true }), maxDegradation: 0.02 }]);
    expect([def.mde, def.alpha, def.power, def.method, def.sides, def.difference, def.sequentialTuning]).toEqual([0.1, 0.1, 0.9, 'bayesian', 'greater', 'absolute', 2000]);
    expect(def.prior).toEqual({ mean: 0, variance: 0.09 });
    expect(def.bandit).toEqual({ minWeight: 0.05 });
  });

  it('expands factors to the cross product, first factor slowest, keys joined with "."', () => {
    const raw = { ...base(), variants: undefined, factors: { checklist: ['off', 'on'], reminder: ['none', 'email', 'push'] } };
    const def = validateExperiment(raw, plan, context);
    expect(def.factors).toEqual([
      { key: 'checklist', levels: ['off', 'on'] },
      { key: 'reminder', levels: ['none', 'email', 'push'] },
    ]);
    expect(def.variants.map((v) => v.key)).toEqual(['off.none', 'off.email', 'off.push', 'on.none', 'on.email', 'on.push']);
    expect(def.variants[0]!.levels).toEqual({ checklist: 'off', reminder: 'none' });
    expect(def.variants[5]!.levels).toEqual({ checklist: 'on', reminder: 'push' });
    for (const v of def.variants) expect(v.weight).toBeCloseTo(1 / 6, 15);
  });

  it('weights factorial variants by the weights map, normalized', () => {
    const raw = {
      ...base(),
      variants: undefined,
      factors: { checklist: ['off', 'on'], reminder: ['none', 'email'] },
      weights: { 'off.none': 2, 'off.email': 1, 'on.none': 1, 'on.email': 4 },
    };
    expect(validateExperiment(raw, plan, context).variants.map((v) => [v.key, v.weight])).toEqual([
      ['off.none', 0.25],
      ['off.email', 0.125],
      ['on.none', 0.125],
      ['on.email', 0.5],
    ]);
  });

  it('takes inline metrics with their own keys', () => {
    const raw = {
      ...base(),
      definitions: undefined,
      metrics: {
        primary: { key: 'activated', type: 'conversion', event: 'core_task_completed' },
        guardrails: [{ metric: { key: 'spend', type: 'sum', event: 'purchase', property: 'amount', inverse: false }, max_degradation: 0 }],
      },
    };
    const def = validateExperiment(raw, plan, context);
    expect(def.primary).toMatchObject({ key: 'activated', withinMs: null });
    expect(def.guardrails[0]).toMatchObject({ metric: { key: 'spend', type: 'sum' }, maxDegradation: 0 });
  });

  it('does not need $exposure in the plan when exposures come from assignment', () => {
    const raw = { ...base(), exposure: 'assignment' };
    expect(validateExperiment(raw, planWithoutExposure, context).exposure).toBe('assignment');
  });
});

/** [what is wrong, the change to the base document, the expected [path, message]]. */
const CASES: readonly [string, Record<string, unknown>, readonly (readonly [string, string])[]][] = [
  ['an unknown top-level key, with a suggestion', { hypotesis: 'x' }, [['hypotesis', expect.stringMatching(/^unknown key \(did you mean hypothesis\?\); expected one of key, name, hypothesis/) as unknown as string]]],
  ['a key that breaks the pattern', { key: 'Onboarding' }, [['key', expect.stringContaining('expected an experiment key: lower case letters') as unknown as string]]],
  ['a missing name and an empty hypothesis', { name: undefined, hypothesis: ' ' }, [['name', 'required: expected a non-empty text'], ['hypothesis', 'expected a non-empty text, got " "']]],
  ['tags that are not strings', { tags: ['a', 3] }, [['tags[1]', 'expected a non-empty tag, got 3']]],
  ['a targeting segment that is not stored', { targeting: ['stalled-onbording'] }, [['targeting[0]', 'no stored segment "stalled-onbording"; did you mean "stalled-onboarding"?']]],
  ['a breakdown segment listed twice', { segments: ['power-users', 'power-users'] }, [['segments[1]', 'segment "power-users" is listed twice']]],
  ['variants and factors together', { factors: { a: ['x', 'y'] } }, [['factors', expect.stringContaining('give either variants or factors, not both') as unknown as string]]],
  ['neither variants nor factors', { variants: undefined }, [['variants', expect.stringContaining('required: expected a list of at least two variants') as unknown as string]]],
  ['one variant', { variants: [{ key: 'control' }] }, [['variants', expect.stringContaining('expected a list of at least two variants') as unknown as string]]],
  ['a repeated variant key', { variants: [{ key: 'a' }, { key: 'a' }] }, [['variants[1].key', 'variant "a" is already defined at variants[0].key; variant keys are unique']]],
  ['a variant key with a dot', { variants: [{ key: 'a' }, { key: 'b.c' }] }, [['variants[1].key', expect.stringContaining('expected a variant key') as unknown as string]]],
  ['a zero weight and an infinite one', { variants: [{ key: 'a', weight: 0 }, { key: 'b', weight: Infinity }] }, [['variants[0].weight', 'expected a positive weight, got 0'], ['variants[1].weight', 'expected a positive weight, got Infinity']]],
  ['an unknown key in a variant', { variants: [{ key: 'a', wieght: 2 }, { key: 'b' }] }, [['variants[0].wieght', 'unknown key (did you mean weight?); expected one of key, weight']]],
  ['weights with variants', { weights: { a: 1 } }, [['weights', 'weights: is for factorial designs; with variants, give each variant its weight']]],
  ['a factor with one level', { variants: undefined, factors: { checklist: ['on'] } }, [['factors.checklist', 'expected a list of at least two levels (the first is the baseline), got ["on"]']]],
  ['a repeated level', { variants: undefined, factors: { checklist: ['on', 'on'] } }, [['factors.checklist[1]', 'level "on" is given twice; levels of a factor are unique']]],
  ['a weight for a variant the factors do not make', { variants: undefined, factors: { c: ['off', 'on'] }, weights: { off: 1, onn: 1 } }, [['weights.onn', 'no variant "onn" in the cross product of the factors (did you mean on?); variants are off and on']]],
  ['weights missing a variant', { variants: undefined, factors: { c: ['off', 'on'] }, weights: { off: 1 } }, [['weights', 'give a weight to every variant, or leave weights out for equal weights; missing "on"']]],
  ['coverage 0 and above 1', { coverage: 0 }, [['coverage', 'expected a share in (0, 1], got 0']]],
  ['coverage above 1', { coverage: 1.5 }, [['coverage', 'expected a share in (0, 1], got 1.5']]],
  ['a seed with a colon', { seed: 'a:b' }, [['seed', 'expected a seed: 1 to 128 letters, digits, ".", "_" or "-", got "a:b"']]],
  ['hash version 2', { hash_version: 2 }, [['hash_version', 'expected hash version 1 (the only one this Strata knows), got 2']]],
  ['no start', { start: undefined }, [['start', 'required: expected an ISO-8601 date or instant (2026-10-01, 2026-10-01T09:00:00Z)']]],
  ['an impossible date', { start: '2026-02-30' }, [['start', expect.stringContaining('expected an ISO-8601 date or instant') as unknown as string]]],
  ['stop before start', { stop: '2026-09-30' }, [['stop', 'expected stop after start ("2026-10-01"), got "2026-09-30"']]],
  ['stop equal to start', { stop: '2026-10-01T00:00:00Z' }, [['stop', 'expected stop after start ("2026-10-01"), got "2026-10-01T00:00:00Z"']]],
  ['an unknown exposure source', { exposure: 'events' }, [['exposure', 'expected one of event, assignment (did you mean event?), got "events"']]],
  ['no metrics', { metrics: undefined }, [['metrics', expect.stringContaining('required: expected {primary: METRIC') as unknown as string]]],
  ['no primary metric', { metrics: { secondary: ['activated'] } }, [['metrics.primary', 'required: expected a metric key from definitions, or an inline metric {key, type, ...}']]],
  ['a primary metric that is not defined', { metrics: { primary: 'activate' } }, [['metrics.primary', 'no metric "activate" in definitions (did you mean activated?); defined: activated']]],
  ['a metric used twice', { metrics: { primary: 'activated', secondary: ['activated'] } }, [['metrics.secondary[0]', 'metric "activated" is already used at metrics.primary; each metric appears once among primary, secondary and guardrails']]],
  ['an inline metric without a key', { metrics: { primary: { type: 'count', event: '*' } } }, [['metrics.primary.key', expect.stringContaining('required: expected a metric key') as unknown as string]]],
  ['an inline metric shadowing a definition', { metrics: { primary: { key: 'activated', type: 'count', event: '*' } } }, [['metrics.primary.key', expect.stringContaining('metric "activated" is also defined under definitions') as unknown as string]]],
  ['a guardrail without max_degradation', { metrics: { primary: 'activated', guardrails: [{ metric: 'x' }] }, definitions: { activated: { type: 'conversion', event: 'core_task_completed' }, x: { type: 'count', event: '*' } } }, [['metrics.guardrails[0].max_degradation', expect.stringContaining('required: expected the largest tolerated degradation') as unknown as string]]],
  ['a guardrail degradation of 1', { metrics: { primary: 'activated', guardrails: [{ metric: 'x', max_degradation: 1 }] }, definitions: { activated: { type: 'conversion', event: 'core_task_completed' }, x: { type: 'count', event: '*' } } }, [['metrics.guardrails[0].max_degradation', 'expected a fraction in [0, 1), such as 0.02 for 2% worse, got 1']]],
  ['a metric key that breaks the pattern', { definitions: { activated: { type: 'conversion', event: 'core_task_completed' }, 'Bad Key': { type: 'count', event: '*' } } }, [['definitions["Bad Key"]', expect.stringContaining('expected a metric key') as unknown as string]]],
  ['a metric without a type', { definitions: { activated: { event: 'core_task_completed' } } }, [['definitions.activated.type', 'required: expected one of conversion, count, sum, mean, retention, ratio']]],
  ['an unknown metric type', { definitions: { activated: { type: 'conversions', event: 'core_task_completed' } } }, [['definitions.activated.type', 'expected one of conversion, count, sum, mean, retention, ratio (did you mean conversion?), got "conversions"']]],
  ['an undeclared event', { definitions: { activated: { type: 'conversion', event: 'core_task_complete' } } }, [['definitions.activated.event', 'event "core_task_complete" is not declared in the tracking plan (did you mean "core_task_completed"?)']]],
  ['any event for a conversion', { definitions: { activated: { type: 'conversion', event: '*' } } }, [['definitions.activated.event', expect.stringContaining('a conversion metric needs one event, not "*"') as unknown as string]]],
  ['a property on a conversion', { definitions: { activated: { type: 'conversion', event: 'purchase', property: 'amount' } } }, [['definitions.activated.property', 'a conversion metric counts users who did the event; remove property (type: sum totals a property per user)']]],
  ['a property on a retention metric', { definitions: { activated: { type: 'retention', event: '*', day: 1, property: 'amount' } } }, [['definitions.activated.property', 'a retention metric counts active users; remove property (type: sum totals a property per user)']]],
  ['a sum without a property', { definitions: { activated: { type: 'sum', event: 'purchase' } } }, [['definitions.activated.property', 'required: a sum metric needs a number property of the event']]],
  ['a sum of a string property', { definitions: { activated: { type: 'sum', event: 'purchase', property: 'currency' } } }, [['definitions.activated.property', 'sum needs a number property; property "currency" is declared string']]],
  ['a mean of a property the event lacks', { definitions: { activated: { type: 'mean', event: 'purchase', property: 'duration_s' } } }, [['definitions.activated.property', expect.stringContaining('"duration_s"') as unknown as string]]],
  ['a where filter with a wrongly typed literal', { definitions: { activated: { type: 'conversion', event: 'purchase', where: [{ property: 'amount', gt: 'ten' }] } } }, [['definitions.activated.where[0].gt', expect.stringContaining('number') as unknown as string]]],
  ['a where filter on an undeclared property', { definitions: { activated: { type: 'count', event: 'purchase', where: [{ property: 'amont', gt: 1 }] } } }, [['definitions.activated.where[0].property', expect.stringContaining('"amont"') as unknown as string]]],
  ['a zero within and a bad covariate', { definitions: { activated: { type: 'conversion', event: 'purchase', within: '0d', covariate: '7 days' } } }, [['definitions.activated.within', expect.stringContaining('expected a positive duration') as unknown as string], ['definitions.activated.covariate', expect.stringContaining('expected a positive duration') as unknown as string]]],
  ['a window over the cap', { definitions: { activated: { type: 'conversion', event: 'purchase', within: '40000d' } } }, [['definitions.activated.within', 'expected a duration of at most 36500d (about 100 years), got "40000d"']]],
  ['a non-boolean inverse', { definitions: { activated: { type: 'conversion', event: 'purchase', inverse: 'yes' } } }, [['definitions.activated.inverse', 'expected true or false, got "yes"']]],
  ['retention without a day', { definitions: { activated: { type: 'retention', event: '*' } } }, [['definitions.activated.day', expect.stringContaining('required: expected the day after exposure') as unknown as string]]],
  ['retention on a fractional day', { definitions: { activated: { type: 'retention', event: '*', day: 1.5 } } }, [['definitions.activated.day', 'expected a whole number of days >= 0, got 1.5']]],
  ['retention with within', { definitions: { activated: { type: 'retention', event: '*', day: 1, within: '7d' } } }, [['definitions.activated.within', 'unknown key for a retention metric; expected one of type, name, inverse, covariate, event, where, day']]],
  ['a ratio without a denominator', { definitions: { activated: { type: 'ratio', numerator: { event: 'purchase', property: 'amount' } } } }, [['definitions.activated.denominator', expect.stringContaining('required: expected {event: E') as unknown as string]]],
  ['a ratio side with a string property', { definitions: { activated: { type: 'ratio', numerator: { event: 'purchase', property: 'currency' }, denominator: { event: 'purchase' } } } }, [['definitions.activated.numerator.property', 'sum needs a number property; property "currency" is declared string']]],
  ['a ratio with an event at the top', { definitions: { activated: { type: 'ratio', event: 'purchase', numerator: { event: 'purchase' }, denominator: { event: '*' } } } }, [['definitions.activated.event', expect.stringContaining('unknown key for a ratio metric') as unknown as string]]],
  ['mde 0, alpha above 0.5, power 1', { mde: 0, alpha: 0.6, power: 1 }, [['mde', 'expected a relative effect in (0, 1), such as 0.05 for 5%, got 0'], ['alpha', 'expected a significance level in (0, 0.5], got 0.6'], ['power', 'expected a power in (0, 1), such as 0.8, got 1']]],
  ['unknown method, sides and difference', { method: 'bayes', sides: 'both', difference: 'ratio' }, [['method', 'expected one of frequentist, bayesian, sequential, got "bayes"'], ['sides', 'expected one of two, greater, lesser, got "both"'], ['difference', 'expected one of relative, absolute, got "ratio"']]],
  ['sequential tuning 0', { sequential_tuning: 0 }, [['sequential_tuning', 'expected a positive number of users (N*), got 0']]],
  ['a prior with variance 0', { prior: { mean: 0, variance: 0 } }, [['prior.variance', 'expected a positive variance, got 0']]],
  ['a prior without variance', { prior: { mean: 0.1 } }, [['prior.variance', 'required: expected a positive variance, such as 0.09']]],
  ['a bandit floor above 1/variants', { bandit: { min_weight: 0.6 } }, [['bandit.min_weight', 'expected a weight floor per arm in [0, 1/2], got 0.6']]],
];

describe('validateExperiment: every rule, with its path', () => {
  it.each(CASES)('%s', (_what, change, expected) => {
    const raw = { ...base(), ...change };
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete raw[k];
    expect(details(raw)).toEqual(expected);
  });

  it('says what to add to strata.yaml when the plan lacks $exposure', () => {
    expect(details(base(), planWithoutExposure)).toEqual([
      [
        'exposure',
        'exposure: event reads $exposure events, but the tracking plan does not declare $exposure; add to strata.yaml under plan.events:  "$exposure": {properties: {experiment: string, variant: string}}  (or set exposure: assignment to derive exposures from assignment)',
      ],
    ]);
    const wrongType = parsePlan({ events: { $exposure: { properties: { experiment: 'string', variant: 'number' } }, core_task_completed: {} } });
    expect(details(base(), wrongType)).toEqual([['exposure', expect.stringContaining('needs the string property "variant" on $exposure, but the plan declares it number')]]);
  });

  it('collects every error of a document in one throw, naming the experiment', () => {
    const e = failure({ ...base(), coverage: 2, alpha: 0, metrics: { primary: 'nope' } });
    expect(e.code).toBe('EXPERIMENT_INVALID');
    expect(e.message).toBe('experiment "onboarding-checklist" is invalid (3 errors)');
    expect(e.details.map((d) => d.path)).toEqual(['coverage', 'metrics.primary', 'alpha']);
  });

  it('rejects what is not a mapping', () => {
    expect(details([base()])).toEqual([['', expect.stringContaining('expected an experiment definition: a mapping')]]);
  });
});

describe('parseExperimentText and validateExperimentText: files and lines', () => {
  const YAML = `key: onboarding-checklist
name: Checklist
hypothesis: Stalled users finish more often.
variants:
  - {key: control}
  - {key: checklist, weight: 0}
start: 2026-10-01
metrics:
  primary: activated
  guardrails:
    - metric: activated2
      max_degradation: 0.02
definitions:
  activated:
    type: conversion
    event: core_task_completed
    within: 7 days
`;

  it('names the file, the line and the path of each error', () => {
    let error: StrataError | undefined;
    try {
      validateExperimentText(YAML, 'experiments/a.yaml', plan, context);
    } catch (e) {
      error = e as StrataError;
    }
    expect(error?.code).toBe('EXPERIMENT_INVALID');
    expect(error?.details.map((d) => [d.path, d.message])).toEqual([
      ['experiments/a.yaml:6 variants[1].weight', 'expected a positive weight, got 0'],
      ['experiments/a.yaml:17 definitions.activated.within', expect.stringContaining('expected a positive duration')],
      ['experiments/a.yaml:11 metrics.guardrails[0].metric', 'no metric "activated2" in definitions (did you mean activated?); defined: activated'],
    ]);
  });

  it('numbers the definitions of a list file and points at their lines', () => {
    const list = `- ${JSON.stringify(base())}\n- ${JSON.stringify({ ...base(), key: 'second', coverage: 3 })}\n`;
    let error: StrataError | undefined;
    try {
      validateExperimentText(list, 'list.yaml', plan, context);
    } catch (e) {
      error = e as StrataError;
    }
    expect(error?.details.map((d) => d.path)).toEqual(['list.yaml:2 [1].coverage']);
    expect(validateExperimentText(`- ${JSON.stringify(base())}\n`, 'one.yaml', plan, context)).toHaveLength(1);
  });

  it('reads JSON and reports its syntax errors at line and column', () => {
    const json = JSON.stringify(base(), null, 2);
    expect(validateExperimentText(json, 'a.json', plan, context)[0]!.definition.key).toBe('onboarding-checklist');
    expect(() => parseExperimentText('{\n  "key": "a"\n  "name": "b"\n}', 'a.json')).toThrow(
      expect.objectContaining({ code: 'EXPERIMENT_INVALID', details: [{ path: 'a.json:3:3', message: "JSON syntax error: Expected ',' or '}' after property value" }] }),
    );
  });

  it('reports YAML syntax errors and empty files', () => {
    expect(() => parseExperimentText('key: a\nname: b\nkey: c\n', 'a.yaml')).toThrow(
      expect.objectContaining({ code: 'EXPERIMENT_INVALID', details: [expect.objectContaining({ path: 'a.yaml:3:1', message: expect.stringContaining('YAML syntax error') })] }),
    );
    expect(() => parseExperimentText('# nothing\n', 'e.yaml')).toThrow(
      expect.objectContaining({ details: [{ path: 'e.yaml', message: 'the file holds no definition; expected a mapping with key, name, hypothesis, variants, start and metrics' }] }),
    );
  });

  it('keeps dates as text (YAML 1.2 core schema) and the document as written', () => {
    const fixed = YAML.replace('weight: 0', 'weight: 2').replace('7 days', '7d').replace('activated2', 'activated');
    const [item] = validateExperimentText(fixed.replace('  guardrails:\n    - metric: activated\n      max_degradation: 0.02\n', ''), 'a.yaml', plan, context);
    expect(item!.document.start).toBe('2026-10-01');
    expect(item!.document.variants).toEqual([{ key: 'control' }, { key: 'checklist', weight: 2 }]);
    expect(item!.definition.variants.map((v) => v.weight)).toEqual([1 / 3, 2 / 3]);
  });
});

describe('canonicalExperimentJson and experimentDefinitionHash', () => {
  it('gives YAML and JSON spellings with any key order the same text and hash', () => {
    const yaml = `metrics: {primary: activated}
definitions:
  activated: {within: 7d, event: core_task_completed, type: conversion}
start: 2026-10-01
variants: [{weight: 1, key: control}, {key: checklist}]
hypothesis: H
name: N
key: k
`;
    const json = '{"key":"k","name":"N","hypothesis":"H","variants":[{"key":"control","weight":1},{"key":"checklist"}],"start":"2026-10-01","metrics":{"primary":"activated"},"definitions":{"activated":{"type":"conversion","event":"core_task_completed","within":"7d"}}}';
    const a = parseExperimentText(yaml, 'a.yaml').value;
    const b = parseExperimentText(json, 'b.json').value;
    expect(canonicalExperimentJson(a)).toBe(
      '{"key":"k","name":"N","hypothesis":"H","variants":[{"key":"control","weight":1},{"key":"checklist"}],"start":"2026-10-01","metrics":{"primary":"activated"},"definitions":{"activated":{"event":"core_task_completed","type":"conversion","within":"7d"}}}',
    );
    expect(canonicalExperimentJson(b)).toBe(canonicalExperimentJson(a));
    // Oracle: GNU coreutils, printf '%s' '<the canonical text above>' | sha256sum
    expect(experimentDefinitionHash(a)).toBe('05c8daf086a5a993bb4a80c7e7c6dacc9f8ccf27b285af1be213162d0df750d5');
    expect(experimentDefinitionHash(b)).toBe(experimentDefinitionHash(a));
  });

  it('keeps the order of variants and factors, which orders the variants', () => {
    const one = { ...base(), variants: undefined, factors: { a: ['x', 'y'], b: ['u', 'v'] } };
    const two = { ...base(), variants: undefined, factors: { b: ['u', 'v'], a: ['x', 'y'] } };
    expect(experimentDefinitionHash(one)).not.toBe(experimentDefinitionHash(two));
    const swapped = { ...base(), variants: [{ key: 'checklist' }, { key: 'control' }] };
    expect(experimentDefinitionHash(swapped)).not.toBe(experimentDefinitionHash(base()));
    expect(experimentDefinitionHash({ ...base(), owner: undefined })).toBe(experimentDefinitionHash(base()));
  });
});

describe('properties (fast-check)', () => {
  const numRuns = process.env.CI ? 500 : 100;

  /** The same plain data with every mapping's keys in another order (lists untouched). */
  function shuffled(value: unknown, rand: () => number): unknown {
    if (Array.isArray(value)) return value.map((v) => shuffled(v, rand));
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value).sort(() => rand() - 0.5);
    return Object.fromEntries(entries.map(([k, v]) => [k, shuffled(v, rand)]));
  }

  it('normalizes any positive weights to sum 1, keeping their ratios', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 8 }), (weights) => {
        const raw = { ...base(), variants: weights.map((weight, i) => ({ key: `v${i}`, weight })) };
        const variants = validateExperiment(raw, plan, context).variants;
        const total = weights.reduce((a, b) => a + b, 0);
        expect(Math.abs(variants.reduce((a, v) => a + v.weight, 0) - 1)).toBeLessThan(1e-12);
        variants.forEach((v, i) => expect(Math.abs(v.weight - weights[i]! / total)).toBeLessThanOrEqual(1e-15 * Math.max(1, weights[i]! / total)));
      }),
      { numRuns },
    );
  });

  it('gives every key order of a document the same canonical text (except the order of factors)', () => {
    const doc = {
      ...base(),
      variants: undefined,
      factors: { checklist: ['off', 'on'], reminder: ['none', 'email'] },
      weights: { 'off.none': 2, 'off.email': 1, 'on.none': 1, 'on.email': 1 },
      prior: { variance: 0.09, mean: 0 },
      metrics: { guardrails: [{ max_degradation: 0.02, metric: 'activated' }], primary: { key: 'p', type: 'count', event: '*', where: [{ property: 'amount', gt: 1 }] } },
    };
    delete (doc as Record<string, unknown>).variants;
    const reference = canonicalExperimentJson(doc);
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        let state = seed;
        const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) | 0) >>> 0) / 2 ** 32;
        const other = shuffled(doc, rand) as Record<string, unknown>;
        other.factors = doc.factors;
        expect(canonicalExperimentJson(other)).toBe(reference);
      }),
      { numRuns },
    );
  });
});
