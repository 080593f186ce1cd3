/**
 * Both ClickHouse layouts for a test file: a single node and a two-shard cluster, real
 * servers started once per file (test/support/clickhouse-server.ts), and stores opened on
 * a fresh database per call so tests do not see each other's rows.
 */
import { ClickHouseStore, type ClickHouseStoreOptions } from '../../src/store/clickhouse/clickhouse-store.js';
import { startClickHouse, type LocalClickHouse } from './clickhouse-server.js';

export const LAYOUTS = ['single', 'cluster'] as const;
export type Layout = (typeof LAYOUTS)[number];

export interface ClickHouseLayouts {
  /** Connection options of a layout for a database (what strata.yaml would say). */
  options(layout: Layout, database: string): ClickHouseStoreOptions;
  /** Open a store on a database of its own (created and migrated). */
  open(layout: Layout, database?: string): Promise<ClickHouseStore>;
  /** A database name no other call returned. */
  freshDatabase(): string;
  stop(): Promise<void>;
}

let counter = 0;

export async function startLayouts(prefix: string): Promise<ClickHouseLayouts> {
  const [single, cluster] = await Promise.all([startClickHouse({ shards: 1 }), startClickHouse({ shards: 2 })]);
  const servers: Record<Layout, LocalClickHouse> = { single: single!, cluster: cluster! };
  const freshDatabase = () => `${prefix}_${process.pid}_${++counter}`;
  const options = (layout: Layout, database: string): ClickHouseStoreOptions => {
    const s = servers[layout];
    return layout === 'single' ? { url: s.urls[0]!, database } : { url: s.urls[0]!, database, cluster: { name: s.cluster!, shards: s.urls } };
  };
  return {
    options,
    freshDatabase,
    open: (layout, database = freshDatabase()) => ClickHouseStore.open(options(layout, database)),
    async stop() {
      await Promise.all([single.stop(), cluster.stop()]);
    },
  };
}
