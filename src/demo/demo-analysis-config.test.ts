/**
 * The analysis sections the demo appends to its strata.yaml: they read back through the
 * workspace loader as the settings the demo's analyses rely on, keep their comments, and a
 * mistake in them is reported with its strata.yaml line (the oracle: the line number of
 * the mistaken key in the text itself).
 */
import { describe, expect, it } from 'vitest';
import { createConfig, parseConfigText, replacePlanInText, strataYamlTemplate } from '../config/index.js';
import { StrataError } from '../errors/errors.js';
import { DEMO_ANALYSIS_YAML, withDemoAnalysis } from './demo-analysis-config.js';
import { demoPlan } from './demo-plan.js';

const text = withDemoAnalysis(replacePlanInText(strataYamlTemplate(), demoPlan()));

function read(yaml: string) {
  const { doc, locate } = parseConfigText(yaml, '/ws/strata.yaml');
  return createConfig({ workspaceDir: '/ws', document: doc.toJS(), locate });
}

describe('the demo strata.yaml analysis sections', () => {
  it('read back as the lifecycle model, key moments and purchase the demo analyses use', () => {
    const config = read(text);
    expect(config.lifecycle.unavailable).toEqual([]);
    expect(config.lifecycle.stages.map((s) => s.key)).toEqual(['dormant', 'resurrected', 'at_risk', 'advocate', 'engaged', 'activated', 'new']);
    expect(config.moments.moments.map((m) => m.key)).toEqual([
      'first-action-after-signup',
      'first-core-action',
      'activated-first-week',
      'monthly-regular',
      'monthly-power',
      'stalled-activation',
      'first-invite',
      'first-paid-purchase',
    ]);
    expect(config.rfm.purchase).toMatchObject({ event: 'purchase', value: 'amount' });
    // Written as a team would: the comments are in the file.
    expect(text).toContain('# Finishing a task is the value of the product');
    expect(text.endsWith(DEMO_ANALYSIS_YAML)).toBe(true);
  });

  it('reports a mistake with its strata.yaml line', () => {
    const broken = text.replace('core_action: core_task_completed', 'core_action: core_task_complete');
    const line = broken.split('\n').findIndex((l) => l.includes('core_action: core_task_complete')) + 1;
    let error: unknown;
    try {
      read(broken);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StrataError);
    expect((error as StrataError).details.map((d) => d.path)).toContain(`strata.yaml:${line} lifecycle.core_action`);
  });
});
