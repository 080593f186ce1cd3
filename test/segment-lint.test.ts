/**
 * `segment lint` on crafted segments over generated data (DuckDB): empty, everyone,
 * duplicates, too small, each objective's metric. The oracle is a direct computation over
 * the generated rows in JS (members, baselines, Jaccard indexes); sample sizes come from
 * src/analysis/power.ts, whose formulas src/analysis/power.test.ts holds to scipy and to
 * published examples. The CLI runs in-process on a workspace built from the same data.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventFilterFromDocument, lintSegments, type LintResult, type OverlapWarning, type PowerCheck } from '../src/analysis/lint/index.js';
import { sampleSizeTwoMeans, sampleSizeTwoProportions } from '../src/analysis/power.js';
import type { PurchaseSettings } from '../src/analysis/rfm/rfm-config.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import type { SegmentDefinition } from '../src/segments/language/index.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { seedStore, seededRandom, type SeedEvent } from '../src/segments/registry/test/seed-store.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { MS } from '../src/time/time.js';
import { cli, cliJson } from './cli-helpers.js';

const AS_OF = Date.UTC(2024, 5, 1);
const WINDOW = 28 * MS.d;

const PLAN_DOC = {
  events: { login: {}, page_viewed: {}, core_task: {}, purchase: { properties: { amount: 'number', currency: 'string' } } },
  traits: { plan: 'string' },
};
const plan = parsePlan(PLAN_DOC);

interface User {
  readonly id: string;
  readonly plan: string | null;
  readonly events: SeedEvent[];
}

/** 500 users over 60 days before asOf: plan pro 30%, team 3%; pro users are busier and buy more. */
function generate(): User[] {
  const rnd = seededRandom(424242);
  return Array.from({ length: 500 }, (_, i) => {
    const id = `u${String(i).padStart(3, '0')}`;
    const r = rnd();
    const plan = r < 0.03 ? 'team' : r < 0.33 ? 'pro' : rnd() < 0.9 ? 'free' : null;
    const events: SeedEvent[] = [];
    const n = Math.floor(rnd() * (plan === 'pro' || plan === 'team' ? 30 : 12));
    for (let k = 0; k < n; k++) {
      const at = AS_OF - 1 - Math.floor(rnd() * 60 * MS.d);
      const x = rnd();
      if (x < 0.4) events.push({ user: id, event: 'login', at });
      else if (x < 0.75) events.push({ user: id, event: 'page_viewed', at });
      else if (x < 0.9) events.push({ user: id, event: 'core_task', at });
      else events.push({ user: id, event: 'purchase', at, props: { amount: Math.round(rnd() * 10000) / 100, currency: rnd() < 0.85 ? 'usd' : 'eur' } });
    }
    return { id, plan, events };
  });
}

const def = (key: string, objective: SegmentDefinition['objective'], match: SegmentDefinition['match']): SegmentDefinition => ({
  key,
  name: key,
  objective,
  rationale: 'lint test',
  owner: 'growth',
  match,
});

const SEGMENTS: SegmentDefinition[] = [
  def('pro', 'engagement', { trait: 'plan', eq: 'pro' }),
  def('pro-twin', 'retention', { trait: 'plan', eq: 'pro' }),
  def('nobody', 'other', { trait: 'plan', eq: 'enterprise' }),
  def('everyone', 'other', { not: { trait: 'plan', eq: 'enterprise' } }),
  def('buyers', 'conversion', { did: 'purchase', within: '90d' }),
  def('team', 'monetization', { trait: 'plan', eq: 'team' }),
  def('regulars', 'activation', { did: 'login', count: { gte: 3 } }),
];

const PURCHASE: PurchaseSettings = {
  event: 'purchase',
  value: 'amount',
  quantity: null,
  where: [{ property: 'currency', type: 'string', cmp: { op: 'eq', value: { kind: 'string', value: 'usd' } } }],
};

const users = generate();
const population = users.filter((u) => u.plan !== null || u.events.length > 0);
const MEMBERS: Record<string, (u: User) => boolean> = {
  pro: (u) => u.plan === 'pro',
  'pro-twin': (u) => u.plan === 'pro',
  nobody: () => false,
  everyone: () => true,
  buyers: (u) => u.events.some((e) => e.event === 'purchase' && e.at >= AS_OF - 90 * MS.d),
  team: (u) => u.plan === 'team',
  regulars: (u) => u.events.filter((e) => e.event === 'login').length >= 3,
};
const members = (key: string) => population.filter(MEMBERS[key]!);
const inWindow = (u: User) => u.events.filter((e) => e.at >= AS_OF - WINDOW);
/** Per-user values of each objective's metric (the oracle). */
const METRIC: Record<string, (u: User) => number> = {
  engagement: (u) => new Set(inWindow(u).map((e) => Math.floor(e.at / MS.d))).size,
  retention: (u) => (u.events.some((e) => e.at >= AS_OF - 7 * MS.d) ? 1 : 0),
  conversion: (u) => (inWindow(u).some((e) => e.event === 'purchase' && e.props?.currency === 'usd') ? 1 : 0),
  monetization: (u) => inWindow(u).reduce((s, e) => (e.event === 'purchase' && e.props?.currency === 'usd' ? s + (e.props.amount as number) : s), 0),
  activation: (u) => (inWindow(u).some((e) => e.event === 'core_task') ? 1 : 0),
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

describe('lintSegments on DuckDB', () => {
  let store: DuckDbStore;
  let registry: SegmentRegistry;
  let full: LintResult;
  let bare: LintResult;

  beforeAll(async () => {
    store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    await seedStore(store, plan, {
      events: users.flatMap((u) => u.events),
      profiles: Object.fromEntries(users.filter((u) => u.plan !== null).map((u) => [u.id, { plan: u.plan }])),
    });
    registry = new SegmentRegistry(store, plan);
    await registry.add(SEGMENTS);
    full = await lintSegments(registry, store, plan, { asOfMs: AS_OF, purchase: PURCHASE, coreAction: { event: 'core_task', where: [] } });
    bare = await lintSegments(registry, store, plan, { asOfMs: AS_OF });
  });

  afterAll(async () => {
    await store.close();
  });

  it('reports every segment with its oracle size and population', () => {
    expect(full.segments.map((s) => s.key)).toEqual([...SEGMENTS.map((s) => s.key)].sort());
    for (const s of full.segments) expect([s.key, s.size, s.population]).toEqual([s.key, members(s.key).length, population.length]);
    expect(full.settings).toEqual({ asOf: new Date(AS_OF).toISOString(), window: '28d', alpha: 0.05, power: 0.8, mde: null, overlap: 0.8 });
  });

  it('warns about the segment matching no one and the one matching everyone', () => {
    const coverage = full.warnings.filter((w) => w.kind === 'empty' || w.kind === 'everyone');
    expect(coverage).toEqual([
      { kind: 'everyone', segments: ['everyone'], message: expect.stringContaining('matches all'), numbers: { size: population.length, population: population.length } },
      { kind: 'empty', segments: ['nobody'], message: expect.stringContaining('matches no one'), numbers: { size: 0, population: population.length } },
    ]);
  });

  it('warns about exactly the pairs whose Jaccard index reaches the threshold', () => {
    const keys = full.segments.map((s) => s.key);
    const expected: string[] = [];
    keys.forEach((a, i) => {
      for (const b of keys.slice(i + 1)) {
        const [ma, mb] = [new Set(members(a).map((u) => u.id)), new Set(members(b).map((u) => u.id))];
        const inter = [...ma].filter((id) => mb.has(id)).length;
        const union = ma.size + mb.size - inter;
        if (union > 0 && inter / union >= 0.8) expected.push(`${a}|${b}`);
      }
    });
    const overlaps = full.warnings.filter((w): w is OverlapWarning => w.kind === 'overlap');
    expect(overlaps.map((w) => w.segments.join('|'))).toEqual(expected);
    expect(expected).toContain('pro|pro-twin');
    const twin = overlaps.find((w) => w.segments.join('|') === 'pro|pro-twin')!;
    expect(twin.numbers).toEqual({ intersection: members('pro').length, union: members('pro').length, jaccard: 1, threshold: 0.8, sizes: [members('pro').length, members('pro').length] });
  });

  it("takes each objective's baseline from the segment's own members and states the calculation", () => {
    const byKey = new Map(full.segments.map((s) => [s.key, s.power]));
    const check = (key: string, objective: string, kind: 'proportion' | 'mean', mde: number) => {
      const p: PowerCheck = byKey.get(key)!;
      const xs = members(key).map(METRIC[objective]!);
      expect(p.objective).toBe(objective);
      expect(p.baseline!).toBeCloseTo(mean(xs), 12);
      expect(p.mde).toBe(mde);
      expect(p.mdeSource).toBe('objective default');
      expect(p.nPerGroupAvailable).toBe(Math.floor(xs.length / 2));
      let needed: number;
      if (kind === 'proportion') {
        const target = mean(xs) * (1 + mde) <= 1 ? mean(xs) * (1 + mde) : mean(xs) * (1 - mde);
        expect(p.target!).toBeCloseTo(target, 12);
        expect(p.test).toBe('two-proportions');
        needed = Math.ceil(sampleSizeTwoProportions(mean(xs), target, { alpha: 0.05, power: 0.8 }));
      } else {
        expect(p.sd!).toBeCloseTo(sd(xs), 9);
        expect(p.test).toBe('two-means');
        needed = Math.ceil(sampleSizeTwoMeans(sd(xs), mean(xs) * mde, { alpha: 0.05, power: 0.8 }));
      }
      expect(p.nPerGroupNeeded).toBe(needed);
      expect(p.status).toBe(Math.floor(xs.length / 2) < needed ? 'underpowered' : 'ok');
      expect(p.reason).toContain(`needs ${needed.toLocaleString('en-US')} per group`);
      return p;
    };
    check('pro', 'engagement', 'mean', 0.05);
    check('pro-twin', 'retention', 'proportion', 0.05);
    check('buyers', 'conversion', 'proportion', 0.1);
    check('regulars', 'activation', 'proportion', 0.1);
    const team = check('team', 'monetization', 'mean', 0.1);
    expect(team.status).toBe('underpowered');
    expect(team.size).toBeLessThan(30);
    // The smallest detectable effect at the current size is larger than the one asked for.
    expect(team.detectableEffect!).toBeGreaterThan(0.1);
    expect(byKey.get('nobody')!.status).toBe('skipped');
    expect(byKey.get('everyone')!.reason).toMatch(/other/);
    const warned = full.warnings.filter((w) => w.kind === 'underpowered').map((w) => w.segments[0]);
    expect(warned).toEqual(full.segments.filter((s) => s.power.status === 'underpowered').map((s) => s.key));
  });

  it('a large --mde clears the power warnings the segments can carry', async () => {
    const loose = await lintSegments(registry, store, plan, { asOfMs: AS_OF, purchase: PURCHASE, coreAction: { event: 'core_task', where: [] }, mde: 3 });
    const pro = loose.segments.find((s) => s.key === 'pro')!.power;
    expect([pro.status, pro.mde, pro.mdeSource]).toEqual(['ok', 3, '--mde']);
    expect(pro.detectableEffect!).toBeLessThan(3);
  });

  it('without core action or purchase settings, those objectives are skipped with a note', () => {
    const byKey = new Map(bare.segments.map((s) => [s.key, s.power]));
    for (const key of ['buyers', 'team', 'regulars']) expect(byKey.get(key)!.status).toBe('skipped');
    expect(byKey.get('regulars')!.reason).toMatch(/lifecycle\.core_action/);
    expect(byKey.get('buyers')!.reason).toMatch(/rfm\.event/);
    expect(bare.notes).toHaveLength(3);
    expect(byKey.get('pro')!.status).toBe(new Map(full.segments.map((s) => [s.key, s.power])).get('pro')!.status);
  });

  it('rejects bad settings and unknown keys', async () => {
    await expect(lintSegments(registry, store, plan, { alpha: 1.5 })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(lintSegments(registry, store, plan, { overlap: 0 })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(lintSegments(registry, store, plan, { keys: ['pro', 'nope'] })).rejects.toMatchObject({ code: 'SEGMENT_NOT_FOUND' });
  });
});

describe('eventFilterFromDocument (settings such as lifecycle.core_action)', () => {
  it('lowers E or {event, where} as the condition {did: E, where} would be', () => {
    expect(eventFilterFromDocument({ event: 'purchase', where: [{ property: 'currency', eq: 'usd' }] }, plan, 'lifecycle.core_action')).toEqual({
      event: 'purchase',
      where: PURCHASE.where,
    });
    expect(eventFilterFromDocument({ event: 'core_task' }, plan, 'lifecycle.core_action')).toEqual({ event: 'core_task', where: [] });
    expect(eventFilterFromDocument(null, plan, 'lifecycle.core_action')).toBeNull();
    expect(() => eventFilterFromDocument({ event: 'nope' }, plan, 'lifecycle.core_action')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('strata segment lint and report through the CLI', () => {
  let root: string;
  let ws: string;
  const asOf = new Date(AS_OF).toISOString();

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'strata-lint-cli-'));
    ws = path.join(root, 'ws');
    await mkdir(path.join(ws, 'segments'), { recursive: true });
    const yaml = [
      'version: 1',
      'plan:',
      '  events:',
      '    login: {}',
      '    page_viewed: {}',
      '    core_task: {}',
      '    purchase: { properties: { amount: number, currency: string } }',
      '  traits: { plan: string }',
      'lifecycle:',
      '  core_action: core_task',
      'rfm:',
      '  event: purchase',
      '  value: amount',
      '  where: [{ property: currency, eq: usd }]',
      '',
    ].join('\n');
    await writeFile(path.join(ws, 'strata.yaml'), yaml);
    const events = users.flatMap((u) => u.events).map((e) => JSON.stringify({ user_id: e.user, event: e.event, timestamp: new Date(e.at).toISOString(), properties: e.props ?? {} }));
    await writeFile(path.join(root, 'events.jsonl'), events.join('\n') + '\n');
    await writeFile(path.join(root, 'profiles.jsonl'), users.filter((u) => u.plan !== null).map((u) => JSON.stringify({ user_id: u.id, plan: u.plan })).join('\n') + '\n');
    for (const s of SEGMENTS) await writeFile(path.join(ws, 'segments', `${s.key}.json`), JSON.stringify(s));
    for (const args of [
      ['ingest', 'events', '../events.jsonl'],
      ['ingest', 'profiles', '../profiles.jsonl'],
      ['segment', 'add'],
    ]) {
      const run = await cli(ws, ...args);
      expect(run.code, run.stderr).toBe(0);
    }
  }, 60_000);

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('prints warnings with their numbers and exits 0', async () => {
    const run = await cli(ws, 'segment', 'lint', '--as-of', asOf);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('! empty: nobody matches no one');
    expect(run.stdout).toContain('! everyone: everyone matches all');
    expect(run.stdout).toMatch(/! overlap: pro and pro-twin overlap: Jaccard 1\.000 >= 0\.8/);
    expect(run.stdout).toMatch(/! underpowered: team \(monetization\) is too small: \d+ members give \d+ per group/);
    expect(run.stdout).toContain('proportions: n = (z(1-a/2)*sqrt(2*pbar*(1-pbar))');
    expect(run.stdout).toContain('means:       n = 2*(z(1-a/2) + z(1-b))^2 * sigma^2 / delta^2');
  });

  it('--json lists the warnings with kind, segments and numbers, as the library does', async () => {
    const out = await cliJson<LintResult>(ws, 'segment', 'lint', '--as-of', asOf);
    expect(out.warnings.map((w) => w.kind)).toEqual(expect.arrayContaining(['empty', 'everyone', 'overlap', 'underpowered']));
    const team = out.warnings.find((w) => w.kind === 'underpowered' && w.segments[0] === 'team')!;
    expect(team.numbers).toMatchObject({ metric: 'revenuePerUser', alpha: 0.05, power: 0.8, mde: 0.1, size: members('team').length });
    // The core action and purchase event come from strata.yaml: nothing is skipped for want of them.
    expect(out.notes).toEqual([]);
    const regulars = out.segments.find((s) => s.key === 'regulars')!.power;
    expect(regulars.baseline!).toBeCloseTo(mean(members('regulars').map(METRIC.activation!)), 12);
  });

  it('--strict exits 1 with the warnings as the error details; keys, --mde and --overlap narrow it', async () => {
    const strict = await cli(ws, 'segment', 'lint', '--as-of', asOf, '--strict');
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('! empty: nobody');
    expect(strict.stderr).toMatch(/^strata: \d+ lint warnings \(--strict\)/);
    const json = await cli(ws, 'segment', 'lint', 'nobody', '--as-of', asOf, '--strict', '--json');
    expect(json.code).toBe(1);
    const error = JSON.parse(json.stdout) as { error: { code: string; details: { path: string; message: string }[] } };
    expect(error.error.code).toBe('LINT_WARNINGS');
    expect(error.error.details).toEqual([{ path: 'nobody', message: expect.stringMatching(/^empty: nobody matches no one/) }]);
    const narrow = ['segment', 'lint', 'pro', 'buyers', '--as-of', asOf, '--mde', '100%', '--overlap', '1'];
    const clean = await cli(ws, ...narrow, '--strict');
    expect(clean.code, clean.stdout).toBe(0);
    expect(clean.stdout).toContain('No warnings.');
    const checked = await cliJson<LintResult>(ws, ...narrow);
    expect(checked.segments.map((s) => [s.key, s.power.status, s.power.mde])).toEqual([
      ['pro', 'ok', 1],
      ['buyers', 'ok', 1],
    ]);
  });

  it('rejects bad options with exit 2', async () => {
    for (const args of [
      ['--alpha', '0'],
      ['--power', '1'],
      ['--mde', 'ten'],
      ['--overlap', '1.5'],
      ['--window', '0d'],
    ]) {
      const run = await cli(ws, 'segment', 'lint', ...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`^strata: ${args[0]}`));
    }
  });

  it('segment report shows engagement, conversion and revenue from the rfm settings', async () => {
    const report = await cliJson<{ behavior: { conversion: { members: { mean: number } }; revenue: unknown; window: string; notes: string[] } }>(
      ws,
      'segment',
      'report',
      'buyers',
      '--as-of',
      asOf,
      '--window',
      '14d',
    );
    const buyers = members('buyers');
    const fortnight = (u: User) => u.events.some((e) => e.event === 'purchase' && e.props?.currency === 'usd' && e.at >= AS_OF - 14 * MS.d);
    expect(report.behavior.window).toBe('14d');
    expect(report.behavior.conversion.members.mean).toBeCloseTo(buyers.filter(fortnight).length / buyers.length, 12);
    expect(report.behavior.revenue).not.toBeNull();
    expect(report.behavior.notes).toEqual([]);
    const human = await cli(ws, 'segment', 'report', 'buyers', '--as-of', asOf);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/did purchase in the last 28d +\d+\.\d%/);
    expect(human.stdout).toContain('days since the last event (users with one)');
    expect(human.stdout).toMatch(/revenue \(amount\) per converter in the last 28d/);
  });
});
