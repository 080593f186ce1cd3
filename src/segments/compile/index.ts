export { compileSegmentBatch, compileSegmentMembers, explainSegmentBatch } from './compile-segments.js';
export type { BatchExplanation, CompiledBatch, CompileOptions, SegmentColumn } from './compile-segments.js';
export type { RelationExplanation } from './batch-plan.js';
export type { AggregateFunction, DialectCapabilities, SqlDialect } from './dialect.js';
export { duckdbDialect } from './duckdb-dialect.js';
