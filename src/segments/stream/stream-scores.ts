/**
 * Model scores in the stream: the state `score`, `percentile` and `cluster` conditions read.
 *
 * Scores are external state, like profile traits: they change only when a scoring run
 * arrives, never with events. A user's value for model M as of T is their row in M's run
 * with the latest as_of <= T (ties: the larger run id), the rule of `scoreRunsAsOf`
 * (src/models/registry/model-store.ts) and of the in-memory evaluator; no such run, or no
 * row for the user in it: missing (the comparison is false, `exists: false` true).
 *
 * State, per model (global, not per user), bounded:
 * - its runs still able to matter: the one effective at the clock (`active`) and those
 *   whose as_of is still ahead of it (pending), sorted by (as_of, run id); each run holds
 *   its rows by user id. A run effective at the clock supersedes every run before it in
 *   that order, for good (the clock never goes back), so they and their rows are dropped;
 *   rows of a superseded run that arrive later are ignored;
 * - the leaves reading the model (so a change of run dirties only them).
 * A run becomes effective when the clock reaches its as_of: the evaluator keeps one entry
 * per pending run in a queue keyed by as_of and, when it surfaces, re-evaluates exactly the
 * users with a row in the old run or the new one (users in neither stay missing). A run
 * replaces the previous one as a whole: a user absent from it loses the old value.
 */
import { StrataError } from '../../errors/errors.js';

/** One user's row of a scoring run (null: the run holds no such value for the user). */
export interface ScoreValues {
  readonly score: number | null;
  readonly percentile: number | null;
  readonly cluster: number | null;
}

export interface StreamScoreRow extends ScoreValues {
  readonly userId: string;
}

/** Rows of one scoring run arriving together (`StreamEvaluator.pushScores`). */
export interface StreamScoreBlock {
  readonly model: string;
  readonly runId: number;
  /** Epoch ms: the run is effective from this instant on. */
  readonly asOfMs: number;
  readonly rows: readonly StreamScoreRow[];
}

/**
 * What became of a block: applied (its run is effective now), pending (its run becomes
 * effective when the clock reaches its as_of), superseded (a run effective already comes
 * later, so it can never be read: ignored), unused (no evaluated segment reads the model).
 */
export type ScorePushResult = 'applied' | 'pending' | 'superseded' | 'unused';

export interface ScoreRunState {
  readonly runId: number;
  readonly asOfMs: number;
  readonly rows: Map<string, ScoreValues>;
}

/** Which value of a row a leaf reads. */
export type ScoreField = 'score' | 'percentile' | 'cluster';

/** Runs come in (as_of, run id) order: the later of two is the one read when both qualify. */
export function runBefore(a: { asOfMs: number; runId: number }, b: { asOfMs: number; runId: number }): boolean {
  return a.asOfMs < b.asOfMs || (a.asOfMs === b.asOfMs && a.runId < b.runId);
}

export class ModelScores {
  /** Leaves (plan indices) reading this model. */
  readonly leaves: number[] = [];
  /** Runs not superseded, sorted by (as_of, run id). */
  runs: ScoreRunState[] = [];
  /** The run effective at the clock when the model was last settled (null: none yet). */
  active: ScoreRunState | null = null;

  constructor(
    readonly model: string,
    readonly index: number,
  ) {}

  /** The run read at asOf: the latest (as_of, run id) with as_of <= asOf. */
  effective(asOf: number): ScoreRunState | null {
    for (let i = this.runs.length - 1; i >= 0; i--) if (this.runs[i]!.asOfMs <= asOf) return this.runs[i]!;
    return null;
  }

  /** A user's value at asOf (undefined: missing). */
  value(userId: string, field: ScoreField, asOf: number): number | undefined {
    const v = this.effective(asOf)?.rows.get(userId)?.[field];
    return v === null || v === undefined ? undefined : v;
  }

  find(runId: number): ScoreRunState | undefined {
    return this.runs.find((r) => r.runId === runId);
  }

  /** The run `runId` (created, in order, when new); a run id keeps its as_of. */
  run(runId: number, asOfMs: number): ScoreRunState {
    const found = this.find(runId);
    if (found) {
      if (found.asOfMs !== asOfMs) {
        throw new StrataError(
          'INPUT_INVALID',
          `run ${runId} of model "${this.model}" is as of ${new Date(found.asOfMs).toISOString()}, not ${new Date(asOfMs).toISOString()}`,
          [{ path: 'as_of', message: `expected ${new Date(found.asOfMs).toISOString()}, the as_of of the run's earlier rows` }],
        );
      }
      return found;
    }
    const r: ScoreRunState = { runId, asOfMs, rows: new Map() };
    let i = this.runs.length;
    while (i > 0 && runBefore(r, this.runs[i - 1]!)) i--;
    this.runs.splice(i, 0, r);
    return r;
  }

  /** Whether a run (new or known) can never be read at or after `now`. */
  superseded(runId: number, asOfMs: number): boolean {
    const a = this.active;
    return a !== null && a.runId !== runId && runBefore({ asOfMs, runId }, a);
  }

  /**
   * Make the run effective at `now` active and drop the runs it supersedes. Returns the
   * users whose value may have changed (rows of the old run and the new one), or null when
   * the active run stays.
   */
  settle(now: number): Iterable<string> | null {
    const next = this.effective(now);
    if (next === this.active) return null;
    const old = this.active;
    this.active = next;
    if (next !== null) this.runs = this.runs.slice(this.runs.indexOf(next));
    if (old === null) return next!.rows.keys();
    if (next === null) return old.rows.keys();
    return unionKeys(old.rows, next.rows);
  }
}

function* unionKeys(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): Generator<string> {
  yield* a.keys();
  for (const k of b.keys()) if (!a.has(k)) yield k;
}

/** Rows as saved in a state file: [user, score, percentile, cluster]. */
export type SavedScoreRow = readonly [string, number | null, number | null, number | null];

export interface SavedScoreRun {
  readonly model: string;
  readonly runId: number;
  readonly asOfMs: number;
  readonly rows: readonly SavedScoreRow[];
}
