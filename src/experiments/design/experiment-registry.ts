/**
 * The experiment registry: immutable, versioned experiment definitions, like segment
 * versions (src/segments/registry). `add` stores a new version of a definition only when
 * its canonical document changed; `get` re-validates the stored document against the
 * current plan and stored segments and returns the normalized definition.
 *
 * Table `experiment_versions (key, version, definition, definition_hash, created_at)`:
 * the definition is the canonical JSON of the document as written (defaults are not
 * filled in, so a default that changes later would show as such). The SQL is the
 * registry's dialect-neutral kind (src/segments/registry/registry-sql.ts): DuckDB, and
 * ClickHouse back to 18.16, where the table lives on the initiator only.
 *
 * `assignUser` answers `strata experiment assign`: the hash of helper module assign.ts,
 * with targeting evaluated in memory over the user's own rows (src/analysis/user), no
 * snapshot written.
 */
import { appendAudit, LIBRARY_ACTOR } from '../../governance/audit-log.js';
import { jsonDiff } from '../../governance/diff.js';
import { StrataError, isStrataError } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { userProfile } from '../../analysis/user/index.js';
import { closeKeys } from '../../segments/registry/close-keys.js';
import { toNumber } from '../../segments/registry/registry-sql.js';
import type { SegmentRegistry } from '../../segments/registry/segment-registry.js';
import type { EventStore } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';
import { formatInstant } from '../../time/time.js';
import { assignmentOutcome, variantBounds, type VariantBucketRange } from './assign.js';
import { canonicalExperimentJson, checkExperiment, experimentDefinitionHash, validateExperiment, type ExperimentContext } from './definition.js';
import type { AnalysisMethod, AssignmentOutcome, ExperimentDefinition, ExposureSource, StoredExperiment } from './types.js';

export interface ExperimentRegistryOptions {
  /** The clock for version times and list statuses; epoch ms. */
  readonly now?: () => number;
}

export interface ExperimentAddResult {
  readonly key: string;
  readonly version: number;
  readonly status: 'created' | 'updated' | 'unchanged';
}

/** draft: before start; running: in [start, stop); stopped: at or after stop; invalid: the stored document no longer validates. */
export type ExperimentStatus = 'draft' | 'running' | 'stopped' | 'invalid';

export interface ExperimentListItem {
  readonly key: string;
  readonly name: string;
  readonly version: number;
  readonly status: ExperimentStatus;
  readonly start: string | null;
  readonly stop: string | null;
  readonly method: AnalysisMethod | null;
  readonly exposure: ExposureSource | null;
  readonly variants: readonly string[];
  readonly targeting: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Why the stored document no longer validates (status invalid), e.g. a plan change. */
  readonly problem?: string;
}

export interface ExperimentVersionInfo {
  readonly version: number;
  readonly hash: string;
  readonly createdAt: string;
}

interface VersionRow {
  readonly key: string;
  readonly version: number;
  readonly definitionJson: string;
  readonly hash: string;
  readonly createdMs: number;
}

export class ExperimentRegistry {
  private readonly now: () => number;

  constructor(
    private readonly store: EventStore,
    private readonly plan: TrackingPlan,
    options: ExperimentRegistryOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  private get d() {
    return this.store.dialect;
  }

  /** The stored segment keys, which targeting and breakdown segments must name. */
  async context(): Promise<ExperimentContext> {
    const rows = await this.store.query(`SELECT DISTINCT key FROM ${TABLES.segmentVersions} ORDER BY key`);
    return { segmentKeys: rows.map((r) => String(r.key)) };
  }

  /**
   * Validate and store experiment documents (as parsed from YAML or JSON). A new version
   * is stored only when the canonical document changed. All or nothing: every document is
   * validated before anything is written, and the writes run in one transaction.
   */
  async add(documents: readonly unknown[], options: { readonly actor?: string } = {}): Promise<ExperimentAddResult[]> {
    const context = await this.context();
    const errors: { path: string; message: string }[] = [];
    const checked = documents.flatMap((doc, i) => {
      try {
        return [checkExperiment(doc, this.plan, context)];
      } catch (e) {
        if (!isStrataError(e) || e.code !== 'EXPERIMENT_INVALID') throw e;
        const at = documents.length > 1 ? `[${i}]` : '';
        for (const d of e.details) errors.push({ path: [at, d.path].filter(Boolean).join(' '), message: d.message });
        return [];
      }
    });
    if (errors.length > 0) {
      throw new StrataError('EXPERIMENT_INVALID', `${errors.length} problem${errors.length === 1 ? '' : 's'} in the experiment definitions`, errors);
    }
    const seen = new Map<string, number>();
    checked.forEach(({ definition }, i) => {
      const prior = seen.get(definition.key);
      if (prior !== undefined) {
        throw new StrataError('EXPERIMENT_INVALID', `experiment ${JSON.stringify(definition.key)} is given twice in one add`, [
          { path: `[${prior}].key`, message: `${JSON.stringify(definition.key)} first given here` },
          { path: `[${i}].key`, message: `${JSON.stringify(definition.key)} given again` },
        ]);
      }
      seen.set(definition.key, i);
    });

    return this.store.transaction(async () => {
      const stored = await this.latestVersions();
      const createdAt = this.d.timestampLiteral(this.now());
      const results: ExperimentAddResult[] = [];
      for (const { document, definition } of checked) {
        const hash = experimentDefinitionHash(document);
        const current = stored.get(definition.key);
        if (current && current.hash === hash) {
          results.push({ key: definition.key, version: current.version, status: 'unchanged' });
          continue;
        }
        const version = current ? current.version + 1 : 1;
        const canonical = canonicalExperimentJson(document);
        await this.store.execute(
          `INSERT INTO ${TABLES.experimentVersions} (key, version, definition, definition_hash, created_at) VALUES (${this.d.stringLiteral(definition.key)}, ${version}, ${this.d.stringLiteral(canonical)}, ${this.d.stringLiteral(hash)}, ${createdAt})`,
        );
        // In the same transaction as the version (issue 7's audit log).
        await appendAudit(this.store, {
          actor: options.actor ?? LIBRARY_ACTOR,
          action: 'experiment.add',
          target: definition.key,
          detail: { version, previousVersion: current?.version ?? null, diff: jsonDiff(current ? JSON.parse(current.definitionJson) : undefined, JSON.parse(canonical)) },
        });
        results.push({ key: definition.key, version, status: current ? 'updated' : 'created' });
      }
      return results;
    });
  }

  /** Every experiment at its latest version, by key, with its status as of now. */
  async list(): Promise<ExperimentListItem[]> {
    const latest = await this.latestVersions();
    const firsts = new Map(
      (await this.store.query(`SELECT key, ${this.d.epochMs('min(created_at)')} AS first_ms FROM ${TABLES.experimentVersions} GROUP BY key`)).map((r) => [
        String(r.key),
        toNumber(r.first_ms),
      ]),
    );
    const context = await this.context();
    const now = this.now();
    return [...latest.values()].map((row) => {
      const times = { createdAt: formatInstant(firsts.get(row.key) ?? row.createdMs), updatedAt: formatInstant(row.createdMs) };
      let def: ExperimentDefinition;
      try {
        def = validateExperiment(JSON.parse(row.definitionJson), this.plan, context);
      } catch (e) {
        if (!isStrataError(e)) throw e;
        const raw = JSON.parse(row.definitionJson) as { name?: unknown };
        const first = e.details[0];
        return {
          key: row.key,
          name: typeof raw.name === 'string' ? raw.name : row.key,
          version: row.version,
          status: 'invalid' as const,
          start: null,
          stop: null,
          method: null,
          exposure: null,
          variants: [],
          targeting: [],
          ...times,
          problem: first ? `${first.path ? `${first.path}: ` : ''}${first.message}` : e.message,
        };
      }
      return {
        key: row.key,
        name: def.name,
        version: row.version,
        status: experimentStatus(def, now),
        start: formatInstant(def.startMs),
        stop: def.stopMs === null ? null : formatInstant(def.stopMs),
        method: def.method,
        exposure: def.exposure,
        variants: def.variants.map((v) => v.key),
        targeting: def.targeting,
        ...times,
      };
    });
  }

  /** An experiment at its latest version (or `version`), re-validated and normalized. */
  async get(key: string, version?: number): Promise<StoredExperiment> {
    const row = await this.versionRow(key, version);
    const raw = JSON.parse(row.definitionJson) as unknown;
    let definition: ExperimentDefinition;
    try {
      definition = validateExperiment(raw, this.plan, await this.context());
    } catch (e) {
      if (!isStrataError(e) || e.code !== 'EXPERIMENT_INVALID') throw e;
      throw new StrataError(
        'EXPERIMENT_INVALID',
        `experiment ${JSON.stringify(key)} v${row.version} no longer validates against the tracking plan and stored segments (${e.details.length} error${e.details.length === 1 ? '' : 's'}); fix the plan, or add a corrected definition`,
        e.details,
        { cause: e },
      );
    }
    return { definition, version: row.version, createdAtMs: row.createdMs, definitionHash: row.hash };
  }

  /** The document of a version as stored (canonical JSON parsed), for show and export. */
  async document(key: string, version?: number): Promise<unknown> {
    return JSON.parse((await this.versionRow(key, version)).definitionJson) as unknown;
  }

  /** Every stored version of an experiment, oldest first. */
  async versions(key: string): Promise<ExperimentVersionInfo[]> {
    const rows = await this.store.query(
      `SELECT version, definition_hash, ${this.d.epochMs('created_at')} AS created_ms FROM ${TABLES.experimentVersions} WHERE key = ${this.d.stringLiteral(key)} ORDER BY version`,
    );
    if (rows.length === 0) throw await this.notFound(key);
    return rows.map((r) => ({ version: toNumber(r.version), hash: String(r.definition_hash), createdAt: formatInstant(toNumber(r.created_ms)) }));
  }

  private async versionRow(key: string, version?: number): Promise<VersionRow> {
    const which =
      version === undefined
        ? `version IN (SELECT max(version) FROM ${TABLES.experimentVersions} WHERE key = ${this.d.stringLiteral(key)})`
        : `version = ${this.d.numberLiteral(version)}`;
    const rows = await this.store.query(
      `SELECT key, version, definition, definition_hash, ${this.d.epochMs('created_at')} AS created_ms FROM ${TABLES.experimentVersions} WHERE key = ${this.d.stringLiteral(key)} AND ${which}`,
    );
    if (rows.length === 0) {
      if (version === undefined) throw await this.notFound(key);
      const versions = await this.versions(key);
      throw new StrataError(
        'EXPERIMENT_NOT_FOUND',
        `experiment ${JSON.stringify(key)} has no version ${version}; stored versions: ${versions.map((v) => `v${v.version}`).join(', ')}`,
      );
    }
    return toVersionRow(rows[0]!);
  }

  private async latestVersions(): Promise<Map<string, VersionRow>> {
    const rows = await this.store.query(
      `SELECT key, version, definition, definition_hash, ${this.d.epochMs('created_at')} AS created_ms
FROM ${TABLES.experimentVersions}
WHERE (key, version) IN (SELECT key, max(version) FROM ${TABLES.experimentVersions} GROUP BY key)
ORDER BY key`,
    );
    return new Map(rows.map((r) => [String(r.key), toVersionRow(r)]));
  }

  private async notFound(key: string): Promise<StrataError> {
    const known = (await this.store.query(`SELECT DISTINCT key FROM ${TABLES.experimentVersions} ORDER BY key`)).map((r) => String(r.key));
    return experimentNotFound(key, known);
  }
}

function toVersionRow(r: Record<string, unknown>): VersionRow {
  return {
    key: String(r.key),
    version: toNumber(r.version),
    definitionJson: String(r.definition),
    hash: String(r.definition_hash),
    createdMs: toNumber(r.created_ms),
  };
}

/** EXPERIMENT_NOT_FOUND with the stored keys closest to a mistyped one (as segmentNotFound does for segments). */
export function experimentNotFound(key: string, known: readonly string[]): StrataError {
  const close = closeKeys(key, known);
  const hint =
    close.length > 0
      ? `did you mean ${close.map((k) => JSON.stringify(k)).join(', ')}?`
      : known.length === 0
        ? 'no experiments are registered yet (strata experiment add FILE)'
        : 'no registered key is close to it';
  return new StrataError('EXPERIMENT_NOT_FOUND', `no experiment ${JSON.stringify(key)}; ${hint}`);
}

/** draft before start, stopped at or after stop, running in between. */
export function experimentStatus(def: Pick<ExperimentDefinition, 'startMs' | 'stopMs'>, nowMs: number): Exclude<ExperimentStatus, 'invalid'> {
  if (nowMs < def.startMs) return 'draft';
  if (def.stopMs !== null && nowMs >= def.stopMs) return 'stopped';
  return 'running';
}

// ---------------------------------------------------------------------------------------
// Assignment of one user

export interface TargetingMembership {
  readonly segment: string;
  readonly version: number;
  readonly member: boolean;
}

export interface UserAssignment {
  readonly experiment: string;
  readonly version: number;
  readonly userId: string;
  readonly asOf: string;
  readonly outcome: AssignmentOutcome;
  /** Each targeting segment and whether the user is in it as of asOf (empty: the experiment targets everyone). */
  readonly targeting: readonly TargetingMembership[];
  /** False when the store has no such user (then no targeting segment holds them); null when not looked up (no targeting). */
  readonly userFound: boolean | null;
  /** The variant bucket ranges, for reading the buckets. */
  readonly bounds: readonly VariantBucketRange[];
}

export interface AssignUserSources {
  readonly experiments: ExperimentRegistry;
  readonly segments: SegmentRegistry;
  readonly store: EventStore;
  readonly plan: TrackingPlan;
}

/**
 * Where the hash puts a user, and whether they are in the experiment as of asOf: the
 * outcome of assign.ts's `assignmentOutcome`, with "targeted" meaning a member of every
 * targeting segment as of asOf, evaluated by the in-memory evaluator over the user's own
 * rows (`userProfile` with the targeting segments only), so nothing is written.
 */
export async function assignUser(
  sources: AssignUserSources,
  key: string,
  userId: string,
  options: { readonly asOfMs: number; readonly version?: number },
): Promise<UserAssignment> {
  const stored = await sources.experiments.get(key, options.version);
  const def = stored.definition;
  const { targeting, userFound } = await targetingMembership(sources, def.targeting, userId, options.asOfMs);
  const outcome = assignmentOutcome(def, userId, { asOfMs: options.asOfMs, targeted: targeting.every((t) => t.member) });
  return {
    experiment: def.key,
    version: stored.version,
    userId,
    asOf: formatInstant(options.asOfMs),
    outcome,
    targeting,
    userFound,
    bounds: variantBounds(def),
  };
}

async function targetingMembership(
  sources: AssignUserSources,
  keys: readonly string[],
  userId: string,
  asOfMs: number,
): Promise<{ targeting: TargetingMembership[]; userFound: boolean | null }> {
  // Without targeting the hash alone decides: the store is not asked about the user.
  if (keys.length === 0) return { targeting: [], userFound: null };
  const segments = await sources.segments.currentSegments(keys);
  try {
    const profile = await userProfile({ store: sources.store, plan: sources.plan, segments }, userId, { asOfMs, recentEvents: 0 });
    const members = new Set(profile.segments.map((s) => s.key));
    return { targeting: segments.map((s) => ({ segment: s.key, version: s.version, member: members.has(s.key) })), userFound: true };
  } catch (e) {
    if (!isStrataError(e) || e.code !== 'USER_NOT_FOUND') throw e;
    return { targeting: segments.map((s) => ({ segment: s.key, version: s.version, member: false })), userFound: false };
  }
}
