/**
 * The in-memory evaluator: the segment IR over plain data, with the same answers as the SQL
 * back ends (held together by spec/segments and test/differential.test.ts).
 *
 *   evaluateSegments(segments, data, asOfMs)  key -> member user ids
 *   UserEvaluator                              one user at a time, for realtime use
 */
export { evaluateSegments, UserEvaluator } from './evaluate-segments.js';
export { compareCodePoints } from './compare.js';
export {
  indexDataset,
  selectScoreRuns,
  type MemoryDataset,
  type MemoryEvent,
  type MemoryScoreRun,
  type MemoryScoreValues,
  type MemoryValue,
  type SelectedScores,
  type UserHistory,
} from './memory-dataset.js';
