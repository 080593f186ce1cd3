/**
 * A lifecycle model's stages as segment IR, against a tracking plan: each stage's own
 * condition (what the report's CASE tests in priority order) and each stage's exclusive
 * condition (what `{lifecycle: STAGE}` means: its own condition and none of the stages
 * ahead of it; the fallback: none of the stages).
 */
import { StrataError } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { freezeDeep, type Condition, type SegmentIR } from '../../segments/ir/nodes.js';
import { checkConditionDocument } from '../../segments/language/validate-segment.js';
import type { LifecycleModel } from './lifecycle-model.js';

export interface StageIR {
  readonly key: string;
  readonly name: string;
  readonly ir: SegmentIR;
}

/**
 * Each stage's exclusive IR, fallback included, in priority order: every user of the
 * population satisfies exactly one of them.
 * @example lifecycleStageIRs(config.lifecycle, config.plan).map((s) => s.key)
 * // ['dormant', 'resurrected', 'at_risk', 'engaged', 'new', 'unactivated']
 */
export function lifecycleStageIRs(model: LifecycleModel, plan: TrackingPlan): StageIR[] {
  const stages = [...model.stages, model.fallback];
  return stages.map((s) => ({ key: s.key, name: s.name, ir: { key: s.key, root: lower({ lifecycle: s.key }, model, plan, `lifecycle stage ${s.key}`, false) } }));
}

/** Each stage's own condition (not exclusive), in priority order, without the fallback. */
export function lifecycleStageConditions(model: LifecycleModel, plan: TrackingPlan): StageIR[] {
  return model.stages.map((s) => ({
    key: s.key,
    name: s.name,
    ir: { key: s.key, root: lower(s.match, model, plan, `lifecycle.stages.${s.key}.match`, true) },
  }));
}

function lower(doc: unknown, model: LifecycleModel, plan: TrackingPlan, path: string, stageCondition: boolean): Condition {
  const { condition, errors } = checkConditionDocument(doc, plan, path, { lifecycle: model, stageCondition });
  if (!condition) {
    throw new StrataError('CONFIG_INVALID', 'the lifecycle model does not fit the tracking plan', errors.length > 0 ? errors : [{ path, message: 'the stage condition could not be built' }]);
  }
  return freezeDeep(condition);
}
