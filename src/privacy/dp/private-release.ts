/**
 * What every `--private` report shares: running one or more releases through
 * `releasePrivately` (release.ts, which checks and spends the budget, adds the noise,
 * selects partitions and suppresses small groups), and the privacy note each private
 * result carries, in JSON and as text: mechanism, spend, the noise's 95% interval per
 * query, which groups were suppressed and why, and the budget left.
 *
 * A release the budget cannot pay for throws PRIVACY_BUDGET_EXCEEDED from release.ts
 * before anything is returned, so the commands print nothing as if released.
 */
import type { EventStore } from '../../store/event-store.js';
import type { PrivacyConfig } from '../privacy-config.js';
import { checkBudget, totalSpent } from './accounting.js';
import { readLedger } from './ledger.js';
import type { PrivateSettings } from './private-options.js';
import { compare, exactOf, mul, ratio } from './rational.js';
import { releasePrivately } from './release.js';
import type { BudgetState, DpMechanismKind, DpQuery, DpSpend, NoisyGroup, NoisyQuery, ReleaseResult } from './release-types.js';

/** Where and by whom a command releases. */
export interface PrivateTarget {
  readonly store: EventStore;
  readonly privacy: PrivacyConfig;
  readonly actor: string;
  readonly settings: PrivateSettings;
}

export type SuppressionReason = NonNullable<NoisyGroup['suppressed']>;

export interface SuppressedGroup {
  readonly query: string;
  /** The group as shown (`free / at_risk`). */
  readonly group: string;
  readonly reason: SuppressionReason;
}

export interface QueryNoise {
  readonly query: string;
  readonly kind: 'count' | 'sum';
  readonly noiseSd: number;
  /** Half-width of the noise's 95% interval. */
  readonly ci95: number;
}

/** What a private result says about its privacy; `--json` carries it as `privacy`. */
export interface PrivacyNote {
  readonly private: true;
  readonly mechanism: DpMechanismKind;
  /** What this command spent, over all its releases. */
  readonly epsilon: number;
  readonly rho: number;
  readonly releases: readonly { readonly releaseId: number; readonly release: string; readonly epsilon: number; readonly rho: number }[];
  readonly noise: readonly QueryNoise[];
  readonly suppressed: readonly SuppressedGroup[];
  /** The smallest noisy count shown (--min-group-size, else privacy.min_group_size). */
  readonly minGroupSize: number;
  /** The ledger after the last release. */
  readonly budget: BudgetState;
  /** What the numbers are and are not (for example: no significance tests). */
  readonly notes: readonly string[];
}

/**
 * Release `queries` spending the target's whole spend.
 * @example await releaseQueries(target, 'segment size power-users as of 2026-11-01', [sizeQuery])
 */
export async function releaseQueries(target: PrivateTarget, release: string, queries: readonly DpQuery[]): Promise<ReleaseResult> {
  return releasePrivately(target.store, target.privacy, {
    release,
    actor: target.actor,
    spend: target.settings.spend,
    queries,
    ...(target.settings.minGroupSize !== undefined ? { minGroupSize: target.settings.minGroupSize } : {}),
  });
}

/** One release of a command: its own groups, so its first count query sizes them (min group size) and selects them. */
export interface ReleasePart {
  readonly release: string;
  readonly queries: readonly DpQuery[];
}

/**
 * Release each part in turn, the command's spend split over all their queries evenly (a
 * part spends its share of the queries). A refusal stops at the part the budget cannot pay.
 */
export async function releaseParts(target: PrivateTarget, parts: readonly ReleasePart[]): Promise<ReleaseResult[]> {
  const total = parts.reduce((a, p) => a + p.queries.length, 0);
  if (parts.length === 1) return [await releaseQueries(target, parts[0]!.release, parts[0]!.queries)];
  // Refuse the whole command up front, so no part is spent when the budget cannot pay for all.
  checkBudget(totalSpent(await readLedger(target.store)), target.settings.spend, target.privacy.budget, parts.map((p) => p.release).join('; '));
  const out: ReleaseResult[] = [];
  for (const p of parts) {
    const spend = partSpend(target.settings.spend, p.queries.length, total);
    out.push(await releaseQueries({ ...target, settings: { ...target.settings, spend } }, p.release, p.queries));
  }
  return out;
}

/**
 * k/n of a spend, as a number whose decimal value (the ledger's exact reading) is at most the
 * exact share, so the parts never add up to more than the command's spend. Spending a hair
 * less than the share only means a hair more noise than needed.
 */
export function partSpend(spend: DpSpend, k: number, n: number): DpSpend {
  const amount = spend.mechanism === 'laplace' ? spend.epsilon : spend.rho;
  const exact = mul(exactOf(amount), ratio(BigInt(k), BigInt(n)));
  let v = Number(((amount * k) / n).toPrecision(15));
  while (compare(exactOf(v), exact) > 0) v = Number((v * (1 - 1e-14)).toPrecision(15));
  return spend.mechanism === 'laplace' ? { mechanism: 'laplace', epsilon: v } : { mechanism: 'gaussian', rho: v };
}

/** A released query by name (release.ts returns every query it was given). */
export function releasedQuery(result: ReleaseResult, name: string): NoisyQuery {
  const q = result.queries.find((x) => x.name === name);
  if (!q) throw new Error(`release ${result.releaseId} has no query ${name}`);
  return q;
}

/** A released group by key; undefined when the release dropped it altogether. */
export function releasedGroup(query: NoisyQuery, key: string): NoisyGroup | undefined {
  return query.groups.find((g) => g.key === key);
}

/**
 * The note of a command's releases. `label` turns a group key into what readers see.
 * @example privacyNote(target, [result], (key) => key, [])
 */
export function privacyNote(target: PrivateTarget, results: readonly ReleaseResult[], label: (query: string, key: string) => string, notes: readonly string[] = []): PrivacyNote {
  const last = results[results.length - 1]!;
  return {
    private: true,
    mechanism: last.mechanism,
    epsilon: results.reduce((a, r) => a + r.epsilon, 0),
    rho: results.reduce((a, r) => a + r.rho, 0),
    releases: results.map((r) => ({ releaseId: r.releaseId, release: r.release, epsilon: r.epsilon, rho: r.rho })),
    noise: results.flatMap((r) => r.queries.map((q) => ({ query: q.name, kind: q.kind, noiseSd: q.noiseSd, ci95: q.ci95 }))),
    // A key that failed partition selection came from the data and was never released: not listed.
    suppressed: results.flatMap((r) =>
      r.queries.flatMap((q) => q.groups.filter((g) => g.suppressed === 'min_group_size').map((g) => ({ query: q.name, group: label(q.name, g.key), reason: g.suppressed! }))),
    ),
    minGroupSize: target.settings.minGroupSize ?? target.privacy.minGroupSize,
    budget: last.budget,
    notes,
  };
}

/** The note of a release whose group keys come from the data (partition selection). */
export const SELECTION_NOTE = 'groups come from the data: only those that pass partition selection are shown, and the others are not listed';

const REASONS: Record<SuppressionReason, string> = {
  min_group_size: 'noisy count below the minimum group size',
  partition_selection: 'too few users to show the group exists (partition selection)',
};

/** The note as text, under a private result. */
export function renderPrivacyNote(note: PrivacyNote): string {
  const spent = note.mechanism === 'laplace' ? `epsilon ${num(note.epsilon)}` : `rho ${num(note.rho)}`;
  const mechanism = note.mechanism === 'laplace' ? 'discrete Laplace (pure DP)' : 'discrete Gaussian (zCDP)';
  const lines = [`PRIVATE (differential privacy): ${mechanism}, ${spent} spent in ${plural(note.releases.length, 'release')} (${note.releases.map((r) => `#${r.releaseId}`).join(', ')})`];
  lines.push(`Noise, 95% interval: ${note.noise.map((q) => `${q.query} ±${num(q.ci95)}`).join('; ')}`);
  if (note.suppressed.length === 0) lines.push(`Suppressed: none (minimum group size ${note.minGroupSize})`);
  else {
    lines.push(`Suppressed (minimum group size ${note.minGroupSize}):`);
    for (const s of note.suppressed) lines.push(`  ${s.query}: ${s.group}: ${REASONS[s.reason]}`);
  }
  const b = note.budget;
  lines.push(
    `Budget: epsilon ${num(b.epsilonSpent)} of ${num(b.epsilonLimit)} spent (${num(Math.max(0, b.epsilonLimit - b.epsilonSpent))} left), ` +
      `rho ${num(b.rhoSpent)} of ${num(b.rhoLimit)} (${num(Math.max(0, b.rhoLimit - b.rhoSpent))} left); ` +
      `${plural(b.releases, 'release')}, together (${num(b.combined.epsilon)}, ${b.combined.delta})-DP`,
  );
  for (const n of note.notes) lines.push(`Note: ${n}`);
  return lines.join('\n');
}

/** A noisy count or sum with its interval, or why it is not shown. */
export function formatNoisy(value: number | null, ci95: number | null, suppressed: SuppressionReason | null = null, digits = 0): string {
  if (value === null) return suppressed === 'partition_selection' ? 'hidden' : suppressed ? 'suppressed' : '-';
  const v = digits === 0 ? Math.round(value).toLocaleString('en-US') : value.toFixed(digits);
  return ci95 === null ? v : `${v} ±${num(ci95, digits)}`;
}

/** Short numbers for notes: integers as is, others to 3 significant digits. */
export function num(x: number, digits?: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (digits !== undefined && digits > 0) return x.toFixed(digits);
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(3)).toString();
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
