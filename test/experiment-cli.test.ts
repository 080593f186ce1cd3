/**
 * `strata experiment add|list|show|assign` end to end, in-process against a temp
 * workspace: a plan inferred from the events (with `$exposure`), a stored targeting
 * segment, a folder of two experiments, then list, show, assign for a targeted and a
 * non-targeted user, and errors that name file and line. Expected values are worked out
 * by hand in the comments; variants come from `assignVariant` (vectors: spec/hash.json).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignVariant, variantBounds } from '../src/experiments/design/index.js';
import { buildProgram } from '../src/cli/program.js';
import { cli, cliJson } from './cli-helpers.js';

const DAY = 86_400_000;
const START_MS = Date.UTC(2026, 9, 1);
const iso = (ms: number) => new Date(ms).toISOString();

/** s1 and s2 signed up and stalled (no core task); a1 completed a task before the start. */
const EVENTS = [
  { user_id: 's1', event: 'signed_up', timestamp: iso(START_MS - 5 * DAY) },
  { user_id: 's2', event: 'signed_up', timestamp: iso(START_MS - 4 * DAY) },
  { user_id: 'a1', event: 'signed_up', timestamp: iso(START_MS - 5 * DAY) },
  { user_id: 'a1', event: 'core_task_completed', timestamp: iso(START_MS - 3 * DAY) },
  { user_id: 's1', event: '$exposure', timestamp: iso(START_MS + DAY), properties: { experiment: 'onboarding-checklist', variant: 'control' } },
  { user_id: 'a1', event: 'purchase', timestamp: iso(START_MS - 2 * DAY), properties: { amount: 12.5 } },
];

const STALLED = `key: stalled-onboarding
name: Stalled in onboarding
objective: activation
rationale: Signed up, never completed the core task.
owner: growth
match:
  all:
    - did: signed_up
    - not: { did: core_task_completed }
`;

const CHECKLIST = `key: onboarding-checklist
name: Personalized onboarding checklist
hypothesis: >
  Stalled users finish the core workflow more often with a checklist tailored to
  their role.
owner: growth
targeting: [stalled-onboarding]
variants:
  - {key: control, weight: 1}
  - {key: checklist, weight: 3}
coverage: 0.5
start: 2026-10-01
stop: 2026-11-01
metrics:
  primary: activated
  secondary: [revenue-per-user]
  guardrails:
    - {metric: cancellations, max_degradation: 0.02}
definitions:
  activated: {type: conversion, event: core_task_completed, within: 7d, name: Activated in 7 days}
  revenue-per-user: {type: sum, event: purchase, property: amount, within: 28d, covariate: 14d}
  cancellations: {type: count, event: '*', where: [{property: amount, gt: 0}], inverse: true}
`;

const PRICING = JSON.stringify(
  {
    key: 'pricing-page',
    name: 'Pricing page layout',
    hypothesis: 'A shorter pricing page sells more.',
    factors: { layout: ['long', 'short'], badge: ['none', 'popular'] },
    start: '2026-12-01',
    exposure: 'assignment',
    method: 'bayesian',
    metrics: { primary: { key: 'revenue', type: 'sum', event: 'purchase', property: 'amount' } },
  },
  null,
  2,
);

let root = '';
let ws = '';

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-exp-cli-'));
  ws = path.join(root, 'ws');
  await writeFile(path.join(root, 'events.jsonl'), EVENTS.map((e) => JSON.stringify(e)).join('\n') + '\n');
  expect((await cli(root, 'init', 'ws')).code).toBe(0);
  expect((await cli(ws, 'plan', 'infer', '../events.jsonl', '--write')).code).toBe(0);
  expect((await cli(ws, 'ingest', 'events', '../events.jsonl')).code).toBe(0);
  await writeFile(path.join(ws, 'segments', 'stalled.yaml'), STALLED);
  expect((await cli(ws, 'segment', 'add')).code).toBe(0);
  await mkdir(path.join(ws, 'experiments'));
  await writeFile(path.join(ws, 'experiments', 'onboarding-checklist.yaml'), CHECKLIST);
  await writeFile(path.join(ws, 'experiments', 'pricing-page.json'), PRICING);
}, 60_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('strata experiment', () => {
  it('adds a folder of experiments, then nothing new when nothing changed', async () => {
    const added = await cliJson(ws, 'experiment', 'add', 'experiments');
    expect(added).toEqual([
      { key: 'onboarding-checklist', version: 1, status: 'created', file: path.join('experiments', 'onboarding-checklist.yaml') },
      { key: 'pricing-page', version: 1, status: 'created', file: path.join('experiments', 'pricing-page.json') },
    ]);
    const again = await cli(ws, 'experiment', 'add', 'experiments/');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/onboarding-checklist\s+v1\s+unchanged/);
    expect(again.stdout).toMatch(/pricing-page\s+v1\s+unchanged/);
  });

  it('lists the experiments with their status as of now', async () => {
    const list = await cliJson<{ key: string; status: string; variants: string[]; targeting: string[]; method: string }[]>(ws, 'experiment', 'list');
    // The status follows the wall clock: before 2026-10-01 both are drafts.
    const statusOf = (startMs: number, stopMs: number | null) => (Date.now() < startMs ? 'draft' : stopMs !== null && Date.now() >= stopMs ? 'stopped' : 'running');
    expect(list.map((x) => [x.key, x.status, x.variants, x.targeting, x.method])).toEqual([
      ['onboarding-checklist', statusOf(START_MS, Date.UTC(2026, 10, 1)), ['control', 'checklist'], ['stalled-onboarding'], 'frequentist'],
      ['pricing-page', statusOf(Date.UTC(2026, 11, 1), null), ['long.none', 'long.popular', 'short.none', 'short.popular'], [], 'bayesian'],
    ]);
    const human = await cli(ws, 'experiment', 'list');
    expect(human.stdout.split('\n')[0]).toMatch(/^EXPERIMENT\s+NAME\s+STATUS\s+VERSION\s+START\s+STOP\s+VARIANTS/);
    expect(human.stdout).toMatch(/onboarding-checklist\s+Personalized onboarding checklist\s+\w+\s+v1\s+2026-10-01\s+2026-11-01\s+control, checklist/);
  });

  it('shows the definition with weights and bucket ranges, as JSON and for people', async () => {
    const shown = await cliJson<{
      version: number;
      definition: { coverage: number; variants: { key: string; weight: number }[]; primary: { key: string; withinMs: number } };
      buckets: { coverage: { from: number; to: number }; variants: { key: string; from: number; to: number; weight: number }[] };
      document: { hypothesis: string };
      versions: { version: number }[];
    }>(ws, 'experiment', 'show', 'onboarding-checklist');
    expect(shown.version).toBe(1);
    expect(shown.definition.variants).toEqual([
      { key: 'control', weight: 0.25 },
      { key: 'checklist', weight: 0.75 },
    ]);
    expect(shown.definition.primary).toMatchObject({ key: 'activated', withinMs: 7 * DAY });
    // Coverage 0.5: coverage buckets [0, 5000); weights 1:3: variant buckets [0, 2500) and [2500, 10000).
    expect(shown.buckets).toEqual({
      coverage: { from: 0, to: 5000 },
      variants: [
        { key: 'control', from: 0, to: 2500, weight: 0.25 },
        { key: 'checklist', from: 2500, to: 10000, weight: 0.75 },
      ],
    });
    expect(shown.document.hypothesis).toContain('tailored to their role');
    expect(shown.versions.map((v) => v.version)).toEqual([1]);

    const human = (await cli(ws, 'experiment', 'show', 'onboarding-checklist')).stdout;
    for (const text of [
      'targeting:  members of stalled-onboarding',
      'schedule:   2026-10-01 to 2026-11-01',
      'coverage:   50.00% (coverage buckets 0-4999 of 0-9999)',
      'Stalled users finish the core workflow more often with a checklist tailored',
      'conversion: did core_task_completed within 7d of exposure',
      'sum: sum of amount on purchase per user within 28d of exposure (CUPED over the 14d before)',
      'cancellations (guardrail: at most 2.0% worse)',
      'count: events (any) where amount > 0 per user from exposure to as-of (lower is better)',
    ]) {
      expect(human, text).toContain(text);
    }
    expect(human).toMatch(/control \(control\)\s+25\.00%\s+0-2499/);
    expect(human).toMatch(/checklist\s+75\.00%\s+2500-9999/);
    expect(human).toMatch(/method:\s+frequentist/);
    const pricing = (await cli(ws, 'experiment', 'show', 'pricing-page')).stdout;
    expect(pricing).toContain('factors: layout [long, short] x badge [none, popular]');
    expect(pricing).toMatch(/short\.popular\s+25\.00%\s+7500-9999/);
  });

  it('assigns a targeted user, and says why a non-targeted one is not in', async () => {
    const def = { seed: 'onboarding-checklist', hashVersion: 1 as const, coverage: 0.5, variants: [{ key: 'control', weight: 1 }, { key: 'checklist', weight: 3 }] };
    const during = '2026-10-05';
    const s1 = await cliJson<{ outcome: Record<string, unknown>; targeting: unknown[] }>(ws, 'experiment', 'assign', 'onboarding-checklist', 's1', '--as-of', during);
    const h1 = assignVariant(def, 's1');
    expect(s1.targeting).toEqual([{ segment: 'stalled-onboarding', version: 1, member: true }]);
    // s1's coverage bucket (6587) is not below round(0.5 * 10000) = 5000: targeted, not covered.
    expect(h1.coverageBucket).toBe(6587);
    expect(s1.outcome).toEqual({ inExperiment: false, reason: 'outside-coverage', wouldBe: 'checklist', coverageBucket: 6587, variantBucket: h1.variantBucket });
    expect(variantBounds(def).find((b) => b.key === 'checklist')!.from).toBeLessThanOrEqual(h1.variantBucket);

    const a1 = await cliJson<{ outcome: Record<string, unknown> }>(ws, 'experiment', 'assign', 'onboarding-checklist', 'a1', '--as-of', during);
    const h2 = assignVariant(def, 'a1');
    expect(a1.outcome).toEqual({ inExperiment: false, reason: 'not-targeted', wouldBe: h2.variant, coverageBucket: h2.coverageBucket, variantBucket: h2.variantBucket });
    const human = await cli(ws, 'experiment', 'assign', 'onboarding-checklist', 'a1', '--as-of', during);
    expect(human.stdout).toContain(`a1 in onboarding-checklist (v1) as of 2026-10-05T00:00:00.000Z: not in the experiment (not-targeted: not in stalled-onboarding); would be ${h2.variant}`);
    expect(human.stdout).toContain(`coverage bucket ${h2.coverageBucket}, variant bucket ${h2.variantBucket}`);
    expect(human.stdout).toContain('targeting: stalled-onboarding not a member');

    const early = await cliJson<{ outcome: { reason: string } }>(ws, 'experiment', 'assign', 'onboarding-checklist', 's1', '--as-of', '2026-09-30');
    expect(early.outcome.reason).toBe('not-started');
  });

  it('refuses a definition with errors naming file, line and path, storing nothing', async () => {
    const bad = CHECKLIST.replace('key: onboarding-checklist', 'key: second-try')
      .replace('coverage: 0.5', 'coverage: 5')
      .replace('targeting: [stalled-onboarding]', 'targeting: [stalled-onbording]')
      .replace('property: amount, within: 28d', 'property: amont, within: 28d');
    await writeFile(path.join(root, 'bad.yaml'), bad);
    await writeFile(path.join(root, 'good.json'), PRICING.replace('pricing-page', 'pricing-two'));
    const run = await cli(ws, 'experiment', 'add', '../good.json', '../bad.yaml');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(`strata: 3 problems in 1 experiment file: ${root}/bad.yaml:7 targeting[0]: no stored segment "stalled-onbording"; did you mean "stalled-onboarding"? (and 2 more)`);
    const json = await cli(ws, 'experiment', 'add', '../good.json', '../bad.yaml', '--json');
    const error = JSON.parse(json.stdout || json.stderr) as { error: { code: string; details: { path: string; message: string }[] } };
    expect(error.error.code).toBe('EXPERIMENT_INVALID');
    expect(error.error.details.map((d) => d.path)).toEqual([
      `${root}/bad.yaml:7 targeting[0]`,
      `${root}/bad.yaml:11 coverage`,
      `${root}/bad.yaml:21 definitions.revenue-per-user.property`,
    ]);
    // All or nothing: the good file was not stored either.
    const list = await cliJson<{ key: string }[]>(ws, 'experiment', 'list');
    expect(list.map((x) => x.key)).toEqual(['onboarding-checklist', 'pricing-page']);
  });

  it('names missing files and unknown keys', async () => {
    const missing = await cli(ws, 'experiment', 'add', 'nope.yaml');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file or folder: nope.yaml');
    const unknown = await cli(ws, 'experiment', 'show', 'onboarding-checklst');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('strata: no experiment "onboarding-checklst"; did you mean "onboarding-checklist"?\n');
    const version = await cli(ws, 'experiment', 'show', 'pricing-page', '--at-version', '3');
    expect(version.stderr).toContain('experiment "pricing-page" has no version 3; stored versions: v1');
    const syntax = path.join(root, 'syntax.yaml');
    await writeFile(syntax, 'key: a\nname: b\nkey: c\n');
    const twice = await cli(ws, 'experiment', 'add', 'experiments', path.join('experiments', 'pricing-page.json'));
    expect(twice.stderr).toBe('strata: 1 problem in 1 experiment file: experiments/pricing-page.json: experiment "pricing-page" is also defined in experiments/pricing-page.json; one definition per key\n');
    const broken = await cli(ws, 'experiment', 'add', syntax);
    expect(broken.stderr).toMatch(/strata: 1 problem in 1 experiment file: \/.*\/syntax\.yaml:3:1: YAML syntax error/);
  });

  it('stores a new version when a definition changes, and shows any version', async () => {
    const file = path.join(ws, 'experiments', 'onboarding-checklist.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('coverage: 0.5', 'coverage: 0.8'));
    const added = await cliJson<{ key: string; version: number; status: string }[]>(ws, 'experiment', 'add', 'experiments');
    expect(added.map((r) => [r.key, r.version, r.status])).toEqual([
      ['onboarding-checklist', 2, 'updated'],
      ['pricing-page', 1, 'unchanged'],
    ]);
    const v1 = await cliJson<{ version: number; definition: { coverage: number }; versions: unknown[] }>(ws, 'experiment', 'show', 'onboarding-checklist', '--at-version', '1');
    expect([v1.version, v1.definition.coverage, v1.versions.length]).toEqual([1, 0.5, 2]);
    const v2 = await cliJson<{ version: number; definition: { coverage: number } }>(ws, 'experiment', 'show', 'onboarding-checklist');
    expect([v2.version, v2.definition.coverage]).toEqual([2, 0.8]);
    // Coverage 0.8: buckets below 8000 are in, so s1 (6587) enters, in the variant it would have had.
    const s1 = await cliJson<{ version: number; outcome: Record<string, unknown> }>(ws, 'experiment', 'assign', 'onboarding-checklist', 's1', '--as-of', '2026-10-05');
    expect(s1.version).toBe(2);
    expect(s1.outcome).toEqual({ inExperiment: true, variant: 'checklist', coverageBucket: 6587, variantBucket: assignVariant({ seed: 'onboarding-checklist', hashVersion: 1, coverage: 0.8, variants: [{ key: 'control', weight: 1 }, { key: 'checklist', weight: 3 }] }, 's1').variantBucket });
    const human = await cli(ws, 'experiment', 'assign', 'onboarding-checklist', 's1', '--as-of', '2026-10-05');
    expect(human.stdout).toContain('s1 in onboarding-checklist (v2) as of 2026-10-05T00:00:00.000Z: in the experiment: variant checklist');
    expect(human.stdout).toContain('targeting: stalled-onboarding member');
  });

  it('fits its help in 80 columns, with examples', () => {
    let text = '';
    const program = buildProgram({ stdout: (t) => (text += t), stderr: (t) => (text += t), cwd: root, env: {} });
    const experiment = program.commands.find((c) => c.name() === 'experiment')!;
    const mine = ['add', 'list', 'show', 'assign'];
    const commands: Command[] = [experiment, ...experiment.commands.filter((c) => mine.includes(c.name()))];
    expect(commands).toHaveLength(5);
    for (const command of commands) {
      text = '';
      command.configureOutput({ getOutHelpWidth: () => 80 });
      command.outputHelp();
      if (command !== experiment) expect(text, command.name()).toContain('Examples:');
      expect(command.description().split('\n').filter((l) => l.length > 80), command.name()).toEqual([]);
      expect(text.split('\n').filter((l) => l.length > 80), command.name()).toEqual([]);
    }
  });
});
