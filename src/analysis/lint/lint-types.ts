/**
 * What `segment lint` returns: plain, JSON-serializable data (the CLI's `--json` prints it
 * as it is). Every warning carries its kind, the segments it is about, a sentence and the
 * numbers behind it.
 */
import type { Objective } from '../../segments/language/index.js';

/** The metric each objective's power calculation is about. */
export type LintMetric = 'coreActionRate' | 'purchaseRate' | 'activeLast7Days' | 'meanActiveDays' | 'revenuePerUser';

export interface LintSettings {
  readonly asOf: string;
  /** The window the metrics are measured over, before asOf (`28d`). */
  readonly window: string;
  /** Two-sided significance level. */
  readonly alpha: number;
  /** Power (1 - β). */
  readonly power: number;
  /** The relative minimum detectable effect given with --mde; null: each objective's default. */
  readonly mde: number | null;
  /** Jaccard at or above which two segments are reported as overlapping. */
  readonly overlap: number;
}

/** The power calculation of one segment: the numbers the CLI prints and the warning quotes. */
export interface PowerCheck {
  readonly key: string;
  readonly objective: Objective;
  /** ok: big enough; underpowered: size / 2 is under the n needed per group; skipped: not computable (see reason). */
  readonly status: 'ok' | 'underpowered' | 'skipped';
  /** A sentence: why it was skipped, or the calculation in words. */
  readonly reason: string;
  readonly metric: LintMetric | null;
  readonly metricLabel: string | null;
  /** two-proportions: a two-sided two-sample z-test of proportions; two-means: of means (formulas in src/analysis/power.ts). */
  readonly test: 'two-proportions' | 'two-means' | null;
  readonly formula: string | null;
  /** The members' own value at asOf: a proportion, or a mean. */
  readonly baseline: number | null;
  /** Members' sample standard deviation (means only). */
  readonly sd: number | null;
  /** The relative minimum detectable effect (0.1 = a 10% change of the baseline). */
  readonly mde: number | null;
  readonly mdeSource: 'objective default' | '--mde' | null;
  /** baseline x (1 + mde), or x (1 - mde) where a proportion would pass 1. */
  readonly target: number | null;
  readonly alpha: number;
  readonly power: number;
  /** Users needed per group of a 50/50 split, rounded up. */
  readonly nPerGroupNeeded: number | null;
  /** floor(size / 2). */
  readonly nPerGroupAvailable: number;
  readonly size: number;
  /** The smallest relative effect detectable with nPerGroupAvailable per group; null when none is (or not computable). */
  readonly detectableEffect: number | null;
}

export interface UnderpoweredWarning {
  readonly kind: 'underpowered';
  readonly segments: readonly [string];
  readonly message: string;
  readonly numbers: PowerCheck;
}

export interface OverlapWarning {
  readonly kind: 'overlap';
  readonly segments: readonly [string, string];
  readonly message: string;
  readonly numbers: { readonly intersection: number; readonly union: number; readonly jaccard: number; readonly threshold: number; readonly sizes: readonly [number, number] };
}

export interface CoverageWarning {
  /** empty: matches no one of the population at asOf; everyone: matches all of it. */
  readonly kind: 'empty' | 'everyone';
  readonly segments: readonly [string];
  readonly message: string;
  readonly numbers: { readonly size: number; readonly population: number };
}

export type LintWarning = UnderpoweredWarning | OverlapWarning | CoverageWarning;

export interface LintedSegment {
  readonly key: string;
  readonly objective: Objective;
  readonly version: number;
  readonly size: number;
  readonly population: number;
  readonly power: PowerCheck;
}

export interface LintResult {
  readonly settings: LintSettings;
  readonly segments: readonly LintedSegment[];
  /** In order: empty and everyone, underpowered, overlap; within a kind by segment key. */
  readonly warnings: readonly LintWarning[];
  /** Settings missing for some objectives (core action, purchase event), once each. */
  readonly notes: readonly string[];
}
