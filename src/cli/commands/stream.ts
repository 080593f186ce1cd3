/**
 * `strata stream`: JSON lines of events, profiles and model score rows on stdin, membership
 * changes as JSON lines on stdout, evaluated incrementally (src/segments/stream). The shell
 * only wires the pieces: segments from the registry, the store's scoring runs at start, the
 * clock, the state file, and reporting.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Option, type Command } from 'commander';
import { isStrataError, StrataError } from '../../errors/errors.js';
import {
  createStreamEvaluator,
  DEFAULT_LATENESS_MS,
  forEachJsonLine,
  loadStreamSegments,
  readStreamState,
  ScoreBlockBuffer,
  seedStreamScores,
  STREAM_V8_FLAGS,
  StreamEvaluator,
  StreamRecordParser,
  writeStreamState,
  type MembershipChange,
  type RejectedEvent,
  type SeededScores,
  type StreamEvaluatorOptions,
  type StreamModelKind,
} from '../../segments/stream/index.js';
import { formatInstant, MS } from '../../time/time.js';
import { CommandContext, type CliIo } from '../context.js';

interface StreamOptions {
  readonly segments?: string[];
  readonly asOfClock: 'event' | 'wall';
  readonly lateness: string;
  readonly state?: string;
  readonly snapshotEvery?: string;
  readonly tick: string;
  readonly input?: string;
}

/** Problems printed one per line before the rest are only counted. */
const SHOWN_PROBLEMS = 20;
const FLUSH_CHARS = 1 << 16;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: MS.m, h: MS.h, d: MS.d, w: MS.w };

/** `0`, `500ms`, `30s`, `15m`, `1h`, `2d`, `1w` to milliseconds. */
export function parseStreamDuration(text: string, option: string): number {
  const m = /^(\d{1,9})(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!m || (m[2] === undefined && m[1] !== '0')) {
    throw new StrataError('TIME_INVALID', `${option}: expected a duration such as 0, 500ms, 30s, 15m, 1h or 2d, got ${JSON.stringify(text)}`, [
      { path: option, message: 'expected a whole number and a unit: ms, s, m, h, d or w' },
    ]);
  }
  return Number(m[1]) * (m[2] === undefined ? 0 : UNIT_MS[m[2]]!);
}

/** Change lines, buffered and written with backpressure when the real stdout is there. */
class ChangeWriter {
  private buffer = '';

  constructor(private readonly io: CliIo) {}

  change(c: MembershipChange): void {
    this.buffer += `{"type":"${c.type}","segment":${JSON.stringify(c.segment)},"user":${JSON.stringify(c.user)},"at":"${formatInstant(c.at)}"}\n`;
  }

  get pending(): number {
    return this.buffer.length;
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const text = this.buffer;
    this.buffer = '';
    const out = this.io.stdoutStream;
    if (!out) return this.io.stdout(text);
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
  }
}

export function registerStream(program: Command, io: CliIo): void {
  program
    .command('stream')
    .summary('evaluate segments incrementally on a stream of events (JSON lines in, changes out)')
    .description(
      'Read events, profiles and model scores as JSON lines on stdin; write who\n' +
        'enters and leaves each segment as JSON lines on stdout, the moment it\n' +
        'happens. Input lines:\n' +
        '  {"user_id":"u1","event":"buy","timestamp":"2024-05-01T12:00:00Z",\n' +
        '   "properties":{"amount":30}}\n' +
        '  {"type":"profile","user_id":"u1","traits":{"plan":"pro"}}\n' +
        '  {"type":"score","model":"churn-risk","run":12,"as_of":"2024-05-01T00:00:00Z",\n' +
        '   "user_id":"u1","score":0.83,"percentile":91.5}   (personas: "cluster":2)\n' +
        'checked against the tracking plan like ingest (score rows: against the\n' +
        'stored models). At start the stream loads the store\'s scoring runs of the\n' +
        'models its segments read; a run replaces the previous one once the clock\n' +
        'reaches its as_of (send a run\'s rows consecutively). Output lines:\n' +
        '  {"type":"entered","segment":"power-users","user":"u1",\n' +
        '   "at":"2024-05-01T12:00:00.000Z"}\n' +
        'where `at` is the last instant with the old membership. The clock is the\n' +
        'newest event (--as-of-clock event) or the system clock ticked every --tick\n' +
        '(wall), so exits caused by time alone come on time. Events older than the\n' +
        'newest by more than --lateness are rejected and reported on stderr. Members\n' +
        'equal `segment compute` at the same instant over the same events.',
    )
    .addOption(new Option('--segments <KEY...>', 'segments to evaluate (default: every segment in the registry)'))
    .addOption(new Option('--as-of-clock <CLOCK>', 'event: the newest event time; wall: the system clock').choices(['event', 'wall']).default('event'))
    .addOption(new Option('--lateness <DUR>', 'how late an event may arrive behind the newest one (0, 30s, 15m, 1h, 2d)').default('1h'))
    .addOption(new Option('--state <FILE>', 'restore state from FILE at start (when it exists) and save it there at the end'))
    .addOption(new Option('--snapshot-every <N>', 'with --state, also save after every N input lines'))
    .addOption(new Option('--tick <DUR>', 'with --as-of-clock wall, how often the clock ticks').default('1s'))
    .addOption(new Option('--input <FILE>', 'read this file instead of stdin'))
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ cat events.jsonl | strata stream > changes.jsonl\n' +
        '  $ strata stream --segments power-users gone-quiet --input events.jsonl\n' +
        '  $ tail -f app.log | strata stream --as-of-clock wall --lateness 5m --state stream.state',
    )
    .action(async (opts: StreamOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      await runStream(ctx, opts);
    });
}

async function runStream(ctx: CommandContext, opts: StreamOptions): Promise<void> {
  const io = ctx.io;
  const latenessMs = parseStreamDuration(opts.lateness, '--lateness');
  const tickMs = parseStreamDuration(opts.tick, '--tick');
  const snapshotEvery = opts.snapshotEvery === undefined ? undefined : Number(opts.snapshotEvery);
  if (snapshotEvery !== undefined && !(Number.isSafeInteger(snapshotEvery) && snapshotEvery > 0)) {
    throw new StrataError('INPUT_INVALID', `--snapshot-every: expected a positive whole number of lines, got ${JSON.stringify(opts.snapshotEvery)}`, [{ path: '--snapshot-every', message: 'expected a positive whole number' }]);
  }
  if (snapshotEvery !== undefined && !opts.state) throw new StrataError('INPUT_INVALID', '--snapshot-every needs --state FILE', [{ path: '--snapshot-every', message: 'name the state file with --state' }]);
  if (opts.asOfClock === 'wall' && tickMs <= 0) throw new StrataError('INPUT_INVALID', '--tick must be positive', [{ path: '--tick', message: 'expected a duration such as 1s' }]);

  // This process is now a stream: tune its garbage collector for one (see STREAM_V8_FLAGS).
  for (const flag of STREAM_V8_FLAGS) setFlagsFromString(flag);
  const config = await ctx.loadConfig();
  const { segments, models } = await ctx.withRegistry(async (registry) => {
    const loaded = await loadStreamSegments(registry, config.plan, opts.segments);
    return { segments: loaded, models: (registry.context.models ?? new Map()) as ReadonlyMap<string, StreamModelKind> };
  }, config);
  const parser = new StreamRecordParser(config.plan, { models });
  const out = new ChangeWriter(io);
  const problems = { invalid: 0, late: 0, shown: 0 };
  let lineNumber = 0;
  const problem = (text: string) => {
    if (problems.shown < SHOWN_PROBLEMS) io.stderr(`${text}\n`);
    else if (problems.shown === SHOWN_PROBLEMS) io.stderr('(further rejected lines are counted, not shown)\n');
    problems.shown++;
  };
  const onReject = (r: RejectedEvent) => {
    problems.late++;
    problem(`line ${lineNumber}: rejected: event at ${formatInstant(r.event.ts)} is older than ${formatInstant(r.acceptedFromMs)} (the newest event minus the lateness)`);
  };
  const options: StreamEvaluatorOptions = {
    segments,
    latenessMs,
    clock: opts.asOfClock === 'wall' ? 'manual' : 'event',
    onChange: (c) => out.change(c),
    onReject,
  };
  const stateFile = opts.state ? path.resolve(io.cwd, opts.state) : undefined;
  const restored = stateFile !== undefined && existsSync(stateFile);
  const ev = restored ? StreamEvaluator.restore(options, await readStreamState(stateFile)) : createStreamEvaluator(options);

  // Counters in a restored state run since it began; the summary reports this run.
  const before = ev.stats();
  const wall = opts.asOfClock === 'wall';
  if (wall) ev.tick(Date.now());
  // The scores `strata model score` stored, so the stream need not replay them.
  const seeded: SeededScores = ev.scoreModels.length > 0 ? await ctx.withStore((store) => seedStreamScores(ev, store), config) : { runs: 0, rows: 0, skipped: 0 };
  const scores = new ScoreBlockBuffer(ev);
  const flushScores = () => {
    const first = scores.firstPlace;
    try {
      scores.flush();
    } catch (e) {
      if (!isStrataError(e)) throw e;
      problems.invalid++;
      problem(`line ${first}: score rows refused: ${e.message}`);
    }
  };
  // A run's rows apply together: held until another record comes, or the input idles for a tick.
  let linesAtTick = 0;
  // Time-driven changes must come out while the input is quiet, too.
  const timer = wall
    ? setInterval(() => {
        if (lineNumber === linesAtTick) flushScores();
        linesAtTick = lineNumber;
        ev.tick(Date.now());
        void out.flush();
      }, tickMs)
    : undefined;
  // Ctrl-C or a TERM ends the input; the state is still saved and the summary printed.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const inputFile = opts.input ? path.resolve(io.cwd, opts.input) : undefined;
  if (inputFile !== undefined && !existsSync(inputFile)) {
    throw new StrataError('FILE_NOT_FOUND', `no such file: ${opts.input}`, [{ path: '--input', message: 'expected a file of JSON lines' }]);
  }
  const input = inputFile ? createReadStream(inputFile) : (io.stdin ?? process.stdin);
  // A file has a size, so reading it can show progress (stdin cannot).
  const totalBytes = inputFile ? statSync(inputFile).size : 0;
  const progress = inputFile ? ctx.progress() : undefined;
  stop.signal.addEventListener('abort', () => (input as { destroy?: () => void }).destroy?.());
  let lastSnapshot = 0;
  let stateBytes: number | undefined;
  const started = performance.now();
  try {
    try {
      await forEachJsonLine(
        input as AsyncIterable<Buffer>,
        (line, n) => {
          lineNumber = n;
          let record;
          try {
            record = parser.parseLine(line, n);
          } catch (e) {
            if (!isStrataError(e)) throw e;
            problems.invalid++;
            problem(e.message);
            return;
          }
          if (record === null) return;
          if (record.kind === 'score') {
            if (!scores.continues(record)) flushScores();
            scores.add(record, n);
            return;
          }
          if (scores.size > 0) flushScores();
          if (record.kind === 'event') ev.push(record);
          else ev.pushProfile(record.userId, record.traits);
        },
        async (lines, bytes) => {
          progress?.update({ phase: 'streaming', done: bytes, total: totalBytes });
          if (wall) ev.tick(Date.now());
          await out.flush();
          if (stateFile && snapshotEvery !== undefined && lines - lastSnapshot >= snapshotEvery) {
            lastSnapshot = lines;
            flushScores();
            await writeStreamState(stateFile, ev.snapshot());
          }
          return !stop.signal.aborted;
        },
      );
    } catch (e) {
      // A destroyed input (Ctrl-C) ends the stream; anything else is a failure.
      if (!stop.signal.aborted) throw e;
    }
    flushScores();
    if (wall) ev.tick(Date.now());
    await out.flush();
    if (stateFile) stateBytes = await writeStreamState(stateFile, ev.snapshot());
  } finally {
    progress?.stop();
    if (timer) clearInterval(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const stats = ev.stats();
  const summary = {
    lines: lineNumber,
    events: stats.events - before.events,
    applied: stats.applied - before.applied,
    waiting: stats.pending,
    rejectedLate: problems.late,
    invalidLines: problems.invalid,
    profiles: stats.profiles - before.profiles,
    scoreRows: stats.scoreRows - before.scoreRows - seeded.rows,
    seededScoreRuns: seeded.runs,
    seededScoreRows: seeded.rows,
    changes: stats.changes - before.changes,
    users: stats.users,
    asOf: stats.asOfMs === null ? null : formatInstant(stats.asOfMs),
    restored,
    ...(stateFile ? { state: { file: stateFile, bytes: stateBytes } } : {}),
    seconds: Math.round(performance.now() - started) / 1000,
    members: stats.members,
  };
  if (ctx.globals.json) io.stderr(`${JSON.stringify(summary)}\n`);
  else io.stderr(formatSummary(summary));
}

function formatSummary(s: {
  lines: number;
  events: number;
  applied: number;
  waiting: number;
  rejectedLate: number;
  invalidLines: number;
  profiles: number;
  scoreRows: number;
  seededScoreRuns: number;
  seededScoreRows: number;
  changes: number;
  users: number;
  asOf: string | null;
  restored: boolean;
  state?: { file: string; bytes: number | undefined };
  seconds: number;
  members: Readonly<Record<string, number>>;
}): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const lines = [
    `stream: ${n(s.lines)} lines in ${s.seconds}s: ${n(s.events)} events (${n(s.applied)} applied, ${n(s.waiting)} waiting for the clock, ${n(s.rejectedLate)} rejected as late), ${n(s.profiles)} profiles, ${n(s.invalidLines)} invalid lines`,
    `${n(s.changes)} membership changes; ${n(s.users)} users; as of ${s.asOf ?? '(no clock yet)'}${s.restored ? '; continued from a saved state' : ''}`,
    `members: ${Object.entries(s.members).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`,
  ];
  if (s.seededScoreRuns > 0 || s.scoreRows > 0) {
    lines.push(`scores: ${n(s.seededScoreRuns)} scoring runs (${n(s.seededScoreRows)} rows) loaded from the store, ${n(s.scoreRows)} score rows streamed`);
  }
  if (s.state) lines.push(`state saved to ${s.state.file} (${n(s.state.bytes ?? 0)} bytes)`);
  return `${lines.join('\n')}\n`;
}
