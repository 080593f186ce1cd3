/**
 * `strata audit fairness` on a workspace with planted selection rates (DuckDB file store,
 * through the CLI). Oracle: hand computation from the planted counts: 3,000 users in three
 * age bands of 1,000 and 200 without the trait; `promo_clicked` by 30% of the young band
 * and 10% of the others (a segment selecting one band 3x as often: flagged, ratio 1/3);
 * `doc_read` by every other user in every band (unbiased: ratio 1, not flagged). Holm and
 * Benjamini-Hochberg adjusted p-values are recomputed by hand from the raw p-values.
 * Also: storage in fairness_audits and the audit log, --strict's exit status, --targeting
 * (purpose marketing/personalization only), errors, and one scheduled refresh cycle with
 * --audit-fairness.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, openStore } from '../src/config/index.js';
import { listFairnessAudits, MISSING_GROUP, type FairnessAuditResult } from '../src/governance/fairness/index.js';
import { readAuditLog } from '../src/governance/audit-log.js';
import { createSnapshotScheduler, type ComputeResult } from '../src/segments/registry/index.js';
import { cli, cliJson } from './cli-helpers.js';

const AS_OF = '2025-02-01';
const BANDS = ['young', 'middle', 'older'] as const;

const PLAN_YAML = `plan:
  events:
    page_viewed: {}
    promo_clicked: {}
    doc_read: {}
    $consent: {properties: {purpose: string, granted: boolean, source: string}}
  traits:
    plan: string
    age_band: {type: string, sensitive: true}
`;

function segmentYaml(key: string, event: string, purpose: string | null): string {
  return [
    `key: ${key}`,
    `name: ${key} audience`,
    'objective: engagement',
    ...(purpose ? [`purpose: ${purpose}`] : []),
    `rationale: Users who did ${event}, planted for the fairness audit test with known rates per age band.`,
    'owner: fairness-tests',
    `match: {did: ${event}}`,
    '',
  ].join('\n');
}

/** user i: band by thousands (3000..3199: no band); promo: 30% of young, 10% of the rest; doc_read: even i. */
function plantedData(): { events: string; profiles: string } {
  const events: string[] = [];
  const profiles: string[] = [];
  const at = (day: number) => new Date(Date.UTC(2025, 0, day, 12)).toISOString();
  for (let i = 0; i < 3200; i++) {
    const user = `u${String(i).padStart(4, '0')}`;
    const band = i < 3000 ? BANDS[Math.floor(i / 1000)]! : null;
    profiles.push(JSON.stringify({ user_id: user, traits: { plan: i % 3 === 0 ? 'pro' : 'free', ...(band ? { age_band: band } : {}) } }));
    events.push(JSON.stringify({ user_id: user, event: 'page_viewed', timestamp: at(5) }));
    for (const purpose of ['marketing', 'personalization']) {
      events.push(JSON.stringify({ user_id: user, event: '$consent', timestamp: at(4), properties: { purpose, granted: true, source: 'test' } }));
    }
    const promoShare = band === 'young' ? 3 : band === null ? 2 : 1;
    if (i % 10 < promoShare) events.push(JSON.stringify({ user_id: user, event: 'promo_clicked', timestamp: at(10) }));
    if (i % 2 === 0) events.push(JSON.stringify({ user_id: user, event: 'doc_read', timestamp: at(12) }));
  }
  return { events: `${events.join('\n')}\n`, profiles: `${profiles.join('\n')}\n` };
}

function holm(p: readonly number[]): number[] {
  const m = p.length;
  const order = p.map((_, i) => i).sort((a, b) => p[a]! - p[b]!);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach((idx, k) => {
    running = Math.max(running, Math.min(1, (m - k) * p[idx]!));
    out[idx] = running;
  });
  return out;
}

function bh(p: readonly number[]): number[] {
  const m = p.length;
  const order = p.map((_, i) => i).sort((a, b) => p[a]! - p[b]!);
  const out = new Array<number>(m);
  let running = 1;
  for (let k = m - 1; k >= 0; k--) {
    running = Math.min(running, (m * p[order[k]!]!) / (k + 1));
    out[order[k]!] = running;
  }
  return out;
}

const allTests = (r: FairnessAuditResult) => r.subjects.flatMap((s) => s.attributes.flatMap((a) => a.pairwise));

describe('strata audit fairness', () => {
  let root = '';
  let ws = '';
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'strata-fairness-'));
    ws = path.join(root, 'ws');
    await mkdir(ws);
    await writeFile(path.join(ws, 'strata.yaml'), `version: 1\n${PLAN_YAML}`);
    const data = plantedData();
    await writeFile(path.join(root, 'events.jsonl'), data.events);
    await writeFile(path.join(root, 'profiles.jsonl'), data.profiles);
    await cliJson(ws, 'ingest', 'profiles', '../profiles.jsonl');
    await cliJson(ws, 'ingest', 'events', '../events.jsonl');
    await mkdir(path.join(root, 'defs'));
    await writeFile(path.join(root, 'defs', 'promo-campaign.yaml'), segmentYaml('promo-campaign', 'promo_clicked', 'marketing'));
    await writeFile(path.join(root, 'defs', 'readers-tour.yaml'), segmentYaml('readers-tour', 'doc_read', 'personalization'));
    await writeFile(path.join(root, 'defs', 'promo-analytics.yaml'), segmentYaml('promo-analytics', 'promo_clicked', null));
    await cliJson(ws, 'segment', 'add', '../defs');
  }, 120_000);
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('audits the targeting segments: the planted 3x bias is flagged with ratio 1/3, the unbiased one is not', async () => {
    const r = await cliJson<FairnessAuditResult>(ws, 'audit', 'fairness', '--targeting', '--as-of', AS_OF, '--actor', 'auditor');
    expect(r.subjects.map((s) => s.key)).toEqual(['promo-campaign', 'readers-tour']);
    expect(r.flagged).toEqual(['segment:promo-campaign']);
    const promo = r.subjects[0]!;
    if (promo.kind !== 'segment') throw new Error('expected a segment');
    expect(promo.header).toMatchObject({ purpose: 'marketing', owner: 'fairness-tests', objective: 'engagement', size: 540, population: 3200 });
    const age = promo.attributes[0]!;
    expect(age.attribute).toBe('age_band');
    // Groups in byte order, "(missing)" last: population and selected are the planted counts.
    expect(age.groups.map((g) => [g.group, g.population, g.selected, g.compared])).toEqual([
      ['middle', 1000, 100, true],
      ['older', 1000, 100, true],
      ['young', 1000, 300, true],
      [MISSING_GROUP, 200, 40, false],
    ]);
    expect(age.highest).toBe('young');
    // Ties for the lowest rate (middle, older: 0.1) go to the larger group, then the name: the last in that order.
    expect(age.lowest).toBe('older');
    expect(age.ratio!.value).toBeCloseTo(1 / 3, 14);
    expect(age.difference!.value).toBeCloseTo(0.2, 14);
    expect(age.flagged).toBe(true);
    expect(age.significant).toBe(true);

    const readers = r.subjects[1]!;
    const ra = readers.attributes[0]!;
    expect(ra.groups.map((g) => [g.group, g.population, g.selected])).toEqual([
      ['middle', 1000, 500],
      ['older', 1000, 500],
      ['young', 1000, 500],
      [MISSING_GROUP, 200, 100],
    ]);
    expect(ra.ratio!.value).toBe(1);
    expect([readers.flagged, ra.flagged, ra.significant]).toEqual([false, false, false]);

    // One family across both segments: 2 + 2 tests, Holm by hand.
    const tests = allTests(r);
    expect(r.tests).toBe(4);
    const expected = holm(tests.map((t) => t.pValue));
    tests.forEach((t, i) => expect(t.adjustedP).toBeCloseTo(expected[i]!, 14));
  });

  it('corrects by Benjamini-Hochberg on request and audits a named analytics segment', async () => {
    const r = await cliJson<FairnessAuditResult>(ws, 'audit', 'fairness', 'promo-analytics', 'readers-tour', '--as-of', AS_OF, '--correction', 'bh', '--no-store');
    expect(r.correction).toBe('benjamini-hochberg');
    expect(r.subjects.map((s) => [s.key, s.flagged, s.auditId])).toEqual([
      ['promo-analytics', true, null],
      ['readers-tour', false, null],
    ]);
    const tests = allTests(r);
    const expected = bh(tests.map((t) => t.pValue));
    tests.forEach((t, i) => expect(t.adjustedP).toBeCloseTo(expected[i]!, 14));
  });

  it('stores each report and records it in the audit log', async () => {
    const config = await loadConfig({ cwd: ws, workspace: ws });
    const store = await openStore(config);
    try {
      const stored = await listFairnessAudits(store);
      const first = stored.filter((a) => a.auditId <= 2);
      expect(first.map((a) => [a.auditId, a.subjectKind, a.subject, a.flagged, a.asOf])).toEqual([
        [1, 'segment', 'promo-campaign', true, '2025-02-01T00:00:00.000Z'],
        [2, 'segment', 'readers-tour', false, '2025-02-01T00:00:00.000Z'],
      ]);
      expect((first[0]!.body as { attributes: { ratio: { value: number } }[] }).attributes[0]!.ratio.value).toBeCloseTo(1 / 3, 14);
      const log = await readAuditLog(store, { action: 'fairness.audit' });
      expect(log.slice(0, 2).map((l) => [l.actor, l.target, (l.detail as { auditId: number; flagged: boolean }).auditId, (l.detail as { flagged: boolean }).flagged])).toEqual([
        ['auditor', 'segment:promo-campaign', 1, true],
        ['auditor', 'segment:readers-tour', 2, false],
      ]);
    } finally {
      await store.close();
    }
  });

  it('lists the stored audits with --history', async () => {
    const all = await cliJson<{ auditId: number; subject: string; flagged: boolean }[]>(ws, 'audit', 'fairness', '--history');
    expect(all.slice(0, 2).map((a) => [a.auditId, a.subject, a.flagged])).toEqual([
      [1, 'promo-campaign', true],
      [2, 'readers-tour', false],
    ]);
    const one = await cli(ws, 'audit', 'fairness', '--history', 'segment:readers-tour');
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^ +2 +\S+ +2025-02-01T00:00:00\.000Z +segment:readers-tour +no +age_band 1\.00$/m);
    expect(one.stdout).not.toContain('promo-campaign');
  });

  it('prints the header and the flag; --strict exits with FAIRNESS_FLAGGED only when something is flagged', async () => {
    const run = await cli(ws, 'audit', 'fairness', 'promo-campaign', '--as-of', AS_OF, '--no-store', '--strict');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('segment promo-campaign: promo-campaign audience (version 1, purpose marketing)  FLAGGED');
    expect(run.stdout).toContain('objective engagement; owner fairness-tests');
    expect(run.stdout).toMatch(/age_band: disparate impact 0\.33 \[0\.\d+, 0\.\d+\] \(older vs young\) FLAGGED, significant \(Holm\)/);
    // Exit status 1 is FAIRNESS_FLAGGED's (src/errors/errors.ts).
    expect(run.stderr).toContain('the fairness audit flagged segment:promo-campaign');
    const fine = await cli(ws, 'audit', 'fairness', 'readers-tour', '--as-of', AS_OF, '--no-store', '--strict');
    expect(fine.code, fine.stderr).toBe(0);
  });

  it('refuses non-sensitive attributes, unknown subjects and an empty request', async () => {
    const plan = await cli(ws, 'audit', 'fairness', 'readers-tour', '--attribute', 'plan', '--as-of', AS_OF);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain('--attribute plan: the trait is not flagged sensitive');
    const unknown = await cli(ws, 'audit', 'fairness', 'nope', '--as-of', AS_OF);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('nope: no stored segment or churn/propensity model has that name');
    const none = await cli(ws, 'audit', 'fairness');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('nothing to audit');
  });

  it('runs the audit of the targeting segments after a scheduled refresh (--audit-fairness)', async () => {
    const before = await listAll();
    const run = await cli(ws, 'segment', 'compute', '--every', '1d', '--count', '1', '--catch-up', '--audit-fairness', '--json');
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; asOf: string; flagged?: string[] });
    expect(lines.map((l) => l.type)).toEqual(['refresh', 'fairness']);
    expect(lines[1]!.flagged).toEqual(['segment:promo-campaign']);
    // The tick is a UTC midnight; the audits stored for it are as of the tick.
    const after = (await listAll()).slice(before.length);
    expect(after.map((a) => [a.subject, a.flagged, a.asOf])).toEqual([
      ['promo-campaign', true, lines[0]!.asOf],
      ['readers-tour', false, lines[0]!.asOf],
    ]);
    const human = await cli(ws, 'segment', 'compute', '--every', '1d', '--count', '1', '--catch-up', '--audit-fairness');
    expect(human.stdout).toMatch(/fairness audit of 2 targeting segments: flagged promo-campaign \(age_band 0\.33\)/);
  });

  async function listAll() {
    const config = await loadConfig({ cwd: ws, workspace: ws });
    const store = await openStore(config);
    try {
      return await listFairnessAudits(store);
    } finally {
      await store.close();
    }
  }
});

describe('the scheduler hook the scheduled audit runs on', () => {
  const result = (asOfMs: number): ComputeResult[] => [{ key: 'k', version: 1, asOf: new Date(asOfMs).toISOString(), size: 1, population: 2, snapshotId: 1 } as ComputeResult];
  const timers = { setTimeout: () => 0, clearTimeout: () => undefined };

  it('runs afterRefresh after the snapshots, as of the tick, and reports its result with the refresh', async () => {
    const calls: string[] = [];
    const scheduler = createSnapshotScheduler({
      everyMs: 1000,
      now: () => 5_500,
      timers,
      registry: { compute: async (_k, o) => (calls.push(`compute ${o.asOfMs}`), result(o.asOfMs)) },
      afterRefresh: async (r) => (calls.push(`audit ${r.tickMs} after ${r.results.length}`), { audited: r.tickMs }),
    });
    const outcome = await scheduler.runOnce();
    expect(calls).toEqual(['compute 5000', 'audit 5000 after 1']);
    expect(outcome.status === 'refreshed' && outcome.refresh.after).toEqual({ audited: 5000 });
  });

  it('reports a failing audit as the refresh failing', async () => {
    const errors: unknown[] = [];
    const scheduler = createSnapshotScheduler({
      everyMs: 1000,
      now: () => 5_500,
      timers,
      registry: { compute: async (_k, o) => result(o.asOfMs) },
      afterRefresh: async () => {
        throw new Error('audit failed');
      },
      onError: (e) => errors.push(e),
    });
    const outcome = await scheduler.runOnce();
    expect(outcome.status).toBe('failed');
    expect(errors.map((e) => (e as Error).message)).toEqual(['audit failed']);
  });
});
