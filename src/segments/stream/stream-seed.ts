/**
 * Scores into a stream: the store's scoring runs at start (so a stream started after
 * `strata model score` reads them without replaying them), and score records of the input
 * grouped into blocks, one per run, so a run's rows switch the model at once.
 */
import { listScoreRuns, readScores } from '../../models/registry/model-store.js';
import type { EventStore } from '../../store/event-store.js';
import type { StreamEvaluator } from './stream-evaluator.js';
import type { StreamScoreRecord } from './stream-input.js';
import type { ScorePushResult, StreamScoreRow } from './stream-scores.js';

export interface SeededScores {
  /** Runs whose rows were loaded. */
  readonly runs: number;
  readonly rows: number;
  /** Runs left out: superseded at the clock (a restored or ticked one), or already in a restored state. */
  readonly skipped: number;
}

/**
 * Push the store's runs of the models the evaluator reads, oldest first. With the clock
 * already running (a restored state, a wall clock ticked once), runs superseded by then are
 * not read at all; a run the evaluator holds already (from its saved state) is kept as is.
 * Before the clock starts every run is loaded: the first event may be old, and the run
 * effective then must be there (runs superseded once the clock starts are dropped then).
 */
export async function seedStreamScores(ev: StreamEvaluator, store: EventStore): Promise<SeededScores> {
  const models = new Set(ev.scoreModels);
  if (models.size === 0) return { runs: 0, rows: 0, skipped: 0 };
  const runs = (await listScoreRuns(store)).filter((r) => models.has(r.modelKey));
  runs.sort((a, b) => a.asOfMs - b.asOfMs || a.runId - b.runId);
  // Only the latest run at or before the clock, and those after it, can still be read.
  const now = ev.asOfMs;
  const latestRead = new Map<string, number>();
  if (now !== null) runs.forEach((r, i) => r.asOfMs <= now && latestRead.set(r.modelKey, i));
  let loaded = 0;
  let rows = 0;
  let skipped = 0;
  for (const [i, r] of runs.entries()) {
    const readable = now === null || r.asOfMs > now || latestRead.get(r.modelKey) === i;
    if (!readable || ev.hasScoreRun(r.modelKey, r.runId) || !ev.wantsScoreRun(r.modelKey, r.runId, r.asOfMs)) {
      skipped++;
      continue;
    }
    const scores = await readScores(store, r.runId);
    const block: StreamScoreRow[] = scores.map((s) => ({ userId: s.userId, score: finiteOrNull(s.score), percentile: finiteOrNull(s.percentile), cluster: finiteOrNull(s.cluster) }));
    ev.pushScores({ model: r.modelKey, runId: r.runId, asOfMs: r.asOfMs, rows: block });
    loaded++;
    rows += block.length;
  }
  return { runs: loaded, rows, skipped };
}

/** The store writes NaN for the values a run kind does not have; the stream says null. */
function finiteOrNull(v: number | null): number | null {
  return v === null || !Number.isFinite(v) ? null : v;
}

/**
 * Consecutive score records of one run (same model, run and as_of), held until something
 * else arrives and then pushed as one block. `flush` before any other record, before
 * saving state, when the input goes quiet, and at its end.
 */
export class ScoreBlockBuffer {
  private rows: StreamScoreRow[] = [];
  private head: StreamScoreRecord | undefined;
  /** Where the held rows came from (the first one's line), for reporting a refused block. */
  firstPlace: number | undefined;

  constructor(private readonly ev: StreamEvaluator) {}

  get size(): number {
    return this.rows.length;
  }

  /** Whether a record continues the held block (or nothing is held): if not, flush first. */
  continues(record: StreamScoreRecord): boolean {
    const h = this.head;
    return h === undefined || (h.model === record.model && h.runId === record.runId && h.asOfMs === record.asOfMs);
  }

  /** Hold a record (the caller has flushed a block of another run, see `continues`). */
  add(record: StreamScoreRecord, place: number): void {
    if (!this.continues(record)) throw new Error('ScoreBlockBuffer.add: flush the held block of another run first');
    if (this.head === undefined) {
      this.head = record;
      this.firstPlace = place;
    }
    this.rows.push({ userId: record.userId, score: record.score, percentile: record.percentile, cluster: record.cluster });
  }

  /** Push the held block, if any. */
  flush(): ScorePushResult | undefined {
    const h = this.head;
    if (h === undefined) return undefined;
    const rows = this.rows;
    this.head = undefined;
    this.rows = [];
    return this.ev.pushScores({ model: h.model, runId: h.runId, asOfMs: h.asOfMs, rows });
  }
}
