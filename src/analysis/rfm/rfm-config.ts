/**
 * The `rfm:` section of strata.yaml: what a purchase is and what it is worth (also read by
 * the segment report, as `config.rfm.purchase`), and how RFM scores are cut.
 *
 * ```yaml
 * rfm:
 *   event: purchase            # the purchase event
 *   value: UnitPrice           # a number property: the amount, or the unit price
 *   quantity: Quantity         # optional number property, multiplied with value
 *   where:                     # optional property predicates (segment language), ANDed
 *     - { property: Quantity, gt: 0 }
 *   scores: 5                  # 4 or 5 score levels (default 5)
 *   quantile_method: linear    # numpy's linear (default), lower, higher, nearest, midpoint
 *   map:                       # optional: your own names for the R x F cells
 *     - { name: Best, r: [4, 5], f: [4, 5] }
 *     ...
 * ```
 */
import type { PropertyPredicate } from '../../segments/ir/nodes.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { ConditionChecker } from '../../segments/language/condition-checker.js';
import { closest, quote, show } from '../../segments/language/messages.js';
import { QUANTILE_METHODS, type QuantileMethod } from './quantiles.js';
import { parseRfmMap, type RfmMapEntry } from './rfm-map.js';

/** What a purchase is and what it is worth: RFM, and revenue and conversion in segment reports. */
export interface PurchaseSettings {
  /** The purchase event. */
  readonly event: string;
  /** A number property holding the value (price or amount); null: purchases have no value. */
  readonly value: string | null;
  /** A number property multiplied with value (quantity x unit price); null: value alone. */
  readonly quantity: string | null;
  /** Property predicates (AND) a purchase must satisfy. */
  readonly where: readonly PropertyPredicate[];
}

export const SCORE_LEVELS = [4, 5] as const;
export type ScoreLevels = (typeof SCORE_LEVELS)[number];

export interface RfmConfig {
  /** null when strata.yaml has no `rfm:` section. */
  readonly purchase: PurchaseSettings | null;
  /** Score levels: 1..scores (`rfm.scores`, default 5). */
  readonly scores: ScoreLevels;
  /** How cut points are interpolated (`rfm.quantile_method`, default linear). */
  readonly quantileMethod: QuantileMethod;
  /** Named R x F cells (`rfm.map`) for `scores` levels; null: the default map. */
  readonly map: readonly RfmMapEntry[] | null;
}

const KEYS = ['event', 'value', 'quantity', 'where', 'scores', 'quantile_method', 'map'];

export const DEFAULT_RFM_CONFIG: RfmConfig = { purchase: null, scores: 5, quantileMethod: 'linear', map: null };

/**
 * The `rfm:` section, checked against the plan. Problems go to `err` with the JSON path of
 * the setting (`rfm.value`), which config.ts maps to a strata.yaml line.
 */
export function parseRfmSection(value: unknown, plan: TrackingPlan, err: (jsonPath: string, message: string) => void): RfmConfig {
  if (value === undefined || value === null) return DEFAULT_RFM_CONFIG;
  if (typeof value !== 'object' || Array.isArray(value)) {
    err('rfm', 'expected a mapping with event, value and optionally quantity, where, scores, quantile_method, map');
    return DEFAULT_RFM_CONFIG;
  }
  const doc = value as Record<string, unknown>;
  for (const key of Object.keys(doc)) {
    if (!KEYS.includes(key)) {
      const near = closest(key, KEYS);
      err(`rfm.${key}`, `unknown key${near ? ` (did you mean ${near}?)` : ''}; expected one of ${KEYS.join(', ')}`);
    }
  }

  const scores = scoreLevels(doc.scores, err);
  const quantileMethod = quantileMethodSetting(doc.quantile_method, err);
  const map = doc.map === undefined || doc.map === null ? null : parseRfmMap(doc.map, scores, 'rfm.map', err);
  return { purchase: purchaseSettings(doc, plan, err), scores, quantileMethod, map: map ?? null };
}

function purchaseSettings(doc: Record<string, unknown>, plan: TrackingPlan, err: (jsonPath: string, message: string) => void): PurchaseSettings | null {
  const events = Object.keys(plan.events);
  const event = doc.event;
  if (typeof event !== 'string' || !Object.hasOwn(plan.events, event)) {
    const near = typeof event === 'string' ? closest(event, events) : undefined;
    err(
      'rfm.event',
      `expected the purchase event, one of the tracking plan's events (${events.map(quote).join(', ') || 'none declared'}), got ${show(event)}${near ? ` (did you mean ${quote(near)}?)` : ''}`,
    );
    return null;
  }
  if (doc.value === undefined) err('rfm.value', `required: a number property of ${event} holding the amount (or unit price)`);
  const valueProperty = doc.value === undefined ? undefined : numberProperty(doc.value, event, plan, 'rfm.value', err);
  const quantity = doc.quantity === undefined || doc.quantity === null ? null : numberProperty(doc.quantity, event, plan, 'rfm.quantity', err);
  const where = purchaseWhere(doc.where, event, plan, err);
  if (valueProperty === undefined || quantity === undefined || where === undefined) return null;
  return { event, value: valueProperty, quantity, where };
}

function numberProperty(value: unknown, event: string, plan: TrackingPlan, at: string, err: (jsonPath: string, message: string) => void): string | undefined {
  const properties = plan.events[event]!.properties;
  const numbers = Object.keys(properties).filter((p) => properties[p]!.type === 'number');
  if (typeof value === 'string' && Object.hasOwn(properties, value) && properties[value]!.type === 'number') return value;
  const declared = typeof value === 'string' && Object.hasOwn(properties, value) ? ` (${quote(value)} is a ${properties[value]!.type})` : '';
  const near = typeof value === 'string' && declared === '' ? closest(value, numbers) : undefined;
  err(
    at,
    `expected a number property of ${event}${declared}${near ? ` (did you mean ${quote(near)}?)` : ''}; its number properties: ${numbers.map(quote).join(', ') || 'none'}; got ${show(value)}`,
  );
  return undefined;
}

/**
 * `where` is checked exactly as a `did` condition's where list would be (same operators,
 * literal types, exact paths such as `rfm.where[1].gt`).
 */
function purchaseWhere(value: unknown, event: string, plan: TrackingPlan, err: (jsonPath: string, message: string) => void): PropertyPredicate[] | undefined {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    err('rfm.where', `expected a list of property predicates such as [{property: amount, gt: 0}], got ${show(value)}`);
    return undefined;
  }
  const checker = new ConditionChecker(plan);
  const checked = checker.check({ did: event, where: value }, 'rfm');
  for (const e of checker.errors) err(e.path ?? 'rfm.where', e.message);
  if (checker.errors.length > 0 || checked === undefined || checked.kind !== 'eventCount') return undefined;
  return [...checked.filter.where];
}

function scoreLevels(value: unknown, err: (jsonPath: string, message: string) => void): ScoreLevels {
  if (value === undefined || value === null) return 5;
  if (value === 4 || value === 5) return value;
  err('rfm.scores', `expected 4 or 5 (score levels: quartiles or quintiles), got ${show(value)}`);
  return 5;
}

function quantileMethodSetting(value: unknown, err: (jsonPath: string, message: string) => void): QuantileMethod {
  if (value === undefined || value === null) return 'linear';
  if (typeof value === 'string' && (QUANTILE_METHODS as readonly string[]).includes(value)) return value as QuantileMethod;
  err('rfm.quantile_method', `expected one of ${QUANTILE_METHODS.join(', ')} (numpy's methods; linear is the default of numpy and pandas), got ${show(value)}`);
  return 'linear';
}
