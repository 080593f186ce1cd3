/**
 * SCAFFOLD (session 3 lead): the helper building the `lifecycle:` section of strata.yaml replaces
 * this file (keeping `parseLifecycleSection` and the type `LifecycleModel`, which config.ts uses).
 */
import type { TrackingPlan } from '../../schema/tracking-plan.js';

export interface LifecycleModel {
  readonly section: unknown;
}

/**
 * The `lifecycle:` section of strata.yaml, checked against the plan. Problems go to `err` with
 * the JSON path of the setting (`lifecycle.something`), which config.ts maps to a strata.yaml line.
 */
export function parseLifecycleSection(value: unknown, _plan: TrackingPlan, _err: (jsonPath: string, message: string) => void): LifecycleModel {
  return { section: value };
}
