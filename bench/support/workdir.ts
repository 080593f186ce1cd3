/**
 * Scratch space for generated files and stores: under os.tmpdir()/strata-bench unless
 * `--dir` says otherwise, one folder per run, removed afterwards unless `--keep`.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WorkDir {
  readonly path: string;
  file(name: string): string;
  remove(): void;
}

export function createWorkDir(base: string | undefined, label: string): WorkDir {
  const root = base ?? join(tmpdir(), 'strata-bench');
  mkdirSync(root, { recursive: true });
  const path = mkdtempSync(join(root, `${label}-`));
  return {
    path,
    file: (name) => join(path, name),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}
