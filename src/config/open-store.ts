/**
 * The composition root for stores: the one place that turns `store:` in strata.yaml into
 * an EventStore. Commands and the library call this instead of naming an engine.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ClickHouseStore } from '../store/clickhouse/clickhouse-store.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import type { EventStore } from '../store/event-store.js';
import type { Config, StoreConfig } from './config.js';

/** Open (creating and migrating if needed) the workspace's store and add the plan's typed columns. */
export async function openStore(config: Config): Promise<EventStore> {
  const store = await openEngine(config.store);
  try {
    await store.applyPlan(config.plan);
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

async function openEngine(store: StoreConfig): Promise<EventStore> {
  if (store.engine === 'clickhouse') {
    return ClickHouseStore.open({
      url: store.url,
      database: store.database,
      cluster: store.cluster,
      ...(store.username !== undefined ? { username: store.username } : {}),
      ...(store.password !== undefined ? { password: store.password } : {}),
    });
  }
  await mkdir(path.dirname(store.path), { recursive: true });
  return DuckDbStore.open({
    path: store.path,
    ...(store.threads !== undefined ? { threads: store.threads } : {}),
    ...(store.memoryLimit !== undefined ? { memoryLimit: store.memoryLimit } : {}),
  });
}
