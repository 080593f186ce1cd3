/**
 * `strata stream` end to end, in-process against a temp workspace: segments come from the
 * registry, events from a file or stdin, changes go to stdout. The oracle for membership is
 * the batch engine on the same workspace: the same events ingested into DuckDB and
 * `strata segment members --as-of` at the stream's final instant. Rejected and invalid
 * lines are reported with their line numbers and the stream goes on.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { initWorkspace } from '../src/config/index.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { cli, cliJson } from './cli-helpers.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 2, 1);
const iso = (ms: number) => new Date(ms).toISOString();

const PLAN = parsePlan({
  events: { task: { properties: { n: 'number' } }, purchase: { properties: { amount: 'number' } }, view: {} },
  traits: { plan: 'string' },
});

const SEGMENTS: Record<string, string> = {
  'busy.yaml': 'key: busy\nname: Busy\nobjective: engagement\nrationale: Two tasks in a week.\nowner: growth\nmatch:\n  did: task\n  count: { gte: 2 }\n  within: 7d\n',
  'payers.yaml': 'key: payers\nname: Payers\nobjective: monetization\nrationale: Paid 20 or more.\nowner: growth\nmatch:\n  aggregate: sum\n  of: amount\n  on: purchase\n  gte: 20\n',
  'quiet.yaml': 'key: quiet\nname: Quiet\nobjective: retention\nrationale: Seen, but not for 3 days.\nowner: growth\nmatch:\n  lastSeen: { gt: 3d }\n',
  'free.yaml': 'key: free-busy\nname: Free and busy\nobjective: conversion\nrationale: Built on busy.\nowner: growth\nmatch:\n  all:\n    - trait: plan\n      eq: free\n    - segment: busy\n',
};

/** Events in time order, except u3's task, which arrives 30 minutes after its view (within the default lateness of 1h). */
const EVENTS = [
  { user_id: 'u1', event: 'task', timestamp: iso(T0) },
  { user_id: 'u2', event: 'purchase', timestamp: iso(T0 + 1 * DAY), properties: { amount: 15 } },
  { user_id: 'u1', event: 'task', timestamp: iso(T0 + 2 * DAY) },
  { user_id: 'u2', event: 'purchase', timestamp: iso(T0 + 3 * DAY), properties: { amount: '7.5' } },
  { user_id: 'u3', event: 'view', timestamp: iso(T0 + 3 * DAY + 30 * 60_000) },
  { user_id: 'u3', event: 'task', timestamp: iso(T0 + 3 * DAY) },
  { user_id: 'u2', event: 'task', timestamp: iso(T0 + 12 * DAY) },
];
const PROFILES = [{ type: 'profile', user_id: 'u1', traits: { plan: 'free' } }];
const LINES = [...PROFILES, ...EVENTS].map((x) => JSON.stringify(x));

let root: string;
let ws: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-stream-cli-'));
  ws = path.join(root, 'ws');
  await initWorkspace(ws, { plan: PLAN });
  const defs = path.join(root, 'defs');
  await import('node:fs/promises').then((fs) => fs.mkdir(defs));
  for (const [name, text] of Object.entries(SEGMENTS)) await writeFile(path.join(defs, name), text);
  expect((await cli(ws, 'segment', 'add', defs)).code).toBe(0);
  await writeFile(path.join(root, 'events.jsonl'), `${LINES.join('\n')}\n`);
  // The batch engine's copy: the same events and profiles, ingested.
  await writeFile(path.join(root, 'ingest-events.jsonl'), `${EVENTS.map((e) => JSON.stringify(e)).join('\n')}\n`);
  await writeFile(path.join(root, 'ingest-profiles.jsonl'), `${PROFILES.map(({ user_id, traits }) => JSON.stringify({ user_id, traits })).join('\n')}\n`);
  expect((await cli(ws, 'ingest', 'events', path.join(root, 'ingest-events.jsonl'))).code).toBe(0);
  expect((await cli(ws, 'ingest', 'profiles', path.join(root, 'ingest-profiles.jsonl'))).code).toBe(0);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function stream(args: readonly string[], stdin?: string): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['stream', ...args], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    cwd: ws,
    env: {},
    ...(stdin !== undefined ? { stdin: Readable.from([Buffer.from(stdin)]) } : {}),
  });
  return { code, stdout, stderr };
}

interface Change {
  type: 'entered' | 'left';
  segment: string;
  user: string;
  at: string;
}

function changesOf(stdout: string): Change[] {
  return stdout
    .trimEnd()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Change);
}

function replay(changes: readonly Change[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const c of changes) {
    const set = (out[c.segment] ??= new Set());
    if (c.type === 'entered') set.add(c.user);
    else set.delete(c.user);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

function summaryOf(stderr: string): Record<string, unknown> {
  const last = stderr.trimEnd().split('\n').at(-1)!;
  return JSON.parse(last) as Record<string, unknown>;
}

describe('strata stream', () => {
  it('streams changes from a file; final membership equals segment members at the same instant (DuckDB)', async () => {
    // u3's task at T0 + 3d arrives after its view at T0 + 3d 30m: within the default 1h lateness.
    const run = await stream(['--input', path.join(root, 'events.jsonl'), '--json']);
    expect(run.code).toBe(0);
    const summary = summaryOf(run.stderr);
    expect(summary).toMatchObject({ lines: 8, events: 7, applied: 7, rejectedLate: 0, invalidLines: 0, profiles: 1, users: 3, asOf: iso(T0 + 12 * DAY + 1) });
    const changes = changesOf(run.stdout);
    // u1's second task at T0 + 2d: busy (and free-busy) from then; u2's total reaches 22.5 at T0 + 3d.
    // The clock jumping to T0 + 12d (u2's task) first plays out time: each user is quiet once its last
    // event is more than 3 days old (u1: T0 + 2d, u2: T0 + 3d, u3: T0 + 3d 30m), and u1's first task
    // leaves the week at T0 + 7d; then u2's task ends its quiet.
    expect(changes).toEqual([
      { type: 'entered', segment: 'busy', user: 'u1', at: iso(T0 + 2 * DAY) },
      { type: 'entered', segment: 'free-busy', user: 'u1', at: iso(T0 + 2 * DAY) },
      { type: 'entered', segment: 'payers', user: 'u2', at: iso(T0 + 3 * DAY) },
      { type: 'entered', segment: 'quiet', user: 'u1', at: iso(T0 + 5 * DAY) },
      { type: 'entered', segment: 'quiet', user: 'u2', at: iso(T0 + 6 * DAY) },
      { type: 'entered', segment: 'quiet', user: 'u3', at: iso(T0 + 6 * DAY + 30 * 60_000) },
      { type: 'left', segment: 'busy', user: 'u1', at: iso(T0 + 7 * DAY) },
      { type: 'left', segment: 'free-busy', user: 'u1', at: iso(T0 + 7 * DAY) },
      { type: 'left', segment: 'quiet', user: 'u2', at: iso(T0 + 12 * DAY) },
    ]);
    const streamed = replay(changes);
    for (const key of ['busy', 'payers', 'quiet', 'free-busy']) {
      const batch = await cliJson<{ members: string[] }>(ws, 'segment', 'members', key, '--as-of', String(summary.asOf));
      expect([key, streamed[key] ?? []]).toEqual([key, [...batch.members].sort()]);
    }
  });

  it('reads stdin; reports invalid and late lines with their numbers and goes on', async () => {
    const input = [...LINES.slice(0, 3), 'not json', JSON.stringify({ user_id: 'u9', event: 'task', timestamp: iso(T0 - 5 * DAY) }), '{"user_id":"u9","event":"nope","timestamp":"2024-03-01"}', ...LINES.slice(3)].join('\n');
    const run = await stream(['--segments', 'busy', 'payers', '--lateness', '2d', '--json'], input);
    expect(run.code).toBe(0);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^line 4: not valid JSON/);
    expect(lines[1]).toBe(`line 5: rejected: event at ${iso(T0 - 5 * DAY)} is older than ${iso(T0 + DAY - 2 * DAY)} (the newest event minus the lateness)`);
    expect(lines[2]).toBe('line 6: event: event "nope" is not in the tracking plan');
    expect(summaryOf(run.stderr)).toMatchObject({ invalidLines: 2, rejectedLate: 1, events: 8, applied: 7 });
    expect(new Set(changesOf(run.stdout).map((c) => c.segment))).toEqual(new Set(['busy', 'payers']));
  });

  it('continues from --state: two runs give the changes of one', async () => {
    const whole = await stream(['--input', path.join(root, 'events.jsonl')]);
    const state = path.join(root, 'state.jsonl');
    const first = await stream(['--state', state], `${LINES.slice(0, 4).join('\n')}\n`);
    const second = await stream(['--state', state], `${LINES.slice(4).join('\n')}\n`);
    expect(first.code + second.code).toBe(0);
    expect(changesOf(first.stdout + second.stdout)).toEqual(changesOf(whole.stdout));
    expect(second.stderr).toMatch(/continued from a saved state/);
    const header = JSON.parse((await readFile(state, 'utf8')).split('\n')[0]!) as Record<string, unknown>;
    expect(header).toMatchObject({ format: 'strata-stream-state', version: 2, clock: 'event' });
  });

  it('refuses a state saved for other segments, unknown segments and bad options', async () => {
    const state = path.join(root, 'partial.jsonl');
    expect((await stream(['--segments', 'busy', '--state', state], `${LINES[1]}\n`)).code).toBe(0);
    const other = await stream(['--segments', 'payers', '--state', state], '');
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/saved for other segment definitions/);
    const unknown = await stream(['--segments', 'nope'], '');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no segment "nope" in the registry/);
    const lateness = await stream(['--lateness', 'soon'], '');
    expect(lateness.code).toBe(2);
    expect(lateness.stderr).toMatch(/--lateness: expected a duration/);
  });

  it('runs on the wall clock: events stamped now enter at once, future ones wait for the clock', async () => {
    const now = Date.now();
    const input = [
      JSON.stringify({ user_id: 'w1', event: 'task', timestamp: iso(now - 2000) }),
      JSON.stringify({ user_id: 'w1', event: 'task', timestamp: iso(now - 1000) }),
      JSON.stringify({ user_id: 'w2', event: 'task', timestamp: iso(now + 3_600_000) }),
      JSON.stringify({ user_id: 'w2', event: 'task', timestamp: iso(now + 3_600_001) }),
    ].join('\n');
    const run = await stream(['--as-of-clock', 'wall', '--tick', '10ms', '--segments', 'busy', '--json'], input);
    expect(run.code).toBe(0);
    const changes = changesOf(run.stdout);
    expect(changes).toEqual([{ type: 'entered', segment: 'busy', user: 'w1', at: expect.any(String) as string }]);
    // Taking effect at the clock's instant, which is past the events and not past the run.
    expect(Date.parse(changes[0]!.at)).toBeGreaterThanOrEqual(now - 1000);
    expect(Date.parse(changes[0]!.at)).toBeLessThanOrEqual(Date.now());
    expect(summaryOf(run.stderr)).toMatchObject({ events: 4, applied: 2, waiting: 2 });
  });
});
