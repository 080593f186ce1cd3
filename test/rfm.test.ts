/**
 * RFM on DuckDB against independent references: per-user measures computed directly from
 * the rows (rfm-fixtures.ts), cut points from numpy.quantile with the configured method,
 * and scores from pandas.qcut (numpy.searchsorted where pandas refuses tied edges). Cases
 * are drawn by fast-check: seeded purchase logs, asOf, window, levels and method. The
 * ready-made segments are held to the table: at its asOf each generated segment's members
 * are exactly the users in its cells.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  QUANTILE_METHODS,
  computeRfm,
  rfmSegmentDefinitions,
  rfmUserRows,
  type QuantileMethod,
  type RfmConfig,
  type RfmOptions,
  type RfmResult,
  type RfmUserRow,
} from '../src/analysis/rfm/index.js';
import { createConfig, type Config } from '../src/config/index.js';
import { ingestFiles } from '../src/ingest/index.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { AS_OF_MS, DAY, PLAN_YAML, RFM_YAML, oracleUsers, purchaseLog, pythonAvailable, reference, toCsv, type OracleUser, type PurchaseRow, type ReferenceRequest } from './rfm-fixtures.js';

const hasPython = pythonAvailable();
const SEEDS = [11, 23, 57];

interface Workspace {
  readonly rows: PurchaseRow[];
  readonly store: DuckDbStore;
  readonly config: Config;
  readonly registry: SegmentRegistry;
}

let dir = '';
const spaces: Workspace[] = [];

function configFor(yaml: string): Config {
  return createConfig({ workspaceDir: dir, document: parse(`version: 1\n${PLAN_YAML}${yaml}`) });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strata-rfm-'));
  for (const seed of SEEDS) {
    const rows = purchaseLog(seed, 90);
    const file = path.join(dir, `purchases-${seed}.csv`);
    await writeFile(file, toCsv(rows));
    const store = await DuckDbStore.open({ path: path.join(dir, `store-${seed}.duckdb`), threads: 2 });
    const config = configFor(RFM_YAML);
    await ingestFiles(store, { kind: 'events', files: [file], plan: config.plan, rejectsPath: path.join(dir, 'rejects.jsonl'), mapping: { rowIds: true } });
    spaces.push({ rows, store, config, registry: new SegmentRegistry(store, config.plan) });
  }
}, 60_000);

afterAll(async () => {
  for (const s of spaces) await s.store.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Case {
  readonly space: number;
  readonly asOfDaysBack: number;
  readonly withinDays: number | null;
  readonly levels: 4 | 5;
  readonly method: QuantileMethod;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  space: fc.integer({ min: 0, max: SEEDS.length - 1 }),
  asOfDaysBack: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 })),
  withinDays: fc.option(fc.integer({ min: 1, max: 200 }), { nil: null }),
  levels: fc.constantFrom(4 as const, 5 as const),
  method: fc.constantFrom(...QUANTILE_METHODS),
});

function optionsOf(c: Case): RfmOptions {
  return { asOfMs: AS_OF_MS - c.asOfDaysBack * DAY, withinMs: c.withinDays === null ? null : c.withinDays * DAY, scores: c.levels, quantileMethod: c.method };
}

function byUser<T extends { user?: string; user_id?: string }>(xs: readonly T[]): T[] {
  const id = (x: T) => x.user ?? x.user_id ?? '';
  return [...xs].sort((a, b) => Buffer.compare(Buffer.from(id(a)), Buffer.from(id(b))));
}

/** Members of each generated segment, as computed by the registry at the table's asOf. */
async function generatedMembers(space: Workspace, rfm: RfmConfig, options: RfmOptions, result: RfmResult, prefix: string): Promise<{ byName: Map<string, string[]>; skipped: string[] }> {
  const generated = rfmSegmentDefinitions(rfm, options, result, space.config.plan, prefix);
  await space.registry.add(generated.segments.map((s) => s.definition));
  const byName = new Map<string, string[]>();
  for (const s of generated.segments) {
    const members = await space.registry.members(s.definition.key, { asOfMs: options.asOfMs });
    const ids: string[] = [];
    for await (const id of members.ids) ids.push(id);
    byName.set(s.name, ids.sort());
    expect(members.snapshot.size).toBe(s.users);
  }
  return { byName, skipped: generated.skipped.map((s) => s.name) };
}

function cellMembers(rows: readonly RfmUserRow[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(r.segment, [...(out.get(r.segment) ?? []), r.user_id]);
  for (const ids of out.values()) ids.sort();
  return out;
}

describe.skipIf(!hasPython)('RFM tables against rows, numpy and pandas', () => {
  const runs = process.env.CI ? 40 : 14;
  const cases = fc.sample(caseArb, { numRuns: runs, seed: 4242 });
  // The published settings on every log: all history, five levels, linear.
  for (let space = 0; space < SEEDS.length; space++) cases.push({ space, asOfDaysBack: 0, withinDays: null, levels: 5, method: 'linear' });

  it('measures every purchaser as the rows say and scores them as numpy and pandas do', async () => {
    const measured: { c: Case; oracle: OracleUser[]; result: RfmResult; rows: RfmUserRow[] }[] = [];
    for (const c of cases) {
      const space = spaces[c.space]!;
      const options = optionsOf(c);
      const result = await computeRfm(space.store, space.config.rfm, options);
      const rows = await rfmUserRows(space.store, space.config.rfm, options, result);
      measured.push({ c, oracle: byUser(oracleUsers(space.rows, options)), result, rows });
    }
    const requests: ReferenceRequest[] = measured.flatMap(({ c, oracle }) =>
      oracle.length === 0 ? [] : (['recency', 'frequency', 'monetary'] as const).map((m) => ({ values: oracle.map((u) => u[m]), levels: c.levels, method: c.method })),
    );
    const answers = reference(requests);
    let next = 0;
    for (const { c, oracle, result, rows } of measured) {
      const label = JSON.stringify(c);
      expect(result.users, label).toBe(oracle.length);
      expect(rows.map((r) => [r.user_id, r.recency, r.frequency]), label).toEqual(oracle.map((u) => [u.user, u.recency, u.frequency]));
      rows.forEach((r, i) => expect(r.monetary, label).toBeCloseTo(oracle[i]!.monetary, 9));
      if (oracle.length === 0) {
        expect(result.recency.cuts).toEqual([]);
        continue;
      }
      const [rec, freq, mon] = [answers[next]!, answers[next + 1]!, answers[next + 2]!];
      next += 3;
      expect(result.recency.cuts, label).toEqual(rec.cuts);
      expect(result.frequency.cuts, label).toEqual(freq.cuts);
      for (const [i, cut] of result.monetary.cuts.entries()) expect(cut, label).toBeCloseTo(mon.cuts[i]!, 9);
      // Recency is reversed: band 1 (most recent) is the top score.
      expect(rows.map((r) => c.levels + 1 - r.r), label).toEqual(rec.bands);
      expect(rows.map((r) => r.f), label).toEqual(freq.bands);
      expect(rows.map((r) => r.m), label).toEqual(mon.bands);
      if (c.method === 'linear' && rec.qcut && freq.qcut && mon.qcut) {
        expect(rows.map((r) => [c.levels + 1 - r.r, r.f, r.m]), label).toEqual(rec.qcut.map((q, i) => [q, freq.qcut![i], mon.qcut![i]]));
      }
      // The summary and the grid agree with the rows.
      expect(result.recency.mean, label).toBeCloseTo(oracle.reduce((s, u) => s + u.recency, 0) / oracle.length, 9);
      expect(result.recency.median, label).toBe(rec.median);
      expect(result.frequency.max, label).toBe(Math.max(...oracle.map((u) => u.frequency)));
      const counts = (score: (r: RfmUserRow) => number) => Array.from({ length: c.levels }, (_, s) => rows.filter((r) => score(r) === s + 1).length);
      expect(result.scoreCounts, label).toEqual({ r: counts((r) => r.r), f: counts((r) => r.f), m: counts((r) => r.m) });
      expect(result.grid.flat().reduce((a, b) => a + b, 0)).toBe(rows.length);
      for (const s of result.segments) expect(s.users, label).toBe(rows.filter((r) => r.segment === s.name).length);
    }
  }, 120_000);

  it('makes segments whose members at asOf are exactly the users of their cells', async () => {
    const picked = cases.filter((_, i) => i % 3 === 0).slice(0, process.env.CI ? 12 : 5);
    for (const [i, c] of picked.entries()) {
      const space = spaces[c.space]!;
      const options = optionsOf(c);
      const result = await computeRfm(space.store, space.config.rfm, options);
      if (result.users === 0) continue;
      const rows = await rfmUserRows(space.store, space.config.rfm, options, result);
      const { byName, skipped } = await generatedMembers(space, space.config.rfm, options, result, `t${i}-`);
      const cells = cellMembers(rows);
      for (const s of result.segments) {
        if (skipped.includes(s.name)) expect(cells.get(s.name) ?? [], JSON.stringify(c)).toEqual([]);
        else expect(byName.get(s.name), `${JSON.stringify(c)} ${s.name}`).toEqual(cells.get(s.name) ?? []);
      }
    }
  }, 120_000);
});

describe('RFM options on DuckDB', () => {
  it('restricts to the members of a segment as of the same asOf', async () => {
    const space = spaces[0]!;
    await space.registry.add([
      { key: 'shop', name: 'Shop buyers', objective: 'other', rationale: 'Restriction.', owner: 'growth', match: { did: 'purchase', where: [{ property: 'channel', eq: 'shop' }] } },
    ]);
    const snapshot = await space.registry.snapshot('shop', { asOfMs: AS_OF_MS });
    const members = new Set<string>();
    for await (const id of (await space.registry.members('shop', { asOfMs: AS_OF_MS })).ids) members.add(id);
    const options: RfmOptions = { asOfMs: AS_OF_MS, segment: { key: 'shop', snapshotId: snapshot.snapshotId } };
    const result = await computeRfm(space.store, space.config.rfm, options);
    const oracle = oracleUsers(space.rows, { asOfMs: AS_OF_MS, members });
    expect(result.users).toBe(oracle.length);
    expect(result.segment).toBe('shop');
    expect(result.users).toBeLessThan(oracleUsers(space.rows, { asOfMs: AS_OF_MS }).length);
    // The generated segments carry the restriction and still match the cells exactly.
    const rows = await rfmUserRows(space.store, space.config.rfm, options, result);
    const generated = rfmSegmentDefinitions(space.config.rfm, options, result, space.config.plan, 'shop-rfm-');
    expect(generated.segments[0]!.definition.match).toMatchObject({ all: [{ segment: 'shop' }, expect.anything()] });
    const { byName } = await generatedMembers(space, space.config.rfm, options, result, 'shop-rfm-');
    const cells = cellMembers(rows);
    for (const [name, ids] of byName) expect(ids, name).toEqual(cells.get(name) ?? []);
  });

  it('uses a custom map, and value alone (no quantity, no where); purchases without a value add 0', async () => {
    const space = spaces[1]!;
    const config = configFor(
      'rfm:\n  event: purchase\n  value: amount\n  scores: 4\n  map:\n    - { name: Best, r: [3, 4], f: [3, 4] }\n    - { name: Rest, r: [1, 2], f: [1, 4] }\n    - { name: Rest, r: [3, 4], f: [1, 2] }\n',
    );
    const result = await computeRfm(space.store, config.rfm, { asOfMs: AS_OF_MS });
    expect(result.scores).toBe(4);
    expect(result.segments.map((s) => [s.name, s.cells.length])).toEqual([
      ['Best', 4],
      ['Rest', 12],
    ]);
    // Every purchase counts (returns and test orders too, no where); monetary is amount alone.
    const rows = await rfmUserRows(space.store, config.rfm, { asOfMs: AS_OF_MS }, result);
    const purchases = space.rows.filter((r) => r.event === 'purchase' && r.ts < AS_OF_MS);
    const expected = new Map<string, number>();
    for (const p of purchases) expected.set(p.user, (expected.get(p.user) ?? 0) + (p.amount ?? 0));
    expect(rows.length).toBe(expected.size);
    for (const r of rows) expect(r.monetary).toBeCloseTo(expected.get(r.user_id)!, 9);
    await expect(computeRfm(space.store, config.rfm, { asOfMs: AS_OF_MS, scores: 5 })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });

  it('scores no one before the first purchase, and refuses to freeze segments then', async () => {
    const space = spaces[2]!;
    const options: RfmOptions = { asOfMs: AS_OF_MS - 2000 * DAY };
    const result = await computeRfm(space.store, space.config.rfm, options);
    expect(result).toMatchObject({ users: 0, recency: { mean: null, cuts: [] }, grid: [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]] });
    expect(result.segments.every((s) => s.users === 0 && s.share === null)).toBe(true);
    expect(await rfmUserRows(space.store, space.config.rfm, options, result)).toEqual([]);
    expect(() => rfmSegmentDefinitions(space.config.rfm, options, result, space.config.plan)).toThrow(/no user has a qualifying purchase/);
  });

  it('fails clearly without an rfm: section', async () => {
    const config = configFor('');
    expect(config.rfm.purchase).toBeNull();
    await expect(computeRfm(spaces[0]!.store, config.rfm, { asOfMs: AS_OF_MS })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('no rfm: section') });
  });
});
