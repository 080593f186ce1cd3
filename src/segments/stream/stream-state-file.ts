/**
 * Stream state on disk, so a restart continues where it stopped instead of replaying all
 * history. One JSON value per line, written to a temporary file beside the target, synced
 * and renamed over it, so a crash leaves either the old state or the new one:
 *
 *   {"format":"strata-stream-state","version":2,"clock":"event","asOfMs":...,"segments":[{"key","hash"}],...}
 *   {"scoreRun":{"model":"churn-risk","runId":12,"asOfMs":...,"rows":[["u1",0.83,91.5,null],...]}}
 *                                                              scoring runs not superseded, at most
 *                                                              SCORE_ROWS_PER_LINE rows a line (a run
 *                                                              may take several lines)
 *   {"user":{"id":"u1","member":[0,3],"series":{...},...}}     one per user
 *   {"pending":{"userId":...,"event":...,"ts":...,"properties":{...}}}
 *   {"profile":{"userId":...,"traits":{...}}}                  profiles waiting for the clock to start
 *   {"end":{"users":N,"pending":M,"profiles":K,"scoreRows":R}} a truncated file is refused
 *
 * Version 2 added the `scoreRun` lines and `end.scoreRows`; version 1 files (which cannot
 * hold scores) are still read. A reader refuses other formats and versions before reading
 * further; restoring (StreamEvaluator.restore) refuses other segment definitions.
 */
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { StrataError } from '../../errors/errors.js';
import type { MemoryValue } from '../evaluate/index.js';
import { STREAM_STATE_FORMAT, STREAM_STATE_READABLE_VERSIONS, type SavedUser, type StreamEvent, type StreamSnapshot, type StreamStateHeader } from './stream-evaluator.js';
import type { SavedScoreRun } from './stream-scores.js';

const CHUNK_CHARS = 1 << 20;
/** A run of a million users is a few hundred lines of bounded size, not one huge line. */
const SCORE_ROWS_PER_LINE = 5000;

/** Write a snapshot to `file` atomically; returns the bytes written. */
export async function writeStreamState(file: string, snapshot: StreamSnapshot): Promise<number> {
  const target = path.resolve(file);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(temp, 'w');
  let bytes = 0;
  let buffer = '';
  const flush = async () => {
    if (buffer.length === 0) return;
    const data = Buffer.from(buffer, 'utf8');
    buffer = '';
    await handle.write(data);
    bytes += data.length;
  };
  const line = async (value: unknown) => {
    buffer += `${JSON.stringify(value)}\n`;
    if (buffer.length >= CHUNK_CHARS) await flush();
  };
  try {
    let users = 0;
    let scoreRows = 0;
    await line(snapshot.header);
    for (const run of snapshot.scoreRuns ?? []) {
      // An empty run still says the run exists (its users have no value).
      for (let i = 0; i === 0 || i < run.rows.length; i += SCORE_ROWS_PER_LINE) {
        const rows = run.rows.slice(i, i + SCORE_ROWS_PER_LINE);
        scoreRows += rows.length;
        await line({ scoreRun: { model: run.model, runId: run.runId, asOfMs: run.asOfMs, rows } });
      }
    }
    for (const user of snapshot.users) {
      users++;
      await line({ user });
    }
    for (const pending of snapshot.pending) await line({ pending });
    for (const profile of snapshot.preClockProfiles) await line({ profile });
    await line({ end: { users, pending: snapshot.pending.length, profiles: snapshot.preClockProfiles.length, scoreRows } });
    await flush();
    await handle.sync();
  } catch (e) {
    await handle.close();
    await rm(temp, { force: true });
    throw e;
  }
  await handle.close();
  await rename(temp, target);
  return bytes;
}

function refuse(file: string, message: string, where: string, expected: string): StrataError {
  return new StrataError('STATE_INCOMPATIBLE', `${file}: ${message}`, [{ path: `${file}:${where}`, message: expected }]);
}

/** Read a snapshot written by writeStreamState; throws FILE_NOT_FOUND or STATE_INCOMPATIBLE with the line at fault. */
export async function readStreamState(file: string): Promise<StreamSnapshot> {
  let header: StreamStateHeader | undefined;
  const users: SavedUser[] = [];
  const pending: StreamEvent[] = [];
  const profiles: { userId: string; traits: Record<string, MemoryValue> }[] = [];
  const scoreRuns: SavedScoreRun[] = [];
  let scoreRows = 0;
  let ended = false;
  let lineNumber = 0;
  const input = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new StrataError('FILE_NOT_FOUND', `no stream state at ${file}`, [{ path: file, message: 'expected a file written by `strata stream --state`' }]);
    throw e;
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const text of lines) {
      lineNumber++;
      if (text === '') continue;
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw refuse(file, `line ${lineNumber} is not JSON`, String(lineNumber), 'expected a stream state written by `strata stream --state`');
      }
      if (!header) {
        if (value.format !== STREAM_STATE_FORMAT) throw refuse(file, `not a Strata stream state (format ${JSON.stringify(value.format)})`, '1', `expected "format": "${STREAM_STATE_FORMAT}"`);
        if (!STREAM_STATE_READABLE_VERSIONS.includes(value.version as number)) {
          const versions = STREAM_STATE_READABLE_VERSIONS.join(' and ');
          throw refuse(file, `stream state version ${JSON.stringify(value.version)} is not readable by this Strata, which reads versions ${versions}`, '1', `expected "version": one of ${versions}`);
        }
        header = value as unknown as StreamStateHeader;
        continue;
      }
      if (ended) throw refuse(file, `data after the end marker at line ${lineNumber}`, String(lineNumber), 'expected nothing after {"end": ...}');
      if (value.user) users.push(value.user as SavedUser);
      else if (value.pending) pending.push(value.pending as StreamEvent);
      else if (value.profile) profiles.push(value.profile as { userId: string; traits: Record<string, MemoryValue> });
      else if (value.scoreRun && header.version >= 2) {
        const run = value.scoreRun as SavedScoreRun;
        if (!Array.isArray(run.rows)) throw refuse(file, `line ${lineNumber}: a scoring run without rows`, String(lineNumber), 'expected "rows": [[user, score, percentile, cluster], ...]');
        scoreRuns.push(run);
        scoreRows += run.rows.length;
      } else if (value.end) {
        const end = value.end as { users: number; pending: number; profiles: number; scoreRows?: number };
        if (end.users !== users.length || end.pending !== pending.length || end.profiles !== profiles.length || (end.scoreRows ?? 0) !== scoreRows) {
          throw refuse(
            file,
            `the end marker counts ${end.users} users, ${end.pending} pending events, ${end.profiles} profiles and ${end.scoreRows ?? 0} score rows; the file holds ${users.length}, ${pending.length}, ${profiles.length} and ${scoreRows}`,
            String(lineNumber),
            'expected a complete state file',
          );
        }
        ended = true;
      } else throw refuse(file, `unknown record at line ${lineNumber}`, String(lineNumber), `expected "user", "pending", "profile"${header.version >= 2 ? ', "scoreRun"' : ''} or "end"`);
    }
  } finally {
    lines.close();
    input.destroy();
  }
  if (!header) throw refuse(file, 'the file is empty', '1', 'expected a stream state written by `strata stream --state`');
  if (!ended) throw refuse(file, 'the file is truncated (no end marker)', String(lineNumber), 'expected a complete state file; it may have been cut off by a crash of another program');
  return { header, users, pending, preClockProfiles: profiles, scoreRuns };
}
