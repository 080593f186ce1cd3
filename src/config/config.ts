/**
 * The one Config object. Everything a command needs to know about its workspace is
 * built here, once, from strata.yaml (and, for the workspace location only, the
 * environment handed in by the shell); domain code receives it, never reads files or
 * process.env itself.
 */
import path from 'node:path';
import { StrataError, type ErrorDetail } from '../errors/errors.js';
import { parsePlan, type TrackingPlan } from '../schema/tracking-plan.js';
import { CONFIG_FILE } from './strata-yaml.js';

export const STORE_ENGINES = ['duckdb'] as const;
export type StoreEngine = (typeof STORE_ENGINES)[number];

export interface StoreConfig {
  readonly engine: StoreEngine;
  /** Absolute path of the DuckDB file. */
  readonly path: string;
  readonly threads?: number;
  readonly memoryLimit?: string;
}

export interface Config {
  /** The folder holding strata.yaml. */
  readonly workspaceDir: string;
  /** Absolute path of strata.yaml. */
  readonly configPath: string;
  readonly dataDir: string;
  /** Where ingest writes rejects unless `--rejects` says otherwise. */
  readonly rejectsDir: string;
  readonly segmentsDir: string;
  readonly store: StoreConfig;
  readonly plan: TrackingPlan;
}

export interface CreateConfigOptions {
  /** The workspace folder (absolute or relative to the current directory). */
  readonly workspaceDir: string;
  /** The parsed content of strata.yaml; undefined or null means all defaults. */
  readonly document?: unknown;
  /** Maps a JSON path of the document (`store.engine`) to `strata.yaml:LINE`, for error messages. */
  readonly locate?: (jsonPath: string) => string | undefined;
}

const TOP_LEVEL_KEYS = ['version', 'data_dir', 'segments_dir', 'store', 'plan'];
const STORE_KEYS = ['engine', 'path', 'threads', 'memory_limit'];

export function createConfig(options: CreateConfigOptions): Config {
  const workspaceDir = path.resolve(options.workspaceDir);
  const configPath = path.join(workspaceDir, CONFIG_FILE);
  const errors: ErrorDetail[] = [];
  const where = (jsonPath: string) => {
    const at = options.locate?.(jsonPath);
    return at ? `${at} ${jsonPath}` : `${CONFIG_FILE} ${jsonPath}`;
  };
  const err = (jsonPath: string, message: string) => errors.push({ path: where(jsonPath), message });

  const doc = options.document ?? {};
  if (!isObject(doc)) {
    throw new StrataError('CONFIG_INVALID', `${configPath} is invalid`, [{ path: CONFIG_FILE, message: 'expected a mapping of settings at the top level' }]);
  }
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_KEYS.includes(key)) err(key, `unknown key; expected one of ${TOP_LEVEL_KEYS.join(', ')}`);
  }
  if (doc.version !== undefined && doc.version !== 1) err('version', 'expected 1 (the only version so far)');

  const dataDir = path.resolve(workspaceDir, folderSetting(doc.data_dir, 'data', 'data_dir', err));
  const segmentsDir = path.resolve(workspaceDir, folderSetting(doc.segments_dir, 'segments', 'segments_dir', err));

  let engine: StoreEngine = 'duckdb';
  let storeFile = 'strata.duckdb';
  let threads: number | undefined;
  let memoryLimit: string | undefined;
  const store = doc.store ?? {};
  if (!isObject(store)) err('store', 'expected a mapping with engine and path');
  else {
    for (const key of Object.keys(store)) {
      if (!STORE_KEYS.includes(key)) err(`store.${key}`, `unknown key; expected one of ${STORE_KEYS.join(', ')}`);
    }
    if (store.engine !== undefined) {
      if (STORE_ENGINES.includes(store.engine as StoreEngine)) engine = store.engine as StoreEngine;
      else err('store.engine', `expected one of ${STORE_ENGINES.join(', ')}`);
    }
    if (store.path !== undefined) {
      if (typeof store.path === 'string' && store.path.length > 0) storeFile = store.path;
      else err('store.path', 'expected a file path');
    }
    if (store.threads !== undefined) {
      if (typeof store.threads === 'number' && Number.isInteger(store.threads) && store.threads > 0) threads = store.threads;
      else err('store.threads', 'expected a positive whole number');
    }
    if (store.memory_limit !== undefined) {
      if (typeof store.memory_limit === 'string' && /^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(store.memory_limit)) memoryLimit = store.memory_limit;
      else err('store.memory_limit', 'expected a size such as 512MB or 4GB');
    }
  }

  let plan: TrackingPlan | undefined;
  try {
    plan = parsePlan(doc.plan, 'plan');
  } catch (e) {
    if (!(e instanceof StrataError)) throw e;
    for (const d of e.details) errors.push({ path: d.path ? where(d.path) : CONFIG_FILE, message: d.message });
  }

  if (errors.length > 0 || !plan) throw new StrataError('CONFIG_INVALID', `${configPath} is invalid`, errors);
  return {
    workspaceDir,
    configPath,
    dataDir,
    rejectsDir: path.join(dataDir, 'rejects'),
    segmentsDir,
    store: {
      engine,
      path: path.resolve(dataDir, storeFile),
      ...(threads !== undefined ? { threads } : {}),
      ...(memoryLimit !== undefined ? { memoryLimit } : {}),
    },
    plan,
  };
}

/** The same configuration with another tracking plan, e.g. after `plan infer --write`. */
export function withPlan(config: Config, plan: TrackingPlan): Config {
  return { ...config, plan };
}

function folderSetting(value: unknown, fallback: string, key: string, err: (p: string, m: string) => void): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string' && value.length > 0) return value;
  err(key, 'expected a folder path');
  return fallback;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
