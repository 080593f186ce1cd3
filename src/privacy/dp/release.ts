/**
 * `releasePrivately`: one differentially private release (issue 7). The caller hands over
 * exact aggregates with contribution bounding already applied (release-types.ts); this
 * checks the budget, adds noise, selects partitions, suppresses small groups, and records
 * the release in the ledger and the audit log, in one store transaction.
 *
 * - The release's spend (ε, or ρ) is split evenly over its n queries: ε/n or ρ/n each
 *   (sequential composition). Sensitivities, scales and the sum grid: mechanisms.ts.
 * - Partition selection: when some query has `keys: 'private'`, the first count query with
 *   private keys selects the groups: a key from the data is released only if its noisy
 *   count reaches τ (mechanisms.ts `selectionThreshold`: a group holding one user shows with
 *   probability ≤ δ_sel). Every private-keyed query of the release then shows exactly the
 *   selected keys (a selected key missing from a query's groups counts as 0 there). Keys
 *   that are not selected are left out entirely: showing them, even with no value, would
 *   disclose that someone in the data has them. δ_sel is recorded in the ledger.
 * - Minimum group size: the release's first count query gives each group's size; a group
 *   whose noisy size is below `minGroupSize` (default `privacy.min_group_size`) is shown
 *   with value null (suppressed `min_group_size`) in every query of the release. This is
 *   post-processing of a noisy value, so it costs no budget. A release with no count query
 *   has no group size and suppresses nothing.
 * - Post-processing: noisy counts are clamped at 0 (a negative count says nothing a 0 does
 *   not), and noisy sums whose clamp is [≥ 0, ...] at 0 too; costs no budget either.
 * - Public keys: pass every key that can exist, with 0 for the empty ones; a public key
 *   left out because it is empty would disclose that it is empty.
 */
import { StrataError } from '../../errors/errors.js';
import type { EventStore } from '../../store/event-store.js';
import type { PrivacyConfig } from '../privacy-config.js';
import { zcdpOfPureRelease } from './accounting.js';
import type { UniformSource } from './discrete-noise.js';
import { spendBudget, type LedgerDetail, type LedgerQueryDetail } from './ledger.js';
import {
  ci95HalfWidth,
  fromGrid,
  gaussianNoise,
  laplaceNoise,
  noiseVariance,
  sampleNoise,
  selectionThreshold,
  shareOf,
  sumGrid,
  toGrid,
  type NoiseSpec,
  type SumGrid,
} from './mechanisms.js';
import { formatRational } from './rational.js';
import type { DpQuery, NoisyGroup, NoisyQuery, ReleaseRequest, ReleaseResult } from './release-types.js';

/** Test hooks: a seeded uniform source (production: node:crypto) and a fixed clock. */
export interface ReleaseOptions {
  readonly uniform?: UniformSource;
  readonly atMs?: number;
}

interface PlannedQuery {
  readonly query: DpQuery;
  readonly noise: NoiseSpec;
  /** Sums only. */
  readonly grid: SumGrid | null;
  readonly detail: LedgerQueryDetail;
  /** Noise sd and 95% half-width in the query's own units. */
  readonly noiseSd: number;
  readonly ci95: number;
}

export async function releasePrivately(store: EventStore, privacy: PrivacyConfig, request: ReleaseRequest, options: ReleaseOptions = {}): Promise<ReleaseResult> {
  validateRequest(request);
  const n = request.queries.length;
  const planned = request.queries.map((q) => planQuery(q, request, n));
  const selecting = planned.find((p) => p.query.kind === 'count' && p.query.keys === 'private') ?? null;
  if (selecting === null && request.queries.some((q) => q.keys === 'private')) {
    const name = request.queries.find((q) => q.keys === 'private')!.name;
    throw new StrataError('INPUT_INVALID', `release "${request.release}": query "${name}" has private keys, but no count query has: partition selection needs a count query with keys 'private' over the same groups`);
  }
  const selectionDelta = request.selectionDelta ?? privacy.budget.delta;
  if (!(selectionDelta > 0 && selectionDelta < 1)) throw new StrataError('INPUT_INVALID', `release "${request.release}": selectionDelta must be in (0, 1), got ${selectionDelta}`);
  const threshold = selecting !== null ? selectionThreshold(selecting.noise, (selecting.query as { maxRowsPerUser: number }).maxRowsPerUser, selecting.query.maxGroupsPerUser, selectionDelta) : null;
  const minGroupSize = request.minGroupSize ?? privacy.minGroupSize;
  if (!(minGroupSize >= 0 && Number.isFinite(minGroupSize))) throw new StrataError('INPUT_INVALID', `release "${request.release}": minGroupSize must be a number >= 0, got ${minGroupSize}`);

  const delta = selecting !== null ? selectionDelta : 0;
  const zcdpRho = request.spend.mechanism === 'laplace' ? zcdpOfPureRelease(request.spend.epsilon, n) : request.spend.rho;
  const selection = selecting !== null && threshold !== null ? { query: selecting.query.name, threshold, delta: selectionDelta } : null;
  const spent = await spendBudget(store, privacy, { release: request.release, actor: request.actor, spend: request.spend, ...(options.atMs !== undefined ? { atMs: options.atMs } : {}) }, () => {
    const queries = drawRelease(planned, selecting, threshold, minGroupSize, options.uniform);
    // The number of groups shown, not of groups in the data (with private keys that number is not public).
    const detail: Omit<LedgerDetail, 'auditSeq'> = { delta, zcdpRho, minGroupSize, queries: planned.map((p, i) => ({ ...p.detail, groups: queries[i]!.groups.length })), selection };
    return { detail, audit: { ...detail }, result: queries };
  });
  return {
    releaseId: spent.releaseId,
    release: request.release,
    mechanism: request.spend.mechanism,
    epsilon: request.spend.mechanism === 'laplace' ? request.spend.epsilon : 0,
    rho: request.spend.mechanism === 'gaussian' ? request.spend.rho : 0,
    delta,
    queries: spent.result,
    budget: spent.budget,
  };
}

function planQuery(q: DpQuery, request: ReleaseRequest, n: number): PlannedQuery {
  const g = q.maxGroupsPerUser;
  const grid = q.kind === 'sum' ? sumGrid(q.lower, q.upper) : null;
  const units = grid !== null ? grid.unitsPerGroup : BigInt((q as { maxRowsPerUser: number }).maxRowsPerUser);
  const share = request.spend.mechanism === 'laplace' ? shareOf(request.spend.epsilon, n, 'epsilon') : shareOf(request.spend.rho, n, 'rho');
  const noise = request.spend.mechanism === 'laplace' ? laplaceNoise(units, g, share) : gaussianNoise(units, g, share);
  const unit = grid !== null ? grid.step : 1;
  const noiseSd = Math.sqrt(noiseVariance(noise)) * unit;
  const halfWidth = ci95HalfWidth(noise);
  const ci95 = grid !== null ? fromGrid(BigInt(halfWidth), grid) : halfWidth;
  const perGroup = q.kind === 'sum' ? Math.max(Math.abs(q.lower), Math.abs(q.upper)) : q.maxRowsPerUser;
  const detail: LedgerQueryDetail = {
    name: q.name,
    kind: q.kind,
    keys: q.keys,
    groups: 0,
    maxGroupsPerUser: g,
    ...(q.kind === 'count' ? { maxRowsPerUser: q.maxRowsPerUser } : { clamp: [q.lower, q.upper] as const, resolution: grid!.step }),
    sensitivityL1: g * perGroup,
    sensitivityL2: Math.sqrt(g) * perGroup,
    share: formatRational(share),
    scale: formatRational(noise.kind === 'laplace' ? noise.scale : noise.sigma2),
    noiseSd,
  };
  return { query: q, noise, grid, detail, noiseSd, ci95 };
}

/** Add the noise to every released group, select partitions, suppress small groups. */
function drawRelease(planned: readonly PlannedQuery[], selecting: PlannedQuery | null, threshold: number | null, minGroupSize: number, u: UniformSource | undefined): NoisyQuery[] {
  const noisy = new Map<PlannedQuery, Map<string, number>>();
  let selectedKeys: string[] = [];
  if (selecting !== null && threshold !== null) {
    const values = noisyValues(selecting, selecting.query.groups.map((g) => g.key), u);
    noisy.set(selecting, values);
    selectedKeys = [...values].filter(([, v]) => v >= threshold).map(([k]) => k);
  }
  for (const p of planned) {
    if (noisy.has(p)) continue;
    noisy.set(p, noisyValues(p, p.query.keys === 'private' ? selectedKeys : p.query.groups.map((g) => g.key), u));
  }
  const sizeQuery = planned.find((p) => p.query.kind === 'count') ?? null;
  const sizes = sizeQuery !== null ? noisy.get(sizeQuery)! : null;
  return planned.map((p) => {
    const values = noisy.get(p)!;
    const keys = p === selecting ? selectedKeys : [...values.keys()];
    const groups: NoisyGroup[] = keys.map((key) => {
      const size = sizes?.get(key);
      if (size !== undefined && size < minGroupSize) return { key, value: null, suppressed: 'min_group_size' };
      return { key, value: values.get(key)!, suppressed: null };
    });
    const out: NoisyQuery = { name: p.query.name, kind: p.query.kind, groups, noiseSd: p.noiseSd, ci95: p.ci95, ...(p === selecting && threshold !== null ? { threshold } : {}) };
    return out;
  });
}

/** The noisy value of each key (exact value + integer noise, post-processed), in key order. */
function noisyValues(p: PlannedQuery, keys: readonly string[], u: UniformSource | undefined): Map<string, number> {
  const exact = new Map(p.query.groups.map((g) => [g.key, g.value]));
  const out = new Map<string, number>();
  for (const key of keys) {
    const value = exact.get(key) ?? 0;
    const z = sampleNoise(p.noise, u);
    if (p.grid === null) {
      const count = BigInt(value) + z;
      out.set(key, count < 0n ? 0 : Number(count));
    } else {
      const q = p.query as { lower: number; upper: number };
      let k = toGrid(value, p.grid) + z;
      // Post-processing into the sign the clamp allows.
      if (q.lower >= 0 && k < 0n) k = 0n;
      if (q.upper <= 0 && k > 0n) k = 0n;
      out.set(key, fromGrid(k, p.grid));
    }
  }
  return out;
}

function positiveWhole(v: number, what: string): void {
  if (!(Number.isSafeInteger(v) && v >= 1)) throw new StrataError('INPUT_INVALID', `${what} must be a whole number >= 1, got ${v}`);
}

function validateRequest(r: ReleaseRequest): void {
  if (r.release.trim().length === 0) throw new StrataError('INPUT_INVALID', 'a release needs a description (what is released)');
  if (r.queries.length === 0) throw new StrataError('INPUT_INVALID', `release "${r.release}": no queries to release`);
  const amount = r.spend.mechanism === 'laplace' ? r.spend.epsilon : r.spend.rho;
  const name = r.spend.mechanism === 'laplace' ? 'epsilon' : 'rho';
  if (!(Number.isFinite(amount) && amount > 0)) throw new StrataError('INPUT_INVALID', `release "${r.release}": ${name} must be a positive number, got ${amount}`);
  const names = new Set<string>();
  for (const [i, q] of r.queries.entries()) {
    const at = `release "${r.release}", query ${i + 1} (${q.name})`;
    if (q.name.length === 0 || names.has(q.name)) throw new StrataError('INPUT_INVALID', `${at}: query names must be non-empty and distinct`);
    names.add(q.name);
    positiveWhole(q.maxGroupsPerUser, `${at}: maxGroupsPerUser`);
    const keys = new Set<string>();
    for (const g of q.groups) {
      if (keys.has(g.key)) throw new StrataError('INPUT_INVALID', `${at}: group key ${JSON.stringify(g.key)} appears twice`);
      keys.add(g.key);
      if (q.kind === 'count' && !(Number.isSafeInteger(g.value) && g.value >= 0)) {
        throw new StrataError('INPUT_INVALID', `${at}: group ${JSON.stringify(g.key)}: a count must be a whole number >= 0, got ${g.value}`);
      }
      if (q.kind === 'sum' && !Number.isFinite(g.value)) throw new StrataError('INPUT_INVALID', `${at}: group ${JSON.stringify(g.key)}: a sum must be finite, got ${g.value}`);
    }
    if (q.kind === 'count') positiveWhole(q.maxRowsPerUser, `${at}: maxRowsPerUser`);
    else if (!(Number.isFinite(q.lower) && Number.isFinite(q.upper) && q.lower <= q.upper)) {
      throw new StrataError('INPUT_INVALID', `${at}: the clamp needs finite lower <= upper, got [${q.lower}, ${q.upper}]`);
    }
  }
}
