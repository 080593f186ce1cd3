/**
 * The privacy-budget ledger (issue 7): table `privacy_ledger`, one row per differentially
 * private release (release_id, at, actor, release, mechanism, epsilon, rho, detail JSON:
 * the queries, their sensitivities and noise scales, the δ of partition selection). Rows
 * are only ever appended; the budget spent is the sum over all of them (accounting.ts).
 *
 * `spendBudget` checks and records in one store transaction, and releases through one store
 * object are queued one after another, so on DuckDB two releases cannot both pass the
 * check against the same total. ClickHouse has no transactions: two
 * releases started at the same instant against the same workspace can both pass the check
 * (and overspend by at most one release) or draw the same release_id; Strata runs
 * releases from one CLI process at a time, and `strata privacy budget` shows any such
 * overspend, since the ledger keeps every row.
 */
import type { EventStore } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';
import { appendAudit } from '../../governance/audit-log.js';
import type { PrivacyConfig } from '../privacy-config.js';
import { checkBudget, combinedGuarantee, totalSpent, type SpendRecord } from './accounting.js';
import type { Rational } from './discrete-noise.js';
import { exactOf, sub, toNumber } from './rational.js';
import type { BudgetState, DpMechanismKind, DpSpend } from './release-types.js';

export interface LedgerEntry extends SpendRecord {
  readonly releaseId: number;
  readonly atMs: number;
  readonly actor: string;
  readonly release: string;
  readonly detail: LedgerDetail;
}

/** What the ledger keeps about a release besides its spend: how it was noised, never a true value. */
export interface LedgerDetail {
  readonly delta: number;
  readonly zcdpRho: number;
  readonly minGroupSize: number;
  readonly queries: readonly LedgerQueryDetail[];
  /** Partition selection, when some keys came from the data. */
  readonly selection: { readonly query: string; readonly threshold: number; readonly delta: number } | null;
  readonly auditSeq?: number;
}

export interface LedgerQueryDetail {
  readonly name: string;
  readonly kind: 'count' | 'sum';
  readonly keys: 'public' | 'private';
  /** Groups shown (suppressed ones included), never the number in the data. */
  readonly groups: number;
  readonly maxGroupsPerUser: number;
  readonly maxRowsPerUser?: number;
  readonly clamp?: readonly [number, number];
  /** A sum's grid step (see mechanisms.ts). */
  readonly resolution?: number;
  readonly sensitivityL1: number;
  readonly sensitivityL2: number;
  /** The query's share of the spend, exact: `1/10`. */
  readonly share: string;
  /** The discrete Laplace scale b or the discrete Gaussian σ², exact, in grid units for sums. */
  readonly scale: string;
  readonly noiseSd: number;
}

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : Number(v);
}

/** Every release in order. */
export async function readLedger(store: EventStore): Promise<LedgerEntry[]> {
  const d = store.dialect;
  const rows = await store.query(
    `SELECT release_id, ${d.epochMs(d.quoteIdentifier('at'))} AS at_ms, actor, ${d.quoteIdentifier('release')} AS release_text, mechanism, epsilon, rho, detail FROM ${TABLES.privacyLedger} ORDER BY release_id`,
  );
  return rows.map((r) => {
    const detail = JSON.parse(String(r.detail)) as LedgerDetail;
    const mechanism = String(r.mechanism) as DpMechanismKind;
    return {
      releaseId: num(r.release_id),
      atMs: num(r.at_ms),
      actor: String(r.actor),
      release: String(r.release_text),
      mechanism,
      epsilon: num(r.epsilon),
      rho: num(r.rho),
      delta: detail.delta ?? 0,
      // A row without the per-query conversion counts as one query (ε²/2, the larger).
      zcdpRho: detail.zcdpRho ?? (mechanism === 'laplace' ? (num(r.epsilon) ** 2) / 2 : num(r.rho)),
      detail,
    };
  });
}

/** The budget spent, the limits, and the combined guarantee, from the ledger's rows. */
export function budgetOf(entries: readonly SpendRecord[], privacy: PrivacyConfig): BudgetState {
  const totals = totalSpent(entries);
  const combined = combinedGuarantee(totals, privacy.budget.delta);
  return {
    epsilonSpent: toNumber(totals.epsilon),
    epsilonLimit: privacy.budget.epsilon,
    rhoSpent: toNumber(totals.rho),
    rhoLimit: privacy.budget.rho,
    combined,
    releases: totals.releases,
  };
}

export async function budgetState(store: EventStore, privacy: PrivacyConfig): Promise<BudgetState> {
  return budgetOf(await readLedger(store), privacy);
}

export interface SpendRequest {
  readonly release: string;
  readonly actor: string;
  readonly spend: DpSpend;
  readonly atMs?: number;
}

/**
 * Check the spend against the ledger and, if it fits, run `draw` (which adds the noise
 * and returns the ledger detail, the audit detail and the result), record the row and the
 * audit record: all in one transaction. A refusal throws before `draw` runs, so no noise
 * is drawn and nothing is recorded.
 */
export async function spendBudget<T>(
  store: EventStore,
  privacy: PrivacyConfig,
  request: SpendRequest,
  draw: () => { readonly detail: Omit<LedgerDetail, 'auditSeq'>; readonly audit: Record<string, unknown>; readonly result: T },
): Promise<{ readonly releaseId: number; readonly result: T; readonly budget: BudgetState; readonly auditSeq: number }> {
  const d = store.dialect;
  return serialized(store, () => store.transaction(async () => {
    const before = await readLedger(store);
    checkBudget(totalSpent(before), request.spend, privacy.budget, request.release);
    const drawn = draw();
    const releaseId = before.length === 0 ? 1 : Math.max(...before.map((e) => e.releaseId)) + 1;
    const epsilon = request.spend.mechanism === 'laplace' ? request.spend.epsilon : 0;
    const rho = request.spend.mechanism === 'gaussian' ? request.spend.rho : 0;
    const audit = await appendAudit(store, {
      actor: request.actor,
      action: 'privacy.release',
      target: request.release,
      detail: { releaseId, mechanism: request.spend.mechanism, epsilon, rho, ...drawn.audit },
      ...(request.atMs !== undefined ? { atMs: request.atMs } : {}),
    });
    const detail: LedgerDetail = { ...drawn.detail, auditSeq: audit.seq };
    await store.execute(
      `INSERT INTO ${TABLES.privacyLedger} (release_id, ${d.quoteIdentifier('at')}, actor, ${d.quoteIdentifier('release')}, mechanism, epsilon, rho, detail) VALUES (${releaseId}, ${d.timestampLiteral(audit.atMs)}, ${d.stringLiteral(request.actor)}, ${d.stringLiteral(request.release)}, ${d.stringLiteral(request.spend.mechanism)}, ${d.numberLiteral(epsilon)}, ${d.numberLiteral(rho)}, ${d.stringLiteral(JSON.stringify(detail))})`,
    );
    const entry: SpendRecord = { mechanism: request.spend.mechanism, epsilon, rho, delta: detail.delta, zcdpRho: detail.zcdpRho };
    return { releaseId, result: drawn.result, budget: budgetOf([...before, entry], privacy), auditSeq: audit.seq };
  }));
}

/** Releases through one store object run one after another (a server's concurrent requests cannot interleave a check and a spend). */
const releaseQueues = new WeakMap<EventStore, Promise<unknown>>();
function serialized<T>(store: EventStore, fn: () => Promise<T>): Promise<T> {
  const run = (releaseQueues.get(store) ?? Promise.resolve()).then(fn, fn);
  releaseQueues.set(store, run.catch(() => undefined));
  return run;
}

/** `strata privacy budget`: the ledger's releases and, per budget, spent / limit / remaining. */
export interface BudgetReport {
  readonly releases: readonly {
    readonly releaseId: number;
    readonly at: string;
    readonly actor: string;
    readonly release: string;
    readonly mechanism: DpMechanismKind;
    readonly epsilon: number;
    readonly rho: number;
    readonly delta: number;
  }[];
  readonly epsilon: BudgetLine;
  readonly rho: BudgetLine;
  /** Every release together as one (ε, δ)-DP statement (accounting.ts header). */
  readonly combined: BudgetState['combined'];
  /** privacy.budget.delta: the δ at which zCDP is stated as (ε, δ)-DP. */
  readonly configuredDelta: number;
}

export interface BudgetLine {
  readonly spent: number;
  readonly limit: number;
  /** limit − spent, exactly (never below 0 in display; negative only after a ClickHouse race). */
  readonly remaining: number;
}

export async function budgetReport(store: EventStore, privacy: PrivacyConfig): Promise<BudgetReport> {
  const entries = await readLedger(store);
  const totals = totalSpent(entries);
  const line = (spent: Rational, limit: number): BudgetLine => ({ spent: toNumber(spent), limit, remaining: signed(sub(exactOf(limit), spent)) });
  return {
    releases: entries.map((e) => ({ releaseId: e.releaseId, at: new Date(e.atMs).toISOString(), actor: e.actor, release: e.release, mechanism: e.mechanism, epsilon: e.epsilon, rho: e.rho, delta: e.delta })),
    epsilon: line(totals.epsilon, privacy.budget.epsilon),
    rho: line(totals.rho, privacy.budget.rho),
    combined: combinedGuarantee(totals, privacy.budget.delta),
    configuredDelta: privacy.budget.delta,
  };
}

/** A rational whose numerator may be negative, as a double. */
function signed(r: Rational): number {
  return r.p < 0n ? -toNumber({ p: -r.p, q: r.q }) : toNumber(r);
}
