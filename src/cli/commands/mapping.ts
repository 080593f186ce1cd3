/**
 * The column-mapping and format options shared by `plan infer` and `ingest`.
 */
import { Option, type Command } from 'commander';
import { StrataError } from '../../errors/errors.js';
import type { ColumnMapping } from '../../ingest/index.js';

export const FILE_FORMATS = ['jsonl', 'csv', 'parquet'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export interface MappingOptions {
  user?: string;
  time?: string;
  event?: string;
  id?: string;
  format?: FileFormat;
}

export function addFormatOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('--format <F>', 'file format, when the extension does not say (.jsonl, .ndjson, .json, .csv, .tsv, .parquet, optionally .gz)').choices([...FILE_FORMATS]),
  );
}

export function addEventMappingOptions(cmd: Command): Command {
  return cmd
    .option('--user <COL>', 'column holding the user id (default: user_id)')
    .option('--time <COL>', 'column holding the timestamp (default: timestamp)')
    .option('--event <COL|=NAME>', 'column holding the event name (default: event), or =NAME for one literal event name for every row')
    .option('--id <COL>', 'column holding a unique event id, for idempotent re-ingest (default: event_id when present, else a content hash)');
}

export function addProfileMappingOptions(cmd: Command): Command {
  return cmd.option('--user <COL>', 'column holding the user id (default: user_id)');
}

/** `--event =purchase` is a literal event name; anything else names a column. */
export function toColumnMapping(opts: MappingOptions): ColumnMapping | undefined {
  const mapping: { -readonly [K in keyof ColumnMapping]: ColumnMapping[K] } = {};
  if (opts.user !== undefined) mapping.user = nonEmpty(opts.user, '--user');
  if (opts.time !== undefined) mapping.time = nonEmpty(opts.time, '--time');
  if (opts.id !== undefined) mapping.id = nonEmpty(opts.id, '--id');
  if (opts.event !== undefined) {
    mapping.event = opts.event.startsWith('=') ? { literal: nonEmpty(opts.event.slice(1), '--event =NAME') } : nonEmpty(opts.event, '--event');
  }
  return Object.keys(mapping).length > 0 ? mapping : undefined;
}

function nonEmpty(value: string, option: string): string {
  if (value.length === 0) throw new StrataError('MAPPING_INVALID', `${option} needs a value`, [{ path: option, message: 'expected a column name' }]);
  return value;
}
