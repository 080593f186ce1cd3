/**
 * `strata funnel`: a funnel of ordered steps as of an instant, per step the users reached,
 * conversion, drop-off and the time from the previous step; by trait or segment, within a
 * segment, and a drop-off step saved as a segment. The work is in src/analysis/funnel.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import {
  FUNNEL_ORDERS,
  analyzeFunnel,
  checkDropoff,
  checkFunnelDocument,
  funnelFromArguments,
  saveDropoffSegment,
  type DropoffSaved,
  type FunnelDefinition,
  type FunnelResult,
  type StepTimes,
} from '../../analysis/funnel/index.js';
import { StrataError } from '../../errors/errors.js';
import { parseSegmentText } from '../../segments/language/index.js';
import { MS } from '../../time/time.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatPercent, formatTable } from '../table.js';
import { AS_OF_HELP, BY_HELP, SEGMENT_HELP, displayPath, parseAsOf } from './segment.js';

interface FunnelCommandOptions {
  file?: string;
  span?: string;
  within?: string;
  during?: string;
  since?: string;
  order?: string;
  asOf?: string;
  by?: string;
  segment?: string;
  saveDropoff?: string;
  key?: string;
  name?: string;
}

/** The --json output: the funnel, and the saved drop-off segment when one was saved. */
export type FunnelCommandResult = FunnelResult & { readonly saved?: SavedSummary };

interface SavedSummary {
  readonly key: string;
  readonly version: number;
  readonly status: DropoffSaved['status'];
  readonly step: number;
  readonly asOf: string;
  readonly size: number;
}

export function registerFunnel(program: Command, io: CliIo): void {
  program
    .command('funnel')
    .summary('conversion through ordered steps, with drop-off and time between steps')
    .description(
      'Follow users through ordered steps as of an instant: per step, the users who\n' +
        'reached it, conversion from the previous step and from step 1, how many\n' +
        'dropped off, and the time from the previous step (median and quartiles).\n' +
        'Steps are event names, or come with property filters from --file (the\n' +
        "segment language's funnel condition without reached).\n\n" +
        "Orders: sequential (default) is the language's funnel condition: strictly\n" +
        'increasing times, other events allowed between steps. strict: no other event\n' +
        'of the user strictly between two steps. any: steps 1..k in any order, all\n' +
        'within span of the first of them. Every step comes strictly before step 1 +\n' +
        'span; the entry window (--within, --during, --since) applies to step 1 (in\n' +
        'any order, to the first event).',
    )
    .argument('[STEP...]', 'the steps, as event names (or use --file)')
    .option('--file <FILE>', 'a YAML or JSON funnel: funnel: [steps], span, within|during|since, order')
    .option('--span <D>', 'the conversion window: each step before step 1 + D (7d, 12h, 2w)')
    .option('--within <D>', 'step 1 within the last D before the as-of instant')
    .option('--during <FROM,TO>', 'step 1 in [FROM, TO): two ISO dates or instants')
    .option('--since <T>', 'step 1 from T (an ISO date or instant) on')
    .addOption(new Option('--order <ORDER>', 'how steps follow each other (default: sequential)').choices([...FUNNEL_ORDERS]))
    .option('--as-of <T>', AS_OF_HELP)
    .option('--by <NAME>', BY_HELP)
    .option('--segment <KEY>', SEGMENT_HELP)
    .option('--save-dropoff <K>', 'save the users who reached step K-1 but not step K as a segment (sequential order)')
    .option('--key <KEY>', 'with --save-dropoff: the new segment\'s key')
    .option('--name <NAME>', 'with --save-dropoff: the new segment\'s name (default: generated)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata funnel signed_up onboarding_started core_task_completed \\\n' +
        '      --span 7d --within 90d\n' +
        '  $ strata funnel --file funnels/onboarding.yaml --by plan --as-of 2025-06-01\n' +
        '  $ strata funnel signed_up first_project_created --span 1d --order strict \\\n' +
        '      --segment power-users\n' +
        '  $ strata funnel signed_up onboarding_started core_task_completed \\\n' +
        '      --span 7d --within 90d --save-dropoff 3 --key onboarding-stalled',
    )
    .action(async (steps: string[], opts: FunnelCommandOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : Date.now();
      const dropoff = dropoffOptions(opts);
      const progress = ctx.progress();
      let result: FunnelCommandResult;
      try {
        result = await ctx.withRegistry(async (registry, config, store) => {
          const funnel = await readFunnel(io, steps, opts, config.plan);
          if (dropoff !== null) checkDropoff(funnel, dropoff.step);
          progress.update({ phase: 'funnel', done: 0, total: 1 });
          const table = await analyzeFunnel(store, registry, config.plan, funnel, {
            asOfMs,
            ...(opts.segment !== undefined ? { segment: opts.segment } : {}),
            ...(opts.by !== undefined ? { by: opts.by } : {}),
          });
          if (dropoff === null) return table;
          progress.update({ phase: 'saving drop-off', done: 0, total: 1 });
          const saved = await saveDropoffSegment(registry, funnel, {
            ...dropoff,
            asOfMs,
            actor: ctx.actor(),
            ...(opts.segment !== undefined ? { segment: opts.segment } : {}),
          });
          return { ...table, saved: { key: saved.key, version: saved.version, status: saved.status, step: saved.step, asOf: saved.snapshot.asOf, size: saved.snapshot.size } };
        });
      } finally {
        progress.stop();
      }
      ctx.emit(result, renderFunnel);
      if (result.saved !== undefined) {
        const dropped = totalDropped(result, result.saved.step);
        if (dropped !== result.saved.size) {
          ctx.note(`strata: note: the saved segment has ${formatCount(result.saved.size)} members as of ${result.saved.asOf}, the table ${formatCount(dropped)} drop-offs at step ${result.saved.step}`);
        }
      }
    });
}

/** The funnel from --file or from the arguments; the two do not mix. */
async function readFunnel(io: CliIo, steps: readonly string[], opts: FunnelCommandOptions, plan: Parameters<typeof checkFunnelDocument>[1]): Promise<FunnelDefinition> {
  if (opts.file === undefined) {
    if (steps.length === 0) {
      throw new StrataError('INPUT_INVALID', 'no steps: give the steps as event names (strata funnel signed_up core_task_completed --span 7d) or a funnel file with --file', [
        { path: 'STEP...', message: 'expected at least one event name, or --file FILE' },
      ]);
    }
    return funnelFromArguments(
      {
        steps,
        ...(opts.span !== undefined ? { span: opts.span } : {}),
        ...(opts.within !== undefined ? { within: opts.within } : {}),
        ...(opts.during !== undefined ? { during: opts.during } : {}),
        ...(opts.since !== undefined ? { since: opts.since } : {}),
        ...(opts.order !== undefined ? { order: opts.order } : {}),
      },
      plan,
    );
  }
  const inline = [...(steps.length > 0 ? ['STEP...'] : []), ...(['span', 'within', 'during', 'since', 'order'] as const).filter((k) => opts[k] !== undefined).map((k) => `--${k}`)];
  if (inline.length > 0) {
    throw new StrataError('INPUT_INVALID', `--file holds the whole funnel; ${inline.join(', ')} cannot be given with it`, [
      { path: inline[0]!, message: 'write it in the funnel file instead (funnel, span, within|during|since, order)' },
    ]);
  }
  const file = path.resolve(io.cwd, opts.file);
  const shown = displayPath(io, file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    throw new StrataError('FILE_NOT_FOUND', `no such file: ${shown}`, [{ path: shown, message: 'expected a YAML or JSON funnel file' }]);
  }
  let raw: unknown;
  try {
    raw = parseSegmentText(text, shown);
  } catch (e) {
    // The language's parser reports syntax errors at file:line:col; here they are a funnel's.
    if (e instanceof StrataError && e.code === 'SEGMENT_INVALID') throw new StrataError('INPUT_INVALID', e.message.replace('holds no definition', 'holds no funnel'), e.details, { cause: e });
    throw e;
  }
  return checkFunnelDocument(raw, plan, shown);
}

function dropoffOptions(opts: FunnelCommandOptions): { step: number; key: string; name?: string } | null {
  if (opts.saveDropoff === undefined) {
    const stray = (['key', 'name'] as const).find((k) => opts[k] !== undefined);
    if (stray !== undefined) {
      throw new StrataError('INPUT_INVALID', `--${stray} names the segment --save-dropoff saves; it needs --save-dropoff K`, [{ path: `--${stray}`, message: 'expected --save-dropoff K beside it' }]);
    }
    return null;
  }
  if (!/^\d+$/.test(opts.saveDropoff)) {
    throw new StrataError('INPUT_INVALID', `--save-dropoff: expected a step number, got ${JSON.stringify(opts.saveDropoff)}`, [
      { path: '--save-dropoff', message: 'expected K, the step users did not reach (2 for those who did step 1 only)' },
    ]);
  }
  if (opts.key === undefined) {
    throw new StrataError('INPUT_INVALID', '--save-dropoff needs --key KEY, the key of the segment to save', [{ path: '--key', message: 'expected a segment key such as onboarding-stalled' }]);
  }
  return { step: Number(opts.saveDropoff), key: opts.key, ...(opts.name !== undefined ? { name: opts.name } : {}) };
}

function totalDropped(r: FunnelResult, step: number): number {
  return r.groups.reduce((sum, g) => sum + (g.steps[step - 1]?.droppedOff ?? 0), 0);
}

export function renderFunnel(r: FunnelCommandResult): string {
  const window = r.window === null ? 'step 1 at any time' : 'within' in r.window ? `step 1 within ${r.window.within}` : 'since' in r.window ? `step 1 since ${r.window.since}` : `step 1 during ${r.window.during[0]} to ${r.window.during[1]}`;
  const scope = [
    `${r.order} order`,
    `span ${r.span}`,
    window,
    ...(r.segment ? [`members of ${r.segment.key} (${formatCount(r.segment.size)})`] : []),
    ...(r.by ? [`by ${r.by}`] : []),
  ];
  const head = `Funnel${r.name ? ` ${r.name}` : ''} as of ${r.asOf}: ${r.steps.map((s) => s.label).join(' -> ')}\n${scope.join(', ')}`;
  const grouped = r.by !== null;
  const columns = [
    ...(grouped ? [{ header: 'GROUP' }] : []),
    { header: 'STEP' },
    { header: 'REACHED', align: 'right' as const },
    { header: 'FROM PREV', align: 'right' as const },
    { header: 'FROM STEP 1', align: 'right' as const },
    { header: 'DROPPED', align: 'right' as const },
    { header: 'MEDIAN TIME', align: 'right' as const },
    { header: 'P25 - P75', align: 'right' as const },
  ];
  const share = (x: number | null) => (x === null ? '-' : formatPercent(x));
  const rows = r.groups.flatMap((g) =>
    g.steps.map((s) => [
      ...(grouped ? [s.step === 1 ? (g.group ?? '') : ''] : []),
      `${s.step} ${s.label}`,
      formatCount(s.reached),
      share(s.conversionFromPrevious),
      share(s.conversionFromFirst),
      s.droppedOff === null ? '-' : formatCount(s.droppedOff),
      s.timeFromPrevious === null ? '-' : humanDuration(s.timeFromPrevious.median),
      s.timeFromPrevious === null ? '-' : quartiles(s.timeFromPrevious),
    ]),
  );
  const table = rows.length === 0 ? 'No user entered the funnel.' : formatTable(columns, rows);
  const saved = r.saved
    ? `\n\nSaved segment ${r.saved.key} (v${r.saved.version}, ${r.saved.status}): ${formatCount(r.saved.size)} users as of ${r.saved.asOf} reached step ${r.saved.step - 1} but not step ${r.saved.step}.`
    : '';
  return `${head}\n\n${table}\n\nTimes are from the previous step, for each user's earliest attempt among those reaching furthest.${saved}`;
}

function quartiles(t: StepTimes): string {
  return `${humanDuration(t.p25)} - ${humanDuration(t.p75)}`;
}

const UNITS: readonly (readonly [string, number])[] = [
  ['d', MS.d],
  ['h', MS.h],
  ['m', MS.m],
  ['s', 1000],
];

/** A time span for people: the two largest units (3d 4h, 2h 13m, 1m 5s, 45s), or ms under a second. */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  for (let i = 0; i < UNITS.length - 1; i++) {
    const [unit, size] = UNITS[i]!;
    const [smallUnit, small] = UNITS[i + 1]!;
    // Round in the smaller unit first, so 1h 59m 59.9s reads 2h, not 1h 60m.
    const total = Math.round(ms / small);
    if (total * small < size) continue;
    const per = size / small;
    const whole = Math.floor(total / per);
    const rest = total - whole * per;
    return rest === 0 ? `${whole}${unit}` : `${whole}${unit} ${rest}${smallUnit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}
