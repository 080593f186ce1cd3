/**
 * Workspaces on disk: a folder with strata.yaml and a data folder. Found like git finds a
 * repository (this folder, then upward), created by `strata init`, and edited in place
 * by `plan infer --write` so that the comments a person wrote stay where they were.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Document, LineCounter, isMap, isScalar, parseDocument, type Node, type YAMLMap } from 'yaml';
import { StrataError } from '../errors/errors.js';
import { parsePlan, planToYaml, type TrackingPlan } from '../schema/tracking-plan.js';
import { createConfig, type Config } from './config.js';
import { CONFIG_FILE, strataYamlTemplate } from './strata-yaml.js';

/** The nearest folder at or above `startDir` holding strata.yaml, or undefined. */
export function findWorkspace(startDir: string): string | undefined {
  let dir = path.resolve(startDir);
  for (;;) {
    const candidate = path.join(dir, CONFIG_FILE);
    if (existsSync(candidate) && statSync(candidate).isFile()) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export interface LoadConfigOptions {
  /** An explicit workspace folder (`--workspace`); wins over discovery. */
  readonly workspace?: string;
  /** Where discovery starts (the shell's current directory). */
  readonly cwd: string;
  /** The environment as the shell sees it; only STRATA_WORKSPACE is read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The workspace folder the options point at; WORKSPACE_NOT_FOUND when there is none. */
export function resolveWorkspaceDir(options: LoadConfigOptions): string {
  const explicit = options.workspace ?? (options.env?.STRATA_WORKSPACE || undefined);
  if (explicit !== undefined) {
    const dir = path.resolve(options.cwd, explicit);
    if (!existsSync(path.join(dir, CONFIG_FILE))) {
      throw new StrataError('WORKSPACE_NOT_FOUND', `no ${CONFIG_FILE} in ${dir}`, [
        { message: `create one with \`strata init ${explicit}\`, or point --workspace at a folder holding ${CONFIG_FILE}` },
      ]);
    }
    return dir;
  }
  const found = findWorkspace(options.cwd);
  if (!found) {
    throw new StrataError('WORKSPACE_NOT_FOUND', `no ${CONFIG_FILE} in ${path.resolve(options.cwd)} or any folder above it`, [
      { message: 'run `strata init` here, or pass --workspace DIR' },
    ]);
  }
  return found;
}

/** Find the workspace, read strata.yaml and build the Config. */
export async function loadConfig(options: LoadConfigOptions): Promise<Config> {
  const dir = resolveWorkspaceDir(options);
  const file = path.join(dir, CONFIG_FILE);
  const { doc, locate } = parseConfigText(await readFile(file, 'utf8'), file);
  return createConfig({ workspaceDir: dir, document: doc.toJS(), locate });
}

export interface InitWorkspaceResult {
  readonly config: Config;
  readonly created: readonly string[];
}

/**
 * Write a commented strata.yaml and the data and segments folders into `dir` (created if
 * missing). Refuses with WORKSPACE_EXISTS when `dir` already holds a strata.yaml.
 */
export async function initWorkspace(dir: string, options: { plan?: TrackingPlan } = {}): Promise<InitWorkspaceResult> {
  const workspaceDir = path.resolve(dir);
  const file = path.join(workspaceDir, CONFIG_FILE);
  if (existsSync(file)) {
    throw new StrataError('WORKSPACE_EXISTS', `${file} already exists`, [
      { path: file, message: 'a workspace is already initialised here; edit strata.yaml instead, or choose another folder' },
    ]);
  }
  await mkdir(workspaceDir, { recursive: true });
  let text = strataYamlTemplate();
  if (options.plan) text = replacePlanInText(text, options.plan, file);
  await writeFile(file, text, { flag: 'wx' });
  const config = createConfig({ workspaceDir, document: parseConfigText(text, file).doc.toJS() });
  await mkdir(config.dataDir, { recursive: true });
  await mkdir(config.segmentsDir, { recursive: true });
  // The data folder holds the store and rejects, which are not source.
  await writeFile(path.join(config.dataDir, '.gitignore'), '*\n');
  return { config, created: [file, config.dataDir, config.segmentsDir] };
}

/**
 * Replace the `plan:` section of strata.yaml with `plan`, keeping every comment outside
 * the parts that changed: unchanged nodes are left as they are, changed leaves are
 * replaced, new entries appended. Returns the Config read back from the written file.
 */
export async function writePlan(config: Config, plan: TrackingPlan): Promise<Config> {
  const text = await readFile(config.configPath, 'utf8');
  const next = replacePlanInText(text, plan, config.configPath);
  await writeFile(config.configPath, next);
  const { doc, locate } = parseConfigText(next, config.configPath);
  return createConfig({ workspaceDir: config.workspaceDir, document: doc.toJS(), locate });
}

/** strata.yaml's text with its plan replaced by `plan`, comments preserved. */
export function replacePlanInText(text: string, plan: TrackingPlan, source = CONFIG_FILE): string {
  const { doc } = parseConfigText(text, source);
  const desired = planToYaml(plan);
  const current = doc.get('plan', true);
  if (isMap(current)) syncMap(doc, current, desired);
  else doc.set('plan', doc.createNode(desired));
  const out = doc.toString({ lineWidth: 0 });
  // The plan we wrote must read back as the same plan; anything else is a bug here.
  const back = parsePlan((parseDocument(out).toJS() as Record<string, unknown>).plan);
  if (JSON.stringify(planToYaml(back)) !== JSON.stringify(desired)) {
    throw new StrataError('INTERNAL', 'writing the tracking plan into strata.yaml did not round-trip');
  }
  return out;
}

function syncMap(doc: Document, node: YAMLMap, desired: Record<string, unknown>): void {
  for (const pair of [...node.items]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!(key in desired)) node.delete(key);
  }
  for (const [key, value] of Object.entries(desired)) {
    const existing = node.get(key, true) as Node | undefined;
    if (existing !== undefined && sameValue(existing, value)) continue;
    if (isMap(existing) && isPlainObject(value)) {
      syncMap(doc, existing, value);
      continue;
    }
    // A field written as `{type: number}` stays a mapping when only its type is wanted.
    if (isMap(existing) && typeof value === 'string' && existing.has('type')) {
      syncMap(doc, existing, { type: value });
      continue;
    }
    const created = doc.createNode(value) as Node;
    if (existing !== undefined) {
      created.commentBefore = existing.commentBefore;
      created.comment = existing.comment;
    }
    node.set(key, created);
  }
  // `events: {}` in the template is a flow mapping; once it has entries, block style reads better.
  if (node.items.length > 0) node.flow = false;
}

function sameValue(node: Node, value: unknown): boolean {
  return JSON.stringify(node.toJSON()) === JSON.stringify(value);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse strata.yaml, turning syntax errors into CONFIG_INVALID with `file:line:col`. */
export function parseConfigText(text: string, source: string): { doc: Document; locate: (jsonPath: string) => string | undefined } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const name = path.basename(source);
  if (doc.errors.length > 0) {
    throw new StrataError(
      'CONFIG_INVALID',
      `${source} is not valid YAML`,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { path: `${name}:${pos.line}:${pos.col}`, message: e.message.split('\n')[0] ?? e.message };
      }),
    );
  }
  const locate = (jsonPath: string): string | undefined => {
    const segments = splitJsonPath(jsonPath);
    // The deepest node that exists on the path is the best line to point at.
    for (let n = segments.length; n > 0; n--) {
      const node = doc.getIn(segments.slice(0, n), true) as Node | undefined;
      const start = node?.range?.[0];
      if (start !== undefined) return `${name}:${lineCounter.linePos(start).line}`;
    }
    return undefined;
  };
  return { doc, locate };
}

/** `plan.events["we.ird"].properties.amount` to its keys. */
function splitJsonPath(jsonPath: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\.)([^.[\]]+)|\[("(?:[^"\\]|\\.)*")\]/g;
  for (let m = re.exec(jsonPath); m; m = re.exec(jsonPath)) {
    out.push(m[1] !== undefined ? m[1] : (JSON.parse(m[2]!) as string));
  }
  return out;
}
