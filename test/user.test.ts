/**
 * `strata user USER_ID` through the CLI on the demo product, for users picked from every
 * segment, users in none, a visitor without a profile and one not yet seen.
 *
 * Oracles:
 * - segments: the in-memory evaluator over the WHOLE generated dataset (the demo's files,
 *   regenerated here from the same seed), and the DuckDB snapshots at the same instant
 *   (`segment backfill`), read member by member;
 * - lifecycle stage: the stage IRs compiled to SQL and run on DuckDB for the population;
 * - traits, counts, first/last seen, recent events, key moments (first core action, first
 *   purchase): the generated files;
 * - membership history: the stored snapshots' member lists.
 */
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { lifecycleStageIRs } from '../src/analysis/lifecycle/index.js';
import type { UserProfile } from '../src/analysis/user/index.js';
import { loadConfig, openStore, type Config } from '../src/config/index.js';
import { demoPlan, writeDemoFiles, DEMO_DAYS, DEMO_END_MS } from '../src/demo/index.js';
import { compileSegmentBatch } from '../src/segments/compile/index.js';
import { evaluateSegments, type MemoryDataset } from '../src/segments/evaluate/index.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { hashPiiValue } from '../src/privacy/minimize.js';
import { MS } from '../src/time/time.js';
import { cli, cliJson } from './cli-helpers.js';
import type { SpecEvent, SpecProfile } from './support/spec-case.js';
import { toMemoryDataset } from './support/to-memory.js';

const SEED = 13;
const USERS = 250;
const T = Date.UTC(2025, 4, 26);
const AS_OF = '2025-05-26';
const plan = demoPlan();

let root = '';
let ws = '';
let data: MemoryDataset;
let expectedSegments: Map<string, Set<string>>;
let keys: string[] = [];
const snapshotMembers = new Map<string, Map<string, Set<string>>>(); // key -> asOf -> members
let stageOf = new Map<string, string>();
let chosen: string[] = [];

async function readJsonl<T>(file: string): Promise<T[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

async function withConfigStore<R>(fn: (config: Config, store: Awaited<ReturnType<typeof openStore>>) => Promise<R>): Promise<R> {
  const config = await loadConfig({ cwd: ws, env: {} });
  const store = await openStore(config);
  try {
    return await fn(config, store);
  } finally {
    await store.close();
  }
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-user-test-'));
  const demo = await cli(root, 'demo', '--users', String(USERS), '--seed', String(SEED), '--dir', 'ws', '--json');
  if (demo.code !== 0) throw new Error(`strata demo failed: ${demo.stderr}`);
  ws = path.join(root, 'ws');
  // Two key moments for the profile's moments, in place of the demo's (their oracle is the first such event).
  const configFile = path.join(ws, 'strata.yaml');
  const configDoc = parseDocument(await readFile(configFile, 'utf8'));
  configDoc.set('moments', { 'first-core-action': { first: 'core_task_completed' }, 'first-purchase': { first: 'purchase' } });
  await writeFile(configFile, configDoc.toString());

  // A visitor with events and no profile, and one whose first event comes after T.
  const visitors = path.join(root, 'visitors.jsonl');
  const extra: SpecEvent[] = [
    { user_id: 'visitor-early', event: 'page_viewed', timestamp: new Date(T - 3 * MS.d).toISOString(), properties: { page: 'pricing' } },
    { user_id: 'visitor-early', event: 'pricing_viewed', timestamp: new Date(T - 2 * MS.d).toISOString() },
    { user_id: 'visitor-late', event: 'page_viewed', timestamp: new Date(T + MS.d).toISOString(), properties: { page: 'home' } },
  ];
  await writeFile(visitors, extra.map((e) => JSON.stringify(e)).join('\n'));
  const ingest = await cli(ws, 'ingest', 'events', visitors);
  if (ingest.code !== 0) throw new Error(`ingest failed: ${ingest.stderr}`);

  // The same files the demo generated and ingested (same seed, same options).
  const files = { eventsFile: path.join(root, 'events.jsonl'), profilesFile: path.join(root, 'profiles.jsonl') };
  await writeDemoFiles({ seed: SEED, users: USERS, endMs: DEMO_END_MS, days: DEMO_DAYS, ...files });
  const events = [...(await readJsonl<SpecEvent>(files.eventsFile)), ...extra];
  data = toMemoryDataset(events, await readJsonl<SpecProfile>(files.profilesFile), plan);

  // Snapshots at three weekly instants up to T, for the membership history.
  const list = await cliJson<{ key: string }[]>(ws, 'segment', 'list');
  keys = list.map((s) => s.key);
  const backfill = await cli(ws, 'segment', 'backfill', ...keys, '--from', '2025-05-12', '--to', AS_OF, '--step', '1w', '--json');
  if (backfill.code !== 0) throw new Error(`backfill failed: ${backfill.stderr}`);

  await withConfigStore(async (config, store) => {
    const registry = new SegmentRegistry(store, config.plan, { lifecycle: config.lifecycle });
    const segments = await registry.currentSegments();
    expectedSegments = evaluateSegments(
      segments.map((s) => s.ir),
      data,
      T,
    );
    for (const key of keys) {
      const byInstant = new Map<string, Set<string>>();
      for (const s of (await registry.show(key)).snapshots) {
        const rows = await store.query(`SELECT user_id FROM snapshot_members WHERE snapshot_id = ${s.snapshotId}`);
        byInstant.set(s.asOf, new Set(rows.map((r) => String(r.user_id))));
      }
      snapshotMembers.set(key, byInstant);
    }
    // The lifecycle stages as SQL over the whole population.
    const stages = lifecycleStageIRs(config.lifecycle, config.plan);
    const batch = compileSegmentBatch(
      stages.map((s) => s.ir),
      { dialect: store.dialect, asOfMs: T },
    );
    const rows = await store.query(batch.sql);
    stageOf = new Map();
    for (const r of rows) {
      const hit = batch.columns.find((c) => r[c.column] === true);
      if (hit) stageOf.set(String(r.user_id), hit.key);
    }
  });

  // One member of each non-empty segment, three users in none, and the visitors.
  const picked = new Set<string>();
  for (const key of keys) {
    const first = [...(expectedSegments.get(key) ?? [])].sort()[0];
    if (first !== undefined) picked.add(first);
  }
  const inSome = new Set([...expectedSegments.values()].flatMap((s) => [...s]));
  for (const u of [...data.profiles.keys()].sort().filter((u) => !inSome.has(u)).slice(0, 3)) picked.add(u);
  chosen = [...picked, 'visitor-early', 'visitor-late'];
}, 180_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const profiles = new Map<string, Promise<UserProfile>>();
/** `strata user USER_ID --as-of AS_OF --json`, run once per user for the tests that read it. */
function profileOf(userId: string): Promise<UserProfile> {
  let p = profiles.get(userId);
  if (!p) profiles.set(userId, (p = cliJson<UserProfile>(ws, 'user', userId, '--as-of', AS_OF)));
  return p;
}

function eventsBefore(userId: string) {
  return data.events.filter((e) => e.userId === userId && e.ts < T).sort((a, b) => a.ts - b.ts);
}

describe('strata user', () => {
  it('lists the segments the in-memory evaluator over everyone and the DuckDB snapshots agree on', async () => {
    expect(chosen.length).toBeGreaterThanOrEqual(10);
    let members = 0;
    for (const userId of chosen) {
      const p = await profileOf(userId);
      const mine = p.segments.map((s) => s.key).sort();
      const byEvaluator = keys.filter((k) => expectedSegments.get(k)!.has(userId)).sort();
      const bySnapshot = keys.filter((k) => snapshotMembers.get(k)!.get(`${AS_OF}T00:00:00.000Z`)!.has(userId)).sort();
      expect(mine, `${userId} vs the in-memory evaluator`).toEqual(byEvaluator);
      expect(mine, `${userId} vs the DuckDB snapshots`).toEqual(bySnapshot);
      expect(p.segmentsEvaluated).toBe(keys.length);
      expect(p.segments.every((s) => s.version === 1)).toBe(true);
      members += mine.length;
    }
    // Several users are in several segments: the comparison is not of empty lists.
    expect(members).toBeGreaterThanOrEqual(keys.length);
  });

  it('gives the lifecycle stage the SQL compilation of the stages gives', async () => {
    const seen = new Set<string>();
    for (const userId of chosen) {
      const p = await profileOf(userId);
      expect(p.lifecycle, userId).not.toBeNull();
      expect(p.lifecycle!.stage, userId).toBe(stageOf.get(userId) ?? null);
      if (p.lifecycle!.stage) seen.add(p.lifecycle!.stage);
    }
    expect(seen.size).toBeGreaterThanOrEqual(2);
  });

  it('shows activity, traits and recent events as generated, masking pii unless asked', async () => {
    for (const userId of chosen.slice(0, 4)) {
      const p = await cliJson<UserProfile>(ws, 'user', userId, '--as-of', AS_OF, '--events', '5');
      const events = eventsBefore(userId);
      expect(p.totalEvents).toBe(events.length);
      expect(p.firstSeen).toBe(new Date(events[0]!.ts).toISOString());
      expect(p.lastSeen).toBe(new Date(events.at(-1)!.ts).toISOString());
      const counts = new Map<string, number>();
      for (const e of events) counts.set(e.event, (counts.get(e.event) ?? 0) + 1);
      expect(Object.fromEntries(p.eventCounts.map((c) => [c.event, c.count]))).toEqual(Object.fromEntries(counts));
      expect(p.recentEvents.map((e) => e.at)).toEqual(events.slice(-5).reverse().map((e) => new Date(e.ts).toISOString()));
      const newest = events.at(-1)!;
      expect(p.recentEvents[0]!.properties).toEqual(newest.properties);

      const traits = data.profiles.get(userId)!;
      const email = p.traits.find((t) => t.name === 'email')!;
      expect(email).toMatchObject({ pii: true, masked: true, value: null });
      const age = p.traits.find((t) => t.name === 'age_band')!;
      expect(age).toMatchObject({ sensitive: true, masked: false, value: traits.age_band });
      expect(p.traits.find((t) => t.name === 'signup_at')!.value).toBe(new Date(traits.signup_at as number).toISOString());
      expect(p.traits.find((t) => t.name === 'plan')!.value).toBe(traits.plan);

      const shown = await cliJson<UserProfile>(ws, 'user', userId, '--as-of', AS_OF, '--show-pii');
      // pii traits are minimized at ingest (privacy.pii: hash by default): --show-pii shows the stored digest, never the address.
      expect(shown.traits.find((t) => t.name === 'email')).toMatchObject({ masked: false, value: hashPiiValue(String(traits.email), null) });
      const text = await cli(ws, 'user', userId, '--as-of', AS_OF);
      expect(text.code).toBe(0);
      expect(text.stdout).not.toContain(String(traits.email));
      expect(text.stdout).toContain('pii (--show-pii shows it)');
      expect(text.stdout).toContain(`user ${userId} as of ${AS_OF}`);
    }
  });

  it('gives each key moment at the first such event before asOf, or null', async () => {
    let reached = 0;
    for (const userId of chosen) {
      const p = await profileOf(userId);
      const first = (event: string) => {
        const e = eventsBefore(userId).find((x) => x.event === event);
        return e ? new Date(e.ts).toISOString() : null;
      };
      expect(p.moments).toEqual([
        { key: 'first-core-action', at: first('core_task_completed') },
        { key: 'first-purchase', at: first('purchase') },
      ]);
      reached += p.moments!.filter((m) => m.at !== null).length;
    }
    expect(reached).toBeGreaterThan(3);
  });

  it('summarizes membership over the stored snapshots', async () => {
    let transitions = 0;
    for (const userId of chosen) {
      const p = await profileOf(userId);
      expect(p.membershipHistory.map((h) => h.key)).toEqual([...keys].sort());
      for (const h of p.membershipHistory) {
        const stored = snapshotMembers.get(h.key)!;
        const instants = [...stored.keys()].filter((a) => Date.parse(a) <= T).sort();
        expect(h.points.map((x) => x.asOf)).toEqual(instants);
        expect(h.points.map((x) => x.member)).toEqual(instants.map((a) => stored.get(a)!.has(userId)));
        const flips = h.points.slice(1).filter((x, i) => x.member !== h.points[i]!.member);
        expect(h.transitions.map((t) => [t.asOf, t.change])).toEqual(flips.map((x) => [x.asOf, x.member ? 'entered' : 'left']));
        transitions += h.transitions.length;
      }
    }
    expect(transitions).toBeGreaterThan(0);
  });

  it('handles a visitor without a profile, a user not yet seen, and an unknown id', async () => {
    const early = await cliJson<UserProfile>(ws, 'user', 'visitor-early', '--as-of', AS_OF);
    expect(early).toMatchObject({ inPopulation: true, hasProfile: false, totalEvents: 2, profileUpdatedAt: null });
    expect(early.traits.every((t) => t.value === null && !t.masked)).toBe(true);

    const late = await cliJson<UserProfile>(ws, 'user', 'visitor-late', '--as-of', AS_OF);
    expect(late).toMatchObject({ inPopulation: false, totalEvents: 0, firstSeen: null, segments: [], lifecycle: { stage: null } });
    expect(late.membershipHistory.every((h) => h.points.every((x) => !x.member && !x.inPopulation))).toBe(true);
    const later = await cliJson<UserProfile>(ws, 'user', 'visitor-late', '--as-of', '2025-06-01');
    expect(later.inPopulation).toBe(true);

    const unknown = await cli(ws, 'user', 'no-such-user', '--json');
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error: { code: 'USER_NOT_FOUND' } });
    const text = await cli(ws, 'user', 'no-such-user');
    expect(text.stderr).toMatch(/no user "no-such-user"/);
  });
});
