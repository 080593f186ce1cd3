/**
 * Per-user RFM rows as CSV (with a header) or JSON lines: user_id, recency, frequency,
 * monetary, r, f, m, segment.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { StrataError } from '../../errors/errors.js';
import { csvField } from '../../segments/registry/member-export.js';
import type { RfmUserRow } from './compute-rfm.js';

export const RFM_USER_FORMATS = ['csv', 'jsonl'] as const;
export type RfmUserFormat = (typeof RFM_USER_FORMATS)[number];

const COLUMNS = ['user_id', 'recency', 'frequency', 'monetary', 'r', 'f', 'm', 'segment'] as const;

function line(format: RfmUserFormat, row: RfmUserRow): string {
  if (format === 'jsonl') return `${JSON.stringify(row)}\n`;
  return `${COLUMNS.map((c) => csvField(String(row[c]))).join(',')}\n`;
}

/** Write the rows to a file (created or truncated) or an open stream (left open); returns how many were written. */
export async function writeRfmUsers(rows: readonly RfmUserRow[], format: RfmUserFormat, out: string | Writable): Promise<number> {
  if (!RFM_USER_FORMATS.includes(format)) {
    throw new StrataError('FORMAT_UNSUPPORTED', `unknown format ${JSON.stringify(format)}`, [{ path: '--format', message: 'expected csv or jsonl' }]);
  }
  const own = typeof out === 'string';
  const stream: Writable = own ? createWriteStream(out) : out;
  const failed = new Promise<never>((_, reject) => stream.once('error', reject));
  failed.catch(() => undefined);
  const write = async (text: string) => {
    if (!stream.write(text)) await Promise.race([once(stream, 'drain'), failed]);
  };
  try {
    if (format === 'csv') await write(`${COLUMNS.join(',')}\n`);
    let chunk = '';
    for (const row of rows) {
      chunk += line(format, row);
      if (chunk.length > 1 << 16) {
        await write(chunk);
        chunk = '';
      }
    }
    if (chunk.length > 0) await write(chunk);
    if (own) {
      stream.end();
      await Promise.race([once(stream, 'finish'), failed]);
    }
  } catch (e) {
    if (own) stream.destroy();
    const path = own ? out : 'the output stream';
    throw new StrataError('INPUT_INVALID', `cannot write ${path}: ${(e as Error).message}`, [{ path: '--out', message: 'expected a writable file path' }], { cause: e });
  }
  return rows.length;
}
