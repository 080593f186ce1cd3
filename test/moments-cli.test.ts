/**
 * `strata moments list|show` end to end, in-process against a temp workspace (runCli):
 * --json and human output, --segment, --per, --limit, --out in both formats, and the
 * errors (unknown key with suggestions, an invalid moments: section naming its line).
 * The data is small and every expected instant is worked out by hand in the comments.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson } from './cli-helpers.js';

const AS_OF = '2024-03-10';

/**
 * u1 signs up Feb 1 10:00 and completes core tasks on Feb 1, 2 and 3 (twice on the 3rd);
 * u2 signs up Feb 10 and only views a page; u3 has only a profile (signup_at Mar 1);
 * u4 signs up Mar 9 and completes a task at noon. All four are in the population as of Mar 10.
 */
const EVENTS = [
  { user_id: 'u1', event: 'signed_up', timestamp: '2024-02-01T10:00:00Z' },
  { user_id: 'u1', event: 'core_task_completed', timestamp: '2024-02-01T12:00:00Z', properties: { duration_s: 40 } },
  { user_id: 'u1', event: 'core_task_completed', timestamp: '2024-02-02T09:00:00Z', properties: { duration_s: 50 } },
  { user_id: 'u1', event: 'core_task_completed', timestamp: '2024-02-03T10:00:00Z', properties: { duration_s: 60 } },
  { user_id: 'u1', event: 'core_task_completed', timestamp: '2024-02-03T09:00:00Z', properties: { duration_s: 70 } },
  { user_id: 'u2', event: 'signed_up', timestamp: '2024-02-10T00:00:00Z' },
  { user_id: 'u2', event: 'page_viewed', timestamp: '2024-02-10T01:00:00Z' },
  { user_id: 'u4', event: 'signed_up', timestamp: '2024-03-09T00:00:00Z' },
  { user_id: 'u4', event: 'core_task_completed', timestamp: '2024-03-09T12:00:00Z', properties: { duration_s: 5 } },
];

const PROFILES = 'user_id,signup_at,country\nu1,2024-02-01T10:00:00Z,DE\nu2,2024-02-10T00:00:00Z,FR\nu3,2024-03-01T00:00:00Z,DE\nu4,2024-03-09T00:00:00Z,FR\n';

const PLAN = `plan:
  events:
    signed_up: {}
    page_viewed: {}
    core_task_completed:
      properties:
        duration_s: number
  traits:
    signup_at: timestamp
    country: string
`;

const MOMENTS = `moments:
  first-core-action:
    name: First core action
    first: core_task_completed
  first-action-after-signup:
    first: '*'
    after: {event: signed_up}
  three-day-month:
    threshold: core_task_completed
    activeDays: 3
  stalled-activation:
    description: Signed up three days ago and has not completed a task.
    absence: core_task_completed
    after: {trait: signup_at}
    within: 3d
`;

const GERMANS = `key: germans
name: Users in Germany
objective: other
rationale: Descriptive.
owner: growth
match: {trait: country, eq: DE}
`;

let root: string;
let ws: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-moments-cli-'));
  ws = path.join(root, 'ws');
  expect((await cli(root, 'init', 'ws')).code).toBe(0);
  await writeFile(path.join(ws, 'strata.yaml'), `version: 1\n${PLAN}${MOMENTS}`);
  await writeFile(path.join(root, 'events.jsonl'), EVENTS.map((e) => JSON.stringify(e)).join('\n') + '\n');
  await writeFile(path.join(root, 'profiles.csv'), PROFILES);
  await writeFile(path.join(root, 'germans.yaml'), GERMANS);
  expect(await cliJson(ws, 'ingest', 'events', '../events.jsonl')).toMatchObject({ stored: EVENTS.length, rejected: 0 });
  expect(await cliJson(ws, 'ingest', 'profiles', '../profiles.csv')).toMatchObject({ stored: 4, rejected: 0 });
  expect((await cli(ws, 'segment', 'add', '../germans.yaml')).code).toBe(0);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface ListJson {
  asOf: string;
  population: number;
  moments: { key: string; kind: string; rule: string; reached: number; firstAt: string | null; lastAt: string | null }[];
}

describe('strata moments list', () => {
  it('gives each moment its rule, users reached and first and last instant (--json)', async () => {
    const out = await cliJson<ListJson>(ws, 'moments', 'list', '--as-of', AS_OF);
    expect(out.asOf).toBe('2024-03-10T00:00:00.000Z');
    expect(out.population).toBe(4);
    expect(out.moments.map((m) => [m.key, m.kind, m.reached, m.firstAt, m.lastAt])).toEqual([
      // u1 at Feb 1 12:00, u4 at Mar 9 12:00.
      ['first-core-action', 'first', 2, '2024-02-01T12:00:00.000Z', '2024-03-09T12:00:00.000Z'],
      // u1's task at 12:00, u2's page view, u4's task: each the first event after their signup.
      ['first-action-after-signup', 'first', 3, '2024-02-01T12:00:00.000Z', '2024-03-09T12:00:00.000Z'],
      // u1's third active day in February is Feb 3; its first task that day is at 09:00.
      ['three-day-month', 'threshold', 1, '2024-02-03T09:00:00.000Z', '2024-02-03T09:00:00.000Z'],
      // u2: Feb 10 + 3d; u3: Mar 1 + 3d; u1 did a task within 3 days; u4's window ends Mar 12, after asOf.
      ['stalled-activation', 'absence', 2, '2024-02-13T00:00:00.000Z', '2024-03-04T00:00:00.000Z'],
    ]);
    expect(out.moments[3]!.rule).toBe('3d after trait signup_at with no core_task_completed');
  });

  it('cuts at asOf: as of Feb 13 00:00 the stall of u2 has not happened yet, 1 ms later it has', async () => {
    const at = await cliJson<ListJson>(ws, 'moments', 'list', '--as-of', '2024-02-13T00:00:00Z');
    expect(at.moments.find((m) => m.key === 'stalled-activation')!.reached).toBe(0);
    const after = await cliJson<ListJson>(ws, 'moments', 'list', '--as-of', '2024-02-13T00:00:00.001Z');
    expect(after.moments.find((m) => m.key === 'stalled-activation')!.reached).toBe(1);
  });

  it('prints a table for people', async () => {
    const run = await cli(ws, 'moments', 'list', '--as-of', AS_OF);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Key moments as of 2024-03-10 00:00:00 UTC (population 4)');
    expect(lines[1]).toMatch(/^MOMENT\s+KIND\s+RULE\s+REACHED\s+SHARE\s+FIRST\s+LAST$/);
    expect(lines.find((l) => l.startsWith('three-day-month'))).toMatch(
      /^three-day-month\s+threshold\s+core_task_completed on 3 distinct days of one calendar month \(UTC\)\s+1\s+25\.0%\s+2024-02-03 09:00:00 UTC\s+2024-02-03 09:00:00 UTC$/,
    );
  });
});

interface ShowJson {
  asOf: string;
  per: string;
  segment: { key: string; version: number; size: number } | null;
  population: number;
  moment: { key: string; name: string; reached: number; buckets: { start: string; users: number }[] };
  definition: Record<string, unknown>;
  users: { userId: string; at: string }[];
  out: { file: string; format: string; written: number } | null;
}

describe('strata moments show', () => {
  it('gives the definition, counts per week and users earliest first (--json)', async () => {
    const out = await cliJson<ShowJson>(ws, 'moments', 'show', 'first-action-after-signup', '--as-of', AS_OF);
    expect(out.definition).toEqual({ first: '*', after: { event: 'signed_up' } });
    expect(out.moment.reached).toBe(3);
    expect(out.users).toEqual([
      { userId: 'u1', at: '2024-02-01T12:00:00.000Z' },
      { userId: 'u2', at: '2024-02-10T01:00:00.000Z' },
      { userId: 'u4', at: '2024-03-09T12:00:00.000Z' },
    ]);
    // ISO weeks from Monday: Jan 29 (u1), Feb 5 (u2, Saturday Feb 10), then zeros, Mar 4 (u4, Saturday Mar 9).
    expect(out.moment.buckets).toEqual([
      { start: '2024-01-29T00:00:00.000Z', users: 1 },
      { start: '2024-02-05T00:00:00.000Z', users: 1 },
      { start: '2024-02-12T00:00:00.000Z', users: 0 },
      { start: '2024-02-19T00:00:00.000Z', users: 0 },
      { start: '2024-02-26T00:00:00.000Z', users: 0 },
      { start: '2024-03-04T00:00:00.000Z', users: 1 },
    ]);
    expect(out.out).toBeNull();
  });

  it('buckets per month, limits the list, and restricts to a segment', async () => {
    const monthly = await cliJson<ShowJson>(ws, 'moments', 'show', 'first-action-after-signup', '--as-of', AS_OF, '--per', 'month', '--limit', '1');
    expect(monthly.moment.buckets).toEqual([
      { start: '2024-02-01T00:00:00.000Z', users: 2 },
      { start: '2024-03-01T00:00:00.000Z', users: 1 },
    ]);
    expect(monthly.users).toEqual([{ userId: 'u1', at: '2024-02-01T12:00:00.000Z' }]);
    // germans = u1 and u3; of them only u3 stalled.
    const germans = await cliJson<ShowJson>(ws, 'moments', 'show', 'stalled-activation', '--as-of', AS_OF, '--segment', 'germans');
    expect(germans.segment).toEqual({ key: 'germans', version: 1, size: 2 });
    expect(germans.population).toBe(2);
    expect(germans.moment.reached).toBe(1);
    expect(germans.users).toEqual([{ userId: 'u3', at: '2024-03-04T00:00:00.000Z' }]);
  });

  it('prints the definition, weeks and users for people', async () => {
    const run = await cli(ws, 'moments', 'show', 'stalled-activation', '--as-of', AS_OF);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('moment:      stalled-activation\n');
    expect(run.stdout).toContain('description: Signed up three days ago and has not completed a task.\n');
    expect(run.stdout).toContain('reached:     2 of 4 users (50.0%)\n');
    expect(run.stdout).toContain('Definition (strata.yaml):\n  stalled-activation:\n');
    expect(run.stdout).toMatch(/Reached per week\nWEEK OF\s+USERS\n-+\s+-+\n2024-02-12\s+1\n2024-02-19\s+0\n2024-02-26\s+0\n2024-03-04\s+1\n/);
    expect(run.stdout).toMatch(/Users, earliest first \(2 of 2\)\nUSER\s+AT\n-+\s+-+\nu2\s+2024-02-13 00:00:00 UTC\nu3\s+2024-03-04 00:00:00 UTC/);
  });

  it('writes every user with the instant to --out, as CSV or JSON lines', async () => {
    const csv = path.join(root, 'first.csv');
    const out = await cliJson<ShowJson>(ws, 'moments', 'show', 'first-action-after-signup', '--as-of', AS_OF, '--limit', '0', '--out', csv);
    expect(out.users).toEqual([]);
    expect(out.out).toEqual({ file: csv, format: 'csv', written: 3 });
    expect(await readFile(csv, 'utf8')).toBe('user_id,at\nu1,2024-02-01T12:00:00.000Z\nu2,2024-02-10T01:00:00.000Z\nu4,2024-03-09T12:00:00.000Z\n');
    const jsonl = path.join(root, 'stalled.jsonl');
    const run = await cli(ws, 'moments', 'show', 'stalled-activation', '--as-of', AS_OF, '--out', jsonl, '--format', 'jsonl');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('All 2 written to');
    expect((await readFile(jsonl, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([
      { user_id: 'u2', at: '2024-02-13T00:00:00.000Z' },
      { user_id: 'u3', at: '2024-03-04T00:00:00.000Z' },
    ]);
  });

  it('rejects an unknown moment with the close keys, and an unknown segment', async () => {
    const run = await cli(ws, 'moments', 'show', 'first-core', '--as-of', AS_OF);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe('strata: no moment "first-core"; did you mean "first-core-action"?');
    const json = await cli(ws, 'moments', 'show', 'nothing-like-it', '--json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'MOMENT_NOT_FOUND' } });
    const segment = await cli(ws, 'moments', 'show', 'stalled-activation', '--segment', 'germanz');
    expect(segment.code).toBe(2);
    expect(segment.stderr).toMatch(/germanz/);
  });
});

describe('the moments: section in strata.yaml', () => {
  it('names the line and path of a mistake', async () => {
    const bad = path.join(root, 'bad');
    expect((await cli(root, 'init', 'bad')).code).toBe(0);
    await writeFile(path.join(bad, 'strata.yaml'), `version: 1\n${PLAN}moments:\n  typo:\n    first: core_task_complete\n`);
    const run = await cli(bad, 'moments', 'list');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/strata\.yaml:\d+ moments\.typo\.first: event "core_task_complete" is not declared in the tracking plan \(did you mean "core_task_completed"\?\)/);
  });

  it('says how to add moments when there are none', async () => {
    const none = path.join(root, 'none');
    expect((await cli(root, 'init', 'none')).code).toBe(0);
    await writeFile(path.join(none, 'strata.yaml'), `version: 1\n${PLAN}`);
    const run = await cli(none, 'moments', 'list');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^No key moments configured\. Add a moments: section to strata\.yaml/);
    expect(await cliJson<ListJson>(none, 'moments', 'list')).toMatchObject({ population: 0, moments: [] });
  });
});
