/**
 * `strata discover drivers`: which early behaviours go with conversion, retention and
 * revenue. The work is in src/models/discover (drivers.ts); this shell parses options,
 * resolves --segment and the purchase settings, and renders the tables.
 */
import { defaultModelAsOf } from '../../models/features/index.js';
import { Option, type Command } from 'commander';
import type { PurchaseSettings } from '../../analysis/rfm/rfm-config.js';
import type { Config } from '../../config/index.js';
import { StrataError } from '../../errors/errors.js';
import {
  DEFAULT_FDR,
  DEFAULT_MIN_USERS,
  DEFAULT_THRESHOLDS,
  discoverDrivers,
  type DriverCandidate,
  type DriverOutcome,
  type DriversResult,
  type RevenueCandidate,
  type RevenueSection,
} from '../../models/discover/drivers-index.js';
import { formatDuration, formatInstant, parseDurationMs } from '../../time/time.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatFields, formatPercent, formatTable } from '../table.js';
import { AS_OF_HELP, SEGMENT_HELP, parseAsOf } from './segment.js';
import { purchaseSettings } from './clv.js';

interface DriversCliOptions {
  readonly outcome: string;
  readonly first: string;
  readonly within: string;
  readonly asOf?: string;
  readonly segment?: string;
  readonly cohortFrom?: string;
  readonly cohortTo?: string;
  readonly thresholds: string;
  readonly events?: string;
  readonly minUsers: string;
  readonly fdr: string;
  readonly revenue?: boolean;
  readonly event?: string;
  readonly value?: string;
  readonly top: string;
}

/** What --json prints: the library result with instants as ISO strings. */
export interface DriversReport extends DriversResult {
  readonly asOf: string;
  readonly first: string;
  readonly within: string;
  readonly cohortFrom: string | null;
  /** The latest first-seen instant in the cohort, inclusive. */
  readonly cohortLast: string;
  readonly segment: string | null;
}

export function registerDiscoverDrivers(discover: Command, io: CliIo): void {
  discover
    .command('drivers')
    .summary('early behaviours that go with conversion, retention or revenue')
    .description(
      'For users first seen early enough that both windows are over by asOf:\n' +
        'does "did E at least n times in the first N days" go with the outcome in\n' +
        'the W days after? Conversion (--outcome EVENT): the event in that window;\n' +
        'users who did it in the first N days are left out (counted). Retention\n' +
        '(--outcome retention): any event but $exposure in that window.\n' +
        'Per behaviour: outcome rate with and without, lift (Katz interval),\n' +
        'difference (Newcombe interval), phi (Fisher z interval), chi-square or\n' +
        "Fisher's exact p-value, Benjamini-Hochberg q-value; intervals at the\n" +
        'false-coverage-rate level. --revenue: mean revenue per user in the\n' +
        'outcome window with vs without (Welch), and the share of payers.\n' +
        'These are associations, not causes.',
    )
    .requiredOption('--outcome <E>', 'a conversion event, or retention (event:NAME for an event so named)')
    .option('--first <D>', 'the early window: the first D after first seen', '14d')
    .option('--within <D>', 'the outcome window: the D after the early window', '28d')
    .addOption(new Option('--as-of <T>', AS_OF_HELP.replace('(default: now)', '(default: just after the latest event)')))
    .addOption(new Option('--segment <KEY>', SEGMENT_HELP))
    .option('--cohort-from <T>', 'only users first seen at or after T')
    .option('--cohort-to <T>', 'only users first seen before T')
    .option('--thresholds <N,...>', 'the counts n of "at least n times"', DEFAULT_THRESHOLDS.join(','))
    .option('--events <E,...>', 'candidate events (default: all but the outcome and $exposure)')
    .option('--min-users <N>', 'users needed on each side of a split', String(DEFAULT_MIN_USERS))
    .option('--fdr <Q>', 'false discovery rate (Benjamini-Hochberg)', String(DEFAULT_FDR))
    .option('--revenue', 'add revenue per user (strata.yaml rfm: or --event/--value)')
    .option('--event <E>', 'the purchase event for --revenue (default: rfm.event)')
    .option('--value <P>', 'its number property holding the value (default: rfm.value)')
    .option('--top <N>', 'rows per table', '20')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata discover drivers --outcome upgrade\n' +
        '  $ strata discover drivers --outcome retention --first 7d --within 21d\n' +
        '  $ strata discover drivers --outcome upgrade --revenue --json',
    )
    .action(async (opts: DriversCliOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const progress = ctx.progress();
      try {
        const top = numberOption(opts.top, '--top', 1, true);
        const driversReport = await ctx.withRegistry(async (registry, config, store) => {
          const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : await defaultModelAsOf(store);
          const earlyMs = durationOption(opts.first, '--first');
          const withinMs = durationOption(opts.within, '--within');
          const cohortFromMs = opts.cohortFrom === undefined ? null : parseAsOf(opts.cohortFrom, '--cohort-from', asOfMs);
          const cohortToMs = opts.cohortTo === undefined ? null : parseAsOf(opts.cohortTo, '--cohort-to', asOfMs);
          const revenue = opts.revenue === true || opts.event !== undefined || opts.value !== undefined;
          const memberSnapshotId = opts.segment === undefined ? null : (await registry.snapshot(opts.segment, { asOfMs })).snapshotId;
          const steps = { counting: 0, statistics: 1 } as const;
          const result = await discoverDrivers(store, config.plan, {
            outcome: outcomeOption(opts.outcome),
            asOfMs,
            earlyMs,
            withinMs,
            cohortFromMs,
            cohortToMs,
            memberSnapshotId,
            thresholds: thresholdsOption(opts.thresholds),
            ...(opts.events === undefined ? {} : { events: opts.events.split(',').map((e) => e.trim()).filter((e) => e !== '') }),
            minUsers: numberOption(opts.minUsers, '--min-users', 1, true),
            fdr: fdrOption(opts.fdr),
            purchase: revenue ? revenueSettings(config, opts) : null,
            onStep: (step) => progress.update({ phase: step, done: steps[step], total: 2 }),
          });
          return report(result, opts.segment ?? null);
        });
        progress.stop();
        ctx.emit(driversReport, (r) => render(r, top));
      } finally {
        progress.stop();
      }
    });
}

function report(result: DriversResult, segment: string | null): DriversReport {
  return {
    ...result,
    asOf: formatInstant(result.asOfMs),
    first: days(result.earlyMs),
    within: days(result.withinMs),
    cohortFrom: result.cohort.fromMs === null ? null : formatInstant(result.cohort.fromMs),
    cohortLast: formatInstant(result.cohort.lastMs),
    segment,
  };
}

/** Whole days as `14d` (formatDuration would say 2w), else the shortest unit. */
function days(ms: number): string {
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : formatDuration(ms);
}

function outcomeOption(text: string): DriverOutcome {
  if (text === 'retention') return { kind: 'retention' };
  const event = text.startsWith('event:') ? text.slice('event:'.length) : text;
  if (event === '') throw new StrataError('INPUT_INVALID', '--outcome: expected an event name or retention', [{ path: '--outcome', message: 'an event of the tracking plan, or retention' }]);
  return { kind: 'conversion', event };
}

function durationOption(text: string, option: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0) throw new StrataError('TIME_INVALID', `${option}: expected a duration such as 14d or 2w, got ${JSON.stringify(text)}`);
  return ms;
}

function numberOption(text: string, option: string, min: number, integer: boolean): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new StrataError('INPUT_INVALID', `${option}: expected ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(text)}`);
  }
  return n;
}

function fdrOption(text: string): number {
  const q = Number(text);
  if (text.trim() === '' || !(q > 0 && q < 1)) throw new StrataError('INPUT_INVALID', `--fdr: expected a rate between 0 and 1 such as 0.05, got ${JSON.stringify(text)}`);
  return q;
}

function thresholdsOption(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^[1-9]\d*$/.test(p))) {
    throw new StrataError('INPUT_INVALID', `--thresholds: expected positive integers separated by commas such as 1,2,3,5,10, got ${JSON.stringify(text)}`);
  }
  return parts.map(Number);
}

/** --event/--value over strata.yaml's `rfm:` purchase settings (as `strata clv` reads them). */
/** clv's resolver (--event/--value or strata.yaml's rfm:), and revenue needs a value. */
function revenueSettings(config: Config, opts: DriversCliOptions): PurchaseSettings {
  const settings = purchaseSettings(config, opts);
  if (settings.value === null) {
    throw new StrataError('CONFIG_INVALID', '--revenue needs purchase settings with a value: add rfm: {event, value} to strata.yaml or give --event and --value', [
      { path: 'rfm', message: 'expected rfm: {event: purchase, value: amount}' },
    ]);
  }
  return settings;
}

const fixed = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const interval = (ci: readonly [number, number] | null, digits: number) => (ci === null ? '-' : `[${fixed(ci[0], digits)}, ${fixed(ci[1], digits)}]`);
const qText = (q: number) => (q < 0.001 ? '<0.001' : q.toFixed(3));
const points = (d: number) => `${d >= 0 ? '+' : ''}${(d * 100).toFixed(1)}`;
const money = (x: number) => (Math.abs(x) >= 1000 ? formatCount(x) : x.toFixed(2));
const behaviour = (c: { event: string; atLeast: number }) => `${c.event} >= ${c.atLeast}`;

function outcomeName(r: DriversReport): string {
  return r.outcome.kind === 'retention' ? 'retention (any event)' : r.outcome.event;
}

function header(r: DriversReport): string {
  const skipped = r.skipped.length === 0 ? '' : ` (${r.skipped.length} more splits left out)`;
  const fields: [string, string][] = [
    ['Outcome', `${outcomeName(r)} in the ${r.within} after the first ${r.first}`],
    ['As of', r.asOf],
    ['Cohort', `${formatCount(r.users)} users first seen ${r.cohortFrom === null ? '' : `from ${r.cohortFrom} `}up to ${r.cohortLast}${r.segment === null ? '' : `, members of ${r.segment}`}`],
  ];
  if (r.outcome.kind === 'conversion') fields.push(['Left out', `${formatCount(r.alreadyConverted)} already did ${r.outcome.event} in the first ${r.first}`]);
  fields.push(['Analysed', `${formatCount(r.analysed)} users, ${formatCount(r.outcomes)} reached the outcome (${formatPercent(r.outcomeRate)})`]);
  fields.push(['Behaviours', `${r.candidates.length} tested${skipped}; ${r.significant} significant at FDR ${r.fdr}`]);
  if (r.candidates.length > 0) fields.push(['Intervals', `${(r.intervalLevel * 100).toFixed(2)}% (false-coverage-rate adjusted)`]);
  return formatFields(fields);
}

function outcomeTable(candidates: readonly DriverCandidate[]): string {
  const rows = candidates.map((c) => [
    behaviour(c),
    formatCount(c.with.users),
    formatPercent(c.with.rate),
    formatPercent(c.without.rate),
    `${fixed(c.lift ?? NaN, 2)} ${interval(c.liftCi, 2)}`,
    points(c.difference),
    `${fixed(c.phi, 3)} ${interval(c.phiCi, 2)}`,
    `${qText(c.qValue)}${c.significant ? ' *' : ''}`,
  ]);
  return formatTable(
    [
      { header: 'BEHAVIOUR' },
      { header: 'USERS', align: 'right' },
      { header: 'RATE', align: 'right' },
      { header: 'W/O', align: 'right' },
      { header: 'LIFT [CI]', align: 'right' },
      { header: 'PP', align: 'right' },
      { header: 'PHI [CI]', align: 'right' },
      { header: 'Q' },
    ],
    rows,
  );
}

function revenueTable(candidates: readonly RevenueCandidate[]): string {
  const rows = candidates.map((c) => [
    behaviour(c),
    formatCount(c.with.users),
    money(c.with.mean),
    money(c.without.mean),
    `${fixed(c.ratio ?? NaN, 2)} ${interval(c.ratioCi, 2)}`,
    formatPercent(c.with.payerShare),
    formatPercent(c.without.payerShare),
    `${qText(c.qValue)}${c.significant ? ' *' : ''}`,
  ]);
  return formatTable(
    [
      { header: 'BEHAVIOUR' },
      { header: 'USERS', align: 'right' },
      { header: 'MEAN', align: 'right' },
      { header: 'MEAN W/O', align: 'right' },
      { header: 'RATIO [CI]', align: 'right' },
      { header: 'PAID', align: 'right' },
      { header: 'PAID W/O', align: 'right' },
      { header: 'Q' },
    ],
    rows,
  );
}

function revenueBlock(s: RevenueSection, r: DriversReport, top: number): string {
  const head =
    `Revenue per user in the outcome window (${s.event}, value ${s.value}${s.quantity ? ` x ${s.quantity}` : ''}):\n` +
    `mean ${money(s.mean)}, ${formatPercent(s.users === 0 ? 0 : s.payers / s.users)} paid; ${s.significant} of ${s.candidates.length} significant at FDR ${r.fdr} (Welch);\n` +
    `intervals at ${(s.intervalLevel * 100).toFixed(2)}%:`;
  if (s.candidates.length === 0) return head;
  const more = s.candidates.length > top ? `\n(${s.candidates.length - top} more in --json)` : '';
  return `${head}\n${revenueTable(s.candidates.slice(0, top))}${more}`;
}

/** Words wrapped at a width (the note is one sentence pair in JSON). */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line].join('\n');
}

function render(r: DriversReport, top: number): string {
  const parts = [header(r)];
  if (r.reason !== null && r.candidates.length === 0) parts.push(`Nothing to test: ${r.reason}.`);
  if (r.candidates.length > 0) {
    const more = r.candidates.length > top ? `\n(${r.candidates.length - top} more in --json)` : '';
    parts.push(`Behaviours in the first ${r.first} by |phi|. RATE: outcome rate with the behaviour,\nW/O: without; PP: difference in points; Q: BH q-value, * significant:\n${outcomeTable(r.candidates.slice(0, top))}${more}`);
  }
  if (r.revenue !== null) parts.push(revenueBlock(r.revenue, r, top));
  parts.push(wrap(r.note, 80));
  return parts.join('\n\n');
}
