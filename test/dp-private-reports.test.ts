/**
 * `--private` on the reports that leave the workspace (segment compute, lifecycle report,
 * experiment analyze), end to end through the CLI on a DuckDB file store.
 *
 * Oracles:
 * - with epsilon 1e6 the noise is practically 0 (discrete Laplace scale at most ~1e-4 grid
 *   units per query: P(noise != 0) < 1e-40), so the private numbers equal the exact ones:
 *   the plain commands' --json (segment sizes, lifecycle counts), and for the experiment
 *   counts and clamped sums worked out by hand from the generated events below;
 * - with a normal epsilon each noisy count is within 8 of the noise's own standard
 *   deviations (as the release reports it) of the exact count (Chebyshev: a miss has
 *   probability < 1/64 per value, and the discrete Laplace's exponential tail makes it
 *   < 1e-4), and some value differs (P(all equal) < 0.06^k for k values at epsilon 0.1);
 * - partition selection: a trait value held by one user never shows (threshold >= 2);
 * - budget: spends add up in the ledger and a release past the limit is refused with
 *   PRIVACY_BUDGET_EXCEEDED before anything is printed or spent.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleReport } from '../src/analysis/lifecycle/index.js';
import { initWorkspace } from '../src/config/index.js';
import { ERROR_CATALOGUE } from '../src/errors/errors.js';
import type { PrivateExperimentSummary } from '../src/privacy/dp/private-experiment.js';
import type { PrivateLifecycleReport } from '../src/privacy/dp/private-lifecycle.js';
import type { PrivateSegmentSizes } from '../src/privacy/dp/private-segment.js';
import { partSpend } from '../src/privacy/dp/private-release.js';
import { ZERO, add, compare, exactOf, toNumber } from '../src/privacy/dp/rational.js';
import type { SegmentSizes } from '../src/analysis/segment-sizes.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { buildProgram } from '../src/cli/program.js';
import { cli, cliJson } from './cli-helpers.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const START = Date.UTC(2026, 9, 1);
const iso = (ms: number) => new Date(ms).toISOString();
const AS_OF = '2026-10-25';
const EXP_AS_OF = iso(START + 20 * DAY);
const HUGE = ['--private', '--epsilon', '1000000'];

const PLAN = parsePlan({
  events: {
    signed_up: {},
    task_completed: {},
    page_viewed: {},
    purchase: { properties: { amount: 'number' } },
    $exposure: { properties: { experiment: 'string', variant: 'string' } },
  },
  traits: { plan: 'string' },
});

/** 400 users: u1 is the only vip, u3 u5 u7 u9 are team, the rest free (< 200) or pro. */
const N = 400;
const id = (i: number) => `u${String(i).padStart(3, '0')}`;
const planOf = (i: number) => (i === 1 ? 'vip' : [3, 5, 7, 9].includes(i) ? 'team' : i < 200 ? 'free' : 'pro');
const exposed = (i: number) => i < 300;
const variantOf = (i: number) => (i % 2 === 0 ? 'control' : 'treatment');
const exposureMs = (i: number) => START + DAY + (i % 10) * HOUR;
/** Purchases in the 7-day window: i % 3 == 0 buys 10 + 20·(i % 7); i % 6 == 0 also 40. */
const windowPurchases = (i: number): number[] => (!exposed(i) || i % 3 !== 0 ? [] : i % 6 === 0 ? [10 + 20 * (i % 7), 40] : [10 + 20 * (i % 7)]);

function events(): object[] {
  const out: object[] = [];
  for (let i = 0; i < N; i++) {
    out.push({ user_id: id(i), event: 'signed_up', timestamp: iso(START - 30 * DAY + (i % 20) * DAY) });
    if (i % 4 === 0) out.push({ user_id: id(i), event: 'task_completed', timestamp: iso(START - 5 * DAY) });
    if (i % 7 === 0) out.push({ user_id: id(i), event: 'page_viewed', timestamp: iso(START + 15 * DAY) });
    if (!exposed(i)) continue;
    const x = exposureMs(i);
    out.push({ user_id: id(i), event: '$exposure', timestamp: iso(x), properties: { experiment: 'checkout', variant: variantOf(i) } });
    windowPurchases(i).forEach((amount, k) => out.push({ user_id: id(i), event: 'purchase', timestamp: iso(x + (2 + k) * DAY), properties: { amount } }));
    // Outside every metric window (7 days): must not count.
    if (i % 5 === 0) out.push({ user_id: id(i), event: 'purchase', timestamp: iso(x + 10 * DAY), properties: { amount: 500 } });
  }
  return out.sort((a, b) => ((a as { timestamp: string }).timestamp < (b as { timestamp: string }).timestamp ? -1 : 1));
}

const segment = (key: string, match: string) =>
  `key: ${key}\nname: ${key}\nobjective: other\nrationale: A test segment.\nowner: tests\nmatch: ${match}\n`;

const EXPERIMENT = `key: checkout
name: One-page checkout
hypothesis: A shorter checkout sells more.
variants: [{key: control, weight: 1}, {key: treatment, weight: 1}]
start: ${iso(START)}
stop: ${iso(START + 3 * DAY)}
metrics:
  primary: bought
  secondary: [revenue, order-value]
definitions:
  bought: {type: conversion, event: purchase, within: 7d}
  revenue: {type: sum, event: purchase, property: amount, within: 7d}
  order-value: {type: mean, event: purchase, property: amount, within: 7d}
`;

const privacyYaml = (epsilon: number) => `\nlifecycle:\n  core_action: task_completed\nprivacy:\n  budget:\n    epsilon: ${epsilon}\n    rho: 1000000\n  min_group_size: 10\n`;

let root = '';
let ws = '';
let baseYaml = '';

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-dp-reports-'));
  ws = path.join(root, 'ws');
  await initWorkspace(ws, { plan: PLAN });
  baseYaml = await readFile(path.join(ws, 'strata.yaml'), 'utf8');
  await writeFile(path.join(ws, 'strata.yaml'), baseYaml + privacyYaml(1e9));
  await writeFile(path.join(root, 'events.jsonl'), `${events().map((e) => JSON.stringify(e)).join('\n')}\n`);
  const profiles = Array.from({ length: N }, (_, i) => JSON.stringify({ user_id: id(i), traits: { plan: planOf(i) } }));
  await writeFile(path.join(root, 'profiles.jsonl'), `${profiles.join('\n')}\n`);
  expect((await cli(ws, 'ingest', 'events', path.join(root, 'events.jsonl'))).code).toBe(0);
  expect((await cli(ws, 'ingest', 'profiles', path.join(root, 'profiles.jsonl'))).code).toBe(0);
  await writeFile(path.join(ws, 'segments', 'buyers.yaml'), segment('buyers', '{did: purchase}'));
  await writeFile(path.join(ws, 'segments', 'everyone.yaml'), segment('everyone', '{did: signed_up}'));
  await writeFile(path.join(ws, 'segments', 'insiders.yaml'), segment('insiders', '{trait: plan, in: [vip, team]}'));
  const added = await cli(ws, 'segment', 'add');
  expect(added.code, added.stderr).toBe(0);
  await mkdir(path.join(ws, 'experiments'));
  await writeFile(path.join(ws, 'experiments', 'checkout.yaml'), EXPERIMENT);
  const exp = await cli(ws, 'experiment', 'add', 'experiments');
  expect(exp.code, exp.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('segment compute --private', () => {
  it('huge epsilon: the noisy sizes are the exact ones, the snapshot keeps the exact size, small segments are suppressed', async () => {
    const exact = await cliJson<{ key: string; size: number }[]>(ws, 'segment', 'compute', '--as-of', AS_OF);
    const sizes = Object.fromEntries(exact.map((r) => [r.key, r.size]));
    expect(sizes.everyone).toBe(N);
    expect(sizes.insiders).toBe(5);
    const r = await cliJson<PrivateSegmentSizes>(ws, 'segment', 'compute', '--as-of', AS_OF, ...HUGE);
    expect(r.privacy).toMatchObject({ private: true, mechanism: 'laplace', epsilon: 1e6, minGroupSize: 10 });
    expect(r.segments.map((s) => [s.key, s.size, s.suppressed])).toEqual([
      ['buyers', sizes.buyers, null],
      ['everyone', N, null],
      ['insiders', null, 'min_group_size'],
    ]);
    expect(r.privacy.suppressed).toEqual([{ query: 'size', group: 'insiders', reason: 'min_group_size' }]);
    // Overlapping segments: every user can be in all three, so the bound is 3 groups per user.
    expect(r.privacy.notes.join(' ')).toContain('all 3 segments');
    const list = await cliJson<{ key: string; lastSnapshot: { size: number } }[]>(ws, 'segment', 'list');
    expect(list.find((s) => s.key === 'insiders')!.lastSnapshot.size).toBe(5);
  });

  it('normal epsilon: noisy, within 8 noise SDs, and the text says it is private', async () => {
    const run = await cli(ws, 'segment', 'compute', 'buyers', 'everyone', '--as-of', AS_OF, '--private', '--epsilon', '0.1', '--min-group-size', '0');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('PRIVATE segment sizes');
    expect(run.stdout).toContain('discrete Laplace (pure DP), epsilon 0.1 spent');
    expect(run.stdout).toMatch(/Noise, 95% interval: size ±\d+/);
    expect(run.stdout).toMatch(/Budget: epsilon [\d,.]+ of [\d,.]+ spent/);
    const r = await cliJson<PrivateSegmentSizes>(ws, 'segment', 'compute', 'buyers', 'everyone', '--as-of', AS_OF, '--private', '--epsilon', '0.1', '--min-group-size', '0');
    const sd = r.privacy.noise[0]!.noiseSd;
    // Two groups per user at epsilon 0.1: discrete Laplace scale 20, sd about 28.
    expect(sd).toBeGreaterThan(20);
    const everyone = r.segments.find((s) => s.key === 'everyone')!.size!;
    expect(Math.abs(everyone - N)).toBeLessThanOrEqual(8 * sd);
    expect(r.segments.every((s) => s.ci95 > 0)).toBe(true);
  });

  it('rejects options that only mean something with --private, and --private with --every', async () => {
    const alone = await cli(ws, 'segment', 'compute', '--epsilon', '1');
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--epsilon only applies to a private release');
    const both = await cli(ws, 'segment', 'compute', '--private', '--epsilon', '1', '--rho', '0.1');
    expect(both.stderr).toContain('--epsilon and --rho');
    const every = await cli(ws, 'segment', 'compute', '--private', '--every', '1h');
    expect(every.stderr).toContain('does not combine with --every');
  });

  it('--rho releases with the discrete Gaussian (zCDP) and spends rho', async () => {
    const r = await cliJson<PrivateSegmentSizes>(ws, 'segment', 'compute', 'everyone', '--as-of', AS_OF, '--private', '--rho', '0.5');
    expect(r.privacy).toMatchObject({ mechanism: 'gaussian', rho: 0.5, epsilon: 0 });
    expect(r.privacy.budget.rhoSpent).toBeGreaterThanOrEqual(0.5);
    expect(Math.abs(r.segments[0]!.size! - N)).toBeLessThanOrEqual(8 * r.privacy.noise[0]!.noiseSd);
  });
});

describe('segment size [--by] [--private]', () => {
  /** Members of `everyone` per plan, from the generator. */
  const byPlan = () => {
    const out: Record<string, number> = {};
    for (let i = 0; i < N; i++) out[planOf(i)] = (out[planOf(i)] ?? 0) + 1;
    return out;
  };

  it('exact: groups add up to the size, counted by hand', async () => {
    const r = await cliJson<SegmentSizes>(ws, 'segment', 'size', 'everyone', '--as-of', AS_OF, '--by', 'plan');
    const s = r.segments[0]!;
    expect(s.size).toBe(N);
    expect(Object.fromEntries(s.groups!.map((g) => [g.group, g.users]))).toEqual(byPlan());
    expect(s.groups!.map((g) => g.group)).toEqual(['pro', 'free', 'team', 'vip']);
    const human = await cli(ws, 'segment', 'size', '--as-of', AS_OF);
    expect(human.stdout).toMatch(/everyone\s+v1\s+400\s+100\.0%/);
  });

  it('--private --by plan, huge epsilon: sizes and selected groups exact, the one-user value never shows, small ones suppressed', async () => {
    const r = await cliJson<PrivateSegmentSizes>(ws, 'segment', 'size', 'everyone', 'buyers', '--as-of', AS_OF, '--by', 'plan', ...HUGE);
    const everyone = r.segments.find((s) => s.key === 'everyone')!;
    expect(everyone.size).toBe(N);
    const groups = Object.fromEntries(everyone.groups!.map((g) => [g.group, [g.users, g.suppressed]]));
    expect(groups).toEqual({ pro: [200, null], free: [195, null], team: [null, 'min_group_size'] });
    expect(r.by).toMatchObject({ label: 'trait plan', keys: 'private' });
    expect(JSON.stringify(r)).not.toContain('vip');
    // One release for the sizes, one per segment for its groups.
    expect(r.privacy.releases).toHaveLength(3);
    expect(r.privacy.epsilon).toBeCloseTo(1e6, 3);
  });

  it('--private --by segment: member and non-member are public keys, zeros included', async () => {
    const exact = await cliJson<SegmentSizes>(ws, 'segment', 'size', 'insiders', '--as-of', AS_OF, '--by', 'segment:buyers');
    const r = await cliJson<PrivateSegmentSizes>(ws, 'segment', 'size', 'insiders', '--as-of', AS_OF, '--by', 'segment:buyers', ...HUGE, '--min-group-size', '0');
    expect(r.by!.keys).toBe('public');
    expect(r.segments[0]!.groups!.map((g) => [g.group, g.users])).toEqual(exact.segments[0]!.groups!.map((g) => [g.group, g.users]));
    const text = await cli(ws, 'segment', 'size', 'insiders', '--as-of', AS_OF, '--by', 'segment:buyers', '--private');
    expect(text.stdout).toContain('PRIVATE segment sizes');
    expect(text.stdout).toContain('suppressed');
  });
});

describe('lifecycle report --private', () => {
  it('huge epsilon: stage counts and --by segment cells equal the exact report', async () => {
    const exact = await cliJson<LifecycleReport>(ws, 'lifecycle', 'report', '--as-of', AS_OF, '--by', 'segment:buyers');
    const r = await cliJson<PrivateLifecycleReport>(ws, 'lifecycle', 'report', '--as-of', AS_OF, '--by', 'segment:buyers', ...HUGE, '--min-group-size', '0');
    expect(r.stages.map((s) => [s.stage, s.users])).toEqual(exact.stages.map((s) => [s.stage, s.users]));
    expect(r.population).toBe(exact.population);
    // Public groups: member and non-member, every stage, zeros included.
    expect(r.by!.keys).toBe('public');
    for (const g of exact.by!.groups) {
      const mine = r.by!.groups.find((x) => x.group === g.group)!;
      expect(mine.stages.map((s) => s.users)).toEqual(g.stages.map((s) => s.users));
    }
    expect(r.privacy.releases).toHaveLength(2);
    expect(r.privacy.epsilon).toBeCloseTo(1e6, 6);
  });

  it('--by trait: keys from the data go through partition selection; the one-user value never shows', async () => {
    const exact = await cliJson<LifecycleReport>(ws, 'lifecycle', 'report', '--as-of', AS_OF, '--by', 'plan');
    const huge = await cliJson<PrivateLifecycleReport>(ws, 'lifecycle', 'report', '--as-of', AS_OF, '--by', 'plan', ...HUGE, '--min-group-size', '0');
    expect(huge.by!.keys).toBe('private');
    for (const g of exact.by!.groups) {
      for (const s of g.stages) {
        const mine = huge.by!.groups.find((x) => x.group === g.group)?.stages.find((x) => x.stage === s.stage);
        // A cell of 1 user is never selected; cells of 10 or more always are (threshold 2 here).
        if (s.users >= 10) expect(mine?.users).toBe(s.users);
        if (s.users <= 1) expect(mine?.users ?? null).toBeNull();
      }
    }
    expect(JSON.stringify(huge)).not.toContain('vip');
    const normal = await cli(ws, 'lifecycle', 'report', '--as-of', AS_OF, '--by', 'plan', '--private', '--epsilon', '1');
    expect(normal.code, normal.stderr).toBe(0);
    expect(normal.stdout).not.toContain('vip');
    expect(normal.stdout).toContain('partition selection');
  });

  it('normal epsilon: noisy stage counts within 8 noise SDs, some differ; small stages suppressed by default', async () => {
    const exact = await cliJson<LifecycleReport>(ws, 'lifecycle', 'report', '--as-of', AS_OF);
    const r = await cliJson<PrivateLifecycleReport>(ws, 'lifecycle', 'report', '--as-of', AS_OF, '--private', '--epsilon', '0.1', '--min-group-size', '0');
    const sd = r.privacy.noise[0]!.noiseSd;
    const pairs = exact.stages.map((s) => [s.users, r.stages.find((x) => x.stage === s.stage)!.users!] as const);
    for (const [e, n] of pairs) expect(Math.abs(n - e)).toBeLessThanOrEqual(8 * sd);
    expect(pairs.some(([e, n]) => e !== n)).toBe(true);
    const suppressed = await cliJson<PrivateLifecycleReport>(ws, 'lifecycle', 'report', '--as-of', AS_OF, ...HUGE);
    for (const s of exact.stages) {
      const mine = suppressed.stages.find((x) => x.stage === s.stage)!;
      expect(mine.suppressed).toBe(s.users < 10 ? 'min_group_size' : null);
    }
  });
});

/** The hand oracle: per variant (and plan), users, buyers and clamped sums from the generated events. */
function handStats(variant: string, group?: string) {
  let users = 0;
  let buyers = 0;
  let revenue = 0;
  let orders = 0;
  for (let i = 0; i < 300; i++) {
    if (variantOf(i) !== variant || (group !== undefined && planOf(i) !== group)) continue;
    users++;
    const p = windowPurchases(i);
    const total = p.reduce((a, b) => a + b, 0);
    if (p.length > 0) buyers++;
    revenue += Math.min(Math.max(total, 0), 100);
    orders += Math.min(p.length, 1);
  }
  return { users, buyers, revenue, orders };
}

describe('experiment analyze --private', () => {
  const analyze = (...extra: string[]) => cliJson<PrivateExperimentSummary>(ws, 'experiment', 'analyze', 'checkout', '--as-of', EXP_AS_OF, ...extra);

  it('requires a clamp for value metrics and names what to add', async () => {
    const run = await cli(ws, 'experiment', 'analyze', 'checkout', '--as-of', EXP_AS_OF, '--private');
    expect(run.code).toBe(2);
    expect(run.stderr + run.stdout).toContain('--clamp');
    const json = await cli(ws, 'experiment', 'analyze', 'checkout', '--as-of', EXP_AS_OF, '--private', '--json');
    const details = JSON.stringify(JSON.parse(json.stdout).error.details);
    expect(details).toContain('--clamp revenue=LO:HI');
    expect(details).toContain('--clamp order-value.denominator=LO:HI');
  });

  it('huge epsilon: users, conversions and clamped sums equal the hand-computed ones; no p-values', async () => {
    const r = await analyze(...HUGE, '--clamp', '0:100', '--clamp', 'order-value.denominator=0:1');
    expect(r.scopes).toHaveLength(1);
    const whole = r.scopes[0]!.groups[0]!;
    for (const variant of ['control', 'treatment']) {
      const h = handStats(variant);
      expect(whole.exposures.find((e) => e.variant === variant)!.value).toBe(h.users);
      const m = (key: string) => whole.metrics.find((x) => x.metric === key)!.variants.find((v) => v.variant === variant)!;
      expect(m('bought').numerator.value).toBe(h.buyers);
      expect(m('bought').value.value).toBeCloseTo(h.buyers / h.users, 9);
      expect(m('revenue').numerator.value).toBeCloseTo(h.revenue, 6);
      expect(m('revenue').value.value).toBeCloseTo(h.revenue / h.users, 6);
      expect(m('order-value').denominator!.value).toBeCloseTo(h.orders, 6);
      expect(m('order-value').value.value).toBeCloseTo(h.revenue / h.orders, 6);
    }
    // The clamp mattered: without it revenue would be larger.
    expect(handStats('control').revenue).toBeLessThan(
      Array.from({ length: 300 }, (_, i) => i).filter((i) => variantOf(i) === 'control').reduce((a, i) => a + windowPurchases(i).reduce((x, y) => x + y, 0), 0),
    );
    const text = JSON.stringify(r);
    expect(text).not.toContain('pValue');
    expect(r.privacy.notes.join(' ')).toContain('no p-values');
  });

  it('--by plan: cells selected from the data; the one-user vip cell never shows; small cells suppressed', async () => {
    const r = await analyze(...HUGE, '--clamp', '0:100', '--clamp', 'order-value.denominator=0:1', '--by', 'plan', '--min-group-size', '0');
    const by = r.scopes.find((s) => s.breakdown !== null)!;
    expect(by.keys).toBe('private');
    for (const group of ['free', 'pro']) {
      const g = by.groups.find((x) => x.group === group)!;
      for (const variant of ['control', 'treatment']) {
        const h = handStats(variant, group);
        expect(g.exposures.find((e) => e.variant === variant)!.value).toBe(h.users);
        const rev = g.metrics.find((m) => m.metric === 'revenue')!.variants.find((v) => v.variant === variant)!;
        expect(rev.numerator.value).toBeCloseTo(h.revenue, 6);
      }
    }
    expect(JSON.stringify(r)).not.toContain('vip');
    // The 4 team users (all treatment) pass selection at this epsilon but not the minimum group size.
    const small = await analyze(...HUGE, '--clamp', '0:100', '--clamp', 'order-value.denominator=0:1', '--by', 'plan');
    const team = small.scopes[1]!.groups.find((g) => g.group === 'team')!;
    expect(team.exposures.map((e) => [e.variant, e.value, e.suppressed])).toEqual([
      ['control', null, 'partition_selection'],
      ['treatment', null, 'min_group_size'],
    ]);
    expect(team.metrics.every((m) => m.variants.every((v) => v.value.value === null))).toBe(true);
    expect(small.privacy.suppressed).toContainEqual({ query: 'users by plan', group: 'team / treatment', reason: 'min_group_size' });
    const normal = await cli(ws, 'experiment', 'analyze', 'checkout', '--as-of', EXP_AS_OF, '--private', '--clamp', '0:100', '--clamp', 'order-value.denominator=0:1', '--by', 'plan');
    expect(normal.code, normal.stderr).toBe(0);
    expect(normal.stdout).not.toContain('vip');
    expect(normal.stdout).toContain('PRIVATE summary of experiment checkout');
    expect(normal.stdout).toContain('no significance tests');
  });

  it('normal epsilon: noisy counts within 8 noise SDs of the exact ones', async () => {
    const r = await analyze('--private', '--epsilon', '0.5', '--clamp', '0:100', '--clamp', 'order-value.denominator=0:1', '--min-group-size', '0');
    const users = r.privacy.noise.find((q) => q.query === 'users')!;
    const sums = r.privacy.noise.find((q) => q.query === 'sum:revenue')!;
    const whole = r.scopes[0]!.groups[0]!;
    const diffs: number[] = [];
    for (const variant of ['control', 'treatment']) {
      const h = handStats(variant);
      const u = whole.exposures.find((e) => e.variant === variant)!.value!;
      const rev = whole.metrics.find((m) => m.metric === 'revenue')!.variants.find((v) => v.variant === variant)!.numerator.value!;
      expect(Math.abs(u - h.users)).toBeLessThanOrEqual(8 * users.noiseSd);
      expect(Math.abs(rev - h.revenue)).toBeLessThanOrEqual(8 * sums.noiseSd);
      diffs.push(u - h.users, rev - h.revenue);
    }
    expect(diffs.some((d) => d !== 0)).toBe(true);
    // Sums carry the clamp's scale: noise of a sum is 100x that of a count here.
    expect(sums.noiseSd / users.noiseSd).toBeCloseTo(100, 0);
  });
});

describe('the shared options', () => {
  /** The help of a command as printed at 80 columns. */
  function help(...path: string[]): { text: string; options: Map<string, string> } {
    let text = '';
    const program = buildProgram({ stdout: (t) => (text += t), stderr: (t) => (text += t), cwd: ws, env: {} });
    let command = program;
    for (const name of path) command = command.commands.find((c) => c.name() === name)!;
    command.configureOutput({ getOutHelpWidth: () => 80 });
    command.outputHelp();
    return { text, options: new Map(command.options.map((o) => [o.long!, o.description])) };
  }

  it('have the same names and words on every command, and the help fits 80 columns', () => {
    const screens = [help('segment', 'compute'), help('segment', 'size'), help('lifecycle', 'report'), help('experiment', 'analyze')];
    for (const flag of ['--private', '--epsilon', '--rho', '--min-group-size']) {
      expect(new Set(screens.map((s) => s.options.get(flag))).size, flag).toBe(1);
    }
    for (const s of screens) {
      expect(s.text.split('\n').filter((l) => l.length > 80)).toEqual([]);
      expect(s.text).toContain('With --private the numbers shown are noisy');
    }
  });

  it('experiment analyze: --clamp needs --private, and --private makes no tests', async () => {
    const clamp = await cli(ws, 'experiment', 'analyze', 'checkout', '--clamp', '0:1');
    expect(clamp.stderr).toContain('--clamp only applies to a private summary');
    const method = await cli(ws, 'experiment', 'analyze', 'checkout', '--private', '--clamp', '0:1', '--method', 'bayesian');
    expect(method.stderr).toContain('--method does not apply to a private summary');
    const range = await cli(ws, 'experiment', 'analyze', 'checkout', '--private', '--clamp', '5:10');
    expect(range.stderr + range.stdout).toContain('--clamp');
    expect(range.code).toBe(2);
  });
});

describe('partSpend (the spend of one release of a command made of several)', () => {
  it('never adds up to more than the command spends, and loses at most 1e-12 of it (exact rationals)', () => {
    for (const amount of [0.1, 0.3, 0.7, 1, 2.5, 1 / 3, 1e6, 123.456]) {
      for (let n = 2; n <= 13; n++) {
        const sizes = [1, n - 1];
        if (n > 3) sizes.splice(0, 2, 1, 2, n - 3);
        for (const mechanism of ['laplace', 'gaussian'] as const) {
          const spend = mechanism === 'laplace' ? { mechanism, epsilon: amount } : { mechanism, rho: amount };
          const parts = sizes.map((k) => partSpend(spend, k, n));
          const exact = parts.reduce((a, p) => add(a, exactOf(p.mechanism === 'laplace' ? p.epsilon : p.rho)), ZERO);
          expect(compare(exact, exactOf(amount)), `${amount} over ${sizes.join('+')}`).toBeLessThanOrEqual(0);
          expect(toNumber(exact)).toBeGreaterThanOrEqual(amount * (1 - 1e-12));
          expect(parts.every((p) => p.mechanism === mechanism)).toBe(true);
        }
      }
    }
  });
});

describe('budget', () => {
  it('shows the spend, then refuses a release past the limit with nothing printed and nothing spent', async () => {
    const before = await cliJson<PrivateSegmentSizes>(ws, 'segment', 'compute', 'everyone', '--as-of', AS_OF, '--private', '--epsilon', '0.25');
    const spent = before.privacy.budget.epsilonSpent;
    expect(spent).toBeGreaterThan(3e6);
    await writeFile(path.join(ws, 'strata.yaml'), baseYaml + privacyYaml(spent + 0.5));
    const refused = await cli(ws, 'lifecycle', 'report', '--as-of', AS_OF, '--by', 'segment:buyers', '--private', '--epsilon', '1');
    expect(refused.code).toBe(ERROR_CATALOGUE.PRIVACY_BUDGET_EXCEEDED.exit);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('refused');
    const json = await cli(ws, 'segment', 'compute', 'everyone', '--as-of', AS_OF, '--private', '--epsilon', '1', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'PRIVACY_BUDGET_EXCEEDED' } });
    // Nothing was spent by the refusals: the 0.5 left still pays for a release of 0.4 (two parts).
    const last = await cliJson<PrivateLifecycleReport>(ws, 'lifecycle', 'report', '--as-of', AS_OF, '--by', 'segment:buyers', '--private', '--epsilon', '0.4');
    expect(last.privacy.budget.releases).toBe(before.privacy.budget.releases + 2);
    expect(last.privacy.budget.epsilonSpent).toBeCloseTo(spent + 0.4, 6);
    const over = await cli(ws, 'segment', 'compute', 'everyone', '--as-of', AS_OF, '--private', '--epsilon', '0.2');
    expect(over.code).toBe(ERROR_CATALOGUE.PRIVACY_BUDGET_EXCEEDED.exit);
    expect(over.stdout).toBe('');
  });
});
