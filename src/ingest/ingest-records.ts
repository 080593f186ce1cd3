/**
 * In-process batches (tests, the demo, a future HTTP endpoint) take the file path: the
 * records are written as a temporary JSONL file and ingested like any file, so there is
 * exactly one validator. In the rejects file they are `<records>`, line = 1-based index.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StrataError } from '../errors/errors.js';
import type { PrivacyConfig } from '../privacy/privacy-config.js';
import type { TrackingPlan } from '../schema/tracking-plan.js';
import type { EventStore } from '../store/event-store.js';
import { runIngest } from './ingest-files.js';
import type { IngestProgress, IngestReport } from './ingest-report.js';

export interface EventRecord {
  readonly user_id: string;
  readonly event: string;
  /** ISO-8601 text or epoch seconds / milliseconds (see event-time.ts). */
  readonly timestamp: string | number;
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly event_id?: string;
}

export interface ProfileRecord {
  readonly user_id: string;
  readonly traits: Readonly<Record<string, unknown>>;
}

export interface IngestRecordsOptions {
  /** Where rejected records go; without it rejects are only counted in the report. */
  readonly rejectsPath?: string;
  readonly onProgress?: (p: IngestProgress) => void;
  /** As in IngestFilesOptions: the workspace's privacy settings and pseudonymization key. */
  readonly privacy?: PrivacyConfig;
  readonly pseudonymKey?: Uint8Array | null;
}

export const RECORDS_LABEL = '<records>';

export async function ingestEventRecords(
  store: EventStore,
  records: readonly EventRecord[],
  plan: TrackingPlan,
  options: IngestRecordsOptions = {},
): Promise<IngestReport> {
  return ingestRecords(store, 'events', records, plan, options);
}

export async function ingestProfileRecords(
  store: EventStore,
  records: readonly ProfileRecord[],
  plan: TrackingPlan,
  options: IngestRecordsOptions = {},
): Promise<IngestReport> {
  return ingestRecords(store, 'profiles', records, plan, options);
}

async function ingestRecords(
  store: EventStore,
  kind: 'events' | 'profiles',
  records: readonly unknown[],
  plan: TrackingPlan,
  options: IngestRecordsOptions,
): Promise<IngestReport> {
  if (!Array.isArray(records)) throw new StrataError('INPUT_INVALID', `${kind} records must be an array`, [{ path: 'records', message: 'expected an array of objects' }]);
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-records-'));
  try {
    const file = path.join(dir, 'records.jsonl');
    await writeJsonLines(file, records);
    return await runIngest(store, {
      kind,
      inputs: [{ path: file, label: RECORDS_LABEL }],
      format: 'jsonl',
      mapping: undefined,
      plan,
      rejectsPath: options.rejectsPath ?? null,
      onProgress: options.onProgress,
      privacy: options.privacy,
      pseudonymKey: options.pseudonymKey,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeJsonLines(file: string, records: readonly unknown[]): Promise<void> {
  const out = createWriteStream(file);
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  const chunk: string[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    if (!out.write(chunk.join(''))) await new Promise<void>((r) => out.once('drain', () => r()));
    chunk.length = 0;
  };
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      out.destroy();
      throw new StrataError('INPUT_INVALID', `record ${i + 1} is not an object`, [{ path: `records[${i}]`, message: 'expected an object' }]);
    }
    let line: string;
    try {
      line = JSON.stringify(r);
    } catch (e) {
      out.destroy();
      throw new StrataError('INPUT_INVALID', `record ${i + 1} cannot be written as JSON: ${(e as Error).message}`, [
        { path: `records[${i}]`, message: 'expected JSON values (strings, numbers, booleans, null, objects)' },
      ]);
    }
    chunk.push(line, '\n');
    if (chunk.length >= 20_000) await flush();
  }
  await flush();
  out.end();
  await done;
}
