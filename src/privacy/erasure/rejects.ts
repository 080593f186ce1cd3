/**
 * Rejects files hold raw input rows (`{file, line, reason, row}` per line, JSON lines) that
 * never reached the store, so erasure scrubs them too: every `.jsonl` file under the
 * workspace's rejects folder (`config.rejectsDir`, recursively).
 *
 * A line belongs to a user when its raw row is an object with a top-level value equal to
 * one of the user's ids (the id as given and, on a pseudonymized workspace, as stored; a
 * number compared by its text), or, for a row kept as text, when the text holds the id as a
 * JSON string. The rejects file does not record which column was the user column, so any
 * top-level field counts: erring towards removing a line is the safe side for an erasure.
 * A changed file is rewritten through a temporary file and a rename, so a reader sees the
 * old file or the new one, never half of one.
 */
import { createReadStream } from 'node:fs';
import { readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** A user's ids to look for: the id as given and as stored (often the same). */
export interface RejectsTarget {
  readonly key: string;
  readonly ids: readonly string[];
}

export interface RejectsScrub {
  /** Lines removed (or, dry run, that would be) per target key. */
  readonly lines: ReadonlyMap<string, number>;
  /** Files rewritten (dry run: that would be). */
  readonly files: readonly string[];
}

async function jsonlFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await jsonlFiles(full)));
    else if (entry.isFile() && entry.name.endsWith('.jsonl')) out.push(full);
  }
  return out.sort();
}

/** The target a rejects line belongs to, or null. */
export function rejectsLineOwner(line: string, owners: ReadonlyMap<string, string>): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return null;
  }
  const row = typeof parsed === 'object' && parsed !== null && 'row' in parsed ? (parsed as { row: unknown }).row : undefined;
  if (typeof row === 'object' && row !== null && !Array.isArray(row)) {
    for (const value of Object.values(row)) {
      if (typeof value !== 'string' && typeof value !== 'number') continue;
      const owner = owners.get(String(value));
      if (owner !== undefined) return owner;
    }
    return null;
  }
  if (typeof row === 'string') {
    for (const [id, owner] of owners) if (row.includes(JSON.stringify(id))) return owner;
  }
  return null;
}

/** Remove (unless `dryRun`) every line of the targets from the rejects files under `dir`, counting them. */
export async function scrubRejects(dir: string, targets: readonly RejectsTarget[], options: { readonly dryRun: boolean }): Promise<RejectsScrub> {
  const owners = new Map<string, string>();
  for (const t of targets) for (const id of t.ids) owners.set(id, t.key);
  const lines = new Map<string, number>(targets.map((t) => [t.key, 0]));
  const files: string[] = [];
  if (owners.size === 0) return { lines, files };
  for (const file of await jsonlFiles(dir)) {
    const kept: string[] = [];
    let removed = 0;
    const reader = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    for await (const line of reader) {
      const owner = line.trim() === '' ? null : rejectsLineOwner(line, owners);
      if (owner === null) kept.push(line);
      else {
        removed++;
        lines.set(owner, (lines.get(owner) ?? 0) + 1);
      }
    }
    if (removed === 0) continue;
    files.push(file);
    if (!options.dryRun) await rewriteAtomically(file, kept.length === 0 ? '' : `${kept.join('\n')}\n`);
  }
  return { lines, files };
}

async function rewriteAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.strata-${process.pid}.tmp`;
  try {
    const mode = (await stat(file)).mode & 0o777;
    await writeFile(tmp, text, { mode });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
