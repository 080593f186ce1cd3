/**
 * `strata demo`'s last step: the onboarding-checklist experiment (demo-experiment.ts says
 * how the product exposes users and where the effect lives) added from
 * src/demo/experiments through the experiment registry and analysed as
 * `strata experiment analyze` does, for the whole experiment and by device.
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { analyzeExperiment } from '../experiments/analyze/analyze.js';
import type { ExperimentReport } from '../experiments/analyze/report-types.js';
import { parseExperimentText } from '../experiments/design/definition.js';
import { ExperimentRegistry } from '../experiments/design/experiment-registry.js';
import { computeExperimentData } from '../experiments/metrics/index.js';
import type { SegmentRegistry } from '../segments/registry/index.js';
import type { EventStore } from '../store/event-store.js';
import { demoAssetDir, demoAssetFiles } from './demo-assets.js';
import { DEMO_EXPERIMENT } from './demo-experiment.js';

/** The demo's experiment definitions (src/demo/experiments, resolved from src or dist). */
export function demoExperimentsDir(): string {
  return demoAssetDir('experiments');
}

export async function demoExperimentFiles(): Promise<string[]> {
  return demoAssetFiles('experiments');
}

/** The breakdown the demo shows besides the whole experiment: the trait the effect depends on. */
export const DEMO_EXPERIMENT_BY = 'device';

export interface DemoExperimentResult {
  readonly key: string;
  /** The whole experiment. */
  readonly overall: ExperimentReport;
  /** Broken down by DEMO_EXPERIMENT_BY (as of the experiment's start). */
  readonly byDevice: ExperimentReport;
}

/**
 * Copy the demo's experiment into the workspace, add it through the registry, and analyse
 * it as `strata experiment analyze KEY --as-of ASOF [--by device]` does.
 */
export async function runDemoExperiment(store: EventStore, segments: SegmentRegistry, config: Config, asOfMs: number): Promise<DemoExperimentResult> {
  const experimentsDir = path.join(config.workspaceDir, 'experiments');
  await mkdir(experimentsDir, { recursive: true });
  const registry = new ExperimentRegistry(store, config.plan);
  const documents: unknown[] = [];
  for (const file of await demoExperimentFiles()) {
    const target = path.join(experimentsDir, path.basename(file));
    await copyFile(file, target);
    documents.push(parseExperimentText(await readFile(target, 'utf8'), path.relative(config.workspaceDir, target)).value);
  }
  await registry.add(documents);
  const stored = await registry.get(DEMO_EXPERIMENT.key);
  const base = { asOfMs, plan: config.plan, lifecycle: config.lifecycle };
  const overall = analyzeExperiment(stored.definition, await computeExperimentData(store, segments, stored, base));
  const byDevice = analyzeExperiment(stored.definition, await computeExperimentData(store, segments, stored, { ...base, by: DEMO_EXPERIMENT_BY }));
  return { key: DEMO_EXPERIMENT.key, overall, byDevice };
}
