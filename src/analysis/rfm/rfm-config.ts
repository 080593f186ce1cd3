/**
 * SCAFFOLD (session 3 lead): the helper building the `rfm:` section of strata.yaml replaces
 * this file (keeping `parseRfmSection` and the type `RfmConfig`, which config.ts uses).
 */
import type { TrackingPlan } from '../../schema/tracking-plan.js';

export interface RfmConfig {
  readonly section: unknown;
}

/**
 * The `rfm:` section of strata.yaml, checked against the plan. Problems go to `err` with
 * the JSON path of the setting (`rfm.something`), which config.ts maps to a strata.yaml line.
 */
export function parseRfmSection(value: unknown, _plan: TrackingPlan, _err: (jsonPath: string, message: string) => void): RfmConfig {
  return { section: value };
}
