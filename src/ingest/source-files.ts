/**
 * From a path the user gave to a source the store can read: the format from the name
 * (or the `format` option), gzip from `.gz`, and a readable regular file. DuckDB reads
 * gzipped CSV and JSON itself; gzipped Parquet is unpacked to a temporary file first,
 * since Parquet compresses inside the file and its reader expects a seekable file.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { StrataError } from '../errors/errors.js';
import type { SourceFile, SourceFormat } from '../store/event-store.js';

export const SOURCE_FORMATS: readonly SourceFormat[] = ['jsonl', 'csv', 'parquet'];

const BY_EXTENSION: Readonly<Record<string, SourceFormat>> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.csv': 'csv',
  '.tsv': 'csv',
  '.parquet': 'parquet',
};

export interface ResolvedSource {
  readonly source: SourceFile;
  readonly bytes: number;
  /** Removes temporary files made for the source. */
  readonly cleanup: () => Promise<void>;
}

export async function resolveSource(file: string, label: string, format?: SourceFormat): Promise<ResolvedSource> {
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new StrataError('INPUT_INVALID', `${label} is not a file`, [{ path: label, message: 'expected a data file' }]);
    await access(file, constants.R_OK);
    size = s.size;
  } catch (e) {
    if (e instanceof StrataError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StrataError('FILE_NOT_FOUND', `no such file: ${label}`, [{ path: label, message: 'the file does not exist' }]);
    throw new StrataError('INPUT_INVALID', `cannot read ${label}: ${(e as Error).message}`, [{ path: label, message: 'the file is not readable' }], { cause: e });
  }
  const gzip = /\.gz$/i.test(file);
  const ext = path.extname(gzip ? file.slice(0, -3) : file).toLowerCase();
  const chosen = format ?? BY_EXTENSION[ext];
  if (chosen === undefined) {
    throw new StrataError('FORMAT_UNSUPPORTED', `cannot tell the format of ${label} from its name`, [
      { path: label, message: 'expected .jsonl, .ndjson, .json, .csv, .tsv or .parquet (optionally .gz), or a format option (jsonl, csv, parquet)' },
    ]);
  }
  if (!SOURCE_FORMATS.includes(chosen)) {
    throw new StrataError('FORMAT_UNSUPPORTED', `unknown format ${JSON.stringify(chosen)}`, [{ path: 'format', message: 'expected jsonl, csv or parquet' }]);
  }
  const base: SourceFile = {
    path: file,
    label,
    format: chosen,
    ...(chosen === 'csv' && ext === '.tsv' ? { delimiter: '\t' } : {}),
    ...(chosen === 'jsonl' ? { jsonLayout: ext === '.json' ? ('auto' as const) : ('lines' as const) } : {}),
  };
  if (chosen !== 'parquet' || !gzip) return { source: base, bytes: size, cleanup: async () => undefined };

  const dir = await mkdtemp(path.join(tmpdir(), 'strata-parquet-'));
  const unpacked = path.join(dir, 'source.parquet');
  try {
    await pipeline(createReadStream(file), createGunzip(), createWriteStream(unpacked));
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw new StrataError('INPUT_INVALID', `cannot read ${label}: expected gzipped Parquet`, [{ path: label, message: (e as Error).message }], { cause: e });
  }
  return { source: { ...base, path: unpacked }, bytes: size, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
