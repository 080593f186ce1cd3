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
import { LineCounter, parseDocument } from 'yaml';
import { StrataError } from '../../errors/errors.js';
import { yamlPathLocator } from '../../segments/language/yaml-locate.js';

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
  const locate = yamlPathLocator(doc, lineCounter, source);
  return { definition: definition ?? {}, locate };
}

