/**
 * The incremental (streaming) evaluator: the segment IR updated per event, with the same
 * answers as the batch engines, `entered` / `left` changes at the instant they happen, and
 * snapshots to disk.
 *
 *   createStreamEvaluator({ segments, latenessMs, clock, onChange })  push, pushProfile, tick, membership
 *   new StreamRecordParser(plan, {models}).parseLine(line, where)      a JSON line to an event, a profile or a score row
 *   evaluator.pushScores({model, runId, asOfMs, rows})                  rows of a scoring run (stream-scores.ts)
 *   seedStreamScores(evaluator, store)                                  the store's scoring runs, at start
 *   writeStreamState(file, evaluator) / readStreamState(file)           versioned snapshots, written atomically
 */
export {
  createStreamEvaluator,
  DEFAULT_LATENESS_MS,
  STREAM_V8_FLAGS,
  StreamEvaluator,
  STREAM_STATE_FORMAT,
  STREAM_STATE_READABLE_VERSIONS,
  STREAM_STATE_VERSION,
  type MembershipChange,
  type PushResult,
  type RejectedEvent,
  type SavedUser,
  type StreamClock,
  type StreamEvaluatorOptions,
  type StreamEvent,
  type StreamSnapshot,
  type StreamStateHeader,
  type StreamStats,
} from './stream-evaluator.js';
export {
  StreamRecordParser,
  type RecordPlace,
  type StreamEventRecord,
  type StreamModelKind,
  type StreamProfileRecord,
  type StreamRecord,
  type StreamRecordParserOptions,
  type StreamScoreRecord,
} from './stream-input.js';
export { type SavedScoreRun, type ScorePushResult, type ScoreValues, type StreamScoreBlock, type StreamScoreRow } from './stream-scores.js';
export { seedStreamScores, ScoreBlockBuffer, type SeededScores } from './stream-seed.js';
export { readStreamState, writeStreamState } from './stream-state-file.js';
export { loadStreamSegments } from './stream-segments.js';
export { forEachJsonLine } from './json-lines.js';
