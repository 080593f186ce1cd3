/**
 * DuckDB's native readers for ingest sources, and what their errors mean to a user.
 *
 * CSV is read as text (`all_varchar`) so validation is Strata's, not the sniffer's. JSON
 * is read one object per row as a MAP of key to text, so keys that vary from line to line
 * (flat properties, undeclared fields) are all seen without a schema pass.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { StrataError } from '../../errors/errors.js';
import { duckdbDialect } from '../../segments/compile/duckdb-dialect.js';
import type { SourceColumn, SourceFile, SourceShape } from '../event-store.js';

const lit = duckdbDialect.stringLiteral;

/** Rows sampled from the start of a JSON file to learn its top-level keys. */
export const JSON_KEY_SAMPLE = 20_480;

/** The table function reading `source`; JSON rows come back as one column `j` of `type` (default: a MAP of key to text). */
export function readerSql(source: SourceFile, options: { type?: string } = {}): string {
  const path = lit(source.path);
  switch (source.format) {
    case 'csv': {
      // skip = 0: the sniffer may otherwise skip leading rows and shift reported line numbers.
      const delim = source.delimiter !== undefined ? `, delim = ${lit(source.delimiter)}` : '';
      return `read_csv(${path}, all_varchar = true, header = true, skip = 0${delim})`;
    }
    case 'jsonl': {
      const layout = source.jsonLayout === 'auto' ? 'auto' : 'newline_delimited';
      return `read_json(${path}, format = '${layout}', records = 'false', columns = {j: ${lit(options.type ?? 'MAP(VARCHAR, VARCHAR)')}})`;
    }
    case 'parquet':
      return `read_parquet(${path})`;
  }
}

/** The row number DuckDB's `rowid` 0 stands for in the file: CSV counts its header line. */
export function firstLine(source: SourceFile): number {
  return source.format === 'csv' ? 2 : 1;
}

export function formatName(source: SourceFile): string {
  switch (source.format) {
    case 'csv':
      return source.delimiter === '\t' ? 'TSV with a header line' : 'CSV with a header line';
    case 'jsonl':
      return source.jsonLayout === 'auto' ? 'JSON (objects, one per line or in one array)' : 'JSONL (one JSON object per line)';
    case 'parquet':
      return 'Parquet';
  }
}

/** Columns and DuckDB types of a tabular source; for JSON, the top-level keys of a sample. */
export async function describeSource(connection: DuckDBConnection, source: SourceFile): Promise<SourceShape> {
  if (source.format === 'jsonl') return { columns: null, ...(await sampleJsonKeys(connection, source)) };
  try {
    const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${readerSql(source)}`);
    return { columns: reader.getRowObjectsJS().map((r) => ({ name: String(r.column_name), type: String(r.column_type) })) };
  } catch (e) {
    throw sourceError(source, e);
  }
}

/**
 * DuckDB's sniffer, kept to the top level, names the keys of the first rows. When it
 * cannot tell (rows that are not objects, a malformed start), there is no sample and the
 * file is read by keys, which reports the problem precisely.
 */
async function sampleJsonKeys(connection: DuckDBConnection, source: SourceFile): Promise<{ sampledKeys?: string[] }> {
  const layout = source.jsonLayout === 'auto' ? 'auto' : 'newline_delimited';
  try {
    const reader = await connection.runAndReadAll(
      `DESCRIBE SELECT * FROM read_json(${lit(source.path)}, format = '${layout}', maximum_depth = 1, sample_size = ${JSON_KEY_SAMPLE})`,
    );
    const rows = reader.getRowObjectsJS();
    // Objects give JSON-typed columns, one per key; anything else is not a sample of keys.
    if (rows.length === 0 || rows.some((r) => r.column_type !== 'JSON')) return {};
    return { sampledKeys: rows.map((r) => String(r.column_name)) };
  } catch {
    return {};
  }
}

/**
 * A reader failure as the user should see it: the file, what was expected, and DuckDB's
 * own words (which carry the line). Errors that are not about the file stay store errors.
 */
export function sourceError(source: SourceFile, e: unknown): StrataError {
  const message = (e as Error).message ?? String(e);
  const aboutFile = /^(Invalid Input|IO|Conversion|Invalid) Error/.test(message);
  if (!aboutFile) return new StrataError('STORE_ERROR', `reading ${source.label} failed: ${message}`, [], { cause: e });
  const first = message.split('\n').find((l) => l.trim().length > 0) ?? message;
  return new StrataError(
    'INPUT_INVALID',
    `cannot read ${source.label}: expected ${formatName(source)}`,
    [{ path: source.label, message: first.length > 400 ? `${first.slice(0, 400)}…` : first }],
    { cause: e },
  );
}
