/**
 * `lifecycle report --private`: noisy users per stage, and per (group, stage) cell with
 * `--by`. Every user is in exactly one stage and one group (the report's SQL counts each
 * user once), so both queries are partitions of users: maxGroupsPerUser 1, maxRowsPerUser 1.
 *
 * Stages are the model's (public keys, zero counts released too). With `--by segment:KEY`
 * the groups member / non-member are known in advance (public); with `--by TRAIT` the
 * values come from the data, so a cell is shown only if it survives partition selection.
 * Shares are post-processing: a released count over the sum of the released counts of
 * its column, so they add up to 100% of what is shown.
 */
import { MEMBER_GROUP, NO_VALUE_GROUP, NON_MEMBER_GROUP, type BoundBreakdown } from '../../analysis/breakdown.js';
import type { LifecycleReport } from '../../analysis/lifecycle/index.js';
import { byteOrder } from '../../segments/registry/registry-sql.js';
import { SELECTION_NOTE, privacyNote, releaseParts, releasedGroup, releasedQuery, type PrivacyNote, type ReleasePart, type PrivateTarget, type SuppressionReason } from './private-release.js';
import type { CountQuery, DpGroupValue, NoisyQuery } from './release-types.js';

export interface PrivateStageCount {
  readonly stage: string;
  readonly name: string;
  /** Noisy users; null when suppressed (or not selected, for a trait's cell). */
  readonly users: number | null;
  /** users / the sum of the released counts of the column; null when users is. */
  readonly share: number | null;
  readonly suppressed: SuppressionReason | null;
}

export interface PrivateLifecycleGroup {
  readonly group: string;
  /** The sum of the group's released cells. */
  readonly population: number;
  readonly stages: readonly PrivateStageCount[];
}

export interface PrivateLifecycleReport {
  readonly asOf: string;
  readonly segment: string | null;
  /** The sum of the released stage counts (noisy; suppressed stages left out). */
  readonly population: number;
  readonly stages: readonly PrivateStageCount[];
  /** `keys`: whether the groups were known in advance (public) or selected from the data (private). */
  readonly by: { readonly label: string; readonly keys: 'public' | 'private'; readonly groups: readonly PrivateLifecycleGroup[] } | null;
  /** The half-width of the noise's 95% interval of one count: stages, and cells with --by. */
  readonly ci95: { readonly stages: number; readonly cells: number | null };
  readonly privacy: PrivacyNote;
}

export const STAGES_QUERY = 'users';

/** The key of a (group, stage) cell: unambiguous whatever a trait value holds. */
const cellKey = (group: string, stage: string) => JSON.stringify([group, stage]);
const cellLabel = (key: string) => {
  const [group, stage] = JSON.parse(key) as [string, string];
  return `${group} / ${stage}`;
};

/**
 * Release an exact report (lifecycleReport) with noise. `by` is the breakdown the report was made with.
 * @example await privateLifecycleReport(target, await lifecycleReport(store, config, { asOfMs }))
 */
export async function privateLifecycleReport(target: PrivateTarget, exact: LifecycleReport, by?: BoundBreakdown): Promise<PrivateLifecycleReport> {
  const stagesQuery: CountQuery = {
    kind: 'count',
    name: STAGES_QUERY,
    keys: 'public',
    maxGroupsPerUser: 1,
    maxRowsPerUser: 1,
    groups: exact.stages.map((s) => ({ key: s.stage, value: s.users })),
  };
  const cellsName = by && exact.by ? `users by ${exact.by.label}` : null;
  const keys: 'public' | 'private' = by?.kind === 'segment' ? 'public' : 'private';
  const what = `lifecycle report as of ${exact.asOf}${exact.segment ? ` among members of ${exact.segment}` : ''}`;
  // The cells are a release of their own: its first count query sizes (and selects) its groups.
  const parts: ReleasePart[] = [{ release: what, queries: [stagesQuery] }];
  if (cellsName) {
    parts.push({ release: `${what} ${cellsName}`, queries: [{ kind: 'count', name: cellsName, keys, maxGroupsPerUser: 1, maxRowsPerUser: 1, groups: cellValues(exact, keys) }] });
  }
  const results = await releaseParts(target, parts);
  const noisyStages = releasedQuery(results[0]!, STAGES_QUERY);
  const stages = column(exact.stages, (stage) => releasedGroup(noisyStages, stage));
  let byOut: PrivateLifecycleReport['by'] = null;
  let cellsCi: number | null = null;
  if (cellsName && exact.by) {
    const cells = releasedQuery(results[1]!, cellsName);
    cellsCi = cells.ci95;
    byOut = { label: exact.by.label, keys, groups: releasedGroups(exact, cells, keys) };
  }
  const label = (query: string, key: string) => (query === STAGES_QUERY ? key : cellLabel(key));
  return {
    asOf: exact.asOf,
    segment: exact.segment,
    population: sumReleased(stages),
    stages,
    by: byOut,
    ci95: { stages: noisyStages.ci95, cells: cellsCi },
    privacy: privacyNote(target, results, label, cellsName && keys === 'private' ? [SELECTION_NOTE] : []),
  };
}

/** Every (group, stage) cell for public groups (zeros included); the cells holding users for private ones. */
function cellValues(exact: LifecycleReport, keys: 'public' | 'private'): DpGroupValue[] {
  const present = exact.by!.groups;
  // Trait values in byte order: the report's order (by exact users) must not reach the release.
  const groups = keys === 'public' ? [MEMBER_GROUP, NON_MEMBER_GROUP] : present.map((g) => g.group).sort(byteOrder);
  return groups.flatMap((group) => {
    const g = present.find((x) => x.group === group);
    return exact.stages
      .map((s) => ({ key: cellKey(group, s.stage), value: g?.stages.find((x) => x.stage === s.stage)?.users ?? 0 }))
      .filter((c) => keys === 'public' || c.value > 0);
  });
}

/** Groups with at least one selected cell (public groups always), in a data-independent order or by released size. */
function releasedGroups(exact: LifecycleReport, cells: NoisyQuery, keys: 'public' | 'private'): PrivateLifecycleGroup[] {
  const names = keys === 'public' ? [MEMBER_GROUP, NON_MEMBER_GROUP] : [...new Set(cells.groups.map((g) => (JSON.parse(g.key) as [string, string])[0]))];
  const groups = names.map((group) => {
    const stages = column(exact.stages, (stage) => releasedGroup(cells, cellKey(group, stage)));
    return { group, population: sumReleased(stages), stages };
  });
  if (keys === 'private') {
    // Ordered by released numbers only: the exact sizes must not show through the order.
    const none = NO_VALUE_GROUP;
    groups.sort((a, b) => (a.group === none ? 1 : 0) - (b.group === none ? 1 : 0) || b.population - a.population || byteOrder(a.group, b.group));
  }
  return groups;
}

/** One column of stage counts with shares of what the column releases. */
function column(stages: LifecycleReport['stages'], find: (stage: string) => { value: number | null; suppressed: SuppressionReason | null } | undefined): PrivateStageCount[] {
  const values = stages.map((s) => {
    const g = find(s.stage);
    return { stage: s.stage, name: s.name, users: g?.value ?? null, suppressed: g ? g.suppressed : ('partition_selection' as const) };
  });
  const total = values.reduce((a, v) => a + Math.max(0, v.users ?? 0), 0);
  return values.map((v) => ({ ...v, share: v.users === null ? null : total > 0 ? Math.max(0, v.users) / total : 0 }));
}

function sumReleased(stages: readonly PrivateStageCount[]): number {
  return stages.reduce((a, s) => a + (s.users ?? 0), 0);
}
