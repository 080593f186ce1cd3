/**
 * `strata moments list|show`: the key moments of strata.yaml (`moments:`), computed per
 * user as of an instant. The library calls are in src/analysis/moments.
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import {
  findMoment,
  momentInstants,
  momentSummaries,
  writeMomentInstants,
  type MomentInstant,
  type MomentInstantFormat,
  type MomentPeriod,
  type MomentsReport,
  type MomentSummary,
} from '../../analysis/moments/index.js';
import { StrataError } from '../../errors/errors.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatFields, formatPercent, formatTable } from '../table.js';
import { AS_OF_HELP, SEGMENT_HELP, displayPath, parseAsOf } from './segment.js';

const DEFAULT_LIMIT = 20;

interface ShowResult {
  readonly asOf: string;
  readonly per: MomentPeriod;
  readonly segment: { readonly key: string; readonly version: number; readonly size: number } | null;
  /** Users the share is out of: the population, or the segment's members. */
  readonly population: number;
  readonly moment: MomentSummary;
  readonly definition: Readonly<Record<string, unknown>>;
  /** The earliest users, up to --limit. */
  readonly users: readonly { readonly userId: string; readonly at: string }[];
  readonly out: { readonly file: string; readonly format: MomentInstantFormat; readonly written: number } | null;
}

export function registerMoments(program: Command, io: CliIo): void {
  const moments = program
    .command('moments')
    .summary('key moments per user (first core action, activity thresholds, stalls)')
    .description(
      'Key moments, configured in strata.yaml under moments: (README, "Key moments"):\n' +
        '  first      the first matching event, or the first strictly after an anchor\n' +
        '  threshold  N active days or N matching events in one calendar month (UTC)\n' +
        '  absence    no matching event within D of an anchor; the instant is anchor + D\n' +
        'Each is computed per user with its instant, as of an instant: only events\n' +
        'before asOf exist, and a moment whose instant is not before asOf has not\n' +
        'happened yet.',
    );

  moments
    .command('list')
    .summary('each moment: its rule, how many users reached it, the first and last instant')
    .description(
      'List the key moments of strata.yaml as of an instant: for each, its kind and\n' +
        'rule, how many users of the population reached it (and their share), and the\n' +
        'instants of the first and the last user to reach it.',
    )
    .option('--as-of <T>', AS_OF_HELP)
    .addHelpText('after', '\nExamples:\n  $ strata moments list\n  $ strata moments list --as-of 2025-06-01 --json')
    .action(async (opts: { asOf?: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : Date.now();
      const progress = ctx.progress();
      let report: MomentsReport;
      try {
        report = await ctx.withStore((store, config) =>
          momentSummaries(store, config, { asOfMs, onProgress: (done, total) => progress.update({ phase: 'computing moments', done, total }) }),
        );
      } finally {
        progress.stop();
      }
      ctx.emit(report, renderList);
    });

  moments
    .command('show')
    .summary('one moment: its definition, users reached per week, and who reached it when')
    .description(
      'Show one key moment as of an instant: its definition as written, how many users\n' +
        'reached it (of the population, or of the members of --segment), the count per\n' +
        'week or month (--per), and the earliest users to reach it with their instants.\n' +
        '--out writes every user who reached it.',
    )
    .argument('<KEY>', 'the moment key (under moments: in strata.yaml)')
    .option('--as-of <T>', AS_OF_HELP)
    .option('--segment <KEY>', SEGMENT_HELP)
    .option('--limit <N>', 'users listed, earliest first', String(DEFAULT_LIMIT))
    .addOption(new Option('--per <P>', 'bucket of the counts').choices(['week', 'month']).default('week'))
    .option('--out <FILE>', 'also write every user who reached it, with the instant, to FILE')
    .addOption(new Option('--format <F>', 'format of --out').choices(['csv', 'jsonl']).default('csv'))
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata moments show first-core-action\n' +
        '  $ strata moments show stalled-activation --as-of 2025-06-01 \\\n' +
        '      --segment enterprise-prospects\n' +
        '  $ strata moments show monthly-regular --per month --out regulars.csv',
    )
    .action(async (key: string, opts: { asOf?: string; segment?: string; limit: string; per: MomentPeriod; out?: string; format: MomentInstantFormat }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : Date.now();
      const limit = wholeNumber(opts.limit, '--limit');
      const out = opts.out === undefined ? null : path.resolve(io.cwd, opts.out);
      const progress = ctx.progress();
      const steps = 2 + (opts.segment === undefined ? 0 : 1) + (out === null ? 0 : 1);
      let done = 0;
      const step = (phase: string) => progress.update({ phase, done: done++, total: steps });
      let result: ShowResult;
      try {
        result = await ctx.withRegistry(async (registry, config, store) => {
          const moment = findMoment(config, key);
          let segment: ShowResult['segment'] = null;
          let restrict: { snapshotId?: number } = {};
          if (opts.segment !== undefined) {
            step('segment members');
            const s = await registry.snapshot(opts.segment, { asOfMs });
            segment = { key: opts.segment, version: s.version, size: s.size };
            restrict = { snapshotId: s.snapshotId };
          }
          step('counting');
          const report = await momentSummaries(store, config, { asOfMs, per: opts.per, keys: [key], ...restrict });
          step('listing users');
          // --out writes everyone, so everyone is fetched; otherwise only the first --limit.
          const users = await momentInstants(store, config, key, { asOfMs, ...(out === null ? { limit } : {}), ...restrict });
          let written: ShowResult['out'] = null;
          if (out !== null) {
            step('writing');
            written = { file: out, format: opts.format, written: await writeMomentInstants(users, opts.format, out) };
          }
          return {
            asOf: report.asOf,
            per: report.per,
            segment,
            population: report.population,
            moment: report.moments[0]!,
            definition: moment.source,
            users: users.slice(0, limit).map((u: MomentInstant) => ({ userId: u.userId, at: u.at })),
            out: written,
          };
        });
      } finally {
        progress.stop();
      }
      ctx.emit(result, (r) => renderShow(r, io));
    });
}

function renderList(r: MomentsReport): string {
  if (r.moments.length === 0) {
    return 'No key moments configured. Add a moments: section to strata.yaml, for example:\n  moments:\n    first-core-action:\n      first: <event>';
  }
  return (
    `Key moments as of ${shortInstant(r.asOf)} (population ${formatCount(r.population)})\n` +
    formatTable(
      [
        { header: 'MOMENT' },
        { header: 'KIND' },
        { header: 'RULE' },
        { header: 'REACHED', align: 'right' },
        { header: 'SHARE', align: 'right' },
        { header: 'FIRST' },
        { header: 'LAST' },
      ],
      r.moments.map((m) => [
        m.key,
        m.kind,
        m.rule,
        formatCount(m.reached),
        r.population > 0 ? formatPercent(m.reached / r.population) : '-',
        m.firstAt === null ? '-' : shortInstant(m.firstAt),
        m.lastAt === null ? '-' : shortInstant(m.lastAt),
      ]),
    )
  );
}

function renderShow(r: ShowResult, io: CliIo): string {
  const m = r.moment;
  const share = r.population > 0 ? ` (${formatPercent(m.reached / r.population)})` : '';
  const head = formatFields([
    ['moment', m.key],
    ...(m.name !== m.key ? [['name', m.name] as const] : []),
    ['kind', m.kind],
    ['rule', m.rule],
    ...(m.description !== null ? [['description', m.description] as const] : []),
    ['as of', shortInstant(r.asOf)],
    ...(r.segment !== null ? [['segment', `${r.segment.key} (v${r.segment.version}, ${formatCount(r.segment.size)} members)`] as const] : []),
    ['reached', `${formatCount(m.reached)} of ${formatCount(r.population)} ${r.segment === null ? 'users' : 'members'}${share}`],
    ['first', m.firstAt === null ? '-' : shortInstant(m.firstAt)],
    ['last', m.lastAt === null ? '-' : shortInstant(m.lastAt)],
  ]);
  const definition = stringify({ [m.key]: r.definition }).trimEnd();
  const buckets =
    m.buckets.length === 0
      ? ''
      : `\n\nReached per ${r.per}\n${formatTable(
          [{ header: r.per === 'week' ? 'WEEK OF' : 'MONTH' }, { header: 'USERS', align: 'right' }],
          m.buckets.map((b) => [r.per === 'week' ? b.start.slice(0, 10) : b.start.slice(0, 7), formatCount(b.users)]),
        )}`;
  const users =
    r.users.length === 0
      ? ''
      : `\n\nUsers, earliest first (${formatCount(r.users.length)} of ${formatCount(m.reached)})\n${formatTable(
          [{ header: 'USER' }, { header: 'AT' }],
          r.users.map((u) => [u.userId, shortInstant(u.at)]),
        )}`;
  const written = r.out === null ? '' : `\n\nAll ${formatCount(r.out.written)} written to ${displayPath(io, r.out.file)} (${r.out.format})`;
  return `${head}\n\nDefinition (strata.yaml):\n${indent(definition)}${buckets}${users}${written}`;
}

/** `2025-06-01 12:30:00 UTC`, with milliseconds only when there are some. */
function shortInstant(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.endsWith('.000Z') ? iso.slice(11, 19) : iso.slice(11, 23)} UTC`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

function wholeNumber(text: string, option: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new StrataError('INPUT_INVALID', `${option}: expected a whole number, got ${JSON.stringify(text)}`);
  return n;
}
