/**
 * The over-segmentation guard (`strata segment lint`): warnings about segments that
 * cannot carry the decisions they were made for, at one instant asOf:
 * - underpowered: too small to detect the minimum effect its objective calls for
 *   (power-check.ts states the metrics, defaults and formulas);
 * - overlap: two segments whose Jaccard index is at or above a threshold (default 0.8);
 * - empty / everyone: a definition that matches no one, or everyone, of the population.
 *
 * Work stays in the store: the snapshots at asOf (computed where missing), one per-user
 * query for every segment's metric sums (summed over the parts of a cluster), and the
 * registry's overlap query.
 */
import type { PurchaseSettings } from '../rfm/rfm-config.js';
import { StrataError } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { EventFilter } from '../../segments/ir/nodes.js';
import type { Objective } from '../../segments/language/index.js';
import {
  checkActivitySettings,
  mergeSnapshotActivity,
  snapshotActivitySql,
  type ActivitySettings,
} from '../../segments/registry/behavior-metrics.js';
import type { SegmentRegistry, SnapshotSummary } from '../../segments/registry/index.js';
import type { EventStore } from '../../store/event-store.js';
import { MS, formatDuration, formatInstant } from '../../time/time.js';
import { checkTestSettings } from '../power.js';
import type { CoverageWarning, LintResult, LintWarning, LintedSegment, OverlapWarning, UnderpoweredWarning } from './lint-types.js';
import { MISSING_SETTING, OBJECTIVE_METRICS, RETENTION_RECENT_DAYS, powerCheck, type MetricRequirement } from './power-check.js';

export const LINT_DEFAULTS = { alpha: 0.05, power: 0.8, overlap: 0.8, windowMs: 28 * MS.d } as const;

export interface LintOptions {
  /** Default: every stored segment. */
  readonly keys?: readonly string[];
  /** Default: the registry's now. */
  readonly asOfMs?: number;
  readonly alpha?: number;
  readonly power?: number;
  /** A relative minimum detectable effect for every objective (0.1 = 10%); default: each objective's own. */
  readonly mde?: number | null;
  /** The Jaccard threshold; default 0.8. */
  readonly overlap?: number;
  /** The window the metrics are measured over, before asOf. Default 28 days. */
  readonly windowMs?: number;
  /** strata.yaml `rfm:` purchase settings (conversion and monetization objectives). */
  readonly purchase?: PurchaseSettings | null;
  /** The lifecycle core action (activation objective). */
  readonly coreAction?: EventFilter | null;
}

export async function lintSegments(registry: SegmentRegistry, store: EventStore, plan: TrackingPlan, options: LintOptions = {}): Promise<LintResult> {
  const alpha = options.alpha ?? LINT_DEFAULTS.alpha;
  const power = options.power ?? LINT_DEFAULTS.power;
  const overlapThreshold = options.overlap ?? LINT_DEFAULTS.overlap;
  const mde = options.mde ?? null;
  const windowMs = options.windowMs ?? LINT_DEFAULTS.windowMs;
  checkLintSettings({ alpha, power, overlap: overlapThreshold, mde });

  const listed = await registry.list();
  const objectives = new Map(listed.map((s) => [s.key, s.objective as Objective]));
  const keys = options.keys && options.keys.length > 0 ? [...new Set(options.keys)] : listed.map((s) => s.key);
  // Unknown keys fail here, with close matches named.
  const snapshots = await registry.snapshots(keys, options.asOfMs !== undefined ? { asOfMs: options.asOfMs } : {});
  const asOfMs = options.asOfMs ?? (keys.length > 0 ? Date.parse(snapshots.get(keys[0]!)!.asOf) : Date.now());
  const window = windowMs % MS.d === 0 ? `${windowMs / MS.d}d` : formatDuration(windowMs);
  const settings = { asOf: formatInstant(asOfMs), window, alpha, power, mde, overlap: overlapThreshold };

  const activity: ActivitySettings = {
    asOfMs,
    windowMs,
    purchase: options.purchase ?? null,
    recency: false,
    coreAction: options.coreAction ?? null,
    recentMs: RETENTION_RECENT_DAYS * MS.d,
  };
  checkActivitySettings(activity, plan);
  const missing = missingRequirements(activity);
  const ids = keys.map((k) => snapshots.get(k)!.snapshotId);
  const sums = ids.length === 0 ? new Map() : mergeSnapshotActivity(await store.queryByUser((d) => snapshotActivitySql(d, ids, activity)), activity);

  const segments: LintedSegment[] = keys.map((key) => {
    const s = snapshots.get(key)!;
    const objective = objectives.get(key)!;
    const check = powerCheck({ key, objective, size: s.size, stats: sums.get(s.snapshotId)?.stats ?? new Map(), settings: { alpha, power, mde }, missing, window });
    return { key, objective, version: s.version, size: s.size, population: s.population ?? 0, power: check };
  });

  const overlap = keys.length >= 2 ? await registry.overlap(keys, { asOfMs }) : null;
  const warnings: LintWarning[] = [
    ...keys.flatMap((k) => coverageWarnings(snapshots.get(k)!, settings.asOf)),
    ...segments.filter((s) => s.power.status === 'underpowered').map(underpoweredWarning),
    ...(overlap?.pairs ?? []).flatMap((p): OverlapWarning[] => {
      if (p.jaccard === null || p.jaccard < overlapThreshold) return [];
      const sizes = [snapshots.get(p.a)!.size, snapshots.get(p.b)!.size] as const;
      return [
        {
          kind: 'overlap',
          segments: [p.a, p.b],
          message: `${p.a} and ${p.b} overlap: Jaccard ${p.jaccard.toFixed(3)} >= ${overlapThreshold} (${p.intersection} shared users of ${p.union}); consider merging them or sharpening one`,
          numbers: { intersection: p.intersection, union: p.union, jaccard: p.jaccard, threshold: overlapThreshold, sizes },
        },
      ];
    }),
  ];
  const notes = [...missing]
    .filter((need) => segments.some((s) => OBJECTIVE_METRICS[s.objective]?.needs === need))
    .map((need) => MISSING_SETTING[need]);
  return { settings, segments, warnings, notes };
}

function checkLintSettings(s: { alpha: number; power: number; overlap: number; mde: number | null }): void {
  checkTestSettings(s);
  if (!(Number.isFinite(s.overlap) && s.overlap > 0 && s.overlap <= 1)) {
    throw new StrataError('INPUT_INVALID', `the overlap threshold must be a Jaccard index in (0, 1], got ${s.overlap}`, [{ path: 'overlap', message: 'expected 0 < overlap <= 1' }]);
  }
  if (s.mde !== null && !(Number.isFinite(s.mde) && s.mde > 0)) {
    throw new StrataError('INPUT_INVALID', `the minimum detectable effect must be a positive relative change (0.1 = 10%), got ${s.mde}`, [{ path: 'mde', message: 'expected a number > 0' }]);
  }
}

function missingRequirements(a: ActivitySettings): Set<MetricRequirement> {
  const out = new Set<MetricRequirement>();
  if (!a.coreAction) out.add('coreAction');
  if (a.purchase === null) out.add('purchase');
  if (a.purchase === null || a.purchase.value === null) out.add('revenue');
  return out;
}

function coverageWarnings(s: SnapshotSummary, asOf: string): CoverageWarning[] {
  const population = s.population ?? 0;
  const numbers = { size: s.size, population };
  if (s.size === 0) return [{ kind: 'empty', segments: [s.key], message: `${s.key} matches no one of the ${population} users at ${asOf}`, numbers }];
  if (s.size === population) {
    return [{ kind: 'everyone', segments: [s.key], message: `${s.key} matches all ${population} users at ${asOf}: it does not single anyone out`, numbers }];
  }
  return [];
}

function underpoweredWarning(s: LintedSegment): UnderpoweredWarning {
  return { kind: 'underpowered', segments: [s.key], message: `${s.key} (${s.objective}) is too small: ${s.power.reason}`, numbers: s.power };
}
