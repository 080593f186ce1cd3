/**
 * Peak resident memory (RSS) of Strata while ingesting and while computing all demo
 * segments as one batch, at 100M events by default.
 *
 * Each phase runs in its own process (this script with the hidden `--phase` option), so a
 * phase's peak is not hidden by an earlier one's and DuckDB's buffer pool starts cold:
 *   generate  DuckDB writes the product as Parquet files (events and profiles);
 *   ingest    ingestFiles of both into a fresh store file;
 *   compute   opens that store and materializes the batch of all demo segments.
 * The peak is the kernel's VmHWM for the process (getrusage maxRSS where /proc is
 * missing), next to the RSS at the phase's start (Node and DuckDB loaded, nothing done).
 * The peer is the phase's own baseline and DuckDB's memory_limit, printed beside it;
 * memory has no faster-or-slower ratio, so the figure asked for is the absolute peak.
 * The data lives under $TMPDIR/strata-bench (or --dir) and is removed afterwards.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoPlan } from '../src/demo/demo-plan.js';
import { ingestFiles } from '../src/ingest/index.js';
import { compileSegmentBatch } from '../src/segments/compile/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { loadDemoSegments } from './support/demo-segments.js';
import { currentRssBytes, formatBytes, peakRssBytes, resetPeakRss } from './support/memory.js';
import { timed } from './support/measure.js';
import { DEFAULT_END_MS } from './support/product-data.js';
import { writeProductFiles } from './support/product-files.js';
import { printTable, rate, seconds } from './support/report.js';
import { formatCount } from './support/scale.js';
import { createWorkDir } from './support/workdir.js';

export const MEMORY_PHASES = ['generate', 'ingest', 'compute'] as const;
export type MemoryPhase = (typeof MEMORY_PHASES)[number];

function isMemoryPhase(s: string): s is MemoryPhase {
  return (MEMORY_PHASES as readonly string[]).includes(s);
}

export interface MemoryPhaseOptions {
  readonly dir: string;
  readonly events: number;
  readonly users: number;
  readonly threads?: number;
  readonly memoryLimit?: string;
}

export interface MemoryPhaseResult {
  readonly phase: MemoryPhase;
  readonly seconds: number;
  /** RSS once Node and DuckDB are loaded, before the phase's work. */
  readonly baselineRssBytes: number;
  readonly peakRssBytes: number;
  /** DuckDB's effective memory_limit in this process. */
  readonly duckdbMemoryLimit: string;
  readonly rows: number;
  readonly detail: Record<string, unknown>;
}

export interface MemoryBenchResult {
  readonly events: number;
  readonly users: number;
  readonly phases: readonly MemoryPhaseResult[];
}

const RUN_SCRIPT = join(fileURLToPath(new URL('.', import.meta.url)), 'run.ts');

/** Run the three phases, each in a child process, and print their peaks. */
export async function runMemoryBench(options: { events: number; users: number; dir?: string; keep: boolean; threads?: number; memoryLimit?: string }): Promise<MemoryBenchResult> {
  const work = createWorkDir(options.dir, `memory-${formatCount(options.events)}`);
  process.stdout.write(`\nmemory: ${formatCount(options.events)} events, ${formatCount(options.users)} users in ${work.path}; one process per phase\n`);
  try {
    const phases: MemoryPhaseResult[] = [];
    for (const phase of MEMORY_PHASES) {
      const args = [
        ...process.execArgv,
        RUN_SCRIPT,
        '--phase', phase,
        '--phase-dir', work.path,
        '--events', String(options.events),
        '--users', String(options.users),
        ...(options.threads ? ['--threads', String(options.threads)] : []),
        ...(options.memoryLimit ? ['--memory-limit', options.memoryLimit] : []),
      ];
      await new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, args, { stdio: 'inherit' });
        child.on('error', reject);
        child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`memory phase ${phase} failed (${signal ?? `exit ${code}`})`))));
      });
      const result = JSON.parse(readFileSync(join(work.path, `${phase}.json`), 'utf8')) as MemoryPhaseResult;
      phases.push(result);
      process.stdout.write(`  ${phase}: peak RSS ${formatBytes(result.peakRssBytes)} in ${seconds(result.seconds)} s\n`);
    }
    printTable(
      `Peak RSS at ${formatCount(options.events)} events (${formatCount(options.users)} users), one process per phase`,
      ['phase', 'rows', 'seconds', 'rows/s', 'baseline RSS', 'peak RSS', 'DuckDB memory_limit'],
      phases.map((p) => [p.phase, p.rows, seconds(p.seconds), rate(p.rows / p.seconds), formatBytes(p.baselineRssBytes), formatBytes(p.peakRssBytes), p.duckdbMemoryLimit]),
    );
    return { events: options.events, users: options.users, phases };
  } finally {
    if (!options.keep) work.remove();
  }
}

/** One phase, in this process; writes `<dir>/<phase>.json`. */
export async function runMemoryPhase(phase: string, options: MemoryPhaseOptions): Promise<void> {
  if (!isMemoryPhase(phase)) throw new Error(`unknown memory phase "${phase}"; expected ${MEMORY_PHASES.join(', ')}`);
  const storeOptions = { ...(options.threads ? { threads: options.threads } : {}), ...(options.memoryLimit ? { memoryLimit: options.memoryLimit } : {}) };
  const plan = demoPlan();
  const storePath = join(options.dir, 'store.duckdb');
  const shape = { users: options.users, events: options.events, days: 180, endMs: DEFAULT_END_MS };
  // Load DuckDB and learn its limit before the baseline, so the baseline includes the engine.
  const probe = await DuckDbStore.open({ path: ':memory:', ...storeOptions });
  const duckdbMemoryLimit = String((await probe.query(`SELECT current_setting('memory_limit') AS m`))[0]!.m);
  await probe.close();
  const baselineRssBytes = currentRssBytes();
  resetPeakRss();

  let rows = 0;
  let detail: Record<string, unknown> = {};
  const { seconds: elapsed } = await timed(async () => {
    if (phase === 'generate') {
      const files = await writeProductFiles(options.dir, shape, ['parquet'], storeOptions);
      rows = files.eventRows;
      detail = { eventRows: files.eventRows, profileRows: files.profileRows };
    } else if (phase === 'ingest') {
      const store = await DuckDbStore.open({ path: storePath, ...storeOptions });
      try {
        await store.applyPlan(plan);
        const events = await ingestFiles(store, {
          kind: 'events',
          files: [join(options.dir, 'events.parquet')],
          format: 'parquet',
          plan,
          rejectsPath: join(options.dir, 'rejects-events.jsonl'),
        });
        const profiles = await ingestFiles(store, {
          kind: 'profiles',
          files: [join(options.dir, 'profiles.parquet')],
          format: 'parquet',
          plan,
          rejectsPath: join(options.dir, 'rejects-profiles.jsonl'),
        });
        rows = events.read;
        detail = {
          events: { read: events.read, stored: events.stored, rejected: events.rejected, duplicates: events.duplicates, elapsedMs: events.elapsedMs },
          profiles: { read: profiles.read, stored: profiles.stored, rejected: profiles.rejected, elapsedMs: profiles.elapsedMs },
        };
      } finally {
        await store.close();
      }
    } else {
      const store = await DuckDbStore.open({ path: storePath, ...storeOptions });
      try {
        const segments = loadDemoSegments(plan);
        const batch = compileSegmentBatch(
          segments.map((s) => s.ir),
          { dialect: store.dialect, asOfMs: shape.endMs },
        );
        const counts = `SELECT count(*) AS population, ${batch.columns.map((c, i) => `count_if(${store.dialect.quoteIdentifier(c.column)}) AS c${i}`).join(', ')} FROM (${batch.sql})`;
        const [row] = await store.query(counts);
        // The events the batch ran over (the count comes from table metadata).
        rows = Number((await store.query('SELECT count(*) AS n FROM events'))[0]!.n);
        detail = {
          population: Number(row!.population),
          members: Object.fromEntries(batch.columns.map((c, i) => [c.key, Number(row![`c${i}`])])),
        };
      } finally {
        await store.close();
      }
    }
  });
  const result: MemoryPhaseResult = { phase, seconds: elapsed, baselineRssBytes, peakRssBytes: peakRssBytes(), duckdbMemoryLimit, rows, detail };
  writeFileSync(join(options.dir, `${phase}.json`), JSON.stringify(result, null, 2));
}
