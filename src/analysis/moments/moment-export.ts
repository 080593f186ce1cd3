/**
 * Writing a moment's users and instants as CSV (`user_id,at` header) or JSON lines
 * (`{"user_id": ..., "at": ...}`), the shapes `segment members` writes ids in.
 */
import { writeFile } from 'node:fs/promises';
import { StrataError } from '../../errors/errors.js';
import { csvField } from '../../segments/registry/member-export.js';
import type { MomentInstant } from './moments.js';

export type MomentInstantFormat = 'csv' | 'jsonl';

export function momentInstantLine(format: MomentInstantFormat, i: MomentInstant): string {
  return format === 'csv' ? `${csvField(i.userId)},${i.at}\n` : `${JSON.stringify({ user_id: i.userId, at: i.at })}\n`;
}

/** Write every instant to `file` (created or truncated); returns how many were written. */
export async function writeMomentInstants(instants: readonly MomentInstant[], format: MomentInstantFormat, file: string): Promise<number> {
  function* chunks(): Generator<string> {
    let buffer = format === 'csv' ? 'user_id,at\n' : '';
    for (const i of instants) {
      buffer += momentInstantLine(format, i);
      if (buffer.length >= 64 * 1024) {
        yield buffer;
        buffer = '';
      }
    }
    if (buffer.length > 0) yield buffer;
  }
  try {
    await writeFile(file, chunks());
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'INPUT_INVALID';
    throw new StrataError(code, `cannot write moment instants to ${file}: ${(e as Error).message}`, [], { cause: e });
  }
  return instants.length;
}
