/**
 * `strata rfm` (the RFM table: summary, cut points, named segments, R x F grid, per-user
 * rows with --out) and `strata rfm segments` (the named cells as ready-made segments,
 * cut points frozen as of asOf). The work is in src/analysis/rfm; this shell resolves
 * options and renders.
 */
import path from 'node:path';
import { Option, type Command, type Help } from 'commander';
import { stringify } from 'yaml';
import {
  DEFAULT_RFM_PREFIX,
  QUANTILE_METHODS,
  RFM_USER_FORMATS,
  computeRfm,
  rfmSegmentDefinitions,
  rfmUserRows,
  writeRfmUsers,
  type QuantileMethod,
  type RfmMeasureSummary,
  type RfmOptions,
  type RfmResult,
  type RfmSegmentsResult,
  type RfmUserFormat,
  type ScoreLevels,
} from '../../analysis/rfm/index.js';
import { formatCutPoint } from '../../analysis/rfm/rfm-segments.js';
import type { Config } from '../../config/index.js';
import { StrataError } from '../../errors/errors.js';
import type { AddResult, SegmentRegistry } from '../../segments/registry/index.js';
import { parseDurationMs } from '../../time/time.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatPercent, formatTable } from '../table.js';
import { AS_OF_HELP, SEGMENT_HELP, displayPath, parseAsOf } from './segment.js';

interface RfmCommonOptions {
  readonly asOf?: string;
  readonly segment?: string;
  readonly within?: string;
  readonly scores?: string;
  readonly method?: QuantileMethod;
}

interface RfmTableOptions extends RfmCommonOptions {
  readonly out?: string;
  readonly format: RfmUserFormat;
}

interface RfmSegmentsOptions extends RfmCommonOptions {
  readonly add?: boolean;
  readonly prefix: string;
}


export function registerRfm(program: Command, io: CliIo): void {
  const rfm = program
    .command('rfm')
    .summary('recency, frequency and monetary value: quantile scores, named segments, the R x F grid')
    .description(
      'RFM as of an instant, for every user with a qualifying purchase before it\n' +
        '(strata.yaml `rfm:` names the purchase event, its value and quantity\n' +
        'properties and a where):\n' +
        '  recency   = floor((asOf - last purchase) / 1 day) + 1, in days\n' +
        '  frequency = the number of qualifying purchases\n' +
        '  monetary  = the sum of value (x quantity)\n' +
        'Each measure is scored 1 to 4 or 5 by its quantiles over the users scored\n' +
        "(numpy's methods; linear interpolation by default, as numpy and pandas), in\n" +
        'right-closed bands like pandas.qcut: a value at or below the first cut point\n' +
        'scores 1. Recency is reversed: the most recent get the top score. The R and\n' +
        'F scores place each user in a named cell (Champions, Loyal, At risk, ...).',
    );
  // Scoring options serve the table and `rfm segments`; --out and --format only the table.
  const scoring = [
    new Option('--as-of <T>', AS_OF_HELP),
    new Option('--segment <KEY>', SEGMENT_HELP),
    new Option('--within <D>', 'only purchases in the last D before asOf (90d, 52w)'),
    new Option('--scores <N>', 'score levels (default: rfm.scores, else 5)').choices(['4', '5']),
    new Option('--method <M>', 'quantile method (default: rfm.quantile_method, else linear)').choices([...QUANTILE_METHODS]),
  ];
  const tableOnly = [
    new Option('--out <FILE>', 'also write one row per user: user_id, recency, frequency, monetary, r, f, m, segment'),
    new Option('--format <F>', 'format of --out').choices([...RFM_USER_FORMATS]).default('csv'),
  ];
  for (const option of [...scoring, ...tableOnly]) rfm.addOption(option);
  rfm
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata rfm --as-of 2011-12-10\n' +
        '  $ strata rfm --within 365d --scores 4 --json\n' +
        '  $ strata rfm --segment uk-customers --out rfm.csv\n' +
        '  $ strata rfm segments --as-of 2011-12-10 --add',
    )
    .action(async (opts: RfmTableOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const progress = ctx.progress();
      try {
        const { result, written } = await ctx.withRegistry(async (registry, config, store) => {
          const options = await rfmOptions(opts, registry);
          progress.update({ phase: 'scoring', done: 0, total: 2 });
          const result = await computeRfm(store, config.rfm, options);
          if (opts.out === undefined) return { result, written: null };
          progress.update({ phase: 'writing users', done: 1, total: 2 });
          const out = path.resolve(io.cwd, opts.out);
          const rows = await rfmUserRows(store, config.rfm, options, result);
          return { result, written: { out, count: await writeRfmUsers(rows, opts.format, out) } };
        });
        progress.stop();
        if (written) ctx.note(`Wrote ${formatCount(written.count)} users to ${displayPath(io, written.out)}`);
        ctx.emit(written ? { ...result, out: written.out, written: written.count } : result, () => renderRfm(result));
      } finally {
        progress.stop();
      }
    });

  const segments = rfm
    .command('segments')
    .summary('the named cells as segments, cut points frozen as of asOf (--add stores them)')
    .description(
      'Turn each named cell of the RFM map into a segment definition with the cut\n' +
        'points frozen as of asOf: recency bands become lastSeen bounds on the\n' +
        'purchase event (with its where), frequency bands did count bounds. As of\n' +
        'that asOf each segment holds exactly the users the RFM table puts in its\n' +
        'cells; later it changes only as users purchase. Without --add the\n' +
        'definitions are printed as YAML (a list, which strata segment add reads).\n' +
        'It takes the scoring options of strata rfm (below); --out and --format, which\n' +
        'write the per-user scores, belong to strata rfm alone.',
    )
    .option('--add', 'store the definitions in the registry (a new version when one changed)')
    .option('--prefix <P>', 'segment key prefix', DEFAULT_RFM_PREFIX)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata rfm segments --as-of 2011-12-10 > rfm-segments.yaml\n' +
        '  $ strata rfm segments --as-of 2011-12-10 --add && \\\n' +
        '      strata segment compute --as-of 2011-12-10',
    );
  showOptionsAsOwn(segments, scoring, tableOnly);
  segments
    .action(async (_opts: unknown, command: Command) => {
      const ctx = CommandContext.from(io, command);
      // The scoring options are the parent's: commander reads them wherever they appear.
      const opts = command.optsWithGlobals<RfmSegmentsOptions>();
      rejectTableOptions(rfm, tableOnly);
      const { generated, added } = await ctx.withRegistry(async (registry, config: Config, store) => {
        const options = await rfmOptions(opts, registry);
        const result = await computeRfm(store, config.rfm, options);
        const generated = rfmSegmentDefinitions(config.rfm, options, result, config.plan, opts.prefix, ctx.actor());
        const added = opts.add ? await registry.add(generated.segments.map((s) => s.definition), { actor: ctx.actor() }) : null;
        return { generated, added };
      });
      const json = { ...generated, added };
      ctx.emit(json, () => (added ? renderAdded(generated, added) : renderDefinitions(generated)));
      if (!added) ctx.note('Store them with --add, or save this output and run strata segment add FILE.');
    });
}

/**
 * The help of `rfm segments`: the parent's scoring options are listed as its own (they are
 * read wherever they appear), and the table-only ones not at all.
 */
function showOptionsAsOwn(cmd: Command, own: readonly Option[], hidden: readonly Option[]): void {
  const createHelp = cmd.createHelp.bind(cmd);
  cmd.createHelp = (): Help => {
    const help = createHelp();
    const options = help.visibleOptions.bind(help);
    const globals = help.visibleGlobalOptions.bind(help);
    help.visibleOptions = (c) => [...own, ...options(c)];
    help.visibleGlobalOptions = (c) => globals(c).filter((o) => !own.includes(o) && !hidden.includes(o));
    return help;
  };
}

/** `rfm segments` with `--out` or `--format`, which commander gives the parent: a usage error, not silence. */
function rejectTableOptions(rfm: Command, tableOnly: readonly Option[]): void {
  for (const option of tableOnly) {
    if (rfm.getOptionValueSource(option.attributeName()) !== 'cli') continue;
    throw new StrataError('INPUT_INVALID', `${option.long} is an option of strata rfm (the per-user table), not of strata rfm segments`, [
      { path: option.long ?? option.flags, message: 'leave it out; strata rfm --out FILE writes the per-user scores' },
    ]);
  }
}

async function rfmOptions(opts: RfmCommonOptions, registry: SegmentRegistry): Promise<RfmOptions> {
  const asOfMs = parseAsOf(opts.asOf ?? 'now', '--as-of', Date.now());
  let withinMs: number | null = null;
  if (opts.within !== undefined) {
    const ms = parseDurationMs(opts.within);
    if (ms === undefined || ms <= 0) {
      throw new StrataError('TIME_INVALID', `--within: expected a duration (a whole number and a unit m, h, d or w, such as 90d or 52w), got ${JSON.stringify(opts.within)}`);
    }
    withinMs = ms;
  }
  const segment = opts.segment === undefined ? null : { key: opts.segment, snapshotId: (await registry.snapshot(opts.segment, { asOfMs })).snapshotId };
  return {
    asOfMs,
    withinMs,
    segment,
    ...(opts.scores !== undefined ? { scores: Number(opts.scores) as ScoreLevels } : {}),
    ...(opts.method !== undefined ? { quantileMethod: opts.method } : {}),
  };
}

function number(x: number | null, digits = 2): string {
  if (x === null) return '-';
  return Number.isInteger(x) ? formatCount(x) : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function renderRfm(r: RfmResult): string {
  const scope = [`event ${r.event}`, r.within ? `within ${r.within}` : null, r.segment ? `members of ${r.segment}` : null].filter((x) => x !== null).join(', ');
  const head = `RFM as of ${r.asOf}: ${formatCount(r.users)} users with a purchase (${scope}; scores 1-${r.scores}, ${r.method} quantiles)`;
  if (r.users === 0) return `${head}\nNo one to score.`;
  const measure = (name: string, unit: string, m: RfmMeasureSummary) => [
    name,
    unit,
    number(m.mean),
    number(m.median),
    number(m.min),
    number(m.max),
    m.cuts.map((c) => number(c)).join(' | '),
  ];
  const summary = formatTable(
    [
      { header: 'MEASURE' },
      { header: 'UNIT' },
      { header: 'MEAN', align: 'right' },
      { header: 'MEDIAN', align: 'right' },
      { header: 'MIN', align: 'right' },
      { header: 'MAX', align: 'right' },
      { header: 'CUT POINTS' },
    ],
    [measure('recency', 'days', r.recency), measure('frequency', 'purchases', r.frequency), measure('monetary', 'value', r.monetary)],
  );
  const segments = formatTable(
    [
      { header: 'SEGMENT' },
      { header: 'USERS', align: 'right' },
      { header: 'SHARE', align: 'right' },
      { header: 'RECENCY', align: 'right' },
      { header: 'FREQUENCY', align: 'right' },
      { header: 'MONETARY', align: 'right' },
      { header: 'CELLS' },
    ],
    r.segments.map((s) => [
      s.name,
      formatCount(s.users),
      s.share === null ? '-' : formatPercent(s.share),
      number(s.recency, 1),
      number(s.frequency, 1),
      number(s.monetary),
      s.cells.map((c) => `R${c.r}F${c.f}`).join(' '),
    ]),
  );
  const levels = Array.from({ length: r.scores }, (_, i) => i + 1);
  const grid = formatTable(
    [{ header: 'R \\ F' }, ...levels.map((f) => ({ header: `F=${f}`, align: 'right' as const }))],
    [...levels].reverse().map((rs) => [`R=${rs}`, ...levels.map((f) => formatCount(r.grid[rs - 1]![f - 1]!))]),
  );
  return [
    head,
    '',
    summary,
    `Scores: a value at or below the first cut point scores 1 (recency: ${r.scores}, the most recent), above the last ${r.scores} (recency: 1).`,
    '',
    segments,
    '',
    'Users per R x F cell:',
    grid,
  ].join('\n');
}

function renderDefinitions(g: RfmSegmentsResult): string {
  const header = [
    `# RFM segments with cut points frozen as of ${g.asOf} (scores 1-${g.scores}, ${g.method} quantiles)`,
    `# recency (days) cut points: ${g.cuts.recency.map(formatCutPoint).join(', ')}; frequency cut points: ${g.cuts.frequency.map(formatCutPoint).join(', ')}`,
    ...g.skipped.map((s) => `# no segment for ${s.name}: ${s.reason}`),
  ];
  return `${header.join('\n')}\n${stringify(g.segments.map((s) => s.definition), { lineWidth: 0 })}`;
}

function renderAdded(g: RfmSegmentsResult, added: readonly AddResult[]): string {
  const rows = g.segments.map((s) => {
    const a = added.find((x) => x.key === s.definition.key);
    return [s.definition.key, s.name, formatCount(s.users), a ? `${a.status} v${a.version}` : '-'];
  });
  return (
    `RFM segments frozen as of ${g.asOf}:\n` +
    formatTable([{ header: 'SEGMENT' }, { header: 'CELL NAME' }, { header: `USERS AS OF THEN`, align: 'right' }, { header: 'STATUS' }], rows) +
    g.skipped.map((s) => `\nNo segment for ${s.name}: ${s.reason}`).join('')
  );
}
