/**
 * The setup the benchmarks on the generated product share (segments, retention, funnel):
 * per events count, a DuckDB store in a fresh work folder, the plan applied, the product
 * generated (product-data.ts: 180 days ending at DEFAULT_END_MS, the asOf) and timed, then
 * the benchmark's own cases, then the store closed and the folder removed unless --keep.
 */
import type { TrackingPlan } from '../../src/schema/tracking-plan.js';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import { timed } from './measure.js';
import { DEFAULT_END_MS, generateProductStore } from './product-data.js';
import { seconds } from './report.js';
import { formatCount } from './scale.js';
import { createWorkDir } from './workdir.js';

/** The options bench/run.ts passes to every benchmark on the generated product. */
export interface ProductBenchOptions {
  readonly events: readonly number[];
  readonly users: number;
  readonly repetitions: number;
  readonly dir?: string;
  readonly keep: boolean;
  readonly threads?: number;
  readonly memoryLimit?: string;
}

/** What every scale's result says of its data. */
export interface ProductScale {
  readonly events: number;
  readonly users: number;
  readonly asOf: string;
  readonly generateSeconds: number;
}

export interface ProductStore {
  readonly store: DuckDbStore;
  /** The end of the generated data, the asOf of every figure. */
  readonly asOfMs: number;
  /** The rows generated, the asOf and the seconds generating took, for the scale's result. */
  readonly scale: ProductScale;
}

/** Run `scale` for each events count of the options, one after the other. */
export async function eachScale<R>(options: ProductBenchOptions, scale: (events: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const events of options.events) out.push(await scale(events));
  return out;
}

/**
 * A store with `plan` applied and about `events` events for `options.users` users generated
 * in a work folder named after the benchmark (progress on stdout); `run` gets it, and the
 * store is closed (and the folder removed unless --keep) however `run` ends.
 */
export async function withProductStore<R>(
  benchmark: string,
  events: number,
  plan: TrackingPlan,
  options: ProductBenchOptions,
  run: (product: ProductStore) => Promise<R>,
): Promise<R> {
  const work = createWorkDir(options.dir, `${benchmark}-${formatCount(events)}`);
  const store = await DuckDbStore.open({
    path: work.file('store.duckdb'),
    ...(options.threads ? { threads: options.threads } : {}),
    ...(options.memoryLimit ? { memoryLimit: options.memoryLimit } : {}),
  });
  try {
    await store.applyPlan(plan);
    const shape = { users: options.users, events, days: 180, endMs: DEFAULT_END_MS };
    process.stdout.write(`\n${benchmark}: generating ${formatCount(events)} events for ${formatCount(options.users)} users in ${work.path} ...\n`);
    const generated = await timed(() => generateProductStore(store, plan, shape));
    await store.execute('CHECKPOINT');
    process.stdout.write(`  ${generated.value.events.toLocaleString('en-US')} events, ${generated.value.users.toLocaleString('en-US')} users in ${seconds(generated.seconds)} s\n`);
    const asOfMs = shape.endMs;
    const scale: ProductScale = { events: generated.value.events, users: generated.value.users, asOf: new Date(asOfMs).toISOString(), generateSeconds: generated.seconds };
    return await run({ store, asOfMs, scale });
  } finally {
    await store.close();
    if (!options.keep) work.remove();
  }
}
