/**
 * Writing member ids as CSV or JSONL, one user id per row, page by page with backpressure,
 * so a million ids never sit in memory at once.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { StrataError } from '../../errors/errors.js';
import type { MemberFormat } from './registry-types.js';

export const MEMBER_FORMATS: readonly MemberFormat[] = ['csv', 'jsonl'];

/** RFC 4180: quote a field only when it holds a comma, a quote or a line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function memberHeader(format: MemberFormat): string {
  return format === 'csv' ? 'user_id\n' : '';
}

export function memberRow(format: MemberFormat, userId: string): string {
  return format === 'csv' ? `${csvField(userId)}\n` : `${JSON.stringify({ user_id: userId })}\n`;
}

async function writeChunk(stream: Writable, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

/**
 * Write `ids` to `out` (a file path, created or truncated, or an open stream that is left
 * open, such as stdout). Returns how many ids were written.
 */
export async function writeMemberIds(ids: AsyncIterable<string>, format: MemberFormat, out: string | Writable): Promise<number> {
  if (!MEMBER_FORMATS.includes(format)) {
    throw new StrataError('FORMAT_UNSUPPORTED', `unknown member format ${JSON.stringify(format)}`, [{ path: 'format', message: 'expected csv or jsonl' }]);
  }
  const ownStream = typeof out === 'string';
  const stream: Writable = ownStream ? createWriteStream(out) : out;
  let onError: (e: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    onError = reject;
  });
  failed.catch(() => undefined);
  stream.on('error', onError);
  let written = 0;
  try {
    let buffer = memberHeader(format);
    for await (const id of ids) {
      buffer += memberRow(format, id);
      written++;
      if (buffer.length >= 64 * 1024) {
        await Promise.race([writeChunk(stream, buffer), failed]);
        buffer = '';
      }
    }
    if (buffer.length > 0) await Promise.race([writeChunk(stream, buffer), failed]);
    if (ownStream) await Promise.race([new Promise<void>((resolve) => stream.end(resolve)), failed]);
  } catch (e) {
    if (ownStream) stream.destroy();
    if (e instanceof StrataError) throw e;
    const where = ownStream ? out : 'the output stream';
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'INPUT_INVALID';
    throw new StrataError(code, `cannot write members to ${where}: ${(e as Error).message}`, [], { cause: e });
  } finally {
    stream.off('error', onError);
  }
  return written;
}
