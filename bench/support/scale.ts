/**
 * Counts as people write them on a command line: `10M`, `100M`, `500k`, `2.5M`, `2000000`.
 */
const SUFFIX: Readonly<Record<string, number>> = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9, b: 1e9, B: 1e9 };

export function parseCount(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgGbB]?)$/.exec(text.replaceAll('_', '').trim());
  const n = m ? Math.round(Number(m[1]) * SUFFIX[m[2]!]!) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${option}: expected a positive count such as 10M, 500k or 2000000, got ${JSON.stringify(text)}`);
  return n;
}

/** A comma-separated list of counts: `--events 10M,100M`. */
export function parseCounts(text: string, option: string): number[] {
  return text.split(',').filter((s) => s.length > 0).map((s) => parseCount(s, option));
}

export function formatCount(n: number): string {
  for (const [unit, size] of [['G', 1e9], ['M', 1e6], ['k', 1e3]] as const) {
    if (n >= size) {
      const v = n / size;
      return `${Number.isInteger(v) ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)}${unit}`;
    }
  }
  return String(n);
}
