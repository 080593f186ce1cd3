/**
 * `experiment analyze --private`: per variant (and per breakdown group) the noisy exposed
 * users, conversions and clamped sums, and the rates and means they give, with the noise's
 * 95% interval. No p-values, effect intervals, SRM or recommendation: a test on noisy
 * numbers that ignored the noise would claim more than it knows, so the private summary
 * makes no significance claims at all (docs/privacy.md, "Private reports").
 *
 * Contribution bounding is in SQL (computeExperimentData with `clamps`): each exposed
 * user is one row per group and variant, counted once; conversions are 0/1 per user;
 * count, sum, mean and ratio metrics clamp each user's value (and denominator) into
 * [lower, upper] (`--clamp`) before summing. Every range must hold 0, the value of a user
 * without matching events. Means and rates are ratios of released numbers (post-processing).
 *
 * Queries per scope (the whole experiment, and each breakdown): `users` (exposed), then per
 * metric `n:KEY` (users whose window is over, left out when every window is over by
 * construction: then n = users), `conversions:KEY` or `sum:KEY` (and `sum:KEY.denominator`).
 * Keys: variants, segment member/non-member and lifecycle stages are known in advance
 * (public); trait values come from the data (private): each scope is a release of its own,
 * whose `users` query selects the cells shown (partition selection) and sizes them (the
 * minimum group size), and every metric query of the scope shows the same cells. The
 * command's spend is split evenly over all the queries of all the scopes.
 */
import { MEMBER_GROUP, NO_VALUE_GROUP, NON_MEMBER_GROUP, resolveBreakdown } from '../../analysis/breakdown.js';
import { byteOrder } from '../../segments/registry/registry-sql.js';
import { NOT_YET_SEEN, stageKeys, type LifecycleModel } from '../../analysis/lifecycle/index.js';
import { StrataError, type ErrorDetail } from '../../errors/errors.js';
import type { ExperimentDefinition, StoredExperiment } from '../../experiments/design/types.js';
import { computeExperimentData, LIFECYCLE_BREAKDOWN, planMetrics, selectMetrics, type ExperimentData, type MetricClamp, type MetricPlan } from '../../experiments/metrics/index.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { SegmentRegistry } from '../../segments/registry/index.js';
import type { EventStore } from '../../store/event-store.js';
import { formatInstant } from '../../time/time.js';
import { SELECTION_NOTE, privacyNote, releaseParts, releasedGroup, type PrivacyNote, type PrivateTarget, type SuppressionReason } from './private-release.js';
import type { DpGroupValue, DpQuery, NoisyQuery } from './release-types.js';

export interface PrivateExperimentOptions {
  readonly asOfMs: number;
  readonly plan: TrackingPlan;
  readonly lifecycle: LifecycleModel;
  /** `--by NAME`; absent: the whole experiment, and each of the definition's `segments`. */
  readonly by?: string;
  readonly segment?: string;
  /** Per metric key (from parseClamps). */
  readonly clamps: Readonly<Record<string, MetricClamp>>;
}

export interface NoisyValue {
  readonly value: number | null;
  readonly ci95: number | null;
  readonly suppressed: SuppressionReason | null;
}

export interface PrivateVariantMetric {
  readonly variant: string;
  /** Users counted (window over); the rate's or mean's denominator for conversion, count and sum metrics. */
  readonly n: NoisyValue;
  /** Conversions, or the clamped sum (the numerator's, for mean and ratio metrics). */
  readonly numerator: NoisyValue;
  /** Mean and ratio metrics: the clamped sum of the denominator. */
  readonly denominator: NoisyValue | null;
  /** numerator / n (or / denominator); ci95: the noise's 95% interval by the delta method. */
  readonly value: NoisyValue;
  /** Against the control, as the definition's `difference` says; a point estimate, no test. */
  readonly difference: number | null;
}

export interface PrivateGroup {
  readonly group: string | null;
  readonly exposures: readonly ({ readonly variant: string } & NoisyValue)[];
  readonly metrics: readonly { readonly metric: string; readonly variants: readonly PrivateVariantMetric[] }[];
}

export interface PrivateScope {
  /** null: the whole experiment; else the breakdown's label. */
  readonly breakdown: string | null;
  readonly keys: 'public' | 'private';
  readonly groups: readonly PrivateGroup[];
}

export interface PrivateMetricInfo {
  readonly key: string;
  readonly name: string;
  readonly type: string;
  readonly role: 'primary' | 'secondary' | 'guardrail';
  readonly clamp: MetricClamp | null;
}

export interface PrivateExperimentSummary {
  readonly experiment: string;
  readonly version: number;
  readonly name: string;
  readonly asOf: string;
  readonly start: string;
  readonly stop: string | null;
  readonly difference: 'relative' | 'absolute';
  readonly metrics: readonly PrivateMetricInfo[];
  readonly scopes: readonly PrivateScope[];
  readonly privacy: PrivacyNote;
}

export const NO_TEST_NOTE =
  'no p-values, effect intervals, SRM check or recommendation: the numbers are noisy and the summary makes no significance claims; ' +
  '± is the 95% interval of the noise alone (rates and means by the delta method), not sampling error';

/** A user without matching events adds 0: a clamp range must hold it. */
function checkRange(lower: number, upper: number, at: string, errors: ErrorDetail[]): void {
  if (!(Number.isFinite(lower) && Number.isFinite(upper) && lower <= 0 && upper >= 0 && lower < upper)) {
    errors.push({ path: at, message: `expected LO:HI with LO <= 0 <= HI and LO < HI (a user without events adds 0), got ${lower}:${upper}` });
  }
}

/**
 * `--clamp` values: `LO:HI` (every value metric's numerator and denominator without a
 * clamp of its own), `KEY=LO:HI` (a metric's value, or a mean/ratio metric's numerator)
 * and `KEY.denominator=LO:HI`. Conversion and retention metrics need none (0/1 per user).
 * @example parseClamps(['0:500', 'page-depth.denominator=0:50'], plans)
 */
export function parseClamps(values: readonly string[], plans: readonly MetricPlan[]): Record<string, MetricClamp> {
  const errors: ErrorDetail[] = [];
  let fallback: [number, number] | null = null;
  const own = new Map<string, [number, number]>();
  for (const text of values) {
    const m = /^(?:([a-z0-9][a-z0-9_-]*)(\.denominator)?=)?(-?[0-9.eE+-]+):(-?[0-9.eE+-]+)$/.exec(text.trim());
    if (!m) {
      errors.push({ path: '--clamp', message: `expected LO:HI, KEY=LO:HI or KEY.denominator=LO:HI, got ${JSON.stringify(text)}` });
      continue;
    }
    const range: [number, number] = [Number(m[3]), Number(m[4])];
    checkRange(range[0], range[1], `--clamp ${text}`, errors);
    if (m[1] === undefined) fallback = range;
    else {
      const plan = plans.find((p) => p.key === m[1]);
      if (!plan) errors.push({ path: `--clamp ${text}`, message: `the experiment has no metric ${m[1]}; expected one of ${plans.map((p) => p.key).join(', ')}` });
      else if (plan.binary) errors.push({ path: `--clamp ${text}`, message: `${m[1]} is a ${plan.definition.type} metric: 0 or 1 per user, nothing to clamp` });
      else if (m[2] !== undefined && plan.denominator === null) errors.push({ path: `--clamp ${text}`, message: `${m[1]} is a ${plan.definition.type} metric and has no denominator` });
      own.set(`${m[1]}${m[2] ?? ''}`, range);
    }
  }
  const out: Record<string, MetricClamp> = {};
  for (const p of plans) {
    if (p.binary) continue;
    const value = own.get(p.key) ?? fallback;
    const denominator = p.denominator === null ? undefined : (own.get(`${p.key}.denominator`) ?? fallback);
    if (!value) errors.push({ path: '--clamp', message: `metric ${p.key} (${p.definition.type}) needs a per-user range: --clamp ${p.key}=LO:HI` });
    if (p.denominator !== null && !denominator) errors.push({ path: '--clamp', message: `metric ${p.key} (${p.definition.type}) needs a range for its denominator: --clamp ${p.key}.denominator=LO:HI` });
    if (value) out[p.key] = { lower: value[0], upper: value[1], ...(denominator ? { denominator: { lower: denominator[0], upper: denominator[1] } } : {}) };
  }
  if (errors.length > 0) throw new StrataError('INPUT_INVALID', 'a private experiment summary bounds each user\'s contribution: --clamp is missing or invalid', errors);
  return out;
}

/** The metrics of a private summary, their plans checked against the tracking plan. */
export function privateMetricPlans(def: ExperimentDefinition, plan: TrackingPlan): MetricPlan[] {
  return planMetrics(selectMetrics(def), plan);
}

/** One scope's data and how its group keys are known. */
interface ScopeData {
  readonly data: ExperimentData;
  readonly breakdown: string | null;
  readonly keys: 'public' | 'private';
  /** Every group key of a public breakdown (known in advance); the data's groups for a private one. */
  readonly groupKeys: readonly (string | null)[];
}

/**
 * The private summary of an experiment (see the header).
 * @example await privateExperimentSummary(target, segments, stored, { asOfMs, plan, lifecycle, clamps })
 */
export async function privateExperimentSummary(
  target: PrivateTarget,
  segments: SegmentRegistry,
  stored: StoredExperiment,
  options: PrivateExperimentOptions,
  progress?: (phase: string) => void,
): Promise<PrivateExperimentSummary> {
  const def = stored.definition;
  const plans = privateMetricPlans(def, options.plan).map((p) => (options.clamps[p.key] ? { ...p, clamp: options.clamps[p.key]! } : p));
  const unclamped = plans.filter((p) => !p.binary && !p.clamp);
  if (unclamped.length > 0) parseClamps([], unclamped); // throws with what to add
  const scopes = await scopeData(target.store, segments, stored, options, progress);
  const cells = new CellKeys();
  const queries = scopes.map((s) => scopeQueries(s, plans, def, options.asOfMs, cells));
  const release = `experiment summary ${def.key} v${stored.version} as of ${formatInstant(options.asOfMs)}${options.segment ? ` among members of ${options.segment}` : ''}`;
  // One release per scope: its first count query (users) sizes its cells for the minimum
  // group size and, for a trait breakdown, selects them; its metric queries show the same cells.
  const results = await releaseParts(
    target,
    queries.map((q) => ({ release: `${release}${q.suffix}`, queries: [...q.users, ...q.metrics] })),
  );
  const released = (name: string): NoisyQuery | null => {
    for (const r of results) {
      const q = r.queries.find((x) => x.name === name);
      if (q) return q;
    }
    return null;
  };
  const selecting = queries.filter((q) => q.scope.keys === 'private');
  const outScopes = queries.map((q) => summarizeScope(q, plans, def, released, cells));
  const metrics = plans.map((p) => ({ key: p.key, name: p.definition.name, type: p.definition.type, role: roleOf(def, p.key), clamp: p.clamp ?? null }));
  const notes = [NO_TEST_NOTE, ...(selecting.length > 0 ? [SELECTION_NOTE] : [])];
  return {
    experiment: def.key,
    version: stored.version,
    name: def.name,
    asOf: formatInstant(options.asOfMs),
    start: formatInstant(def.startMs),
    stop: def.stopMs === null ? null : formatInstant(def.stopMs),
    difference: def.difference,
    metrics,
    scopes: outScopes,
    privacy: privacyNote(target, results, (_q, key) => cells.label(key), notes),
  };
}

async function scopeData(
  store: EventStore,
  segments: SegmentRegistry,
  stored: StoredExperiment,
  options: PrivateExperimentOptions,
  progress?: (phase: string) => void,
): Promise<ScopeData[]> {
  const def = stored.definition;
  const breakdowns = options.by !== undefined ? [options.by] : [undefined, ...def.segments.map((s) => `segment:${s}`)];
  const out: ScopeData[] = [];
  for (const [i, by] of breakdowns.entries()) {
    progress?.(by === undefined ? 'metrics' : `metrics by ${by}`);
    const data = await computeExperimentData(store, segments, stored, {
      asOfMs: options.asOfMs,
      plan: options.plan,
      lifecycle: options.lifecycle,
      clamps: options.clamps,
      ...(by !== undefined ? { by } : {}),
      ...(options.segment !== undefined ? { segment: options.segment } : {}),
    });
    // The whole experiment once: from the first data (every breakdown's data has it too).
    if (i === 0) out.push({ data, breakdown: null, keys: 'public', groupKeys: [null] });
    if (by === undefined) continue;
    const kind = await breakdownKind(by, options, segments);
    const groupKeys =
      // Trait values in byte order: the data's order (by exact users) must not reach the release.
      kind === 'lifecycle' ? [...stageKeys(options.lifecycle), NOT_YET_SEEN] : kind === 'segment' ? [MEMBER_GROUP, NON_MEMBER_GROUP] : [...data.groups].sort(byteOrder);
    out.push({ data, breakdown: data.breakdown ?? by, keys: kind === 'trait' ? 'private' : 'public', groupKeys });
  }
  return out;
}

async function breakdownKind(by: string, options: PrivateExperimentOptions, segments: SegmentRegistry): Promise<'lifecycle' | 'segment' | 'trait'> {
  if (by === LIFECYCLE_BREAKDOWN) return 'lifecycle';
  return resolveBreakdown(by, options.plan, (await segments.list()).map((s) => s.key)).kind;
}

/** Cell keys (group, variant) as unambiguous strings, and their labels for readers. */
class CellKeys {
  private readonly labels = new Map<string, string>();
  key(group: string | null, variant: string): string {
    const key = group === null ? variant : JSON.stringify([group, variant]);
    this.labels.set(key, group === null ? variant : `${group} / ${variant}`);
    return key;
  }
  label(key: string): string {
    return this.labels.get(key) ?? key;
  }
}

interface ScopeQueries {
  readonly scope: ScopeData;
  readonly suffix: string;
  /** The exposed users (one query). */
  readonly users: DpQuery[];
  readonly metrics: DpQuery[];
}

/** Whether every user's window is over by asOf whatever the data: then a metric's n is the exposed users. */
function alwaysMature(m: MetricPlan, def: ExperimentDefinition, asOfMs: number): boolean {
  if (m.toMs === null) return true;
  if (def.stopMs !== null && def.stopMs + m.toMs <= asOfMs) return true;
  return def.exposure === 'assignment' && def.startMs + m.toMs <= asOfMs;
}

function scopeQueries(scope: ScopeData, plans: readonly MetricPlan[], def: ExperimentDefinition, asOfMs: number, cells: CellKeys): ScopeQueries {
  const suffix = scope.breakdown === null ? '' : ` by ${scope.breakdown}`;
  const variants = def.variants.map((v) => v.key);
  const pairs = scope.groupKeys.flatMap((group) => variants.map((variant) => ({ group, variant, key: cells.key(group, variant) })));
  const exposures = new Map(scope.data.exposures.map((e) => [`${e.group}\u0000${e.variant}`, e.users]));
  const stats = (metric: string, group: string | null, variant: string) =>
    scope.data.metrics.find((m) => m.metric === metric && m.group === group)?.variants.find((v) => v.variant === variant)?.stats;
  const values = (f: (group: string | null, variant: string) => number): DpGroupValue[] => {
    const all = pairs.map((p) => ({ key: p.key, value: f(p.group, p.variant) }));
    // Keys from the data: only cells holding users are candidates; known keys: every cell, zeros included.
    return scope.keys === 'private' ? all.filter((_, i) => (exposures.get(`${pairs[i]!.group}\u0000${pairs[i]!.variant}`) ?? 0) > 0) : all;
  };
  const base = { keys: scope.keys, maxGroupsPerUser: 1 } as const;
  const users: DpQuery[] = [{ kind: 'count', name: `users${suffix}`, maxRowsPerUser: 1, ...base, groups: values((g, v) => exposures.get(`${g}\u0000${v}`) ?? 0) }];
  const metrics: DpQuery[] = [];
  for (const m of plans) {
    const s = (g: string | null, v: string) => stats(m.key, g, v);
    if (!alwaysMature(m, def, asOfMs)) metrics.push({ kind: 'count', name: `n:${m.key}${suffix}`, maxRowsPerUser: 1, ...base, groups: values((g, v) => s(g, v)?.n ?? 0) });
    if (m.binary) {
      metrics.push({ kind: 'count', name: `conversions:${m.key}${suffix}`, maxRowsPerUser: 1, ...base, groups: values((g, v) => numeratorOf(s(g, v))) });
      continue;
    }
    const clamp = m.clamp!;
    metrics.push({ kind: 'sum', name: `sum:${m.key}${suffix}`, lower: clamp.lower, upper: clamp.upper, ...base, groups: values((g, v) => numeratorOf(s(g, v))) });
    if (m.denominator !== null) {
      const dc = clamp.denominator!;
      metrics.push({ kind: 'sum', name: `sum:${m.key}.denominator${suffix}`, lower: dc.lower, upper: dc.upper, ...base, groups: values((g, v) => denominatorOf(s(g, v))) });
    }
  }
  return { scope, suffix, users, metrics };
}

type Stats = NonNullable<ExperimentData['metrics'][number]['variants'][number]['stats']> | undefined;

function numeratorOf(s: Stats): number {
  if (!s) return 0;
  return s.type === 'ratio' ? s.numerator.sum : s.sum;
}

function denominatorOf(s: Stats): number {
  return s && s.type === 'ratio' ? s.denominator.sum : 0;
}

/** A cell's released value; a cell not in the release is one of a trait breakdown that partition selection did not show. */
function noisy(q: NoisyQuery, key: string): NoisyValue {
  const g = releasedGroup(q, key);
  if (!g) return { value: null, ci95: null, suppressed: 'partition_selection' };
  return { value: g.value, ci95: g.value === null ? null : q.ci95, suppressed: g.suppressed };
}

function summarizeScope(q: ScopeQueries, plans: readonly MetricPlan[], def: ExperimentDefinition, find: (name: string) => NoisyQuery | null, cells: CellKeys): PrivateScope {
  const variants = def.variants.map((v) => v.key);
  const released = (name: string): NoisyQuery => {
    const found = find(name);
    if (!found) throw new Error(`the release has no query ${name}`);
    return found;
  };
  const users = released(`users${q.suffix}`);
  // A trait breakdown shows the groups with at least one selected cell (suppressed or not); known groups always.
  const groups = q.scope.groupKeys.filter((g) => q.scope.keys === 'public' || variants.some((v) => releasedGroup(users, cells.key(g, v)) !== undefined));
  if (q.scope.keys === 'private') {
    // Ordered by released numbers only: the data's order (by exact users) must not show through.
    const shown = (g: string | null) => variants.reduce((a, v) => a + (releasedGroup(users, cells.key(g, v))?.value ?? 0), 0);
    const last = (g: string | null) => (g === NO_VALUE_GROUP ? 1 : 0);
    groups.sort((a, b) => last(a) - last(b) || shown(b) - shown(a) || byteOrder(String(a), String(b)));
  }
  const out: PrivateGroup[] = groups.map((group) => {
    const exposures = variants.map((variant) => ({ variant, ...noisy(users, cells.key(group, variant)) }));
    const metrics = plans.map((m) => {
      const num = released(`${m.binary ? 'conversions' : 'sum'}:${m.key}${q.suffix}`);
      // No n query: every window is over by construction, so n is the exposed users.
      const nQuery = find(`n:${m.key}${q.suffix}`) ?? users;
      const den = m.denominator !== null ? released(`sum:${m.key}.denominator${q.suffix}`) : null;
      const rows = variants.map((variant) => {
        const key = cells.key(group, variant);
        const n = noisy(nQuery, key);
        const numerator = noisy(num, key);
        const denominator = den ? noisy(den, key) : null;
        const bottom = denominator ?? n;
        const bottomSd = den ? den.noiseSd : nQuery.noiseSd;
        return { variant, n, numerator, denominator, value: ratioOf(numerator, num.noiseSd, bottom, bottomSd) };
      });
      const control = rows[0]!.value.value;
      const withDiff = rows.map((r, i) => ({ ...r, difference: i === 0 || control === null || r.value.value === null ? null : differenceOf(r.value.value, control, def.difference) }));
      return { metric: m.key, variants: withDiff };
    });
    return { group, exposures, metrics };
  });
  return { breakdown: q.scope.breakdown, keys: q.scope.keys, groups: out };
}

/** top / bottom with the noise's 95% interval by the delta method; null when either is hidden or bottom is not positive. */
function ratioOf(top: NoisyValue, topSd: number, bottom: NoisyValue, bottomSd: number): NoisyValue {
  if (top.value === null || bottom.value === null || bottom.value <= 0) return { value: null, ci95: null, suppressed: top.suppressed ?? bottom.suppressed };
  const value = top.value / bottom.value;
  const sd = Math.sqrt(topSd * topSd + value * value * bottomSd * bottomSd) / bottom.value;
  return { value, ci95: 1.96 * sd, suppressed: null };
}

function differenceOf(treatment: number, control: number, kind: 'relative' | 'absolute'): number | null {
  if (kind === 'absolute') return treatment - control;
  return control === 0 ? null : (treatment - control) / Math.abs(control);
}

function roleOf(def: ExperimentDefinition, key: string): 'primary' | 'secondary' | 'guardrail' {
  if (def.primary.key === key) return 'primary';
  return def.secondary.some((m) => m.key === key) ? 'secondary' : 'guardrail';
}
