/**
 * "Did you mean" for segment keys: the stored keys closest to a mistyped one.
 */
import { StrataError } from '../../errors/errors.js';

/** Edit distance (insert, delete, substitute) between two strings, by code unit. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Up to `max` keys within a third of the key's length (at least 2 edits), or containing
 * it or contained in it, nearest first.
 */
export function closeKeys(key: string, known: readonly string[], max = 3): string[] {
  const budget = Math.max(2, Math.floor(key.length / 3));
  return known
    .map((k) => ({ k, d: editDistance(key, k), contains: k.includes(key) || key.includes(k) }))
    .filter((c) => c.d <= budget || c.contains)
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, max)
    .map((c) => c.k);
}

export function segmentNotFound(keys: readonly string[], known: readonly string[]): StrataError {
  const details = keys.map((key) => {
    const close = closeKeys(key, known);
    const hint =
      close.length > 0
        ? `did you mean ${close.map((k) => JSON.stringify(k)).join(', ')}?`
        : known.length === 0
          ? 'no segments are registered yet'
          : 'no registered key is close to it';
    return { path: key, message: hint };
  });
  const names = keys.map((k) => JSON.stringify(k)).join(', ');
  // One key: the message says it all, and a detail would repeat it on the CLI's one line.
  if (keys.length === 1) return new StrataError('SEGMENT_NOT_FOUND', `no segment ${names}; ${details[0]!.message}`);
  return new StrataError('SEGMENT_NOT_FOUND', `no segments ${names}`, details);
}
