/**
 * The EventStore interface: the only way domain code touches data. Implementations:
 * store/duckdb (the embedded default). Domain modules never import a driver.
 *
 * Compiled segment SQL reaches the store through `query` / `execute`; the dialect that
 * compiled it is the store's own (`store.dialect`).
 */
import type { TrackingPlan } from '../schema/tracking-plan.js';
import type { SqlDialect } from '../segments/compile/dialect.js';

export type Row = Record<string, unknown>;

export interface EventStore {
  /** `duckdb`, later `clickhouse`. For display only: differences are capability flags on the dialect. */
  readonly engine: string;
  readonly dialect: SqlDialect;

  /** Bring the schema to the current version (idempotent; versioned migrations). */
  migrate(): Promise<void>;
  /** Add the typed columns that the plan's properties and traits need (never drops a column). */
  applyPlan(plan: TrackingPlan): Promise<void>;

  /** Run a read query; values come back as plain JS (numbers, strings, booleans, bigint for BIGINT, Date for timestamps is NOT used: timestamps are returned as epoch ms numbers by well-written queries). */
  query(sql: string): Promise<Row[]>;
  /** Run a statement that returns nothing useful. */
  execute(sql: string): Promise<void>;
  /** Run `fn` in one transaction: everything or nothing. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;

  close(): Promise<void>;
}
