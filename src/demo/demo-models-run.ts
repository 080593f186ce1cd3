/**
 * `strata demo`'s predictive step, on the same workspace and as of the same instant:
 * - the models of src/demo/models (churn risk, upgrade propensity) trained on past
 *   snapshots and evaluated on a later holdout, as `strata model train` does, then scored
 *   as of the end of the data (`strata model score`);
 * - the segments of src/demo/model-segments, which read those scores
 *   (`{score: churn-risk, percentile: {gte: 90}}`), added and computed through the registry;
 * - personas (`strata discover personas`) and the early behaviours that go with a first
 *   purchase (`strata discover drivers --outcome purchase`).
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { demoAssetFiles } from './demo-assets.js';
import { discoverDrivers, discoverPersonas, type DriversResult, type PersonaReport } from '../models/discover/index.js';
import { scoreModel, trainModel, validateModelText, type ModelWorkspace, type ScoreResult, type TrainResult } from '../models/registry/index.js';
import { parseSegmentText, validateSegment } from '../segments/language/index.js';
import type { ComputeResult, SegmentRegistry } from '../segments/registry/index.js';
import type { EventStore } from '../store/event-store.js';
import { MS } from '../time/time.js';

/** The demo's settings for discovery, repeated by the "Explore it" hints. */
export const DEMO_DISCOVERY = {
  /** Drivers of a first purchase: behaviour in the first 14 days, purchase in the 28 after. */
  drivers: { outcome: 'purchase', firstDays: 14, withinDays: 28 },
  /** Personas: k by silhouette over 2..6, on a 3,000-user silhouette sample (the command's default is 10,000). */
  personas: { kMax: 6, sampleSize: 3_000 },
} as const;

export interface DemoModelSummary {
  readonly key: string;
  readonly name: string;
  readonly kind: string;
  readonly family: string;
  readonly version: number;
  readonly training: { readonly instants: number; readonly rows: number; readonly positives: number };
  readonly holdout: { readonly asOf: string; readonly rows: number; readonly baseRate: number; readonly auc: number | null; readonly logLoss: number; readonly topDecileLift: number | null } | null;
  readonly topFeatures: readonly string[];
  readonly scored: { readonly runId: number; readonly users: number; readonly mean: number | null };
}

export interface DemoModelsResult {
  readonly models: readonly DemoModelSummary[];
  /** The segments that read the scores, computed as of the end of the data. */
  readonly segments: readonly { readonly key: string; readonly name: string; readonly size: number; readonly population: number }[];
  readonly personas: PersonaReport;
  readonly drivers: DriversResult;
}


/** Copy a demo asset folder's YAML files into the workspace folder `target`; returns the copies. */
async function copyInto(source: 'models' | 'model-segments', target: string): Promise<string[]> {
  await mkdir(target, { recursive: true });
  const out: string[] = [];
  for (const file of await demoAssetFiles(source)) {
    const to = path.join(target, path.basename(file));
    await copyFile(file, to);
    out.push(to);
  }
  return out;
}

function summarize(trained: TrainResult, scored: ScoreResult): DemoModelSummary {
  const body = trained.stored.body;
  const holdout = body.evaluation.holdout;
  const lastHoldout = body.instants.holdout.at(-1);
  return {
    key: trained.stored.key,
    name: body.definition.name,
    kind: body.definition.kind,
    family: body.definition.family,
    version: trained.stored.version,
    training: { instants: body.instants.training.length, rows: body.evaluation.training.rows, positives: body.evaluation.training.positives },
    holdout:
      holdout === null
        ? null
        : {
            asOf: lastHoldout?.asOf ?? '',
            rows: holdout.rows,
            baseRate: holdout.baseRate,
            auc: holdout.auc,
            logLoss: holdout.logLoss,
            topDecileLift: holdout.lift?.[0]?.lift ?? null,
          },
    topFeatures: body.importance.slice(0, 5).map((f) => f.feature),
    scored: { runId: scored.run.runId, users: scored.users, mean: scored.distribution?.mean ?? null },
  };
}

export type DemoModelsProgress = (p: { phase: string; done: number; total: number }) => void;

export async function runDemoModels(store: EventStore, registry: SegmentRegistry, config: Config, asOfMs: number, progress: DemoModelsProgress): Promise<DemoModelsResult> {
  const ws: ModelWorkspace = { store, plan: config.plan, purchase: config.rfm.purchase, segments: registry };
  const modelFiles = await copyInto('models', path.join(config.workspaceDir, 'models'));
  const steps = modelFiles.length * 2 + 3;
  let done = 0;
  const step = (phase: string) => progress({ phase, done: done++, total: steps });

  const models: DemoModelSummary[] = [];
  for (const file of modelFiles) {
    const [validated] = validateModelText(await readFile(file, 'utf8'), path.relative(config.workspaceDir, file), config.plan, { segmentKeys: null });
    const def = validated!.definition;
    step(`training ${def.key}`);
    // The data ends at asOf; training instants and the holdout are placed from there.
    const trained = await trainModel(ws, def, { dataEndMs: asOfMs, document: validated!.document, nowMs: asOfMs });
    step(`scoring ${def.key}`);
    const scored = await scoreModel(ws, def.key, { asOfMs, nowMs: asOfMs });
    models.push(summarize(trained, scored));
  }

  // Segments that read the scores: validated against the store's model catalogue.
  step('score segments');
  const segmentFiles = await copyInto('model-segments', config.segmentsDir);
  const context = await registry.segmentContext();
  const definitions = [];
  for (const file of segmentFiles) {
    definitions.push(validateSegment(parseSegmentText(await readFile(file, 'utf8'), path.relative(config.workspaceDir, file)), config.plan, context));
  }
  await registry.add(definitions);
  const computed: ComputeResult[] = await registry.compute(
    definitions.map((d) => d.key),
    { asOfMs },
  );
  const segments = definitions.map((d, i) => ({ key: d.key, name: d.name, size: computed[i]!.size, population: computed[i]!.population }));

  step('personas');
  const { report: personas } = await discoverPersonas(store, config.plan, {
    asOfMs,
    purchase: config.rfm.purchase,
    kMax: DEMO_DISCOVERY.personas.kMax,
    sampleSize: DEMO_DISCOVERY.personas.sampleSize,
    nowMs: asOfMs,
  });

  step('drivers');
  const drivers = await discoverDrivers(store, config.plan, {
    outcome: { kind: 'conversion', event: DEMO_DISCOVERY.drivers.outcome },
    asOfMs,
    earlyMs: DEMO_DISCOVERY.drivers.firstDays * MS.d,
    withinMs: DEMO_DISCOVERY.drivers.withinDays * MS.d,
    purchase: config.rfm.purchase,
  });
  progress({ phase: 'drivers', done: steps, total: steps });
  return { models, segments, personas, drivers };
}
