/**
 * What the metrics layer hands to the statistics: per variant and per breakdown group,
 * the sufficient statistics of each metric (computed per user in SQL, summed inside the
 * store, parts of a cluster added), and the exposure counts SRM needs.
 */
import type { MetricStats } from '../stats/sufficient.js';

/** The group of a breakdown; `null` is the whole experiment. */
export type GroupKey = string | null;

export interface VariantStats {
  readonly variant: string;
  readonly stats: MetricStats;
}

export interface MetricGroupStats {
  readonly metric: string;
  readonly group: GroupKey;
  /** In the definition's variant order (control first); a variant with no users has n = 0. */
  readonly variants: readonly VariantStats[];
  /** Exposed users left out because their metric window had not ended by asOf. */
  readonly immature: number;
}

export interface ExposureCount {
  readonly group: GroupKey;
  readonly variant: string;
  readonly users: number;
}

export interface ExperimentData {
  readonly experiment: string;
  readonly version: number;
  readonly asOfMs: number;
  /** How users were split: null for none; otherwise the breakdown's label (`plan`, `segment power-users`, `lifecycle`). */
  readonly breakdown: string | null;
  /** Groups in display order (empty without a breakdown). */
  readonly groups: readonly string[];
  /** Users per variant (and group), for SRM and power reached. */
  readonly exposures: readonly ExposureCount[];
  /** Users seen in more than one variant (left out of every metric and count). */
  readonly multipleExposures: number;
  /** `$exposure` events naming a variant the definition does not have (left out), by variant name. */
  readonly unknownVariants: Readonly<Record<string, number>>;
  readonly metrics: readonly MetricGroupStats[];
}
