/**
 * `strata segment size [KEY...] [--by NAME] [--as-of T] [--private]`: members per segment
 * as of an instant (the snapshot, computed when missing), optionally split by a trait's
 * value or by membership of another segment. With --private the sizes (and groups) are
 * released with differential privacy (src/privacy/dp/private-segment.ts).
 */
import type { Command } from 'commander';
import { resolveBreakdown } from '../../analysis/breakdown.js';
import { segmentSizes, type SegmentSizes } from '../../analysis/segment-sizes.js';
import { addPrivateOptions, privateSettings, type PrivateCliOptions } from '../../privacy/dp/private-options.js';
import { privateSegmentSizesBy, type PrivateSegmentSizes } from '../../privacy/dp/private-segment.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatPercent, formatTable } from '../table.js';
import { renderPrivateSizes } from './private-reports.js';
import { AS_OF_HELP, BY_HELP, parseAsOf } from './segment.js';

interface SizeOptions extends PrivateCliOptions {
  readonly asOf?: string;
  readonly by?: string;
}

export function registerSegmentSize(segment: Command, io: CliIo): void {
  const size = segment
    .command('size')
    .summary('members per segment as of an instant, optionally broken down')
    .description(
      'Count the members of the segments (default: all) as of an instant, computing\n' +
        'the snapshots when missing, with their share of the population. --by splits\n' +
        'each segment by a trait value or by membership of another segment (as of the\n' +
        'same instant).',
    )
    .argument('[KEY...]', 'segment keys (default: every segment)')
    .option('--as-of <T>', AS_OF_HELP)
    .option('--by <NAME>', BY_HELP)
    .addHelpText('after', '\nExamples:\n  $ strata segment size --as-of 2025-06-02\n  $ strata segment size power-users --by plan --json')
    .action(async (keys: string[], opts: SizeOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const settings = privateSettings(opts);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : Date.now();
      const progress = ctx.progress();
      let exact: SegmentSizes;
      let released: PrivateSegmentSizes | null = null;
      try {
        exact = await ctx.withRegistry(async (registry, config, store) => {
          progress.update({ phase: 'segment sizes', done: 0, total: 1 });
          const stored = (await registry.list()).map((s) => s.key);
          const chosen = keys.length > 0 ? keys : stored;
          const by = opts.by !== undefined ? resolveBreakdown(opts.by, config.plan, stored) : undefined;
          const sizes = chosen.length === 0 ? { asOf: new Date(asOfMs).toISOString(), by: null, segments: [] } : await segmentSizes(store, registry, chosen, { asOfMs, ...(by ? { by } : {}) });
          if (settings && sizes.segments.length > 0) released = await privateSegmentSizesBy({ store, privacy: config.privacy, actor: ctx.actor(), settings }, sizes);
          return sizes;
        });
      } finally {
        progress.stop();
      }
      if (released) return ctx.emit(released, renderPrivateSizes);
      ctx.emit(exact, renderSizes);
    });
  addPrivateOptions(size, ['strata segment size power-users --by plan --private']);
}

function renderSizes(r: SegmentSizes): string {
  if (r.segments.length === 0) return 'No segments yet. Add some with: strata segment add FILE...';
  const share = (n: number, of: number | null) => (of ? formatPercent(n / of) : '-');
  if (!r.by) {
    return (
      `Segment sizes as of ${r.asOf}\n` +
      formatTable(
        [{ header: 'SEGMENT' }, { header: 'VERSION', align: 'right' }, { header: 'SIZE', align: 'right' }, { header: 'SHARE', align: 'right' }],
        r.segments.map((s) => [s.key, `v${s.version}`, formatCount(s.size), share(s.size, s.population)]),
      )
    );
  }
  return (
    `Segment sizes as of ${r.asOf}, by ${r.by.label} (share of the segment)\n` +
    formatTable(
      [{ header: 'SEGMENT' }, { header: 'GROUP' }, { header: 'USERS', align: 'right' }, { header: 'SHARE', align: 'right' }],
      r.segments.flatMap((s) => [[s.key, '(all)', formatCount(s.size), share(s.size, s.population)], ...(s.groups ?? []).map((g) => ['', g.group, formatCount(g.users), share(g.users, s.size)])]),
    )
  );
}
