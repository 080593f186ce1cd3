/**
 * Reading segment definitions from files and folders for `segment add`: every error names
 * the file, and the definition's own path inside it.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { StrataError, type ErrorDetail } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { parseSegmentText, validateSegment, type SegmentContext, type SegmentDefinition } from '../../segments/language/index.js';

const DEFINITION_EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface DefinitionSource {
  readonly file: string;
  readonly definition: SegmentDefinition;
}

/** The definition files named by `inputs`: files as given, folders expanded (recursively, sorted). */
export async function definitionFiles(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    let info;
    try {
      info = await stat(input);
    } catch {
      throw new StrataError('FILE_NOT_FOUND', `no such file or folder: ${input}`, [{ path: input, message: 'expected a segment definition file (.yaml, .yml, .json) or a folder of them' }]);
    }
    if (info.isDirectory()) out.push(...(await walk(input)));
    else out.push(input);
  }
  return out;
}

async function walk(dir: string): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) out.push(...(await walk(full)));
    else if (DEFINITION_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(full);
  }
  return out;
}

/**
 * Parse and validate every definition in `files` (one per file, or a list of them).
 * Collects the errors of all files before failing, each detail prefixed with its file.
 */
export async function readDefinitions(
  files: readonly string[],
  plan: TrackingPlan,
  displayPath: (file: string) => string,
  context: SegmentContext = {},
): Promise<DefinitionSource[]> {
  const out: DefinitionSource[] = [];
  const errors: ErrorDetail[] = [];
  for (const file of files) {
    const shown = displayPath(file);
    try {
      const raw = parseSegmentText(await readFile(file, 'utf8'), shown);
      const items = Array.isArray(raw) ? raw.map((r, i) => ({ raw: r as unknown, at: `[${i}]` })) : [{ raw, at: '' }];
      for (const { raw: item, at } of items) {
        try {
          out.push({ file, definition: validateSegment(item, plan, context) });
        } catch (e) {
          if (!(e instanceof StrataError)) throw e;
          const details = e.details.length > 0 ? e.details : [{ message: e.message }];
          for (const d of details) errors.push({ path: [`${shown}${at}`, d.path].filter(Boolean).join(' '), message: d.message });
        }
      }
    } catch (e) {
      if (!(e instanceof StrataError)) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          errors.push({ path: shown, message: 'no such file' });
          continue;
        }
        throw e;
      }
      const details = e.details.length > 0 ? e.details : [{ path: shown, message: e.message }];
      // Syntax errors already name `file:line`; anything else gets the file in front.
      for (const d of details) errors.push({ path: d.path?.startsWith(shown) ? d.path : [shown, d.path].filter(Boolean).join(' '), message: d.message });
    }
  }
  if (errors.length > 0) {
    const fileCount = new Set(errors.map((d) => d.path?.split(' ')[0])).size;
    throw new StrataError('SEGMENT_INVALID', `${errors.length} problem${errors.length === 1 ? '' : 's'} in ${fileCount} segment file${fileCount === 1 ? '' : 's'}`, errors);
  }
  return out;
}
