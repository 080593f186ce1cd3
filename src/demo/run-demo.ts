/**
 * `strata demo`: generate the synthetic product, ingest it through the real ingestion path
 * into a fresh workspace, add the example segments through the registry, compute them in
 * one batch, collect sizes, overlaps and what distinguishes each segment, then run the
 * behavioural analyses (lifecycle, funnel, retention, RFM, key moments) on the same data,
 * add and analyse the onboarding-checklist experiment (demo-experiment.ts), and finally
 * train and score the predictive models, compute the segments that read their scores, and
 * discover personas and the drivers of a first purchase (demo-models-run.ts); last, add the
 * targeting segments and audit them for fairness (demo-fairness-run.ts).
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { initWorkspace, loadConfig, openStore, type Config } from '../config/index.js';
import { StrataError } from '../errors/errors.js';
import { ingestFiles, type IngestReport } from '../ingest/index.js';
import { parseSegmentText, validateSegment, type SegmentDefinition } from '../segments/language/index.js';
import { SegmentRegistry, type ComputeResult, type OverlapResult, type SegmentReport } from '../segments/registry/index.js';
import { formatInstant } from '../time/time.js';
import { demoAssetDir, demoAssetFiles } from './demo-assets.js';
import { runDemoAnalyses, type DemoAnalyses } from './demo-analyses.js';
import { withDemoAnalysis } from './demo-analysis-config.js';
import { demoPlan } from './demo-plan.js';
import { runDemoExperiment, type DemoExperimentResult } from './demo-experiment-run.js';
import { runDemoModels, type DemoModelsResult } from './demo-models-run.js';
import { runDemoFairness, type DemoFairnessResult } from './demo-fairness-run.js';
import { writeDemoFiles, type GeneratedFiles } from './demo-files.js';
import { DEMO_DAYS, DEMO_END_MS, demoUserId } from './synthetic-product.js';

export const DEMO_DEFAULT_USERS = 20_000;
export const DEMO_DEFAULT_SEED = 42;
/** Left in a demo workspace so a later run may replace it, and nothing else. */
export const DEMO_MARKER = '.strata-demo';

export interface DemoOptions {
  /** The workspace folder to create (replaced if it holds an earlier demo). */
  readonly dir: string;
  readonly users?: number;
  readonly seed?: number;
  /** Report features kept per segment (strongest first); default 40. */
  readonly reportLimit?: number;
  readonly onProgress?: (p: { phase: string; done: number; total: number }) => void;
}

export interface DemoSegmentSummary {
  readonly key: string;
  readonly name: string;
  readonly objective: string;
  readonly rationale: string;
  readonly version: number;
  readonly size: number;
  readonly share: number | null;
}

export interface DemoResult {
  readonly workspaceDir: string;
  readonly configPath: string;
  readonly seed: number;
  readonly users: number;
  readonly days: number;
  /** The data ends here and every segment is evaluated as of it. */
  readonly asOf: string;
  readonly generated: Omit<GeneratedFiles, 'eventsFile' | 'profilesFile'>;
  readonly ingest: { readonly profiles: IngestReport; readonly events: IngestReport };
  readonly population: number;
  readonly segments: readonly DemoSegmentSummary[];
  readonly overlap: OverlapResult;
  readonly reports: readonly SegmentReport[];
  /** The behavioural analyses, all as of `asOf` (the flow from 28 days before it). */
  readonly analyses: DemoAnalyses;
  /** The onboarding-checklist experiment (src/demo/experiments), analysed as of `asOf`. */
  readonly experiment: DemoExperimentResult;
  /** Churn and propensity models, the segments reading their scores, personas and drivers (demo-models-run.ts). */
  readonly models: DemoModelsResult;
  /** The targeting segments (src/demo/targeting-segments), their consent check, and the fairness audit over them (demo-fairness-run.ts). */
  readonly fairness: DemoFairnessResult;
  /** A real user of the demo for `strata user` (a member of a lifecycle segment when it has one). */
  readonly exampleUser: string;
  readonly timings: {
    readonly generateMs: number;
    readonly ingestMs: number;
    readonly computeMs: number;
    readonly analyseMs: number;
    readonly analysesMs: number;
    readonly experimentMs: number;
    readonly modelsMs: number;
    readonly fairnessMs: number;
    readonly totalMs: number;
  };
}

/** The example segment definitions shipped with Strata (src/demo/segments, resolved from src or dist). */
export function demoSegmentsDir(): string {
  return demoAssetDir('segments');
}

export async function demoSegmentFiles(): Promise<string[]> {
  return demoAssetFiles('segments');
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = performance.now();
  const users = options.users ?? DEMO_DEFAULT_USERS;
  const seed = options.seed ?? DEMO_DEFAULT_SEED;
  if (!Number.isSafeInteger(users) || users < 1) throw new StrataError('INPUT_INVALID', `--users: expected a positive whole number, got ${users}`, [{ path: '--users', message: 'expected a positive whole number' }]);
  if (!Number.isSafeInteger(seed)) throw new StrataError('INPUT_INVALID', `--seed: expected a whole number, got ${seed}`, [{ path: '--seed', message: 'expected a whole number' }]);
  const progress = options.onProgress ?? (() => undefined);

  const dir = path.resolve(options.dir);
  await prepareFolder(dir);
  const config = await createDemoWorkspace(dir);
  const plan = config.plan;
  await writeFile(path.join(dir, DEMO_MARKER), `Created by \`strata demo\` (seed ${seed}, ${users} users). A later demo run may replace this folder.\n`);
  // The whole demo folder is generated output.
  await writeFile(path.join(dir, '.gitignore'), '*\n');

  // 1. Generate the product's export files.
  const genStart = performance.now();
  const eventsFile = path.join(config.dataDir, 'demo-events.jsonl');
  const profilesFile = path.join(config.dataDir, 'demo-profiles.jsonl');
  const generated = await writeDemoFiles({
    seed,
    users,
    endMs: DEMO_END_MS,
    days: DEMO_DAYS,
    eventsFile,
    profilesFile,
    onProgress: (done, total) => progress({ phase: 'generating', done, total }),
  });
  const generateMs = performance.now() - genStart;

  const store = await openStore(config);
  try {
    // 2. Ingest through the same path as `strata ingest`.
    const ingestStart = performance.now();
    const rejectsDir = config.rejectsDir;
    await mkdir(rejectsDir, { recursive: true });
    const profiles = await ingestFiles(store, {
      kind: 'profiles',
      files: [profilesFile],
      format: 'jsonl',
      plan,
      privacy: config.privacy,
      rejectsPath: path.join(rejectsDir, 'demo-profiles.jsonl'),
      onProgress: (p) => progress({ phase: `profiles ${p.phase}`, done: p.done, total: p.total }),
    });
    const events = await ingestFiles(store, {
      kind: 'events',
      files: [eventsFile],
      format: 'jsonl',
      plan,
      privacy: config.privacy,
      rejectsPath: path.join(rejectsDir, 'demo-events.jsonl'),
      onProgress: (p) => progress({ phase: `events ${p.phase}`, done: p.done, total: p.total }),
    });
    const ingestMs = performance.now() - ingestStart;
    await rm(eventsFile, { force: true });
    await rm(profilesFile, { force: true });

    // 3. The example segments, copied into the workspace and added through the registry.
    const computeStart = performance.now();
    const files = await demoSegmentFiles();
    const definitions: SegmentDefinition[] = [];
    const registry = new SegmentRegistry(store, plan, { lifecycle: config.lifecycle, consentDefaults: config.privacy.consentDefaults });
    const context = await registry.segmentContext();
    for (const file of files) {
      const target = path.join(config.segmentsDir, path.basename(file));
      await copyFile(file, target);
      definitions.push(validateSegment(parseSegmentText(await readFile(target, 'utf8'), path.relative(dir, target)), plan, context));
    }
    await registry.add(definitions);
    progress({ phase: 'computing', done: 0, total: 1 });
    const computed: ComputeResult[] = await registry.compute(
      definitions.map((d) => d.key),
      { asOfMs: DEMO_END_MS },
    );
    progress({ phase: 'computing', done: 1, total: 1 });
    const computeMs = performance.now() - computeStart;

    // 4. What the segments look like: overlaps and what distinguishes each.
    const analyseStart = performance.now();
    const overlap = await registry.overlap(
      definitions.map((d) => d.key),
      { asOfMs: DEMO_END_MS },
    );
    const reports: SegmentReport[] = [];
    for (const [i, def] of definitions.entries()) {
      progress({ phase: 'reporting', done: i, total: definitions.length });
      reports.push(await registry.report(def.key, { asOfMs: DEMO_END_MS, limit: options.reportLimit ?? 40, purchase: config.rfm.purchase }));
    }
    progress({ phase: 'reporting', done: definitions.length, total: definitions.length });
    const analyseMs = performance.now() - analyseStart;

    // 5. The behavioural analyses on the same data.
    const analysesStart = performance.now();
    const analyses = await runDemoAnalyses(store, registry, config, DEMO_END_MS, progress);
    const exampleUser = await pickExampleUser(registry, computed);
    const analysesMs = performance.now() - analysesStart;

    // 6. The onboarding experiment, whole and by device.
    const experimentStart = performance.now();
    progress({ phase: 'experiment', done: 0, total: 1 });
    const experiment = await runDemoExperiment(store, registry, config, DEMO_END_MS);
    progress({ phase: 'experiment', done: 1, total: 1 });
    const experimentMs = performance.now() - experimentStart;

    // 7. Models: churn risk and upgrade propensity trained, evaluated and scored; segments
    // that read the scores; personas and the drivers of a first purchase.
    const modelsStart = performance.now();
    const models = await runDemoModels(store, registry, config, DEMO_END_MS, progress);
    const modelsMs = performance.now() - modelsStart;

    // 8. Targeting segments (consent-filtered) and the fairness audit over them.
    const fairnessStart = performance.now();
    progress({ phase: 'fairness audit', done: 0, total: 1 });
    const fairness = await runDemoFairness(store, registry, config, DEMO_END_MS);
    progress({ phase: 'fairness audit', done: 1, total: 1 });
    const fairnessMs = performance.now() - fairnessStart;

    const population = computed[0]?.population ?? 0;
    const byKey = new Map(computed.map((c) => [c.key, c]));
    const segments = definitions.map((d) => {
      const c = byKey.get(d.key)!;
      return { key: d.key, name: d.name, objective: d.objective, rationale: d.rationale.trim(), version: c.version, size: c.size, share: c.population > 0 ? c.size / c.population : null };
    });
    const { eventsFile: _e, profilesFile: _p, ...generatedSummary } = generated;
    return {
      workspaceDir: dir,
      configPath: config.configPath,
      seed,
      users,
      days: DEMO_DAYS,
      asOf: formatInstant(DEMO_END_MS),
      generated: generatedSummary,
      ingest: { profiles, events },
      population,
      segments,
      overlap,
      reports,
      analyses,
      experiment,
      models,
      fairness,
      exampleUser,
      timings: {
        generateMs: Math.round(generateMs),
        ingestMs: Math.round(ingestMs),
        computeMs: Math.round(computeMs),
        analyseMs: Math.round(analyseMs),
        analysesMs: Math.round(analysesMs),
        experimentMs: Math.round(experimentMs),
        modelsMs: Math.round(modelsMs),
        fairnessMs: Math.round(fairnessMs),
        totalMs: Math.round(performance.now() - started),
      },
    };
  } finally {
    await store.close();
  }
}

/**
 * `strata init` with the demo plan, then the analysis sections appended to strata.yaml as
 * a team would write them, and the file read back through the workspace loader (so a
 * mistake in them would be reported with its strata.yaml line).
 */
async function createDemoWorkspace(dir: string): Promise<Config> {
  const { config: initial } = await initWorkspace(dir, { plan: demoPlan() });
  await writeFile(initial.configPath, withDemoAnalysis(await readFile(initial.configPath, 'utf8')));
  return loadConfig({ cwd: dir, workspace: dir });
}

/** Segments whose members make a telling `strata user` example, best first. */
const EXAMPLE_USER_SEGMENTS = ['at-risk-paying', 'lapsing-customers', 'power-users'];

/** The first member (by id) of the first non-empty example segment, else the first user. */
async function pickExampleUser(registry: SegmentRegistry, computed: readonly ComputeResult[]): Promise<string> {
  for (const key of EXAMPLE_USER_SEGMENTS) {
    const c = computed.find((x) => x.key === key);
    if (!c || c.size === 0) continue;
    for await (const id of registry.memberIds(c.snapshotId, 1)) return id;
  }
  return demoUserId(0);
}

/** Make `dir` ready for a fresh demo: absent, empty, or an earlier demo (replaced). */
async function prepareFolder(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const entries = await readdir(dir);
  if (entries.length === 0) return;
  if (entries.includes(DEMO_MARKER)) {
    await rm(dir, { recursive: true, force: true });
    return;
  }
  throw new StrataError('WORKSPACE_EXISTS', `${dir} is not empty and was not created by strata demo`, [
    { message: 'choose another folder with --dir, or remove this one' },
  ]);
}
