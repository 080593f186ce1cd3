/**
 * Reading stored models for people: every model of every kind with its latest version and
 * scoring run (`list`), and one churn/propensity version in full (`show`).
 */
import type { EventStore } from '../../store/event-store.js';
import { listModelVersions, listScoreRuns, type ModelKind, type ScoreRun } from './model-store.js';
import { iso, loadSupervisedModel, type SupervisedModelBody } from './supervised-model.js';

export interface ModelListItem {
  readonly key: string;
  readonly kind: ModelKind;
  readonly name: string | null;
  readonly versions: number;
  readonly latestVersion: number;
  readonly latestCreatedAt: string;
  /** The latest version's holdout AUC, when it has one (churn and propensity). */
  readonly holdoutAuc: number | null;
  /** The run with the latest as-of instant (the one conditions read from then on). */
  readonly lastRun: { readonly runId: number; readonly version: number; readonly asOf: string; readonly users: number } | null;
}

const field = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((o, k) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined), v);

/** Every stored model (churn, propensity and personas), by key. */
export async function listModels(store: EventStore): Promise<ModelListItem[]> {
  const versions = await listModelVersions(store);
  const runs = await listScoreRuns(store);
  const byKey = new Map<string, typeof versions>();
  for (const v of versions) byKey.set(v.key, [...(byKey.get(v.key) ?? []), v]);
  return [...byKey].map(([key, vs]) => {
    const latest = vs.at(-1)!;
    let last: ScoreRun | null = null;
    for (const r of runs) if (r.modelKey === key && (last === null || r.asOfMs > last.asOfMs || (r.asOfMs === last.asOfMs && r.runId > last.runId))) last = r;
    const auc = field(latest.body, 'evaluation', 'holdout', 'auc');
    const name = field(latest.body, 'definition', 'name') ?? field(latest.body, 'name');
    return {
      key,
      kind: latest.kind,
      name: typeof name === 'string' ? name : null,
      versions: vs.length,
      latestVersion: latest.version,
      latestCreatedAt: iso(latest.createdAtMs),
      holdoutAuc: typeof auc === 'number' ? auc : null,
      lastRun: last === null ? null : { runId: last.runId, version: last.modelVersion, asOf: iso(last.asOfMs), users: last.users },
    };
  });
}

export interface ModelDetails {
  readonly key: string;
  readonly version: number;
  readonly kind: ModelKind;
  readonly createdAt: string;
  readonly body: SupervisedModelBody;
  readonly versions: readonly { readonly version: number; readonly createdAt: string; readonly holdoutAuc: number | null }[];
  /** Every scoring run of the model (all versions), oldest first. */
  readonly runs: readonly { readonly runId: number; readonly version: number; readonly asOf: string; readonly createdAt: string; readonly users: number }[];
}

/** One churn or propensity version: definition, instants, evaluation, importance, and the model's runs. */
export async function showModel(store: EventStore, key: string, version: number | null = null): Promise<ModelDetails> {
  const { stored } = await loadSupervisedModel(store, key, version);
  const versions = await listModelVersions<SupervisedModelBody>(store, key);
  const runs = await listScoreRuns(store, key);
  return {
    key,
    version: stored.version,
    kind: stored.kind,
    createdAt: iso(stored.createdAtMs),
    body: stored.body,
    versions: versions.map((v) => ({ version: v.version, createdAt: iso(v.createdAtMs), holdoutAuc: v.body.evaluation?.holdout?.auc ?? null })),
    runs: runs.map((r) => ({ runId: r.runId, version: r.modelVersion, asOf: iso(r.asOfMs), createdAt: iso(r.createdAtMs), users: r.users })),
  };
}
