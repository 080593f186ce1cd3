/**
 * Ready-made segments from the RFM map: each named cell becomes a segment-language
 * definition with the cut points frozen as of the RFM table's asOf, so that at that asOf
 * its members are exactly the users the table puts in the cell, and later it moves only as
 * users' own purchases do.
 *
 * Recency scores become `lastSeen` bounds on the purchase event (with its where). Recency
 * in days is r = floor(L / 1d) + 1 for L = asOf - last purchase, so for a cut point c
 *   r <= c  <=>  r <= floor(c)  <=>  L < floor(c) days,   and   r > c  <=>  L >= floor(c) days.
 * Recency bands are reversed (R = levels is the most recent band): R score s is band
 * b = levels + 1 - s, i.e. c[b-1] < r <= c[b], so L >= floor(c[b-1]) d and L < floor(c[b]) d.
 * Frequency scores become `did` count bounds: c[s-1] < count <= c[s], i.e. count >=
 * floor(c[s-1]) + 1 and count <= floor(c[s]) (and always at least 1 purchase). A band that
 * tied cut points leave empty gives no condition; a name whose cells are all empty gets no
 * segment (it is listed as skipped). `--within D` counts purchases within D and requires
 * the last one to be less than D ago; `--segment KEY` adds `{segment: KEY}`.
 */
import { LIBRARY_ACTOR } from '../../governance/audit-log.js';
import { StrataError } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { Literal, PropertyPredicate } from '../../segments/ir/nodes.js';
import { SEGMENT_KEY_PATTERN, validateSegment, type SegmentDefinition } from '../../segments/language/index.js';
import { formatDuration, formatInstant } from '../../time/time.js';
import { resolveRfmSettings, type RfmOptions, type RfmResult } from './compute-rfm.js';
import type { RfmConfig } from './rfm-config.js';
import { mapNames, mapObjective, nameRectangles, nameSlug, type RfmMapEntry } from './rfm-map.js';
import { DAY_MS } from './rfm-sql.js';

export const DEFAULT_RFM_PREFIX = 'rfm-';

export interface GeneratedRfmSegment {
  readonly name: string;
  readonly definition: SegmentDefinition;
  /** Users in the cell as of the RFM table's asOf: the segment's size then. */
  readonly users: number;
}

export interface RfmSegmentsResult {
  readonly asOf: string;
  readonly scores: number;
  readonly method: string;
  readonly cuts: { readonly recency: readonly number[]; readonly frequency: readonly number[] };
  readonly segments: readonly GeneratedRfmSegment[];
  /** Names whose cells the cut points leave empty (ties), so no condition can describe them. */
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
}

type Doc = Record<string, unknown>;

/**
 * One definition per name of the map, frozen with `result`'s cut points (a result
 * computed with the same config and options). Each is validated against the plan.
 */
export function rfmSegmentDefinitions(
  config: RfmConfig,
  options: RfmOptions,
  result: RfmResult,
  plan: TrackingPlan,
  prefix: string = DEFAULT_RFM_PREFIX,
  /** Who is accountable for the generated segments (segments require an owner): the CLI passes the actor. */
  owner: string = LIBRARY_ACTOR,
): RfmSegmentsResult {
  const settings = resolveRfmSettings(config, options);
  if (result.users === 0) {
    throw new StrataError('INPUT_INVALID', `no user has a qualifying ${result.event} before ${result.asOf}: there are no cut points to freeze`, [
      { path: '--as-of', message: 'choose an instant after some purchases, or check rfm.where' },
    ]);
  }
  const purchase = settings.scope.purchase;
  const where = purchase.where.map(predicateDocument);
  const filter: Doc = where.length > 0 ? { where } : {};
  const k = settings.levels;
  const rCuts = result.recency.cuts;
  const fCuts = result.frequency.cuts;

  const rectangle = (rect: RfmMapEntry): Doc[] | null => {
    // Raw recency bands (1 = most recent) from the reversed R scores.
    const low = k + 1 - rect.r[1];
    const high = k + 1 - rect.r[0];
    const atLeastDays = low > 1 ? Math.floor(rCuts[low - 2]!) : null;
    let underMs = high < k ? Math.floor(rCuts[high - 1]!) * DAY_MS : null;
    if (settings.scope.withinMs !== null && (underMs === null || settings.scope.withinMs < underMs)) underMs = settings.scope.withinMs;
    if (underMs !== null && (underMs <= 0 || (atLeastDays !== null && atLeastDays * DAY_MS >= underMs))) return null;
    const countMin = rect.f[0] > 1 ? Math.floor(fCuts[rect.f[0] - 2]!) + 1 : 1;
    const countMax = rect.f[1] < k ? Math.floor(fCuts[rect.f[1] - 1]!) : null;
    if (countMax !== null && countMax < countMin) return null;

    const conditions: Doc[] = [];
    if (atLeastDays !== null) conditions.push({ lastSeen: { gte: `${atLeastDays}d` }, on: purchase.event, ...filter });
    if (underMs !== null) conditions.push({ lastSeen: { lt: formatDuration(underMs) }, on: purchase.event, ...filter });
    const count = countMax === null ? { gte: countMin } : countMax === countMin ? { eq: countMin } : { between: [countMin, countMax] };
    conditions.push({
      did: purchase.event,
      ...filter,
      count,
      ...(settings.scope.withinMs !== null ? { within: formatDuration(settings.scope.withinMs) } : {}),
    });
    return conditions;
  };

  const segments: GeneratedRfmSegment[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const name of mapNames(settings.map)) {
    const rectangles = nameRectangles(settings.grid, name)
      .map(rectangle)
      .filter((c): c is Doc[] => c !== null)
      .map((conditions) => (conditions.length === 1 ? conditions[0]! : { all: conditions }));
    if (rectangles.length === 0) {
      skipped.push({ name, reason: 'tied cut points leave its cells empty: no user can be in it as of this asOf' });
      continue;
    }
    let match: Doc = rectangles.length === 1 ? rectangles[0]! : { any: rectangles };
    if (settings.segmentKey !== null) match = { all: [{ segment: settings.segmentKey }, match] };
    const key = `${prefix}${nameSlug(name)}`;
    if (!new RegExp(SEGMENT_KEY_PATTERN).test(key)) {
      throw new StrataError('INPUT_INVALID', `--prefix ${JSON.stringify(prefix)} gives the segment key ${JSON.stringify(key)}, which is not a valid key`, [
        { path: '--prefix', message: 'expected lower case letters, digits and hyphens, starting with a letter or digit (keys are at most 63 characters)' },
      ]);
    }
    const raw = {
      key,
      name: `RFM: ${name}`,
      objective: mapObjective(name),
      rationale: rationale(name, result, settings.segmentKey),
      owner,
      tags: ['rfm'],
      match,
    };
    segments.push({ name, definition: validateSegment(raw, plan), users: result.segments.find((s) => s.name === name)?.users ?? 0 });
  }
  return { asOf: result.asOf, scores: k, method: result.method, cuts: { recency: rCuts, frequency: fCuts }, segments, skipped };
}

function rationale(name: string, result: RfmResult, segmentKey: string | null): string {
  const summary = result.segments.find((s) => s.name === name);
  const cells = summary ? summary.cells.map((c) => `R${c.r}F${c.f}`).join(' ') : '';
  const cuts = (xs: readonly number[]) => xs.map(formatCutPoint).join(', ');
  return (
    `RFM map cell "${name}" (${cells}; R and F scores 1-${result.scores}, ${result.method} quantiles), with the cut points of the ` +
    `${result.users} users who made a qualifying ${result.event}${result.within ? ` within ${result.within}` : ''}${segmentKey ? ` among members of ${segmentKey}` : ''} ` +
    `as of ${result.asOf} frozen: recency in days counting the asOf day ${cuts(result.recency.cuts)} (lower is more recent, so R ${result.scores} is the first band); ` +
    `frequency in purchases ${cuts(result.frequency.cuts)}. At that asOf its members are exactly the users in the cell (${summary?.users ?? 0}); ` +
    'later, membership moves only as users purchase, not as the quantiles drift. Regenerate with strata rfm segments --add to move the cut points.'
  );
}

/**
 * A cut point for people: at most 6 decimals, trailing zeros dropped (interpolation leaves
 * float noise such as 56.60000000000002). Only for text; the frozen bounds use the exact value.
 * @example formatCutPoint(56.60000000000002) // '56.6'
 */
export function formatCutPoint(x: number): string {
  const rounded = Number(x.toFixed(6));
  // A value too small for 6 decimals keeps 6 significant digits rather than reading as 0.
  return String(rounded === 0 && x !== 0 ? Number(x.toPrecision(6)) : rounded);
}

/** A property predicate of the IR written back in the segment language. */
export function predicateDocument(p: PropertyPredicate): Doc {
  const cmp = p.cmp;
  switch (cmp.op) {
    case 'in':
    case 'notIn':
      return { property: p.property, [cmp.op]: cmp.values.map(literalDocument) };
    case 'between':
      return { property: p.property, between: [literalDocument(cmp.lo), literalDocument(cmp.hi)] };
    case 'exists':
      return { property: p.property, exists: cmp.value };
    default:
      return { property: p.property, [cmp.op]: literalDocument(cmp.value) };
  }
}

function literalDocument(l: Literal): string | number | boolean {
  switch (l.kind) {
    case 'string':
    case 'number':
    case 'boolean':
      return l.value;
    case 'timestamp':
      return formatInstant(l.epochMs);
    case 'relativeTime':
      return `${l.offsetMs < 0 ? '-' : '+'}${formatDuration(Math.abs(l.offsetMs))}`;
    case 'duration':
      return formatDuration(l.ms);
  }
}
