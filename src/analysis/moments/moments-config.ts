/**
 * SCAFFOLD (session 3 lead): the helper building the `moments:` section of strata.yaml replaces
 * this file (keeping `parseMomentsSection` and the type `MomentsConfig`, which config.ts uses).
 */
import type { TrackingPlan } from '../../schema/tracking-plan.js';

export interface MomentsConfig {
  readonly section: unknown;
}

/**
 * The `moments:` section of strata.yaml, checked against the plan. Problems go to `err` with
 * the JSON path of the setting (`moments.something`), which config.ts maps to a strata.yaml line.
 */
export function parseMomentsSection(value: unknown, _plan: TrackingPlan, _err: (jsonPath: string, message: string) => void): MomentsConfig {
  return { section: value };
}
