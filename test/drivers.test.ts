/**
 * `discover drivers` on a DuckDB workspace (test/drivers-fixtures.ts: invite_sent planted to
 * double conversion, three null behaviours). Oracles:
 * - the 2x2 tables and per-user revenue against a brute-force count over the same rows
 *   (referenceCounts), for conversion and retention;
 * - every p-value against scipy 1.10 in /usr/bin/python3: chi2_contingency(correction=False)
 *   or fisher_exact on the exported tables, ttest_ind(equal_var=False) on the per-user
 *   revenue; the lift interval against scipy.stats.contingency.relative_risk (Katz);
 * - BH q-values against the Benjamini & Hochberg (1995) adjustment as R's p.adjust computes
 *   it (checked on the paper's example in src/experiments/stats) recomputed here from the
 *   p-values, and intervals at the FCR level alpha R / m;
 * - the planted behaviour found significant at every threshold it splits, the nulls mostly not;
 * - the CLI: --json equals the library call, the human tables, --help under 80 columns, errors.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benjaminiHochbergAdjust } from '../src/experiments/stats/multiple.js';
import { discoverDrivers, driverCounts, type DriversResult } from '../src/models/discover/drivers-index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import type { EventStore } from '../src/store/event-store.js';
import { PassThrough } from 'node:stream';
import { cli, cliJson, cliWith } from './cli-helpers.js';
import { AS_OF, AS_OF_MS, NULL_EVENTS, PLANTED, PLAN_YAML, driversEvents, driversPlan, referenceCounts } from './drivers-fixtures.js';
import { loadIntoStore, seedDataset } from './support/load-duckdb.js';

const PYTHON = '/usr/bin/python3';
const hasScipy = existsSync(PYTHON) && (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import scipy.stats.contingency'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const EVENTS = driversEvents(3000, 7);
const PLAN = driversPlan();
const PURCHASE = { event: 'purchase', value: 'amount', quantity: null, where: [] } as const;
const CANDIDATES = ['signup', 'invite_sent', 'report_viewed', 'project_created', 'help_viewed', 'purchase'];
const THRESHOLDS = [1, 2, 3, 5, 10];
let store: EventStore;
let conversion: DriversResult;
let retention: DriversResult;

beforeAll(async () => {
  store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  await store.applyPlan(PLAN);
  await loadIntoStore(store, PLAN, seedDataset({ events: EVENTS }));
  conversion = await discoverDrivers(store, PLAN, { outcome: { kind: 'conversion', event: 'upgrade' }, asOfMs: AS_OF_MS, purchase: PURCHASE });
  retention = await discoverDrivers(store, PLAN, { outcome: { kind: 'retention' }, asOfMs: AS_OF_MS });
}, 60_000);

afterAll(async () => {
  await store?.close();
});

function python(script: string, input: unknown): unknown {
  const out = execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 64 << 20 });
  return JSON.parse(out);
}

describe('discoverDrivers: tables against a brute-force count', () => {
  it('counts the cohort, the early converters and every 2x2 table of a conversion outcome', () => {
    const ref = referenceCounts(EVENTS, 'upgrade', CANDIDATES, THRESHOLDS);
    expect(conversion.users).toBe(ref.users);
    expect(conversion.alreadyConverted).toBe(ref.alreadyConverted);
    expect(conversion.alreadyConverted).toBeGreaterThan(0);
    expect(conversion.candidates.length).toBeGreaterThan(8);
    for (const c of conversion.candidates) {
      const t = ref.tables.find((x) => x.event === c.event && x.atLeast === c.atLeast)!;
      expect(c.table, `${c.event} >= ${c.atLeast}`).toEqual({ a: t.a, b: t.b, c: t.c, d: t.d });
    }
    // Every tested or skipped pair is accounted for; the outcome and $exposure are never candidates.
    expect(conversion.candidates.length + conversion.skipped.length).toBe(CANDIDATES.length * THRESHOLDS.length);
    expect([...conversion.candidates, ...conversion.skipped].some((c) => c.event === 'upgrade' || c.event === '$exposure')).toBe(false);
    expect(conversion.skipped).toContainEqual({ event: 'signup', atLeast: 1, reason: 'too-few-without' });
  });

  it('counts a retention outcome (any event but $exposure) with nobody left out', () => {
    const ref = referenceCounts(EVENTS, null, [...CANDIDATES, 'upgrade'], THRESHOLDS);
    expect(retention.alreadyConverted).toBe(0);
    expect(retention.analysed).toBe(ref.users);
    expect(retention.candidates.some((c) => c.event === 'upgrade')).toBe(true);
    for (const c of retention.candidates) {
      const t = ref.tables.find((x) => x.event === c.event && x.atLeast === c.atLeast)!;
      expect(c.table).toEqual({ a: t.a, b: t.b, c: t.c, d: t.d });
    }
  });

  it('finds the planted behaviour and mostly not the nulls', () => {
    const planted = conversion.candidates.filter((c) => c.event === PLANTED);
    expect(planted.length).toBeGreaterThanOrEqual(3);
    for (const c of planted) expect(c.significant, `${c.event} >= ${c.atLeast}`).toBe(true);
    const top = conversion.candidates[0]!;
    expect(top.event).toBe(PLANTED);
    expect(top.lift!).toBeGreaterThan(1.6);
    expect(top.liftCi![0]).toBeGreaterThan(1);
    const nulls = conversion.candidates.filter((c) => (NULL_EVENTS as readonly string[]).includes(c.event));
    expect(nulls.length).toBeGreaterThanOrEqual(9);
    expect(nulls.filter((c) => c.significant).length).toBeLessThanOrEqual(2);
    // Revenue follows conversion: invite_sent users bring more per user.
    const rev = conversion.revenue!.candidates.find((c) => c.event === PLANTED && c.atLeast === 1)!;
    expect(rev.significant).toBe(true);
    expect(rev.ratio!).toBeGreaterThan(1.3);
  });

  it('refuses an unknown outcome event and revenue without a value', async () => {
    await expect(discoverDrivers(store, PLAN, { outcome: { kind: 'conversion', event: 'upgrad' }, asOfMs: AS_OF_MS })).rejects.toThrow(/did you mean "upgrade"/);
    await expect(discoverDrivers(store, PLAN, { outcome: { kind: 'retention' }, asOfMs: AS_OF_MS, purchase: { ...PURCHASE, value: null } })).rejects.toThrow(/with a value/);
  });

  it('gives the same sums when the candidate events are split over several queries', async () => {
    const scope = {
      asOfMs: AS_OF_MS, earlyMs: 14 * 86_400_000, withinMs: 28 * 86_400_000, cohortFromMs: null, cohortToMs: null, memberSnapshotId: null,
      outcomeEvent: 'upgrade', events: CANDIDATES, thresholds: THRESHOLDS, purchase: PURCHASE,
    };
    const sums = (rows: Record<string, unknown>[]) => {
      const out: Record<string, number> = {};
      for (const row of rows) for (const [k, v] of Object.entries(row)) if (k !== 'early' && k !== 'outcome') out[`${String(row.early)}:${String(row.outcome)}:${k}`] = (out[`${String(row.early)}:${String(row.outcome)}:${k}`] ?? 0) + Number(v);
      return out;
    };
    const whole = sums(await driverCounts(store, scope));
    const split = sums(await driverCounts(store, scope, 4));
    expect(Object.keys(split).sort()).toEqual(Object.keys(whole).sort());
    for (const [k, v] of Object.entries(whole)) expect(split[k], k).toBeCloseTo(v, 6);
  });

  it('reports an empty cohort instead of failing', async () => {
    const r = await discoverDrivers(store, PLAN, { outcome: { kind: 'retention' }, asOfMs: AS_OF_MS - 200 * 86_400_000 });
    expect(r.users).toBe(0);
    expect(r.candidates).toEqual([]);
    expect(r.reason).toMatch(/no users in the cohort/);
  });
});

describe.skipIf(!hasScipy)('discoverDrivers: statistics against scipy 1.10', () => {
  it('p-values: chi2_contingency(correction=False) or fisher_exact; lift: relative_risk (Katz)', () => {
    const tables = conversion.candidates.map((c) => ({ ...c.table, fisher: c.test === 'fisher' }));
    const level = conversion.intervalLevel;
    const out = python(
      `import json, sys
from scipy.stats import chi2_contingency, fisher_exact
from scipy.stats.contingency import relative_risk
level = ${level}
res = []
for t in json.load(sys.stdin):
    table = [[t['a'], t['b']], [t['c'], t['d']]]
    p = fisher_exact(table)[1] if t['fisher'] else chi2_contingency(table, correction=False)[1]
    rr = relative_risk(t['a'], t['a'] + t['b'], t['c'], t['c'] + t['d'])
    ci = rr.confidence_interval(level)
    res.append([p, rr.relative_risk, ci.low, ci.high])
print(json.dumps(res))`,
      tables,
    ) as number[][];
    conversion.candidates.forEach((c, i) => {
      const [p, rr, lo, hi] = out[i]!;
      expect(c.pValue).toBeCloseTo(p!, 12);
      expect(Math.abs(c.pValue - p!) / p!).toBeLessThan(1e-8);
      expect(c.lift!).toBeCloseTo(rr!, 12);
      expect(c.liftCi![0]).toBeCloseTo(lo!, 10);
      expect(c.liftCi![1]).toBeCloseTo(hi!, 10);
    });
  });

  it('q-values are the BH adjustment of the p-values; intervals at alpha R / m', () => {
    const p = conversion.candidates.map((c) => c.pValue);
    const q = benjaminiHochbergAdjust(p);
    conversion.candidates.forEach((c, i) => expect(c.qValue).toBe(q[i]));
    const m = p.length;
    const r = conversion.significant;
    expect(conversion.intervalLevel).toBeCloseTo(1 - (0.05 * Math.max(r, 1)) / m, 14);
  });

  it('revenue: ttest_ind(equal_var=False) on the per-user values', () => {
    const ref = referenceCounts(EVENTS, 'upgrade', CANDIDATES, THRESHOLDS);
    const rev = conversion.revenue!;
    const samples = rev.candidates.map((c) => {
      const t = ref.tables.find((x) => x.event === c.event && x.atLeast === c.atLeast)!;
      return [t.revenueWith, t.revenueWithout];
    });
    const out = python(
      `import json, sys
import numpy as np
from scipy import stats
from scipy.stats import t as tdist
level = ${rev.intervalLevel}
res = []
for a, b in json.load(sys.stdin):
    a, b = np.array(a), np.array(b)
    r = stats.ttest_ind(a, b, equal_var=False)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = tdist.ppf(1 - (1 - level) / 2, df) * np.sqrt(va + vb)
    d = a.mean() - b.mean()
    res.append([r.pvalue, r.statistic, a.mean(), b.mean(), d - half, d + half, int((a > 0).sum()), int((b > 0).sum())])
print(json.dumps(res))`,
      samples,
    ) as number[][];
    rev.candidates.forEach((c, i) => {
      const [p, t, ma, mb, lo, hi, pa, pb] = out[i]!;
      expect(Math.abs(c.pValue - p!) / p!).toBeLessThan(1e-6);
      expect(c.t!).toBeCloseTo(t!, 8);
      expect(c.with.mean).toBeCloseTo(ma!, 9);
      expect(c.without.mean).toBeCloseTo(mb!, 9);
      expect(c.differenceCi![0]).toBeCloseTo(lo!, 7);
      expect(c.differenceCi![1]).toBeCloseTo(hi!, 7);
      expect([c.with.payers, c.without.payers]).toEqual([pa, pb]);
    });
    const q = benjaminiHochbergAdjust(rev.candidates.map((c) => c.pValue));
    rev.candidates.forEach((c, i) => expect(c.qValue).toBe(q[i]));
  });
});

describe('strata discover drivers', () => {
  let root = '';
  let ws = '';
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'strata-drivers-cli-'));
    ws = path.join(root, 'ws');
    await mkdir(ws);
    await writeFile(path.join(ws, 'strata.yaml'), `version: 1\n${PLAN_YAML}`);
    const lines = EVENTS.slice(0, 6000).map((e, i) =>
      JSON.stringify({ event_id: `e${i}`, user_id: e.user, event: e.event, timestamp: new Date(e.at).toISOString(), properties: e.props ?? {} }),
    );
    await writeFile(path.join(root, 'events.jsonl'), `${lines.join('\n')}\n`);
    await cliJson(ws, 'ingest', 'events', '../events.jsonl');
  }, 60_000);
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('--json gives the library result for the same rows', async () => {
    const r = await cliJson<DriversResult & { asOf: string; first: string; within: string; segment: string | null }>(
      ws, 'discover', 'drivers', '--outcome', 'upgrade', '--as-of', AS_OF, '--revenue', '--min-users', '20',
    );
    const local = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    try {
      await local.applyPlan(PLAN);
      await loadIntoStore(local, PLAN, seedDataset({ events: EVENTS.slice(0, 6000) }));
      const lib = await discoverDrivers(local, PLAN, { outcome: { kind: 'conversion', event: 'upgrade' }, asOfMs: AS_OF_MS, minUsers: 20, purchase: PURCHASE });
      expect(r).toMatchObject({ asOf: AS_OF, first: '14d', within: '28d', segment: null, users: lib.users, analysed: lib.analysed });
      expect(r.candidates.map((c) => [c.event, c.atLeast, c.table, c.qValue])).toEqual(lib.candidates.map((c) => [c.event, c.atLeast, c.table, c.qValue]));
      // Revenue sums are doubles added in the engine's order: equal to about 1e-12.
      r.revenue!.candidates.forEach((c, i) => expect(Math.abs(c.pValue - lib.revenue!.candidates[i]!.pValue) / c.pValue).toBeLessThan(1e-9));
    } finally {
      await local.close();
    }
  });

  it('prints the tables and says these are associations', async () => {
    const run = await cli(ws, 'discover', 'drivers', '--outcome', 'upgrade', '--as-of', AS_OF, '--revenue', '--min-users', '20', '--top', '3');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Outcome:\s+upgrade in the 28d after the first 14d$/m);
    expect(run.stdout).toMatch(/BEHAVIOUR\s+USERS\s+RATE\s+W\/O\s+LIFT \[CI\]\s+PP\s+PHI \[CI\]\s+Q/);
    expect(run.stdout).toMatch(/^invite_sent >= 1\s/m);
    expect(run.stdout).toMatch(/Revenue per user in the outcome window \(purchase, value amount\)/);
    expect(run.stdout).toContain('Associations, not causes');
    expect(run.stdout).toMatch(/more in --json/);
  });

  it('restricts to a segment, draws a progress bar on a terminal and none with --json', async () => {
    await writeFile(
      path.join(root, 'helpers.yaml'),
      'key: helpers\nname: Read help\nobjective: other\nrationale: a restriction for drivers\nowner: growth\nmatch: { did: help_viewed }\n',
    );
    await cliJson(ws, 'segment', 'add', '../helpers.yaml');
    const all = await cliJson<DriversResult & { segment: string | null }>(ws, 'discover', 'drivers', '--outcome', 'upgrade', '--as-of', AS_OF, '--min-users', '20');
    const some = await cliJson<DriversResult & { segment: string | null }>(ws, 'discover', 'drivers', '--outcome', 'upgrade', '--as-of', AS_OF, '--min-users', '20', '--segment', 'helpers');
    const helpers = new Set(EVENTS.slice(0, 6000).filter((e) => e.event === 'help_viewed' && e.at < AS_OF_MS).map((e) => e.user));
    const cohort = referenceCounts(EVENTS.slice(0, 6000).filter((e) => helpers.has(e.user)), 'upgrade', [], []);
    expect(some.segment).toBe('helpers');
    expect(some.users).toBe(cohort.users);
    expect(some.users).toBeLessThan(all.users);
    const tty = new PassThrough();
    const chunks: Buffer[] = [];
    tty.on('data', (c: Buffer) => chunks.push(c));
    expect((await cliWith({ cwd: ws, progressStream: tty }, 'discover', 'drivers', '--outcome', 'upgrade', '--as-of', AS_OF)).code).toBe(0);
    expect(Buffer.concat(chunks).toString('utf8')).toContain('counting');
    const quiet = new PassThrough();
    const none: Buffer[] = [];
    quiet.on('data', (c: Buffer) => none.push(c));
    expect((await cliWith({ cwd: ws, progressStream: quiet }, 'discover', 'drivers', '--outcome', 'upgrade', '--as-of', AS_OF, '--json')).code).toBe(0);
    expect(none).toEqual([]);
  });

  it('keeps --help under 80 columns and reports bad options', async () => {
    const help = await cli(ws, 'discover', 'drivers', '--help');
    expect(help.code).toBe(0);
    for (const line of help.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    const bad = await cli(ws, 'discover', 'drivers', '--outcome', 'upgrade', '--thresholds', '1,x');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--thresholds: expected positive integers/);
    const unknown = await cli(ws, 'discover', 'drivers', '--outcome', 'upgrde');
    expect(unknown.stderr).toMatch(/did you mean "upgrade"/);
    const retention = await cliJson<DriversResult>(ws, 'discover', 'drivers', '--outcome', 'retention', '--as-of', AS_OF, '--first', '7d', '--within', '21d', '--events', 'invite_sent, help_viewed');
    expect(new Set(retention.candidates.map((c) => c.event))).toEqual(new Set(['invite_sent', 'help_viewed']));
    const noEvent = await cli(ws, 'discover', 'drivers', '--outcome', 'retention', '--events', 'invite');
    expect(noEvent.stderr).toMatch(/events: "invite" is not an event of the tracking plan: events: one of "signup", "invite_sent"/);
    expect(retention).toMatchObject({ outcome: { kind: 'retention' }, earlyMs: 7 * 86_400_000, withinMs: 21 * 86_400_000, alreadyConverted: 0 });
  });
});
