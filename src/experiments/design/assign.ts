/**
 * Assignment of users to experiments and variants from the two hash buckets (hash.ts).
 *
 * - Coverage: a user is in the experiment iff coverageBucket < round(coverage · 10000).
 * - Variant: with W(i) the cumulative normalized weights (W(0) = 0, summed left to right,
 *   divided by the total), variant i (1-based, in definition order) takes the variant
 *   buckets [round(10000 · W(i-1)), round(10000 · W(i))), the last bound being 10000.
 *   In IEEE doubles: W(i) = (w1 + ... + wi) / (w1 + ... + wn), sums left to right, then
 *   10000 · W(i); `round` is to the nearest integer, halves up (JavaScript's Math.round on
 *   these non-negative values; not Python's round, which rounds halves to even).
 *
 * Coverage and variant use separate hashes (purposes `coverage` and `variant`), so:
 * - raising coverage only adds users (those whose coverage bucket lies between the old and
 *   the new threshold) and never moves anyone between variants; lowering it only removes
 *   users. A user's variant is decided whether or not they are covered (`wouldBe`).
 * - changing weights moves exactly the users whose variant bucket lies between an old and
 *   a new bound: 50/50 → 60/40 moves the bound from 5000 to 6000, so the users with
 *   variant buckets in [5000, 6000) (10% of users) go from the second variant to the first,
 *   and nobody else moves. Adding a variant at the end takes its share from the variants
 *   whose bounds shift. Changing the seed reshuffles everyone.
 */
import { StrataError } from '../../errors/errors.js';
import { HASH_BUCKETS, hashBucket } from './hash.js';
import type { AssignmentOutcome, ExperimentDefinition } from './types.js';

/** The variant buckets [from, to) one variant takes; `from === to` for a weight too small to get any. */
export interface VariantBucketRange {
  readonly key: string;
  readonly from: number;
  readonly to: number;
}

export type AssignmentDefinition = Pick<ExperimentDefinition, 'seed' | 'hashVersion' | 'coverage' | 'variants'>;

export interface VariantAssignment {
  readonly coverageBucket: number;
  readonly variantBucket: number;
  /** coverageBucket < coverageThreshold(coverage). */
  readonly covered: boolean;
  /** The variant the variant bucket picks, whether or not the user is covered. */
  readonly variant: string;
}

/** Nearest integer, halves up; exact for the non-negative values here (as Math.round). */
const roundHalfUp = (x: number): number => Math.round(x);

/** The variant bucket ranges, in definition order, covering [0, 10000) without gaps or overlaps. */
export function variantBounds(def: Pick<ExperimentDefinition, 'variants'>): readonly VariantBucketRange[] {
  const { variants } = def;
  if (variants.length === 0) throw new StrataError('INPUT_INVALID', 'an experiment needs at least one variant');
  variants.forEach((v, i) => {
    if (!(Number.isFinite(v.weight) && v.weight > 0)) {
      throw new StrataError('INPUT_INVALID', `variants[${i}] (${v.key}): weight must be a positive finite number, got ${v.weight}`);
    }
  });
  const total = variants.reduce((s, v) => s + v.weight, 0);
  let cumulative = 0;
  let from = 0;
  return variants.map((v, i) => {
    cumulative += v.weight;
    const to = i === variants.length - 1 ? HASH_BUCKETS : Math.min(HASH_BUCKETS, roundHalfUp(HASH_BUCKETS * (cumulative / total)));
    const range = { key: v.key, from, to: Math.max(from, to) };
    from = range.to;
    return range;
  });
}

/** Coverage buckets below this are in the experiment: round(coverage · 10000). */
export function coverageThreshold(coverage: number): number {
  if (!(Number.isFinite(coverage) && coverage > 0 && coverage <= 1)) {
    throw new StrataError('INPUT_INVALID', `coverage must be in (0, 1], got ${coverage}`);
  }
  return roundHalfUp(coverage * HASH_BUCKETS);
}

/** The variant whose range holds a variant bucket. */
export function variantForBucket(bounds: readonly VariantBucketRange[], variantBucket: number): string {
  for (const range of bounds) if (variantBucket < range.to) return range.key;
  throw new StrataError('INTERNAL', `variant bucket ${variantBucket} is outside [0, ${HASH_BUCKETS})`);
}

/** Both buckets of a user, whether they are covered, and the variant their variant bucket picks. */
export function assignVariant(def: AssignmentDefinition, userId: string): VariantAssignment {
  const coverageBucket = hashBucket(def.seed, 'coverage', userId, def.hashVersion);
  const variantBucket = hashBucket(def.seed, 'variant', userId, def.hashVersion);
  return {
    coverageBucket,
    variantBucket,
    covered: coverageBucket < coverageThreshold(def.coverage),
    variant: variantForBucket(variantBounds(def), variantBucket),
  };
}

export interface AssignmentContext {
  /** The instant the assignment is asked for (epoch ms). */
  readonly asOfMs: number;
  /** Whether the user is in every targeting segment (true when the experiment targets everyone). */
  readonly targeted: boolean;
}

/**
 * The full outcome for `strata experiment assign`: the first reason that applies among
 * not-started (asOf < start), stopped (asOf >= stop), not-targeted, outside-coverage;
 * otherwise in the experiment with the hashed variant.
 */
export function assignmentOutcome(
  def: AssignmentDefinition & Pick<ExperimentDefinition, 'startMs' | 'stopMs'>,
  userId: string,
  context: AssignmentContext,
): AssignmentOutcome {
  const a = assignVariant(def, userId);
  const buckets = { coverageBucket: a.coverageBucket, variantBucket: a.variantBucket };
  const reason = outcomeReason(def, a.covered, context);
  if (reason === null) return { inExperiment: true, variant: a.variant, ...buckets };
  return { inExperiment: false, reason, ...buckets, wouldBe: a.variant };
}

function outcomeReason(
  def: Pick<ExperimentDefinition, 'startMs' | 'stopMs'>,
  covered: boolean,
  { asOfMs, targeted }: AssignmentContext,
): 'not-started' | 'stopped' | 'not-targeted' | 'outside-coverage' | null {
  if (asOfMs < def.startMs) return 'not-started';
  if (def.stopMs !== null && asOfMs >= def.stopMs) return 'stopped';
  if (!targeted) return 'not-targeted';
  if (!covered) return 'outside-coverage';
  return null;
}
