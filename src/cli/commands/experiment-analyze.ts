/**
 * `strata experiment analyze KEY`: an experiment's results and the recommendation. The
 * shell resolves options, gets the data (computeExperimentData), runs analyzeExperiment and
 * renders the report; every rule is in src/experiments/analyze.
 */
import type { Command } from 'commander';
import { StrataError } from '../../errors/errors.js';
import { analyzeExperiment, type AnalyzeOptions } from '../../experiments/analyze/analyze.js';
import { formatEffect, formatNumber, formatP, formatShare, pEquals } from '../../experiments/analyze/format.js';
import type { ComparisonReport, CorrectionName, ExperimentReport, MetricReport } from '../../experiments/analyze/report-types.js';
import { ExperimentRegistry } from '../../experiments/design/experiment-registry.js';
import type { AnalysisMethod } from '../../experiments/design/types.js';
import { computeExperimentData } from '../../experiments/metrics/index.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatTable } from '../table.js';
import { AS_OF_HELP, parseAsOf, wrap } from './segment.js';
import { addPrivateOptions, privateSettings, type PrivateCliOptions, type PrivateSettings } from '../../privacy/dp/private-options.js';
import { parseClamps, privateExperimentSummary, privateMetricPlans, type PrivateExperimentSummary } from '../../privacy/dp/private-experiment.js';
import { renderPrivateExperiment } from './private-reports.js';

interface AnalyzeCliOptions extends PrivateCliOptions {
  /** --private: per-user ranges (repeatable). */
  readonly clamp?: readonly string[];
  readonly asOf?: string;
  readonly by?: string;
  readonly segment?: string;
  readonly method?: string;
  readonly correction?: string;
}

const METHODS: readonly AnalysisMethod[] = ['frequentist', 'bayesian', 'sequential'];
const CORRECTIONS: readonly CorrectionName[] = ['holm', 'bh', 'none'];

export const EXPERIMENT_BY_HELP = 'break results down by a trait, segment membership (trait:T, segment:KEY, a bare name) or lifecycle, all as of the start';
export const EXPERIMENT_SEGMENT_HELP = "only the members of this segment as of the experiment's start";

export function registerExperimentAnalyze(experiment: Command, io: CliIo): void {
  experiment
    .command('analyze')
    .argument('<KEY>', 'the experiment key')
    .summary('effects, intervals, SRM, guardrails, power and a recommendation')
    .description(
      wrap(
        'Analyse an experiment as of an instant: per metric and treatment the effect ' +
          'against the control with its interval and p-value (or chance to win), ' +
          'corrected within families (primary; secondaries; each breakdown), the sample ' +
          'ratio check, guardrails, power to detect the MDE, and a recommendation (ship, ' +
          'do-not-ship, keep-running, inconclusive) with its reasons. Without --by, each ' +
          "segment in the definition's `segments:` is a breakdown of its own. Rules: " +
          'docs/experiments.md, "Analysing" and "Decisions".',
        78,
      ),
    )
    .option('--as-of <T>', AS_OF_HELP)
    .option('--by <NAME>', EXPERIMENT_BY_HELP)
    .option('--segment <KEY>', EXPERIMENT_SEGMENT_HELP)
    .option('--method <M>', "frequentist, bayesian or sequential (default: the definition's)")
    .option('--correction <C>', 'multiple comparisons: holm, bh (Benjamini-Hochberg) or none (default: holm)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata experiment analyze onboarding-checklist\n' +
        '  $ strata experiment analyze onboarding-checklist --as-of 2025-06-02 \\\n' +
        '      --by device\n' +
        '  $ strata experiment analyze onboarding-checklist --by lifecycle \\\n' +
        '      --correction bh\n' +
        '  $ strata experiment analyze onboarding-checklist --method bayesian --json',
    )
    .action(async (key: string, opts: AnalyzeCliOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : Date.now();
      const settings = privateSettings(opts);
      if (settings) return analyzePrivately(ctx, key, opts, settings, asOfMs);
      if ((opts.clamp ?? []).length > 0) throw new StrataError('INPUT_INVALID', '--clamp only applies to a private summary', [{ path: '--clamp', message: 'add --private, or leave --clamp out' }]);
      const analyzeOptions = parseAnalyzeOptions(opts);
      const progress = ctx.progress();
      let report: AnalyzeOutput;
      try {
        report = await ctx.withRegistry(async (segments, config, store) => {
          const stored = await new ExperimentRegistry(store, config.plan).get(key);
          // Without --by, the definition's `segments` are the default breakdowns, one each.
          const breakdowns = opts.by !== undefined ? [opts.by] : [undefined, ...stored.definition.segments.map((s) => `segment:${s}`)];
          const total = breakdowns.length + 1;
          const reports: ExperimentReport[] = [];
          for (const [i, by] of breakdowns.entries()) {
            progress.update({ phase: by === undefined ? 'metrics' : `metrics by ${by}`, done: i, total });
            const data = await computeExperimentData(store, segments, stored, {
              asOfMs,
              plan: config.plan,
              lifecycle: config.lifecycle,
              ...(by !== undefined ? { by } : {}),
              ...(opts.segment !== undefined ? { segment: opts.segment } : {}),
            });
            reports.push(analyzeExperiment(stored.definition, data, analyzeOptions));
          }
          progress.update({ phase: 'statistics', done: total - 1, total });
          const [first, ...rest] = reports;
          return rest.length === 0 ? first! : { ...first!, segmentBreakdowns: rest };
        });
      } finally {
        progress.stop();
      }
      ctx.emit(report, renderAnalyzeOutput);
    });
  const analyze = experiment.commands.find((c) => c.name() === 'analyze')!;
  analyze.option('--clamp <RANGE>', 'with --private: a per-user range (see below; repeatable)', (v: string, acc: string[] | undefined) => [...(acc ?? []), v]);
  addPrivateOptions(analyze, [
    'strata experiment analyze onboarding-checklist --private \\\n      --clamp revenue-per-user=0:500 --epsilon 2',
  ]);
  analyze.addHelpText(
    'after',
    '\nThe private summary shows per variant (and group) noisy exposed users,\n' +
      'conversions and sums, the rates and means they give with the noise\'s 95%\n' +
      'interval, and no p-values, intervals of effects, SRM or recommendation.\n' +
      'Count, sum, mean and ratio metrics need each user\'s value clamped: --clamp\n' +
      'LO:HI (every such metric), KEY=LO:HI (one metric), KEY.denominator=LO:HI (a\n' +
      'mean or ratio metric\'s denominator); LO <= 0 <= HI.',
  );
}

/** `--private`: the noisy summary (src/privacy/dp/private-experiment.ts), no tests. */
async function analyzePrivately(ctx: CommandContext, key: string, opts: AnalyzeCliOptions, settings: PrivateSettings, asOfMs: number): Promise<void> {
  for (const [option, value] of [['--method', opts.method], ['--correction', opts.correction]] as const) {
    if (value !== undefined) throw new StrataError('INPUT_INVALID', `${option} does not apply to a private summary: it makes no significance tests`, [{ path: option, message: 'leave it out with --private' }]);
  }
  const progress = ctx.progress();
  let summary: PrivateExperimentSummary;
  try {
    summary = await ctx.withRegistry(async (segments, config, store) => {
      const stored = await new ExperimentRegistry(store, config.plan).get(key);
      const clamps = parseClamps(opts.clamp ?? [], privateMetricPlans(stored.definition, config.plan));
      const target = { store, privacy: config.privacy, actor: ctx.actor(), settings };
      return privateExperimentSummary(
        target,
        segments,
        stored,
        { asOfMs, plan: config.plan, lifecycle: config.lifecycle, clamps, ...(opts.by !== undefined ? { by: opts.by } : {}), ...(opts.segment !== undefined ? { segment: opts.segment } : {}) },
        (phase) => progress.update({ phase, done: 0, total: 1 }),
      );
    });
  } finally {
    progress.stop();
  }
  ctx.emit(summary, renderPrivateExperiment);
}

/**
 * The command's JSON: the report; without --by and with `segments:` in the definition, the
 * report of the whole experiment plus one report per listed segment (member / non-member
 * groups as of the start) in `segmentBreakdowns`.
 */
export type AnalyzeOutput = ExperimentReport & { readonly segmentBreakdowns?: readonly ExperimentReport[] };

function renderAnalyzeOutput(r: AnalyzeOutput): string {
  const parts = [renderExperimentReport(r)];
  for (const b of r.segmentBreakdowns ?? []) parts.push(renderBreakdown(b));
  return parts.join('\n\n');
}

/** A breakdown's own part: its SRM lines, group rows per metric, and heterogeneity. */
function renderBreakdown(r: ExperimentReport): string {
  const out = [`Breakdown by ${r.breakdown} (as of the start)`, ...r.srm.slice(1).map(srmLine)];
  for (const m of r.metrics) out.push('', metricTitle(m), metricTable(r, m));
  out.push(...heterogeneityLines(r));
  return out.join('\n');
}

function heterogeneityLines(r: ExperimentReport): string[] {
  return r.heterogeneity.map((h) => {
    const text = h.result.ok ? `Q = ${h.result.q.toFixed(2)}, df ${h.result.df}, ${pEquals(h.result.pValue)}${h.differs ? ': the effect differs between groups' : ''}` : h.result.message;
    return `Heterogeneity of ${h.variant} on ${h.metric} across ${r.breakdown}: ${text}`;
  });
}

function parseAnalyzeOptions(opts: AnalyzeCliOptions): AnalyzeOptions {
  const pick = <T extends string>(value: string | undefined, allowed: readonly T[], option: string): T | undefined => {
    if (value === undefined) return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    throw new StrataError('INPUT_INVALID', `${option}: expected ${allowed.join(', ')}; got ${JSON.stringify(value)}`, [{ path: option, message: `one of ${allowed.join(', ')}` }]);
  };
  const method = pick(opts.method, METHODS, '--method');
  const correction = pick(opts.correction, CORRECTIONS, '--correction');
  return { ...(method ? { method } : {}), ...(correction ? { correction } : {}) };
}

/** The human report: header, exposures and SRM, one table per metric, guardrails, power, recommendation. */
export function renderExperimentReport(r: ExperimentReport): string {
  const out: string[] = [];
  out.push(`Experiment ${r.experiment} (v${r.version}): ${r.name}`);
  out.push(`as of ${r.asOf}; ran ${r.start.slice(0, 10)} to ${r.stop ? r.stop.slice(0, 10) : 'now'}; ${r.method}, ${r.sides}-sided, alpha ${r.alpha}, ${r.difference} effects, correction ${r.method === 'bayesian' ? 'none (Bayesian)' : r.correction}`);
  out.push('');
  out.push(`Exposed users: ${r.exposures.map((e) => `${e.variant} ${formatCount(e.users)}`).join(', ')}${r.multipleExposures > 0 ? `; ${formatCount(r.multipleExposures)} in several variants (left out)` : ''}`);
  out.push(...r.srm.map(srmLine));
  for (const m of r.metrics) out.push('', metricTitle(m), metricTable(r, m));
  if (r.guardrails.length > 0) out.push('', 'Guardrails:', ...r.guardrails.map((g) => `  ${g.status.toUpperCase().padEnd(7)} ${g.message}`));
  out.push('', 'Power (primary metric):', ...r.power.map((p) => `  ${p.message}`));
  out.push(...heterogeneityLines(r));
  if (r.bandit) {
    out.push('', 'Bandit weights for the next period (Thompson sampling):');
    out.push(r.bandit.ok ? `  ${r.bandit.arms.map((a) => `${a.name} ${formatShare(a.weight)}`).join(', ')}` : `  ${r.bandit.message}`);
  }
  const rec = r.recommendation;
  out.push('', `Recommendation: ${rec.decision.toUpperCase()}${rec.variant ? ` ${rec.variant}` : ''}`);
  out.push(...rec.reasons.map((x) => bullet(x)));
  if (rec.diagnostics.length > 0) out.push('What would help:', ...rec.diagnostics.map((x) => bullet(x)));
  return out.join('\n');
}

function bullet(text: string): string {
  return wrap(text, 76)
    .split('\n')
    .map((l, i) => (i === 0 ? `  - ${l}` : `    ${l}`))
    .join('\n');
}

function srmLine(s: ExperimentReport['srm'][number]): string {
  const where = s.group === null ? 'SRM' : `SRM in ${s.group}`;
  if (!s.ok) return `${where}: ${s.message}`;
  return `${where}: ${pEquals(s.pValue)} (chi-square ${s.chiSquare.toFixed(2)}, df ${s.df})${s.flagged ? ' FLAGGED: the split does not match the weights' : ' ok'}`;
}

function metricTitle(m: MetricReport): string {
  const notes = [m.type, m.inverse ? 'lower is better' : null, m.cupedWindowMs !== null ? 'CUPED' : null].filter(Boolean).join(', ');
  return `${m.role[0]!.toUpperCase()}${m.role.slice(1)} metric ${m.key}: ${m.name} (${notes})`;
}

function metricTable(r: ExperimentReport, m: MetricReport): string {
  const bayes = r.method === 'bayesian';
  const rows: string[][] = [];
  // Comparisons without numbers say why below the table, so the columns stay narrow.
  const notes: string[] = [];
  for (const g of m.groups) {
    const control = g.users[0]!;
    for (const c of g.comparisons) {
      const n = `${formatCount(control.n)}/${formatCount(g.users.find((u) => u.variant === c.variant)?.n ?? 0)}`;
      rows.push([g.group ?? '(all)', c.variant, n, ...comparisonCells(c, bayes)]);
      if (!c.result.ok) notes.push(`  ${g.group ?? '(all)'}, ${c.variant}: no numbers: ${c.result.message}`);
    }
    if (g.immature > 0) rows.push(['', `(${formatCount(g.immature)} immature)`, '', '', '', '', '', '']);
  }
  return formatTable(
    [
      { header: 'group' },
      { header: 'variant' },
      { header: 'users c/t', align: 'right' },
      { header: 'control', align: 'right' },
      { header: 'treatment', align: 'right' },
      { header: 'effect', align: 'right' },
      { header: 'interval' },
      { header: bayes ? 'chance to win' : 'p', align: 'right' },
    ],
    rows,
  ) + (notes.length > 0 ? `\n${notes.join('\n')}` : '');
}

function comparisonCells(c: ComparisonReport, bayes: boolean): string[] {
  const r = c.result;
  if (!r.ok) return ['-', '-', '-', '-', '-'];
  const ci = c.adjusted?.ci ?? r.ci;
  const end = (x: number | null, open: string) => (x === null ? open : formatEffect(x, r.difference));
  const interval = `[${end(ci[0], '-inf')}, ${end(ci[1], 'inf')}]`;
  const p = bayes ? formatShare(r.chanceToWin ?? NaN) : formatP(c.adjusted?.pValue ?? r.pValue ?? NaN);
  return [formatNumber(r.control.mean), formatNumber(r.treatment.mean), `${formatEffect(r.effect, r.difference)}${c.significant ? ' *' : ''}`, interval, p];
}
