/**
 * `strata rfm` and `strata rfm segments` through the CLI on a DuckDB workspace: the human
 * table, --json, per-user rows as CSV and JSONL, the YAML definitions read back by
 * `segment add`, --add, and the errors a user can make. The numbers themselves are held to
 * numpy and pandas in rfm.test.ts; here the oracle is the library call on the same store.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RfmResult } from '../src/analysis/rfm/index.js';
import { formatCutPoint } from '../src/analysis/rfm/rfm-segments.js';
import { cli, cliJson } from './cli-helpers.js';
import { AS_OF, PLAN_YAML, RFM_YAML, oracleUsers, purchaseLog, toCsv, AS_OF_MS } from './rfm-fixtures.js';

const ROWS = purchaseLog(99, 70);
let root = '';
let ws = '';

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-rfm-cli-'));
  ws = path.join(root, 'ws');
  await mkdir(ws);
  await writeFile(path.join(ws, 'strata.yaml'), `version: 1\n${PLAN_YAML}${RFM_YAML}`);
  await writeFile(path.join(root, 'purchases.csv'), toCsv(ROWS));
  await cliJson(ws, 'ingest', 'events', '../purchases.csv', '--row-ids');
}, 60_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('strata rfm', () => {
  it('prints the summary, the named segments and the R x F grid', async () => {
    const run = await cli(ws, 'rfm', '--as-of', AS_OF);
    expect(run.code).toBe(0);
    const users = oracleUsers(ROWS, { asOfMs: AS_OF_MS }).length;
    expect(run.stdout).toContain(`RFM as of 2024-03-01T00:00:00.000Z: ${users} users with a purchase (event purchase; scores 1-5, linear quantiles)`);
    expect(run.stdout).toMatch(/MEASURE\s+UNIT\s+MEAN\s+MEDIAN\s+MIN\s+MAX\s+CUT POINTS/);
    expect(run.stdout).toMatch(/^recency\s+days\s/m);
    expect(run.stdout).toMatch(/SEGMENT\s+USERS\s+SHARE\s+RECENCY\s+FREQUENCY\s+MONETARY\s+CELLS/);
    expect(run.stdout).toMatch(/^Champions\s+\d+\s+[\d.]+%.*R5F4 R5F5$/m);
    expect(run.stdout).toMatch(/^R \\ F\s+F=1\s+F=2\s+F=3\s+F=4\s+F=5$/m);
  });

  it('prints JSON with the cut points, score counts, segments and grid', async () => {
    const r = await cliJson<RfmResult>(ws, 'rfm', '--as-of', AS_OF, '--scores', '4', '--method', 'higher', '--within', '90d');
    expect(r).toMatchObject({ asOf: '2024-03-01T00:00:00.000Z', event: 'purchase', within: '90d', segment: null, scores: 4, method: 'higher' });
    expect(r.users).toBe(oracleUsers(ROWS, { asOfMs: AS_OF_MS, withinMs: 90 * 86_400_000 }).length);
    expect(r.recency.cuts).toHaveLength(3);
    expect(r.grid).toHaveLength(4);
    expect(r.scoreCounts.r.reduce((a, b) => a + b, 0)).toBe(r.users);
    expect(r.segments.map((s) => s.name)).toEqual(['Champions', 'Loyal', 'Potential loyalists', 'New customers', 'Promising', 'At risk', 'Cannot lose them', 'Hibernating', 'Lost']);
  });

  it('writes one row per user as CSV or JSONL with --out', async () => {
    const json = await cliJson<RfmResult & { written: number }>(ws, 'rfm', '--as-of', AS_OF, '--out', 'users.csv');
    const csv = (await readFile(path.join(ws, 'users.csv'), 'utf8')).trimEnd().split('\n');
    expect(csv[0]).toBe('user_id,recency,frequency,monetary,r,f,m,segment');
    expect(csv).toHaveLength(json.users + 1);
    expect(json.written).toBe(json.users);
    // Ids holding quotes and commas are quoted as RFC 4180 says.
    expect(csv.some((l) => /^"user ""\d+"", quoted",/.test(l))).toBe(true);
    await cliJson(ws, 'rfm', '--as-of', AS_OF, '--out', 'users.jsonl', '--format', 'jsonl');
    const jsonl = (await readFile(path.join(ws, 'users.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { user_id: string; segment: string });
    expect(jsonl).toHaveLength(json.users);
    expect(Object.keys(jsonl[0]!)).toEqual(['user_id', 'recency', 'frequency', 'monetary', 'r', 'f', 'm', 'segment']);
    const perSegment = new Map<string, number>();
    for (const u of jsonl) perSegment.set(u.segment, (perSegment.get(u.segment) ?? 0) + 1);
    for (const s of json.segments) expect(perSegment.get(s.name) ?? 0).toBe(s.users);
  });

  it('fails with one line for bad options and a workspace without rfm:', async () => {
    const within = await cli(ws, 'rfm', '--within', 'ninety days');
    expect([within.code, within.stderr.trim()]).toEqual([2, 'strata: --within: expected a duration (a whole number and a unit m, h, d or w, such as 90d or 52w), got "ninety days"']);
    const scores = await cli(ws, 'rfm', '--scores', '3');
    expect(scores.code).toBe(2);
    expect(scores.stderr).toContain("argument '3' is invalid");
    const segment = await cli(ws, 'rfm', '--segment', 'nope', '--as-of', AS_OF);
    expect(segment.code).toBe(2);
    expect(segment.stderr).toContain('nope');
    const bare = path.join(root, 'bare');
    await mkdir(bare);
    await writeFile(path.join(bare, 'strata.yaml'), `version: 1\n${PLAN_YAML}`);
    const none = await cli(bare, 'rfm');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('strata.yaml has no rfm: section');
  });
});

describe('strata rfm segments', () => {
  it('prints YAML definitions that segment add reads, each as large as its cells', async () => {
    const run = await cli(ws, 'rfm', 'segments', '--as-of', AS_OF, '--prefix', 'yaml-');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^# RFM segments with cut points frozen as of 2024-03-01T00:00:00.000Z/);
    const definitions = parse(run.stdout) as { key: string; rationale: string }[];
    expect(definitions.length).toBeGreaterThan(5);
    expect(definitions.every((d) => d.key.startsWith('yaml-') && d.rationale.includes('as of 2024-03-01T00:00:00.000Z'))).toBe(true);
    await writeFile(path.join(root, 'rfm-segments.yaml'), run.stdout);
    const added = await cliJson<{ key: string; status: string }[]>(ws, 'segment', 'add', '../rfm-segments.yaml');
    expect(added.map((a) => a.status)).toEqual(definitions.map(() => 'created'));
    const table = await cliJson<RfmResult>(ws, 'rfm', '--as-of', AS_OF);
    const computed = await cliJson<{ key: string; size: number }[]>(ws, 'segment', 'compute', ...definitions.map((d) => d.key), '--as-of', AS_OF);
    for (const s of table.segments) {
      const key = `yaml-${s.name.toLowerCase().replaceAll(' ', '-')}`;
      const c = computed.find((x) => x.key === key);
      if (c) expect(c.size, key).toBe(s.users);
      else expect(s.users, key).toBe(0);
    }
  });

  it('rounds the cut points in the YAML header only; --json keeps them exact', async () => {
    // Oracle: the decimal each float stands for (interpolation leaves float noise behind).
    expect([56.60000000000002, 171, 1 / 3, 1.4000000000000001, 2.5e-7].map(formatCutPoint)).toEqual(['56.6', '171', '0.333333', '1.4', '2.5e-7']);
    const args = ['rfm', 'segments', '--as-of', AS_OF, '--within', '30d', '--method', 'linear'];
    const { cuts } = await cliJson<{ cuts: { recency: number[]; frequency: number[] } }>(ws, ...args);
    const header = (await cli(ws, ...args)).stdout.split('\n')[1];
    expect(header).toBe(`# recency (days) cut points: ${cuts.recency.map(formatCutPoint).join(', ')}; frequency cut points: ${cuts.frequency.map(formatCutPoint).join(', ')}`);
  });

  it('stores them with --add, unchanged when added again', async () => {
    const first = await cliJson<{ added: { key: string; status: string }[]; segments: { users: number }[] }>(ws, 'rfm', 'segments', '--as-of', AS_OF, '--add');
    expect(first.added.every((a) => a.status === 'created' && a.key.startsWith('rfm-'))).toBe(true);
    const again = await cli(ws, 'rfm', 'segments', '--as-of', AS_OF, '--add');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^RFM segments frozen as of 2024-03-01T00:00:00.000Z:/);
    expect(again.stdout).toMatch(/rfm-champions\s+Champions\s+\d+\s+unchanged v1/);
    const badPrefix = await cli(ws, 'rfm', 'segments', '--as-of', AS_OF, '--prefix', 'RFM_');
    expect(badPrefix.code).toBe(2);
    expect(badPrefix.stderr).toContain('--prefix "RFM_"');
  });
});
