/**
 * From a JSON path inside a YAML (or JSON) document to the line it starts on, so errors
 * found on the parsed value (`metrics.guardrails[0].metric`) can name `file:line`. Shared by
 * the documents read with positions: experiments and retention definitions.
 */
import type { Document, LineCounter, Node } from 'yaml';

/** `source:LINE` of the deepest node that exists on `path`, else `source`. */
export function yamlPathLocator(doc: Document, lineCounter: LineCounter, source: string): (path: string) => string {
  return (path: string): string => {
    const keys = splitJsonPath(path);
    for (let n = keys.length; n > 0; n--) {
      const node = doc.getIn(keys.slice(0, n), true) as Node | undefined;
      const start = node?.range?.[0];
      if (start !== undefined) return `${source}:${lineCounter.linePos(start).line}`;
    }
    return source;
  };
}

/** `metrics.guardrails[0].metric` or `definitions["odd key"]` to its keys and indexes. */
export function splitJsonPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /(?:^|\.)([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (let m = re.exec(path); m; m = re.exec(path)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(JSON.parse(m[3]!) as string);
  }
  return out;
}
