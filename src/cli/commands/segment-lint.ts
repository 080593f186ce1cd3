/**
 * `strata segment lint`: the over-segmentation guard (src/analysis/lint). Warnings exit 0;
 * with --strict they exit 1 (LINT_WARNINGS), after the human report, or as the error object
 * with one detail per warning under --json.
 */
import type { Command } from 'commander';
import { eventFilterFromDocument, lintSegments, LINT_DEFAULTS, type LintResult, type LintWarning, type PowerCheck } from '../../analysis/lint/index.js';
import { MEANS_FORMULA, PROPORTIONS_FORMULA } from '../../analysis/power.js';
import { StrataError } from '../../errors/errors.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatPercent, formatRatio, formatTable } from '../table.js';
import { AS_OF_HELP, parseAsOf, parseWindow, wrap } from './segment.js';

interface LintCliOptions {
  asOf?: string;
  overlap: string;
  alpha: string;
  power: string;
  mde?: string;
  window: string;
  strict?: boolean;
}

export function registerSegmentLint(segment: Command, io: CliIo): void {
  segment
    .command('lint')
    .summary('flag segments too small for their objective, overlapping, or matching no one or all')
    .description(
      'Check segments (default: all) as of an instant and warn when one is too small\n' +
        'to detect the minimum effect its objective calls for (a power calculation on its\n' +
        'own members: two-sided test, 50/50 split; the calculation is printed), overlaps\n' +
        'another segment with a Jaccard index at or above --overlap, or matches no one,\n' +
        'or everyone, of the population. Exits 0 with warnings; with --strict, exits 1\n' +
        'when there is any.',
    )
    .argument('[KEY...]', 'segment keys (default: every segment)')
    .option('--as-of <T>', AS_OF_HELP)
    .option('--overlap <J>', 'warn when two segments have a Jaccard index at or above J', String(LINT_DEFAULTS.overlap))
    .option('--alpha <A>', 'two-sided significance level', String(LINT_DEFAULTS.alpha))
    .option('--power <P>', 'power (1 - beta)', String(LINT_DEFAULTS.power))
    .option('--mde <R>', 'relative minimum detectable effect for every objective, e.g. 0.1 or 10% (default: per objective)')
    .option('--window <D>', 'the window the metrics are measured over, before the as-of instant', '28d')
    .option('--strict', 'exit 1 when there is any warning')
    .addHelpText(
      'after',
      '\nObjectives, the metric of the power check (over --window) and its default MDE:\n' +
        '  activation    core-action rate (lifecycle.core_action)          10%\n' +
        '  conversion    purchase rate (the rfm: purchase event)           10%\n' +
        '  retention     share active in the last 7 days                    5%\n' +
        '  engagement    mean active days                                   5%\n' +
        '  monetization  revenue per user (the rfm: purchase value)        10%\n' +
        '  other         not checked\n' +
        '\nExamples:\n  $ strata segment lint\n  $ strata segment lint power-users big-spenders --as-of 2025-06-02 --mde 5%\n  $ strata segment lint --strict --json',
    )
    .action(async (keys: string[], opts: LintCliOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : undefined;
      const numbers = {
        alpha: probability(opts.alpha, '--alpha'),
        power: probability(opts.power, '--power'),
        overlap: probability(opts.overlap, '--overlap', true),
        mde: opts.mde === undefined ? null : relativeEffect(opts.mde, '--mde'),
        windowMs: parseWindow(opts.window, '--window'),
      };
      const progress = ctx.progress();
      let result: LintResult;
      try {
        result = await ctx.withRegistry((registry, config, store) => {
          progress.update({ phase: 'linting', done: 0, total: 1 });
          return lintSegments(registry, store, config.plan, {
            ...(keys.length > 0 ? { keys } : {}),
            ...(asOfMs !== undefined ? { asOfMs } : {}),
            ...numbers,
            purchase: config.rfm.purchase,
            coreAction: eventFilterFromDocument(config.lifecycle.parameters.coreAction, config.plan, 'lifecycle.core_action'),
          });
        });
      } finally {
        progress.stop();
      }
      const failing = opts.strict === true && result.warnings.length > 0;
      // Under --json --strict the error object is the one JSON document on stdout.
      if (!(failing && ctx.globals.json)) ctx.emit(result, renderLint);
      if (failing) {
        throw new StrataError(
          'LINT_WARNINGS',
          `${result.warnings.length} lint warning${result.warnings.length === 1 ? '' : 's'} (--strict)`,
          result.warnings.map((w) => ({ path: w.segments.join(', '), message: `${w.kind}: ${w.message}` })),
        );
      }
    });
}

export function renderLint(r: LintResult): string {
  const s = r.settings;
  const head =
    `Lint as of ${s.asOf}: ${r.segments.length} segment${r.segments.length === 1 ? '' : 's'}, ${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'} ` +
    `(alpha ${s.alpha}, power ${s.power}, window ${s.window}, MDE ${s.mde === null ? 'per objective' : formatPercent(s.mde)}, overlap >= ${s.overlap})`;
  if (r.segments.length === 0) return `${head}\nNo segments yet. Add some with: strata segment add FILE...`;
  const warnings = r.warnings.length === 0 ? 'No warnings.' : r.warnings.map(renderWarning).join('\n');
  const power = formatTable(
    [
      { header: 'SEGMENT' },
      { header: 'OBJECTIVE' },
      { header: 'METRIC' },
      { header: 'BASELINE', align: 'right' },
      { header: 'MDE', align: 'right' },
      { header: 'N/GROUP NEEDED', align: 'right' },
      { header: 'N/GROUP HAVE', align: 'right' },
      { header: 'DETECTABLE', align: 'right' },
      { header: 'STATUS' },
    ],
    r.segments.map((x) => powerRow(x.power)),
  );
  const skipped = r.segments.filter((x) => x.power.status === 'skipped').map((x) => `  ${x.key}: ${x.power.reason}`);
  return [
    head,
    '',
    warnings,
    '',
    `Power (two-sided test, 50/50 split of each segment, normal approximation; metrics over the ${s.window} before asOf)`,
    power,
    ...(skipped.length > 0 ? ['Not checked:', ...skipped] : []),
    'Users needed per group (z = standard normal quantile, a = alpha, 1 - b = power):',
    `  proportions: ${PROPORTIONS_FORMULA}`,
    `  means:       ${MEANS_FORMULA}`,
    'DETECTABLE = the smallest relative effect detectable with N/GROUP HAVE = floor(size / 2) per group.',
  ].join('\n');
}

function renderWarning(w: LintWarning): string {
  return wrap(`! ${w.kind}: ${w.message}`, 100)
    .split('\n')
    .map((line, i) => (i === 0 ? line : `    ${line}`))
    .join('\n');
}

function powerRow(p: PowerCheck): string[] {
  const value = (x: number | null) => (x === null ? '-' : p.test === 'two-proportions' ? formatPercent(x) : formatRatio(x, 2));
  return [
    p.key,
    p.objective,
    p.metric ?? '-',
    value(p.baseline),
    p.mde === null ? '-' : formatPercent(p.mde),
    p.nPerGroupNeeded === null ? '-' : formatCount(p.nPerGroupNeeded),
    formatCount(p.nPerGroupAvailable),
    p.detectableEffect === null ? '-' : formatPercent(p.detectableEffect),
    p.status,
  ];
}

/** A probability option strictly between 0 and 1 (or up to 1 inclusive). */
function probability(text: string, option: string, inclusiveOne = false): number {
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x) || x <= 0 || (inclusiveOne ? x > 1 : x >= 1)) {
    throw new StrataError('INPUT_INVALID', `${option}: expected a number between 0 and 1${inclusiveOne ? ' (1 included)' : ''}, got ${JSON.stringify(text)}`, [
      { path: option, message: inclusiveOne ? 'expected 0 < value <= 1' : 'expected 0 < value < 1' },
    ]);
  }
  return x;
}

/** `0.1` or `10%`: a positive relative effect. */
function relativeEffect(text: string, option: string): number {
  const pct = text.endsWith('%');
  const x = Number(pct ? text.slice(0, -1) : text);
  if (text.trim() === '' || !Number.isFinite(x) || x <= 0) {
    throw new StrataError('INPUT_INVALID', `${option}: expected a positive relative effect such as 0.1 or 10%, got ${JSON.stringify(text)}`, [
      { path: option, message: 'expected a number > 0, or a percentage' },
    ]);
  }
  return pct ? x / 100 : x;
}
