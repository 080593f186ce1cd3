/**
 * Stored CLV fits, versioned: table `clv_fits (version, model, unit, calibration_end,
 * created_at, customers, fit)` (metadata, on the initiator of a cluster). Each `clv fit`
 * adds version max + 1; `fit` is the JSON of a `StoredClvFit` without its version and
 * dates. `fitWorkspaceClv` is the whole fit from the store: summaries in SQL, then the
 * transaction model and (when purchases have a value) Gamma-Gamma.
 */
import type { PurchaseSettings } from '../../analysis/rfm/rfm-config.js';
import { StrataError } from '../../errors/errors.js';
import type { EventStore } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';
import { scoreCustomers, UNITS_PER_YEAR, UNIT_DAYS, type TimeUnit } from './clv.js';
import { customerSummaries, type WorkspaceSummaries } from './customer-summaries.js';
import { fitGammaGamma, fitTransactionModel, type GammaGammaFit, type TransactionFit, type TransactionModel } from './fit.js';

export interface StoredClvFit {
  readonly version: number;
  readonly createdAtMs: number;
  readonly unit: TimeUnit;
  /** The calibration period's last day, 00:00 UTC. */
  readonly calibrationEndMs: number;
  readonly purchase: PurchaseSettings;
  readonly transactions: TransactionFit;
  /** null when purchases carry no value (no spend model, no CLV). */
  readonly spend: GammaGammaFit | null;
}

export interface ClvFitOptions {
  readonly purchase: PurchaseSettings;
  readonly model: TransactionModel;
  readonly unit: TimeUnit;
  readonly calibrationEndMs: number | null;
  readonly nowMs: number;
  /** Called between steps: 'summaries', 'transactions', 'spend'. */
  readonly onStep?: (step: 'summaries' | 'transactions' | 'spend') => void;
}

const toNumber = (v: unknown): number => Number(v);

/** Fit the models on the workspace's purchases (not stored: see `saveClvFit`). */
export async function fitWorkspaceClv(store: EventStore, options: ClvFitOptions): Promise<Omit<StoredClvFit, 'version'>> {
  options.onStep?.('summaries');
  const summaries = await customerSummaries(store, { purchase: options.purchase, calibrationEndMs: options.calibrationEndMs, unit: options.unit, nowMs: options.nowMs });
  options.onStep?.('transactions');
  const transactions = fitTransactionModel(options.model, summaries);
  options.onStep?.('spend');
  const spend = options.purchase.value === null ? null : fitGammaGamma(summaries);
  return { createdAtMs: options.nowMs, unit: options.unit, calibrationEndMs: summaries.calibrationEndMs, purchase: options.purchase, transactions, spend };
}

/** Store a fit as the next version; returns it with its version. */
export async function saveClvFit(store: EventStore, fit: Omit<StoredClvFit, 'version'>): Promise<StoredClvFit> {
  const d = store.dialect;
  return store.transaction(async () => {
    const [row] = await store.query(`SELECT max(version) AS v FROM ${TABLES.clvFits}`);
    const version = row?.v === null || row?.v === undefined ? 1 : toNumber(row.v) + 1;
    const body = JSON.stringify({ purchase: fit.purchase, transactions: fit.transactions, spend: fit.spend });
    await store.execute(
      `INSERT INTO ${TABLES.clvFits} (version, model, unit, calibration_end, created_at, customers, fit) VALUES (${version}, ${d.stringLiteral(fit.transactions.model)}, ${d.stringLiteral(fit.unit)}, ${d.timestampLiteral(fit.calibrationEndMs)}, ${d.timestampLiteral(fit.createdAtMs)}, ${fit.transactions.customers}, ${d.stringLiteral(body)})`,
    );
    return { ...fit, version };
  });
}

/** Every stored fit, oldest first. */
export async function listClvFits(store: EventStore): Promise<StoredClvFit[]> {
  const d = store.dialect;
  const rows = await store.query(
    `SELECT version, unit, ${d.epochMs('calibration_end')} AS end_ms, ${d.epochMs('created_at')} AS created_ms, fit FROM ${TABLES.clvFits} ORDER BY version`,
  );
  return rows.map((r) => {
    const body = JSON.parse(String(r.fit)) as Pick<StoredClvFit, 'purchase' | 'transactions' | 'spend'>;
    return { version: toNumber(r.version), createdAtMs: toNumber(r.created_ms), unit: String(r.unit) as TimeUnit, calibrationEndMs: toNumber(r.end_ms), ...body };
  });
}

/** One stored fit: `version`, or the latest when null. */
export async function getClvFit(store: EventStore, version: number | null): Promise<StoredClvFit> {
  const fits = await listClvFits(store);
  const fit = version === null ? fits.at(-1) : fits.find((f) => f.version === version);
  if (!fit) {
    const known = fits.map((f) => f.version).join(', ');
    throw new StrataError('INPUT_INVALID', version === null ? 'no stored CLV fit: run `strata clv fit` first' : `no CLV fit version ${version} (stored: ${known || 'none'})`);
  }
  return fit;
}

export interface ClvScoreOptions {
  /** The horizon, in days. */
  readonly horizonDays: number;
  /** Annual discount rate. */
  readonly discountRate: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ClvUserScore {
  readonly user_id: string;
  readonly x: number;
  readonly tx: number;
  readonly T: number;
  readonly monetary: number;
  readonly probability_alive: number;
  readonly expected_purchases: number;
  /** Expected value per future transaction (Gamma-Gamma); null without a spend model. */
  readonly expected_spend: number | null;
  /** null without a spend model. */
  readonly clv: number | null;
}

/**
 * Every customer's scores under a stored fit, from their summaries as of the fit's
 * calibration end (the period the fit describes), in byte order of the user id.
 */
export async function scoreWorkspaceClv(store: EventStore, fit: StoredClvFit, options: ClvScoreOptions): Promise<ClvUserScore[]> {
  if (!(options.horizonDays > 0)) throw new StrataError('INPUT_INVALID', `the horizon must be positive, got ${options.horizonDays} days`);
  if (!(options.discountRate >= 0)) throw new StrataError('INPUT_INVALID', `the discount rate must be >= 0, got ${options.discountRate}`);
  const s: WorkspaceSummaries = await customerSummaries(store, { purchase: fit.purchase, calibrationEndMs: fit.calibrationEndMs, unit: fit.unit });
  const unitDays = UNIT_DAYS[fit.unit];
  const settings = { horizon: options.horizonDays / unitDays, discountRate: options.discountRate, unitsPerYear: UNITS_PER_YEAR[fit.unit], step: 7 / unitDays };
  const flatSpend: GammaGammaFit = fit.spend ?? { params: { p: 1, q: 2, gamma: 1 }, logLikelihood: 0, customers: 0, evaluations: 0, converged: true };
  const scores = scoreCustomers(fit.transactions, flatSpend, s, settings, options.onProgress ? (done) => options.onProgress!(done, s.x.length) : undefined);
  return s.userIds.map((user_id, i) => ({
    user_id,
    x: s.x[i]!,
    tx: s.tx[i]!,
    T: s.T[i]!,
    monetary: s.monetary[i]!,
    probability_alive: scores.probabilityAlive[i]!,
    expected_purchases: scores.expectedPurchases[i]!,
    expected_spend: fit.spend ? scores.expectedSpend[i]! : null,
    clv: fit.spend ? scores.clv[i]! : null,
  }));
}
