/**
 * The composition root for stores: the one place that turns `store:` in strata.yaml into
 * an EventStore. Commands and the library call this instead of naming an engine.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import type { Config } from './config.js';

/** Open (creating and migrating if needed) the workspace's store and add the plan's typed columns. */
export async function openStore(config: Config): Promise<DuckDbStore> {
  await mkdir(path.dirname(config.store.path), { recursive: true });
  const store = await DuckDbStore.open({
    path: config.store.path,
    ...(config.store.threads !== undefined ? { threads: config.store.threads } : {}),
    ...(config.store.memoryLimit !== undefined ? { memoryLimit: config.store.memoryLimit } : {}),
  });
  try {
    await store.applyPlan(config.plan);
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}
