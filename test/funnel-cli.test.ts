/**
 * `strata funnel` end to end, in-process against a temp workspace with hand-written data;
 * every expected number is worked out by hand in the comments.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunnelCommandResult } from '../src/cli/commands/funnel.js';
import { humanDuration } from '../src/cli/commands/funnel.js';
import { cli, cliJson } from './cli-helpers.js';

const H = 3_600_000;
const DAY = 24 * H;
const AS_OF_MS = Date.UTC(2024, 2, 1);
const AS_OF = '2024-03-01';
const iso = (ms: number) => new Date(ms).toISOString();
const at = (daysBefore: number, hours = 0) => iso(AS_OF_MS - daysBefore * DAY + hours * H);

/**
 * Funnel signed_up -> onboarding_started -> task_completed, span 7d, step 1 within 90d:
 * - u1 does all three: 1h then 23h later (K = 3);
 * - u2 signs up and starts onboarding a day later (K = 2);
 * - u3 only signs up (K = 1);
 * - u4 did everything 100 days ago, before the entry window (not counted);
 * - u5 starts onboarding a day before signing up: sequential K = 1; in any order K = 2 with
 *   no time between (the attempt starts at the onboarding; signup completes both steps).
 * Reached 4, 2, 1; time to step 2 over {1h, 1d}: p25 6h45m, median 12h30m, p75 18h15m.
 */
const EVENTS = [
  { user_id: 'u1', event: 'signed_up', timestamp: at(20), properties: { method: 'email' } },
  { user_id: 'u1', event: 'onboarding_started', timestamp: at(20, 1) },
  { user_id: 'u1', event: 'task_completed', timestamp: at(19) },
  { user_id: 'u2', event: 'signed_up', timestamp: at(10), properties: { method: 'google' } },
  { user_id: 'u2', event: 'onboarding_started', timestamp: at(9) },
  { user_id: 'u3', event: 'signed_up', timestamp: at(5), properties: { method: 'email' } },
  { user_id: 'u4', event: 'signed_up', timestamp: at(100), properties: { method: 'email' } },
  { user_id: 'u4', event: 'onboarding_started', timestamp: at(100, 1) },
  { user_id: 'u4', event: 'task_completed', timestamp: at(99) },
  { user_id: 'u5', event: 'onboarding_started', timestamp: at(3) },
  { user_id: 'u5', event: 'signed_up', timestamp: at(2), properties: { method: 'google' } },
];
const PROFILES_CSV = 'user_id,plan\nu1,pro\nu2,free\nu3,free\nu4,pro\n';

const PROS = `key: pros
name: Pro plan
objective: monetization
rationale: Paying users.
owner: growth
match: { trait: plan, eq: pro }
`;

const STEPS = ['signed_up', 'onboarding_started', 'task_completed'];
const BASE_ARGS = ['funnel', ...STEPS, '--span', '7d', '--within', '90d', '--as-of', AS_OF];

let root: string;
let ws: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-funnel-cli-'));
  ws = path.join(root, 'ws');
  await writeFile(path.join(root, 'events.jsonl'), EVENTS.map((e) => JSON.stringify(e)).join('\n') + '\n');
  await writeFile(path.join(root, 'profiles.csv'), PROFILES_CSV);
  await mkdir(path.join(root, 'defs'));
  await writeFile(path.join(root, 'defs', 'pros.yaml'), PROS);
  const steps = [
    ['init', 'ws'],
    ['plan', 'infer', '../events.jsonl', '--profiles', '../profiles.csv', '--write'],
    ['ingest', 'events', '../events.jsonl'],
    ['ingest', 'profiles', '../profiles.csv'],
    ['segment', 'add', '../defs/pros.yaml'],
  ];
  for (const argv of steps) {
    const run = await cli(argv[0] === 'init' ? root : ws, ...argv);
    if (run.code !== 0) throw new Error(`strata ${argv.join(' ')}: ${run.stderr}`);
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const reachedOf = (r: FunnelCommandResult, group: string | null = null) => r.groups.find((g) => g.group === group)!.steps.map((s) => s.reached);

describe('strata funnel', () => {
  it('prints the table for inline steps', async () => {
    const run = await cli(ws, ...BASE_ARGS);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe('Funnel as of 2024-03-01T00:00:00.000Z: signed_up -> onboarding_started -> task_completed');
    expect(lines[1]).toBe('sequential order, span 7d, step 1 within 90d');
    expect(run.stdout).toMatch(/1 signed_up\s+4\s+-\s+100\.0%\s+-\s+-\s+-/);
    expect(run.stdout).toMatch(/2 onboarding_started\s+2\s+50\.0%\s+50\.0%\s+2\s+12h 30m\s+6h 45m - 18h 15m/);
    expect(run.stdout).toMatch(/3 task_completed\s+1\s+50\.0%\s+25\.0%\s+1\s+23h\s+23h - 23h/);
  });

  it('gives the same numbers as JSON', async () => {
    const r = await cliJson<FunnelCommandResult>(ws, ...BASE_ARGS);
    expect(r).toMatchObject({ asOf: '2024-03-01T00:00:00.000Z', order: 'sequential', span: '7d', window: { within: '90d' }, by: null, segment: null });
    expect(r.groups).toHaveLength(1);
    expect(r.groups[0]!.steps[1]).toEqual({
      step: 2,
      label: 'onboarding_started',
      reached: 2,
      conversionFromPrevious: 0.5,
      conversionFromFirst: 0.5,
      droppedOff: 2,
      timeFromPrevious: { p25: 6.75 * H, median: 12.5 * H, p75: 18.25 * H },
    });
    expect(reachedOf(r)).toEqual([4, 2, 1]);
  });

  it('reads a funnel file with property filters and another order', async () => {
    const file = path.join(root, 'any.yaml');
    await writeFile(
      file,
      `name: Onboarding (any order)
funnel:
  - event: signed_up
    where: [{ property: method, eq: google }]
  - onboarding_started
span: 7d
within: 90d
order: any
`,
    );
    // Google signups: u2 (onboarding a day after) and u5 (onboarding a day before): both reach 2 in any order.
    const r = await cliJson<FunnelCommandResult>(ws, 'funnel', '--file', file, '--as-of', AS_OF);
    expect(r).toMatchObject({ name: 'Onboarding (any order)', order: 'any' });
    expect(r.steps.map((s) => s.label)).toEqual(['signed_up where method = "google"', 'onboarding_started']);
    expect(reachedOf(r)).toEqual([2, 2]);
    // Time to step 2: u2 1 day, u5 none (its signup completed both steps).
    expect(r.groups[0]!.steps[1]!.timeFromPrevious).toEqual({ p25: 0.25 * DAY, median: 0.5 * DAY, p75: 0.75 * DAY });
  });

  it('breaks down by a trait and by a segment, and restricts to a segment', async () => {
    const byPlan = await cliJson<FunnelCommandResult>(ws, ...BASE_ARGS, '--by', 'plan');
    expect(byPlan.by).toBe('trait plan');
    // free: u2, u3 (2, 1, 0); pro: u1 (1, 1, 1); no plan: u5 (1, 0, 0).
    expect(byPlan.groups.map((g) => [g.group, g.steps.map((s) => s.reached)])).toEqual([
      ['free', [2, 1, 0]],
      ['(none)', [1, 0, 0]],
      ['pro', [1, 1, 1]],
    ]);
    const human = await cli(ws, ...BASE_ARGS, '--by', 'plan');
    expect(human.stdout).toMatch(/^GROUP\s+STEP/m);
    expect(human.stdout).toMatch(/^free\s+1 signed_up\s+2/m);

    const bySegment = await cliJson<FunnelCommandResult>(ws, ...BASE_ARGS, '--by', 'segment:pros');
    expect(bySegment.groups.map((g) => [g.group, reachedOf(bySegment, g.group)])).toEqual([
      ['non-member', [3, 1, 0]],
      ['member', [1, 1, 1]],
    ]);
    const within = await cliJson<FunnelCommandResult>(ws, ...BASE_ARGS, '--segment', 'pros');
    expect(within.segment).toMatchObject({ key: 'pros', size: 2 });
    expect(reachedOf(within)).toEqual([1, 1, 1]);
  });

  it('saves a drop-off step as a segment whose size is the drop-off', async () => {
    const saved = await cliJson<FunnelCommandResult>(ws, ...BASE_ARGS, '--save-dropoff', '2', '--key', 'stalled-after-signup');
    expect(saved.saved).toEqual({ key: 'stalled-after-signup', version: 1, status: 'created', step: 2, asOf: '2024-03-01T00:00:00.000Z', size: 2 });
    expect(saved.groups[0]!.steps[1]!.droppedOff).toBe(2);
    const members = await cli(ws, 'segment', 'members', 'stalled-after-signup', '--as-of', AS_OF);
    expect(members.stdout.trim().split('\n')).toEqual(['user_id', 'u3', 'u5']);
    const shown = await cliJson<{ definition: { name: string; objective: string; match: unknown } }>(ws, 'segment', 'show', 'stalled-after-signup');
    expect(shown.definition).toMatchObject({ name: 'Dropped at step 2 (onboarding_started) of signed_up -> onboarding_started -> task_completed', objective: 'conversion' });
    expect(shown.definition.match).toEqual({ funnel: STEPS, span: '7d', reached: { eq: 1 }, within: '90d' });

    const human = await cli(ws, ...BASE_ARGS, '--segment', 'pros', '--save-dropoff', '3', '--key', 'pro-no-task', '--name', 'Pros without a task');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Saved segment pro-no-task (v1, created): 0 users as of 2024-03-01T00:00:00.000Z reached step 2 but not step 3.');
  });

  it('fails with one line and exit 2 on bad input, naming the argument or the file path', async () => {
    const cases: [string[], RegExp][] = [
      [['funnel', '--span', '7d'], /^strata: no steps: give the steps as event names/],
      [['funnel', 'signed_up', 'onboarding_startd', '--span', '7d'], /STEP 2 \(onboarding_startd\): event "onboarding_startd" is not declared in the tracking plan \(did you mean "onboarding_started"\?\)/],
      [['funnel', 'signed_up', 'onboarding_started'], /--span is required/],
      [['funnel', 'signed_up', 'onboarding_started', '--span', '7d', '--within', '30d', '--since', '2024-01-01'], /give one entry window/],
      [[...BASE_ARGS, '--order', 'strict', '--save-dropoff', '2', '--key', 'x'], /--save-dropoff: a funnel in strict order cannot be saved as a segment/],
      [[...BASE_ARGS, '--save-dropoff', '1', '--key', 'x'], /--save-dropoff 1: expected a step from 2 to 3/],
      [[...BASE_ARGS, '--save-dropoff', '2'], /--save-dropoff needs --key KEY/],
      [[...BASE_ARGS, '--key', 'x'], /--key names the segment --save-dropoff saves/],
      [[...BASE_ARGS, '--by', 'nothing'], /--by nothing: no trait in the tracking plan and no stored segment has that name/],
      [[...BASE_ARGS, '--segment', 'nope'], /nope/],
      [['funnel', 'signed_up', '--file', 'f.yaml'], /--file holds the whole funnel; STEP\.\.\. cannot be given with it/],
      [['funnel', '--file', 'missing.yaml'], /no such file: missing\.yaml/],
    ];
    for (const [argv, pattern] of cases) {
      const run = await cli(ws, ...argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stdout, argv.join(' ')).toBe('');
      expect(run.stderr.trimEnd().split('\n'), argv.join(' ')).toHaveLength(1);
      expect(run.stderr, argv.join(' ')).toMatch(pattern);
    }
    const badOrder = await cli(ws, ...BASE_ARGS, '--order', 'sideways');
    expect(badOrder.code).toBe(2);
    expect(badOrder.stderr).toMatch(/Allowed choices are sequential, strict, any/);
  });

  it('reports every error of a funnel file at its path, and as JSON with --json', async () => {
    const file = path.join(ws, 'bad.yaml');
    await writeFile(file, 'funnel:\n  - signed_up\n  - event: onboarding_started\n    where: [{ property: method, eq: x }]\nspan: 7d\nwithin: 90\n');
    const run = await cli(ws, 'funnel', '--file', 'bad.yaml', '--json');
    expect(run.code).toBe(2);
    const failure = (JSON.parse(run.stdout) as { error: { code: string; message: string; details: { path: string; message: string }[] } }).error;
    expect(failure.code).toBe('INPUT_INVALID');
    expect(failure.message).toBe('funnel definition bad.yaml is invalid (2 errors)');
    expect(failure.details.map((d) => d.path).sort()).toEqual(['bad.yaml funnel[1].where[0].property', 'bad.yaml within']);
    const syntax = path.join(ws, 'broken.yaml');
    await writeFile(syntax, 'funnel: [signed_up\n');
    const broken = await cli(ws, 'funnel', '--file', 'broken.yaml');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/broken\.yaml:\d+:\d+: YAML syntax error/);
  });

  it('documents itself in --help', async () => {
    const run = await cli(ws, 'funnel', '--help');
    expect(run.code).toBe(0);
    for (const option of ['--file', '--span', '--within', '--during', '--since', '--order', '--as-of', '--by', '--segment', '--save-dropoff', '--key', '--json']) {
      expect(run.stdout).toContain(option);
    }
    expect(run.stdout).toContain('$ strata funnel signed_up onboarding_started core_task_completed \\\n      --span 7d --within 90d\n');
    expect(run.stdout).toContain('--by <NAME>         split by a trait value or by segment membership: trait:T,');
  });
});

describe('humanDuration', () => {
  it('shows the two largest units, rounding in the smaller one', () => {
    expect([0, 999, 1000, 59_499, 61_000, H - 1, 2 * H + 13 * 60_000, 26 * H, 3 * DAY + 4 * H + 59 * 60_000].map(humanDuration)).toEqual([
      '0ms',
      '999ms',
      '1s',
      '59s',
      '1m 1s',
      '1h',
      '2h 13m',
      '1d 2h',
      '3d 5h',
    ]);
  });
});
