/**
 * The SQL engines the cross-engine tests hold to the in-memory evaluator: DuckDB in
 * memory, a ClickHouse single node and a two-shard ClickHouse cluster. Each runs the
 * compiled batch query and the member-list query through `queryByUser`, so on the cluster
 * every shard answers for its own users against its local tables.
 *
 * Values come back differently (DuckDB BOOLEAN, ClickHouse UInt8 0/1): `batch` reads both
 * as membership and rejects anything else, so a NULL column still fails.
 */
import { compileSegmentBatch, compileSegmentMembers } from '../../src/segments/compile/index.js';
import type { MemoryDataset } from '../../src/segments/evaluate/index.js';
import type { SegmentIR } from '../../src/segments/ir/nodes.js';
import type { TrackingPlan } from '../../src/schema/tracking-plan.js';
import { ClickHouseStore } from '../../src/store/clickhouse/clickhouse-store.js';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import type { Row } from '../../src/store/event-store.js';
import { clickhouseAvailable, startClickHouse, type LocalClickHouse } from './clickhouse-server.js';
import type { ModelKind } from '../../src/models/registry/model-store.js';
import { scoreRunsFor } from '../../src/segments/registry/score-runs.js';
import { clearStore, loadIntoStore, writeScoreRuns } from './load-duckdb.js';

export type EngineKind = 'duckdb' | 'clickhouse' | 'clickhouse-cluster';

export const ENGINE_KINDS: readonly EngineKind[] = ['duckdb', 'clickhouse', 'clickhouse-cluster'];

/** Whether the engine can run here (ClickHouse: the server binary; under CI its absence throws). */
export function engineAvailable(kind: EngineKind): boolean {
  return kind === 'duckdb' || clickhouseAvailable();
}

export interface BatchResult {
  /** Every user of the batch's rows (the population), sorted. */
  readonly users: readonly string[];
  /** Sorted members per segment key. */
  readonly members: ReadonlyMap<string, readonly string[]>;
}

const sortedIds = (rows: readonly Row[]) => rows.map((r) => String(r.user_id)).sort();

/** Membership from a batch column: DuckDB BOOLEAN or ClickHouse 0/1, never NULL. */
function isMember(value: unknown, where: string): boolean {
  if (value === true || value === 1) return true;
  if (value === false || value === 0) return false;
  throw new Error(`${where}: expected a boolean, got ${JSON.stringify(value)}`);
}

/** One store of one engine, reloaded per dataset. */
export class SegmentEngine {
  private constructor(
    readonly kind: EngineKind,
    readonly store: DuckDbStore | ClickHouseStore,
  ) {}

  /** A store with the plan's columns: DuckDB in memory, or a fresh database on `server`. */
  static async open(kind: EngineKind, plan: TrackingPlan, server: LocalClickHouse | null, database: string): Promise<SegmentEngine> {
    let store: DuckDbStore | ClickHouseStore;
    if (kind === 'duckdb') store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    else {
      if (server === null) throw new Error(`${kind}: no ClickHouse server`);
      const cluster = kind === 'clickhouse-cluster' ? { name: server.cluster!, shards: server.urls } : null;
      store = await ClickHouseStore.open({ url: server.urls[0]!, database, cluster });
    }
    await store.applyPlan(plan);
    return new SegmentEngine(kind, store);
  }

  /**
   * Replace the user data with `data`, its scoring runs included (`models`: each model's
   * kind for the catalogue; see writeScoreRuns).
   */
  async load(plan: TrackingPlan, data: MemoryDataset, models?: ReadonlyMap<string, ModelKind>): Promise<void> {
    await clearStore(this.store);
    await loadIntoStore(this.store, plan, data);
    await writeScoreRuns(this.store, data, models);
  }

  /** The scoring runs the segments read as of asOf, resolved from the store as the registry does. */
  private scoreRuns(segments: readonly SegmentIR[], asOfMs: number): Promise<Map<string, number | null>> {
    return scoreRunsFor(this.store, segments, asOfMs);
  }

  async batch(segments: readonly SegmentIR[], asOfMs: number): Promise<BatchResult> {
    const scoreRuns = await this.scoreRuns(segments, asOfMs);
    const { columns } = compileSegmentBatch(segments, { dialect: this.store.dialect, asOfMs, scoreRuns });
    const rows = await this.store.queryByUser((dialect) => compileSegmentBatch(segments, { dialect, asOfMs, scoreRuns }).sql);
    const members = new Map<string, string[]>();
    for (const { key, column } of columns) {
      const ids = rows.filter((r) => isMember(r[column], `${this.kind}: segment ${key}, user ${String(r.user_id)}`)).map((r) => String(r.user_id));
      members.set(key, ids.sort());
    }
    return { users: sortedIds(rows), members };
  }

  async members(segment: SegmentIR, asOfMs: number): Promise<string[]> {
    const scoreRuns = await this.scoreRuns([segment], asOfMs);
    return sortedIds(await this.store.queryByUser((dialect) => compileSegmentMembers(segment, { dialect, asOfMs, scoreRuns })));
  }

  async close(): Promise<void> {
    if (this.store instanceof ClickHouseStore) await this.store.dropDatabase();
    await this.store.close();
  }
}

/** The ClickHouse servers an engine needs (none for DuckDB), started for a test file. */
export async function startServerFor(kind: EngineKind): Promise<LocalClickHouse | null> {
  if (kind === 'duckdb') return null;
  return startClickHouse({ shards: kind === 'clickhouse-cluster' ? 2 : 1 });
}
