/**
 * An independent classifier for the DEFAULT lifecycle stages, written straight from the
 * README's stage table (not from the segment language or any engine): per user, plain
 * loops over the events before asOf. Tests hold the report, the flow and the lowered
 * `{lifecycle: STAGE}` conditions to it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeDemoFiles } from '../../src/demo/index.js';
import type { MemoryDataset, MemoryEvent, MemoryValue } from '../../src/segments/evaluate/index.js';
import { writeVisitors } from './demo-fixtures.js';

const DAY = 86_400_000;

export interface OracleModel {
  /** Activity: null = any event. */
  readonly activity: string | null;
  readonly coreAction: string | null;
  readonly advocacyEvent: string | null;
  readonly newWithinMs: number;
  readonly engagedDays: number;
  readonly engagedOfMs: number;
  /** The drop in whole percent (50 = 0.5), so the threshold is computed in integers. */
  readonly atRiskDropPercent: number;
  readonly dormantAfterMs: number;
  readonly resurrectedWithinMs: number;
  /** Stage keys in priority order (only the stages in the model). */
  readonly order: readonly string[];
  readonly fallback: string;
}

/** The default model with a core action and an advocacy event configured, in the default order. */
export function oracleDefaults(coreAction: string, advocacyEvent: string): OracleModel {
  return {
    activity: null,
    coreAction,
    advocacyEvent,
    newWithinMs: 7 * DAY,
    engagedDays: 8,
    engagedOfMs: 28 * DAY,
    atRiskDropPercent: 50,
    dormantAfterMs: 30 * DAY,
    resurrectedWithinMs: 14 * DAY,
    order: ['dormant', 'resurrected', 'at_risk', 'advocate', 'engaged', 'activated', 'new'],
    fallback: 'unactivated',
  };
}

/** Each user of the population as of asOf -> their stage. */
export function classifyUsers(data: MemoryDataset, asOfMs: number, model: OracleModel): Map<string, string> {
  const byUser = new Map<string, MemoryEvent[]>();
  for (const e of data.events) {
    if (e.ts >= asOfMs) continue;
    const list = byUser.get(e.userId) ?? [];
    list.push(e);
    byUser.set(e.userId, list);
  }
  for (const u of data.profiles.keys()) if (!byUser.has(u)) byUser.set(u, []);
  const out = new Map<string, string>();
  for (const [user, events] of byUser) out.set(user, classifyUser(events, asOfMs, model));
  return out;
}

export function classifyUser(events: readonly MemoryEvent[], asOf: number, m: OracleModel): string {
  const active = events.filter((e) => m.activity === null || e.event === m.activity).map((e) => e.ts);
  const first = active.length > 0 ? Math.min(...active) : undefined;
  const last = active.length > 0 ? Math.max(...active) : undefined;
  const daysIn = (lo: number, hi: number) => new Set(active.filter((t) => t >= lo && t < hi).map((t) => Math.floor(t / DAY))).size;
  const anyIn = (lo: number, hi: number) => active.some((t) => t >= lo && t < hi);
  const did = (name: string | null) => name !== null && events.some((e) => e.event === name);
  // Fewer than ceil(N x (100 - drop%) / 100) days, in integers.
  const threshold = Math.ceil((m.engagedDays * (100 - m.atRiskDropPercent)) / 100);
  const W = m.engagedOfMs;
  const R = m.resurrectedWithinMs;
  const D = m.dormantAfterMs;
  const holds: Record<string, () => boolean> = {
    dormant: () => last !== undefined && asOf - last >= D,
    resurrected: () => anyIn(asOf - R, asOf) && !anyIn(asOf - R - D, asOf - R) && first !== undefined && asOf - first >= R + D,
    at_risk: () => daysIn(asOf - 2 * W, asOf - W) >= m.engagedDays && daysIn(asOf - W, asOf) < threshold,
    advocate: () => did(m.advocacyEvent),
    engaged: () => daysIn(asOf - W, asOf) >= m.engagedDays,
    activated: () => did(m.coreAction),
    new: () => first !== undefined && asOf - first < m.newWithinMs,
  };
  for (const stage of m.order) if (holds[stage]!()) return stage;
  return m.fallback;
}

/** Count users per stage. */
export function countStages(stages: ReadonlyMap<string, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of stages.values()) out.set(s, (out.get(s) ?? 0) + 1);
  return out;
}

/**
 * The demo product (src/demo) for `users` users written as export files (writeDemoFiles),
 * plus `visitors` users with one page view each and no profile, arriving at `visitorsFrom`
 * and every 2 days after (so a flow has users who were not yet in the population), and the
 * same data in memory for the oracle. Ingest the files with `ingestFiles`.
 */
export async function demoFilesAndData(
  dir: string,
  options: { seed: number; users: number; endMs: number; days: number; visitors: number; visitorsFrom: number },
): Promise<{ eventsFiles: string[]; profilesFile: string; data: MemoryDataset }> {
  const eventsFile = path.join(dir, 'events.jsonl');
  const profilesFile = path.join(dir, 'profiles.jsonl');
  await writeDemoFiles({ seed: options.seed, users: options.users, endMs: options.endMs, days: options.days, eventsFile, profilesFile });
  const visitorTimes = Array.from({ length: options.visitors }, (_, i) => options.visitorsFrom + i * 2 * DAY + 3_600_000);
  const visitorsFile = await writeVisitors(path.join(dir, 'visitors.jsonl'), visitorTimes, { page: 'pricing' });

  const events: MemoryEvent[] = [];
  for (const file of [eventsFile, visitorsFile]) {
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (line.trim() === '') continue;
      const e = JSON.parse(line) as { user_id: string; event: string; timestamp: string; properties?: Record<string, MemoryValue> };
      events.push({ userId: e.user_id, event: e.event, ts: Date.parse(e.timestamp), properties: e.properties ?? {} });
    }
  }
  const profiles = new Map<string, Record<string, MemoryValue>>();
  for (const line of (await readFile(profilesFile, 'utf8')).split('\n')) {
    if (line.trim() === '') continue;
    const p = JSON.parse(line) as { user_id: string; traits: Record<string, MemoryValue> };
    const traits = { ...p.traits };
    if (typeof traits.signup_at === 'string') traits.signup_at = Date.parse(traits.signup_at);
    profiles.set(p.user_id, { ...(profiles.get(p.user_id) ?? {}), ...traits });
  }
  return { eventsFiles: [eventsFile, visitorsFile], profilesFile, data: { events, profiles } };
}
