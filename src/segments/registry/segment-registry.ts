/**
 * The segment registry: immutable, versioned definitions and the membership snapshots
 * computed from them, plus the analyses that read snapshots (members, diff, report,
 * overlap).
 *
 * Everything heavy stays inside the store: a compute call runs ONE compiled batch query
 * for all its segments and writes members with INSERT ... SELECT, member ids are read
 * back page by page, and the analyses are a few set-based queries each.
 *
 * A snapshot is identified by (segment key, definition version, asOf). It records the
 * segment's own version; a `{segment: KEY}` reference is inlined at the referenced
 * segment's version current at compute time.
 */
import type { Writable } from 'node:stream';
import { StrataError, isStrataError } from '../../errors/errors.js';
import type { LifecycleModel } from '../../analysis/lifecycle/lifecycle-model.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { EventStore, Row } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';
import { formatInstant } from '../../time/time.js';
import { compileSegmentBatch } from '../compile/index.js';
import type { SqlDialect } from '../compile/dialect.js';
import type { SegmentIR } from '../ir/nodes.js';
import {
  buildSegmentIR,
  canonicalDefinitionJson,
  definitionHash,
  validateSegment,
  type ModelKindName,
  type ConsentDefaults,
  type SegmentContext,
  type SegmentDefinition,
} from '../language/index.js';
import { appendAudit, LIBRARY_ACTOR } from '../../governance/audit-log.js';
import { jsonDiff } from '../../governance/diff.js';
import { scoreRunsFor, withModelCatalogue } from './score-runs.js';
import { segmentNotFound } from './close-keys.js';
import { writeMemberIds } from './member-export.js';
import {
  categoricalFeatures,
  categoricalSql,
  categoricalTraits,
  defaultMinSupport,
  eventFeatures,
  eventSql,
  mergeNumericParts,
  numericFeatures,
  numericSql,
  numericTraits,
  rankBinaryFeatures,
  rankNumericFeatures,
  type ReportQueryContext,
} from './membership-report.js';
import { asSubquery, byteOrder, populationPredicate, sumByKey, toNullableNumber, toNumber } from './registry-sql.js';
import { segmentHistory } from './snapshot-history.js';
import { DEFAULT_REPORT_WINDOW_MS, behaviorReport, behaviorSql, checkActivitySettings, type ActivitySettings } from './behavior-metrics.js';
import type { PurchaseSettings } from '../../analysis/rfm/rfm-config.js';
import type { BackfillResult, BackfillSnapshot, SegmentHistory } from './registry-types.js';
import type {
  AddResult,
  ComputeResult,
  DiffGroup,
  DiffResult,
  MemberFormat,
  MemberList,
  MembersExport,
  OverlapPair,
  OverlapResult,
  SegmentDetails,
  SegmentListItem,
  SegmentReport,
  SnapshotSummary,
} from './registry-types.js';

export interface SegmentRegistryOptions {
  /** The clock for version and snapshot times and the default asOf; epoch ms. */
  readonly now?: () => number;
  /** The workspace lifecycle model that `{lifecycle: STAGE}` refers to (Config.lifecycle); the default model when absent. */
  readonly lifecycle?: LifecycleModel;
  /** Consent without a `$consent` record, per purpose (Config.privacy.consentDefaults): what `{consent: P}` and targeting segments read; built-in defaults when absent. */
  readonly consentDefaults?: ConsentDefaults;
}

/** Who is making a change, for the audit log (default `library`; the CLI passes `--actor`). */
export interface AuditOptions {
  readonly actor?: string;
}

export interface AsOfOptions {
  /** Default: now. */
  readonly asOfMs?: number;
}

export interface MembersOptions extends AsOfOptions {
  /** Ids fetched per round trip. Default 50,000. */
  readonly pageSize?: number;
}

export interface WriteMembersOptions extends MembersOptions {
  readonly format: MemberFormat;
  /** A file path (created or truncated) or an open stream such as stdout (left open). */
  readonly out: string | Writable;
}

export interface DiffOptions {
  readonly fromMs: number;
  readonly toMs: number;
  /** Ids listed per group (entered, left, stayed); counts are always exact. Default 1,000. */
  readonly sampleLimit?: number;
}

export interface ReportOptions extends AsOfOptions {
  /** See membership-report.ts; default max(5, 1% of the population). */
  readonly minSupport?: number;
  /** The "recently did E" window in days. Default 30. */
  readonly recentDays?: number;
  /** Features listed per kind. Default 20. */
  readonly limit?: number;
  /** The behaviour window [asOf - window, asOf) in ms. Default 28 days. */
  readonly windowMs?: number;
  /** The purchase event for conversion and revenue (strata.yaml `rfm:`); without it the report says they need those settings. */
  readonly purchase?: PurchaseSettings | null;
}

export interface HistoryOptions {
  /** Only snapshots at or after this instant are listed (earlier ones still serve as previous and week-ago references). */
  readonly fromMs?: number;
  /** Only snapshots at or before this instant. */
  readonly toMs?: number;
  /** Every version's snapshots (at each instant the highest version), version changes marked; default: the current version's only. */
  readonly allVersions?: boolean;
}

export interface BackfillOptions {
  readonly fromMs: number;
  /** Included when from + k * step lands on it. */
  readonly toMs: number;
  readonly stepMs: number;
  /** Recompute instants that already have a snapshot of the current version. */
  readonly force?: boolean;
  /** Refuse more instants than this. Default 1,000. */
  readonly maxSteps?: number;
  /** After each instant: instants done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** A stored segment's current version and its IR, as every engine evaluates it. */
export interface CurrentSegment {
  readonly key: string;
  readonly version: number;
  readonly ir: SegmentIR;
}

export const DEFAULT_BACKFILL_MAX_STEPS = 1_000;

interface StoredVersion {
  readonly key: string;
  readonly version: number;
  readonly definitionJson: string;
  readonly hash: string;
  readonly firstCreatedMs: number;
  readonly createdMs: number;
}

const DEFAULT_PAGE_SIZE = 50_000;
const DEFAULT_SAMPLE_LIMIT = 1_000;
const SHOWN_SNAPSHOTS = 10;
const CHANGES = ['entered', 'left', 'stayed'] as const;
/** A query that returns no rows, in both dialects, for a part with nothing to ask. */
const NO_ROWS = 'SELECT 1 AS none WHERE 1 = 0';

export class SegmentRegistry {
  private readonly now: () => number;
  private readonly lifecycle: LifecycleModel | undefined;
  private readonly consentDefaults: ConsentDefaults | undefined;
  /** The model catalogue as last read from the store (segmentContext()). */
  private models: ReadonlyMap<string, ModelKindName> | undefined;
  private planApplied = false;

  constructor(
    private readonly store: EventStore,
    private readonly plan: TrackingPlan,
    options: SegmentRegistryOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.lifecycle = options.lifecycle;
    this.consentDefaults = options.consentDefaults;
  }

  /**
   * What definitions are checked and lowered against besides the plan: the lifecycle model
   * and the model catalogue as last read (none before the first segmentContext(), add,
   * compute or currentSegments call). Use segmentContext() to read the catalogue now.
   */
  get context(): SegmentContext {
    return {
      ...(this.lifecycle ? { lifecycle: this.lifecycle } : {}),
      ...(this.models ? { models: this.models } : {}),
      ...(this.consentDefaults ? { consentDefaults: this.consentDefaults } : {}),
    };
  }

  /** The context with the store's model catalogue read now (`{score: MODEL}` and `{cluster: MODEL}` are checked against it). */
  async segmentContext(): Promise<SegmentContext> {
    this.models = (await withModelCatalogue(this.store)).models;
    return this.context;
  }

  private get d() {
    return this.store.dialect;
  }

  /**
   * Validate and store definitions. A new immutable version is stored only when the
   * canonical definition changed. References must resolve among the stored segments and
   * the new ones, without cycles. All or nothing.
   */
  async add(definitions: readonly SegmentDefinition[], options: AuditOptions = {}): Promise<AddResult[]> {
    const context = await this.segmentContext();
    const validated = definitions.map((def) => validateSegment(def, this.plan, context));
    const seen = new Map<string, number>();
    validated.forEach((def, i) => {
      const prior = seen.get(def.key);
      if (prior !== undefined) {
        throw new StrataError('SEGMENT_INVALID', `segment "${def.key}" is given twice in one add`, [
          { path: `[${prior}].key`, message: `"${def.key}" first given here` },
          { path: `[${i}].key`, message: `"${def.key}" given again` },
        ]);
      }
      seen.set(def.key, i);
    });

    return this.store.transaction(async () => {
      const stored = await this.latestVersions();
      const incoming = new Map(validated.map((def) => [def.key, def]));
      const resolve = this.resolver(stored, incoming, context);
      // Building the IR inlines references: unknown keys and cycles through a new definition fail here.
      for (const def of validated) buildSegmentIR(def, this.plan, resolve, storedContext(context));

      const createdAt = this.d.timestampLiteral(this.now());
      const results: AddResult[] = [];
      for (const def of validated) {
        const hash = definitionHash(def);
        const current = stored.get(def.key);
        if (current && current.hash === hash) {
          results.push({ key: def.key, version: current.version, status: 'unchanged' });
          continue;
        }
        const version = current ? current.version + 1 : 1;
        const canonical = canonicalDefinitionJson(def);
        await this.store.execute(
          `INSERT INTO ${TABLES.segmentVersions} (key, version, definition, definition_hash, created_at) VALUES (${this.d.stringLiteral(def.key)}, ${version}, ${this.d.stringLiteral(canonical)}, ${this.d.stringLiteral(hash)}, ${createdAt})`,
        );
        // In the same transaction as the version: a change is stored with its audit record or not at all.
        await appendAudit(this.store, {
          actor: options.actor ?? LIBRARY_ACTOR,
          action: 'segment.add',
          target: def.key,
          detail: { version, previousVersion: current?.version ?? null, diff: jsonDiff(current ? JSON.parse(current.definitionJson) : undefined, JSON.parse(canonical)) },
        });
        results.push({ key: def.key, version, status: current ? 'updated' : 'created' });
      }
      return results;
    });
  }

  /** Every segment with its current version and its most recently computed snapshot. */
  async list(): Promise<SegmentListItem[]> {
    const versions = await this.latestVersions();
    // Per key, the latest computation, the larger id on a tie.
    const last = await this.snapshotRows(
      `snapshot_id IN (SELECT max(snapshot_id) FROM ${TABLES.snapshots}
  WHERE (segment_key, computed_at) IN (SELECT segment_key, max(computed_at) FROM ${TABLES.snapshots} GROUP BY segment_key)
  GROUP BY segment_key)`,
    );
    const lastByKey = new Map(last.map((s) => [s.key, s]));
    return [...versions.values()].map((v) => {
      const def = JSON.parse(v.definitionJson) as SegmentDefinition;
      return {
        key: v.key,
        name: def.name,
        objective: def.objective,
        owner: def.owner ?? null,
        tags: def.tags ?? [],
        version: v.version,
        createdAt: formatInstant(v.firstCreatedMs),
        updatedAt: formatInstant(v.createdMs),
        lastSnapshot: lastByKey.get(v.key) ?? null,
      };
    });
  }

  /** The current definition, every version, and the most recent snapshots. */
  async show(key: string): Promise<SegmentDetails> {
    const current = await this.requireLatest([key]);
    const v = current.get(key)!;
    const versions = await this.store.query(
      `SELECT version, definition_hash, ${this.d.epochMs('created_at')} AS created_ms FROM ${TABLES.segmentVersions} WHERE key = ${this.d.stringLiteral(key)} ORDER BY version`,
    );
    const snapshots = await this.snapshotRows(`segment_key = ${this.d.stringLiteral(key)}`, SHOWN_SNAPSHOTS);
    return {
      key,
      version: v.version,
      definition: JSON.parse(v.definitionJson) as SegmentDefinition,
      versions: versions.map((r) => ({ version: toNumber(r.version), hash: String(r.definition_hash), createdAt: formatInstant(toNumber(r.created_ms)) })),
      snapshots,
    };
  }

  /**
   * Materialize snapshots of the given segments (default: all) at asOf with one batch
   * query. Recomputing the same key, version and asOf replaces that snapshot.
   */
  async compute(keys?: readonly string[], options: AsOfOptions = {}): Promise<ComputeResult[]> {
    const asOfMs = this.asOf(options);
    const all = keys === undefined ? await this.latestVersions() : await this.requireLatest(keys);
    const targets = keys === undefined ? [...all.keys()] : unique(keys);
    if (targets.length === 0) return [];
    await this.ensurePlanColumns();
    const context = await this.segmentContext();
    const resolve = this.storedResolver(all, context);
    const irs: SegmentIR[] = targets.map((key) => buildSegmentIR(resolve(key)!, this.plan, resolve, storedContext(context)));
    // Each model's scoring run as of asOf, resolved once: every shard's query names the same run.
    const scoreRuns = await scoreRunsFor(this.store, irs, asOfMs);
    const compile = (dialect: SqlDialect) => compileSegmentBatch(irs, { dialect, asOfMs, scoreRuns });
    const columnOf = new Map(compile(this.d).columns.map((c) => [c.key, c.column]));
    const columns = targets.map((key) => {
      const column = columnOf.get(key);
      if (column === undefined) throw new StrataError('INTERNAL', `the compiled batch has no column for segment "${key}"`);
      return column;
    });

    const started = performance.now();
    return this.store.transaction(async () => {
      // New ids first: they are larger than any id the replaced snapshots had, so none is reused.
      const ids = await this.store.nextSnapshotIds(targets.length);
      const asOf = this.d.timestampLiteral(asOfMs);
      const matchesPrior = targets
        .map((key) => `(segment_key = ${this.d.stringLiteral(key)} AND version = ${all.get(key)!.version})`)
        .join(' OR ');
      const prior = (await this.store.query(`SELECT snapshot_id FROM ${TABLES.snapshots} WHERE as_of = ${asOf} AND (${matchesPrior})`)).map((r) =>
        toNumber(r.snapshot_id),
      );

      // Members are written where each user's rows are (every shard of a cluster); one scan
      // of the batch result fans each user out to the snapshots it belongs to.
      await this.store.executeByUser((d) => {
        const batch = compile(d);
        const slots = ids.map((id, i) => `SELECT CAST(${id} AS BIGINT) AS snapshot_slot_id, ${i} AS slot`).join(' UNION ALL ');
        const pick = columns.map((column, i) => `WHEN s.slot = ${i} THEN b.${d.quoteIdentifier(column)}`).join(' ');
        return `INSERT INTO ${d.table(TABLES.snapshotMembers)} (snapshot_id, user_id)
SELECT s.snapshot_slot_id, b.user_id
FROM ${asSubquery(batch.sql)} b CROSS JOIN (${slots}) s
WHERE CASE ${pick} END`;
      });
      const population = (
        await this.store.queryByUser((d) => `SELECT count() AS n FROM ${d.table(TABLES.users)} u WHERE ${populationPredicate(d, asOfMs)}`)
      ).reduce((sum, r) => sum + toNumber(r.n), 0);
      const sizes = new Map(
        (
          await this.store.query(
            `SELECT snapshot_id, count() AS n FROM ${this.d.table(TABLES.snapshotMembers)} WHERE snapshot_id IN (${ids.join(', ')}) GROUP BY snapshot_id`,
          )
        ).map((r) => [toNumber(r.snapshot_id), toNumber(r.n)]),
      );
      // The snapshot rows come last: readers start from them, so an interrupted compute is invisible.
      const computedAt = this.d.timestampLiteral(this.now());
      const rows = targets
        .map(
          (key, i) =>
            `(${ids[i]}, ${this.d.stringLiteral(key)}, ${all.get(key)!.version}, ${asOf}, ${computedAt}, ${sizes.get(ids[i]!) ?? 0}, ${population})`,
        )
        .join(', ');
      await this.store.execute(`INSERT INTO ${TABLES.snapshots} (snapshot_id, segment_key, version, as_of, computed_at, size, population) VALUES ${rows}`);
      // Recomputing a key, version and asOf replaces the earlier snapshot: its row goes first, then its members.
      if (prior.length > 0) {
        await this.store.deleteWhere(TABLES.snapshots, `snapshot_id IN (${prior.join(', ')})`);
        await this.store.deleteWhere(TABLES.snapshotMembers, `snapshot_id IN (${prior.join(', ')})`);
      }
      const elapsedMs = Math.round(performance.now() - started);
      return targets.map((key, i) => ({
        key,
        version: all.get(key)!.version,
        asOf: formatInstant(asOfMs),
        size: sizes.get(ids[i]!) ?? 0,
        population,
        snapshotId: ids[i]!,
        elapsedMs,
      }));
    });
  }

  /**
   * The snapshot of each segment's current version at asOf, computed (in one batch) where
   * missing. Analyses restrict to a segment by joining its snapshot's members
   * (`snapshot_members`, per user: on a cluster each shard holds its own users' rows).
   */
  async snapshots(keys: readonly string[], options: AsOfOptions = {}): Promise<Map<string, SnapshotSummary>> {
    return this.snapshotsAt(unique(keys), this.asOf(options));
  }

  /** The snapshot of one segment at asOf, computed first when missing. */
  async snapshot(key: string, options: AsOfOptions = {}): Promise<SnapshotSummary> {
    return (await this.snapshots([key], options)).get(key)!;
  }

  /**
   * The snapshot at asOf (computed first when missing) and its member ids, read page by
   * page in byte order of the id so memory stays flat whatever the size.
   */
  async members(key: string, options: MembersOptions = {}): Promise<MemberList> {
    const asOfMs = this.asOf(options);
    const snapshot = (await this.snapshotsAt([key], asOfMs)).get(key)!;
    return { snapshot, ids: this.memberIds(snapshot.snapshotId, options.pageSize ?? DEFAULT_PAGE_SIZE) };
  }

  /** Write the members at asOf as CSV (header `user_id`) or JSONL (`{"user_id": ...}`), one per row. */
  async writeMembers(key: string, options: WriteMembersOptions): Promise<MembersExport> {
    const { snapshot, ids } = await this.members(key, options);
    const written = await writeMemberIds(ids, options.format, options.out);
    return { snapshot, format: options.format, out: typeof options.out === 'string' ? options.out : null, written };
  }

  /** Member ids of one snapshot, keyset-paginated. */
  async *memberIds(snapshotId: number, pageSize = DEFAULT_PAGE_SIZE): AsyncGenerator<string> {
    const size = Math.max(1, Math.trunc(pageSize));
    let after: string | null = null;
    for (;;) {
      const rows: Row[] = await this.store.query(
        `SELECT user_id FROM ${this.d.table(TABLES.snapshotMembers)} WHERE snapshot_id = ${this.d.numberLiteral(snapshotId)}${
          after === null ? '' : ` AND user_id > ${this.d.stringLiteral(after)}`
        } ORDER BY user_id LIMIT ${size}`,
      );
      for (const r of rows) yield String(r.user_id);
      if (rows.length < size) return;
      after = String(rows[rows.length - 1]!.user_id);
    }
  }

  /**
   * Who entered, left and stayed between two instants, at the current version (snapshots
   * computed where missing). Counts are exact; each group lists up to `sampleLimit` ids.
   */
  async diff(key: string, options: DiffOptions): Promise<DiffResult> {
    const sampleLimit = Math.max(0, Math.trunc(options.sampleLimit ?? DEFAULT_SAMPLE_LIMIT));
    const from = (await this.snapshotsAt([key], options.fromMs)).get(key)!;
    const to = (await this.snapshotsAt([key], options.toMs)).get(key)!;
    // Per user, where the user's rows are: entered (only in `to`), left (only in `from`) or stayed.
    const changes = (d: SqlDialect) => `(SELECT user_id,
    CASE WHEN max(CASE WHEN snapshot_id = ${from.snapshotId} THEN 1 ELSE 0 END) = 0 THEN 'entered'
         WHEN max(CASE WHEN snapshot_id = ${to.snapshotId} THEN 1 ELSE 0 END) = 0 THEN 'left'
         ELSE 'stayed' END AS change
  FROM ${d.table(TABLES.snapshotMembers)} WHERE snapshot_id IN (${from.snapshotId}, ${to.snapshotId}) GROUP BY user_id) c`;
    const counts = sumByKey(
      await this.store.queryByUser((d) => `SELECT change, count() AS n FROM ${changes(d)} GROUP BY change`),
      (r) => String(r.change),
      'n',
    );
    const samples =
      sampleLimit === 0
        ? []
        : await this.store.queryByUser((d) =>
            CHANGES.map(
              (change) =>
                `SELECT change, user_id FROM (SELECT change, user_id FROM ${changes(d)} WHERE change = ${d.stringLiteral(change)} ORDER BY user_id LIMIT ${sampleLimit})`,
            ).join('\nUNION ALL\n'),
          );
    const group = (change: string): DiffGroup => {
      const count = counts.get(change) ?? 0;
      // Each part lists its first ids; the first of all of them are the group's.
      const sample = samples
        .filter((r) => r.change === change)
        .map((r) => String(r.user_id))
        .sort(byteOrder)
        .slice(0, sampleLimit);
      return { count, sample, complete: sample.length === count };
    };
    return { key, version: to.version, from, to, entered: group('entered'), left: group('left'), stayed: group('stayed'), sampleLimit };
  }

  /**
   * Size, share of the population, and the traits and events that most distinguish the
   * members from the rest (ranking rule in membership-report.ts), and their engagement,
   * conversion and revenue against the population (behavior-metrics.ts). Five queries
   * whatever the number of traits and events.
   */
  async report(key: string, options: ReportOptions = {}): Promise<SegmentReport> {
    const asOfMs = this.asOf(options);
    const recentDays = options.recentDays ?? 30;
    const limit = options.limit ?? 20;
    const activity: ActivitySettings = { asOfMs, windowMs: options.windowMs ?? DEFAULT_REPORT_WINDOW_MS, purchase: options.purchase ?? null, recency: true };
    checkActivitySettings(activity, this.plan);
    const snapshot = (await this.snapshotsAt([key], asOfMs)).get(key)!;
    await this.ensurePlanColumns();
    const ctx: ReportQueryContext = { dialect: this.d, snapshotId: snapshot.snapshotId, asOfMs };

    const numeric = numericTraits(this.plan);
    const totals = mergeNumericParts(await this.store.queryByUser((d) => numericSql({ ...ctx, dialect: d }, numeric)), numeric);
    const population = toNumber(totals.population);
    const size = toNumber(totals.size);
    const minSupport = options.minSupport ?? defaultMinSupport(population);

    const categorical = categoricalTraits(this.plan);
    const traitRows = await this.categoricalCounts(ctx, categorical, minSupport);
    const eventRows = await this.eventCounts(ctx, Object.keys(this.plan.events).sort(), recentDays);

    const features = [
      ...categoricalFeatures(traitRows, categorical, size, population),
      ...eventFeatures(eventRows, recentDays, size, population),
    ];
    const behavior = behaviorReport(await this.store.queryByUser((d) => behaviorSql(d, snapshot.snapshotId, activity)), activity);
    const def = await this.definitionAt(key, snapshot.version);
    return {
      key,
      version: snapshot.version,
      name: def.name,
      objective: def.objective,
      rationale: def.rationale,
      owner: def.owner ?? null,
      snapshot,
      size,
      population,
      share: population > 0 ? size / population : null,
      minSupport,
      recentDays,
      features: rankBinaryFeatures(features, minSupport, limit),
      numeric: rankNumericFeatures(numericFeatures(totals, numeric), limit),
      behavior,
    };
  }

  /** Pairwise intersections and Jaccard indexes of the segments (default: all) at asOf, in one query. */
  async overlap(keys?: readonly string[], options: AsOfOptions = {}): Promise<OverlapResult> {
    const asOfMs = this.asOf(options);
    const targets = keys === undefined ? [...(await this.latestVersions()).keys()] : unique(keys);
    const snaps = await this.snapshotsAt(targets, asOfMs);
    const segments = targets.map((key) => {
      const s = snaps.get(key)!;
      return { key, version: s.version, snapshotId: s.snapshotId, size: s.size };
    });
    const counts = new Map<string, number>();
    if (segments.length >= 2) {
      const ids = segments.map((s) => s.snapshotId).join(', ');
      // Pairs of snapshots per user, counted where the user's rows are and summed over parts.
      const rows = await this.store.queryByUser((d) => {
        const m = d.table(TABLES.snapshotMembers);
        return `SELECT a_id, b_id, count() AS n
FROM (SELECT user_id, snapshot_id AS a_id FROM ${m} WHERE snapshot_id IN (${ids})) a
JOIN (SELECT user_id, snapshot_id AS b_id FROM ${m} WHERE snapshot_id IN (${ids})) b USING (user_id)
WHERE a_id < b_id
GROUP BY a_id, b_id`;
      });
      for (const [pair, n] of sumByKey(rows, (r) => `${toNumber(r.a_id)}:${toNumber(r.b_id)}`, 'n')) counts.set(pair, n);
    }
    const pairs: OverlapPair[] = [];
    segments.forEach((a, i) => {
      for (const b of segments.slice(i + 1)) {
        const lo = Math.min(a.snapshotId, b.snapshotId);
        const hi = Math.max(a.snapshotId, b.snapshotId);
        const intersection = counts.get(`${lo}:${hi}`) ?? 0;
        const union = a.size + b.size - intersection;
        pairs.push({ a: a.key, b: b.key, intersection, union, jaccard: union > 0 ? intersection / union : null });
      }
    });
    return { asOf: formatInstant(asOfMs), segments, pairs };
  }

  /**
   * The segment's stored snapshots in asOf order with size, share, entered and left since
   * the snapshot before, and week-over-week Jaccard (snapshot-history.ts). Reads snapshots
   * only; computes none.
   */
  async history(key: string, options: HistoryOptions = {}): Promise<SegmentHistory> {
    const version = (await this.requireLatest([key])).get(key)!.version;
    const allVersions = options.allVersions === true;
    const where = [`segment_key = ${this.d.stringLiteral(key)}`];
    if (!allVersions) where.push(`version = ${version}`);
    // Earlier snapshots stay: they are the previous and week-ago references of the first ones listed.
    if (options.toMs !== undefined) where.push(`as_of <= ${this.d.timestampLiteral(options.toMs)}`);
    const snapshots = await this.snapshotRows(where.join(' AND '));
    const bounds = { ...(options.fromMs !== undefined ? { fromMs: options.fromMs } : {}), ...(options.toMs !== undefined ? { toMs: options.toMs } : {}) };
    return segmentHistory(this.store, { key, version, allVersions, snapshots, ...bounds });
  }

  /**
   * Snapshots of the segments' current versions as of from, from + step, ... up to and
   * including to: one batch compute per instant for the segments without a snapshot there
   * (all of them with `force`, replacing the stored ones).
   */
  async backfill(keys: readonly string[], options: BackfillOptions): Promise<BackfillResult> {
    const instants = backfillInstants(options);
    const targets = unique(keys);
    const latest = await this.requireLatest(targets);
    const match = targets.map((k) => `(segment_key = ${this.d.stringLiteral(k)} AND version = ${latest.get(k)!.version})`).join(' OR ');
    const stored = new Map<string, SnapshotSummary>();
    if (!options.force && targets.length > 0) {
      const rows = await this.snapshotRows(
        `as_of >= ${this.d.timestampLiteral(instants[0]!)} AND as_of <= ${this.d.timestampLiteral(instants[instants.length - 1]!)} AND (${match})`,
      );
      // Newest computation first: the first seen of a key and instant is the one readers use.
      for (const s of rows) if (!stored.has(`${s.key}@${s.asOf}`)) stored.set(`${s.key}@${s.asOf}`, s);
    }
    const snapshots: BackfillSnapshot[] = [];
    options.onProgress?.(0, instants.length);
    for (const [i, asOfMs] of instants.entries()) {
      const asOf = formatInstant(asOfMs);
      const missing = targets.filter((k) => !stored.has(`${k}@${asOf}`));
      const computed = new Map(missing.length > 0 ? (await this.compute(missing, { asOfMs })).map((r) => [r.key, r]) : []);
      for (const key of targets) {
        const c = computed.get(key);
        const s = stored.get(`${key}@${asOf}`);
        if (c) snapshots.push({ key, version: c.version, asOf, snapshotId: c.snapshotId, size: c.size, population: c.population, status: 'computed' });
        else if (s) snapshots.push({ key, version: s.version, asOf, snapshotId: s.snapshotId, size: s.size, population: s.population, status: 'kept' });
      }
      options.onProgress?.(i + 1, instants.length);
    }
    const computedCount = snapshots.filter((s) => s.status === 'computed').length;
    return {
      keys: targets,
      from: formatInstant(options.fromMs),
      to: formatInstant(options.toMs),
      stepMs: options.stepMs,
      instants: instants.map(formatInstant),
      computed: computedCount,
      kept: snapshots.length - computedCount,
      snapshots,
    };
  }

  /**
   * The current version of each stored segment (default: all) as IR, references inlined:
   * what compute evaluates, for evaluating one user in memory (`strata user`).
   */
  async currentSegments(keys?: readonly string[]): Promise<CurrentSegment[]> {
    const all = keys === undefined ? await this.latestVersions() : await this.requireLatest(keys);
    const targets = keys === undefined ? [...all.keys()] : unique(keys);
    const context = await this.segmentContext();
    const resolve = this.storedResolver(all, context);
    return targets.map((key) => ({ key, version: all.get(key)!.version, ir: buildSegmentIR(resolve(key)!, this.plan, resolve, storedContext(context)) }));
  }

  // --- internals ---------------------------------------------------------------------

  private asOf(options: AsOfOptions): number {
    const ms = options.asOfMs ?? this.now();
    if (!Number.isFinite(ms)) throw new StrataError('TIME_INVALID', `asOf is not a finite instant: ${ms}`);
    return Math.trunc(ms);
  }

  /** Compiled segments read the plan's typed columns, which must exist even before any ingest. */
  private async ensurePlanColumns(): Promise<void> {
    if (this.planApplied) return;
    await this.store.applyPlan(this.plan);
    this.planApplied = true;
  }

  /** The snapshot of each key's current version at asOf, computing the missing ones in one batch. */
  private async snapshotsAt(keys: readonly string[], asOfMs: number): Promise<Map<string, SnapshotSummary>> {
    const latest = await this.requireLatest(keys);
    const found = await this.existingSnapshots(latest, keys, asOfMs);
    const missing = keys.filter((k) => !found.has(k));
    if (missing.length > 0) {
      await this.compute(missing, { asOfMs });
      for (const [k, s] of await this.existingSnapshots(latest, missing, asOfMs)) found.set(k, s);
    }
    return found;
  }

  private async existingSnapshots(latest: Map<string, StoredVersion>, keys: readonly string[], asOfMs: number): Promise<Map<string, SnapshotSummary>> {
    if (keys.length === 0) return new Map();
    const match = keys.map((k) => `(segment_key = ${this.d.stringLiteral(k)} AND version = ${latest.get(k)!.version})`).join(' OR ');
    const rows = await this.snapshotRows(`as_of = ${this.d.timestampLiteral(asOfMs)} AND (${match})`);
    // Newest first: should two exist, the latest computation wins.
    const out = new Map<string, SnapshotSummary>();
    for (const s of rows) if (!out.has(s.key)) out.set(s.key, s);
    return out;
  }

  /** Snapshots matching a condition, newest computation first. */
  private async snapshotRows(where: string, limit?: number): Promise<SnapshotSummary[]> {
    const rows = await this.store.query(
      `SELECT snapshot_id, segment_key, version, ${this.d.epochMs('as_of')} AS as_of_ms, ${this.d.epochMs('computed_at')} AS computed_ms, size, population
FROM ${TABLES.snapshots} WHERE ${where} ORDER BY computed_at DESC, snapshot_id DESC${limit !== undefined ? ` LIMIT ${limit}` : ''}`,
    );
    return rows.map((r) => ({
      snapshotId: toNumber(r.snapshot_id),
      key: String(r.segment_key),
      version: toNumber(r.version),
      asOf: formatInstant(toNumber(r.as_of_ms)),
      computedAt: formatInstant(toNumber(r.computed_ms)),
      size: toNumber(r.size),
      population: toNullableNumber(r.population),
    }));
  }

  /** A stored version's definition as written (not re-validated: it is only read). */
  private async definitionAt(key: string, version: number): Promise<SegmentDefinition> {
    const rows = await this.store.query(`SELECT definition FROM ${TABLES.segmentVersions} WHERE key = ${this.d.stringLiteral(key)} AND version = ${version}`);
    if (!rows[0]) throw new StrataError('INTERNAL', `segment "${key}" has no stored version ${version}`);
    return JSON.parse(String(rows[0].definition)) as SegmentDefinition;
  }

  /** The current version of every segment, by key in byte order. */
  private async latestVersions(): Promise<Map<string, StoredVersion>> {
    const rows = await this.store.query(
      `SELECT key, version, definition, definition_hash, ${this.d.epochMs('created_at')} AS created_ms
FROM ${TABLES.segmentVersions}
WHERE (key, version) IN (SELECT key, max(version) FROM ${TABLES.segmentVersions} GROUP BY key)
ORDER BY key`,
    );
    const firsts = new Map(
      (await this.store.query(`SELECT key, ${this.d.epochMs('min(created_at)')} AS first_ms FROM ${TABLES.segmentVersions} GROUP BY key`)).map((r) => [
        String(r.key),
        toNumber(r.first_ms),
      ]),
    );
    return new Map(
      rows.map((r) => [
        String(r.key),
        {
          key: String(r.key),
          version: toNumber(r.version),
          definitionJson: String(r.definition),
          hash: String(r.definition_hash),
          createdMs: toNumber(r.created_ms),
          firstCreatedMs: firsts.get(String(r.key)) ?? toNumber(r.created_ms),
        },
      ]),
    );
  }

  /**
   * Users with each categorical trait value, and members among them, for the values held
   * by at least minSupport users. On one part the query filters exactly. On several, a
   * value reaching minSupport overall reaches minSupport / parts on some part: the first
   * pass finds those candidates, the second counts them on every part.
   */
  private async categoricalCounts(ctx: ReportQueryContext, traits: ReturnType<typeof categoricalTraits>, minSupport: number): Promise<Row[]> {
    let parts = 1;
    const first = await this.store.queryByUser((d, target) => {
      parts = target.parts;
      return categoricalSql({ ...ctx, dialect: d }, traits, Math.ceil(minSupport / target.parts)) ?? NO_ROWS;
    });
    if (parts === 1) return first;
    const candidates = new Map<number, string[]>();
    for (const r of first) {
      const values = candidates.get(toNumber(r.feature)) ?? [];
      if (!values.includes(String(r.value))) values.push(String(r.value));
      candidates.set(toNumber(r.feature), values);
    }
    if (candidates.size === 0) return [];
    const exact = await this.store.queryByUser((d) => categoricalSql({ ...ctx, dialect: d }, traits, 1, candidates) ?? NO_ROWS);
    const key = (r: Row) => `${toNumber(r.feature)}\u0000${String(r.value)}`;
    const n = sumByKey(exact, key, 'n');
    const m = sumByKey(exact, key, 'm');
    return [...n]
      .filter(([, users]) => users >= minSupport)
      .map(([k, users]) => {
        const [feature, value] = k.split('\u0000') as [string, string];
        return { feature: Number(feature), value, n: users, m: m.get(k) ?? 0 };
      });
  }

  /** Per event: users and members who did it (ever, recently before asOf), summed over parts. */
  private async eventCounts(ctx: ReportQueryContext, events: readonly string[], recentDays: number): Promise<Row[]> {
    if (events.length === 0) return [];
    const rows = await this.store.queryByUser((d) => eventSql({ ...ctx, dialect: d }, events, recentDays)!);
    const columns = ['n', 'm', 'n_recent', 'm_recent'];
    const sums = columns.map((c) => sumByKey(rows, (r) => String(r.event), c));
    return [...sums[0]!.keys()].map((event) => Object.fromEntries([['event', event], ...columns.map((c, i) => [c, sums[i]!.get(event) ?? 0])]));
  }

  private async requireLatest(keys: readonly string[]): Promise<Map<string, StoredVersion>> {
    const latest = await this.latestVersions();
    const missing = unique(keys).filter((k) => !latest.has(k));
    if (missing.length > 0) throw segmentNotFound(missing, [...latest.keys()]);
    return latest;
  }

  /** Resolve references among stored definitions, re-validated against the current plan on first use. */
  private storedResolver(stored: Map<string, StoredVersion>, context: SegmentContext): (key: string) => SegmentDefinition | undefined {
    const cache = new Map<string, SegmentDefinition>();
    return (key) => {
      const hit = cache.get(key);
      if (hit) return hit;
      const v = stored.get(key);
      if (!v) return undefined;
      let def: SegmentDefinition;
      try {
        def = validateSegment(JSON.parse(v.definitionJson), this.plan, storedContext(context));
      } catch (e) {
        if (!isStrataError(e)) throw e;
        throw new StrataError(
          'SEGMENT_INVALID',
          `stored segment "${key}" (version ${v.version}) no longer fits the tracking plan${context.models ? ' or the stored models' : ''}: ${e.message}`,
          e.details,
          { cause: e },
        );
      }
      cache.set(key, def);
      return def;
    };
  }

  /** New definitions take precedence over stored ones of the same key. */
  private resolver(
    stored: Map<string, StoredVersion>,
    incoming: Map<string, SegmentDefinition>,
    context: SegmentContext,
  ): (key: string) => SegmentDefinition | undefined {
    const fromStore = this.storedResolver(stored, context);
    return (key) => incoming.get(key) ?? fromStore(key);
  }
}

/**
 * The context for definitions read back from the store (and for lowering, which re-checks
 * them): a version stored before owners were required (issue 7) loads without one.
 */
function storedContext(context: SegmentContext): SegmentContext {
  return { ...context, storedDefinition: true };
}

function unique(keys: readonly string[]): string[] {
  return [...new Set(keys)];
}

/** from, from + step, ... <= to; refused when the step or range is not sensible. */
export function backfillInstants(options: Pick<BackfillOptions, 'fromMs' | 'toMs' | 'stepMs' | 'maxSteps'>): number[] {
  const { fromMs, toMs, stepMs } = options;
  const maxSteps = options.maxSteps ?? DEFAULT_BACKFILL_MAX_STEPS;
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) throw new StrataError('TIME_INVALID', `backfill: from and to must be finite instants (got ${fromMs} and ${toMs})`);
  if (!Number.isFinite(stepMs) || stepMs <= 0) {
    throw new StrataError('INPUT_INVALID', 'backfill: the step must be a positive duration', [{ path: 'step', message: `expected a positive duration such as 1d or 1w, got ${stepMs} ms` }]);
  }
  if (fromMs > toMs) {
    throw new StrataError('INPUT_INVALID', `backfill: from (${formatInstant(fromMs)}) is after to (${formatInstant(toMs)})`, [
      { path: 'from', message: 'expected an instant at or before to' },
    ]);
  }
  const count = Math.floor((toMs - fromMs) / stepMs) + 1;
  if (count > maxSteps) {
    throw new StrataError('INPUT_INVALID', `backfill: ${count} instants from ${formatInstant(fromMs)} to ${formatInstant(toMs)}, more than the limit of ${maxSteps}`, [
      { path: 'maxSteps', message: `raise the limit (--max-steps ${count}) or use a longer step` },
    ]);
  }
  return Array.from({ length: count }, (_, i) => fromMs + i * stepMs);
}
