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
import { parseLifecycleSection, type LifecycleModel } from '../analysis/lifecycle/lifecycle-config.js';
import { parseMomentsSection, type MomentsConfig } from '../analysis/moments/moments-config.js';
import { parseRfmSection, type RfmConfig } from '../analysis/rfm/rfm-config.js';
import { parsePrivacySection, type PrivacyConfig } from '../privacy/privacy-config.js';

export const STORE_ENGINES = ['duckdb', 'clickhouse'] as const;
export type StoreEngine = (typeof STORE_ENGINES)[number];

export interface DuckDbStoreConfig {
  readonly engine: 'duckdb';
  /** Absolute path of the DuckDB file. */
  readonly path: string;
  readonly threads?: number;
  readonly memoryLimit?: string;
}

export interface ClickHouseStoreConfig {
  readonly engine: 'clickhouse';
  /** HTTP URL of the node queries go to (in a cluster: one of the shards, by default the first). */
  readonly url: string;
  readonly database: string;
  /** Cluster mode: the cluster's name in remote_servers and each shard's HTTP URL, in shard order. */
  readonly cluster: { readonly name: string; readonly shards: readonly string[] } | null;
  readonly username?: string;
  readonly password?: string;
}

export type StoreConfig = DuckDbStoreConfig | ClickHouseStoreConfig;

/** Where the store is, for people: the DuckDB file, or the ClickHouse URL and database (and shard count). */
export function storeLocation(store: StoreConfig): string {
  if (store.engine === 'duckdb') return store.path;
  const shards = store.cluster === null ? '' : ` (cluster ${store.cluster.name}, ${store.cluster.shards.length} shards)`;
  return `${store.url} database ${store.database}${shards}`;
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
  /** The lifecycle model (`lifecycle:`; defaults when absent). */
  readonly lifecycle: LifecycleModel;
  /** Key moments (`moments:`). */
  readonly moments: MomentsConfig;
  /** RFM settings (`rfm:`). */
  readonly rfm: RfmConfig;
  /** Privacy settings (`privacy:`; defaults when absent). */
  readonly privacy: PrivacyConfig;
}

export interface CreateConfigOptions {
  /** The workspace folder (absolute or relative to the current directory). */
  readonly workspaceDir: string;
  /** The parsed content of strata.yaml; undefined or null means all defaults. */
  readonly document?: unknown;
  /** Maps a JSON path of the document (`store.engine`) to `strata.yaml:LINE`, for error messages. */
  readonly locate?: (jsonPath: string) => string | undefined;
}

const TOP_LEVEL_KEYS = ['version', 'data_dir', 'segments_dir', 'store', 'plan', 'lifecycle', 'moments', 'rfm', 'privacy'];
const STORE_KEYS: Readonly<Record<StoreEngine, readonly string[]>> = {
  duckdb: ['engine', 'path', 'threads', 'memory_limit'],
  clickhouse: ['engine', 'url', 'database', 'cluster', 'username', 'password'],
};
const DEFAULT_CLICKHOUSE_DATABASE = 'strata';

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

  const storeDoc = doc.store ?? {};
  let store: StoreConfig | undefined;
  if (!isObject(storeDoc)) err('store', 'expected a mapping with engine and its settings');
  else store = storeSettings(storeDoc, dataDir, err);

  let plan: TrackingPlan | undefined;
  try {
    plan = parsePlan(doc.plan, 'plan');
  } catch (e) {
    if (!(e instanceof StrataError)) throw e;
    for (const d of e.details) errors.push({ path: d.path ? where(d.path) : CONFIG_FILE, message: d.message });
  }

  // The analysis sections are checked against the plan, so only once it parsed.
  const lifecycle = plan ? parseLifecycleSection(doc.lifecycle, plan, err) : undefined;
  const moments = plan ? parseMomentsSection(doc.moments, plan, err) : undefined;
  const rfm = plan ? parseRfmSection(doc.rfm, plan, err) : undefined;
  const privacy = parsePrivacySection(doc.privacy, err);

  if (errors.length > 0 || !plan || !store || !lifecycle || !moments || !rfm) throw new StrataError('CONFIG_INVALID', `${configPath} is invalid`, errors);
  return {
    workspaceDir,
    configPath,
    dataDir,
    rejectsDir: path.join(dataDir, 'rejects'),
    segmentsDir,
    store,
    plan,
    lifecycle,
    moments,
    rfm,
    privacy,
  };
}

/** The `store:` mapping, checked key by key for its engine. */
function storeSettings(store: Record<string, unknown>, dataDir: string, err: (p: string, m: string) => void): StoreConfig | undefined {
  let engine: StoreEngine = 'duckdb';
  if (store.engine !== undefined) {
    if (STORE_ENGINES.includes(store.engine as StoreEngine)) engine = store.engine as StoreEngine;
    else {
      err('store.engine', `expected one of ${STORE_ENGINES.join(', ')}`);
      return undefined;
    }
  }
  for (const key of Object.keys(store)) {
    if (STORE_KEYS[engine].includes(key)) continue;
    const other = STORE_ENGINES.find((e) => e !== engine && STORE_KEYS[e].includes(key));
    err(
      `store.${key}`,
      other ? `a setting of the ${other} store, not of ${engine}; ${engine} takes ${STORE_KEYS[engine].join(', ')}` : `unknown key; expected one of ${STORE_KEYS[engine].join(', ')}`,
    );
  }
  return engine === 'duckdb' ? duckdbSettings(store, dataDir, err) : clickhouseSettings(store, err);
}

function duckdbSettings(store: Record<string, unknown>, dataDir: string, err: (p: string, m: string) => void): DuckDbStoreConfig {
  let storeFile = 'strata.duckdb';
  let threads: number | undefined;
  let memoryLimit: string | undefined;
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
  return {
    engine: 'duckdb',
    path: path.resolve(dataDir, storeFile),
    ...(threads !== undefined ? { threads } : {}),
    ...(memoryLimit !== undefined ? { memoryLimit } : {}),
  };
}

function clickhouseSettings(store: Record<string, unknown>, err: (p: string, m: string) => void): ClickHouseStoreConfig | undefined {
  let ok = true;
  const fail = (p: string, m: string) => {
    ok = false;
    err(p, m);
  };
  const httpUrl = (value: unknown, at: string): string | undefined => {
    if (typeof value === 'string' && isHttpUrl(value)) return value.replace(/\/+$/, '');
    fail(at, 'expected the HTTP URL of a ClickHouse server, such as http://localhost:8123');
    return undefined;
  };

  let cluster: ClickHouseStoreConfig['cluster'] = null;
  if (store.cluster !== undefined && store.cluster !== null) {
    const c = store.cluster;
    if (!isObject(c)) fail('store.cluster', 'expected a mapping with name (the cluster in remote_servers) and shards (a list of shard URLs)');
    else {
      for (const key of Object.keys(c)) if (key !== 'name' && key !== 'shards') fail(`store.cluster.${key}`, 'unknown key; expected name or shards');
      const name = typeof c.name === 'string' && c.name.length > 0 ? c.name : undefined;
      if (name === undefined) fail('store.cluster.name', 'expected the name of the cluster in the servers\' remote_servers configuration');
      let shards: string[] | undefined;
      if (!Array.isArray(c.shards) || c.shards.length === 0) fail('store.cluster.shards', 'expected a list of shard HTTP URLs, in the order of remote_servers');
      else {
        shards = c.shards.map((u, i) => httpUrl(u, `store.cluster.shards[${i}]`)).filter((u): u is string => u !== undefined);
        const seen = new Set<string>();
        c.shards.forEach((u, i) => {
          if (typeof u === 'string' && seen.has(u)) fail(`store.cluster.shards[${i}]`, `${u} is listed twice; each shard once`);
          if (typeof u === 'string') seen.add(u);
        });
      }
      if (name !== undefined && shards !== undefined) cluster = { name, shards };
    }
  }

  let url: string | undefined;
  if (store.url !== undefined) url = httpUrl(store.url, 'store.url');
  else if (cluster !== null) url = cluster.shards[0];
  else fail('store.url', 'required: the HTTP URL of the ClickHouse server, such as http://localhost:8123');
  if (url !== undefined && cluster !== null && !cluster.shards.includes(url)) {
    fail('store.url', 'in cluster mode, expected one of store.cluster.shards (the node holding the metadata tables; default: the first shard)');
  }

  let database = DEFAULT_CLICKHOUSE_DATABASE;
  if (store.database !== undefined) {
    if (typeof store.database === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(store.database)) database = store.database;
    else fail('store.database', 'expected a plain database name (letters, digits and _, not starting with a digit)');
  }
  const credential = (key: 'username' | 'password'): string | undefined => {
    const v = store[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    fail(`store.${key}`, 'expected text');
    return undefined;
  };
  const username = credential('username');
  const password = credential('password');
  if (!ok || url === undefined) return undefined;
  return {
    engine: 'clickhouse',
    url,
    database,
    cluster,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
  } catch {
    return false;
  }
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
