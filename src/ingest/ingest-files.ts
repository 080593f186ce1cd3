/**
 * Ingest data files into the store. Every row is validated against the tracking plan by
 * the store's set-based validator; the files are staged first (scratch tables only), then
 * one transaction stores them all, so a run changes the store completely or not at all.
 * Rejects go to a JSONL file and the run is recorded in ingest_runs.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { StrataError } from '../errors/errors.js';
import type { PrivacyConfig } from '../privacy/privacy-config.js';
import type { TrackingPlan } from '../schema/tracking-plan.js';
import type { EventStore, IngestSpec, IngestStep, SourceFormat, StagedSource } from '../store/event-store.js';
import { checkRowIdFiles, resolveMapping, type ColumnMapping } from './column-mapping.js';
import { ingestFields } from './ingest-fields.js';
import { PrivacyTally, ingestPrivacy } from './ingest-privacy.js';
import type { IngestProgress, IngestReport } from './ingest-report.js';
import { resolveSource, type ResolvedSource } from './source-files.js';

export interface IngestFilesOptions {
  readonly kind: 'events' | 'profiles';
  readonly files: string[];
  /** Overrides the format the file names imply. */
  readonly format?: SourceFormat;
  readonly mapping?: ColumnMapping;
  readonly plan: TrackingPlan;
  /** Where rejected rows go, as JSONL `{file, line, reason, row}`; written only when there are rejects. */
  readonly rejectsPath: string;
  readonly onProgress?: (p: IngestProgress) => void;
  /** The workspace's `privacy:` settings (Config.privacy); absent: the defaults (pii hashed, IPs truncated, analytics opt-out). */
  readonly privacy?: PrivacyConfig;
  /**
   * The pseudonymization key, required when `privacy.pseudonymize` is set:
   * `resolvePseudonymKey(config, env)` (src/privacy/pseudonymize.ts).
   */
  readonly pseudonymKey?: Uint8Array | null;
}

export async function ingestFiles(store: EventStore, options: IngestFilesOptions): Promise<IngestReport> {
  return runIngest(store, {
    kind: options.kind,
    inputs: options.files.map((f) => ({ path: f, label: f })),
    format: options.format,
    mapping: options.mapping,
    plan: options.plan,
    rejectsPath: options.rejectsPath,
    onProgress: options.onProgress,
    privacy: options.privacy,
    pseudonymKey: options.pseudonymKey,
  });
}

export interface IngestRunInput {
  readonly kind: 'events' | 'profiles';
  readonly inputs: readonly { readonly path: string; readonly label: string }[];
  readonly format: SourceFormat | undefined;
  readonly mapping: ColumnMapping | undefined;
  readonly plan: TrackingPlan;
  readonly rejectsPath: string | null;
  readonly onProgress: ((p: IngestProgress) => void) | undefined;
  readonly privacy: PrivacyConfig | undefined;
  readonly pseudonymKey: Uint8Array | null | undefined;
}

/** The single ingest path shared by files and in-process records. */
export async function runIngest(store: EventStore, input: IngestRunInput): Promise<IngestReport> {
  const { kind, plan, onProgress } = input;
  if (kind !== 'events' && kind !== 'profiles') {
    throw new StrataError('INPUT_INVALID', `unknown ingest kind ${JSON.stringify(kind)}`, [{ path: 'kind', message: 'expected events or profiles' }]);
  }
  if (input.inputs.length === 0) throw new StrataError('INPUT_INVALID', 'no files to ingest', [{ path: 'files', message: 'expected at least one file' }]);
  if (kind === 'events' && input.mapping?.rowIds === true) checkRowIdFiles(input.inputs.map((f) => f.label));
  const startedAtMs = Date.now();
  const t0 = performance.now();
  const privacy = ingestPrivacy(plan, input.privacy, input.pseudonymKey, startedAtMs);
  const resolved: ResolvedSource[] = [];
  try {
    for (const f of input.inputs) resolved.push(await resolveSource(f.path, f.label, input.format));
    if (input.rejectsPath !== null) await mkdir(path.dirname(input.rejectsPath), { recursive: true });
    const fields = ingestFields(kind, plan);
    await store.applyPlan(plan);
    const totalBytes = resolved.reduce((s, r) => s + r.bytes, 0);
    const runId = randomUUID();

    const declaredEvents = Object.keys(plan.events);
    const sum = { read: 0, stored: 0, rejected: 0, duplicates: 0, droppedFields: {} as Record<string, number>, rejectReasons: {} as Record<string, number> };
    const tally = new PrivacyTally();
    const session = await store.openIngest({ kind, fields, trackProgress: onProgress !== undefined, privacy });
    let failure: unknown;
    try {
      // Stage every file first: reading and validating touch only scratch tables, so a file
      // that cannot be read fails the run before the store changes at all.
      const staged: StagedSource[] = [];
      let bytesBefore = 0;
      for (const { source, bytes } of resolved) {
        const shape = await store.describeSource(source);
        const mapping = resolveMapping(kind, input.mapping, shape, source.label);
        if (mapping.event && 'literal' in mapping.event && !(mapping.event.literal in plan.events)) {
          throw new StrataError('MAPPING_INVALID', `the event ${JSON.stringify(mapping.event.literal)} is not in the tracking plan`, [
            { path: '--event', message: 'declare it under plan.events in strata.yaml, or run strata plan infer --write' },
          ]);
        }
        const spec: IngestSpec = { ...mapping, fields, declaredEvents, undeclared: plan.undeclared };
        const before = bytesBefore;
        const s = await session.stage(source, shape, spec, progress(onProgress, (fraction) => Math.round(before + fraction * bytes), totalBytes));
        bytesBefore += bytes;
        staged.push(s);
        sum.read += s.read;
        // Suppressed rows are read but neither valid nor rejected (they are never written anywhere).
        sum.rejected += s.read - s.valid - (s.privacy?.suppressed ?? 0);
        tally.addStaged(s.privacy);
        addCounts(sum.droppedFields, s.droppedFields);
        addCounts(sum.rejectReasons, s.rejectReasons);
      }
      // One transaction stores the run: all of it, or (on any error or a crash) nothing.
      await store.transaction(async () => {
        for (const s of staged) {
          const r = await session.store(s, progress(onProgress, () => 0, totalBytes));
          sum.stored += r.stored;
          sum.duplicates += r.duplicates;
          tally.noConsent += r.noConsent ?? 0;
        }
        const finished = await session.finish(
          {
            runId,
            kind,
            files: input.inputs.map((f) => f.label),
            startedAtMs,
            finishedAtMs: Date.now(),
            read: sum.read,
            stored: sum.stored,
            rejected: sum.rejected,
            duplicates: sum.duplicates,
            dropped: sum.droppedFields,
            privacy: tally.counts(),
          },
          sum.rejected > 0 ? input.rejectsPath : null,
        );
        if (finished) tally.addFinished(finished);
      });
    } catch (e) {
      failure = e;
      throw e;
    } finally {
      // Scratch tables go in every case; a failure to drop them must not hide the run's own error.
      try {
        await session.close();
      } catch (e) {
        if (failure === undefined) throw e;
      }
    }

    const elapsedMs = performance.now() - t0;
    return {
      runId,
      kind,
      files: input.inputs.map((f) => f.label),
      read: sum.read,
      stored: sum.stored,
      rejected: sum.rejected,
      duplicates: sum.duplicates,
      droppedFields: sum.droppedFields,
      rejectReasons: sum.rejectReasons,
      privacy: tally.counts(),
      rejectsPath: sum.rejected > 0 ? input.rejectsPath : null,
      elapsedMs: Math.round(elapsedMs),
      rowsPerSecond: elapsedMs > 0 ? Math.round(sum.read / (elapsedMs / 1000)) : 0,
    };
  } finally {
    for (const r of resolved) await r.cleanup();
  }
}

/** Store progress to the run's: reading in bytes of all files, the other steps in rows of the current file. */
function progress(
  onProgress: ((p: IngestProgress) => void) | undefined,
  bytesDone: (fraction: number) => number,
  totalBytes: number,
): ((step: IngestStep, fraction: number, rows: number) => void) | undefined {
  if (!onProgress) return undefined;
  return (step, fraction, rows) => {
    if (step === 'reading') onProgress({ phase: 'reading', done: bytesDone(fraction), total: totalBytes });
    else onProgress({ phase: step, done: Math.round(fraction * rows), total: rows });
  };
}

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}
