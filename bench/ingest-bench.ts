/**
 * Ingest throughput against DuckDB's own raw read of the same file.
 *
 * For JSONL and CSV files of the generated product (a few million events), each repetition
 * loads the file twice into fresh DuckDB files, in alternating order:
 * - strata: `ingestFiles` into a new store (plan applied beforehand): parse, validate
 *   against the plan, reject, dedupe, insert in one transaction, maintain the users index;
 * - duckdb raw: `CREATE TABLE t AS SELECT * FROM read_json(file)` (read_csv for CSV) with
 *   DuckDB's auto-detection, which is as fast as DuckDB loads that file with no checks.
 * Only the load is timed (opening and deleting the database are not). Rows/s counts the
 * rows of the file for both. Goal: strata / raw >= 0.5.
 */
import { rmSync, statSync } from 'node:fs';
import { demoPlan } from '../src/demo/demo-plan.js';
import { ingestFiles } from '../src/ingest/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { interleave, secondsOf, type Timing } from './support/measure.js';
import { DEFAULT_END_MS } from './support/product-data.js';
import { writeProductFiles, type FileFormat } from './support/product-files.js';
import { printTable, rate, ratio, seconds } from './support/report.js';
import { formatCount } from './support/scale.js';
import { createWorkDir, type WorkDir } from './support/workdir.js';

export const INGEST_GOAL = 0.5;

export interface IngestBenchOptions {
  readonly rows: number;
  readonly repetitions: number;
  readonly dir?: string;
  readonly keep: boolean;
  readonly threads?: number;
  readonly memoryLimit?: string;
}

export interface IngestFigure {
  readonly format: FileFormat;
  readonly rows: number;
  readonly fileBytes: number;
  readonly strata: Timing;
  readonly raw: Timing;
  readonly strataRowsPerSecond: number;
  readonly rawRowsPerSecond: number;
  /** strata rows/s divided by raw rows/s. */
  readonly ratio: number;
  /** What the last Strata run reported, to show nothing was silently rejected or dropped. */
  readonly lastReport: { read: number; stored: number; rejected: number; duplicates: number; droppedFields: Record<string, number> };
}

const RAW_READER: Readonly<Record<'jsonl' | 'csv', string>> = { jsonl: 'read_json', csv: 'read_csv' };

export async function runIngestBench(options: IngestBenchOptions): Promise<IngestFigure[]> {
  const work = createWorkDir(options.dir, 'ingest');
  const storeOptions = { ...(options.threads ? { threads: options.threads } : {}), ...(options.memoryLimit ? { memoryLimit: options.memoryLimit } : {}) };
  try {
    // About 20 events per user, as in a few weeks of a mid-sized product.
    const shape = { users: Math.max(1, Math.round(options.rows / 20)), events: options.rows, days: 180, endMs: DEFAULT_END_MS };
    process.stdout.write(`\ningest: writing ${formatCount(options.rows)} events as JSONL and CSV in ${work.path} ...\n`);
    const files = await writeProductFiles(work.path, shape, ['jsonl', 'csv'], { ...storeOptions, profiles: false });
    const plan = demoPlan();
    const figures: IngestFigure[] = [];
    for (const format of ['jsonl', 'csv'] as const) {
      const file = files.events[format]!;
      const fileBytes = statSync(file).size;
      let lastReport: IngestFigure['lastReport'] | undefined;
      let run = 0;
      const fresh = async <T>(label: string, fn: (store: DuckDbStore) => Promise<T>): Promise<T> => {
        // A fresh database per load; opening and deleting it are outside the timed part.
        const path = work.file(`${label}-${format}-${run++}.duckdb`);
        const store = await DuckDbStore.open({ path, ...storeOptions });
        try {
          return await fn(store);
        } finally {
          await store.close();
          removeDatabase(path);
        }
      };
      const timings = await interleave(options.repetitions, {
        strata: () =>
          fresh('strata', async (store) => {
            await store.applyPlan(plan);
            return secondsOf(async () => {
              const report = await ingestFiles(store, {
                kind: 'events',
                files: [file],
                format,
                plan,
                rejectsPath: work.file(`rejects-${format}.jsonl`),
              });
              lastReport = {
                read: report.read,
                stored: report.stored,
                rejected: report.rejected,
                duplicates: report.duplicates,
                droppedFields: report.droppedFields,
              };
            });
          }),
        raw: () =>
          fresh('raw', (store) =>
            secondsOf(async () => {
              await store.execute(`CREATE TABLE raw_events AS SELECT * FROM ${RAW_READER[format]}('${file.replaceAll("'", "''")}')`);
              const [c] = await store.query('SELECT count(*) AS n FROM raw_events');
              if (Number(c!.n) !== files.eventRows) throw new Error(`DuckDB read ${c!.n} rows of ${file}, expected ${files.eventRows}`);
            }),
          ),
      });
      if (!lastReport) throw new Error('no Strata ingest ran');
      if (lastReport.stored !== files.eventRows || lastReport.rejected !== 0) {
        process.stdout.write(`  WARNING ${format}: Strata stored ${lastReport.stored} of ${files.eventRows} rows (${lastReport.rejected} rejected)\n`);
      }
      const strataRowsPerSecond = files.eventRows / timings.strata.median;
      const rawRowsPerSecond = files.eventRows / timings.raw.median;
      figures.push({
        format,
        rows: files.eventRows,
        fileBytes,
        strata: timings.strata,
        raw: timings.raw,
        strataRowsPerSecond,
        rawRowsPerSecond,
        ratio: strataRowsPerSecond / rawRowsPerSecond,
        lastReport,
      });
      process.stdout.write(`  ${format}: strata ${rate(strataRowsPerSecond)} rows/s, duckdb raw ${rate(rawRowsPerSecond)} rows/s\n`);
    }
    printTable(
      `Ingest of ${formatCount(files.eventRows)} events into a fresh DuckDB file; medians of ${options.repetitions}; goal strata/raw >= ${INGEST_GOAL}`,
      ['format', 'rows', 'file MB', 'strata s', 'raw s', 'strata rows/s', 'raw rows/s', 'strata/raw', 'goal'],
      figures.map((f) => [
        f.format,
        f.rows,
        (f.fileBytes / 1e6).toFixed(0),
        seconds(f.strata.median),
        seconds(f.raw.median),
        rate(f.strataRowsPerSecond),
        rate(f.rawRowsPerSecond),
        ratio(f.ratio),
        f.ratio >= INGEST_GOAL ? 'met' : 'MISSED',
      ]),
    );
    return figures;
  } finally {
    if (!options.keep) work.remove();
  }
}

function removeDatabase(path: string): void {
  rmSync(path, { force: true });
  rmSync(`${path}.wal`, { force: true });
}
