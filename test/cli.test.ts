/**
 * The CLI end to end, in-process against temp workspaces: every command, its --json
 * output, exit codes and one-line errors. The data is small and hand-written, so every
 * expected membership below is worked out by hand in the comments.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/program.js';
import { cli, cliJson } from './cli-helpers.js';

const DAY = 86_400_000;
const AS_OF = '2024-03-01';
const AS_OF_MS = Date.UTC(2024, 2, 1);
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * u1 completes a task 3 times in the last 10 days and pays 30 in total;
 * u2 signed up 40 days ago and completed one task then; u3 only has a profile;
 * u4 signs up exactly at AS_OF, so it is not in the population as of AS_OF.
 */
const EVENTS = [
  { user_id: 'u1', event: 'signed_up', timestamp: iso(AS_OF_MS - 20 * DAY), properties: { method: 'email' } },
  { user_id: 'u1', event: 'task_completed', timestamp: iso(AS_OF_MS - 10 * DAY), properties: { duration_s: 40 } },
  { user_id: 'u1', event: 'task_completed', timestamp: iso(AS_OF_MS - 5 * DAY), properties: { duration_s: 50 } },
  { user_id: 'u1', event: 'task_completed', timestamp: iso(AS_OF_MS - 1 * DAY), properties: { duration_s: 60 } },
  { user_id: 'u1', event: 'purchase', timestamp: iso(AS_OF_MS - 2 * DAY), properties: { amount: 30, currency: 'EUR' } },
  { user_id: 'u2', event: 'signed_up', timestamp: iso(AS_OF_MS - 40 * DAY), properties: { method: 'google' } },
  { user_id: 'u2', event: 'task_completed', timestamp: iso(AS_OF_MS - 39 * DAY), properties: { duration_s: 90 } },
  { user_id: 'u4', event: 'signed_up', timestamp: iso(AS_OF_MS), properties: { method: 'email' } },
];

const PROFILES_CSV = 'user_id,plan,country\nu1,pro,DE\nu2,free,FR\nu3,free,DE\n';

const POWER = `key: power
name: Frequent task completers
objective: engagement
rationale: Completed at least two tasks in the last 30 days.
owner: growth
match:
  did: task_completed
  count: { gte: 2 }
  within: 30d
`;

const GERMANS = `{
  "key": "germans",
  "name": "Users in Germany",
  "objective": "other",
  "rationale": "Descriptive: country trait.", "owner": "growth",
  "match": { "trait": "country", "eq": "DE" }
}
`;

const PAYING_POWER = `key: paying-power
name: Power users who paid
objective: monetization
rationale: Built on another segment.
owner: growth
match:
  all:
    - segment: power
    - aggregate: sum
      of: amount
      on: purchase
      gte: 10
`;

let root: string;
let ws: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-cli-'));
  ws = path.join(root, 'ws');
  await mkdir(path.join(root, 'files'), { recursive: true });
  await writeFile(path.join(root, 'files', 'events.jsonl'), EVENTS.map((e) => JSON.stringify(e)).join('\n') + '\n');
  await writeFile(path.join(root, 'files', 'profiles.csv'), PROFILES_CSV);
  await mkdir(path.join(root, 'defs'), { recursive: true });
  await writeFile(path.join(root, 'defs', 'power.yaml'), POWER);
  await writeFile(path.join(root, 'defs', 'germans.json'), GERMANS);
  await writeFile(path.join(root, 'defs', 'paying-power.yaml'), PAYING_POWER);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('strata init', () => {
  it('creates the workspace and refuses to overwrite it', async () => {
    const first = await cli(root, 'init', 'ws');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Created a Strata workspace in ${ws}`);
    expect(existsSync(path.join(ws, 'strata.yaml'))).toBe(true);
    expect(existsSync(path.join(ws, 'data'))).toBe(true);

    const again = await cli(root, 'init', 'ws');
    expect(again.code).toBe(2);
    expect(again.stdout).toBe('');
    expect(again.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/^strata: .*strata\.yaml already exists/);
  });
});

describe('plan', () => {
  it('infers a plan from files and prints it as YAML without touching strata.yaml', async () => {
    const before = await readFile(path.join(ws, 'strata.yaml'), 'utf8');
    const run = await cli(ws, 'plan', 'infer', '../files/events.jsonl', '--profiles', '../files/profiles.csv');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^plan:\n/);
    expect(run.stdout).toContain('task_completed:');
    expect(run.stdout).toContain('duration_s: number');
    expect(await readFile(path.join(ws, 'strata.yaml'), 'utf8')).toBe(before);
  });

  it('merges the inferred plan into strata.yaml with --write, keeping the comments', async () => {
    const out = await cliJson<{ written: boolean; added: { events: string[]; traits: string[] } }>(
      ws,
      'plan',
      'infer',
      '../files/events.jsonl',
      '--profiles',
      '../files/profiles.csv',
      '--write',
    );
    expect(out.written).toBe(true);
    expect(out.added.events.sort()).toEqual(['purchase', 'signed_up', 'task_completed']);
    expect(out.added.traits.sort()).toEqual(['country', 'plan']);
    const text = await readFile(path.join(ws, 'strata.yaml'), 'utf8');
    expect(text).toContain('# Fields the plan does not declare');

    const shown = await cliJson<{ plan: { events: Record<string, { properties: Record<string, unknown> }>; traits: Record<string, unknown> } }>(ws, 'plan', 'show');
    expect(shown.plan.events.purchase?.properties).toEqual({ amount: 'number', currency: 'string' });
    expect(shown.plan.traits).toEqual({ plan: 'string', country: 'string' });
  });

  it('finds the workspace upward from a nested folder, and --workspace wins', async () => {
    const nested = path.join(ws, 'a', 'b');
    await mkdir(nested, { recursive: true });
    const fromNested = await cliJson<{ config: string }>(nested, 'plan', 'show');
    expect(fromNested.config).toBe(path.join(ws, 'strata.yaml'));
    const explicit = await cliJson<{ config: string }>(root, 'plan', 'show', '--workspace', 'ws');
    expect(explicit.config).toBe(path.join(ws, 'strata.yaml'));
  });

  it('fails with one line when there is no workspace', async () => {
    const run = await cli(path.join(root, 'files'), 'segment', 'list');
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^strata: no strata\.yaml in .* or any folder above it/);
  });
});

describe('ingest', () => {
  it('ingests profiles and events and summarizes the run', async () => {
    const profiles = await cliJson<{ read: number; stored: number; rejected: number }>(ws, 'ingest', 'profiles', '../files/profiles.csv');
    expect(profiles).toMatchObject({ read: 3, stored: 3, rejected: 0 });
    const events = await cli(ws, 'ingest', 'events', '../files/events.jsonl');
    expect(events.code).toBe(0);
    expect(events.stdout.trim().split('\n')).toHaveLength(1);
    expect(events.stdout).toMatch(/\b8\b/);
  });

  it('adds nothing when the same file is ingested again', async () => {
    const again = await cliJson<{ read: number; stored: number; duplicates: number }>(ws, 'ingest', 'events', '../files/events.jsonl');
    expect(again).toMatchObject({ read: 8, stored: 0, duplicates: 8 });
  });

  it('writes rejects to the given path', async () => {
    const bad = path.join(root, 'files', 'bad.jsonl');
    await writeFile(bad, `${JSON.stringify({ user_id: 'u9', event: 'task_completed', timestamp: 'yesterday-ish' })}\n`);
    const rejects = path.join(root, 'rejects.jsonl');
    const run = await cliJson<{ rejected: number; rejectsPath: string }>(ws, 'ingest', 'events', bad, '--rejects', rejects);
    expect(run.rejected).toBe(1);
    expect(run.rejectsPath).toBe(rejects);
    expect(await readFile(rejects, 'utf8')).toContain('bad.jsonl');
  });

  it('names a missing file', async () => {
    const run = await cli(ws, 'ingest', 'events', 'nope.jsonl');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nope.jsonl');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('segment', () => {
  it('adds a folder of definitions, then reports unchanged on a second add', async () => {
    const added = await cliJson<{ key: string; version: number; status: string }[]>(ws, 'segment', 'add', '../defs');
    expect(added.map((a) => [a.key, a.version, a.status]).sort()).toEqual([
      ['germans', 1, 'created'],
      ['paying-power', 1, 'created'],
      ['power', 1, 'created'],
    ]);
    const again = await cli(ws, 'segment', 'add', '../defs/power.yaml');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/power\s+v1\s+unchanged/);
  });

  it('rejects an invalid definition naming the file and the path', async () => {
    const bad = path.join(root, 'bad-def.yaml');
    await writeFile(bad, POWER.replace('did: task_completed', 'did: task_finished'));
    const run = await cli(ws, 'segment', 'add', bad);
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('bad-def.yaml');
    expect(run.stderr).toContain('match.did');
  });

  it('lists and shows segments', async () => {
    const list = await cliJson<{ key: string; version: number }[]>(ws, 'segment', 'list');
    expect(list.map((s) => s.key).sort()).toEqual(['germans', 'paying-power', 'power']);
    const human = await cli(ws, 'segment', 'list');
    expect(human.stdout).toMatch(/^SEGMENT\s+NAME\s+OBJECTIVE/);
    const show = await cliJson<{ key: string; definition: { name: string }; versions: unknown[] }>(ws, 'segment', 'show', 'power');
    expect(show.definition.name).toBe('Frequent task completers');
    expect(show.versions).toHaveLength(1);
  });

  it('computes all segments as of an instant', async () => {
    // Population as of AS_OF: u1, u2 (events before it) and u3 (profile); u4's first event is at AS_OF.
    // power: u1 (3 tasks in 30 days); u2's one task is 39 days old.
    // germans: u1 and u3. paying-power: u1 (power, and paid 30 >= 10).
    const computed = await cliJson<{ key: string; size: number; population: number }[]>(ws, 'segment', 'compute', '--as-of', AS_OF);
    const sizes = Object.fromEntries(computed.map((c) => [c.key, c.size]));
    expect(sizes).toEqual({ germans: 2, 'paying-power': 1, power: 1 });
    expect(computed.every((c) => c.population === 3)).toBe(true);
  });

  it('prints members as CSV and writes them as JSONL', async () => {
    const csv = await cli(ws, 'segment', 'members', 'germans', '--as-of', AS_OF);
    expect(csv.code).toBe(0);
    expect(csv.stdout).toBe('user_id\nu1\nu3\n');
    const out = path.join(root, 'germans.jsonl');
    const written = await cliJson<{ written: number }>(ws, 'segment', 'members', 'germans', '--as-of', AS_OF, '--format', 'jsonl', '--out', out);
    expect(written.written).toBe(2);
    expect(await readFile(out, 'utf8')).toBe('{"user_id":"u1"}\n{"user_id":"u3"}\n');
  });

  it('diffs membership between two instants', async () => {
    // As of 30 days before AS_OF, u2 had done its one task 9 days earlier: power needs 2, so
    // nobody was in power; by AS_OF u1 entered.
    const diff = await cliJson<{ entered: { count: number; sample: string[] }; left: { count: number }; stayed: { count: number } }>(
      ws,
      'segment',
      'diff',
      'power',
      '--from',
      iso(AS_OF_MS - 30 * DAY),
      '--to',
      AS_OF,
    );
    expect(diff.entered).toMatchObject({ count: 1, sample: ['u1'] });
    expect(diff.left.count).toBe(0);
    expect(diff.stayed.count).toBe(0);
  });

  it('reports what distinguishes a segment', async () => {
    // germans = {u1, u3} of {u1, u2, u3}: share 2/3; every member has country = DE.
    const report = await cliJson<{ size: number; population: number; share: number; features: { label: string; shareMembers: number }[] }>(
      ws,
      'segment',
      'report',
      'germans',
      '--as-of',
      AS_OF,
    );
    expect(report.size).toBe(2);
    expect(report.population).toBe(3);
    expect(report.share).toBeCloseTo(2 / 3, 12);
    const human = await cli(ws, 'segment', 'report', 'germans', '--as-of', AS_OF);
    expect(human.stdout).toContain('germans (v1) as of 2024-03-01T00:00:00.000Z: 2 of 3 users (66.7%)');
  });

  it('computes pairwise overlap', async () => {
    // germans {u1,u3} and power {u1}: 1 shared of 2 in either, Jaccard 0.5.
    const overlap = await cliJson<{ pairs: { a: string; b: string; jaccard: number }[] }>(ws, 'segment', 'overlap', 'germans', 'power', '--as-of', AS_OF);
    expect(overlap.pairs).toEqual([expect.objectContaining({ a: 'germans', b: 'power', intersection: 1, union: 2, jaccard: 0.5 })]);
    const human = await cli(ws, 'segment', 'overlap', 'germans', 'power', '--as-of', AS_OF);
    expect(human.stdout).toMatch(/2 power\s+1\s+0\.50\s+-/);
  });

  it('fails with one line and exit 2 on an unknown key, a bad instant and a bad option', async () => {
    const unknown = await cli(ws, 'segment', 'show', 'powr');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('strata: no segment "powr"; did you mean "power"?\n');

    const badTime = await cli(ws, 'segment', 'compute', '--as-of', 'last tuesday');
    expect(badTime.code).toBe(2);
    expect(badTime.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(badTime.stderr).toContain('--as-of');

    const badOption = await cli(ws, 'segment', 'list', '--colour');
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toBe("strata: unknown option '--colour'\n");

    const json = await cli(ws, 'segment', 'show', 'powr', '--json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'SEGMENT_NOT_FOUND' } });
  });
});

describe('help', () => {
  const commands = [
    [],
    ['init'],
    ['plan'],
    ['plan', 'infer'],
    ['plan', 'show'],
    ['ingest', 'events'],
    ['ingest', 'profiles'],
    ['segment'],
    ['segment', 'add'],
    ['segment', 'list'],
    ['segment', 'show'],
    ['segment', 'compute'],
    ['segment', 'members'],
    ['segment', 'diff'],
    ['segment', 'report'],
    ['segment', 'overlap'],
    ['demo'],
  ];
  it.each(commands.map((c) => [c.join(' ') || '(root)', c] as const))('strata %s --help', async (_name, command) => {
    const run = await cli(root, ...command, '--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: strata');
    expect(run.stdout).toContain('--workspace');
    expect(run.stdout).toContain('--json');
  });

  it('prints the help and exits 2 when a command group is given no subcommand', async () => {
    const run = await cli(root, 'segment');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: strata segment');
  });

  /** Every command under `names` (the group, its subcommands) with its help as printed at `width` columns. */
  function helpScreens(names: readonly string[], width: number): { name: string; command: Command; text: string }[] {
    let text = '';
    const program = buildProgram({ stdout: (t) => (text += t), stderr: (t) => (text += t), cwd: root, env: {} });
    const screens: { name: string; command: Command; text: string }[] = [];
    const visit = (command: Command, name: string) => {
      text = '';
      command.configureOutput({ getOutHelpWidth: () => width });
      command.outputHelp();
      screens.push({ name, command, text });
      for (const sub of command.commands) if (sub.name() !== 'help') visit(sub, `${name} ${sub.name()}`);
    };
    for (const n of names) visit(program.commands.find((c) => c.name() === n)!, n);
    return screens;
  }

  it('reads cleanly at 80 columns: no line past 80, no hand-wrapped description line that commander re-wraps', () => {
    const screens = helpScreens(['segment', 'lifecycle', 'moments', 'funnel', 'retention', 'rfm', 'user'], 80);
    expect(screens.map((s) => s.name)).toEqual(expect.arrayContaining(['segment lint', 'lifecycle stages', 'moments list', 'rfm segments']));
    for (const { name, command, text } of screens) {
      if (command.commands.length === 0) expect(text, name).toContain('Examples:');
      // A description is either one paragraph commander wraps, or lines that each fit as written.
      const description = command.description();
      if (description.includes('\n')) expect(description.split('\n').filter((l) => l.length > 80), name).toEqual([]);
      expect(description, `${name} has a description`).not.toBe('');
      expect(text.split('\n').filter((l) => l.length > 80), name).toEqual([]);
    }
  });

  it('words --as-of, --by and --segment the same in every analysis command', () => {
    const screens = helpScreens(['lifecycle', 'moments', 'funnel', 'retention', 'rfm'], 80);
    const helpOf = (flag: string) =>
      new Set(screens.flatMap(({ command }) => command.options.filter((o) => o.long === flag && !(flag === '--segment' && command.name() === 'flow')).map((o) => o.description)));
    expect(helpOf('--as-of').size).toBe(1);
    expect(helpOf('--segment').size).toBe(1);
    expect([...helpOf('--by')]).toEqual([expect.stringContaining('a bare trait or segment name')]);
  });

  it('lists only the options rfm segments uses, and rejects the table-only ones', async () => {
    const segments = helpScreens(['rfm'], 80).find((s) => s.name === 'rfm segments')!.text;
    for (const option of ['--as-of', '--segment', '--within', '--scores', '--method', '--add', '--prefix', '--workspace']) expect(segments).toContain(option);
    expect(segments).not.toMatch(/^\s+--(out|format) /m);
    const table = helpScreens(['rfm'], 80).find((s) => s.name === 'rfm')!.text;
    expect(table).toMatch(/^\s+--out <FILE>/m);
    for (const argv of [['rfm', 'segments', '--out', 'x.csv'], ['rfm', '--format', 'jsonl', 'segments']]) {
      const run = await cli(root, ...argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/--(out|format) is an option of strata rfm \(the per-user table\), not of strata rfm segments/);
    }
  });

  it('shows examples on the commands that take input', async () => {
    for (const c of [['init'], ['plan', 'infer'], ['ingest', 'events'], ['segment', 'compute'], ['demo']]) {
      expect((await cli(root, ...c, '--help')).stdout).toContain('Examples:');
    }
  });
});
