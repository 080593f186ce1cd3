/**
 * Leaf conditions: a comparison applied to a measure (or to a trait), with the instant
 * the result may next change without input. The result is constant on [asOf, next), so
 * the user's next wake-up is the smallest `next` over its leaves, and a membership change
 * found at a wake-up happened exactly then.
 */
import { applyComparison } from '../evaluate/compare.js';
import type { MemoryValue } from '../evaluate/index.js';
import type { Comparison } from '../ir/nodes.js';
import type { Measure, MeasureValue } from './stream-measures.js';
import type { ModelScores, ScoreField } from './stream-scores.js';
import { durationLiterals, literalsOf, nextElapsedFlip, nextRelativeFlip, relativeOffsets } from './stream-windows.js';
import type { UserState } from './user-state.js';

/** Per-evaluation cache of measure values, shared by the leaves of one user evaluation. */
export interface MeasureCache {
  value(m: Measure, u: UserState, asOf: number): MeasureValue;
  next(m: Measure, u: UserState, asOf: number): number;
}

export abstract class Leaf {
  index = -1;
  /** Writes its result and next-change instant into u.state (see UserState). */
  abstract evaluate(u: UserState, asOf: number, cache: MeasureCache): void;
  abstract readonly measure: Measure | undefined;

  /**
   * When only series its measure grows with (Measure.growsWith) gained entries: whether the
   * current result, and its next-change instant, still hold. True for a test of "high
   * enough" that holds, or of "low enough" that fails.
   */
  keepsOnGrowth(_result: number): boolean {
    return false;
  }
}

/**
 * For a count compared with numeric literals: the counts c' such that the result may
 * differ between c' + 1 and c' (for integer counts, c op v can change only between
 * ceil(v) - 1 and ceil(v), or floor(v) and floor(v) + 1). Sorted descending.
 */
export function countTargets(cmp: Comparison): number[] {
  const out = new Set<number>();
  for (const l of literalsOf(cmp)) {
    if (l.kind !== 'number') continue;
    out.add(Math.ceil(l.value) - 1);
    out.add(Math.floor(l.value));
  }
  return [...out].sort((a, b) => b - a);
}

/**
 * Whether a comparison over counts (integers >= 0) is upward closed (true at c implies true
 * at c + 1) and downward closed (true at c + 1 implies true at c). Past the largest literal
 * every comparison is constant, so checking up to it settles both.
 */
export function closedDirections(cmp: Comparison): { upward: boolean; downward: boolean } {
  let top = 0;
  for (const l of literalsOf(cmp)) if (l.kind === 'number') top = Math.max(top, Math.ceil(l.value));
  let upward = true;
  let downward = true;
  for (let c = 0; c <= top + 1; c++) {
    const now = applyComparison(cmp, c, 0);
    const next = applyComparison(cmp, c + 1, 0);
    if (now && !next) upward = false;
    if (next && !now) downward = false;
  }
  return { upward, downward };
}

/** The same for real values: only one-sided comparisons are closed (and `exists`, true either way). */
export function realClosedDirections(cmp: Comparison): { upward: boolean; downward: boolean } {
  switch (cmp.op) {
    case 'gt':
    case 'gte':
      return { upward: true, downward: false };
    case 'lt':
    case 'lte':
      return { upward: false, downward: true };
    case 'exists':
      return { upward: true, downward: true };
    default:
      return { upward: false, downward: false };
  }
}

export class CompareLeaf extends Leaf {
  private readonly offsets: readonly number[];
  private readonly durations: readonly number[];
  private readonly targets: readonly number[] | null;
  /** Over counts: a true result stays true as the count grows (upward), or a false one stays false (downward). */
  private readonly upward: boolean;
  private readonly downward: boolean;
  private asOf = 0;
  private readonly test = (v: MeasureValue): boolean => v !== null && applyComparison(this.cmp, v, this.asOf);

  /**
   * @param elapsed the measure's value is an instant and the comparison is on asOf minus it (lastSeen, firstSeen)
   * @param counting the measure is a count, so lookahead applies (eventCount, distinct, activeDays, sessions, K, regularly)
   * @param growable the measure is a real number that may grow (session durations): closed directions apply
   */
  constructor(
    readonly measure: Measure,
    readonly cmp: Comparison,
    readonly elapsed: boolean,
    counting: boolean,
    growable = false,
  ) {
    super();
    this.offsets = relativeOffsets(cmp);
    this.durations = elapsed ? durationLiterals(cmp) : [];
    // Counts look ahead through their targets; session durations walk their sessions out.
    this.targets = counting ? countTargets(cmp) : growable ? [] : null;
    const none = { upward: false, downward: false };
    const closed = this.offsets.length > 0 ? none : counting ? closedDirections(cmp) : growable ? realClosedDirections(cmp) : none;
    this.upward = closed.upward;
    this.downward = closed.downward;
  }

  override keepsOnGrowth(result: number): boolean {
    return result === 1 ? this.upward : this.downward;
  }

  evaluate(u: UserState, asOf: number, cache: MeasureCache): void {
    const v = cache.value(this.measure, u, asOf);
    let result: boolean;
    let next: number;
    if (v === null) {
      // An anchored window without an anchor: false whatever the comparison.
      result = false;
      next = cache.next(this.measure, u, asOf);
    } else if (this.elapsed) {
      const base = v as number | undefined;
      result = applyComparison(this.cmp, base === undefined ? undefined : asOf - base, asOf);
      next = cache.next(this.measure, u, asOf);
      if (base !== undefined) next = Math.min(next, nextElapsedFlip(base, this.durations, asOf));
    } else {
      result = applyComparison(this.cmp, v, asOf);
      if (this.targets !== null) {
        this.asOf = asOf;
        next = this.measure.nextResultChange(u, asOf, v, this.test, this.targets);
      } else next = cache.next(this.measure, u, asOf);
      if (this.offsets.length > 0 && typeof v === 'number') next = Math.min(next, nextRelativeFlip(v, this.offsets, asOf));
    }
    u.state[2 * this.index] = next;
    u.state[2 * this.index + 1] = result ? 1 : 0;
  }
}

/** `{trait: T, <op>: V}` on the current profile; it moves with the clock only against relative times. */
export class TraitLeaf extends Leaf {
  readonly measure = undefined;
  private readonly offsets: readonly number[];

  constructor(
    readonly trait: string,
    readonly cmp: Comparison,
  ) {
    super();
    this.offsets = relativeOffsets(cmp);
  }

  evaluate(u: UserState, asOf: number): void {
    const traits = u.traits;
    const v: MemoryValue | undefined = traits !== undefined && Object.hasOwn(traits, this.trait) ? traits[this.trait] : undefined;
    u.state[2 * this.index] = this.offsets.length > 0 && typeof v === 'number' ? nextRelativeFlip(v, this.offsets, asOf) : Infinity;
    u.state[2 * this.index + 1] = applyComparison(this.cmp, v, asOf) ? 1 : 0;
  }
}

/**
 * `score`, `percentile` and `cluster` conditions: the user's value in the model's run
 * effective at asOf (stream-scores.ts). Time alone never changes it; a run becoming
 * effective re-evaluates the users it concerns through the evaluator's run queue, so the
 * leaf's own next-change instant is never.
 */
export class ScoreLeaf extends Leaf {
  readonly measure = undefined;

  constructor(
    readonly scores: ModelScores,
    readonly field: ScoreField,
    readonly cmp: Comparison,
  ) {
    super();
  }

  evaluate(u: UserState, asOf: number): void {
    u.state[2 * this.index] = Infinity;
    u.state[2 * this.index + 1] = applyComparison(this.cmp, this.scores.value(u.id, this.field, asOf), asOf) ? 1 : 0;
  }
}
