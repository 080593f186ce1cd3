import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { formatIngestSummary, ingestFiles, type IngestReport } from '../../ingest/index.js';
import { resolvePseudonymKey } from '../../privacy/pseudonymize.js';
import { CommandContext, type CliIo } from '../context.js';
import { addEventMappingOptions, addFormatOption, addProfileMappingOptions, toColumnMapping, type MappingOptions } from './mapping.js';

interface IngestOptions extends MappingOptions {
  rejects?: string;
  rowIds?: boolean;
}

export function registerIngest(program: Command, io: CliIo): void {
  const ingest = program
    .command('ingest')
    .summary('load events or profiles from JSONL, CSV or Parquet files')
    .description(
      'Load data files into the workspace store, validated against the tracking plan.\n' +
        'One run is one transaction: an error leaves the store as it was. Re-ingesting the\n' +
        'same rows adds nothing (dedupe by event id, else by a content hash).\n\n' +
        'Privacy (strata.yaml privacy:): pii fields are hashed or dropped, IP fields truncated\n' +
        'or dropped, user ids pseudonymized when a key is configured, rows of forgotten users\n' +
        'refused, and events of users without analytics consent discarded; every value or row\n' +
        'changed or discarded is counted on the privacy line (and under privacy in --json).',
    );

  const events = ingest
    .command('events')
    .summary('load event files')
    .description(
      'Load event files: one row per event with a user, a timestamp and an event name; the\n' +
        'other columns become properties, typed by the tracking plan. Timestamps may be ISO-8601\n' +
        '(no zone = UTC), epoch seconds or milliseconds, or YYYY-MM-DD HH:MM:SS. Rows with a\n' +
        'wrong type, a missing user, time or event, or a bad timestamp go to the rejects file.',
    )
    .argument('<FILE...>', 'JSONL, CSV or Parquet files, optionally gzipped');
  addEventMappingOptions(events);
  addFormatOption(events);
  events
    .option(
      '--row-ids',
      "each row's event id is its file's base name and line (orders.csv:1234): identical rows stay distinct events, and re-ingesting the file still adds nothing (not with --id)",
    )
    .option('--rejects <PATH>', 'where rejected rows go (default: a new file under the data folder)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata ingest events events.jsonl.gz\n' +
        '  $ strata ingest events clicks.csv --user uid --time ts --event action\n' +
        '  $ strata ingest events online-retail.csv.gz --user CustomerID --time InvoiceDate --event =purchase --row-ids',
    )
    .action((files: string[], opts: IngestOptions, command: Command) => runIngest('events', files, opts, command, io));

  const profiles = ingest
    .command('profiles')
    .summary('load profile files (traits per user)')
    .description(
      'Load profile files: one row per user; the columns other than the user id become traits,\n' +
        'typed by the tracking plan. Profiles are upserted trait by trait: a later value replaces\n' +
        'the earlier one, other traits stay.',
    )
    .argument('<FILE...>', 'JSONL, CSV or Parquet files, optionally gzipped');
  addProfileMappingOptions(profiles);
  addFormatOption(profiles);
  profiles
    .option('--rejects <PATH>', 'where rejected rows go (default: a new file under the data folder)')
    .addHelpText('after', '\nExamples:\n  $ strata ingest profiles users.csv\n  $ strata ingest profiles customers.csv --user CustomerID')
    .action((files: string[], opts: IngestOptions, command: Command) => runIngest('profiles', files, opts, command, io));
}

async function runIngest(kind: 'events' | 'profiles', files: string[], opts: IngestOptions, command: Command, io: CliIo): Promise<void> {
  const ctx = CommandContext.from(io, command);
  const config = await ctx.loadConfig();
  // Refused before anything is read when the workspace pseudonymizes without a usable key.
  const pseudonymKey = resolvePseudonymKey(config, io.env);
  const columns = toColumnMapping(opts);
  const mapping = opts.rowIds === true ? { ...columns, rowIds: true } : columns;
  const rejectsPath = opts.rejects
    ? path.resolve(io.cwd, opts.rejects)
    : path.join(config.rejectsDir, `${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
  await mkdir(path.dirname(rejectsPath), { recursive: true });
  const progress = ctx.progress();
  let report: IngestReport;
  try {
    report = await ctx.withStore(
      (store) =>
        ingestFiles(store, {
          kind,
          files: files.map((f) => path.resolve(io.cwd, f)),
          plan: config.plan,
          rejectsPath,
          privacy: config.privacy,
          pseudonymKey,
          ...(mapping ? { mapping } : {}),
          ...(opts.format ? { format: opts.format } : {}),
          onProgress: (p) => progress.update(p),
        }),
      config,
    );
  } finally {
    progress.stop();
  }
  ctx.emit(report, (r) => formatIngestSummary(r));
}
