/**
 * `npm run bench -- [ingest] [segments] [memory] [options]`: Strata against named peers,
 * each figure a ratio measured in this one process, with the absolute numbers beside it.
 * Results go to stdout as tables and to bench/results/<benchmark>-<scale>.json.
 *
 *   ingest    JSONL and CSV ingest rows/s against DuckDB's own read of the same file
 *   segments  each demo segment against a hand-written DuckDB query; the batch against
 *             the sum of single computes (10M events by default; `--events 10M,100M`)
 *   memory    peak RSS while ingesting and while computing the batch (100M events by
 *             default; each phase in its own process). Not run unless named.
 *   clickhouse the demo segments on a two-shard ClickHouse cluster against a single node,
 *             same data (10M events by default). Not run unless named.
 *   stream    the streaming evaluator over the demo product's JSON lines, events/s against a
 *             bare JSON.parse loop, and state bytes per user (2M events by default). Not run
 *             unless named.
 *   retention weekly retention tables against hand-written DuckDB queries (10M events by
 *             default). Not run unless named.
 *   funnel    a four-step funnel table (overall and by a trait) against a hand-written
 *             DuckDB query (10M events by default). Not run unless named.
 *   experiment an A/B test's three metrics by segment (computeExperimentData and
 *             analyzeExperiment) against a hand-written DuckDB aggregation of the same
 *             sufficient statistics (10M exposed users by default; `--users`). Not run
 *             unless named.
 *   cluster   k-means (Lloyd) on 1M users x 30 features (`--users`) against scikit-learn's
 *             KMeans in /usr/bin/python3, same data, k, starting centroids and max_iter. Not
 *             run unless named.
 *   models    logistic regression fit on 1M users x 30 features (`--users`) against sklearn's
 *             LogisticRegression in /usr/bin/python3 (goal: ratio at most 2), scoring users/s,
 *             and gradient-boosted trees against HistGradientBoostingClassifier (`--gbt-iter`,
 *             default 20 rounds, 0 skips them). Not run unless named.
 * With no benchmark named, ingest and segments run (a few minutes on two cores).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { environment, writeResults } from './support/report.js';
import { formatCount, parseCount, parseCounts } from './support/scale.js';

const BENCHMARKS = ['ingest', 'segments', 'memory', 'clickhouse', 'stream', 'retention', 'funnel', 'experiment', 'cluster', 'models'] as const;
type Benchmark = (typeof BENCHMARKS)[number];

function count(option: string) {
  return (value: string) => {
    try {
      return parseCount(value, option);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

function counts(option: string) {
  return (value: string) => {
    try {
      return parseCounts(value, option);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

const program: Command = new Command('bench')
  .description('Strata benchmarks, each printing a ratio against a named peer run in the same process')
  .argument('[benchmarks...]', `which to run: ${BENCHMARKS.join(', ')} (default: ingest segments)`)
  .option('--events <counts>', 'events to generate for segments (default 10M), memory (default 100M) and stream (default 2M); a list runs each: 10M,100M', counts('--events'))
  .option('--users <count>', 'users for segments and memory; exposed users for experiment (default 10M there)', count('--users'), 1_000_000)
  .option('--rows <count>', 'rows of the ingest files', count('--rows'), 2_000_000)
  .option('--reps <n>', 'repetitions; each figure is the median', count('--reps'), 3)
  .option('--threads <n>', 'DuckDB threads (default: all cores)', count('--threads'))
  .option('--memory-limit <size>', "DuckDB memory_limit, e.g. '8GB' (default: DuckDB's)")
  .option('--dir <path>', 'scratch folder for generated data (default: $TMPDIR/strata-bench)')
  .option('--keep', 'keep the generated data', false)
  .option('--gbt-iter <n>', 'models: boosting rounds for the trees against HistGradientBoostingClassifier (0 skips them)', (v: string) => { const k = Number(v); if (!Number.isInteger(k) || k < 0) throw new InvalidArgumentError('expected a whole number of rounds, 0 to skip'); return k; }, 20)
  .option('--explain', 'write EXPLAIN ANALYZE of both queries for segments that miss the goal', false)
  .addOption(new Option('--phase <phase>', 'internal: run one memory phase in this process').hideHelp())
  .addOption(new Option('--phase-dir <path>', 'internal: the memory run folder').hideHelp())
  .action(async (names: string[]) => {
    const o = program.opts<{
      events?: number[];
      users: number;
      rows: number;
      reps: number;
      threads?: number;
      memoryLimit?: string;
      dir?: string;
      keep: boolean;
      gbtIter: number;
      explain: boolean;
      phase?: string;
      phaseDir?: string;
    }>();
    const store = { ...(o.threads ? { threads: o.threads } : {}), ...(o.memoryLimit ? { memoryLimit: o.memoryLimit } : {}) };
    // Each benchmark's module is loaded only when it runs.
    if (o.phase) {
      if (!o.phaseDir) program.error('error: --phase needs --phase-dir');
      const { runMemoryPhase } = await import('./memory-bench.js');
      await runMemoryPhase(o.phase, { dir: o.phaseDir, events: o.events?.[0] ?? 100_000_000, users: o.users, ...store });
      return;
    }
    for (const n of names) {
      if (!(BENCHMARKS as readonly string[]).includes(n)) program.error(`error: unknown benchmark "${n}"; expected ${BENCHMARKS.join(', ')}`);
    }
    const selected: Benchmark[] = names.length > 0 ? (names as Benchmark[]) : ['ingest', 'segments'];
    const env = environment(await duckdbVersion());
    const common = { repetitions: o.reps, keep: o.keep, ...(o.dir ? { dir: o.dir } : {}), ...store };

    if (selected.includes('ingest')) {
      const { runIngestBench } = await import('./ingest-bench.js');
      const results = await runIngestBench({ ...common, rows: o.rows });
      report(`ingest-${formatCount(o.rows)}`, { environment: env, options: { rows: o.rows, repetitions: o.reps, ...store }, results });
    }
    if (selected.includes('segments')) {
      const { runSegmentsBench } = await import('./segments-bench.js');
      const events = o.events ?? [10_000_000];
      const results = await runSegmentsBench({ ...common, events, users: o.users, explain: o.explain });
      const invalid = results.flatMap((r) => [...r.segments.filter((f) => !f.sameMembers).map((f) => f.key), ...(r.batch.countsMatch ? [] : ['batch'])]);
      if (invalid.length > 0) {
        process.stderr.write(`bench: the compared queries disagree on ${invalid.join(', ')}; those ratios compare different answers\n`);
        process.exitCode = 1;
      }
      report(`segments-${events.map(formatCount).join('-')}`, { environment: env, options: { events, users: o.users, repetitions: o.reps, ...store }, results });
    }
    if (selected.includes('clickhouse')) {
      const { runClickHouseBench } = await import('./clickhouse-bench.js');
      const results = [];
      for (const e of o.events ?? [10_000_000]) {
        const r = await runClickHouseBench({ events: e, users: o.users, repetitions: o.reps, keep: o.keep, ...(o.dir ? { dir: o.dir } : {}) });
        if ([...r.segments, r.batch].some((f) => !f.agree)) process.exitCode = 1;
        results.push(r);
      }
      report(`clickhouse-${(o.events ?? [10_000_000]).map(formatCount).join('-')}`, { environment: env, options: { users: o.users, repetitions: o.reps }, results });
    }
    if (selected.includes('stream')) {
      const { runStreamBench } = await import('./stream-bench.js');
      const events = o.events ?? [2_000_000];
      const results = [];
      for (const e of events) {
        const r = await runStreamBench({ events: e, repetitions: o.reps });
        if (!r.agreesWithBatch) process.exitCode = 1;
        results.push(r);
      }
      report(`stream-${events.map(formatCount).join('-')}`, { environment: env, options: { events, repetitions: o.reps }, results });
    }
    if (selected.includes('retention')) {
      const { runRetentionBench } = await import('./retention-bench.js');
      const events = o.events ?? [10_000_000];
      const results = await runRetentionBench({ ...common, events, users: o.users });
      if (results.some((r) => r.cases.some((c) => !c.same))) {
        process.stderr.write('bench: the retention tables disagree with the hand-written queries; those ratios compare different answers\n');
        process.exitCode = 1;
      }
      report(`retention-${events.map(formatCount).join('-')}`, { environment: env, options: { events, users: o.users, repetitions: o.reps, ...store }, results });
    }
    if (selected.includes('funnel')) {
      const { runFunnelBench } = await import('./funnel-bench.js');
      const events = o.events ?? [10_000_000];
      const results = await runFunnelBench({ ...common, events, users: o.users });
      if (results.some((r) => r.cases.some((c) => !c.same))) {
        process.stderr.write('bench: the funnel tables disagree with the hand-written query; those ratios compare different answers\n');
        process.exitCode = 1;
      }
      report(`funnel-${events.map(formatCount).join('-')}`, { environment: env, options: { events, users: o.users, repetitions: o.reps, ...store }, results });
    }
    if (selected.includes('experiment')) {
      const { runExperimentBench } = await import('./experiment-bench.js');
      // --users defaults to 1M for the product benchmarks; the experiment's goal is at 10M.
      const users = program.getOptionValueSource('users') === 'default' ? 10_000_000 : o.users;
      const results = await runExperimentBench({ ...common, users: [users] });
      if (results.some((r) => !r.same)) {
        process.stderr.write('bench: the experiment statistics disagree with the hand-written query; that ratio compares different answers\n');
        process.exitCode = 1;
      }
      report(`experiment-${formatCount(users)}`, { environment: env, options: { users, repetitions: o.reps, ...store }, results });
    }
    if (selected.includes('cluster')) {
      const { runClusterBench } = await import('./cluster-bench.js');
      const result = await runClusterBench({ users: o.users, repetitions: o.reps, keep: o.keep, ...(o.dir ? { dir: o.dir } : {}) });
      if (!result.agree) process.exitCode = 1;
      report(`cluster-${formatCount(o.users)}`, { environment: env, options: { users: o.users, repetitions: o.reps }, results: [result] });
    }
    if (selected.includes('models')) {
      const { runModelsBench } = await import('./models-bench.js');
      const result = await runModelsBench({ users: o.users, repetitions: o.reps, gbtIterations: o.gbtIter, keep: o.keep, ...(o.dir ? { dir: o.dir } : {}) });
      report(`models-${formatCount(o.users)}`, { environment: env, options: { users: o.users, repetitions: o.reps, gbtIterations: o.gbtIter }, results: [result] });
    }
    if (selected.includes('memory')) {
      const { runMemoryBench } = await import('./memory-bench.js');
      const events = o.events ?? [100_000_000];
      const results = [];
      for (const e of events) results.push(await runMemoryBench({ events: e, users: o.users, keep: o.keep, ...(o.dir ? { dir: o.dir } : {}), ...store }));
      report(`memory-${events.map(formatCount).join('-')}`, { environment: env, options: { events, users: o.users, ...store }, results });
    }
  });

function report(name: string, results: unknown): void {
  process.stdout.write(`\nresults written to ${writeResults(name, results)}\n`);
}

async function duckdbVersion(): Promise<string> {
  const store = await DuckDbStore.open({ path: ':memory:' });
  try {
    return String((await store.query('SELECT version() AS v'))[0]!.v);
  } finally {
    await store.close();
  }
}

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
