/**
 * `strata lifecycle stages|report|flow` end to end, in-process against a temp workspace with
 * a hand-written history: eight users, one per stage of the default model (core_action
 * task_completed, advocacy_event invite_sent), each stage worked out by hand below from the
 * README's stage table. Also: `{lifecycle: STAGE}` segments through `segment add/compute`,
 * through `strata stream` (the model reaches the stream), and config errors with lines.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleFlow, LifecycleReport } from '../src/analysis/lifecycle/index.js';
import { initWorkspace } from '../src/config/index.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { cli, cliJson } from './cli-helpers.js';

const AS_OF = '2024-03-01';
const T1 = '2024-02-15';
const at = (day: string, time = '10:00:00') => `${day}T${time}Z`;

const PLAN = parsePlan({
  events: { signed_up: {}, task_completed: {}, invite_sent: {}, page_viewed: {} },
  traits: { plan: 'string' },
});

/**
 * As of 2024-03-01 (28d back: 02-02; 56d back: 01-05; 14d back: 02-16; 44d back: 01-17):
 * - dora: last seen 01-10, 51 days: dormant (also at T1, 36 days).
 * - rita: seen 01-01, then 02-25: active in the last 14 days, none in the 30 before, first
 *   seen 60 days ago: resurrected (at T1: last seen 45 days ago, dormant).
 * - ari: 8 days 01-20..01-27 (in [01-05, 02-02)), then one day (02-20) in the last 28: at
 *   risk; not resurrected, since 01-20 is in the gap window [01-17, 02-16). At T1 the 8
 *   days are in [01-18, 02-15): engaged.
 * - ivan: task 02-20, invite 02-21: advocate; no profile, so not yet seen at T1.
 * - ella: page views on 9 days from 02-05 to 02-29: engaged. At T1: 4 days, first seen 10
 *   days before, never did the core action: unactivated.
 * - ann: signed up 02-01, task 02-02 (28 days ago, not dormant): activated, also at T1.
 * - nina: signed up 02-28: new; not yet seen at T1.
 * - paul: a profile only: unactivated at both instants.
 */
const EVENTS = [
  { user_id: 'dora', event: 'signed_up', timestamp: at('2024-01-10') },
  { user_id: 'rita', event: 'signed_up', timestamp: at('2024-01-01') },
  { user_id: 'rita', event: 'page_viewed', timestamp: at('2024-02-25') },
  ...['20', '21', '22', '23', '24', '25', '26', '27'].map((d) => ({ user_id: 'ari', event: 'page_viewed', timestamp: at(`2024-01-${d}`) })),
  { user_id: 'ari', event: 'page_viewed', timestamp: at('2024-02-20') },
  { user_id: 'ivan', event: 'task_completed', timestamp: at('2024-02-20') },
  { user_id: 'ivan', event: 'invite_sent', timestamp: at('2024-02-21') },
  ...['05', '08', '11', '14', '17', '20', '23', '26', '29'].map((d) => ({ user_id: 'ella', event: 'page_viewed', timestamp: at(`2024-02-${d}`) })),
  { user_id: 'ann', event: 'signed_up', timestamp: at('2024-02-01') },
  { user_id: 'ann', event: 'task_completed', timestamp: at('2024-02-02') },
  { user_id: 'nina', event: 'signed_up', timestamp: at('2024-02-28') },
].sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
const PROFILES = [
  { user_id: 'paul', traits: { plan: 'free' } },
  { user_id: 'ann', traits: { plan: 'pro' } },
  { user_id: 'dora', traits: { plan: 'free' } },
];
const LIFECYCLE = '\nlifecycle:\n  core_action: task_completed\n  advocacy_event: invite_sent\n';
const ORDER = ['dormant', 'resurrected', 'at_risk', 'advocate', 'engaged', 'activated', 'new', 'unactivated'];

let root: string;
let ws: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-lifecycle-cli-'));
  ws = path.join(root, 'ws');
  await initWorkspace(ws, { plan: PLAN });
  await writeFile(path.join(ws, 'strata.yaml'), (await readFile(path.join(ws, 'strata.yaml'), 'utf8')) + LIFECYCLE);
  await writeFile(path.join(root, 'events.jsonl'), `${EVENTS.map((e) => JSON.stringify(e)).join('\n')}\n`);
  await writeFile(path.join(root, 'profiles.jsonl'), `${PROFILES.map((p) => JSON.stringify(p)).join('\n')}\n`);
  expect((await cli(ws, 'ingest', 'events', path.join(root, 'events.jsonl'))).code).toBe(0);
  expect((await cli(ws, 'ingest', 'profiles', path.join(root, 'profiles.jsonl'))).code).toBe(0);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('strata lifecycle', () => {
  it('stages: the model in priority order with each condition', async () => {
    const model = await cliJson<{ order: string[]; fallback: { key: string }; stages: { key: string; match: unknown }[] }>(ws, 'lifecycle', 'stages');
    expect([...model.order, model.fallback.key]).toEqual(ORDER);
    expect(model.stages.find((s) => s.key === 'activated')!.match).toEqual({ did: 'task_completed' });
    const human = await cli(ws, 'lifecycle', 'show');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('3. at_risk: At risk');
    expect(human.stdout).toContain('       - activeDays:\n           gte: 8\n         during:\n           - -56d\n           - -28d');
    expect(human.stdout).toContain('8. unactivated: Unactivated (fallback)');
  });

  it('report: one user per stage, with shares', async () => {
    const report = await cliJson<LifecycleReport>(ws, 'lifecycle', 'report', '--as-of', AS_OF);
    expect(report.stages.map((s) => [s.stage, s.users, s.share])).toEqual(ORDER.map((k) => [k, 1, 1 / 8]));
    expect(report.population).toBe(8);
    const human = await cli(ws, 'lifecycle', 'report', '--as-of', AS_OF);
    expect(human.stdout).toContain('Lifecycle stages as of 2024-03-01T00:00:00.000Z: 8 users');
    expect(human.stdout).toMatch(/at_risk\s+At risk\s+1\s+12\.5%/);
  });

  it('report --by plan: users without a profile are in (none)', async () => {
    const report = await cliJson<LifecycleReport>(ws, 'lifecycle', 'report', '--as-of', AS_OF, '--by', 'plan');
    const groups = Object.fromEntries(report.by!.groups.map((g) => [g.group, Object.fromEntries(g.stages.filter((s) => s.users > 0).map((s) => [s.stage, s.users]))]));
    expect(groups).toEqual({
      '(none)': { resurrected: 1, at_risk: 1, advocate: 1, engaged: 1, new: 1 },
      free: { dormant: 1, unactivated: 1 },
      pro: { activated: 1 },
    });
    // Largest group first, the users the breakdown cannot place last.
    expect(report.by!.groups.map((g) => [g.group, g.population])).toEqual([
      ['free', 2],
      ['pro', 1],
      ['(none)', 5],
    ]);
  });

  it('flow: each user from their stage at T1 to their stage at T2', async () => {
    const flow = await cliJson<LifecycleFlow>(ws, 'lifecycle', 'flow', '--from', T1, '--to', AS_OF);
    const moves = flow.rows.flatMap((r) => r.to.filter((c) => c.users > 0).map((c) => `${r.stage} -> ${c.stage}: ${c.users}`));
    expect(moves.sort()).toEqual(
      [
        'dormant -> dormant: 1',
        'dormant -> resurrected: 1',
        'activated -> activated: 1',
        'engaged -> at_risk: 1',
        'unactivated -> engaged: 1',
        'unactivated -> unactivated: 1',
        '(not yet seen) -> new: 1',
        '(not yet seen) -> advocate: 1',
      ].sort(),
    );
    expect(flow.rows.find((r) => r.stage === 'dormant')!.to.find((c) => c.stage === 'resurrected')!.share).toBe(0.5);
    const human = await cli(ws, 'lifecycle', 'flow', '--from', T1, '--to', AS_OF);
    expect(human.stdout).toMatch(/\(not yet seen\)\s.*\s2\n/);
  });

  it('flow with --segment counts the members as of --from', async () => {
    await mkdir(path.join(root, 'defs'), { recursive: true });
    await writeFile(path.join(root, 'defs', 'free.yaml'), 'key: free\nname: Free\nobjective: other\nrationale: test\nowner: growth\nmatch: {trait: plan, eq: free}\n');
    expect((await cli(ws, 'segment', 'add', path.join(root, 'defs', 'free.yaml'))).code).toBe(0);
    const flow = await cliJson<LifecycleFlow>(ws, 'lifecycle', 'flow', '--from', T1, '--to', AS_OF, '--segment', 'free');
    expect(flow.users).toBe(2);
    expect(flow.rows.flatMap((r) => r.to.filter((c) => c.users > 0).map((c) => `${r.stage} -> ${c.stage}`)).sort()).toEqual(['dormant -> dormant', 'unactivated -> unactivated']);
  });

  it('errors: flow backwards, an unknown --by, an unknown --segment', async () => {
    const back = await cli(ws, 'lifecycle', 'flow', '--from', AS_OF, '--to', T1);
    expect(back.code).toBe(2);
    expect(back.stderr).toMatch(/^strata: the flow runs forward in time: --from \(2024-03-01T00:00:00.000Z\) must be before --to/);
    const by = await cli(ws, 'lifecycle', 'report', '--by', 'country');
    expect(by.code).toBe(2);
    expect(by.stderr).toContain('--by country: no trait in the tracking plan and no stored segment has that name');
    const seg = await cli(ws, 'lifecycle', 'report', '--segment', 'nope');
    expect(seg.code).toBe(2);
  });
});

describe('{lifecycle: STAGE} segments through the CLI and the stream', () => {
  it('segment add/compute use the workspace model; stream gives the same members', async () => {
    const defs = path.join(root, 'stage-defs');
    await mkdir(defs, { recursive: true });
    for (const stage of ['at_risk', 'dormant', 'advocate']) {
      const key = `lc-${stage.replace('_', '-')}`;
      await writeFile(path.join(defs, `${key}.yaml`), `key: ${key}\nname: ${stage}\nobjective: retention\nrationale: A lifecycle stage.\nowner: growth\nmatch: {lifecycle: ${stage}}\n`);
    }
    expect((await cli(ws, 'segment', 'add', defs)).code).toBe(0);
    const members = async (key: string, asOf: string) => (await cliJson<{ members: string[] }>(ws, 'segment', 'members', key, '--as-of', asOf)).members.sort();
    expect(await members('lc-at-risk', AS_OF)).toEqual(['ari']);
    expect(await members('lc-dormant', AS_OF)).toEqual(['dora']);

    // The stream sees the same history; its final instant is the last event + 1 ms.
    const lines = [...PROFILES.map((p) => JSON.stringify({ type: 'profile', ...p })), ...EVENTS.map((e) => JSON.stringify(e))];
    await writeFile(path.join(root, 'stream.jsonl'), `${lines.join('\n')}\n`);
    const run = await cli(ws, 'stream', '--segments', 'lc-at-risk', 'lc-dormant', 'lc-advocate', '--input', path.join(root, 'stream.jsonl'));
    expect(run.code).toBe(0);
    const final: Record<string, Set<string>> = {};
    for (const line of run.stdout.trim().split('\n').filter(Boolean)) {
      const c = JSON.parse(line) as { type: string; segment: string; user: string };
      const set = (final[c.segment] ??= new Set());
      if (c.type === 'entered') set.add(c.user);
      else set.delete(c.user);
    }
    // The stream's clock ends 1 ms after the last event (ella's, 02-29 10:00).
    const end = '2024-02-29T10:00:00.001Z';
    for (const key of ['lc-at-risk', 'lc-dormant', 'lc-advocate']) expect([...(final[key] ?? [])].sort(), key).toEqual(await members(key, end));
    expect([...(final['lc-at-risk'] ?? [])]).toEqual(['ari']);
    expect([...(final['lc-advocate'] ?? [])]).toEqual(['ivan']);
    expect([...(final['lc-dormant'] ?? [])]).toEqual(['dora']);
  });

  it('a stage unknown to the model is rejected at add, with the file and path', async () => {
    const bad = path.join(root, 'bad.yaml');
    await writeFile(bad, 'key: bad\nname: Bad\nobjective: retention\nrationale: test\nowner: growth\nmatch: {lifecycle: power}\n');
    const run = await cli(ws, 'segment', 'add', bad);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('match.lifecycle: unknown lifecycle stage "power"; the model\'s stages are dormant, resurrected, at_risk, advocate, engaged, activated, new, unactivated');
  });

  it('a bad lifecycle section fails every command with the strata.yaml line', async () => {
    const file = path.join(ws, 'strata.yaml');
    const good = await readFile(file, 'utf8');
    try {
      await writeFile(file, `${good}  engaged: {active_days: 40}\n`);
      const run = await cli(ws, 'lifecycle', 'stages');
      expect(run.code).toBe(2);
      const line = good.split('\n').length;
      expect(run.stderr).toContain(`strata.yaml:${line} lifecycle.engaged.active_days: expected a whole number of days from 1 to 28 (the days in 28d), got 40`);
    } finally {
      await writeFile(file, good);
    }
  });
});
