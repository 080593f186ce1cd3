/**
 * A small structural diff of two JSON documents, for the audit log: which paths were
 * added, removed or changed, with the old and new values. Objects are compared key by key,
 * arrays index by index (definitions are canonical, so an element moved is an element
 * changed, which is what an author reviewing the change wants to see), and anything else
 * by value. Hand-written rather than a library (microdiff, jsondiffpatch) because the paths
 * must read like the language's error paths (`match.all[0].did`) and it is 60 lines.
 */

export interface JsonDiff {
  readonly added: readonly { readonly path: string; readonly value: unknown }[];
  readonly removed: readonly { readonly path: string; readonly value: unknown }[];
  readonly changed: readonly { readonly path: string; readonly old: unknown; readonly new: unknown }[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `base.key`, or `base["odd key"]` for keys that are not plain identifiers; the bare key at the root. */
export function diffKeyPath(base: string, key: string): string {
  if (!IDENTIFIER.test(key)) return `${base}[${JSON.stringify(key)}]`;
  return base === '' ? key : `${base}.${key}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Plain JSON as it would be stored: undefined keys dropped, dates as strings. */
function normalize(v: unknown): Json {
  return v === undefined ? null : (JSON.parse(JSON.stringify(v)) as Json);
}

/**
 * What changed from `before` to `after` (JSON values; `undefined` means nothing, so a first
 * version diffs against nothing and every top-level key is added). Paths are in document
 * order: the keys of `before` first, then the keys only `after` has.
 */
export function jsonDiff(before: unknown, after: unknown): JsonDiff {
  const out = { added: [] as { path: string; value: unknown }[], removed: [] as { path: string; value: unknown }[], changed: [] as { path: string; old: unknown; new: unknown }[] };
  const a = before === undefined ? {} : normalize(before);
  const b = after === undefined ? {} : normalize(after);
  walk(a, b, '', out);
  return out;
}

function walk(a: Json, b: Json, path: string, out: { added: { path: string; value: unknown }[]; removed: { path: string; value: unknown }[]; changed: { path: string; old: unknown; new: unknown }[] }): void {
  if (isObject(a) && isObject(b)) {
    for (const k of Object.keys(a)) {
      const p = diffKeyPath(path, k);
      if (!Object.hasOwn(b, k)) out.removed.push({ path: p, value: a[k] });
      else walk(a[k]!, b[k]!, p, out);
    }
    for (const k of Object.keys(b)) if (!Object.hasOwn(a, k)) out.added.push({ path: diffKeyPath(path, k), value: b[k] });
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const common = Math.min(a.length, b.length);
    for (let i = 0; i < common; i++) walk(a[i]!, b[i]!, `${path}[${i}]`, out);
    for (let i = common; i < a.length; i++) out.removed.push({ path: `${path}[${i}]`, value: a[i] });
    for (let i = common; i < b.length; i++) out.added.push({ path: `${path}[${i}]`, value: b[i] });
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.changed.push({ path, old: a, new: b });
}

/** True when nothing changed. */
export function isEmptyDiff(diff: JsonDiff): boolean {
  return diff.added.length + diff.removed.length + diff.changed.length === 0;
}

/** One line for a table: `+owner ~match.did -tags[1]`, shortened after `max` paths. */
export function diffSummary(diff: JsonDiff, max = 4): string {
  const parts = [
    ...diff.changed.map((c) => `~${c.path || '(root)'}`),
    ...diff.added.map((c) => `+${c.path}`),
    ...diff.removed.map((c) => `-${c.path}`),
  ];
  if (parts.length === 0) return 'no change';
  return parts.length > max ? `${parts.slice(0, max).join(' ')} (+${parts.length - max} more)` : parts.join(' ');
}
