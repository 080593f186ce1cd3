/**
 * `strata lifecycle stages|report|flow`: the workspace's lifecycle model (strata.yaml
 * `lifecycle:`), users per stage, and the transition matrix between two instants. The
 * shell resolves options and renders; the work is in src/analysis/lifecycle.
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { bindBreakdown, resolveBreakdown, type BoundBreakdown } from '../../analysis/breakdown.js';
import {
  NOT_YET_SEEN,
  lifecycleFlow,
  lifecycleReport,
  stageKeys,
  type LifecycleFlow,
  type LifecycleModel,
  type LifecycleReport,
  type SegmentRestriction,
  type StageCount,
} from '../../analysis/lifecycle/index.js';
import type { SegmentRegistry } from '../../segments/registry/index.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatPercent, formatTable } from '../table.js';
import { AS_OF_HELP, BY_HELP, SEGMENT_HELP, parseAsOf } from './segment.js';
import { addPrivateOptions, privateSettings, type PrivateCliOptions } from '../../privacy/dp/private-options.js';
import { privateLifecycleReport, type PrivateLifecycleReport } from '../../privacy/dp/private-lifecycle.js';
import { renderPrivateLifecycle } from './private-reports.js';

interface ReportOptions extends PrivateCliOptions {
  readonly asOf?: string;
  readonly by?: string;
  readonly segment?: string;
}

interface FlowOptions {
  readonly from: string;
  readonly to: string;
  readonly segment?: string;
}

export function registerLifecycle(program: Command, io: CliIo): void {
  const lifecycle = program
    .command('lifecycle')
    .summary('lifecycle stages: the model, users per stage, and how users move between stages')
    .description(
      'Every user of the population is in exactly one lifecycle stage: the first stage, in the ' +
        "model's priority order, whose condition holds, else the fallback stage. The model is the " +
        '`lifecycle:` section of strata.yaml (defaults when absent; see README, "Lifecycle stages"). ' +
        'Segments use stages with {lifecycle: STAGE}.',
    );

  lifecycle
    .command('stages')
    .alias('show')
    .summary('show the model: the stages in priority order, each with its condition')
    .description(
      'Show the lifecycle model (strata.yaml `lifecycle:`, defaults when absent): the\n' +
        'stages in priority order with their names, descriptions and conditions as\n' +
        'YAML, the fallback stage, and the default stages left out because a setting\n' +
        'they need is missing. A user is in the first stage whose condition holds.',
    )
    .addHelpText('after', '\nExamples:\n  $ strata lifecycle stages\n  $ strata lifecycle stages --json')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const config = await ctx.loadConfig();
      ctx.emit(modelJson(config.lifecycle), () => renderModel(config.lifecycle));
    });

  lifecycle
    .command('report')
    .summary('users per lifecycle stage as of an instant, optionally broken down')
    .description(
      'Count the users of the population in each stage as of an instant, with their share. ' +
        '--by splits the counts by a trait value or by membership of a segment (as of the same ' +
        'instant); --segment counts only the members of a segment.',
    )
    .option('--as-of <T>', AS_OF_HELP)
    .option('--by <NAME>', BY_HELP)
    .option('--segment <KEY>', SEGMENT_HELP)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata lifecycle report --as-of 2025-06-02\n' +
        '  $ strata lifecycle report --by plan\n' +
        '  $ strata lifecycle report --by segment:power-users --json\n' +
        '  $ strata lifecycle report --segment enterprise-prospects',
    )
    .action(async (opts: ReportOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : Date.now();
      const settings = privateSettings(opts);
      const progress = ctx.progress();
      let report: LifecycleReport;
      let released: PrivateLifecycleReport | null = null;
      try {
        report = await ctx.withRegistry(async (registry, config, store) => {
          progress.update({ phase: 'segments', done: 0, total: 2 });
          const keys = opts.by !== undefined || opts.segment !== undefined ? (await registry.list()).map((s) => s.key) : [];
          const by: BoundBreakdown | undefined = opts.by !== undefined ? await bindBreakdown(resolveBreakdown(opts.by, config.plan, keys), registry, asOfMs) : undefined;
          const segment = opts.segment !== undefined ? await restriction(registry, opts.segment, asOfMs) : undefined;
          progress.update({ phase: 'lifecycle stages', done: 1, total: 2 });
          const exact = await lifecycleReport(store, config, { asOfMs, ...(by ? { by } : {}), ...(segment ? { segment } : {}) });
          if (settings) released = await privateLifecycleReport({ store, privacy: config.privacy, actor: ctx.actor(), settings }, exact, by);
          return exact;
        });
      } finally {
        progress.stop();
      }
      if (released) return ctx.emit(released, renderPrivateLifecycle);
      ctx.emit(report, renderReport);
    });
  addPrivateOptions(lifecycle.commands.find((c) => c.name() === 'report')!, ['strata lifecycle report --by plan --private --epsilon 0.5']);

  lifecycle
    .command('flow')
    .summary('the transition matrix: users by stage at one instant and stage at a later one')
    .description(
      'Count users by (stage as of --from, stage as of --to). Users in the population at --to ' +
        `but not yet at --from are in the row ${NOT_YET_SEEN}. Each row shows where that stage's ` +
        'users went, with the share of the row. --segment restricts to members as of --from.',
    )
    .requiredOption('--from <T>', 'the first instant (ISO date or instant, now, or an offset like -30d)')
    .requiredOption('--to <T>', 'the later instant')
    .option('--segment <KEY>', 'only the members of this segment as of --from')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata lifecycle flow --from 2025-05-01 --to 2025-06-01\n' +
        '  $ strata lifecycle flow --from -60d --to -30d --segment power-users --json',
    )
    .action(async (opts: FlowOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const now = Date.now();
      const fromMs = parseAsOf(opts.from, '--from', now);
      const toMs = parseAsOf(opts.to, '--to', now);
      const progress = ctx.progress();
      let flow: LifecycleFlow;
      try {
        flow = await ctx.withRegistry(async (registry, config, store) => {
          progress.update({ phase: 'segments', done: 0, total: 2 });
          const segment = opts.segment !== undefined ? await restriction(registry, opts.segment, fromMs) : undefined;
          progress.update({ phase: 'lifecycle flow', done: 1, total: 2 });
          return lifecycleFlow(store, config, { fromMs, toMs, ...(segment ? { segment } : {}) });
        });
      } finally {
        progress.stop();
      }
      ctx.emit(flow, renderFlow);
    });
}

async function restriction(registry: SegmentRegistry, key: string, asOfMs: number): Promise<SegmentRestriction> {
  const snapshot = await registry.snapshot(key, { asOfMs });
  return { key, snapshotId: snapshot.snapshotId };
}

function modelJson(model: LifecycleModel) {
  return {
    order: model.stages.map((s) => s.key),
    stages: model.stages.map((s) => ({ key: s.key, name: s.name, description: s.description, origin: s.origin, match: s.match })),
    fallback: model.fallback,
    unavailable: model.unavailable,
    parameters: model.parameters,
  };
}

function renderModel(model: LifecycleModel): string {
  const lines = [`Lifecycle stages, in priority order (a user is in the first stage whose condition holds):`, ''];
  model.stages.forEach((s, i) => {
    lines.push(`${i + 1}. ${s.key}: ${s.name}${s.origin === 'default' ? '' : ` (${s.origin})`}`);
    if (s.description) lines.push(`   ${s.description}`);
    lines.push('   match:');
    for (const l of stringify(s.match, { indent: 2 }).trimEnd().split('\n')) lines.push(`     ${l}`);
    lines.push('');
  });
  lines.push(`${model.stages.length + 1}. ${model.fallback.key}: ${model.fallback.name} (fallback)`);
  lines.push(`   ${model.fallback.description}`);
  if (model.unavailable.length > 0) {
    lines.push('');
    lines.push(`Left out (not configured): ${model.unavailable.map((u) => `${u.key} (set ${u.setting})`).join(', ')}`);
  }
  lines.push('');
  lines.push(`Use a stage in a segment with {lifecycle: STAGE}; stages: ${stageKeys(model).join(', ')}.`);
  return lines.join('\n');
}

function renderReport(r: LifecycleReport): string {
  const head = `Lifecycle stages as of ${r.asOf}${r.segment ? ` among members of ${r.segment}` : ''}: ${formatCount(r.population)} users`;
  if (!r.by) {
    const table = formatTable(
      [{ header: 'STAGE' }, { header: 'NAME' }, { header: 'USERS', align: 'right' }, { header: 'SHARE', align: 'right' }],
      r.stages.map((s) => [s.stage, s.name, formatCount(s.users), formatPercent(s.share)]),
    );
    return `${head}\n\n${table}`;
  }
  const cell = (s: StageCount | undefined) => (s ? `${formatCount(s.users)} (${formatPercent(s.share)})` : '-');
  const table = formatTable(
    [{ header: 'STAGE' }, { header: 'ALL', align: 'right' }, ...r.by.groups.map((g) => ({ header: g.group, align: 'right' as const }))],
    [
      ...r.stages.map((s) => [s.stage, cell(s), ...r.by!.groups.map((g) => cell(g.stages.find((x) => x.stage === s.stage)))]),
      ['total', formatCount(r.population), ...r.by.groups.map((g) => formatCount(g.population))],
    ],
  );
  return `${head}, by ${r.by.label} (share of each column)\n\n${table}`;
}

function renderFlow(f: LifecycleFlow): string {
  const head = `Lifecycle flow from ${f.from} to ${f.to}${f.segment ? ` for members of ${f.segment} as of ${f.from}` : ''}: ${formatCount(f.users)} users`;
  const table = formatTable(
    [{ header: 'FROM \\ TO' }, ...f.stages.map((s) => ({ header: s.key, align: 'right' as const })), { header: 'TOTAL', align: 'right' }],
    [
      ...f.rows.map((row) => [
        row.stage,
        ...row.to.map((c) => (c.users === 0 ? '0' : `${formatCount(c.users)} (${formatPercent(c.share, 0)})`)),
        formatCount(row.users),
      ]),
      ['TOTAL', ...f.totals.map((t) => formatCount(t.users)), formatCount(f.users)],
    ],
  );
  return `${head}\n(each cell: users, and their share of the row)\n\n${table}`;
}
