/**
 * Stored models and their scores: the versioned computed traits the `score`, `percentile`
 * and `cluster` segment conditions read.
 *
 * - `model_versions (key, version, kind, created_at, body)`: every trained model (churn,
 *   propensity) or persona clustering, version max + 1 per key; `body` is JSON owned by
 *   the model kind (definition, artifact, evaluation).
 * - `score_runs (run_id, model_key, model_version, kind, as_of, created_at, users)`: one
 *   scoring of the population as of an instant. Written after its rows, so a run's rows are
 *   visible to readers only once complete.
 * - `model_scores (run_id, user_id, score, percentile, cluster)`: user-keyed (sharded with
 *   the user's events on a ClickHouse cluster, erased with the user).
 *
 * Which run a condition reads (`scoreRunsAsOf`): for a model and an evaluation instant T,
 * the run with the latest `as_of <= T` (ties: the latest run). A run as of T0 read only
 * events before T0, all of which exist at T >= T0, so a segment evaluated in the past never
 * sees a score computed from its future. No run: every user's score is missing, and a
 * condition on it is false (two-valued logic, DESIGN.md).
 *
 * Percentile: 100 × (number of the run's users with score <= s) / (users in the run), the
 * "weak" percentile rank (scipy.stats.percentileofscore(kind='weak')); the top decile is
 * `percentile: {gt: 90}`.
 */
import { appendAudit, LIBRARY_ACTOR } from '../../governance/audit-log.js';
import { StrataError } from '../../errors/errors.js';
import type { EventStore } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';

export type ModelKind = 'churn' | 'propensity' | 'personas';
export const MODEL_KINDS: readonly ModelKind[] = ['churn', 'propensity', 'personas'];
/** What a kind's runs hold: a probability (`score`, `percentile`) or a persona id (`cluster`). */
export type ScoreRunKind = 'score' | 'cluster';

export function runKindOf(kind: ModelKind): ScoreRunKind {
  return kind === 'personas' ? 'cluster' : 'score';
}

/** Model keys: the segment key rule. */
export const MODEL_KEY_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface StoredModelVersion<B = Record<string, unknown>> {
  readonly key: string;
  readonly version: number;
  readonly kind: ModelKind;
  readonly createdAtMs: number;
  readonly body: B;
}

export interface ScoreRun {
  readonly runId: number;
  readonly modelKey: string;
  readonly modelVersion: number;
  readonly kind: ScoreRunKind;
  readonly asOfMs: number;
  readonly createdAtMs: number;
  readonly users: number;
}

const num = (v: unknown): number => Number(v);

function checkKey(key: string): void {
  if (!MODEL_KEY_PATTERN.test(key)) {
    throw new StrataError('INPUT_INVALID', `model key "${key}" must match ${MODEL_KEY_PATTERN.source} (lower-case letters, digits and '-')`, [{ path: 'key', message: 'expected a key such as churn-risk' }]);
  }
}

/** Store `body` as the next version of model `key`; a key keeps its kind. */
export async function saveModelVersion<B>(
  store: EventStore,
  model: { key: string; kind: ModelKind; createdAtMs: number; body: B },
  audit?: ModelVersionAudit<B>,
): Promise<StoredModelVersion<B>> {
  checkKey(model.key);
  const d = store.dialect;
  return store.transaction(async () => {
    const rows = await store.query(`SELECT version, kind, body FROM ${TABLES.modelVersions} WHERE key = ${d.stringLiteral(model.key)} ORDER BY version DESC LIMIT 1`);
    const last = rows[0];
    if (last && String(last.kind) !== model.kind) {
      throw new StrataError('INPUT_INVALID', `model "${model.key}" is a ${String(last.kind)} model; a ${model.kind} model needs another key`, [{ path: 'key', message: 'expected a new key' }]);
    }
    const version = last ? num(last.version) + 1 : 1;
    await store.execute(
      `INSERT INTO ${TABLES.modelVersions} (key, version, kind, created_at, body) VALUES (${d.stringLiteral(model.key)}, ${version}, ${d.stringLiteral(model.kind)}, ${d.timestampLiteral(model.createdAtMs)}, ${d.stringLiteral(JSON.stringify(model.body))})`,
    );
    if (audit) {
      // In the same transaction as the version (issue 7's audit log).
      const previous = last ? { version: num(last.version), body: JSON.parse(String(last.body)) as B } : null;
      await appendAudit(store, { actor: audit.actor ?? LIBRARY_ACTOR, action: audit.action, target: model.key, detail: audit.detail(version, previous) });
    }
    return { key: model.key, version, kind: model.kind, createdAtMs: model.createdAtMs, body: model.body };
  });
}

/** The audit record written with a saved version: its action and detail, from the new version and the previous one. */
export interface ModelVersionAudit<B> {
  /** Default `library`. */
  readonly actor?: string;
  /** `model.train` or `personas.save`. */
  readonly action: string;
  readonly detail: (version: number, previous: { readonly version: number; readonly body: B } | null) => unknown;
}

/** Every stored version (of one model, or of all), by key then version. */
export async function listModelVersions<B = Record<string, unknown>>(store: EventStore, key?: string): Promise<StoredModelVersion<B>[]> {
  const d = store.dialect;
  const where = key === undefined ? '' : ` WHERE key = ${d.stringLiteral(key)}`;
  const rows = await store.query(`SELECT key, version, kind, ${d.epochMs('created_at')} AS created_ms, body FROM ${TABLES.modelVersions}${where} ORDER BY key, version`);
  return rows.map((r) => ({ key: String(r.key), version: num(r.version), kind: String(r.kind) as ModelKind, createdAtMs: num(r.created_ms), body: JSON.parse(String(r.body)) as B }));
}

/** One version of a model (the latest when `version` is null), or a clear error naming what is stored. */
export async function getModelVersion<B = Record<string, unknown>>(store: EventStore, key: string, version: number | null = null): Promise<StoredModelVersion<B>> {
  const versions = await listModelVersions<B>(store, key);
  const found = version === null ? versions.at(-1) : versions.find((v) => v.version === version);
  if (found) return found;
  if (versions.length === 0) {
    const keys = [...(await modelCatalogue(store)).keys()];
    throw new StrataError('MODEL_NOT_FOUND', `no model "${key}" (stored: ${keys.join(', ') || 'none'})`);
  }
  throw new StrataError('MODEL_NOT_FOUND', `model "${key}" has no version ${version} (stored: ${versions.map((v) => v.version).join(', ')})`);
}

/** Each stored model's key and kind: what segment validation checks `{score: KEY}` and `{cluster: KEY}` against. */
export async function modelCatalogue(store: EventStore): Promise<Map<string, ModelKind>> {
  const rows = await store.query(`SELECT DISTINCT key, kind FROM ${TABLES.modelVersions} ORDER BY key`);
  return new Map(rows.map((r) => [String(r.key), String(r.kind) as ModelKind]));
}

/**
 * Weak percentile ranks: 100 × #{j : s_j <= s_i} / n for every i (scipy's
 * percentileofscore(kind='weak')). O(n log n): one sort, ties share their last rank.
 */
export function percentileRanks(scores: Float64Array): Float64Array {
  const n = scores.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[a]! - scores[b]!);
  const out = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const pct = (100 * (j + 1)) / n;
    for (let k = i; k <= j; k++) out[order[k]!] = pct;
    i = j + 1;
  }
  return out;
}

export interface ScoreRunInput {
  readonly modelKey: string;
  readonly modelVersion: number;
  readonly asOfMs: number;
  readonly createdAtMs: number;
  readonly userIds: readonly string[];
  /** Probabilities (kind `score`); percentiles are computed from them. */
  readonly scores?: Float64Array;
  /** Persona ids (kind `cluster`). */
  readonly clusters?: Int32Array;
}

/**
 * Write one scoring run: the rows first, then the run record that makes them visible. On
 * DuckDB both commit together; on ClickHouse a failure removes the rows already written.
 */
export async function writeScoreRun(store: EventStore, input: ScoreRunInput): Promise<ScoreRun> {
  const n = input.userIds.length;
  const kind: ScoreRunKind = input.clusters ? 'cluster' : 'score';
  if ((input.scores === undefined) === (input.clusters === undefined)) throw new StrataError('INPUT_INVALID', 'a scoring run holds either scores or clusters');
  const values = input.scores ?? input.clusters!;
  if (values.length !== n) throw new StrataError('INPUT_INVALID', `${values.length} values for ${n} users`);
  if (input.scores) for (let i = 0; i < n; i++) if (!Number.isFinite(input.scores[i]!)) throw new StrataError('INPUT_INVALID', `the score of user "${input.userIds[i]}" is ${input.scores[i]}, expected a finite number`);
  const d = store.dialect;
  return store.transaction(async () => {
    const [row] = await store.query(`SELECT max(run_id) AS m FROM ${TABLES.scoreRuns}`);
    const runId = row?.m === null || row?.m === undefined ? 1 : num(row.m) + 1;
    const nan = (): Float64Array => new Float64Array(n).fill(Number.NaN);
    const runIds = new Float64Array(n).fill(runId);
    try {
      await store.appendRows(
        TABLES.modelScores,
        [
          { name: 'run_id', type: 'bigint', values: runIds },
          { name: 'user_id', type: 'string', values: input.userIds },
          { name: 'score', type: 'double', values: input.scores ?? nan() },
          { name: 'percentile', type: 'double', values: input.scores ? percentileRanks(input.scores) : nan() },
          { name: 'cluster', type: 'integer', values: input.clusters ? Float64Array.from(input.clusters) : nan() },
        ],
        n,
      );
      await store.execute(
        `INSERT INTO ${TABLES.scoreRuns} (run_id, model_key, model_version, kind, as_of, created_at, users) VALUES (${runId}, ${d.stringLiteral(input.modelKey)}, ${input.modelVersion}, ${d.stringLiteral(kind)}, ${d.timestampLiteral(input.asOfMs)}, ${d.timestampLiteral(input.createdAtMs)}, ${n})`,
      );
    } catch (e) {
      if (store.engine !== 'duckdb') await store.deleteWhere(TABLES.modelScores, `run_id = ${runId}`).catch(() => undefined);
      throw e;
    }
    return { runId, modelKey: input.modelKey, modelVersion: input.modelVersion, kind, asOfMs: input.asOfMs, createdAtMs: input.createdAtMs, users: n };
  });
}

function runFromRow(r: Record<string, unknown>): ScoreRun {
  return {
    runId: num(r.run_id),
    modelKey: String(r.model_key),
    modelVersion: num(r.model_version),
    kind: String(r.kind) as ScoreRunKind,
    asOfMs: num(r.as_of_ms),
    createdAtMs: num(r.created_ms),
    users: num(r.users),
  };
}

/** Every scoring run (of one model, or all), oldest first. */
export async function listScoreRuns(store: EventStore, modelKey?: string): Promise<ScoreRun[]> {
  const d = store.dialect;
  const where = modelKey === undefined ? '' : ` WHERE model_key = ${d.stringLiteral(modelKey)}`;
  const rows = await store.query(
    `SELECT run_id, model_key, model_version, kind, ${d.epochMs('as_of')} AS as_of_ms, ${d.epochMs('created_at')} AS created_ms, users FROM ${TABLES.scoreRuns}${where} ORDER BY run_id`,
  );
  return rows.map(runFromRow);
}

/**
 * The run each model's conditions read at `asOfMs`: the latest `as_of <= asOfMs`, ties to
 * the latest run; null when the model has none yet. Resolved before SQL is compiled, so the
 * per-user SQL names a run id and each shard reads only its own `model_scores` rows.
 */
export async function scoreRunsAsOf(store: EventStore, modelKeys: Iterable<string>, asOfMs: number): Promise<Map<string, number | null>> {
  const keys = [...new Set(modelKeys)];
  const out = new Map<string, number | null>(keys.map((k) => [k, null]));
  if (keys.length === 0) return out;
  const runs = (await listScoreRuns(store)).filter((r) => out.has(r.modelKey) && r.asOfMs <= asOfMs);
  const best = new Map<string, ScoreRun>();
  for (const r of runs) {
    const b = best.get(r.modelKey);
    if (!b || r.asOfMs > b.asOfMs || (r.asOfMs === b.asOfMs && r.runId > b.runId)) best.set(r.modelKey, r);
  }
  for (const [k, r] of best) out.set(k, r.runId);
  return out;
}

export interface UserScore {
  readonly userId: string;
  readonly score: number | null;
  readonly percentile: number | null;
  readonly cluster: number | null;
}

/** A run's rows (all, or those of `userIds`), in byte order of user id. */
export async function readScores(store: EventStore, runId: number, userIds?: readonly string[]): Promise<UserScore[]> {
  const d = store.dialect;
  const only = userIds === undefined ? '' : userIds.length === 0 ? ' AND 1 = 0' : ` AND user_id IN (${userIds.map((u) => d.stringLiteral(u)).join(', ')})`;
  const rows = await store.query(`SELECT user_id, score, percentile, cluster FROM ${TABLES.modelScores} WHERE run_id = ${runId}${only} ORDER BY user_id`);
  const orNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
  return rows.map((r) => ({ userId: String(r.user_id), score: orNull(r.score), percentile: orNull(r.percentile), cluster: orNull(r.cluster) }));
}
