/**
 * The Strata library: the same capabilities as the CLI, typed.
 *
 * ```ts
 * import { loadConfig, openStore, ingestFiles, SegmentRegistry } from 'strata';
 *
 * const config = await loadConfig({ cwd: process.cwd() });
 * const store = await openStore(config);
 * await ingestFiles(store, { kind: 'events', files: ['events.jsonl'], plan: config.plan, rejectsPath: 'rejects.jsonl' });
 * const registry = new SegmentRegistry(store, config.plan);
 * const [power] = await registry.compute(['power-users']);
 * await store.close();
 * ```
 *
 * Streaming, the same segments evaluated per event:
 *
 * ```ts
 * const stream = createStreamEvaluator({ segments, latenessMs: 3_600_000, onChange: (c) => console.log(c) });
 * stream.push({ userId: 'u1', event: 'purchase', ts: Date.parse('2025-06-01T10:00:00Z'), properties: { amount: 30 } });
 * stream.tick(Date.now()); // exits caused by time alone
 * ```
 */

// Errors and time
export { ERROR_CATALOGUE, StrataError, isStrataError, type ErrorCode, type ErrorDetail } from './errors/errors.js';
export { formatDuration, formatInstant, parseDurationMs, parseInstantMs, parseRelativeOffsetMs, requireInstantMs } from './time/time.js';

// Workspace and configuration
export {
  CONFIG_FILE,
  createConfig,
  findWorkspace,
  initWorkspace,
  loadConfig,
  openStore,
  replacePlanInText,
  resolveWorkspaceDir,
  withPlan,
  writePlan,
  type Config,
  type CreateConfigOptions,
  type InitWorkspaceResult,
  type LoadConfigOptions,
  type StoreConfig,
} from './config/index.js';

// Tracking plan
export {
  DEFAULT_SESSION_GAP_MS,
  FIELD_TYPES,
  emptyPlan,
  parsePlan,
  planToYaml,
  propertyTypes,
  type EventSpec,
  type FieldSpec,
  type FieldType,
  type TrackingPlan,
} from './schema/tracking-plan.js';

// Store
export type { EventStore, Row } from './store/event-store.js';
export { DuckDbStore, type DuckDbStoreOptions } from './store/duckdb/duckdb-store.js';
export { ClickHouseStore, type ClickHouseStoreOptions } from './store/clickhouse/clickhouse-store.js';
export { TABLES, USER_KEYED_TABLES, propertyColumn, traitColumn } from './store/schema.js';

// Ingestion
export {
  formatIngestSummary,
  inferPlan,
  ingestEventRecords,
  ingestFiles,
  ingestProfileRecords,
  mergePlan,
  type ColumnMapping,
  type IngestReport,
} from './ingest/index.js';

// The segment language, its IR, the SQL compiler and the in-memory evaluator
export { buildSegmentIR, parseSegmentText, segmentReferences, validateSegment, type SegmentDefinition } from './segments/language/index.js';
export type { Condition, SegmentIR } from './segments/ir/nodes.js';
export { compileSegmentBatch, compileSegmentMembers } from './segments/compile/index.js';
export type { SqlDialect } from './segments/compile/dialect.js';
export { duckdbDialect } from './segments/compile/duckdb-dialect.js';
export { evaluateSegments, type MemoryDataset, type MemoryEvent } from './segments/evaluate/index.js';

// The streaming evaluator: the same IR updated per event, entered/left changes, snapshots
export {
  createStreamEvaluator,
  DEFAULT_LATENESS_MS,
  forEachJsonLine,
  loadStreamSegments,
  readStreamState,
  STREAM_V8_FLAGS,
  StreamEvaluator,
  StreamRecordParser,
  writeStreamState,
  type MembershipChange,
  type RejectedEvent,
  type StreamClock,
  type StreamEvaluatorOptions,
  type StreamEvent,
  type StreamRecord,
  type StreamSnapshot,
  type StreamStats,
} from './segments/stream/index.js';

// Registry: versions, snapshots and the analyses on them
export {
  SegmentRegistry,
  type AddResult,
  type ComputeResult,
  type DiffResult,
  type MemberList,
  type MembersExport,
  type OverlapResult,
  type SegmentDetails,
  type SegmentListItem,
  type SegmentRegistryOptions,
  type SegmentReport,
  type SnapshotSummary,
} from './segments/registry/index.js';

// The demo product
export { DEMO_END_MS, demoPlan, runDemo, simulateUser, type DemoOptions, type DemoResult } from './demo/index.js';

// The CLI, for embedding
export { runCli } from './cli/program.js';
export type { CliIo } from './cli/context.js';
