/**
 * Timing helpers. Machines are noisy, so every comparison in these benchmarks is made in
 * one process, with the contenders interleaved and each figure the median of several
 * repetitions; the spread (min and max) is kept so a reader can judge the noise.
 */
import { performance } from 'node:perf_hooks';

export interface Timing {
  /** Median wall time in seconds. */
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { seconds: (performance.now() - start) / 1000, value };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(samples: readonly number[]): Timing {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples: [...samples] };
}

/** Wall seconds of `fn`. */
export async function secondsOf(fn: () => Promise<unknown>): Promise<number> {
  return (await timed(fn)).seconds;
}

/**
 * Run each contender once per repetition, in alternating order (A B, B A, A B, ...) so
 * that neither always runs on a warmer or a more loaded machine, and return each one's
 * timing summary. A contender returns the seconds it measured itself, so that setup and
 * cleanup around the measured work (a fresh database, say) stay out of the figure.
 */
export async function interleave<K extends string>(
  repetitions: number,
  contenders: Readonly<Record<K, () => Promise<number>>>,
): Promise<Record<K, Timing>> {
  const keys = Object.keys(contenders) as K[];
  const samples = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let rep = 0; rep < repetitions; rep++) {
    const order = rep % 2 === 0 ? keys : [...keys].reverse();
    for (const key of order) samples[key].push(await contenders[key]());
  }
  return Object.fromEntries(keys.map((k) => [k, summarize(samples[k])])) as Record<K, Timing>;
}

/** The same contender `repetitions` times. */
export async function repeat(repetitions: number, fn: () => Promise<number>): Promise<Timing> {
  const samples: number[] = [];
  for (let i = 0; i < repetitions; i++) samples.push(await fn());
  return summarize(samples);
}
