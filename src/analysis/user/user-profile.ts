/**
 * Everything Strata holds on one user as of an instant (`strata user USER_ID`): traits
 * (pii values masked unless asked for), first and last seen, event counts, recent events,
 * the segments the user is in, the lifecycle stage, key moments, and membership over the
 * stored snapshots.
 *
 * Current segments and the lifecycle stage are evaluated in memory over this user's own
 * events and profile with the in-memory evaluator (src/segments/evaluate): the same answers
 * as every SQL engine (spec vectors and the differential test hold them together), without
 * computing a snapshot of anyone. Membership history reads the stored snapshots only.
 */
import type { FieldSpec, FieldType, TrackingPlan } from '../../schema/tracking-plan.js';
import { readScores } from '../../models/registry/model-store.js';
import { evaluateSegments, type MemoryEvent, type MemoryScoreRun, type MemoryValue } from '../../segments/evaluate/index.js';
import { scoreRunsFor } from '../../segments/registry/score-runs.js';
import type { SegmentIR } from '../../segments/ir/nodes.js';
import type { EventStore } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';
import { formatInstant } from '../../time/time.js';
import { readUser, type StoredUser } from './user-data.js';

/** A JSON value of a trait or property: timestamps as ISO instants. */
export type ProfileValue = string | number | boolean;

export interface UserTrait {
  readonly name: string;
  readonly type: FieldType;
  /** null when absent, or masked. */
  readonly value: ProfileValue | null;
  readonly pii: boolean;
  /** For audits only, never for targeting. */
  readonly sensitive: boolean;
  /** A pii value is present but not shown (showPii was not set). */
  readonly masked: boolean;
}

export interface UserEvent {
  readonly event: string;
  readonly at: string;
  /** Declared properties present on the event; masked pii values are null. */
  readonly properties: Readonly<Record<string, ProfileValue | null>>;
  /** Properties whose pii values are hidden. */
  readonly masked: readonly string[];
}

export interface UserSegment {
  readonly key: string;
  readonly version: number;
}

export interface LifecycleStageResult {
  /** The stage the user is in (stages are exclusive, evaluated in priority order); null outside the population. */
  readonly stage: string | null;
  readonly name: string | null;
}

export interface UserMoment {
  readonly key: string;
  /** null: not reached as of asOf. */
  readonly at: string | null;
}

export interface MembershipPoint {
  readonly asOf: string;
  readonly version: number;
  readonly member: boolean;
  /** The user existed then: a profile (today), or an event before that instant. */
  readonly inPopulation: boolean;
}

export interface MembershipTransition {
  readonly asOf: string;
  /** entered: not a member at the snapshot before, a member at this one; left: the reverse. */
  readonly change: 'entered' | 'left';
  readonly version: number;
}

export interface MembershipHistory {
  readonly key: string;
  readonly snapshots: number;
  /** Snapshots where the user was a member. */
  readonly memberIn: number;
  readonly first: string;
  readonly last: string;
  readonly memberAtLast: boolean;
  readonly transitions: readonly MembershipTransition[];
  readonly points: readonly MembershipPoint[];
}

export interface UserProfile {
  readonly userId: string;
  readonly asOf: string;
  /** A profile, or an event before asOf. */
  readonly inPopulation: boolean;
  readonly hasProfile: boolean;
  readonly profileUpdatedAt: string | null;
  /** First and last event before asOf. */
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
  readonly totalEvents: number;
  readonly traits: readonly UserTrait[];
  /** Events before asOf by name, most frequent first. */
  readonly eventCounts: readonly { readonly event: string; readonly count: number }[];
  /** The most recent events before asOf, newest first. */
  readonly recentEvents: readonly UserEvent[];
  /** Segments whose current version holds the user as of asOf, by key. */
  readonly segments: readonly UserSegment[];
  readonly segmentsEvaluated: number;
  /** null when no lifecycle model was given. */
  readonly lifecycle: LifecycleStageResult | null;
  /** null when no moments were given. */
  readonly moments: readonly UserMoment[] | null;
  /** Per segment with stored snapshots at or before asOf. */
  readonly membershipHistory: readonly MembershipHistory[];
}

/** A stage of the lifecycle model: its exclusive IR (it and none ahead of it), in priority order. */
export interface LifecycleStageIR {
  readonly key: string;
  readonly name: string;
  readonly ir: SegmentIR;
}

export interface UserProfileSources {
  readonly store: EventStore;
  readonly plan: TrackingPlan;
  /** The stored segments' current versions (SegmentRegistry.currentSegments()). */
  readonly segments: readonly { readonly key: string; readonly version: number; readonly ir: SegmentIR }[];
  /** lifecycleStageIRs(model, plan) of src/analysis/lifecycle; omitted: no lifecycle section. */
  readonly lifecycleStages?: readonly LifecycleStageIR[];
  /** The user's key moments as of asOf (userMoments of src/analysis/moments); omitted: none. */
  readonly moments?: (userId: string, asOfMs: number) => Promise<readonly { readonly key: string; readonly at: string | number | null }[]>;
}

export interface UserProfileOptions {
  readonly asOfMs: number;
  /** Recent events listed. Default 20. */
  readonly recentEvents?: number;
  /** Show pii values instead of masking them. */
  readonly showPii?: boolean;
}

export const DEFAULT_RECENT_EVENTS = 20;

export async function userProfile(sources: UserProfileSources, userId: string, options: UserProfileOptions): Promise<UserProfile> {
  const { store, plan } = sources;
  const asOfMs = options.asOfMs;
  const user = await readUser(store, plan, userId, asOfMs);
  const inPopulation = user.hasProfile || user.events.length > 0;
  const showPii = options.showPii === true;
  const limit = Math.max(0, Math.trunc(options.recentEvents ?? DEFAULT_RECENT_EVENTS));

  const stages = sources.lifecycleStages;
  const scoreRuns = await userScoreRuns(store, userId, [...sources.segments.map((s) => s.ir), ...(stages ?? []).map((s) => s.ir)], asOfMs);
  const members = evaluateForUser(user, sources.segments.map((s) => s.ir), asOfMs, scoreRuns);
  const stageMembers = stages ? evaluateForUser(user, stages.map((s) => s.ir), asOfMs, scoreRuns) : null;
  const stage = stages?.find((s) => stageMembers!.has(s.ir.key)) ?? null;
  const moments = sources.moments ? await sources.moments(userId, asOfMs) : null;

  return {
    userId,
    asOf: formatInstant(asOfMs),
    inPopulation,
    hasProfile: user.hasProfile,
    profileUpdatedAt: user.profileUpdatedMs === null ? null : formatInstant(user.profileUpdatedMs),
    firstSeen: user.events.length > 0 ? formatInstant(user.events[0]!.ts) : null,
    lastSeen: user.events.length > 0 ? formatInstant(user.events[user.events.length - 1]!.ts) : null,
    totalEvents: user.events.length,
    traits: traitsOf(user, plan, showPii),
    eventCounts: eventCounts(user.events),
    recentEvents: user.events
      .slice(Math.max(0, user.events.length - limit))
      .reverse()
      .map((e) => eventOf(e, plan, showPii)),
    segments: sources.segments.filter((s) => members.has(s.ir.key)).map((s) => ({ key: s.key, version: s.version })),
    segmentsEvaluated: sources.segments.length,
    lifecycle: stages ? { stage: stage?.key ?? null, name: stage?.name ?? null } : null,
    moments: moments === null ? null : moments.map((m) => ({ key: m.key, at: typeof m.at === 'number' ? formatInstant(m.at) : m.at })),
    membershipHistory: await membershipHistory(store, user, asOfMs),
  };
}

/** The IR keys whose segment holds the user as of asOf: the evaluator over this user's data only. */
function evaluateForUser(user: StoredUser, irs: readonly SegmentIR[], asOfMs: number, scoreRuns: readonly MemoryScoreRun[]): Set<string> {
  if (irs.length === 0) return new Set();
  const profiles = new Map(user.hasProfile ? [[user.userId, user.traits ?? {}]] : []);
  const result = evaluateSegments(irs, { events: user.events, profiles, scoreRuns }, asOfMs);
  return new Set([...result].filter(([, ids]) => ids.has(user.userId)).map(([key]) => key));
}

/**
 * The user's own rows of the scoring runs the conditions read as of asOf (the run of each
 * model by `scoreRunsAsOf`, read by point lookup). Each is given as of asOf itself: it is
 * the run selected for asOf already, so the evaluator's selection keeps it.
 */
async function userScoreRuns(store: EventStore, userId: string, irs: readonly SegmentIR[], asOfMs: number): Promise<MemoryScoreRun[]> {
  const runs = await scoreRunsFor(store, irs, asOfMs);
  const out: MemoryScoreRun[] = [];
  for (const [model, runId] of runs) {
    if (runId === null) continue;
    const rows = await readScores(store, runId, [userId]);
    out.push({ model, runId, asOfMs, rows: new Map(rows.map((r) => [r.userId, { score: r.score, percentile: r.percentile, cluster: r.cluster }])) });
  }
  return out;
}

function traitsOf(user: StoredUser, plan: TrackingPlan, showPii: boolean): UserTrait[] {
  return Object.entries(plan.traits).map(([name, spec]) => {
    const raw = user.traits !== undefined && Object.hasOwn(user.traits, name) ? user.traits[name] : undefined;
    const masked = raw !== undefined && spec.pii === true && !showPii;
    return {
      name,
      type: spec.type,
      value: raw === undefined || masked ? null : jsonValue(raw, spec.type),
      pii: spec.pii === true,
      sensitive: spec.sensitive === true,
      masked,
    };
  });
}

function eventOf(e: MemoryEvent, plan: TrackingPlan, showPii: boolean): UserEvent {
  const declared: Readonly<Record<string, FieldSpec>> = plan.events[e.event]?.properties ?? {};
  const masked: string[] = [];
  const properties = Object.fromEntries(
    Object.entries(e.properties).map(([name, value]) => {
      const spec = declared[name];
      if (spec?.pii === true && !showPii) {
        masked.push(name);
        return [name, null];
      }
      return [name, jsonValue(value, spec?.type ?? 'string')];
    }),
  );
  return { event: e.event, at: formatInstant(e.ts), properties, masked };
}

function jsonValue(value: MemoryValue, type: FieldType): ProfileValue {
  return type === 'timestamp' && typeof value === 'number' ? formatInstant(value) : value;
}

function eventCounts(events: readonly MemoryEvent[]): { event: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.event, (counts.get(e.event) ?? 0) + 1);
  return [...counts]
    .map(([event, count]) => ({ event, count }))
    .sort((a, b) => b.count - a.count || (a.event < b.event ? -1 : a.event > b.event ? 1 : 0));
}

/**
 * Per segment, the stored snapshots at or before asOf (one per instant: the latest version,
 * then the latest computation) and whether the user was a member of each. Two queries: the
 * snapshot list, and this user's rows of snapshot_members among them.
 */
async function membershipHistory(store: EventStore, user: StoredUser, asOfMs: number): Promise<MembershipHistory[]> {
  const d = store.dialect;
  const rows = await store.query(
    `SELECT snapshot_id, segment_key, version, ${d.epochMs('as_of')} AS as_of_ms FROM ${TABLES.snapshots} WHERE as_of <= ${d.timestampLiteral(asOfMs)}`,
  );
  const chosen = new Map<string, { id: number; key: string; version: number; asOfMs: number }>();
  for (const r of rows) {
    const s = { id: Number(r.snapshot_id), key: String(r.segment_key), version: Number(r.version), asOfMs: Number(r.as_of_ms) };
    const k = `${s.key}@${s.asOfMs}`;
    const seen = chosen.get(k);
    if (!seen || s.version > seen.version || (s.version === seen.version && s.id > seen.id)) chosen.set(k, s);
  }
  if (chosen.size === 0) return [];
  const ids = [...chosen.values()].map((s) => s.id);
  const memberOf = new Set(
    (
      await store.query(
        `SELECT snapshot_id FROM ${d.table(TABLES.snapshotMembers)} WHERE user_id = ${d.stringLiteral(user.userId)} AND snapshot_id IN (${ids.map((id) => d.numberLiteral(id)).join(', ')})`,
      )
    ).map((r) => Number(r.snapshot_id)),
  );
  const byKey = new Map<string, { id: number; version: number; asOfMs: number }[]>();
  for (const s of chosen.values()) {
    const list = byKey.get(s.key) ?? [];
    list.push(s);
    byKey.set(s.key, list);
  }
  return [...byKey.keys()].sort().map((key) => {
    const snaps = byKey.get(key)!.sort((a, b) => a.asOfMs - b.asOfMs);
    const points: MembershipPoint[] = snaps.map((s) => ({
      asOf: formatInstant(s.asOfMs),
      version: s.version,
      member: memberOf.has(s.id),
      inPopulation: user.hasProfile || (user.firstEventMs !== null && user.firstEventMs < s.asOfMs),
    }));
    const transitions: MembershipTransition[] = [];
    for (let i = 1; i < points.length; i++) {
      if (points[i]!.member !== points[i - 1]!.member) transitions.push({ asOf: points[i]!.asOf, change: points[i]!.member ? 'entered' : 'left', version: points[i]!.version });
    }
    return {
      key,
      snapshots: points.length,
      memberIn: points.filter((p) => p.member).length,
      first: points[0]!.asOf,
      last: points[points.length - 1]!.asOf,
      memberAtLast: points[points.length - 1]!.member,
      transitions,
      points,
    };
  });
}
