/**
 * Stream state on disk, so a restart continues where it stopped instead of replaying all
 * history. One JSON value per line, written to a temporary file beside the target, synced
 * and renamed over it, so a crash leaves either the old state or the new one:
 *
 *   {"format":"strata-stream-state","version":1,"clock":"event","asOfMs":...,"segments":[{"key","hash"}],...}
 *   {"user":{"id":"u1","member":[0,3],"series":{...},...}}     one per user
 *   {"pending":{"userId":...,"event":...,"ts":...,"properties":{...}}}
 *   {"profile":{"userId":...,"traits":{...}}}                  profiles waiting for the clock to start
 *   {"end":{"users":N,"pending":M,"profiles":K}}               a truncated file is refused
 *
 * A reader refuses other formats and versions before reading further; restoring
 * (StreamEvaluator.restore) refuses other segment definitions.
 */
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { StrataError } from '../../errors/errors.js';
import type { MemoryValue } from '../evaluate/index.js';
import { STREAM_STATE_FORMAT, STREAM_STATE_VERSION, type SavedUser, type StreamEvent, type StreamSnapshot, type StreamStateHeader } from './stream-evaluator.js';

const CHUNK_CHARS = 1 << 20;

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
    await line(snapshot.header);
    for (const user of snapshot.users) {
      users++;
      await line({ user });
    }
    for (const pending of snapshot.pending) await line({ pending });
    for (const profile of snapshot.preClockProfiles) await line({ profile });
    await line({ end: { users, pending: snapshot.pending.length, profiles: snapshot.preClockProfiles.length } });
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
        if (value.version !== STREAM_STATE_VERSION) {
          throw refuse(file, `stream state version ${JSON.stringify(value.version)} is not readable by this Strata, which reads version ${STREAM_STATE_VERSION}`, '1', `expected "version": ${STREAM_STATE_VERSION}`);
        }
        header = value as unknown as StreamStateHeader;
        continue;
      }
      if (ended) throw refuse(file, `data after the end marker at line ${lineNumber}`, String(lineNumber), 'expected nothing after {"end": ...}');
      if (value.user) users.push(value.user as SavedUser);
      else if (value.pending) pending.push(value.pending as StreamEvent);
      else if (value.profile) profiles.push(value.profile as { userId: string; traits: Record<string, MemoryValue> });
      else if (value.end) {
        const end = value.end as { users: number; pending: number; profiles: number };
        if (end.users !== users.length || end.pending !== pending.length || end.profiles !== profiles.length) {
          throw refuse(file, `the end marker counts ${end.users} users, the file holds ${users.length}`, String(lineNumber), 'expected a complete state file');
        }
        ended = true;
      } else throw refuse(file, `unknown record at line ${lineNumber}`, String(lineNumber), 'expected "user", "pending", "profile" or "end"');
    }
  } finally {
    lines.close();
    input.destroy();
  }
  if (!header) throw refuse(file, 'the file is empty', '1', 'expected a stream state written by `strata stream --state`');
  if (!ended) throw refuse(file, 'the file is truncated (no end marker)', String(lineNumber), 'expected a complete state file; it may have been cut off by a crash of another program');
  return { header, users, pending, preClockProfiles: profiles };
}
