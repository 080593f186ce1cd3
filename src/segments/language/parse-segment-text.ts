/**
 * Segment files are YAML or JSON. YAML 1.2 reads JSON too, so one parser serves both and
 * gives line and column for every syntax error; JSON's own parser is consulted only for
 * a JSON-specific message when a JSON document is broken.
 */
import { parseDocument, type YAMLError } from 'yaml';
import { StrataError, type ErrorDetail } from '../../errors/errors.js';

/**
 * Parse segment text to a plain object; validateSegment checks what it means.
 * Syntax errors throw SEGMENT_INVALID with details located at `source:line:col`.
 */
export function parseSegmentText(text: string, source: string): unknown {
  // YAML 1.2 core schema: `on`, `yes` and dates stay strings; duplicate keys are errors.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, version: '1.2' });
  if (doc.errors.length > 0) {
    const details = looksLikeJson(text, source) ? jsonDetails(text, source, doc.errors) : doc.errors.map((e) => yamlDetail(e, source, text));
    throw new StrataError('SEGMENT_INVALID', `${details[0]!.path}: ${details[0]!.message}`, details);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // The yaml package refuses alias expansions that would blow up (a "billion laughs" document).
    const message = `YAML aliases expand too far: ${(e as Error).message}`;
    throw new StrataError('SEGMENT_INVALID', `${source}: ${message}`, [{ path: source, message }], { cause: e });
  }
  if (value === null || value === undefined) {
    throw new StrataError('SEGMENT_INVALID', `${source}: the file holds no definition`, [
      { path: source, message: 'the file holds no definition; expected a mapping with key, name, objective, rationale, owner and match' },
    ]);
  }
  return value;
}

function yamlDetail(error: YAMLError, source: string, text: string, language = 'YAML'): ErrorDetail {
  const [line, col] = error.linePos ? [error.linePos[0].line, error.linePos[0].col] : lineCol(text, error.pos[0]);
  // prettyErrors appends " at line L, column C:" and an excerpt; the path carries the position instead.
  const message =
    error.code === 'MULTIPLE_DOCS'
      ? 'the file holds more than one YAML document (---); write one definition, or a list of definitions'
      : error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return { path: `${source}:${line}:${col}`, message: `${language} syntax error: ${message}` };
}

function looksLikeJson(text: string, source: string): boolean {
  return source.toLowerCase().endsWith('.json') || /^\uFEFF?\s*[{[]/.test(text);
}

/**
 * JSON.parse names the position of most errors ("... in JSON at position 8"); when it
 * does not, or when the text is valid JSON that YAML still rejects (duplicate keys),
 * the YAML parser's positions are used.
 */
function jsonDetails(text: string, source: string, yamlErrors: readonly YAMLError[]): ErrorDetail[] {
  try {
    JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const at = /at position (\d+)/.exec(message);
    const position = at ? Number(at[1]) : /Unexpected end of JSON input/.test(message) ? text.length : undefined;
    const clean = message.replace(/ in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, '');
    if (position !== undefined) {
      const [line, col] = lineCol(text, position);
      return [{ path: `${source}:${line}:${col}`, message: `JSON syntax error: ${clean}` }];
    }
    const first = yamlDetail(yamlErrors[0]!, source, text);
    return [{ path: first.path, message: `JSON syntax error: ${clean}` }];
  }
  return yamlErrors.map((e) => yamlDetail(e, source, text, 'JSON'));
}

/** 1-based line and column of a character offset. */
function lineCol(text: string, offset: number): [number, number] {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  return [line, col];
}
