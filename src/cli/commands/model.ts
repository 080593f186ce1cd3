/**
 * `strata model train|evaluate|score|show|list|explain`: churn and upgrade-propensity models.
 * The work is in src/models/registry; this shell parses options and renders.
 * `--at-version N` picks a stored version (`--version` is the program's own option).
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { StrataError, type ErrorDetail } from '../../errors/errors.js';
import type { Config } from '../../config/index.js';
import type { SegmentRegistry } from '../../segments/registry/segment-registry.js';
import type { EventStore } from '../../store/event-store.js';
import {
  MODEL_KEY_PATTERN,
  evaluateModel,
  explainModelUser,
  getModelVersion,
  listModels,
  scoreModel,
  showModel,
  trainModel,
  validateModel,
  validateModelText,
  type EvaluationRun,
  type ModelDetails,
  type ModelEvaluation,
  type ModelListItem,
  type ModelWorkspace,
  type ScoreResult,
  type SupervisedModelBody,
  type TrainResult,
  type UserExplanation,
  type ValidatedModel,
} from '../../models/registry/index.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatFields, formatPercent, formatTable } from '../table.js';
import { AS_OF_HELP, displayPath, parseAsOf } from './segment.js';
import { definitionFiles } from './segment-files.js';

const VERSION_HELP = 'use this stored version (default: the latest)';

export function registerModel(program: Command, io: CliIo): void {
  const model = program
    .command('model')
    .summary('churn risk and upgrade propensity models: train, evaluate, score, explain')
    .description(
      'Churn and propensity models are YAML or JSON documents (docs/models.md): a kind\n' +
        '(churn: no event at all in the horizon; propensity: the event in the horizon),\n' +
        'a horizon, a learner (logistic or gbt) and features. `train` fits on past\n' +
        'snapshots and evaluates on a later holdout; `score` stores every user\'s\n' +
        'probability as of an instant, read by {score: KEY, gte: P} conditions.',
    );

  model
    .command('train')
    .summary('validate, train on past snapshots, evaluate on the holdout, store a version')
    .description(
      'Train models from definition files (one definition or a list per file, or a\n' +
        'folder of them), or retrain a stored model by KEY. Instants: T_h = the latest\n' +
        'UTC midnight with T_h + horizon <= the data\'s end; the holdout instants end at\n' +
        'T_h; training instants are `every` apart, their labels ending by the first\n' +
        'holdout instant. Features read events before each T, labels [T, T + horizon).',
    )
    .argument('<FILE|DIR|KEY>', 'a definition file, a folder of them, or a stored model key')
    .option('--data-end <T>', 'the end of the data (default: the latest stored event)')
    .addHelpText('after', '\nExamples:\n  $ strata model train models/churn-risk.yaml\n  $ strata model train churn-risk --data-end 2026-10-01')
    .action(async (target: string, opts: { dataEnd?: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const progress = ctx.progress();
      try {
        const results = await ctx.withRegistry(async (segments, config, store) => {
          const ws = workspaceOf(store, config, segments);
          const dataEndMs = opts.dataEnd === undefined ? undefined : parseAsOf(opts.dataEnd, '--data-end', Date.now());
          const models = await modelsToTrain(io, ws, segments, target);
          const out: TrainSummary[] = [];
          for (const m of models) {
            const r = await trainModel(ws, m.definition, {
              document: m.document,
              actor: ctx.actor(),
              ...(dataEndMs !== undefined ? { dataEndMs } : {}),
              onProgress: (p) => progress.update({ phase: `${m.definition.key}: ${p.phase === 'snapshot' ? `snapshot ${p.done + 1}/${p.total}` : p.phase}`, done: p.phase === 'snapshot' ? p.done : p.total, total: p.total }),
            });
            out.push(trainSummary(r));
          }
          return out;
        });
        progress.stop();
        ctx.emit(results, (rs) => rs.map(renderTrained).join('\n\n'));
      } finally {
        progress.stop();
      }
    });

  model
    .command('evaluate')
    .summary('evaluate a stored version on a fresh labelled snapshot (monitoring)')
    .description(
      'Evaluate a stored version on the labelled snapshot at T (default: the latest\n' +
        'UTC midnight whose horizon has ended by the data\'s end): AUC, log loss, base\n' +
        'rate, calibration and lift by decile, as for the holdout at training.',
    )
    .argument('<KEY>', 'the model key')
    .option('--at-version <N>', VERSION_HELP)
    .option('--as-of <T>', 'the snapshot instant (default: the latest whose horizon has ended)')
    .option('--data-end <T>', 'the end of the data (default: the latest stored event)')
    .option('--out <FILE>', 'write user_id,label,score per user (CSV)')
    .addHelpText('after', '\nExamples:\n  $ strata model evaluate churn-risk\n  $ strata model evaluate churn-risk --as-of 2026-09-01 --out eval.csv')
    .action(async (key: string, opts: { atVersion?: string; asOf?: string; dataEnd?: string; out?: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const progress = ctx.progress();
      try {
        const run = await ctx.withRegistry(async (segments, config, store) => {
          progress.update({ phase: 'labelled snapshot', done: 0, total: 1 });
          return evaluateModel(workspaceOf(store, config, segments), key, {
            version: versionOption(opts.atVersion),
            ...(opts.asOf !== undefined ? { asOfMs: parseAsOf(opts.asOf, '--as-of', Date.now()) } : {}),
            ...(opts.dataEnd !== undefined ? { dataEndMs: parseAsOf(opts.dataEnd, '--data-end', Date.now()) } : {}),
          });
        });
        progress.stop();
        if (opts.out !== undefined) {
          const out = path.resolve(io.cwd, opts.out);
          await writePredictions(run, out);
          ctx.note(`Wrote ${formatCount(run.predictions.userIds.length)} users to ${displayPath(io, out)}`);
        }
        const { predictions: _p, ...summary } = run;
        ctx.emit(summary, renderEvaluation);
      } finally {
        progress.stop();
      }
    });

  model
    .command('score')
    .summary("score the model's population as of an instant and store the run")
    .description(
      "Score every user of the model's population as of T (features from events\n" +
        'before T) and store the run: per user the probability and its weak percentile\n' +
        'rank. Users outside the population get no score (a score condition is false\n' +
        'for them). Default T: 1 ms after the latest stored event.',
    )
    .argument('<KEY>', 'the model key')
    .option('--at-version <N>', VERSION_HELP)
    .option('--as-of <T>', 'score as of this instant: an ISO date or instant, now, or an offset like -7d (default: just after the latest event)')
    .addHelpText('after', '\nExamples:\n  $ strata model score churn-risk\n  $ strata model score churn-risk --as-of 2026-10-01 --json')
    .action(async (key: string, opts: { atVersion?: string; asOf?: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const progress = ctx.progress();
      try {
        const result = await ctx.withRegistry(async (segments, config, store) =>
          scoreModel(workspaceOf(store, config, segments), key, {
            version: versionOption(opts.atVersion),
            ...(opts.asOf !== undefined ? { asOfMs: parseAsOf(opts.asOf, '--as-of', Date.now()) } : {}),
            onProgress: (p) => progress.update({ phase: p.phase === 'write' ? 'writing scores' : `features, page ${p.pages}`, done: p.phase === 'write' ? 1 : p.pages, total: p.phase === 'write' ? 1 : p.pages + 1 }),
          }),
        );
        progress.stop();
        ctx.emit(result, renderScore);
      } finally {
        progress.stop();
      }
    });

  model
    .command('show')
    .summary('a version: definition, instants, holdout evaluation, features, runs')
    .argument('<KEY>', 'the model key')
    .option('--at-version <N>', VERSION_HELP)
    .addHelpText('after', '\nExamples:\n  $ strata model show churn-risk\n  $ strata model show churn-risk --at-version 1 --json')
    .action(async (key: string, opts: { atVersion?: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const details = await ctx.withStore((store) => showModel(store, key, versionOption(opts.atVersion)));
      ctx.emit(details, renderShow);
    });

  model
    .command('list')
    .summary('every stored model (churn, propensity, personas) with its last run')
    .addHelpText('after', '\nExamples:\n  $ strata model list\n  $ strata model list --json')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const items = await ctx.withStore((store) => listModels(store));
      ctx.emit(items, renderList);
    });

  model
    .command('explain')
    .summary("one user's score as of an instant and the top reasons behind it")
    .description(
      "The user's probability as of T from events before T, and the features that\n" +
        'move it most: contributions to the log-odds relative to the average training\n' +
        'user (logistic: exact; trees: path attributions). Default T: 1 ms after the\n' +
        'latest stored event.',
    )
    .argument('<KEY>', 'the model key')
    .argument('<USER_ID>', 'the user id, exactly as stored')
    .option('--as-of <T>', AS_OF_HELP.replace('(default: now)', '(default: just after the latest event)'))
    .option('--at-version <N>', VERSION_HELP)
    .option('--top <N>', 'how many reasons', '5')
    .addHelpText('after', '\nExamples:\n  $ strata model explain churn-risk u_1042\n  $ strata model explain churn-risk u_1042 --as-of 2026-10-01 --json')
    .action(async (key: string, userId: string, opts: { asOf?: string; atVersion?: string; top: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const top = Number(opts.top);
      if (!/^\d+$/.test(opts.top) || top < 1) throw new StrataError('INPUT_INVALID', `--top: expected a whole number >= 1, got ${JSON.stringify(opts.top)}`);
      const result = await ctx.withRegistry((segments, config, store) =>
        explainModelUser(workspaceOf(store, config, segments), key, userId, {
          version: versionOption(opts.atVersion),
          top,
          ...(opts.asOf !== undefined ? { asOfMs: parseAsOf(opts.asOf, '--as-of', Date.now()) } : {}),
        }),
      );
      ctx.emit(result, renderExplain);
    });
}

function workspaceOf(store: EventStore, config: Config, segments: SegmentRegistry): ModelWorkspace {
  return { store, plan: config.plan, purchase: config.rfm.purchase, segments };
}

function versionOption(text: string | undefined): number | null {
  if (text === undefined) return null;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new StrataError('INPUT_INVALID', `--at-version: expected a version number (1, 2, ...), got ${JSON.stringify(text)}`);
  return n;
}

/** The definitions named by FILE|DIR (all checked before any is trained), or a stored model's own. */
async function modelsToTrain(io: CliIo, ws: ModelWorkspace, segments: SegmentRegistry, target: string): Promise<ValidatedModel[]> {
  const context = { segmentKeys: new Set((await segments.list()).map((s) => s.key)) };
  const file = path.resolve(io.cwd, target);
  const exists = await stat(file).then(
    () => true,
    () => false,
  );
  if (!exists) {
    if (!MODEL_KEY_PATTERN.test(target)) throw new StrataError('FILE_NOT_FOUND', `no such file, folder or stored model: ${target}`, [{ path: target, message: 'expected a model definition file (.yaml, .yml, .json), a folder of them, or a stored model key' }]);
    const stored = await getModelVersion<SupervisedModelBody>(ws.store, target).catch((e: unknown) => {
      if (e instanceof StrataError && e.code === 'MODEL_NOT_FOUND') throw new StrataError('MODEL_NOT_FOUND', `${e.message}; and there is no file or folder named ${target}`);
      throw e;
    });
    if (stored.kind !== 'churn' && stored.kind !== 'propensity') throw new StrataError('MODEL_INVALID', `model "${target}" is a ${stored.kind} model; strata model train trains churn and propensity models`);
    return [{ document: stored.body.document, definition: validateModel(stored.body.document, ws.plan, context) }];
  }
  const files = await definitionFiles([file]);
  if (files.length === 0) throw new StrataError('FILE_NOT_FOUND', `no model definitions in ${displayPath(io, file)}`, [{ path: displayPath(io, file), message: 'expected .yaml, .yml or .json files' }]);
  const out: ValidatedModel[] = [];
  const errors: ErrorDetail[] = [];
  const seen = new Map<string, string>();
  for (const f of files) {
    const shown = displayPath(io, f);
    try {
      for (const m of validateModelText(await readFile(f, 'utf8'), shown, ws.plan, context)) {
        const prior = seen.get(m.definition.key);
        if (prior !== undefined) errors.push({ path: shown, message: `model "${m.definition.key}" is also defined in ${prior}; one definition per key` });
        seen.set(m.definition.key, shown);
        out.push(m);
      }
    } catch (e) {
      if (!(e instanceof StrataError)) throw e;
      errors.push(...(e.details.length > 0 ? e.details : [{ path: shown, message: e.message }]));
    }
  }
  if (errors.length > 0) throw new StrataError('MODEL_INVALID', `${errors.length} problem${errors.length === 1 ? '' : 's'} in the model definitions`, errors);
  return out;
}

interface TrainSummary {
  readonly key: string;
  readonly version: number;
  readonly kind: string;
  readonly family: string;
  readonly horizonDays: number;
  readonly dataEnd: string;
  readonly instants: SupervisedModelBody['instants'];
  readonly evaluation: SupervisedModelBody['evaluation'];
  readonly importance: SupervisedModelBody['importance'];
}

function trainSummary(r: TrainResult): TrainSummary {
  const b = r.stored.body;
  return {
    key: r.stored.key,
    version: r.stored.version,
    kind: r.stored.kind,
    family: b.definition.family,
    horizonDays: b.definition.horizonDays,
    dataEnd: b.dataEnd,
    instants: b.instants,
    evaluation: b.evaluation,
    importance: b.importance.slice(0, 10),
  };
}

const num = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined ? '-' : Number(x.toPrecision(digits)).toString());
const day = (iso: string): string => (iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso);

function metricsLine(e: ModelEvaluation): string {
  return `AUC ${num(e.auc)}, log loss ${num(e.logLoss)}, base rate ${formatPercent(e.baseRate)} (${formatCount(e.rows)} rows)`;
}

function renderTrained(t: TrainSummary): string {
  const i = t.instants;
  const fields: [string, string][] = [
    ['Model', `${t.key} v${t.version} (${t.kind}, ${t.family}, horizon ${t.horizonDays}d)`],
    ['Data end', t.dataEnd],
    ['Training instants', i.training.map((s) => day(s.asOf)).join(', ')],
    ['Holdout instants', i.holdout.map((s) => day(s.asOf)).join(', ') || '- (none could be built)'],
  ];
  for (const s of i.skipped) fields.push([`Skipped (${s.role})`, `${day(s.asOf)}: ${s.reason}`]);
  fields.push(['Training', metricsLine(t.evaluation.training)]);
  fields.push(['Holdout', t.evaluation.holdout ? metricsLine(t.evaluation.holdout) : '-']);
  fields.push(['Top features', t.importance.slice(0, 5).map((f) => `${f.feature} ${formatPercent(f.importance, 0)}`).join(', ')]);
  return formatFields(fields);
}

function evaluationTables(e: ModelEvaluation): string {
  const cal = formatTable(
    [{ header: 'bin', align: 'right' }, { header: 'users', align: 'right' }, { header: 'predicted', align: 'right' }, { header: 'observed', align: 'right' }],
    e.calibration.map((b) => [String(b.bin + 1), formatCount(b.count), formatPercent(b.meanPredicted), formatPercent(b.observedRate)]),
  );
  const lift = e.lift
    ? formatTable(
        [{ header: 'decile', align: 'right' }, { header: 'users', align: 'right' }, { header: 'scores', align: 'right' }, { header: 'rate', align: 'right' }, { header: 'lift', align: 'right' }, { header: 'cum. gains', align: 'right' }],
        e.lift.map((r) => [String(r.group), formatCount(r.count), `${num(r.minScore, 2)}-${num(r.maxScore, 2)}`, formatPercent(r.rate), num(r.lift), formatPercent(r.cumulativeGains)]),
      )
    : '(no positive label: no lift table)';
  return `Calibration (quantile bins):\n${cal}\n\nLift by decile of score:\n${lift}`;
}

function renderEvaluation(r: Omit<EvaluationRun, 'predictions'>): string {
  const head = formatFields([
    ['Model', `${r.key} v${r.version}`],
    ['Snapshot', `${r.asOf}, labels to ${r.horizonEnd}`],
    ['Metrics', metricsLine(r.evaluation)],
  ]);
  return `${head}\n\n${evaluationTables(r.evaluation)}`;
}

function renderScore(r: ScoreResult): string {
  const d = r.distribution;
  const fields: [string, string][] = [
    ['Model', `${r.key} v${r.version}`],
    ['Run', `${r.run.runId}, as of ${r.asOf}`],
    ['Users scored', formatCount(r.users)],
  ];
  if (d) {
    fields.push(['Mean score', num(d.mean)], ['Quantiles', `min ${num(d.min)}, p10 ${num(d.p10)}, median ${num(d.median)}, p90 ${num(d.p90)}, max ${num(d.max)}`]);
  }
  const head = formatFields(fields);
  if (!d) return head;
  const bands = formatTable(
    [{ header: 'score' }, { header: 'users', align: 'right' }, { header: 'share', align: 'right' }],
    d.bands.map((b) => [`${b.from.toFixed(1)}-${b.to.toFixed(1)}`, formatCount(b.users), formatPercent(b.users / r.users)]),
  );
  return `${head}\n\n${bands}`;
}

function renderShow(m: ModelDetails): string {
  const b = m.body;
  const def = b.definition;
  const fields: [string, string][] = [
    ['Model', `${m.key} v${m.version}: ${def.name}`],
    ['Kind', def.kind === 'churn' ? `churn: no event in the next ${def.horizonDays} days` : `propensity: ${def.event} in the next ${def.horizonDays} days`],
    ['Learner', `${def.family}${Object.keys(def.params).length > 0 ? ` ${JSON.stringify(def.params)}` : ''}`],
    ['Population', def.population ?? (def.kind === 'churn' ? 'users with an event in the 28 days before T' : `users without ${def.event} before T`)],
    ['Created', m.createdAt],
    ['Data end', b.dataEnd],
    ['Training instants', b.instants.training.map((s) => `${day(s.asOf)} (${formatCount(s.users)})`).join(', ')],
    ['Holdout instants', b.instants.holdout.map((s) => `${day(s.asOf)} (${formatCount(s.users)})`).join(', ') || '-'],
  ];
  if (def.description) fields.splice(1, 0, ['Description', def.description]);
  if (def.owner) fields.splice(1, 0, ['Owner', def.owner]);
  for (const s of b.instants.skipped) fields.push([`Skipped (${s.role})`, `${day(s.asOf)}: ${s.reason}`]);
  fields.push(['Training', metricsLine(b.evaluation.training)], ['Holdout', b.evaluation.holdout ? metricsLine(b.evaluation.holdout) : '-']);
  const parts = [formatFields(fields)];
  if (b.evaluation.holdout) parts.push(`Holdout ${evaluationTables(b.evaluation.holdout).replace(/^Calibration/, 'calibration')}`);
  parts.push(
    `Top features by importance:\n${formatTable(
      [{ header: 'feature' }, { header: 'importance', align: 'right' }],
      b.importance.slice(0, 10).map((f) => [f.feature, formatPercent(f.importance)]),
    )}`,
  );
  parts.push(`Versions:\n${formatTable([{ header: 'version', align: 'right' }, { header: 'created' }, { header: 'holdout AUC', align: 'right' }], m.versions.map((v) => [`v${v.version}`, v.createdAt, num(v.holdoutAuc)]))}`);
  parts.push(
    m.runs.length === 0
      ? `No scoring runs yet: strata model score ${m.key}`
      : `Scoring runs:\n${formatTable([{ header: 'run', align: 'right' }, { header: 'version', align: 'right' }, { header: 'as of' }, { header: 'users', align: 'right' }], m.runs.map((r) => [String(r.runId), `v${r.version}`, r.asOf, formatCount(r.users)]))}`,
  );
  return parts.join('\n\n');
}

function renderList(items: readonly ModelListItem[]): string {
  if (items.length === 0) return 'No models stored yet: strata model train FILE';
  return formatTable(
    [{ header: 'MODEL' }, { header: 'KIND' }, { header: 'VERSIONS', align: 'right' }, { header: 'LATEST' }, { header: 'AUC', align: 'right' }, { header: 'LAST RUN AS OF' }],
    items.map((m) => [m.key, m.kind, String(m.versions), m.latestCreatedAt.slice(0, 16).replace('T', ' '), num(m.holdoutAuc), m.lastRun ? `${m.lastRun.asOf} (v${m.lastRun.version})` : '-']),
  );
}

function renderExplain(e: UserExplanation): string {
  const fields: [string, string][] = [
    ['Model', `${e.key} v${e.version}`],
    ['User', `${e.userId} as of ${e.asOf}`],
  ];
  if (!e.inPopulation) fields.push(['Score', "- (not in the model's population as of this instant)"]);
  else fields.push(['Score', `${num(e.score)} (log-odds ${num(e.logOdds)}; reference ${num(e.baseLogOdds)})`]);
  if (e.stored) fields.push(['Stored run', `${e.stored.runId} as of ${e.stored.runAsOf}: ${e.stored.score === null ? 'no score' : `${num(e.stored.score)}, percentile ${num(e.stored.percentile)}`}`]);
  const head = formatFields(fields);
  if (e.reasons.length === 0) return head;
  const table = formatTable(
    [{ header: 'feature' }, { header: 'value', align: 'right' }, { header: 'effect', align: 'right' }],
    e.reasons.map((r) => [r.feature, num(r.value, 4), `${r.contribution >= 0 ? '+' : ''}${num(r.contribution)}`]),
  );
  return `${head}\n\nTop reasons (effect on the log-odds; + raises the score):\n${table}`;
}

async function writePredictions(run: EvaluationRun, out: string): Promise<void> {
  const p = run.predictions;
  const cell = (u: string) => (/[",\n\r]/.test(u) ? `"${u.replaceAll('"', '""')}"` : u);
  const lines = p.userIds.map((u, i) => `${cell(u)},${p.labels[i]},${p.scores[i]}`);
  try {
    await writeFile(out, `user_id,label,score\n${lines.join('\n')}\n`);
  } catch (e) {
    throw new StrataError('INPUT_INVALID', `cannot write ${out}: ${(e as Error).message}`, [{ path: '--out', message: 'expected a writable file path' }], { cause: e });
  }
}
