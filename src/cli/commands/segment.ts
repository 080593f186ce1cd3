import path from 'node:path';
import { Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import type { Config } from '../../config/index.js';
import { StrataError } from '../../errors/errors.js';
import {
  SegmentRegistry,
  type AddResult,
  type ComputeResult,
  type DiffResult,
  type OverlapResult,
  type SegmentDetails,
  type SegmentListItem,
  type SegmentReport,
  type BehaviorMetric,
  type BehaviorReport,
} from '../../segments/registry/index.js';
import type { EventStore } from '../../store/event-store.js';
import { parseDurationMs, parseInstantMs, parseRelativeOffsetMs } from '../../time/time.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatFields, formatPercent, formatRatio, formatSeconds, formatTable } from '../table.js';
import { definitionFiles, readDefinitions } from './segment-files.js';
import { registerSegmentHistory } from './segment-history.js';
import { computeEvery, type ComputeEveryOptions } from './segment-refresh.js';
import { registerSegmentLint } from './segment-lint.js';
import { addPrivateOptions, privateSettings, type PrivateCliOptions } from '../../privacy/dp/private-options.js';
import { privateSegmentSizes, type PrivateSegmentSizes } from '../../privacy/dp/private-segment.js';
import { renderPrivateSizes } from './private-reports.js';
import { registerSegmentSize } from './segment-size.js';

/** `now`, an ISO date or instant, or an offset from now such as `-7d`. */
export function parseAsOf(text: string, option: string, nowMs: number): number {
  const offset = parseRelativeOffsetMs(text);
  if (offset !== undefined) return nowMs + offset;
  if (text === 'now') return nowMs;
  const ms = parseInstantMs(text);
  if (ms === undefined) {
    throw new StrataError('TIME_INVALID', `${option}: expected an ISO-8601 date or instant (2024-05-01, 2024-05-01T12:00:00Z), now, or an offset like -7d; got ${JSON.stringify(text)}`);
  }
  return ms;
}

/** Option help shared by the commands that take these options, so each reads the same everywhere. */
export const AS_OF_HELP = 'evaluate as of this instant: an ISO date or instant (UTC when no zone), now, or an offset like -7d (default: now)';
export const BY_HELP = 'split by a trait value or by segment membership: trait:T, segment:KEY, or a bare trait or segment name';
export const SEGMENT_HELP = 'only the members of this segment as of the same instant';

export function registerSegment(program: Command, io: CliIo): void {
  const segment = program
    .command('segment')
    .summary('define segments, compute who is in them, and analyse them')
    .description(
      'Segments are YAML or JSON definitions (see README, "Segment language").\n' +
        '`add` stores an immutable version of each definition that changed; `compute`\n' +
        'materializes membership snapshots as of an instant; the others read them.',
    );

  const withRegistry = <T>(ctx: CommandContext, fn: (registry: SegmentRegistry, config: Config, store: EventStore) => Promise<T>): Promise<T> =>
    ctx.withRegistry(fn);

  segment
    .command('add')
    .summary('validate and store segment definitions')
    .description(
      'Validate segment definitions against the tracking plan and store them. FILE may\n' +
        'be a definition file (.yaml, .yml, .json; one definition, or a list of them) or\n' +
        'a folder of them. Without FILE, adds every definition in the workspace segments\n' +
        'folder. A new version is stored only when a definition changed. All files are\n' +
        'checked before anything is stored.',
    )
    .argument('[FILE...]', 'definition files or folders (default: the segments folder)')
    .addHelpText('after', '\nExamples:\n  $ strata segment add segments/power-users.yaml\n  $ strata segment add segments/\n  $ strata segment add')
    .action(async (files: string[], _opts: unknown, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const results = await withRegistry(ctx, async (registry, config) => {
        const inputs = files.length > 0 ? files.map((f) => path.resolve(io.cwd, f)) : [config.segmentsDir];
        const found = await definitionFiles(inputs);
        if (found.length === 0) {
          throw new StrataError('FILE_NOT_FOUND', `no segment definitions in ${inputs.map((f) => displayPath(io, f)).join(', ')}`, [
            { path: inputs.map((f) => displayPath(io, f)).join(', '), message: 'expected .yaml, .yml or .json files' },
          ]);
        }
        // The registry's context: the lifecycle model and the stored models `score` / `cluster` name.
        const sources = await readDefinitions(found, config.plan, (f) => displayPath(io, f), await registry.segmentContext());
        const added = await registry.add(sources.map((s) => s.definition), { actor: ctx.actor() });
        return added.map((r, i) => ({ ...r, file: sources[i]!.file }));
      });
      ctx.emit(results, (rs: readonly (AddResult & { file: string })[]) =>
        formatTable(
          [{ header: 'SEGMENT' }, { header: 'VERSION', align: 'right' }, { header: 'STATUS' }, { header: 'FILE' }],
          rs.map((r) => [r.key, `v${r.version}`, r.status, displayPath(io, r.file)]),
        ),
      );
    });

  segment
    .command('list')
    .summary('list the segments with their current version and last computed size')
    .description('List the stored segments: key, name, objective, owner, current version, and the\nsize and share of the latest snapshot.')
    .addHelpText('after', '\nExamples:\n  $ strata segment list\n  $ strata segment list --json')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const items = await withRegistry(ctx, (registry) => registry.list());
      ctx.emit(items, (xs: readonly SegmentListItem[]) =>
        xs.length === 0
          ? 'No segments yet. Add some with: strata segment add FILE...'
          : formatTable(
              [
                { header: 'SEGMENT' },
                { header: 'NAME' },
                { header: 'OBJECTIVE' },
                { header: 'OWNER' },
                { header: 'VERSION', align: 'right' },
                { header: 'SIZE', align: 'right' },
                { header: 'SHARE', align: 'right' },
                { header: 'AS OF' },
              ],
              xs.map((x) => {
                const s = x.lastSnapshot;
                return [
                  x.key,
                  x.name,
                  x.objective,
                  x.owner ?? NO_OWNER,
                  `v${x.version}`,
                  s ? formatCount(s.size) : '-',
                  s && s.population ? formatPercent(s.size / s.population) : '-',
                  s ? s.asOf : 'not computed',
                ];
              }),
            ),
      );
    });

  segment
    .command('show')
    .summary('show a segment: its definition, versions and recent snapshots')
    .description('Show a segment: its current definition, every stored version, and its recent\nsnapshots.')
    .argument('<KEY>', 'the segment key')
    .addHelpText('after', '\nExamples:\n  $ strata segment show power-users')
    .action(async (key: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const details = await withRegistry(ctx, (registry) => registry.show(key));
      ctx.emit(details, renderShow);
    });

  segment
    .command('compute')
    .summary('compute membership snapshots (all segments in one batch)')
    .description(
      'Compute who is in the segments (default: all) as of an instant and store the\n' +
        'snapshots. All the segments of one call are computed by one batch query that\n' +
        'shares work.',
    )
    .argument('[KEY...]', 'segment keys (default: every segment)')
    .option('--as-of <T>', AS_OF_HELP)
    .option('--every <D>', 'refresh on a schedule: every D (30s, 15m, 1h, 1d), as of each multiple of D since the epoch, until Ctrl-C')
    .option('--count <N>', 'with --every: stop after N refreshes')
    .option('--catch-up', 'with --every: refresh the latest tick at or before now at once instead of waiting for the next')
    .option('--audit-fairness', 'with --every: after each refresh, audit every targeting segment for fairness as of the tick and store the reports (strata audit fairness --targeting)')
    .addHelpText(
      'after',
      '\nWith --every, each refresh computes as of its tick (every 1h: :00 UTC), not the\n' +
        'wall time it ran, prints one line (one JSON line with --json), and never\n' +
        'overlaps the one before (a tick due meanwhile is skipped and reported). A failed\n' +
        'refresh is reported and the schedule goes on; Ctrl-C or TERM stops after the\n' +
        'refresh in flight.\n' +
        '\nExamples:\n  $ strata segment compute\n  $ strata segment compute power-users gone-quiet --as-of 2025-06-02\n' +
        '  $ strata segment compute --every 1h\n  $ strata segment compute power-users --every 15m --count 4 --json',
    )
    .action(async (keys: string[], opts: { asOf?: string } & ComputeEveryOptions & PrivateCliOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const settings = privateSettings(opts);
      if (opts.every !== undefined || opts.count !== undefined || opts.catchUp || opts.auditFairness) {
        if (settings) throw new StrataError('INPUT_INVALID', '--private releases once: it does not combine with --every', [{ path: '--private', message: 'leave out --every, --count and --catch-up' }]);
        return computeEvery(ctx, keys, opts);
      }
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : undefined;
      const progress = ctx.progress();
      let results: ComputeResult[];
      let released: PrivateSegmentSizes | null = null;
      try {
        results = await withRegistry(ctx, async (registry, config, store) => {
          progress.update({ phase: 'computing', done: 0, total: 1 });
          const computed = await registry.compute(keys.length > 0 ? keys : undefined, asOfMs !== undefined ? { asOfMs } : {});
          // --private: the snapshots keep the exact sizes; only the noisy sizes are printed.
          if (settings && computed.length > 0) released = await privateSegmentSizes({ store, privacy: config.privacy, actor: ctx.actor(), settings }, computed, computed[0]!.asOf);
          return computed;
        });
      } finally {
        progress.stop();
      }
      if (released) return ctx.emit(released, renderPrivateSizes);
      ctx.emit(results, (rs: readonly ComputeResult[]) =>
        rs.length === 0
          ? 'No segments to compute. Add some with: strata segment add FILE...'
          : `Computed ${rs.length} segment${rs.length === 1 ? '' : 's'} as of ${rs[0]!.asOf} in ${formatSeconds(rs[0]!.elapsedMs)} (population ${formatCount(rs[0]!.population)})\n` +
            formatTable(
              [{ header: 'SEGMENT' }, { header: 'VERSION', align: 'right' }, { header: 'SIZE', align: 'right' }, { header: 'SHARE', align: 'right' }],
              rs.map((r) => [r.key, `v${r.version}`, formatCount(r.size), r.population > 0 ? formatPercent(r.size / r.population) : '-']),
            ),
      );
    });

  segment
    .command('members')
    .summary('list the member user ids (one per row)')
    .description(
      'Print or write the ids of the members as of an instant, one per row (CSV with a\n' +
        'user_id header, or JSONL). Computes the snapshot first if there is none for that\n' +
        'instant.',
    )
    .argument('<KEY>', 'the segment key')
    .option('--as-of <T>', AS_OF_HELP)
    .addOption(new Option('--format <F>', 'csv or jsonl').choices(['csv', 'jsonl']).default('csv'))
    .option('--out <FILE>', 'write to FILE instead of stdout')
    .addHelpText('after', '\nExamples:\n  $ strata segment members power-users --as-of 2025-06-02 --out power-users.csv\n  $ strata segment members gone-quiet --format jsonl | head')
    .action(async (key: string, opts: { asOf?: string; format: 'csv' | 'jsonl'; out?: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : undefined;
      const asOf = asOfMs !== undefined ? { asOfMs } : {};
      if (opts.out !== undefined) {
        const out = path.resolve(io.cwd, opts.out);
        const result = await withRegistry(ctx, (registry) => registry.writeMembers(key, { ...asOf, format: opts.format, out }));
        ctx.emit(result, (r) => `Wrote ${formatCount(r.written)} members of ${key} (v${r.snapshot.version}, as of ${r.snapshot.asOf}) to ${displayPath(io, out)}`);
        return;
      }
      if (ctx.globals.json) {
        const result = await withRegistry(ctx, async (registry) => {
          const { snapshot, ids } = await registry.members(key, asOf);
          const members: string[] = [];
          for await (const id of ids) members.push(id);
          return { snapshot, members };
        });
        ctx.emit(result, () => '');
        return;
      }
      await withRegistry(ctx, (registry) => registry.writeMembers(key, { ...asOf, format: opts.format, out: io.stdoutStream ?? writableFor(io.stdout) }));
    });

  segment
    .command('diff')
    .summary('who entered, left and stayed between two instants')
    .description(
      'Compare the members as of two instants (computing the snapshots when missing):\n' +
        'how many entered, left and stayed, with a sample of ids per group.',
    )
    .argument('<KEY>', 'the segment key')
    .requiredOption('--from <T1>', 'the earlier instant (ISO date or instant, now, or -7d)')
    .requiredOption('--to <T2>', 'the later instant (ISO date or instant, now, or -7d)')
    .option('--sample <N>', 'ids listed per group (counts are always exact)', '10')
    .addHelpText('after', '\nExamples:\n  $ strata segment diff power-users --from 2025-05-01 --to 2025-06-01')
    .action(async (key: string, opts: { from: string; to: string; sample: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const now = Date.now();
      const fromMs = parseAsOf(opts.from, '--from', now);
      const toMs = parseAsOf(opts.to, '--to', now);
      const sampleLimit = wholeNumber(opts.sample, '--sample');
      const result = await withRegistry(ctx, (registry) => registry.diff(key, { fromMs, toMs, sampleLimit }));
      ctx.emit(result, renderDiff);
    });

  segment
    .command('report')
    .summary('size, share, distinguishing traits and events, engagement, conversion and revenue')
    .description(
      'Report a segment as of an instant: its size and share of the population, then\n' +
        'the traits and events most over- or under-represented among members compared\n' +
        'with the rest, with lift (share among members / share in the population), then\n' +
        'engagement (events, active days, distinct events per user in the window; days\n' +
        'since the last event), conversion (share who did the purchase event in the\n' +
        'window) and revenue per user and per converter, for the members against the\n' +
        'whole population. Conversion and revenue use the purchase event of the `rfm:`\n' +
        'settings in strata.yaml.',
    )
    .argument('<KEY>', 'the segment key')
    .option('--as-of <T>', AS_OF_HELP)
    .option('--limit <N>', 'features listed per kind', '10')
    .option('--window <D>', 'the engagement, conversion and revenue window before the as-of instant (7d, 4w, 12h)', '28d')
    .addHelpText('after', '\nExamples:\n  $ strata segment report power-users --as-of 2025-06-02\n  $ strata segment report big-spenders --window 90d --json')
    .action(async (key: string, opts: { asOf?: string; limit: string; window: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : undefined;
      const limit = wholeNumber(opts.limit, '--limit');
      const windowMs = parseWindow(opts.window, '--window');
      const report = await withRegistry(ctx, (registry, config) =>
        registry.report(key, { ...(asOfMs !== undefined ? { asOfMs } : {}), limit, windowMs, purchase: config.rfm.purchase }),
      );
      ctx.emit(report, renderReport);
    });

  segment
    .command('overlap')
    .summary('pairwise overlap (Jaccard) of segments')
    .description('The Jaccard index |A and B| / |A or B| of every pair of segments (default: all) as of an instant.')
    .argument('[KEY...]', 'segment keys (default: every segment)')
    .option('--as-of <T>', AS_OF_HELP)
    .addHelpText('after', '\nExamples:\n  $ strata segment overlap --as-of 2025-06-02\n  $ strata segment overlap power-users weekly-regulars')
    .action(async (keys: string[], opts: { asOf?: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : undefined;
      const result = await withRegistry(ctx, (registry) => registry.overlap(keys.length > 0 ? keys : undefined, asOfMs !== undefined ? { asOfMs } : {}));
      ctx.emit(result, renderOverlap);
    });

  addPrivateOptions(segment.commands.find((c) => c.name() === 'compute')!, ['strata segment compute power-users --private --epsilon 0.5']);
  registerSegmentSize(segment, io);
  registerSegmentHistory(segment, io);
  registerSegmentLint(segment, io);
}

function renderShow(d: SegmentDetails): string {
  const def = d.definition;
  const head = formatFields([
    ['segment', def.key],
    ['name', def.name],
    ['objective', def.objective],
    ['owner', def.owner ?? NO_OWNER],
    ['tags', def.tags && def.tags.length > 0 ? def.tags.join(', ') : '-'],
    ['version', `v${d.version}`],
  ]);
  const rationale = `rationale:\n${indent(wrap(def.rationale.trim(), 86))}`;
  const match = `match:\n${indent(stringify(def.match, { lineWidth: 0 }).trimEnd())}`;
  const versions = formatTable(
    [{ header: 'VERSION', align: 'right' }, { header: 'STORED' }, { header: 'HASH' }],
    [...d.versions].reverse().map((v) => [`v${v.version}`, v.createdAt, v.hash.slice(0, 12)]),
  );
  const snapshots =
    d.snapshots.length === 0
      ? 'No snapshots yet: strata segment compute ' + def.key
      : formatTable(
          [{ header: 'AS OF' }, { header: 'VERSION', align: 'right' }, { header: 'SIZE', align: 'right' }, { header: 'SHARE', align: 'right' }, { header: 'COMPUTED' }],
          d.snapshots.map((s) => [s.asOf, `v${s.version}`, formatCount(s.size), s.population ? formatPercent(s.size / s.population) : '-', s.computedAt]),
        );
  return `${head}\n${rationale}\n${match}\n\nVersions\n${versions}\n\nSnapshots\n${snapshots}`;
}

export function renderDiff(r: DiffResult): string {
  const sample = (g: DiffResult['entered']) => (g.sample.length === 0 ? '' : `${g.sample.join(', ')}${g.complete ? '' : ', ...'}`);
  return (
    `${r.key} (v${r.version}) from ${r.from.asOf} (${formatCount(r.from.size)} members) to ${r.to.asOf} (${formatCount(r.to.size)} members)\n` +
    formatTable(
      [{ header: 'CHANGE' }, { header: 'USERS', align: 'right' }, { header: 'SAMPLE' }],
      [
        ['entered', formatCount(r.entered.count), sample(r.entered)],
        ['left', formatCount(r.left.count), sample(r.left)],
        ['stayed', formatCount(r.stayed.count), sample(r.stayed)],
      ],
    )
  );
}

/** A stored version from before owners were required (issue 7) has none. */
const NO_OWNER = '(none)';

/** What the segment is for and who answers for it, at the top of every report. */
export function renderPurpose(r: { readonly name: string; readonly objective: string; readonly owner: string | null; readonly rationale: string }): string {
  return `${r.name}\nobjective: ${r.objective}; owner: ${r.owner ?? NO_OWNER}\nrationale: ${r.rationale.trim().replace(/\s+/g, ' ')}`;
}

export function renderReport(r: SegmentReport): string {
  const head = `${r.key} (v${r.version}) as of ${r.snapshot.asOf}: ${formatCount(r.size)} of ${formatCount(r.population)} users (${r.share === null ? '-' : formatPercent(r.share)})\n${renderPurpose(r)}`;
  const features =
    r.features.length === 0
      ? 'No trait or event distinguishes the members.'
      : formatTable(
          [{ header: 'FEATURE' }, { header: 'MEMBERS', align: 'right' }, { header: 'REST', align: 'right' }, { header: 'LIFT', align: 'right' }],
          r.features.map((f) => [
            f.label,
            f.shareMembers === null ? '-' : formatPercent(f.shareMembers),
            f.shareRest === null ? '-' : formatPercent(f.shareRest),
            formatRatio(f.lift),
          ]),
        );
  const numeric =
    r.numeric.length === 0
      ? ''
      : '\n\n' +
        formatTable(
          [{ header: 'NUMERIC TRAIT' }, { header: 'MEAN MEMBERS', align: 'right' }, { header: 'MEAN REST', align: 'right' }, { header: 'STD DIFF', align: 'right' }],
          r.numeric.map((n) => [n.name, formatRatio(n.meanMembers, 1), formatRatio(n.meanRest, 1), formatRatio(n.standardizedDifference)]),
        );
  return `${head}\n\n${features}${numeric}\n\nShares are of members and of everyone else; lift = share among members / share in the population.\n\n${renderBehavior(r.behavior)}`;
}

/** Engagement, conversion and revenue: members against the population, with lift and Cohen's d (members vs the rest). */
export function renderBehavior(b: BehaviorReport): string {
  const metrics = [
    b.engagement.frequency,
    b.engagement.activeDays,
    b.engagement.recency,
    b.engagement.depth,
    ...(b.conversion ? [b.conversion] : []),
    ...(b.revenue ? [b.revenue.perUser, b.revenue.perConverter] : []),
  ];
  const value = (m: BehaviorMetric, v: number | null | undefined) =>
    v === null || v === undefined ? '-' : m.kind === 'share' ? formatPercent(v) : formatRatio(v, 2);
  const table = formatTable(
    [
      { header: 'METRIC' },
      { header: 'MEMBERS', align: 'right' },
      { header: 'POPULATION', align: 'right' },
      { header: 'LIFT', align: 'right' },
      { header: 'DIFF', align: 'right' },
      { header: 'STD DIFF', align: 'right' },
    ],
    metrics.flatMap((m) => {
      const diff = m.kind === 'share' && m.difference !== null ? `${(m.difference * 100).toFixed(1)} pt` : formatRatio(m.difference);
      const row = [m.label, value(m, m.members.mean), value(m, m.population.mean), formatRatio(m.lift), diff, formatRatio(m.standardizedDifference)];
      return m.members.median === undefined ? [row] : [row, ['  median', value(m, m.members.median), value(m, m.population.median), '', '', '']];
    }),
  );
  const notes = b.notes.map((n) => `Note: ${n}.`).join('\n');
  return (
    `Behaviour from ${b.windowStart} to the as-of instant\n${table}\n` +
    'Population = everyone, members included; lift = members / population; diff = members - population;\n' +
    "std diff = Cohen's d of members against the rest (pooled standard deviation)." +
    (notes ? `\n${notes}` : '')
  );
}

/** A window option: a duration such as 28d, 4w or 12h. */
export function parseWindow(text: string, option: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0) {
    throw new StrataError('TIME_INVALID', `${option}: expected a positive duration such as 28d, 4w or 12h; got ${JSON.stringify(text)}`, [
      { path: option, message: 'expected a whole number and a unit m, h, d or w' },
    ]);
  }
  return ms;
}

export function renderOverlap(r: OverlapResult): string {
  if (r.segments.length < 2) return `Overlap needs at least two segments (found ${r.segments.length}).`;
  return `Overlap (Jaccard) as of ${r.asOf}\n${overlapMatrix(r)}`;
}

/** A lower-triangle Jaccard matrix; columns are numbered to keep it narrow. */
export function overlapMatrix(r: OverlapResult): string {
  const index = new Map(r.segments.map((s, i) => [s.key, i]));
  const jac = new Map<string, number | null>();
  for (const p of r.pairs) {
    const [i, j] = [index.get(p.a)!, index.get(p.b)!];
    jac.set(`${Math.min(i, j)}:${Math.max(i, j)}`, p.jaccard);
  }
  const columns = [{ header: 'SEGMENT' }, { header: 'SIZE', align: 'right' as const }, ...r.segments.map((_, i) => ({ header: String(i + 1), align: 'right' as const }))];
  const width = String(r.segments.length).length;
  const rows = r.segments.map((s, i) => [
    `${String(i + 1).padStart(width)} ${s.key}`,
    formatCount(s.size),
    ...r.segments.map((_, j) => {
      if (j >= i) return j === i ? '-' : '';
      const v = jac.get(`${j}:${i}`);
      return v === null || v === undefined ? '-' : v.toFixed(2);
    }),
  ]);
  return formatTable(columns, rows);
}

/** Greedy word wrap for prose in terminal output; existing line breaks are kept. */
export function wrap(text: string, width: number): string {
  return text
    .split('\n')
    .map((para) => {
      const lines: string[] = [];
      let line = '';
      for (const word of para.split(/\s+/).filter(Boolean)) {
        if (line.length > 0 && line.length + 1 + word.length > width) {
          lines.push(line);
          line = word;
        } else line = line.length > 0 ? `${line} ${word}` : word;
      }
      lines.push(line);
      return lines.join('\n');
    })
    .join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

function wholeNumber(text: string, option: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
    throw new StrataError('INPUT_INVALID', `${option}: expected a whole number, got ${JSON.stringify(text)}`);
  }
  return n;
}

export function displayPath(io: CliIo, file: string): string {
  const rel = path.relative(io.cwd, file);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

function writableFor(write: (text: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      write(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      cb();
    },
  });
}

