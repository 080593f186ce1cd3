/**
 * Retention files (`strata retention --file retention.yaml`): a YAML or JSON mapping with
 * the keys of RetentionDefinition. Parsing keeps the document's positions, so every
 * error names `file:line` and the path inside it.
 *
 * ```yaml
 * cohort: week
 * start: { event: signed_up, where: [{ property: method, eq: email }] }
 * return: core_task_completed
 * periods: 8
 * from: -12w
 * ```
 */
import { LineCounter, parseDocument, type Node } from 'yaml';
import { StrataError } from '../../errors/errors.js';

export interface ParsedRetentionFile {
  readonly definition: unknown;
  /** `file:LINE` of the deepest node on a path (`start.where[0].eq`) that exists. */
  readonly locate: (path: string) => string;
}

export function parseRetentionFile(text: string, source: string): ParsedRetentionFile {
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema: dates stay strings; duplicate keys are errors.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: '1.2' });
  if (doc.errors.length > 0) {
    const details = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return { path: `${source}:${pos.line}:${pos.col}`, message: `YAML syntax error: ${e.message.split('\n')[0] ?? e.message}` };
    });
    throw new StrataError('INPUT_INVALID', `${source} is not valid YAML`, details);
  }
  let definition: unknown;
  try {
    definition = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new StrataError('INPUT_INVALID', `${source}: YAML aliases expand too far`, [{ path: source, message: (e as Error).message }], { cause: e });
  }
  const locate = (path: string): string => {
    const keys = splitPath(path);
    for (let n = keys.length; n > 0; n--) {
      const node = doc.getIn(keys.slice(0, n), true) as Node | undefined;
      const start = node?.range?.[0];
      if (start !== undefined) return `${source}:${lineCounter.linePos(start).line}`;
    }
    return source;
  };
  return { definition: definition ?? {}, locate };
}

/** `start.where[0].eq` to its keys and indexes. */
function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /(?:^|\.)([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (let m = re.exec(path); m; m = re.exec(path)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(JSON.parse(m[3]!) as string);
  }
  return out;
}
