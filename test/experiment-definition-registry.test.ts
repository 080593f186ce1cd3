/**
 * The experiment registry: versions (a new one only when the canonical document changes),
 * list statuses by the clock, get at a version re-validated against the plan, unknown keys
 * with suggestions, all-or-nothing adds, and `assignUser` (targeting evaluated in memory
 * over the user's rows, the hash of assign.ts). The same calls run on a DuckDB file
 * (reopened to check the versions persist), a ClickHouse node and a two-shard cluster
 * (where experiment_versions lives on the initiator), and must give the same answers.
 * Oracles: the expected versions and statuses are worked out by hand below; variants by
 * `assignVariant` (whose own vectors are spec/hash.json).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrataError } from '../src/errors/errors.js';
import { ExperimentRegistry, assignUser, assignVariant, experimentDefinitionHash, type ExperimentListItem } from '../src/experiments/design/index.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import type { EventStore } from '../src/store/event-store.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';
import { loadIntoStore } from './support/load-duckdb.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 9, 1);
const STOP = Date.UTC(2026, 10, 1);

const plan = parsePlan({
  events: {
    $exposure: { properties: { experiment: 'string', variant: 'string' } },
    signed_up: {},
    core_task_completed: {},
    purchase: { properties: { amount: 'number' } },
  },
  traits: { plan: 'string' },
});

const STALLED = { key: 'stalled', name: 'Stalled', objective: 'activation', rationale: 'Signed up, no core task', owner: 'growth', match: { all: [{ did: 'signed_up' }, { not: { did: 'core_task_completed' } }] } } as const;

/** s1 signed up and stalled; a1 signed up and completed a task (not stalled). */
const DATA = {
  events: [
    { userId: 's1', event: 'signed_up', ts: START - 5 * DAY, properties: {} },
    { userId: 'a1', event: 'signed_up', ts: START - 5 * DAY, properties: {} },
    { userId: 'a1', event: 'core_task_completed', ts: START - 4 * DAY, properties: {} },
  ],
  profiles: new Map([['s1', { plan: 'free' }]]),
};

const checklist = () => ({
  key: 'onboarding-checklist',
  name: 'Checklist',
  hypothesis: 'Stalled users activate more with a checklist.',
  targeting: ['stalled'],
  variants: [{ key: 'control' }, { key: 'checklist' }],
  start: '2026-10-01',
  stop: '2026-11-01',
  metrics: { primary: 'activated' },
  definitions: { activated: { type: 'conversion', event: 'core_task_completed', within: '7d' } },
});

const pricing = () => ({
  key: 'pricing-page',
  name: 'Pricing page',
  hypothesis: 'A shorter page sells more.',
  factors: { layout: ['long', 'short'], badge: ['none', 'popular'] },
  start: '2026-12-01',
  exposure: 'assignment',
  metrics: { primary: { key: 'revenue', type: 'sum', event: 'purchase', property: 'amount' } },
});

let dir = '';
let layouts: ClickHouseLayouts | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strata-exp-registry-'));
  if (clickhouseAvailable()) layouts = await startLayouts('strata_exp_registry');
}, 60_000);

afterAll(async () => {
  await layouts?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Transcript {
  readonly added: unknown[];
  readonly lists: ExperimentListItem[][];
  readonly gets: unknown[];
  readonly versions: unknown[];
  readonly errors: unknown[];
  readonly assignments: unknown[];
}

/** The same calls on any store; `reopen` closes and reopens it (a file store) between adds. */
async function exercise(first: EventStore, reopen: (s: EventStore) => Promise<EventStore>): Promise<{ t: Transcript; store: EventStore }> {
  let store = first;
  let clock = Date.UTC(2026, 8, 1);
  const now = () => clock;
  await store.applyPlan(plan);
  await loadIntoStore(store, plan, DATA);
  await new SegmentRegistry(store, plan, { now }).add([STALLED]);
  let registry = new ExperimentRegistry(store, plan, { now });
  const t: Transcript = { added: [], lists: [], gets: [], versions: [], errors: [], assignments: [] };
  const caught = async (f: () => Promise<unknown>) => {
    try {
      await f();
      return 'no error';
    } catch (e) {
      if (!(e instanceof StrataError)) throw e;
      return { code: e.code, message: e.message, details: e.details };
    }
  };

  t.added.push(await registry.add([checklist(), pricing()]));
  // Another key order, the same meaning: unchanged.
  const reordered = Object.fromEntries(Object.entries(checklist()).reverse());
  clock += DAY;
  t.added.push(await registry.add([reordered]));
  store = await reopen(store);
  registry = new ExperimentRegistry(store, plan, { now });
  clock += DAY;
  t.added.push(await registry.add([{ ...checklist(), variants: [{ key: 'control', weight: 1 }, { key: 'checklist', weight: 3 }] }]));

  t.lists.push(await registry.list());
  clock = START + DAY;
  t.lists.push(await registry.list());
  clock = STOP;
  t.lists.push(await registry.list());

  const latest = await registry.get('onboarding-checklist');
  const first1 = await registry.get('onboarding-checklist', 1);
  t.gets.push(
    [latest.version, latest.definition.variants, latest.definitionHash],
    [first1.version, first1.definition.variants, first1.definitionHash],
    (await registry.get('pricing-page')).definition.variants.map((v) => v.key),
  );
  t.versions.push((await registry.versions('onboarding-checklist')).map((v) => [v.version, v.hash]));

  t.errors.push(await caught(() => registry.get('onboarding-checklst')));
  t.errors.push(await caught(() => registry.get('onboarding-checklist', 7)));
  t.errors.push(await caught(() => registry.versions('nothing-like-it')));
  // One bad document: nothing of the add is stored.
  t.errors.push(await caught(() => registry.add([{ ...pricing(), name: 'Renamed' }, { ...checklist(), key: 'second', coverage: 0 }])));
  t.errors.push(await caught(() => registry.add([pricing(), pricing()])));
  t.versions.push((await registry.versions('pricing-page')).length);
  // The plan lost $exposure: the stored event-exposure version no longer validates.
  const narrower = parsePlan({ events: { signed_up: {}, core_task_completed: {}, purchase: { properties: { amount: 'number' } } }, traits: { plan: 'string' } });
  t.errors.push(await caught(() => new ExperimentRegistry(store, narrower).get('onboarding-checklist')));
  t.lists.push((await new ExperimentRegistry(store, narrower, { now }).list()) as ExperimentListItem[]);

  const segments = new SegmentRegistry(store, plan, { now });
  const sources = { experiments: registry, segments, store, plan };
  const during = START + 2 * DAY;
  for (const [user, asOfMs] of [
    ['s1', during],
    ['a1', during],
    ['nobody', during],
    ['s1', START - 1],
    ['s1', STOP],
  ] as const) {
    t.assignments.push(await assignUser(sources, 'onboarding-checklist', user, { asOfMs }));
  }
  t.assignments.push(await assignUser(sources, 'pricing-page', 'nobody', { asOfMs: Date.UTC(2026, 11, 2) }));
  return { t, store };
}

const withoutTimes = (list: ExperimentListItem[]) => list.map(({ createdAt: _c, updatedAt: _u, ...rest }) => rest);

function checkTranscript(t: Transcript): void {
  expect(t.added).toEqual([
    [
      { key: 'onboarding-checklist', version: 1, status: 'created' },
      { key: 'pricing-page', version: 1, status: 'created' },
    ],
    [{ key: 'onboarding-checklist', version: 1, status: 'unchanged' }],
    [{ key: 'onboarding-checklist', version: 2, status: 'updated' }],
  ]);
  expect(t.lists.slice(0, 3).map((l) => l.map((x) => [x.key, x.status, x.version]))).toEqual([
    [
      ['onboarding-checklist', 'draft', 2],
      ['pricing-page', 'draft', 1],
    ],
    [
      ['onboarding-checklist', 'running', 2],
      ['pricing-page', 'draft', 1],
    ],
    [
      ['onboarding-checklist', 'stopped', 2],
      ['pricing-page', 'draft', 1],
    ],
  ]);
  expect(withoutTimes(t.lists[0]!)).toEqual([
    {
      key: 'onboarding-checklist',
      name: 'Checklist',
      version: 2,
      status: 'draft',
      start: '2026-10-01T00:00:00.000Z',
      stop: '2026-11-01T00:00:00.000Z',
      method: 'frequentist',
      exposure: 'event',
      variants: ['control', 'checklist'],
      targeting: ['stalled'],
    },
    {
      key: 'pricing-page',
      name: 'Pricing page',
      version: 1,
      status: 'draft',
      start: '2026-12-01T00:00:00.000Z',
      stop: null,
      method: 'frequentist',
      exposure: 'assignment',
      variants: ['long.none', 'long.popular', 'short.none', 'short.popular'],
      targeting: [],
    },
  ]);
  expect(t.lists[0]![0]).toMatchObject({ createdAt: '2026-09-01T00:00:00.000Z', updatedAt: '2026-09-03T00:00:00.000Z' });
  expect(t.gets).toEqual([
    [
      2,
      [
        { key: 'control', weight: 0.25 },
        { key: 'checklist', weight: 0.75 },
      ],
      experimentDefinitionHash({ ...checklist(), variants: [{ key: 'control', weight: 1 }, { key: 'checklist', weight: 3 }] }),
    ],
    [
      1,
      [
        { key: 'control', weight: 0.5 },
        { key: 'checklist', weight: 0.5 },
      ],
      experimentDefinitionHash(checklist()),
    ],
    ['long.none', 'long.popular', 'short.none', 'short.popular'],
  ]);
  expect(t.versions[0]).toEqual([
    [1, experimentDefinitionHash(checklist())],
    [2, experimentDefinitionHash({ ...checklist(), variants: [{ key: 'control', weight: 1 }, { key: 'checklist', weight: 3 }] })],
  ]);
  expect(t.versions[1]).toBe(1);
  expect(t.errors[0]).toEqual({ code: 'EXPERIMENT_NOT_FOUND', message: 'no experiment "onboarding-checklst"; did you mean "onboarding-checklist"?', details: [] });
  expect(t.errors[1]).toEqual({ code: 'EXPERIMENT_NOT_FOUND', message: 'experiment "onboarding-checklist" has no version 7; stored versions: v1, v2', details: [] });
  expect(t.errors[2]).toMatchObject({ code: 'EXPERIMENT_NOT_FOUND', message: 'no experiment "nothing-like-it"; no registered key is close to it' });
  expect(t.errors[3]).toEqual({
    code: 'EXPERIMENT_INVALID',
    message: '1 problem in the experiment definitions',
    details: [{ path: '[1] coverage', message: 'expected a share in (0, 1], got 0' }],
  });
  expect(t.errors[4]).toMatchObject({ code: 'EXPERIMENT_INVALID', message: 'experiment "pricing-page" is given twice in one add' });
  expect(t.errors[5]).toMatchObject({
    code: 'EXPERIMENT_INVALID',
    message: expect.stringContaining('experiment "onboarding-checklist" v2 no longer validates'),
    details: [{ path: 'exposure', message: expect.stringContaining('does not declare $exposure') }],
  });
  expect(t.lists[3]!.map((x) => [x.key, x.status])).toEqual([
    ['onboarding-checklist', 'invalid'],
    ['pricing-page', 'draft'],
  ]);

  const v2 = { seed: 'onboarding-checklist', hashVersion: 1 as const, coverage: 1, variants: [{ key: 'control', weight: 0.25 }, { key: 'checklist', weight: 0.75 }] };
  const expected = (user: string) => assignVariant(v2, user);
  const [inside, notTargeted, unknown, early, late, pricingNobody] = t.assignments as {
    outcome: Record<string, unknown>;
    targeting: unknown;
    userFound: boolean | null;
    version: number;
  }[];
  expect(inside).toMatchObject({
    version: 2,
    userFound: true,
    targeting: [{ segment: 'stalled', version: 1, member: true }],
    outcome: { inExperiment: true, variant: expected('s1').variant, coverageBucket: expected('s1').coverageBucket, variantBucket: expected('s1').variantBucket },
  });
  expect(notTargeted).toMatchObject({ targeting: [{ segment: 'stalled', member: false }], outcome: { inExperiment: false, reason: 'not-targeted', wouldBe: expected('a1').variant } });
  expect(unknown).toMatchObject({ userFound: false, outcome: { inExperiment: false, reason: 'not-targeted' } });
  expect(early!.outcome).toMatchObject({ inExperiment: false, reason: 'not-started' });
  expect(late!.outcome).toMatchObject({ inExperiment: false, reason: 'stopped' });
  // No targeting: the store is not asked about the user, and everyone covered is in.
  expect(pricingNobody).toMatchObject({ targeting: [], userFound: null, outcome: { inExperiment: true } });
}

describe('the experiment registry on a DuckDB file', () => {
  it('versions, lists, gets, refuses and assigns', async () => {
    const file = path.join(dir, 'registry.duckdb');
    const { t, store } = await exercise(await DuckDbStore.open({ path: file, threads: 1 }), async (s) => {
      await s.close();
      return DuckDbStore.open({ path: file, threads: 1 });
    });
    await store.close();
    checkTranscript(t);
  });
});

describe.skipIf(!clickhouseAvailable())('the experiment registry on ClickHouse', () => {
  let duckdb: Transcript | undefined;
  const oracle = async (): Promise<Transcript> => {
    if (duckdb) return duckdb;
    const { t, store } = await exercise(await DuckDbStore.open({ path: ':memory:', threads: 1 }), async (s) => s);
    await store.close();
    duckdb = t;
    return t;
  };

  it.each(['single', 'cluster'] as const)('%s: the same answers as DuckDB', async (layout) => {
    const opened = await layouts!.open(layout);
    const { t, store } = await exercise(opened, async (s) => s);
    try {
      checkTranscript(t);
      const expected = await oracle();
      expect({ ...t, lists: t.lists.map(withoutTimes) }).toEqual({ ...expected, lists: expected.lists.map(withoutTimes) });
      if (layout === 'cluster') {
        // Metadata, not user-keyed: the table is on the initiator only.
        const tables = await Promise.all(opened.shardClients.map((c) => opened.tablesOn(c)));
        expect(tables.map((ts) => new Set(ts).has('experiment_versions'))).toEqual([true, false]);
      }
    } finally {
      await opened.dropDatabase();
      await store.close();
    }
  }, 60_000);
});
