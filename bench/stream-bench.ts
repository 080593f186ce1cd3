/**
 * The streaming evaluator on the demo product (src/demo/synthetic-product.ts): JSON lines
 * of events in time order, with the 12 demo segments (src/demo/segments) active.
 *
 * - Throughput, one core: profile lines then event lines, each parsed and checked against
 *   the plan (StreamRecordParser) and pushed into the evaluator (event clock, lateness 1h),
 *   against a bare `JSON.parse` loop over the same lines (the practical limit). Interleaved
 *   repetitions, medians; events/s counts event lines.
 * - State memory per user of the population: the heap growth from feeding the stream
 *   (measured after forced garbage collections, before and after), and the size of the
 *   state file `strata stream --state` writes.
 * Before any timing the stream's final membership is checked against the batch in-memory
 * evaluator (`evaluateSegments`) at the same asOf over the same events. The process runs
 * with the V8 flags `strata stream` sets (STREAM_V8_FLAGS), for both contenders.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isoTime } from '../src/demo/demo-files.js';
import { demoPlan } from '../src/demo/demo-plan.js';
import { DEMO_DAYS, DEMO_END_MS, simulateUser } from '../src/demo/synthetic-product.js';
import { evaluateSegments, type MemoryDataset, type MemoryEvent, type MemoryValue } from '../src/segments/evaluate/index.js';
import type { SegmentIR } from '../src/segments/ir/nodes.js';
import { createStreamEvaluator, STREAM_V8_FLAGS, StreamRecordParser, writeStreamState, type StreamEvaluator } from '../src/segments/stream/index.js';
import { MS } from '../src/time/time.js';
import { loadDemoSegments } from './support/demo-segments.js';
import { interleave, summarize, type Timing } from './support/measure.js';
import { printTable, rate, ratio, seconds } from './support/report.js';
import { formatCount } from './support/scale.js';

export interface StreamBenchOptions {
  readonly events: number;
  readonly repetitions: number;
  readonly seed?: number;
}

export const STREAM_GOAL_EVENTS_PER_SECOND = 200_000;
const LATENESS_MS = MS.h;

export interface StreamBenchResult {
  readonly events: number;
  readonly users: number;
  readonly lines: number;
  readonly asOf: string;
  readonly changes: number;
  readonly wakeUps: number;
  readonly members: Readonly<Record<string, number>>;
  readonly agreesWithBatch: boolean;
  readonly jsonParse: Timing;
  readonly stream: Timing;
  readonly eventsPerSecond: { readonly stream: number; readonly jsonParse: number };
  /** stream events/s over JSON.parse events/s. */
  readonly ratio: number;
  /** CPU seconds of the process (all threads, so the garbage collector's helpers too), for a loaded machine. */
  readonly cpuSeconds: { readonly jsonParse: Timing; readonly stream: Timing };
  readonly memory: {
    readonly method: string;
    readonly heapBytes: number;
    readonly heapBytesPerUser: number;
    readonly stateFileBytes: number;
    readonly stateFileBytesPerUser: number;
  };
}

interface Data {
  /**
   * The JSONL text in chunks of about 1 MB cut at line ends, as `strata stream` reads
   * stdin: lines are sliced out as they are read and die young, so neither contender pays
   * for millions of long-lived line strings at every garbage collection.
   */
  readonly chunks: string[];
  readonly profileLines: number;
  readonly eventLines: number;
}

const CHUNK_CHARS = 1 << 20;

/** Call fn with each line of the chunks (each chunk ends with a newline) and its 1-based number. */
function forEachLine(chunks: readonly string[], fn: (line: string, n: number) => void): void {
  let n = 0;
  for (const chunk of chunks) {
    let start = 0;
    for (let end = chunk.indexOf('\n'); end >= 0; end = chunk.indexOf('\n', start)) {
      fn(chunk.slice(start, end), ++n);
      start = end + 1;
    }
  }
}

/** The demo product, user by user until `events` events, sorted by time and written as lines. */
function generate(events: number, seed: number): Data {
  const raw: { user: string; event: string; ts: number; props: Record<string, string | number> | null; seq: number }[] = [];
  const profileLines: string[] = [];
  let users = 0;
  let seq = 0;
  while (raw.length < events) {
    simulateUser(users++, { seed, endMs: DEMO_END_MS, days: DEMO_DAYS }, {
      event: (user, event, ts, props) => void raw.push({ user, event, ts, props: props ? { ...props } : null, seq: seq++ }),
      profile: (user, traits) => {
        const out: Record<string, string | number> = {};
        for (const [k, v] of Object.entries(traits)) out[k] = k === 'signup_at' ? new Date(v as number).toISOString() : v;
        profileLines.push(JSON.stringify({ type: 'profile', user_id: user, traits: out }));
      },
    });
  }
  raw.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
  const chunks: string[] = [];
  let chunk = '';
  const add = (line: string) => {
    chunk += `${line}\n`;
    if (chunk.length >= CHUNK_CHARS) {
      // Flatten the rope now, so reading it later costs nothing extra.
      chunks.push(chunk.split('').join(''));
      chunk = '';
    }
  };
  for (const line of profileLines) add(line);
  for (const e of raw) {
    add(JSON.stringify({ event_id: `${e.user}-${e.seq}`, user_id: e.user, event: e.event, timestamp: isoTime(e.ts), ...(e.props ? { properties: e.props } : {}) }));
  }
  if (chunk.length > 0) chunks.push(chunk.split('').join(''));
  return { chunks, profileLines: profileLines.length, eventLines: raw.length };
}

/** The lines as the batch evaluator's dataset, typed by the same parser. */
function dataset(data: Data): MemoryDataset {
  const parser = new StreamRecordParser(demoPlan());
  const events: MemoryEvent[] = [];
  const profiles = new Map<string, Record<string, MemoryValue>>();
  forEachLine(data.chunks, (line, n) => {
    const r = parser.parseLine(line, n)!;
    if (r.kind === 'event') events.push(r);
    else if (r.kind === 'profile') profiles.set(r.userId, { ...profiles.get(r.userId), ...r.traits });
  });
  return { events, profiles };
}

/** The stream's members equal the batch evaluator's at the stream's final asOf. */
function agrees(data: Data, segments: readonly SegmentIR[], ev: StreamEvaluator): boolean {
  const batch = evaluateSegments(segments, dataset(data), ev.asOfMs!);
  return segments.every((s) => {
    const a = ev.membership(s.key);
    const b = batch.get(s.key)!;
    return a.size === b.size && [...a].every((u) => b.has(u));
  });
}

function feed(data: Data, segments: readonly SegmentIR[], onChange: () => void): StreamEvaluator {
  const parser = new StreamRecordParser(demoPlan());
  const ev = createStreamEvaluator({ segments, latenessMs: LATENESS_MS, clock: 'event', onChange });
  forEachLine(data.chunks, (line, n) => {
    const r = parser.parseLine(line, n)!;
    if (r.kind === 'event') ev.push(r);
    else if (r.kind === 'profile') ev.pushProfile(r.userId, r.traits);
  });
  return ev;
}

function parseOnly(data: Data): number {
  let sink = 0;
  forEachLine(data.chunks, (line) => {
    sink += (JSON.parse(line) as { user_id: string }).user_id.length;
  });
  return sink;
}

/** `gc` from V8 even without --expose-gc on the command line. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
}

function checkRun(data: Data, segments: readonly SegmentIR[]): { asOf: string; changes: number; wakeUps: number; members: Readonly<Record<string, number>>; agrees: boolean } {
  let changes = 0;
  const ev = feed(data, segments, () => void changes++);
  const stats = ev.stats();
  return { asOf: new Date(ev.asOfMs!).toISOString(), changes, wakeUps: stats.wakeUps, members: stats.members, agrees: agrees(data, segments, ev) };
}

async function memoryRun(data: Data, segments: readonly SegmentIR[]): Promise<{ heapBytes: number; stateFileBytes: number; population: number }> {
  const gc = collector();
  gc();
  const before = process.memoryUsage().heapUsed;
  const ev = feed(data, segments, () => undefined);
  gc();
  gc();
  const heapBytes = process.memoryUsage().heapUsed - before;
  const dir = await mkdtemp(join(tmpdir(), 'strata-stream-bench-'));
  try {
    const stateFileBytes = await writeStreamState(join(dir, 'state.jsonl'), ev.snapshot());
    return { heapBytes, stateFileBytes, population: ev.population };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runStreamBench(options: StreamBenchOptions): Promise<StreamBenchResult> {
  const seed = options.seed ?? 42;
  // As `strata stream` runs (both contenders share the setting).
  for (const flag of STREAM_V8_FLAGS) setFlagsFromString(flag);
  process.stdout.write(`\nstream: generating the demo product (${formatCount(options.events)} events) ...\n`);
  const data = generate(options.events, seed);
  const events = data.eventLines;
  const segments = loadDemoSegments(demoPlan()).map((s) => s.ir);

  // Check the answers before timing anything; the evaluators of these runs are dropped before timing.
  const check = checkRun(data, segments);
  const memory = await memoryRun(data, segments);

  const cpu = { jsonParse: [] as number[], stream: [] as number[] };
  const timings = await interleave(options.repetitions, {
    jsonParse: async () => {
      const start = performance.now();
      const c = process.cpuUsage();
      parseOnly(data);
      cpu.jsonParse.push(cpuSeconds(c));
      return (performance.now() - start) / 1000;
    },
    stream: async () => {
      const start = performance.now();
      const c = process.cpuUsage();
      feed(data, segments, () => undefined);
      cpu.stream.push(cpuSeconds(c));
      return (performance.now() - start) / 1000;
    },
  });
  const perSecond = { stream: events / timings.stream.median, jsonParse: events / timings.jsonParse.median };
  const result: StreamBenchResult = {
    events,
    users: memory.population,
    lines: data.profileLines + data.eventLines,
    asOf: check.asOf,
    changes: check.changes,
    wakeUps: check.wakeUps,
    members: check.members,
    agreesWithBatch: check.agrees,
    jsonParse: timings.jsonParse,
    stream: timings.stream,
    eventsPerSecond: perSecond,
    ratio: perSecond.stream / perSecond.jsonParse,
    cpuSeconds: { jsonParse: summarize(cpu.jsonParse), stream: summarize(cpu.stream) },
    memory: {
      method: 'heap: process.memoryUsage().heapUsed after gc(), after feeding the whole stream minus before; file: bytes of the state file',
      heapBytes: memory.heapBytes,
      heapBytesPerUser: memory.heapBytes / memory.population,
      stateFileBytes: memory.stateFileBytes,
      stateFileBytesPerUser: memory.stateFileBytes / memory.population,
    },
  };
  printStreamResult(result);
  return result;
}

function printStreamResult(r: StreamBenchResult): void {
  printTable(
    `stream: ${formatCount(r.events)} events, ${r.users.toLocaleString('en-US')} users, 12 demo segments, one core (median of ${r.stream.samples.length}; goal >= ${rate(STREAM_GOAL_EVENTS_PER_SECOND)} events/s)`,
    ['contender', 'seconds', 'events/s', 'ratio to JSON.parse', 'CPU seconds', 'events/CPU s'],
    [
      ['JSON.parse of each line (the limit)', seconds(r.jsonParse.median), rate(r.eventsPerSecond.jsonParse), '1.00', seconds(r.cpuSeconds.jsonParse.median), rate(r.events / r.cpuSeconds.jsonParse.median)],
      ['strata stream: parse, check, evaluate', seconds(r.stream.median), rate(r.eventsPerSecond.stream), ratio(r.ratio), seconds(r.cpuSeconds.stream.median), rate(r.events / r.cpuSeconds.stream.median)],
    ],
  );
  printTable(
    'stream: state memory per user',
    ['measure', 'bytes', 'bytes per user'],
    [
      ['heap growth (after gc)', Math.round(r.memory.heapBytes), Math.round(r.memory.heapBytesPerUser)],
      ['state file (--state)', r.memory.stateFileBytes, Math.round(r.memory.stateFileBytesPerUser)],
    ],
  );
  process.stdout.write(
    `membership changes: ${r.changes.toLocaleString('en-US')}, time-driven re-evaluations: ${r.wakeUps.toLocaleString('en-US')}; ` +
      `final membership ${r.agreesWithBatch ? 'equals' : 'DIFFERS FROM'} evaluateSegments at asOf ${r.asOf}\n`,
  );
}
