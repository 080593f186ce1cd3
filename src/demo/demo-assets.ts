/**
 * The demo's shipped YAML folders (segments, experiments, models, model-segments), resolved
 * beside this file when running from src, or in the package's src/demo from dist.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../errors/errors.js';

export function demoAssetDir(name: string): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, name), path.resolve(here, '..', '..', 'src', 'demo', name)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new StrataError('FILE_NOT_FOUND', `the demo's ${name} definitions are missing`, [{ path: candidates[1]!, message: `expected the YAML files of src/demo/${name}` }]);
  return found;
}

/** The folder's `.yaml` files, sorted by name. */
export async function demoAssetFiles(name: string): Promise<string[]> {
  const dir = demoAssetDir(name);
  return (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(dir, f));
}
