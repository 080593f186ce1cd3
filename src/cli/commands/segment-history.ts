/**
 * `strata segment history KEY` and `strata segment backfill KEY...`: a segment over time,
 * from its stored snapshots, and the snapshots that give a new segment a past.
 */
import type { Command } from 'commander';
import { StrataError } from '../../errors/errors.js';
import type { BackfillResult, SegmentHistory } from '../../segments/registry/index.js';
import { formatDuration, parseDurationMs } from '../../time/time.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatPercent, formatRatio, formatTable } from '../table.js';
import { parseAsOf } from './segment.js';

const INSTANT_HELP = 'an ISO date or instant (UTC when no zone), now, or an offset like -30d';

export function registerSegmentHistory(segment: Command, io: CliIo): void {
  segment
    .command('history')
    .summary('size over time, who entered and left, and week-over-week stability')
    .description(
      'The stored snapshots of a segment in asOf order (the current version by\n' +
        'default): size, share of the population, users who entered and left since the\n' +
        'snapshot before, and week-over-week stability: the Jaccard index\n' +
        '|A and B| / |A or B| with the snapshot taken 7 days earlier (exactly then when\n' +
        'stored, else the latest one before; none: -). Computes nothing: build a history\n' +
        'with `strata segment backfill` or `strata segment compute --every`.',
    )
    .argument('<KEY>', 'the segment key')
    .option('--from <T1>', `list snapshots at or after T1: ${INSTANT_HELP}`)
    .option('--to <T2>', `list snapshots at or before T2: ${INSTANT_HELP}`)
    .option('--all-versions', 'include the snapshots of earlier versions and mark where the version changes')
    .addHelpText('after', '\nExamples:\n  $ strata segment history power-users\n  $ strata segment history power-users --from 2025-03-01 --to 2025-06-01 --json')
    .action(async (key: string, opts: { from?: string; to?: string; allVersions?: boolean }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const now = Date.now();
      const fromMs = opts.from !== undefined ? parseAsOf(opts.from, '--from', now) : undefined;
      const toMs = opts.to !== undefined ? parseAsOf(opts.to, '--to', now) : undefined;
      if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) {
        throw new StrataError('INPUT_INVALID', `--from (${opts.from}) is after --to (${opts.to})`);
      }
      const history = await ctx.withRegistry((registry) =>
        registry.history(key, { ...(fromMs !== undefined ? { fromMs } : {}), ...(toMs !== undefined ? { toMs } : {}), allVersions: opts.allVersions === true }),
      );
      ctx.emit(history, renderHistory);
    });

  segment
    .command('backfill')
    .summary('compute snapshots at regular instants in the past, then show the history')
    .description(
      'Compute snapshots of the segments (their current versions) as of T1,\n' +
        'T1 + STEP, ... up to and including T2, one batch per instant, so a new segment\n' +
        'has a history from day one. Instants that already have a snapshot of the\n' +
        `current version are kept unless --force. More than ${formatCount(1000)} instants needs\n` +
        '--max-steps.',
    )
    .argument('<KEY...>', 'segment keys')
    .requiredOption('--from <T1>', `the first instant: ${INSTANT_HELP}`)
    .requiredOption('--to <T2>', `the last instant (included when T1 + k * STEP lands on it): ${INSTANT_HELP}`)
    .requiredOption('--step <D>', 'the spacing: 1d, 1w, 12h, ...')
    .option('--force', 'recompute instants that already have a snapshot')
    .option('--max-steps <N>', 'allow up to N instants', '1000')
    .addHelpText(
      'after',
      '\nExamples:\n  $ strata segment backfill power-users --from 2025-01-06 --to 2025-06-02 \\\n      --step 1w\n' +
        '  $ strata segment backfill power-users gone-quiet --from -90d --to now \\\n      --step 1d --force',
    )
    .action(async (keys: string[], opts: { from: string; to: string; step: string; force?: boolean; maxSteps: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const now = Date.now();
      const fromMs = parseAsOf(opts.from, '--from', now);
      const toMs = parseAsOf(opts.to, '--to', now);
      const stepMs = parseStep(opts.step);
      const maxSteps = wholeNumber(opts.maxSteps, '--max-steps');
      if (fromMs > toMs) throw new StrataError('INPUT_INVALID', `--from (${opts.from}) is after --to (${opts.to})`);
      const progress = ctx.progress();
      let result: { backfill: BackfillResult; histories: SegmentHistory[] };
      try {
        result = await ctx.withRegistry(async (registry) => {
          const backfill = await registry.backfill(keys, {
            fromMs,
            toMs,
            stepMs,
            maxSteps,
            force: opts.force === true,
            onProgress: (done, total) => progress.update({ phase: 'backfilling', done, total }),
          });
          const histories: SegmentHistory[] = [];
          for (const key of backfill.keys) histories.push(await registry.history(key, { fromMs, toMs }));
          return { backfill, histories };
        });
      } finally {
        progress.stop();
      }
      ctx.emit(result, (r) => [renderBackfill(r.backfill), ...r.histories.map(renderHistory)].join('\n\n'));
    });
}

function parseStep(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new StrataError('TIME_INVALID', `--step: expected a duration such as 1d, 1w or 12h; got ${JSON.stringify(text)}`);
  if (ms <= 0) throw new StrataError('INPUT_INVALID', `--step: expected a positive duration, got ${JSON.stringify(text)}`);
  return ms;
}

function wholeNumber(text: string, option: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new StrataError('INPUT_INVALID', `${option}: expected a whole number of at least 1, got ${JSON.stringify(text)}`);
  return n;
}

/** An instant as short as it can be said: the date alone at midnight UTC, no milliseconds when whole seconds. */
export function shortInstant(iso: string): string {
  if (iso.endsWith('T00:00:00.000Z')) return iso.slice(0, 10);
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso;
}

export function renderHistory(h: SegmentHistory): string {
  const range = h.from !== null || h.to !== null ? ` between ${h.from !== null ? shortInstant(h.from) : 'the start'} and ${h.to !== null ? shortInstant(h.to) : 'now'}` : '';
  const versions = h.allVersions ? 'every version' : `v${h.version}`;
  if (h.points.length === 0) {
    return (
      `${h.key} (${versions}): no snapshots${range}. Build a history with:\n` +
      `  strata segment backfill ${h.key} --from -12w --to now --step 1w\n  strata segment compute ${h.key} --every 1d`
    );
  }
  const changed = h.points.some((p) => p.versionChanged);
  const table = formatTable(
    [
      { header: 'AS OF' },
      { header: 'VERSION', align: 'right' },
      { header: 'SIZE', align: 'right' },
      { header: 'SHARE', align: 'right' },
      { header: 'ENTERED', align: 'right' },
      { header: 'LEFT', align: 'right' },
      { header: 'WOW JACCARD', align: 'right' },
    ],
    h.points.map((p) => [
      shortInstant(p.asOf),
      `${p.versionChanged ? '* ' : ''}v${p.version}`,
      formatCount(p.size),
      p.share === null ? '-' : formatPercent(p.share),
      p.entered === null ? '-' : formatCount(p.entered),
      p.left === null ? '-' : formatCount(p.left),
      formatRatio(p.weeklyJaccard),
    ]),
  );
  const s = h.summary;
  const stability =
    s.meanWeeklyJaccard === null
      ? 'no snapshot has one 7 days before it, so there is no week-over-week Jaccard'
      : `mean week-over-week Jaccard ${formatRatio(s.meanWeeklyJaccard)} over ${s.weeklyComparisons} comparison${s.weeklyComparisons === 1 ? '' : 's'}`;
  return (
    `${h.key} (${versions}): ${s.snapshots} snapshot${s.snapshots === 1 ? '' : 's'}${range}\n${table}\n` +
    `${stability}; ${formatCount(s.entered)} entered and ${formatCount(s.left)} left in all` +
    (changed ? '\n* the version changed since the snapshot before' : '')
  );
}

function renderBackfill(b: BackfillResult): string {
  return (
    `Backfilled ${b.keys.join(', ')} at ${b.instants.length} instant${b.instants.length === 1 ? '' : 's'} from ${shortInstant(b.from)} to ${shortInstant(b.to)} every ${formatDuration(b.stepMs)}: ` +
    `${formatCount(b.computed)} snapshot${b.computed === 1 ? '' : 's'} computed, ${formatCount(b.kept)} kept`
  );
}
