/**
 * Breakdowns and restrictions shared by every analysis (lifecycle, funnels, retention,
 * RFM, moments): `--by NAME` splits users by a trait's value or by membership of a
 * segment, and `--segment KEY` restricts an analysis to a segment's members.
 *
 * NAME is `trait:T`, `segment:KEY`, or a bare name: a trait of the plan when one has that
 * name, else a stored segment; a name that is both must be prefixed. Segment membership
 * is the segment's snapshot at the analysis's asOf (computed when missing), so a
 * breakdown by segment always means "member as of the same instant".
 *
 * The SQL is per user (users with no profile row or no membership fall into the default
 * group) and written for every dialect the store has (registry-sql.ts lists the limits:
 * one JOIN per SELECT, equal-key joins, no CTEs required). Run the queries with
 * `store.queryByUser`, so on a cluster each shard joins its own users' rows.
 */
import { StrataError } from '../errors/errors.js';
import type { FieldType, TrackingPlan } from '../schema/tracking-plan.js';
import type { SqlDialect } from '../segments/compile/dialect.js';
import type { SegmentRegistry } from '../segments/registry/index.js';
import { TABLES, traitColumn } from '../store/schema.js';

export type Breakdown =
  | { readonly kind: 'trait'; readonly trait: string; readonly type: 'string' | 'boolean' }
  | { readonly kind: 'segment'; readonly key: string };

/** A breakdown bound to an instant: what the SQL needs. */
export type BoundBreakdown =
  | { readonly kind: 'trait'; readonly trait: string; readonly type: 'string' | 'boolean'; readonly label: string }
  | { readonly kind: 'segment'; readonly key: string; readonly snapshotId: number; readonly label: string };

/** The group of users a breakdown cannot place: no value of the trait, or not a member. */
export const NO_VALUE_GROUP = '(none)';
export const MEMBER_GROUP = 'member';
export const NON_MEMBER_GROUP = 'non-member';

/**
 * Resolve `--by NAME` (see the header). `segmentKeys` are the stored segment keys.
 * @example resolveBreakdown('plan', plan, ['power-users']) // { kind: 'trait', trait: 'plan', type: 'string' }
 */
export function resolveBreakdown(spec: string, plan: TrackingPlan, segmentKeys: readonly string[], option = '--by'): Breakdown {
  const colon = spec.indexOf(':');
  const prefix = colon > 0 ? spec.slice(0, colon) : null;
  if (prefix === 'trait') return traitBreakdown(spec.slice(colon + 1), plan, option);
  if (prefix === 'segment') return segmentBreakdown(spec.slice(colon + 1), segmentKeys, option);
  const isTrait = Object.hasOwn(plan.traits, spec);
  const isSegment = segmentKeys.includes(spec);
  if (isTrait && isSegment) {
    throw new StrataError('INPUT_INVALID', `${option} ${spec}: both a trait and a segment have that name`, [
      { path: option, message: `write trait:${spec} or segment:${spec}` },
    ]);
  }
  if (isTrait) return traitBreakdown(spec, plan, option);
  if (isSegment) return { kind: 'segment', key: spec };
  throw new StrataError('INPUT_INVALID', `${option} ${spec}: no trait in the tracking plan and no stored segment has that name`, [
    {
      path: option,
      message: `expected a string or boolean trait (${categoricalTraitNames(plan).join(', ') || 'none declared'}) or a segment key (${segmentKeys.join(', ') || 'none stored'})`,
    },
  ]);
}

/** Bind a breakdown to asOf: a segment's snapshot at that instant (computed when missing). */
export async function bindBreakdown(breakdown: Breakdown, registry: SegmentRegistry, asOfMs: number): Promise<BoundBreakdown> {
  if (breakdown.kind === 'trait') return { ...breakdown, label: `trait ${breakdown.trait}` };
  const snapshot = await registry.snapshot(breakdown.key, { asOfMs });
  return { kind: 'segment', key: breakdown.key, snapshotId: snapshot.snapshotId, label: `segment ${breakdown.key}` };
}

/**
 * A subquery `(user_id, grp)` holding only the users the breakdown places in a group of
 * their own; LEFT JOIN it on user_id and take `coalesce(g.grp, defaultGroup(b))`.
 * Booleans read as the strings `true` and `false`.
 */
export function breakdownRelation(d: SqlDialect, b: BoundBreakdown): string {
  if (b.kind === 'segment') {
    return `(SELECT user_id, ${d.stringLiteral(MEMBER_GROUP)} AS grp FROM ${d.table(TABLES.snapshotMembers)} WHERE snapshot_id = ${d.numberLiteral(b.snapshotId)})`;
  }
  const column = d.quoteIdentifier(traitColumn(b.trait));
  const value = b.type === 'boolean' ? `CASE WHEN ${column} THEN ${d.stringLiteral('true')} ELSE ${d.stringLiteral('false')} END` : column;
  return `(SELECT user_id, ${value} AS grp FROM ${d.table(TABLES.profiles)} WHERE ${column} IS NOT NULL)`;
}

/** The group of users absent from `breakdownRelation`. */
export function defaultGroup(b: BoundBreakdown | Breakdown): string {
  return b.kind === 'segment' ? NON_MEMBER_GROUP : NO_VALUE_GROUP;
}

/**
 * A predicate on `userIdExpr` restricting to a snapshot's members (`--segment KEY`).
 * Per user: on a cluster each shard sees its own members.
 */
export function memberFilter(d: SqlDialect, snapshotId: number, userIdExpr = 'user_id'): string {
  return `${userIdExpr} IN (SELECT user_id FROM ${d.table(TABLES.snapshotMembers)} WHERE snapshot_id = ${d.numberLiteral(snapshotId)})`;
}

function traitBreakdown(name: string, plan: TrackingPlan, option: string): Breakdown {
  const type: FieldType | undefined = Object.hasOwn(plan.traits, name) ? plan.traits[name]!.type : undefined;
  if (type === undefined) {
    throw new StrataError('INPUT_INVALID', `${option} trait:${name}: the tracking plan declares no such trait`, [
      { path: option, message: `expected one of ${categoricalTraitNames(plan).join(', ') || '(no string or boolean traits declared)'}` },
    ]);
  }
  if (type !== 'string' && type !== 'boolean') {
    throw new StrataError('INPUT_INVALID', `${option} trait:${name}: the trait is a ${type}; a breakdown needs a string or boolean trait`, [
      { path: option, message: `expected one of ${categoricalTraitNames(plan).join(', ') || '(no string or boolean traits declared)'}, or a segment that bands ${name}` },
    ]);
  }
  return { kind: 'trait', trait: name, type };
}

function segmentBreakdown(key: string, segmentKeys: readonly string[], option: string): Breakdown {
  if (!segmentKeys.includes(key)) {
    throw new StrataError('SEGMENT_NOT_FOUND', `${option} segment:${key}: no stored segment has that key`, [
      { path: option, message: `expected one of ${segmentKeys.join(', ') || '(no segments stored: strata segment add FILE...)'}` },
    ]);
  }
  return { kind: 'segment', key };
}

function categoricalTraitNames(plan: TrackingPlan): string[] {
  return Object.entries(plan.traits)
    .filter(([, t]) => t.type === 'string' || t.type === 'boolean')
    .map(([n]) => n)
    .sort();
}
