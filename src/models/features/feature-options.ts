/**
 * What a feature matrix holds: the options of `buildFeatures`, checked against the plan,
 * and the resolved layout (which events, windows and traits become which columns).
 * docs/models.md ("Features") is the normative definition of every feature; the names
 * below are the column names callers see.
 */
import type { PurchaseSettings } from '../../analysis/rfm/rfm-config.js';
import { isSystemEvent } from '../../schema/system-events.js';
import { StrataError } from '../../errors/errors.js';
import type { FieldType, TrackingPlan } from '../../schema/tracking-plan.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { MS } from '../../time/time.js';
import { checkPurchaseSettings } from '../../segments/registry/behavior-metrics.js';

export const DAY_MS = MS.d;
export const DEFAULT_WINDOWS_DAYS: readonly number[] = [7, 28, 90];
export const DEFAULT_ACTIVE_DAYS_WINDOWS: readonly number[] = [28, 90];
/** Recency features are capped here, and a user without the event gets the cap. */
export const DEFAULT_RECENCY_CAP_DAYS = 365;
/** String traits: the N most frequent values each get a column, the rest share `(other)`. */
export const DEFAULT_ONE_HOT_TOP = 10;
/** Trend: events in the last 14 days against the 14 before. */
export const TREND_HALF_MS = 14 * MS.d;
/** Session statistics read the last 28 days. */
export const SESSION_WINDOW_MS = 28 * MS.d;

/** Which users get a row: the population as of asOf, narrowed to a snapshot's members or by a predicate on `user_id`. */
export type FeatureRestriction = { readonly snapshotId: number } | { readonly where: (dialect: SqlDialect) => string };

export interface FeatureOptions {
  /** The snapshot instant T: only events with ts < T are read. */
  readonly asOfMs: number;
  /**
   * Declared events counted per window (default: every declared event in plan order but the
   * system events `$exposure` and `$consent`, which record what was shown to or chosen by
   * the user, not what they did).
   */
  readonly events?: readonly string[];
  /** Per-event count windows in days (default 7, 28, 90). */
  readonly windowsDays?: readonly number[];
  /** Active-day windows in days (default 28, 90). */
  readonly activeDaysWindows?: readonly number[];
  /** The purchase event and its value (strata.yaml's `rfm:`, `config.rfm.purchase`); absent or null: no purchase features. */
  readonly purchase?: PurchaseSettings | null;
  readonly restrict?: FeatureRestriction;
  /** The session gap (default: the plan's). */
  readonly sessionGapMs?: number;
  /** A declared string or number property whose distinct values measure depth (a "feature" property); absent: none. */
  readonly depthProperty?: string;
  /** Traits to use (default: every declared trait that is neither sensitive nor pii). A sensitive trait here is an error. */
  readonly traits?: readonly string[];
  /** N for the one-hot rule (default 10). */
  readonly oneHotTop?: number;
  /** One-hot values per string trait from an earlier matrix (`FeatureMatrix.categories`), so columns line up; others are computed. */
  readonly categories?: Readonly<Record<string, readonly string[]>>;
  /** Recency cap in days (default 365). */
  readonly recencyCapDays?: number;
}

export interface ResolvedTrait {
  readonly name: string;
  readonly type: FieldType;
}

/** The options with every default applied, checked. */
export interface FeatureLayout {
  readonly asOfMs: number;
  readonly events: readonly string[];
  readonly windowsDays: readonly number[];
  readonly activeDaysWindows: readonly number[];
  readonly purchase: PurchaseSettings | null;
  readonly restrict: FeatureRestriction | null;
  readonly sessionGapMs: number;
  readonly depthProperty: string | null;
  readonly traits: readonly ResolvedTrait[];
  readonly oneHotTop: number;
  readonly categories: Readonly<Record<string, readonly string[]>>;
  readonly recencyCapDays: number;
  /** Paging: only users with from <= user_id < to (byte order; null: unbounded). */
  readonly userRange: { readonly from: string | null; readonly to: string | null } | null;
}

function invalid(path: string, message: string, expected: string): never {
  throw new StrataError('INPUT_INVALID', message, [{ path, message: expected }]);
}

function positiveDays(list: readonly number[], path: string): readonly number[] {
  if (list.length === 0) invalid(path, `${path} is empty`, 'expected at least one window in days');
  for (const w of list) if (!(Number.isSafeInteger(w) && w > 0)) invalid(path, `${path}: ${w} is not a positive whole number of days`, 'expected whole days such as 7, 28, 90');
  return [...new Set(list)].sort((a, b) => a - b);
}

/** The traits that become features: explicit ones (sensitive: an error), else every non-sensitive, non-pii trait. */
export function featureTraits(plan: TrackingPlan, explicit: readonly string[] | undefined): ResolvedTrait[] {
  if (explicit === undefined) {
    return Object.entries(plan.traits)
      .filter(([, spec]) => spec.sensitive !== true && spec.pii !== true)
      .map(([name, spec]) => ({ name, type: spec.type }));
  }
  return [...new Set(explicit)].map((name) => {
    const spec = Object.hasOwn(plan.traits, name) ? plan.traits[name]! : undefined;
    if (spec === undefined) invalid('traits', `trait "${name}" is not declared in the tracking plan`, 'expected a declared trait');
    if (spec.sensitive === true) {
      // Governance (issue 7): a sensitive trait never reaches a model, not even on request.
      invalid('traits', `trait "${name}" is sensitive: sensitive traits are never model features`, 'remove it from the feature traits');
    }
    return { name, type: spec.type };
  });
}

function checkDepthProperty(plan: TrackingPlan, name: string): void {
  const types = new Set(Object.values(plan.events).flatMap((e) => (Object.hasOwn(e.properties, name) ? [e.properties[name]!.type] : [])));
  if (types.size === 0) invalid('depthProperty', `no declared event has the property "${name}"`, 'expected a declared event property');
  if (types.has('timestamp')) invalid('depthProperty', `the depth property "${name}" is a timestamp`, 'expected a string, number or boolean property');
}

export function resolveFeatureOptions(plan: TrackingPlan, o: FeatureOptions): FeatureLayout {
  if (!Number.isSafeInteger(o.asOfMs)) invalid('asOfMs', `asOfMs must be whole epoch milliseconds, got ${o.asOfMs}`, 'expected an instant');
  const events = o.events === undefined ? Object.keys(plan.events).filter((e) => !isSystemEvent(e)) : [...new Set(o.events)];
  for (const e of events) if (!Object.hasOwn(plan.events, e)) invalid('events', `event "${e}" is not declared in the tracking plan`, 'expected declared events');
  const purchase = o.purchase ?? null;
  if (purchase !== null) checkPurchaseSettings(purchase, plan, 'purchase');
  const gap = o.sessionGapMs ?? plan.sessionGapMs;
  if (!(Number.isSafeInteger(gap) && gap > 0)) invalid('sessionGapMs', `the session gap must be a positive whole number of ms, got ${gap}`, 'expected a duration');
  if (o.depthProperty !== undefined) checkDepthProperty(plan, o.depthProperty);
  const top = o.oneHotTop ?? DEFAULT_ONE_HOT_TOP;
  if (!(Number.isSafeInteger(top) && top >= 0)) invalid('oneHotTop', `oneHotTop must be a whole number >= 0, got ${top}`, 'expected a count such as 10');
  const cap = o.recencyCapDays ?? DEFAULT_RECENCY_CAP_DAYS;
  if (!(Number.isFinite(cap) && cap > 0)) invalid('recencyCapDays', `recencyCapDays must be positive, got ${cap}`, 'expected days such as 365');
  return {
    asOfMs: o.asOfMs,
    events,
    windowsDays: positiveDays(o.windowsDays ?? DEFAULT_WINDOWS_DAYS, 'windowsDays'),
    activeDaysWindows: positiveDays(o.activeDaysWindows ?? DEFAULT_ACTIVE_DAYS_WINDOWS, 'activeDaysWindows'),
    purchase,
    restrict: o.restrict ?? null,
    sessionGapMs: gap,
    depthProperty: o.depthProperty ?? null,
    traits: featureTraits(plan, o.traits),
    oneHotTop: top,
    categories: o.categories ?? {},
    recencyCapDays: cap,
    userRange: null,
  };
}
