/**
 * The counts a fairness audit reads from the store: per group of a sensitive trait, the
 * users of the population as of T and how many of them a segment's snapshot at T holds;
 * and, for models, each scored user's group. Per user (`store.queryByUser`): on a cluster
 * each shard counts its own users and the parts are summed here. SQL for every dialect
 * (registry-sql.ts lists the limits: one JOIN per SELECT, joins on user_id, `count()`).
 */
import { breakdownRelation, type BoundBreakdown } from '../../analysis/breakdown.js';
import type { SqlDialect } from '../../segments/compile/dialect.js';
import { populationWithMembers, sumByKey } from '../../segments/registry/registry-sql.js';
import type { EventStore } from '../../store/event-store.js';
import { MISSING_GROUP, type GroupCount } from './fairness-stats.js';

export interface SensitiveTrait {
  readonly trait: string;
  readonly type: 'string' | 'boolean';
}

function traitBinding(t: SensitiveTrait): BoundBreakdown {
  return { kind: 'trait', trait: t.trait, type: t.type, label: `trait ${t.trait}` };
}

/** `SELECT grp, n, selected`: the population at asOf by the trait's value, with the snapshot's members counted. */
export function segmentGroupSql(d: SqlDialect, snapshotId: number, asOfMs: number, trait: SensitiveTrait): string {
  const join = d.userJoin('left', 'pm', 'g');
  return `SELECT grp, count() AS n, sum(member) AS selected FROM (
  SELECT coalesce(g.grp, ${d.stringLiteral(MISSING_GROUP)}) AS grp, pm.member AS member
  FROM ${populationWithMembers(d, snapshotId, asOfMs)} pm
  ${join.keyword} ${breakdownRelation(d, traitBinding(trait))} g ${join.condition}
) fa_rows
GROUP BY grp`;
}

/** Users and selected users per group of `trait` for a segment snapshot at asOf. */
export async function segmentGroupCounts(store: EventStore, snapshotId: number, asOfMs: number, trait: SensitiveTrait): Promise<GroupCount[]> {
  const rows = await store.queryByUser((d) => segmentGroupSql(d, snapshotId, asOfMs, trait));
  const n = sumByKey(rows, (r) => String(r.grp), 'n');
  const selected = sumByKey(rows, (r) => String(r.grp), 'selected');
  return [...n].map(([group, population]) => ({ group, population, selected: selected.get(group) ?? 0 }));
}

/** Each user's value of the trait (users without one are absent): to group a model's scored users. */
export async function traitValues(store: EventStore, trait: SensitiveTrait): Promise<Map<string, string>> {
  const rows = await store.queryByUser((d) => `SELECT user_id, grp FROM ${breakdownRelation(d, traitBinding(trait))} g`);
  const out = new Map<string, string>();
  for (const r of rows) out.set(String(r.user_id), String(r.grp));
  return out;
}
