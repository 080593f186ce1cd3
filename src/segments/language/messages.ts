/**
 * Paths and phrasing shared by every error the language front end reports, so that all
 * of them read the same way: `match.all[2].sequence[1].event: expected ..., got ...`.
 */
import { childPath } from '../../schema/tracking-plan.js';

/** `base.key`, or `base["odd key"]` for keys that are not plain identifiers; just the key at the root. */
export function keyPath(base: string, key: string): string {
  const path = childPath(base, key);
  return base === '' && path.startsWith('.') ? path.slice(1) : path;
}

export function indexPath(base: string, index: number): string {
  return `${base}[${index}]`;
}

/** A value as it appears in a message: JSON, shortened, and "nothing" for a missing value. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A name quoted for a message, escaped so that quotes and newlines inside it stay visible. */
export function quote(name: string): string {
  return JSON.stringify(name);
}

export function listOf(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The candidate that `name` is most likely a typo of, if any is close enough. */
export function closest(name: string, candidates: Iterable<string>, aliases: Readonly<Record<string, string>> = {}): string | undefined {
  if (Object.hasOwn(aliases, name)) return aliases[name];
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = name.toLowerCase();
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  return bestDistance <= tolerance ? best : undefined;
}

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment): "plna" is one edit from "plan". */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}
