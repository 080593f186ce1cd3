/**
 * Feature defaults that are rules rather than numbers: `$exposure` (what an experiment showed
 * the user) is not counted as behaviour unless asked for by name.
 */
import { describe, expect, it } from 'vitest';
import { resolveFeatureOptions } from '../src/models/features/index.js';
import { parsePlan } from '../src/schema/tracking-plan.js';

const plan = parsePlan({
  events: {
    signed_up: { properties: {} },
    $exposure: { properties: { experiment: 'string', variant: 'string' } },
    purchase: { properties: { amount: 'number' } },
  },
  traits: {},
});

describe('default feature events', () => {
  it('are the declared events in plan order without $exposure', () => {
    expect(resolveFeatureOptions(plan, { asOfMs: 0 }).events).toEqual(['signed_up', 'purchase']);
  });
  it('keep $exposure when it is named', () => {
    expect(resolveFeatureOptions(plan, { asOfMs: 0, events: ['$exposure', 'signed_up'] }).events).toEqual(['$exposure', 'signed_up']);
  });
});
