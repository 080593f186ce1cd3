/**
 * Workspaces for the CLI agreement tests: the same commands run in a DuckDB workspace (the
 * oracle) and in workspaces whose strata.yaml points at a ClickHouse layout
 * (clickhouse-layouts.ts), each on a database of its own, dropped afterwards.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import path from 'node:path';
import { ClickHouseStore } from '../../src/store/clickhouse/clickhouse-store.js';
import type { ClickHouseLayouts, Layout } from './clickhouse-layouts.js';

/** strata.yaml's `store:` section: DuckDB, or `layout` on `database` (the cluster with its shards). */
export function storeYaml(layouts: ClickHouseLayouts | undefined, layout: Layout | 'duckdb', database: string): string {
  if (layout === 'duckdb') return 'store:\n  engine: duckdb\n';
  const o = layouts!.options(layout, database);
  const cluster = o.cluster ? `\n  cluster:\n    name: ${o.cluster.name}\n    shards: [${o.cluster.shards.join(', ')}]` : '';
  return `store:\n  engine: clickhouse\n  url: ${o.url}\n  database: ${database}${cluster}\n`;
}

/** The folder `dir` with a strata.yaml of version 1, that store section, then `sections` (plan:, rfm:, ...). */
export async function writeWorkspace(dir: string, store: string, sections: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'strata.yaml'), `version: 1\n${store}${sections}`);
  return dir;
}

/**
 * Inside a describe for one layout: before its tests, a fresh database and the workspace
 * `create` writes for it; after them, the database dropped. Read `ws` and `database` in
 * the tests (they are set once the hook has run).
 */
export function layoutWorkspace(
  layouts: () => ClickHouseLayouts,
  layout: Layout,
  create: (database: string) => Promise<string>,
): { readonly ws: string; readonly database: string } {
  const current = { ws: '', database: '' };
  beforeAll(async () => {
    current.database = layouts().freshDatabase();
    current.ws = await create(current.database);
  });
  afterAll(() => dropLayoutDatabase(layouts(), layout, current.database));
  return current;
}

/** Drop a database a workspace's commands created on `layout`. */
export async function dropLayoutDatabase(layouts: ClickHouseLayouts, layout: Layout, database: string): Promise<void> {
  const store = await ClickHouseStore.open(layouts.options(layout, database));
  await store.dropDatabase();
  await store.close();
}
