/**
 * `lifecycleReport` and `lifecycleFlow` on DuckDB against an independent JS computation:
 * the demo product (src/demo, 400 seeded users) plus visitors without a profile who arrive
 * between the two instants, written as files and ingested with `ingestFiles`; the same
 * files read into memory feed the oracle, the classifier written from
 * the README's stage table (test/support/lifecycle-oracle.ts); breakdowns group its
 * answer by the profile trait or by the segment's members. `{lifecycle: STAGE}` segments
 * computed by the registry on DuckDB are held to the in-memory evaluator.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindBreakdown, resolveBreakdown } from '../src/analysis/breakdown.js';
import {
  NOT_YET_SEEN,
  lifecycleFlow,
  lifecycleReport,
  lifecycleStageIRs,
  parseLifecycleSection,
  type LifecycleReport,
  type LifecycleSettings,
} from '../src/analysis/lifecycle/index.js';
import { DEMO_DAYS, DEMO_END_MS, demoPlan } from '../src/demo/index.js';
import { isStrataError } from '../src/errors/errors.js';
import { ingestFiles } from '../src/ingest/index.js';
import { evaluateSegments, type MemoryDataset } from '../src/segments/evaluate/index.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { MS } from '../src/time/time.js';
import { classifyUsers, countStages, demoFilesAndData, oracleDefaults } from './support/lifecycle-oracle.js';

const plan = demoPlan();
const T2 = DEMO_END_MS;
const T1 = DEMO_END_MS - 30 * MS.d;
const ORDER = ['dormant', 'resurrected', 'at_risk', 'advocate', 'engaged', 'activated', 'new', 'unactivated'];

let dir = '';
let store: DuckDbStore;
let data: MemoryDataset;
let settings: LifecycleSettings;
let registry: SegmentRegistry;
const oracle = oracleDefaults('core_task_completed', 'invite_sent');

const FREE = { key: 'free-plan', name: 'Free plan', objective: 'other', rationale: 'Breakdown and restriction by a segment.', owner: 'growth', match: { trait: 'plan', eq: 'free' } } as const;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strata-lifecycle-report-'));
  const files = await demoFilesAndData(dir, { seed: 5, users: 400, endMs: T2, days: DEMO_DAYS, visitors: 12, visitorsFrom: T1 - 10 * MS.d });
  data = files.data;
  store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  await store.applyPlan(plan);
  await ingestFiles(store, { kind: 'events', files: files.eventsFiles, plan, rejectsPath: path.join(dir, 'rejects-events.jsonl') });
  await ingestFiles(store, { kind: 'profiles', files: [files.profilesFile], plan, rejectsPath: path.join(dir, 'rejects-profiles.jsonl') });
  const lifecycle = parseLifecycleSection({ core_action: 'core_task_completed', advocacy_event: 'invite_sent' }, plan, (p, m) => {
    throw new Error(`${p}: ${m}`);
  });
  settings = { plan, lifecycle };
  registry = new SegmentRegistry(store, plan, { lifecycle, now: () => T2 + MS.h });
  await registry.add([FREE]);
}, 60_000);

afterAll(async () => {
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function expectCounts(report: LifecycleReport, stages: ReadonlyMap<string, string>): void {
  const counts = countStages(stages);
  expect(report.stages.map((s) => s.stage)).toEqual(ORDER);
  expect(Object.fromEntries(report.stages.map((s) => [s.stage, s.users]))).toEqual(Object.fromEntries(ORDER.map((k) => [k, counts.get(k) ?? 0])));
  expect(report.population).toBe(stages.size);
  for (const s of report.stages) expect(s.share).toBeCloseTo(s.users / stages.size, 12);
}

describe('lifecycle report on DuckDB', () => {
  it('counts users per stage as the independent classifier does, at two instants', async () => {
    for (const asOfMs of [T2, T1]) {
      const report = await lifecycleReport(store, settings, { asOfMs });
      expectCounts(report, classifyUsers(data, asOfMs, oracle));
      expect(report.by).toBeNull();
    }
    // The data is rich enough to mean something: most stages have users at T2.
    const counts = countStages(classifyUsers(data, T2, oracle));
    expect(ORDER.filter((k) => (counts.get(k) ?? 0) > 0).length).toBeGreaterThanOrEqual(7);
  });

  it('breaks the counts down by a trait (users without a profile in "(none)")', async () => {
    const by = await bindBreakdown(resolveBreakdown('plan', plan, []), registry, T2);
    const report = await lifecycleReport(store, settings, { asOfMs: T2, by });
    const stages = classifyUsers(data, T2, oracle);
    const groupOf = (u: string) => (data.profiles.get(u)?.plan as string | undefined) ?? '(none)';
    const groups = [...new Set([...stages.keys()].map(groupOf))];
    expect(report.by!.groups.map((g) => g.group).sort()).toEqual(groups.sort());
    expect(report.by!.groups.at(-1)!.group).toBe('(none)');
    for (const g of report.by!.groups) {
      const inGroup = new Map([...stages].filter(([u]) => groupOf(u) === g.group));
      expect(g.population).toBe(inGroup.size);
      const counts = countStages(inGroup);
      expect(Object.fromEntries(g.stages.map((s) => [s.stage, s.users]))).toEqual(Object.fromEntries(ORDER.map((k) => [k, counts.get(k) ?? 0])));
    }
    expectCounts(report, stages);
  });

  it('restricts to a segment and breaks down by segment membership', async () => {
    const snapshot = await registry.snapshot(FREE.key, { asOfMs: T2 });
    const stages = classifyUsers(data, T2, oracle);
    const free = new Map([...stages].filter(([u]) => data.profiles.get(u)?.plan === 'free'));
    expect(free.size).toBe(snapshot.size);
    const restricted = await lifecycleReport(store, settings, { asOfMs: T2, segment: { key: FREE.key, snapshotId: snapshot.snapshotId } });
    expect(restricted.segment).toBe(FREE.key);
    expectCounts(restricted, free);

    const by = await bindBreakdown(resolveBreakdown(`segment:${FREE.key}`, plan, [FREE.key]), registry, T2);
    const split = await lifecycleReport(store, settings, { asOfMs: T2, by });
    expect(split.by!.groups.map((g) => g.group)).toEqual(['member', 'non-member']);
    expect(split.by!.groups[0]!.stages).toEqual(restricted.stages);
  });
});

describe('lifecycle flow on DuckDB', () => {
  it('counts users by (stage at T1, stage at T2) as the classifier does; newcomers come from (not yet seen)', async () => {
    const flow = await lifecycleFlow(store, settings, { fromMs: T1, toMs: T2 });
    const before = classifyUsers(data, T1, oracle);
    const after = classifyUsers(data, T2, oracle);
    const expected = new Map<string, number>();
    for (const [u, to] of after) {
      const key = `${before.get(u) ?? NOT_YET_SEEN} -> ${to}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const actual = new Map<string, number>();
    for (const row of flow.rows) for (const c of row.to) if (c.users > 0) actual.set(`${row.stage} -> ${c.stage}`, c.users);
    expect(Object.fromEntries([...actual].sort())).toEqual(Object.fromEntries([...expected].sort()));

    expect(flow.stages.map((s) => s.key)).toEqual(ORDER);
    expect(flow.rows.map((r) => r.stage)).toEqual([...ORDER, NOT_YET_SEEN]);
    expect(flow.users).toBe(after.size);
    // 12 visitors every 2 days from T1 - 10d: 7 arrive at or after T1.
    expect(flow.rows.at(-1)!.users).toBe(7);
    for (const row of flow.rows) {
      expect(row.users).toBe(row.to.reduce((a, c) => a + c.users, 0));
      if (row.users > 0) expect(row.to.reduce((a, c) => a + c.share, 0)).toBeCloseTo(1, 12);
    }
    const report = await lifecycleReport(store, settings, { asOfMs: T2 });
    expect(flow.totals.map((t) => t.users)).toEqual(report.stages.map((s) => s.users));
    // Most users move somewhere: the matrix is not just its diagonal.
    expect(flow.rows.some((r) => r.to.some((c) => c.stage !== r.stage && c.users > 0))).toBe(true);
  });

  it('restricted to the members of a segment as of --from', async () => {
    const snapshot = await registry.snapshot(FREE.key, { asOfMs: T1 });
    const flow = await lifecycleFlow(store, settings, { fromMs: T1, toMs: T2, segment: { key: FREE.key, snapshotId: snapshot.snapshotId } });
    const before = classifyUsers(data, T1, oracle);
    const after = classifyUsers(data, T2, oracle);
    const members = [...before.keys()].filter((u) => data.profiles.get(u)?.plan === 'free');
    expect(flow.users).toBe(members.length);
    for (const row of flow.rows) {
      for (const c of row.to) expect(c.users, `${row.stage} -> ${c.stage}`).toBe(members.filter((u) => before.get(u) === row.stage && after.get(u) === c.stage).length);
    }
  });

  it('runs forward in time only', async () => {
    const e = await lifecycleFlow(store, settings, { fromMs: T2, toMs: T2 }).catch((x: unknown) => x);
    expect(isStrataError(e) && e.code).toBe('INPUT_INVALID');
  });
});

describe('{lifecycle: STAGE} segments', () => {
  it('on DuckDB have the members the in-memory evaluator gives, and the report counts', async () => {
    const defs = ORDER.map((stage) => ({ key: `stage-${stage.replace('_', '-')}`, name: stage, objective: 'other', rationale: 'Lifecycle stage as a segment.', owner: 'growth', match: { lifecycle: stage } }) as const);
    await registry.add(defs);
    await registry.compute(
      defs.map((d) => d.key),
      { asOfMs: T2 },
    );
    const memory = evaluateSegments(
      lifecycleStageIRs(settings.lifecycle, plan).map((s) => s.ir),
      data,
      T2,
    );
    const report = await lifecycleReport(store, settings, { asOfMs: T2 });
    for (const [i, stage] of ORDER.entries()) {
      const ids: string[] = [];
      for await (const id of (await registry.members(defs[i]!.key, { asOfMs: T2 })).ids) ids.push(id);
      expect(ids.sort(), stage).toEqual([...memory.get(stage)!].sort());
      expect(ids.length, stage).toBe(report.stages[i]!.users);
    }
  });
});
