/**
 * `strata experiment`: experiment definitions (add, list, show), assignment, and the
 * analysis and statistics subcommands registered from their own files.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { StrataError, type ErrorDetail } from '../../errors/errors.js';
import {
  ExperimentRegistry,
  assignUser,
  coverageThreshold,
  validateExperimentText,
  variantBounds,
  type ExperimentAddResult,
  type ExperimentDefinition,
  type ExperimentListItem,
  type ExperimentVersionInfo,
  type MetricDefinition,
  type UserAssignment,
  type VariantBucketRange,
} from '../../experiments/design/index.js';
import { formatDuration, formatInstant } from '../../time/time.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatFields, formatPercent, formatTable } from '../table.js';
import { registerExperimentAnalyze } from './experiment-analyze.js';
import { registerExperimentStats } from './experiment-stats.js';
import { AS_OF_HELP, displayPath, parseAsOf, wrap } from './segment.js';
import { definitionFiles } from './segment-files.js';

export function registerExperiment(program: Command, io: CliIo): void {
  const experiment = program
    .command('experiment')
    .summary('design, assign and analyse experiments per segment')
    .description(
      'Experiments are YAML or JSON definitions (see docs/experiments.md): a\n' +
        'hypothesis, targeting segments, variants or factors, a schedule and metrics.\n' +
        '`add` stores an immutable version of each definition that changed; `assign`\n' +
        'shows where the hash puts a user; `analyze` reads the results.',
    );

  experiment
    .command('add')
    .summary('validate and store experiment definitions')
    .description(
      'Validate experiment definitions against the tracking plan and the stored\n' +
        'segments, and store them. FILE may be a definition file (.yaml, .yml, .json;\n' +
        'one definition, or a list of them) or a folder of them. A new version is\n' +
        'stored only when a definition changed. All files are checked before anything\n' +
        'is stored; errors name the file and line.',
    )
    .argument('<FILE...>', 'definition files or folders')
    .addHelpText('after', '\nExamples:\n  $ strata experiment add experiments/onboarding-checklist.yaml\n  $ strata experiment add experiments/')
    .action(async (files: string[], _opts: unknown, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const results = await ctx.withRegistry(async (_segments, config, store) => {
        const registry = new ExperimentRegistry(store, config.plan);
        const found = await experimentFiles(io, files);
        const context = await registry.context();
        const sources: { file: string; document: unknown }[] = [];
        const errors: ErrorDetail[] = [];
        const firstFile = new Map<string, string>();
        for (const file of found) {
          try {
            const items = validateExperimentText(await readFile(file, 'utf8'), displayPath(io, file), config.plan, context);
            for (const { definition } of items) {
              const prior = firstFile.get(definition.key);
              if (prior !== undefined) errors.push({ path: displayPath(io, file), message: `experiment ${JSON.stringify(definition.key)} is also defined in ${prior}; one definition per key` });
              else firstFile.set(definition.key, displayPath(io, file));
            }
            sources.push(...items.map((item) => ({ file, document: item.document as unknown })));
          } catch (e) {
            if (!(e instanceof StrataError)) throw e;
            errors.push(...(e.details.length > 0 ? e.details : [{ path: displayPath(io, file), message: e.message }]));
          }
        }
        if (errors.length > 0) {
          const fileCount = new Set(errors.map((d) => d.path?.split(/[: ]/)[0])).size;
          throw new StrataError('EXPERIMENT_INVALID', `${errors.length} problem${errors.length === 1 ? '' : 's'} in ${fileCount} experiment file${fileCount === 1 ? '' : 's'}`, errors);
        }
        const added = await registry.add(sources.map((s) => s.document), { actor: ctx.actor() });
        return added.map((r, i) => ({ ...r, file: displayPath(io, sources[i]!.file) }));
      });
      ctx.emit(results, (rs: readonly (ExperimentAddResult & { file: string })[]) =>
        formatTable(
          [{ header: 'EXPERIMENT' }, { header: 'VERSION', align: 'right' }, { header: 'STATUS' }, { header: 'FILE' }],
          rs.map((r) => [r.key, `v${r.version}`, r.status, r.file]),
        ),
      );
    });

  experiment
    .command('list')
    .summary('list the experiments with their version and status')
    .description(
      'List the stored experiments: key, name, status as of now (draft before start,\n' +
        'running, stopped at or after stop), current version, schedule and variants.',
    )
    .addHelpText('after', '\nExamples:\n  $ strata experiment list\n  $ strata experiment list --json')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const items = await ctx.withRegistry((_segments, config, store) => new ExperimentRegistry(store, config.plan).list());
      ctx.emit(items, renderList);
    });

  experiment
    .command('show')
    .summary('show an experiment: definition, buckets, metrics and versions')
    .description(
      'Show an experiment: hypothesis, targeting, variants with their weights and hash\n' +
        'bucket ranges, coverage, schedule, metrics, guardrails and analysis settings,\n' +
        'then every stored version.',
    )
    .argument('<KEY>', 'the experiment key')
    // --version is the program's own option (it is recognised after subcommands too).
    .option('--at-version <N>', 'show this stored version (default: the latest)')
    .addHelpText('after', '\nExamples:\n  $ strata experiment show onboarding-checklist\n  $ strata experiment show onboarding-checklist --at-version 1 --json')
    .action(async (key: string, opts: { atVersion?: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const version = opts.atVersion === undefined ? undefined : positiveWhole(opts.atVersion, '--at-version');
      const details = await ctx.withRegistry(async (_segments, config, store) => {
        const registry = new ExperimentRegistry(store, config.plan);
        const stored = await registry.get(key, version);
        return {
          key: stored.definition.key,
          version: stored.version,
          createdAt: formatInstant(stored.createdAtMs),
          definitionHash: stored.definitionHash,
          definition: stored.definition,
          buckets: bucketsOf(stored.definition),
          document: await registry.document(key, stored.version),
          versions: await registry.versions(key),
        };
      });
      ctx.emit(details, renderShow);
    });

  experiment
    .command('assign')
    .summary('where the hash puts a user, and whether they are in')
    .description(
      'Assign a user: the coverage and variant hash buckets, the variant, and whether\n' +
        'the user is in the experiment as of an instant. Not in: not-started (before\n' +
        'start), stopped (at or after stop), not-targeted (not in every targeting\n' +
        'segment, evaluated over the user\'s own events and profile; no snapshot is\n' +
        'written), or outside-coverage; the variant they would get is shown anyway.',
    )
    .argument('<KEY>', 'the experiment key')
    .argument('<USER_ID>', 'the user id, exactly as stored (case-sensitive)')
    .option('--as-of <T>', AS_OF_HELP)
    .option('--at-version <N>', 'use this stored version of the definition (default: the latest)')
    .addHelpText('after', '\nExamples:\n  $ strata experiment assign onboarding-checklist u_1042\n  $ strata experiment assign onboarding-checklist u_1042 --as-of 2026-10-15')
    .action(async (key: string, userId: string, opts: { asOf?: string; atVersion?: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : Date.now();
      const version = opts.atVersion === undefined ? undefined : positiveWhole(opts.atVersion, '--at-version');
      const result = await ctx.withRegistry((segments, config, store) =>
        assignUser({ experiments: new ExperimentRegistry(store, config.plan), segments, store, plan: config.plan }, key, userId, {
          asOfMs,
          ...(version !== undefined ? { version } : {}),
        }),
      );
      ctx.emit(result, renderAssignment);
    });

  registerExperimentAnalyze(experiment, io);
  registerExperimentStats(experiment, io);
}

/** The files named by the arguments (folders expanded); FILE_NOT_FOUND names a missing one. */
async function experimentFiles(io: CliIo, files: readonly string[]): Promise<string[]> {
  const inputs = files.map((f) => path.resolve(io.cwd, f));
  for (const input of inputs) {
    try {
      await stat(input);
    } catch {
      throw new StrataError('FILE_NOT_FOUND', `no such file or folder: ${displayPath(io, input)}`, [
        { path: displayPath(io, input), message: 'expected an experiment definition file (.yaml, .yml, .json) or a folder of them' },
      ]);
    }
  }
  const found = await definitionFiles(inputs);
  if (found.length === 0) {
    const shown = inputs.map((f) => displayPath(io, f)).join(', ');
    throw new StrataError('FILE_NOT_FOUND', `no experiment definitions in ${shown}`, [{ path: shown, message: 'expected .yaml, .yml or .json files' }]);
  }
  return found;
}

function positiveWhole(text: string, option: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new StrataError('INPUT_INVALID', `${option}: expected a version number (1, 2, ...), got ${JSON.stringify(text)}`);
  }
  return n;
}

interface VariantBuckets extends VariantBucketRange {
  readonly weight: number;
  readonly levels?: Readonly<Record<string, string>>;
}

interface ShowDetails {
  readonly key: string;
  readonly version: number;
  readonly createdAt: string;
  readonly definitionHash: string;
  readonly definition: ExperimentDefinition;
  readonly buckets: { readonly coverage: { readonly from: 0; readonly to: number }; readonly variants: readonly VariantBuckets[] };
  readonly document: unknown;
  readonly versions: readonly ExperimentVersionInfo[];
}

/** Coverage buckets [0, round(coverage · 10000)) are in; each variant takes its range of the variant buckets. */
function bucketsOf(def: ExperimentDefinition): ShowDetails['buckets'] {
  const bounds = variantBounds(def);
  return {
    coverage: { from: 0, to: coverageThreshold(def.coverage) },
    variants: def.variants.map((v, i) => ({ ...bounds[i]!, weight: v.weight, ...(v.levels ? { levels: v.levels } : {}) })),
  };
}

function renderList(xs: readonly ExperimentListItem[]): string {
  if (xs.length === 0) return 'No experiments yet. Add some with: strata experiment add FILE...';
  return formatTable(
    [{ header: 'EXPERIMENT' }, { header: 'NAME' }, { header: 'STATUS' }, { header: 'VERSION', align: 'right' }, { header: 'START' }, { header: 'STOP' }, { header: 'VARIANTS' }],
    xs.map((x) => [x.key, x.name, x.status, `v${x.version}`, day(x.start), day(x.stop), x.status === 'invalid' ? (x.problem ?? '') : x.variants.join(', ')]),
  );
}

/** An instant shown as its date when it is midnight UTC. */
function day(iso: string | null): string {
  if (iso === null) return '-';
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
}

function renderShow(d: ShowDetails): string {
  const def = d.definition;
  const head = formatFields([
    ['experiment', def.key],
    ['name', def.name],
    ['owner', def.owner ?? '-'],
    ['tags', def.tags.length > 0 ? def.tags.join(', ') : '-'],
    ['version', `v${d.version} (stored ${d.createdAt})`],
    ['targeting', def.targeting.length > 0 ? `members of ${def.targeting.join(' and ')}` : 'everyone'],
    ['segments', def.segments.length > 0 ? def.segments.join(', ') : '-'],
    ['schedule', `${day(formatInstant(def.startMs))} to ${def.stopMs === null ? '(open)' : day(formatInstant(def.stopMs))}`],
    ['exposure', def.exposure === 'event' ? 'event ($exposure events)' : 'assignment (targeted users as of start)'],
    ['coverage', `${formatPercent(def.coverage, 2)} (coverage buckets 0-${d.buckets.coverage.to - 1} of 0-9999)`],
    ['hash', `seed ${def.seed}, hash version ${def.hashVersion}`],
  ]);
  const hypothesis = `hypothesis:\n${indent(wrap(def.hypothesis.trim(), 76))}`;
  const factors = def.factors ? `\nfactors: ${def.factors.map((f) => `${f.key} [${f.levels.join(', ')}]`).join(' x ')}` : '';
  const variants = formatTable(
    [{ header: 'VARIANT' }, { header: 'WEIGHT', align: 'right' }, { header: 'BUCKETS' }],
    d.buckets.variants.map((v, i) => [`${v.key}${i === 0 ? ' (control)' : ''}`, formatPercent(v.weight, 2), v.to > v.from ? `${v.from}-${v.to - 1}` : '(none)']),
  );
  const metric = (m: MetricDefinition, role: string) => `  ${m.key} (${role})\n    ${describeMetric(m)}`;
  const metrics = [
    metric(def.primary, 'primary'),
    ...def.secondary.map((m) => metric(m, 'secondary')),
    ...def.guardrails.map((g) => metric(g.metric, `guardrail: at most ${formatPercent(g.maxDegradation, 1)} worse`)),
  ].join('\n');
  const settings = formatFields([
    ['method', def.method],
    ['sides', def.sides],
    ['difference', def.difference],
    ['alpha', String(def.alpha)],
    ['power', String(def.power)],
    ['mde', `${formatPercent(def.mde, 1)} (relative)`],
    ...(def.method === 'sequential' ? ([['sequential tuning', String(def.sequentialTuning)]] as const) : []),
    ...(def.prior ? ([['prior', `normal(mean ${def.prior.mean}, variance ${def.prior.variance}) on the relative effect`]] as const) : []),
    ...(def.bandit ? ([['bandit', `Thompson sampling, at least ${formatPercent(def.bandit.minWeight, 1)} per arm`]] as const) : []),
  ]);
  const versions = formatTable(
    [{ header: 'VERSION', align: 'right' }, { header: 'STORED' }, { header: 'HASH' }],
    [...d.versions].reverse().map((v) => [`v${v.version}`, v.createdAt, v.hash.slice(0, 12)]),
  );
  return `${head}\n${hypothesis}${factors}\n\nVariants\n${variants}\n\nMetrics\n${metrics}\n\nAnalysis\n${settings}\n\nVersions\n${versions}`;
}

/** One line per metric: what is measured per user, over which window. */
export function describeMetric(m: MetricDefinition): string {
  const filter = (where: readonly Readonly<Record<string, unknown>>[]) => (where.length > 0 ? ` where ${where.map(predicate).join(' and ')}` : '');
  const events = (e: string) => (e === '*' ? 'events (any)' : `${e} events`);
  const window = m.type === 'retention' ? '' : m.withinMs === null ? ' from exposure to as-of' : ` within ${days(m.withinMs)} of exposure`;
  let what: string;
  switch (m.type) {
    case 'conversion':
      what = `did ${m.measure.event}${filter(m.measure.where)}`;
      break;
    case 'count':
      what = `${events(m.measure.event)}${filter(m.measure.where)} per user`;
      break;
    case 'sum':
      what = `sum of ${m.measure.property} on ${m.measure.event}${filter(m.measure.where)} per user`;
      break;
    case 'mean':
      what = `mean ${m.measure.property} per ${m.measure.event} event${filter(m.measure.where)}`;
      break;
    case 'retention':
      what = `any of ${events(m.measure.event)}${filter(m.measure.where)} on day ${m.day} after exposure`;
      break;
    case 'ratio': {
      const side = (s: typeof m.numerator) => `${s.property === null ? events(s.event) : `sum of ${s.property} on ${s.event}`}${filter(s.where)}`;
      what = `(${side(m.numerator)}) / (${side(m.denominator)})`;
      break;
    }
  }
  const extras = [m.inverse ? 'lower is better' : '', m.covariateWindowMs !== null ? `CUPED over the ${days(m.covariateWindowMs)} before` : ''].filter(Boolean);
  return `${m.type}: ${what}${window}${extras.length > 0 ? ` (${extras.join('; ')})` : ''}`;
}

/** `amount > 0`, `plan in ["pro","team"]`: a where predicate as people read it. */
function predicate(p: Readonly<Record<string, unknown>>): string {
  const symbols: Readonly<Record<string, string>> = { eq: '=', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' };
  const parts = Object.entries(p)
    .filter(([k]) => k !== 'property')
    .map(([op, value]) => `${String(p.property)} ${symbols[op] ?? op} ${JSON.stringify(value)}`);
  return parts.join(' and ');
}

/** Whole days as `7d` (how definitions are usually written), other durations as time.ts formats them. */
function days(ms: number): string {
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : formatDuration(ms);
}

function renderAssignment(a: UserAssignment): string {
  const o = a.outcome;
  const range = (variant: string) => {
    const b = a.bounds.find((x) => x.key === variant);
    return b ? `${b.from}-${b.to - 1}` : '?';
  };
  const verdict = o.inExperiment
    ? `in the experiment: variant ${o.variant}`
    : `not in the experiment (${o.reason}${reasonText(a)}); would be ${o.wouldBe}`;
  const variant = o.inExperiment ? o.variant : o.wouldBe;
  const lines = [
    `${a.userId} in ${a.experiment} (v${a.version}) as of ${a.asOf}: ${verdict}`,
    `  coverage bucket ${o.coverageBucket}, variant bucket ${o.variantBucket} (${variant} takes ${range(variant)})`,
  ];
  if (a.targeting.length > 0) {
    lines.push(`  targeting: ${a.targeting.map((t) => `${t.segment} ${t.member ? 'member' : 'not a member'}`).join(', ')}${a.userFound === false ? ' (no such user in the store)' : ''}`);
  }
  return lines.join('\n');
}

function reasonText(a: UserAssignment): string {
  if (a.outcome.inExperiment) return '';
  switch (a.outcome.reason) {
    case 'not-started':
      return ': before the start';
    case 'stopped':
      return ': at or after the stop';
    case 'not-targeted':
      return `: not in ${a.targeting.filter((t) => !t.member).map((t) => t.segment).join(' and ')}`;
    case 'outside-coverage':
      return ': coverage bucket above the threshold';
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
