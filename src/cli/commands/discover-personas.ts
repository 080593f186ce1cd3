/**
 * `strata discover personas`: personas of the users as of T, stored with ids kept across
 * refreshes (src/models/discover); `--show` prints a stored version. This shell resolves the
 * options (population, --segment snapshot, purchase settings) and renders the report.
 */
import { defaultModelAsOf } from '../../models/features/index.js';
import type { Command } from 'commander';
import { StrataError } from '../../errors/errors.js';
import { discoverPersonas, showPersonas, DEFAULT_PERSONAS_KEY, type PersonaPopulation, type PersonaReport } from '../../models/discover/index.js';
import { parseDurationMs } from '../../time/time.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatFields, formatPercent, formatTable } from '../table.js';
import { parseAsOf } from './segment.js';

interface PersonasOptions {
  readonly key: string;
  readonly k?: string;
  readonly kMax?: string;
  readonly asOf?: string;
  readonly segment?: string;
  readonly active?: string;
  readonly seed: string;
  readonly traits?: string;
  readonly depth?: string;
  readonly save: boolean;
  readonly show?: boolean;
  readonly atVersion?: string;
}

/** Where each phase starts on the bar (the k search's fits move it within their step). */
const PHASES = { features: 0, 'k search': 1, silhouette: 2, kmeans: 3, describing: 4, saving: 5 } as const;
const STEPS = 6;

export function registerDiscoverPersonas(discover: Command, io: CliIo): void {
  discover
    .command('personas')
    .summary('find personas (k-means on behaviour), name them, store them by version')
    .description(
      'Cluster the users as of T on behavioural features (event counts over 28\n' +
        'days, recency, active days, trend, sessions, depth, tenure, spend when\n' +
        'strata.yaml has rfm:), log1p then standardized; k-means++ with k chosen by\n' +
        'silhouette over 2..8 unless --k. Each persona gets an id that stays across\n' +
        'refreshes (centroids matched to the previous version of --key), a name and\n' +
        'its most distinguishing features. The model is stored as the next version\n' +
        'with every user\'s persona as of T, read by {cluster: KEY, eq: ID}.\n' +
        'Population: users with an event in [T - 90d, T) (--active), or the members\n' +
        'of a segment as of T (--segment), or everyone (--active all).',
    )
    .option('--key <KEY>', 'the model key', DEFAULT_PERSONAS_KEY)
    .option('--k <K>', 'number of personas (default: best silhouette)')
    .option('--k-max <K>', 'largest k the search tries', '8')
    .option('--as-of <T>', 'read events before T (default: just after the last event)')
    .option('--segment <KEY>', 'cluster the members of this segment as of T')
    .option('--active <D>', "only users active in [T - D, T): 90d, 2w, or 'all'")
    .option('--seed <N>', 'seed of k-means++ and the samples', '0')
    .option('--traits <T,...>', 'also use these (non-sensitive) traits as features')
    .option('--depth <PROP>', 'count distinct values of this event property (depth)')
    .option('--no-save', 'report only: store neither the model nor the run')
    .option('--show', 'show a stored version instead of discovering')
    .option('--at-version <N>', 'with --show: the version (default the latest)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata discover personas\n' +
        '  $ strata discover personas --k 5 --as-of 2026-10-01 --no-save\n' +
        '  $ strata discover personas --key payers --segment paying --active all\n' +
        '  $ strata discover personas --show --at-version 2 --json\n' +
        '\nThen: {cluster: personas, eq: 2} in a segment matches persona 2.',
    )
    .action(async (opts: PersonasOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      if (opts.show) {
        const version = opts.atVersion === undefined ? null : wholeNumber(opts.atVersion, '--at-version', 1);
        const shown = await ctx.withStore((store) => showPersonas(store, opts.key, version));
        ctx.emit(shown, renderReport);
        return;
      }
      if (opts.atVersion !== undefined) throw new StrataError('INPUT_INVALID', '--at-version needs --show');
      const progress = ctx.progress();
      try {
        const report = await ctx.withRegistry(async (registry, config, store) => {
          const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : await defaultModelAsOf(store);
          let population: PersonaPopulation = activeOption(opts.active);
          if (opts.segment !== undefined) {
            progress.update({ phase: 'segment members', done: 0, total: STEPS });
            const s = await registry.snapshot(opts.segment, { asOfMs });
            population = { ...population, segment: { key: opts.segment, snapshotId: s.snapshotId, version: s.version } };
          }
          const found = await discoverPersonas(store, config.plan, {
            key: opts.key,
            asOfMs,
            population,
            purchase: config.rfm.purchase,
            seed: wholeNumber(opts.seed, '--seed', 0),
            kMax: wholeNumber(opts.kMax ?? '8', '--k-max', 2),
            save: opts.save,
            actor: ctx.actor(),
            ...(opts.k !== undefined ? { k: wholeNumber(opts.k, '--k', 2) } : {}),
            ...(opts.traits !== undefined ? { traits: opts.traits.split(',').map((t) => t.trim()).filter((t) => t !== '') } : {}),
            ...(opts.depth !== undefined ? { depthProperty: opts.depth } : {}),
            onProgress: (p) => progress.update({ phase: p.phase, done: PHASES[p.phase] + (p.phase === 'k search' ? p.done / p.total : 0), total: STEPS }),
          });
          return found.report;
        });
        progress.stop();
        ctx.emit(report, renderReport);
      } finally {
        progress.stop();
      }
    });
}

/** --active: a duration (whole days or more), or 'all' for no activity filter; absent: the library's default. */
function activeOption(text: string | undefined): PersonaPopulation {
  if (text === undefined) return {};
  if (text === 'all') return { activeDays: null };
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0) throw new StrataError('TIME_INVALID', `--active: expected a duration such as 90d or 2w, or all; got ${JSON.stringify(text)}`);
  return { activeDays: ms / 86_400_000 };
}

function wholeNumber(text: string, option: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) throw new StrataError('INPUT_INVALID', `${option}: expected a whole number >= ${min}, got ${JSON.stringify(text)}`);
  return n;
}

const num = (x: number, digits = 3): string => (Number.isFinite(x) ? Number(x.toPrecision(digits)).toString() : '-');
/** d; beyond ±99 the groups barely overlap (a near-zero pooled spread makes d explode), so it prints as a bound. */
const signed = (x: number): string => (x > 99 ? '>+99' : x < -99 ? '<-99' : `${x >= 0 ? '+' : ''}${x.toFixed(2)}`);

function populationText(r: PersonaReport): string {
  const p = r.population;
  const parts = [`${formatCount(p.users)} users`];
  if (p.segment) parts.push(`in segment ${p.segment.key}${p.segment.version === null ? '' : ` (v${p.segment.version})`}`);
  if (p.activeDays !== null) parts.push(`active in the ${num(p.activeDays, 6)} days before T`);
  return parts.join(', ');
}

function changesText(r: PersonaReport): string {
  const c = r.changes;
  if (c.previousVersion === null) return `first version of "${r.key}": ids 1..${r.k}`;
  const ids = (xs: readonly number[]) => (xs.length === 0 ? 'none' : xs.join(', '));
  const vanished = c.vanished.length === 0 ? 'none' : c.vanished.map((v) => `${v.id} (${v.name})`).join(', ');
  const partial = c.comparedFeatures < r.features.length ? ` (compared on ${c.comparedFeatures} shared features)` : '';
  return `since version ${c.previousVersion}${partial}: kept ${ids(c.matched.map((m) => m.id))}; new ${ids(c.created)}; vanished ${vanished}`;
}

function renderPersona(p: PersonaReport['personas'][number]): string {
  const head = `#${p.id} ${p.name}: ${formatCount(p.size)} users (${formatPercent(p.share)})`;
  if (p.features.length === 0) return `${head}\n   no feature sets it apart from the rest`;
  const table = formatTable(
    [{ header: 'feature' }, { header: 'persona', align: 'right' }, { header: 'rest', align: 'right' }, { header: 'd', align: 'right' }],
    p.features.map((f) => [f.feature, num(f.mean, 4), num(f.restMean, 4), signed(f.smd)]),
  );
  return `${head}\n   ${p.description}\n${table.split('\n').map((l) => `   ${l}`).join('\n')}`;
}

function renderReport(r: PersonaReport): string {
  const search = r.candidates.map((c) => `k=${c.k} ${num(c.silhouette)}${c.k === r.k ? '*' : ''}`).join(', ');
  const stored = r.version === null ? 'not stored (--no-save)' : `version ${r.version}${r.runId === null ? '' : `, run ${r.runId}: {cluster: ${r.key}, eq: ID}`}`;
  const head = formatFields([
    ['Personas', `${r.key}, ${stored}`],
    ['As of', r.asOf],
    ['Population', populationText(r)],
    ['k', `${r.k} (${r.chosenBy === 'given' ? 'given' : 'best silhouette'}), silhouette ${num(r.silhouette)}`],
    ['k search', search],
    ['Ids', changesText(r)],
  ]);
  const legend = 'persona/rest: means in raw units; d: standardized difference (log1p scale)';
  return [head, '', ...r.personas.map(renderPersona).flatMap((t) => [t, '']), legend].join('\n');
}
