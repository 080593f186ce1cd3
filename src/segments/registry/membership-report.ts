/**
 * What distinguishes a segment's members from the rest of the population: the SQL that
 * counts (one set-based query per kind of feature, whatever the number of traits or
 * events) and the pure functions that turn counts into shares, lifts and a ranking.
 *
 * Ranking rule, so tiny groups cannot dominate:
 * - a yes/no feature (a categorical trait value, "did E before asOf", "did E in the last
 *   N days") is reported only when at least `minSupport` users of the population have it
 *   (default: max(5, 1% of the population));
 * - features are ranked by |shareMembers - shareRest|, a difference in shares: a rare
 *   feature has small shares on both sides, so it cannot rank high on a large lift alone;
 * - numeric traits are ranked by |standardized mean difference| (Cohen's d with the pooled
 *   sample standard deviation), computed when each side has at least two values.
 * Sensitive traits are left out (they are for audits only), as are pii traits (identifiers,
 * not descriptions) and timestamp traits.
 */
import type { SqlDialect } from '../compile/dialect.js';
import type { FieldSpec, TrackingPlan } from '../../schema/tracking-plan.js';
import { TABLES, traitColumn } from '../../store/schema.js';
import { MS } from '../../time/time.js';
import { populationWithMembers, toNullableNumber, toNumber, withRelation } from './registry-sql.js';
import type { BinaryFeature, NumericFeature } from './registry-types.js';
import type { Row } from '../../store/event-store.js';

export interface ReportQueryContext {
  readonly dialect: SqlDialect;
  readonly snapshotId: number;
  readonly asOfMs: number;
}

export function defaultMinSupport(population: number): number {
  return Math.max(5, Math.ceil(population * 0.01));
}

function describable(spec: FieldSpec): boolean {
  return !spec.sensitive && !spec.pii;
}

export function categoricalTraits(plan: TrackingPlan): { name: string; type: 'string' | 'boolean' }[] {
  return Object.entries(plan.traits)
    .filter(([, spec]) => describable(spec) && (spec.type === 'string' || spec.type === 'boolean'))
    .map(([name, spec]) => ({ name, type: spec.type as 'string' | 'boolean' }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function numericTraits(plan: TrackingPlan): string[] {
  return Object.entries(plan.traits)
    .filter(([, spec]) => describable(spec) && spec.type === 'number')
    .map(([name]) => name)
    .sort();
}

/** The profile columns of the given traits as c0, c1, ... (per user, read where the user's rows are). */
function profileColumns(d: SqlDialect, traits: readonly string[]): string {
  return `(SELECT user_id${traits.map((name, i) => `, ${d.quoteIdentifier(traitColumn(name))} AS c${i}`).join('')} FROM ${d.table(TABLES.profiles)} p)`;
}

/**
 * Population, size, and per numeric trait: count, mean and sample variance among members
 * (member = 1) and the rest (member = 0). One row per part (shard); numeric trait i has
 * columns n1_i, mean1_i, var1_i, n0_i, mean0_i, var0_i (`mergeNumericParts` combines parts).
 */
export function numericSql(ctx: ReportQueryContext, traits: readonly string[]): string {
  const d = ctx.dialect;
  const cols = traits.flatMap((_, i) =>
    [1, 0].flatMap((side) => {
      const v = `CASE WHEN member = ${side} THEN c${i} END`;
      return [`count(${v}) AS n${side}_${i}`, `avg(${v}) AS mean${side}_${i}`, `var_samp(${v}) AS var${side}_${i}`];
    }),
  );
  const pop = populationWithMembers(d, ctx.snapshotId, ctx.asOfMs);
  const from = traits.length === 0 ? `${pop} pop` : `${pop} pop LEFT JOIN ${profileColumns(d, traits)} pr USING (user_id)`;
  return `SELECT count() AS population, coalesce(sum(member), 0) AS size${cols.length > 0 ? ',\n  ' + cols.join(',\n  ') : ''}
FROM ${from}`;
}

/**
 * One row of `numericSql` from the rows of its parts: counts add up; means and sample
 * variances combine exactly (Chan et al.'s pairwise update of the sums of squared
 * deviations). One part is returned as it is.
 */
export function mergeNumericParts(rows: readonly Row[], traits: readonly string[]): Row {
  if (rows.length === 1) return rows[0]!;
  const out: Row = {
    population: rows.reduce((s, r) => s + toNumber(r.population), 0),
    size: rows.reduce((s, r) => s + toNumber(r.size), 0),
  };
  traits.forEach((_, i) => {
    for (const side of [1, 0]) {
      let n = 0;
      let mean = 0;
      let m2 = 0;
      for (const r of rows) {
        const nb = toNumber(r[`n${side}_${i}`]);
        if (nb === 0) continue;
        const meanB = toNullableNumber(r[`mean${side}_${i}`]) ?? 0;
        const m2B = nb >= 2 ? (toNullableNumber(r[`var${side}_${i}`]) ?? 0) * (nb - 1) : 0;
        const delta = meanB - mean;
        const total = n + nb;
        mean += (delta * nb) / total;
        m2 += m2B + (delta * delta * n * nb) / total;
        n = total;
      }
      out[`n${side}_${i}`] = n;
      out[`mean${side}_${i}`] = n > 0 ? mean : null;
      out[`var${side}_${i}`] = n >= 2 ? m2 / (n - 1) : null;
    }
  });
  return out;
}

/** A categorical trait value as text: the string itself, or `true` / `false`. */
function valueText(column: string, type: 'string' | 'boolean'): string {
  return type === 'boolean' ? `CASE WHEN ${column} THEN 'true' ELSE 'false' END` : column;
}

/**
 * For every categorical trait value held by at least `threshold` users of the population
 * (of the part the query runs on): (feature index, value as text, users with it, members
 * with it). `only` restricts each feature to the given values. One UNION ALL over a shared
 * join of the population with the profiles.
 */
export function categoricalSql(
  ctx: ReportQueryContext,
  traits: readonly { name: string; type: 'string' | 'boolean' }[],
  threshold: number,
  only?: ReadonlyMap<number, readonly string[]>,
): string | null {
  const d = ctx.dialect;
  const features = traits.map((t, i) => ({ ...t, i })).filter((t) => only === undefined || (only.get(t.i)?.length ?? 0) > 0);
  if (features.length === 0) return null;
  const pp = `(SELECT member${traits.map((_, i) => `, c${i}`).join('')}
  FROM ${populationWithMembers(d, ctx.snapshotId, ctx.asOfMs)} pop
  JOIN ${profileColumns(
    d,
    traits.map((t) => t.name),
  )} pr USING (user_id))`;
  return withRelation(d, 'pp', pp, (from) =>
    features
      .map(({ i, type }) => {
        const text = valueText(`c${i}`, type);
        const restrict = only === undefined ? '' : ` AND ${text} IN (${only.get(i)!.map((v) => d.stringLiteral(v)).join(', ')})`;
        return `SELECT ${i} AS feature, ${text} AS value, count() AS n, sum(member) AS m FROM ${from} WHERE c${i} IS NOT NULL${restrict} GROUP BY c${i} HAVING count() >= ${d.numberLiteral(threshold)}`;
      })
      .join('\nUNION ALL\n'),
  );
}

/**
 * Per declared event: users of the population who did it before asOf, members among them,
 * and the same for the last `recentDays` days. One pass over the events; additive, so the
 * rows of several parts sum up.
 */
export function eventSql(ctx: ReportQueryContext, events: readonly string[], recentDays: number): string | null {
  if (events.length === 0) return null;
  const d = ctx.dialect;
  const recentFrom = d.timestampLiteral(ctx.asOfMs - recentDays * MS.d);
  return `SELECT event, count() AS n, sum(member) AS m,
  sum(CASE WHEN last_ts >= ${recentFrom} THEN 1 ELSE 0 END) AS n_recent,
  sum(CASE WHEN last_ts >= ${recentFrom} THEN member ELSE 0 END) AS m_recent
FROM (
  SELECT user_id, event, max(ts) AS last_ts FROM ${d.table(TABLES.events)}
  WHERE ts < ${d.timestampLiteral(ctx.asOfMs)} AND event IN (${events.map((e) => d.stringLiteral(e)).join(', ')})
  GROUP BY user_id, event
) ue
JOIN ${populationWithMembers(d, ctx.snapshotId, ctx.asOfMs)} pop USING (user_id)
GROUP BY event`;
}

/** Shares, lift and difference of a yes/no feature held by `withFeature` users, `membersWith` of them members. */
export function binaryFeature(
  base: Pick<BinaryFeature, 'kind' | 'name' | 'value' | 'label'>,
  membersWith: number,
  withFeature: number,
  size: number,
  population: number,
): BinaryFeature {
  const rest = population - size;
  const shareMembers = size > 0 ? membersWith / size : null;
  const shareRest = rest > 0 ? (withFeature - membersWith) / rest : null;
  const sharePopulation = population > 0 ? withFeature / population : 0;
  return {
    ...base,
    members: membersWith,
    population: withFeature,
    shareMembers,
    shareRest,
    sharePopulation,
    lift: shareMembers !== null && sharePopulation > 0 ? shareMembers / sharePopulation : null,
    difference: shareMembers !== null && shareRest !== null ? shareMembers - shareRest : null,
  };
}

/** Strongest first, missing strengths last; ties go to the larger support, then by name. */
function byStrength<T>(strength: (x: T) => number | null, support: (x: T) => number, tieBreak: (x: T) => string) {
  return (a: T, b: T): number => {
    const sa = strength(a);
    const sb = strength(b);
    if (sa === null || sb === null) {
      if (sa !== sb) return sa === null ? 1 : -1;
    } else if (Math.abs(sb) !== Math.abs(sa)) return Math.abs(sb) - Math.abs(sa);
    if (support(a) !== support(b)) return support(b) - support(a);
    const ta = tieBreak(a);
    const tb = tieBreak(b);
    return ta < tb ? -1 : ta > tb ? 1 : 0;
  };
}

export function rankBinaryFeatures(features: readonly BinaryFeature[], minSupport: number, limit: number): BinaryFeature[] {
  return features
    .filter((f) => f.population >= minSupport)
    .sort(byStrength((f) => f.difference, (f) => f.population, (f) => f.label))
    .slice(0, limit);
}

export function rankNumericFeatures(features: readonly NumericFeature[], limit: number): NumericFeature[] {
  return features
    .filter((f) => f.membersWithValue > 0 && f.restWithValue > 0)
    .sort(byStrength((f) => f.standardizedDifference, (f) => f.membersWithValue + f.restWithValue, (f) => f.name))
    .slice(0, limit);
}

export function categoricalFeatures(
  rows: readonly Row[],
  traits: readonly { name: string; type: 'string' | 'boolean' }[],
  size: number,
  population: number,
): BinaryFeature[] {
  return rows.map((r) => {
    const trait = traits[toNumber(r.feature)]!;
    const text = String(r.value);
    const value = trait.type === 'boolean' ? text === 'true' : text;
    return binaryFeature({ kind: 'trait', name: trait.name, value, label: `${trait.name} = ${text}` }, toNumber(r.m), toNumber(r.n), size, population);
  });
}

export function eventFeatures(rows: readonly Row[], recentDays: number, size: number, population: number): BinaryFeature[] {
  return rows.flatMap((r) => {
    const name = String(r.event);
    return [
      binaryFeature({ kind: 'event', name, value: null, label: `did ${name}` }, toNumber(r.m), toNumber(r.n), size, population),
      binaryFeature(
        { kind: 'recentEvent', name, value: null, label: `did ${name} in the last ${recentDays}d` },
        toNumber(r.m_recent),
        toNumber(r.n_recent),
        size,
        population,
      ),
    ];
  });
}

/** Means per side and Cohen's d with the pooled sample variance (null when either side has fewer than two values or no spread). */
export function numericFeatures(row: Row, traits: readonly string[]): NumericFeature[] {
  return traits.map((name, i) => {
    const n1 = toNumber(row[`n1_${i}`]);
    const n0 = toNumber(row[`n0_${i}`]);
    const mean1 = n1 > 0 ? toNullableNumber(row[`mean1_${i}`]) : null;
    const mean0 = n0 > 0 ? toNullableNumber(row[`mean0_${i}`]) : null;
    const var1 = toNullableNumber(row[`var1_${i}`]);
    const var0 = toNullableNumber(row[`var0_${i}`]);
    let d: number | null = null;
    if (n1 >= 2 && n0 >= 2 && mean1 !== null && mean0 !== null && var1 !== null && var0 !== null) {
      const pooled = ((n1 - 1) * var1 + (n0 - 1) * var0) / (n1 + n0 - 2);
      if (pooled > 0) d = (mean1 - mean0) / Math.sqrt(pooled);
    }
    return { name, membersWithValue: n1, restWithValue: n0, meanMembers: mean1, meanRest: mean0, standardizedDifference: d };
  });
}
