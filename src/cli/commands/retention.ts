/**
 * `strata retention`: cohort retention tables (src/analysis/retention). Options map onto
 * the keys of a retention file (`--file`); an option given on the command line replaces
 * the file's value, and errors name the option or the file line they come from.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import {
  ALIGNMENTS,
  COHORT_UNITS,
  DEFAULT_PERIODS,
  RETENTION_MODES,
  computeRetention,
  parseRetentionFile,
  type RetentionCohort,
  type RetentionGroup,
  type RetentionResult,
} from '../../analysis/retention/index.js';
import { StrataError } from '../../errors/errors.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatPercent, formatTable } from '../table.js';
import { AS_OF_HELP, BY_HELP, SEGMENT_HELP, displayPath, parseAsOf } from './segment.js';

interface RetentionOptions {
  cohort?: string;
  alignment?: string;
  startEvent?: string;
  startWhere?: string[];
  returnEvent?: string;
  returnWhere?: string[];
  periods?: string;
  from?: string;
  to?: string;
  asOf?: string;
  mode?: string;
  by?: string;
  segment?: string;
  file?: string;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function registerRetention(program: Command, io: CliIo): void {
  program
    .command('retention')
    .summary('cohort retention tables: who comes back, period by period')
    .description(
      'Groups users into cohorts by the day, ISO week (Monday, UTC) or month (UTC)\n' +
        'they were first seen, or of their first --start-event, and counts for each\n' +
        "period k after the cohort's who came back (--return-event, default any event).\n" +
        'Two tables: returned in period k, and returned in period k or any later period\n' +
        'before asOf (on or after). Period 0 is the cohort period from the start instant\n' +
        'on; the start event counts as a return when it matches the return event.\n' +
        'Calendar alignment (the default) counts calendar periods after the cohort\n' +
        "period; elapsed alignment counts whole days or weeks from each user's start.\n" +
        'Cells whose period had not ended at asOf are marked *.',
    )
    .addOption(new Option('--cohort <UNIT>', 'cohort and period unit (default week)').choices([...COHORT_UNITS]))
    .addOption(new Option('--alignment <A>', 'calendar periods after the cohort period, or elapsed units from each start (default calendar)').choices([...ALIGNMENTS]))
    .option('--start-event <E>', "cohort by each user's first E instead of first seen")
    .option('--start-where <P>', 'a property predicate on the start event, {property: NAME, <op>: VALUE} (repeatable)', collect)
    .option('--return-event <E>', 'what counts as coming back (default *: any event)')
    .option('--return-where <P>', 'a property predicate on the return event (repeatable)', collect)
    .option('--periods <N>', `periods after period 0 (default ${Object.entries(DEFAULT_PERIODS).map(([u, n]) => `${u} ${n}`).join(', ')})`)
    .option('--from <T1>', 'only users who start at or after T1 (ISO date or instant, or an offset from asOf like -12w)')
    .option('--to <T2>', 'only users who start before T2 (default: asOf)')
    .option('--as-of <T>', AS_OF_HELP)
    .addOption(new Option('--mode <M>', 'which tables (default both)').choices([...RETENTION_MODES]))
    .option('--by <NAME>', BY_HELP)
    .option('--segment <KEY>', SEGMENT_HELP)
    .option('--file <FILE>', 'a retention definition (YAML or JSON with the keys cohort, alignment, start, return, periods, from, to, mode, by, segment); options override it')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata retention --cohort week --periods 8\n' +
        '  $ strata retention --cohort month --start-event purchase \\\n' +
        '      --return-event purchase --as-of 2011-12-10\n' +
        '  $ strata retention --cohort day --alignment elapsed \\\n' +
        '      --return-event core_task_completed \\\n' +
        "      --return-where '{property: duration_s, gte: 60}'\n" +
        '  $ strata retention --file retention.yaml --by plan --json',
    )
    .action(async (opts: RetentionOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : Date.now();
      const file = opts.file === undefined ? null : await readRetentionFile(io, opts.file);
      const { definition, sources } = mergeOptions(file?.definition ?? {}, opts);
      const where = (p: string) => {
        const top = p.split(/[.[]/)[0]!;
        if (sources.has(top)) return optionPath(p, sources.get(top)!);
        return file === null ? p : `${file.locate(p)} ${p}`;
      };
      const progress = ctx.progress();
      let result: RetentionResult;
      try {
        result = await ctx.withRegistry((registry, config, store) => {
          progress.update({ phase: 'retention', done: 0, total: 1 });
          return computeRetention({ store, plan: config.plan, registry }, definition, { asOfMs, where });
        });
      } finally {
        progress.stop();
      }
      ctx.emit(result, renderRetention);
    });
}

async function readRetentionFile(io: CliIo, file: string) {
  const full = path.resolve(io.cwd, file);
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch {
    throw new StrataError('FILE_NOT_FOUND', `no such file: ${file}`, [{ path: file, message: 'expected a retention definition file (YAML or JSON)' }]);
  }
  return parseRetentionFile(text, displayPath(io, full));
}

/** The file's definition with the command-line options laid over it, and which keys came from which option. */
function mergeOptions(fileDefinition: unknown, opts: RetentionOptions): { definition: unknown; sources: Map<string, string> } {
  if (fileDefinition === null || typeof fileDefinition !== 'object' || Array.isArray(fileDefinition)) return { definition: fileDefinition, sources: new Map() };
  const def: Record<string, unknown> = { ...(fileDefinition as Record<string, unknown>) };
  const sources = new Map<string, string>();
  const set = (key: string, value: unknown, option: string) => {
    if (value === undefined) return;
    def[key] = value;
    sources.set(key, option);
  };
  set('cohort', opts.cohort, '--cohort');
  set('alignment', opts.alignment, '--alignment');
  set('periods', opts.periods === undefined ? undefined : /^\d+$/.test(opts.periods) ? Number(opts.periods) : opts.periods, '--periods');
  set('from', opts.from, '--from');
  set('to', opts.to, '--to');
  set('mode', opts.mode, '--mode');
  set('by', opts.by, '--by');
  set('segment', opts.segment, '--segment');
  set('start', eventOption(def.start, opts.startEvent, opts.startWhere, '--start'), '--start');
  set('return', eventOption(def.return, opts.returnEvent, opts.returnWhere, '--return'), '--return');
  return { definition: def, sources };
}

/** `--start-event E` and `--start-where P...` over the file's `start` (the same for return). */
function eventOption(fromFile: unknown, event: string | undefined, where: string[] | undefined, prefix: '--start' | '--return'): unknown {
  if (event === undefined && where === undefined) return undefined;
  const fileEvent = typeof fromFile === 'string' ? fromFile : fromFile !== null && typeof fromFile === 'object' ? (fromFile as { event?: unknown }).event : undefined;
  const name = event ?? fileEvent ?? (prefix === '--return' ? '*' : undefined);
  if (name === undefined || name === 'first-seen') {
    throw new StrataError('INPUT_INVALID', `${prefix}-where needs ${prefix}-event: cohorts by first seen take no property predicates`, [
      { path: `${prefix}-where`, message: `add ${prefix}-event E (the event the predicates apply to)` },
    ]);
  }
  const predicates = where?.map((text, i) => predicateOption(text, `${prefix}-where #${i + 1}`));
  return { event: name, where: predicates ?? (fromFile !== null && typeof fromFile === 'object' ? (fromFile as { where?: unknown }).where : undefined) ?? [] };
}

function predicateOption(text: string, option: string): unknown {
  try {
    return parseYaml(text, { version: '1.2' }) as unknown;
  } catch (e) {
    throw new StrataError('INPUT_INVALID', `${option}: not a YAML or JSON mapping`, [
      { path: option, message: `expected {property: NAME, <op>: VALUE}, such as '{property: plan, eq: pro}': ${(e as Error).message.split('\n')[0]}` },
    ]);
  }
}

/** A definition path written on the command line, named by its option. */
function optionPath(p: string, option: string): string {
  if (option !== '--start' && option !== '--return') return option;
  const m = /^\w+\.where\[(\d+)\](.*)$/.exec(p);
  if (m) return `${option}-where #${Number(m[1]) + 1}${m[2] ? ` (${m[2].replace(/^\./, '')})` : ''}`;
  return `${option}-event`;
}

// ---- human output ---------------------------------------------------------------------

const ADJECTIVE = { day: 'daily', week: 'weekly', month: 'monthly' } as const;

export function renderRetention(r: RetentionResult): string {
  const unit = r.cohort;
  const startText = r.startEvent === null ? 'first seen' : `first ${eventText(r.startEvent)}`;
  const head = [
    `Retention of ${ADJECTIVE[unit]} cohorts by ${startText}; return: ${eventText(r.returnEvent)}; ${r.alignment === 'calendar' ? `calendar ${unit}s after the cohort ${unit}` : `whole ${unit}s since each start`}`,
    `as of ${r.asOf}; users starting ${r.from === null ? '' : `from ${r.from} `}before ${r.to}${r.segment ? `; members of ${r.segment.key}` : ''}${r.breakdown ? `; by ${r.breakdown}` : ''}`,
  ].join('\n');
  if (r.groups.length === 0) return `${head}\n\nNo user starts in that range.`;
  const tables: string[] = [];
  for (const g of r.groups) {
    const title = r.breakdown === null ? '' : `${g.group} (${formatCount(g.size)} users)\n`;
    if (r.mode !== 'on-or-after') tables.push(`${title}Returned in ${unit} k\n${groupTable(g, r, 'returned')}`);
    if (r.mode !== 'returned') tables.push(`${title}Returned in ${unit} k or later (on or after)\n${groupTable(g, r, 'onOrAfter')}`);
  }
  return `${head}\n\n${tables.join('\n\n')}\n\n* the period had not ended at asOf (the cell can still grow); "all cohorts" counts complete cells only.`;
}

function eventText(e: { event: string; where: readonly string[] }): string {
  const name = e.event === '*' ? 'any event' : e.event;
  return e.where.length === 0 ? name : `${name} where ${e.where.join(' and ')}`;
}

function groupTable(g: RetentionGroup, r: RetentionResult, field: 'returned' | 'onOrAfter'): string {
  const rate = field === 'returned' ? 'returnedRate' : 'onOrAfterRate';
  const columns = [{ header: 'COHORT' }, { header: 'USERS', align: 'right' as const }];
  for (let k = 0; k <= r.periods; k++) columns.push({ header: String(k), align: 'right' as const });
  const row = (c: RetentionCohort) => [
    c.cohort,
    formatCount(c.size),
    ...Array.from({ length: r.periods + 1 }, (_, k) => {
      const cell = c.cells[k];
      return cell === undefined ? '' : `${formatPercent(cell[rate] ?? 0)}${cell.complete ? ' ' : '*'}`;
    }),
  ];
  const overall = [
    'all cohorts',
    formatCount(g.size),
    ...Array.from({ length: r.periods + 1 }, (_, k) => {
      const cell = g.overall.find((o) => o.period === k);
      return cell === undefined ? '' : `${formatPercent(cell[rate] ?? 0)} `;
    }),
  ];
  return formatTable(columns, [...g.cohorts.map(row), overall]);
}
