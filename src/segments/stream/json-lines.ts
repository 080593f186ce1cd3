/**
 * Lines of a byte stream (stdin, a file), decoded as UTF-8 across chunk boundaries. Each
 * chunk's complete lines are handed over in one synchronous pass, so per-line work stays
 * free of promise overhead; `afterChunk` runs between chunks (flush output, tick a clock,
 * save state) and may stop the reading by returning false.
 */
import { StringDecoder } from 'node:string_decoder';

export async function forEachJsonLine(
  input: AsyncIterable<Buffer | string>,
  onLine: (line: string, lineNumber: number) => void,
  afterChunk?: (linesSoFar: number, bytesSoFar: number) => Promise<boolean | void> | boolean | void,
): Promise<number> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let n = 0;
  let bytes = 0;
  for await (const chunk of input) {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    const text = carry + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      // A CRLF file's lines lose their CR too.
      onLine(text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end), ++n);
      start = end + 1;
    }
    carry = text.slice(start);
    if (afterChunk && (await afterChunk(n, bytes)) === false) return n;
  }
  const rest = carry + decoder.end();
  if (rest.length > 0) onLine(rest.endsWith('\r') ? rest.slice(0, -1) : rest, ++n);
  return n;
}
