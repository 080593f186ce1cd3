/**
 * `strata audit fairness`: audits of segments and models against the plan's sensitive
 * traits (fairness-stats.ts has every formula and its source).
 *
 * - A segment is audited through its snapshot as of T (computed by the registry when
 *   missing): selection = membership, group population = the users of the population as
 *   of T with that value of the trait. Traits are the profile's current values (profiles
 *   are not versioned), so an audit in the past groups users by what is known now.
 * - A model (churn or propensity) is audited through its score run as of T (the run a
 *   `score` condition reads then): selection = score >= threshold (default 0.5), or the
 *   top N percent (weak percentile rank > 100 - N); group population = the run's users in
 *   the group. When the labels are known (the run's window [as_of, as_of + horizon) ended
 *   by the data's end), outcomes come from `model evaluate`'s labelled snapshot at the run's
 *   instant, and the audit adds equal opportunity and calibration by group.
 * - Every p-value of one audit (every subject and attribute) is one family, adjusted by Holm
 *   or Benjamini-Hochberg. The flag is the four-fifths rule on the point ratio only.
 * - Each subject's report is stored in `fairness_audits` and recorded in the audit log
 *   (action `fairness.audit`, target `segment:KEY` or `model:KEY`).
 */
import { StrataError } from '../../errors/errors.js';
import { adjustPValues, type Correction } from '../../experiments/stats/multiple.js';
import {
  dataEndOf,
  evaluateModel,
  getModelVersion,
  listScoreRuns,
  modelCatalogue,
  readScores,
  scoreRunsAsOf,
  type ModelWorkspace,
  type SupervisedModelBody,
} from '../../models/registry/index.js';
import type { FieldType, TrackingPlan } from '../../schema/tracking-plan.js';
import { TARGETING_PURPOSES, type SegmentDefinition } from '../../segments/language/definition.js';
import type { SegmentRegistry } from '../../segments/registry/index.js';
import { toNumber } from '../../segments/registry/registry-sql.js';
import type { EventStore } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';
import { formatInstant, MS } from '../../time/time.js';
import { appendAudit } from '../audit-log.js';
import { segmentGroupCounts, traitValues, type SensitiveTrait } from './fairness-sql.js';
import {
  calibrationCell,
  calibrationInTheLarge,
  compareRates,
  FOUR_FIFTHS,
  isFlagged,
  MISSING_GROUP,
  type CalibrationCell,
  type CalibrationInTheLarge,
  type FamilyTest,
  type GroupCount,
  type Outcome,
  type RateComparison,
} from './fairness-stats.js';

export const DEFAULT_SCORE_THRESHOLD = 0.5;
export const DEFAULT_FAIRNESS_ALPHA = 0.05;

export interface FairnessAuditOptions {
  /** Segment or model keys (`segment:KEY` / `model:KEY` when a name is both). */
  readonly subjects?: readonly string[];
  /** Add every targeting segment (purpose personalization or marketing). */
  readonly targeting?: boolean;
  readonly asOfMs: number;
  /** Sensitive traits to audit (default: every sensitive string or boolean trait). */
  readonly attributes?: readonly string[];
  /** Models: selected when score >= threshold (default 0.5). */
  readonly threshold?: number;
  /** Models: selected when in the top N percent instead (percentile rank > 100 - N). */
  readonly topPercent?: number;
  readonly alpha?: number;
  readonly correction?: Correction;
  /** The flag's ratio threshold (default 0.8, the four-fifths rule). */
  readonly minRatio?: number;
  /** Store the reports and record them in the audit log (default true). */
  readonly save?: boolean;
  readonly actor?: string;
  readonly nowMs?: number;
  /** After each subject: subjects done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface SegmentSubjectHeader {
  readonly name: string;
  readonly objective: string;
  readonly rationale: string;
  readonly owner: string | null;
  readonly purpose: string;
  readonly version: number;
  readonly snapshotId: number;
  readonly size: number;
  readonly population: number | null;
}

export interface ModelSubjectHeader {
  readonly kind: string;
  readonly version: number;
  readonly runId: number;
  readonly runAsOf: string;
  readonly scored: number;
  readonly selection: { readonly threshold: number } | { readonly topPercent: number };
  readonly selected: number;
  /** Known when the label window of the run ended by the data's end. */
  readonly outcomes: { readonly known: boolean; readonly horizonEnd: string; readonly dataEnd: string; readonly users: number };
}

export interface EqualOpportunity extends RateComparison {
  /** Per group: positives (in `population`) and those selected (in `selected`). */
  readonly note: string;
}

export interface GroupCalibration {
  readonly group: string;
  readonly overall: CalibrationCell;
  readonly inTheLarge: CalibrationInTheLarge;
  /** Deciles 1..10 of the run's percentile rank (empty ones left out). */
  readonly deciles: readonly (CalibrationCell & { readonly decile: number })[];
}

export interface AttributeAudit extends RateComparison {
  readonly attribute: string;
  /** The four-fifths rule on the point ratio. */
  readonly flagged: boolean;
  /** Whether the least-selected group's test against the most-selected one rejects after the correction; null without a comparison. */
  readonly significant: boolean | null;
  readonly equalOpportunity?: EqualOpportunity | null;
  readonly calibration?: readonly GroupCalibration[] | null;
}

export type SubjectAudit =
  | { readonly kind: 'segment'; readonly key: string; readonly header: SegmentSubjectHeader; readonly attributes: readonly AttributeAudit[]; readonly flagged: boolean; readonly auditId: number | null }
  | { readonly kind: 'model'; readonly key: string; readonly header: ModelSubjectHeader; readonly attributes: readonly AttributeAudit[]; readonly flagged: boolean; readonly auditId: number | null };

export interface FairnessAuditResult {
  readonly asOf: string;
  readonly at: string;
  readonly alpha: number;
  readonly correction: Correction;
  readonly minRatio: number;
  /** The tests in the corrected family. */
  readonly tests: number;
  readonly subjects: readonly SubjectAudit[];
  /** `segment:KEY` / `model:KEY` of every flagged subject. */
  readonly flagged: readonly string[];
}

/** The workspace an audit reads: the store, plan, registry, and the purchase settings model evaluation needs. */
export interface FairnessWorkspace extends ModelWorkspace {
  readonly segments: SegmentRegistry;
}

type Subject = { readonly kind: 'segment' | 'model'; readonly key: string };

/** The sensitive traits to audit: every sensitive string/boolean trait, or the named ones (each must be one). */
export function sensitiveTraits(plan: TrackingPlan, names?: readonly string[]): SensitiveTrait[] {
  const categorical = (t: FieldType): t is 'string' | 'boolean' => t === 'string' || t === 'boolean';
  const all = Object.entries(plan.traits).filter(([, spec]) => spec.sensitive === true);
  if (names === undefined || names.length === 0) {
    const usable = all.filter(([, spec]) => categorical(spec.type)).map(([trait, spec]) => ({ trait, type: spec.type as 'string' | 'boolean' }));
    if (usable.length === 0) {
      throw new StrataError('INPUT_INVALID', 'no trait of the tracking plan is flagged sensitive (a string or boolean trait): nothing to audit', [
        { path: 'plan.traits', message: 'flag the attributes to audit, e.g. age_band: {type: string, sensitive: true}' },
      ]);
    }
    return usable;
  }
  return [...new Set(names)].map((name) => {
    const spec = Object.hasOwn(plan.traits, name) ? plan.traits[name] : undefined;
    if (!spec) throw new StrataError('INPUT_INVALID', `--attribute ${name}: no such trait in the tracking plan`, [{ path: '--attribute', message: `expected a sensitive trait (${all.map(([t]) => t).join(', ') || 'none is flagged'})` }]);
    if (spec.sensitive !== true) throw new StrataError('INPUT_INVALID', `--attribute ${name}: the trait is not flagged sensitive`, [{ path: `plan.traits.${name}`, message: 'fairness audits group by sensitive traits; add sensitive: true to its declaration' }]);
    if (!categorical(spec.type)) throw new StrataError('INPUT_INVALID', `--attribute ${name}: a ${spec.type} trait cannot form groups`, [{ path: `plan.traits.${name}`, message: 'expected a string or boolean trait (bucket numbers into a string trait, e.g. age_band)' }]);
    return { trait: name, type: spec.type };
  });
}

/** The stored segments whose purpose is personalization or marketing, by key. */
export async function targetingSegments(registry: SegmentRegistry): Promise<string[]> {
  const keys = (await registry.list()).map((s) => s.key);
  const out: string[] = [];
  for (const key of keys) {
    const purpose = (await registry.show(key)).definition.purpose;
    if (purpose !== undefined && TARGETING_PURPOSES.includes(purpose)) out.push(key);
  }
  return out;
}

async function resolveSubjects(ws: FairnessWorkspace, options: FairnessAuditOptions): Promise<Subject[]> {
  const segmentKeys = new Set((await ws.segments.list()).map((s) => s.key));
  const models = await modelCatalogue(ws.store);
  const out: Subject[] = [];
  const seen = new Set<string>();
  const push = (s: Subject) => {
    const id = `${s.kind}:${s.key}`;
    if (!seen.has(id)) out.push(s);
    seen.add(id);
  };
  for (const spec of options.subjects ?? []) {
    const colon = spec.indexOf(':');
    const prefix = colon > 0 ? spec.slice(0, colon) : null;
    const name = prefix === 'segment' || prefix === 'model' ? spec.slice(colon + 1) : spec;
    const isSegment = prefix !== 'model' && segmentKeys.has(name);
    const modelKind = prefix !== 'segment' ? models.get(name) : undefined;
    if (isSegment && modelKind !== undefined) {
      throw new StrataError('INPUT_INVALID', `${spec}: both a segment and a model have that name`, [{ path: spec, message: `write segment:${name} or model:${name}` }]);
    }
    if (isSegment) push({ kind: 'segment', key: name });
    else if (modelKind === 'churn' || modelKind === 'propensity') push({ kind: 'model', key: name });
    else if (modelKind === 'personas') {
      throw new StrataError('INPUT_INVALID', `${spec}: a personas model assigns clusters, not a selection`, [{ path: spec, message: 'audit a segment on its clusters ({cluster: MODEL, eq: ID}) instead' }]);
    } else {
      throw new StrataError('SEGMENT_NOT_FOUND', `${spec}: no stored segment or churn/propensity model has that name`, [
        { path: spec, message: `expected a segment (${[...segmentKeys].join(', ') || 'none stored'}) or a model (${[...models.keys()].join(', ') || 'none trained'})` },
      ]);
    }
  }
  if (options.targeting) for (const key of await targetingSegments(ws.segments)) push({ kind: 'segment', key });
  return out;
}

/** Run the audit (see the header): every subject against every attribute, one corrected family, stored. */
export async function runFairnessAudit(ws: FairnessWorkspace, options: FairnessAuditOptions): Promise<FairnessAuditResult> {
  const alpha = options.alpha ?? DEFAULT_FAIRNESS_ALPHA;
  const correction = options.correction ?? 'holm';
  const minRatio = options.minRatio ?? FOUR_FIFTHS;
  if (!(alpha > 0 && alpha < 1)) throw new StrataError('INPUT_INVALID', `alpha must be in (0, 1), got ${alpha}`);
  if (!(minRatio > 0 && minRatio <= 1)) throw new StrataError('INPUT_INVALID', `the flag's ratio threshold must be in (0, 1], got ${minRatio}`);
  const selection = modelSelection(options);
  const traits = sensitiveTraits(ws.plan, options.attributes);
  const subjects = await resolveSubjects(ws, options);
  const family: FamilyTest[] = [];
  const built: { subject: Subject; header: SegmentSubjectHeader | ModelSubjectHeader; attributes: Draft[] }[] = [];
  for (const [i, subject] of subjects.entries()) {
    options.onProgress?.(i, subjects.length);
    if (subject.kind === 'segment') built.push({ subject, ...(await auditSegment(ws, subject.key, traits, options.asOfMs, alpha)) });
    else built.push({ subject, ...(await auditModel(ws, subject.key, traits, options.asOfMs, alpha, selection)) });
  }
  options.onProgress?.(subjects.length, subjects.length);
  for (const b of built) for (const a of b.attributes) family.push(...a.tests);
  if (family.length > 0) {
    const adjusted = adjustPValues(family.map((t) => t.pValue), alpha, correction);
    family.forEach((t, i) => {
      t.adjustedP = adjusted.pValues[i]!;
      t.significant = adjusted.rejected[i]!;
    });
  }
  const nowMs = options.nowMs ?? Date.now();
  const out: SubjectAudit[] = [];
  for (const b of built) {
    const attributes = b.attributes.map((a) => finishAttribute(a, minRatio));
    const flagged = attributes.some((a) => a.flagged);
    const partial = { kind: b.subject.kind, key: b.subject.key, header: b.header, attributes, flagged } as Omit<SubjectAudit, 'auditId'>;
    const auditId = options.save === false ? null : await saveFairnessAudit(ws.store, partial, { atMs: nowMs, asOfMs: options.asOfMs, alpha, correction, minRatio, actor: options.actor ?? 'unknown' });
    out.push({ ...partial, auditId } as SubjectAudit);
  }
  return {
    asOf: formatInstant(options.asOfMs),
    at: formatInstant(nowMs),
    alpha,
    correction,
    minRatio,
    tests: family.length,
    subjects: out,
    flagged: out.filter((s) => s.flagged).map((s) => `${s.kind}:${s.key}`),
  };
}

type Selection = { readonly threshold: number } | { readonly topPercent: number };

function modelSelection(options: FairnessAuditOptions): Selection {
  if (options.threshold !== undefined && options.topPercent !== undefined) {
    throw new StrataError('INPUT_INVALID', '--threshold and --top cannot be combined: a model selects by score or by rank', [{ path: '--top', message: 'give one of them' }]);
  }
  if (options.topPercent !== undefined) {
    if (!(options.topPercent > 0 && options.topPercent < 100)) throw new StrataError('INPUT_INVALID', `--top: expected a percentage in (0, 100), got ${options.topPercent}`);
    return { topPercent: options.topPercent };
  }
  const threshold = options.threshold ?? DEFAULT_SCORE_THRESHOLD;
  if (!(threshold >= 0 && threshold <= 1)) throw new StrataError('INPUT_INVALID', `--threshold: expected a probability in [0, 1], got ${threshold}`);
  return { threshold };
}

/** An attribute's comparison before the family is corrected; `tests` are the FamilyTest objects it owns. */
interface Draft {
  readonly attribute: string;
  readonly rates: RateComparison;
  readonly equalOpportunity?: EqualOpportunity | null;
  readonly calibration?: readonly GroupCalibration[] | null;
  readonly tests: FamilyTest[];
}

function draft(attribute: string, rates: RateComparison, extra: Pick<Draft, 'equalOpportunity' | 'calibration'> = {}): Draft {
  const tests: FamilyTest[] = [...rates.pairwise, ...(extra.equalOpportunity?.pairwise ?? []), ...(extra.calibration ?? []).map((c) => c.inTheLarge)];
  return { attribute, rates, ...extra, tests };
}

function finishAttribute(a: Draft, minRatio: number): AttributeAudit {
  const worst = a.rates.pairwise.find((p) => p.group === a.rates.lowest);
  return {
    attribute: a.attribute,
    ...a.rates,
    flagged: isFlagged(a.rates.ratio?.value, minRatio),
    significant: worst ? worst.significant : null,
    ...(a.equalOpportunity !== undefined ? { equalOpportunity: a.equalOpportunity } : {}),
    ...(a.calibration !== undefined ? { calibration: a.calibration } : {}),
  };
}

async function auditSegment(ws: FairnessWorkspace, key: string, traits: readonly SensitiveTrait[], asOfMs: number, alpha: number): Promise<{ header: SegmentSubjectHeader; attributes: Draft[] }> {
  const def: SegmentDefinition = (await ws.segments.show(key)).definition;
  const snap = await ws.segments.snapshot(key, { asOfMs });
  const attributes: Draft[] = [];
  for (const t of traits) attributes.push(draft(t.trait, compareRates(await segmentGroupCounts(ws.store, snap.snapshotId, asOfMs, t), alpha)));
  return {
    header: {
      name: def.name,
      objective: def.objective,
      rationale: def.rationale.trim(),
      owner: def.owner ?? null,
      purpose: def.purpose ?? 'analytics',
      version: snap.version,
      snapshotId: snap.snapshotId,
      size: snap.size,
      population: snap.population,
    },
    attributes,
  };
}

interface ScoredUser {
  readonly userId: string;
  readonly score: number;
  readonly percentile: number | null;
  readonly selected: boolean;
  readonly label: 0 | 1 | null;
}

async function auditModel(
  ws: FairnessWorkspace,
  key: string,
  traits: readonly SensitiveTrait[],
  asOfMs: number,
  alpha: number,
  selection: Selection,
): Promise<{ header: ModelSubjectHeader; attributes: Draft[] }> {
  const runId = (await scoreRunsAsOf(ws.store, [key], asOfMs)).get(key) ?? null;
  if (runId === null) {
    throw new StrataError('MODEL_NOT_FOUND', `model "${key}" has no score run as of ${formatInstant(asOfMs)}`, [{ path: key, message: `score it first: strata model score ${key} --as-of ${formatInstant(asOfMs)}` }]);
  }
  const run = (await listScoreRuns(ws.store, key)).find((r) => r.runId === runId)!;
  const version = await getModelVersion<SupervisedModelBody>(ws.store, key, run.modelVersion);
  const horizonMs = version.body.definition.horizonDays * MS.d;
  const dataEndMs = await dataEndOf(ws.store);
  const known = run.asOfMs + horizonMs <= dataEndMs;
  const labels = new Map<string, 0 | 1>();
  if (known) {
    const ev = await evaluateModel(ws, key, { version: run.modelVersion, asOfMs: run.asOfMs, dataEndMs });
    ev.predictions.userIds.forEach((u, i) => labels.set(u, ev.predictions.labels[i] === 1 ? 1 : 0));
  }
  const selects = (score: number, percentile: number | null) => ('threshold' in selection ? score >= selection.threshold : percentile !== null && percentile > 100 - selection.topPercent);
  const users: ScoredUser[] = (await readScores(ws.store, runId))
    .filter((s) => s.score !== null)
    .map((s) => ({ userId: s.userId, score: s.score!, percentile: s.percentile, selected: selects(s.score!, s.percentile), label: labels.get(s.userId) ?? null }));
  const attributes: Draft[] = [];
  for (const t of traits) {
    const values = await traitValues(ws.store, t);
    const groupOf = (u: ScoredUser) => values.get(u.userId) ?? MISSING_GROUP;
    const rates = compareRates(countBy(users, groupOf, () => true), alpha);
    if (!known) {
      attributes.push(draft(t.trait, rates, { equalOpportunity: null, calibration: null }));
      continue;
    }
    const withOutcome = users.filter((u) => u.label !== null);
    const eo: EqualOpportunity = {
      ...compareRates(countBy(withOutcome, groupOf, (u) => u.label === 1), alpha),
      note: 'per group: population = users with the outcome, selected = those the model selected (true-positive rate)',
    };
    attributes.push(draft(t.trait, rates, { equalOpportunity: eo, calibration: calibrationByGroup(withOutcome, groupOf, alpha) }));
  }
  return {
    header: {
      kind: version.kind,
      version: run.modelVersion,
      runId,
      runAsOf: formatInstant(run.asOfMs),
      scored: users.length,
      selection,
      selected: users.filter((u) => u.selected).length,
      outcomes: { known, horizonEnd: formatInstant(run.asOfMs + horizonMs), dataEnd: formatInstant(dataEndMs), users: users.filter((u) => u.label !== null).length },
    },
    attributes,
  };
}

/** Per group: users passing `include` (population) and those of them selected. */
function countBy(users: readonly ScoredUser[], groupOf: (u: ScoredUser) => string, include: (u: ScoredUser) => boolean): GroupCount[] {
  const counts = new Map<string, { population: number; selected: number }>();
  for (const u of users) {
    if (!include(u)) continue;
    const g = groupOf(u);
    const c = counts.get(g) ?? { population: 0, selected: 0 };
    c.population++;
    if (u.selected) c.selected++;
    counts.set(g, c);
  }
  return [...counts].map(([group, c]) => ({ group, ...c }));
}

function calibrationByGroup(users: readonly ScoredUser[], groupOf: (u: ScoredUser) => string, alpha: number): GroupCalibration[] {
  const byGroup = new Map<string, ScoredUser[]>();
  for (const u of users) {
    const g = groupOf(u);
    if (g === MISSING_GROUP) continue;
    const list = byGroup.get(g) ?? [];
    list.push(u);
    byGroup.set(g, list);
  }
  const outcome = (u: ScoredUser): Outcome => ({ label: u.label!, score: u.score });
  return [...byGroup.keys()].sort().map((group) => {
    const list = byGroup.get(group)!;
    const deciles: (CalibrationCell & { decile: number })[] = [];
    for (let decile = 1; decile <= 10; decile++) {
      const cell = list.filter((u) => u.percentile !== null && Math.min(10, Math.max(1, Math.ceil(u.percentile / 10))) === decile).map(outcome);
      if (cell.length > 0) deciles.push({ decile, ...calibrationCell(cell, alpha) });
    }
    return { group, overall: calibrationCell(list.map(outcome), alpha), inTheLarge: calibrationInTheLarge(list.map(outcome)), deciles };
  });
}

// --- storage -----------------------------------------------------------------------------

export interface StoredFairnessAudit {
  readonly auditId: number;
  readonly at: string;
  readonly asOf: string;
  readonly subjectKind: 'segment' | 'model';
  readonly subject: string;
  readonly flagged: boolean;
  readonly body: unknown;
}

/** Store one subject's report (audit id max + 1) and record it in the audit log; returns the id. */
export async function saveFairnessAudit(
  store: EventStore,
  audit: Omit<SubjectAudit, 'auditId'>,
  meta: { readonly atMs: number; readonly asOfMs: number; readonly alpha: number; readonly correction: Correction; readonly minRatio: number; readonly actor: string },
): Promise<number> {
  const d = store.dialect;
  const body = JSON.stringify({ ...audit, asOf: formatInstant(meta.asOfMs), alpha: meta.alpha, correction: meta.correction, minRatio: meta.minRatio });
  return store.transaction(async () => {
    const last = (await store.query(`SELECT max(audit_id) AS id FROM ${TABLES.fairnessAudits}`))[0];
    const id = toNumber(last?.id) + 1;
    await store.execute(
      `INSERT INTO ${TABLES.fairnessAudits} (audit_id, ${d.quoteIdentifier('at')}, as_of, subject_kind, subject, flagged, body) VALUES (${id}, ${d.timestampLiteral(meta.atMs)}, ${d.timestampLiteral(meta.asOfMs)}, ${d.stringLiteral(audit.kind)}, ${d.stringLiteral(audit.key)}, ${d.booleanLiteral(audit.flagged)}, ${d.stringLiteral(body)})`,
    );
    await appendAudit(store, {
      actor: meta.actor,
      action: 'fairness.audit',
      target: `${audit.kind}:${audit.key}`,
      atMs: meta.atMs,
      detail: {
        auditId: id,
        asOf: formatInstant(meta.asOfMs),
        flagged: audit.flagged,
        attributes: audit.attributes.map((a) => ({ attribute: a.attribute, ratio: a.ratio?.value ?? null, lowest: a.lowest, highest: a.highest, flagged: a.flagged, significant: a.significant })),
      },
    });
    return id;
  });
}

/** Stored audits, oldest first (of one subject `segment:KEY` / `model:KEY` / bare key, or all). */
export async function listFairnessAudits(store: EventStore, subject?: string): Promise<StoredFairnessAudit[]> {
  const d = store.dialect;
  let where = '';
  if (subject !== undefined) {
    const colon = subject.indexOf(':');
    const kind = colon > 0 ? subject.slice(0, colon) : null;
    const key = kind === 'segment' || kind === 'model' ? subject.slice(colon + 1) : subject;
    where = ` WHERE subject = ${d.stringLiteral(key)}${kind === 'segment' || kind === 'model' ? ` AND subject_kind = ${d.stringLiteral(kind)}` : ''}`;
  }
  const rows = await store.query(
    `SELECT audit_id, ${d.epochMs(d.quoteIdentifier('at'))} AS at_ms, ${d.epochMs('as_of')} AS as_of_ms, subject_kind, subject, flagged, body FROM ${TABLES.fairnessAudits}${where} ORDER BY audit_id`,
  );
  return rows.map((r) => ({
    auditId: toNumber(r.audit_id),
    at: formatInstant(toNumber(r.at_ms)),
    asOf: formatInstant(toNumber(r.as_of_ms)),
    subjectKind: String(r.subject_kind) as 'segment' | 'model',
    subject: String(r.subject),
    flagged: r.flagged === true || toNumber(r.flagged) === 1,
    body: JSON.parse(String(r.body)) as unknown,
  }));
}
