/**
 * Real data: the published RFM summary of the UCI Online Retail file's UK customers,
 * through Strata's own commands (init, ingest --row-ids, rfm, rfm segments, segment compute).
 *
 * Published (issue 4, from the RFM analyses of this data set): rows with a CustomerID,
 * Quantity > 0 and UnitPrice > 0 in the United Kingdom; 3,920 customers; recency = days
 * from the last purchase to 2011-12-10, plus one; frequency = line items (all 354,321 of
 * them, 5,118 exact repeats included, hence --row-ids); monetary = sum of Quantity x
 * UnitPrice; mean recency 92.742092, mean frequency 90.388010, mean monetary 1864.385601.
 * The scores are held to pandas.qcut on the same customers, computed by pandas straight
 * from the CSV (/usr/bin/python3), and the ready-made segments to the cells they name.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RfmResult } from '../src/analysis/rfm/index.js';
import { PYTHON, pythonAvailable } from './rfm-fixtures.js';
import { ONLINE_RETAIL as DATA, RETAIL_EVENTS, onlineRetailPresent, retailWorkspace, type RetailWorkspace } from './support/online-retail.js';

const present = onlineRetailPresent('online-retail-rfm');
const hasPython = present && pythonAvailable();

const AS_OF = '2011-12-10';

/** The plan `strata plan infer` writes for the events of this file (infer-plan is tested in online-retail.test.ts). */
const PLAN = `plan:
  events:
    purchase:
      properties:
        Country: string
        Description: string
        InvoiceNo: string
        Quantity: number
        StockCode: string
        UnitPrice: number
`;

const RFM_SECTION = `rfm:
  event: purchase
  value: UnitPrice
  quantity: Quantity
  where:
    - { property: Quantity, gt: 0 }
    - { property: UnitPrice, gt: 0 }
    - { property: Country, eq: United Kingdom }
`;

/** pandas, straight from the CSV: per customer recency, frequency, monetary and pandas.qcut(…, 5) + 1 of each; numpy cut points. */
const PANDAS = `
import json, sys
import numpy as np, pandas as pd
df = pd.read_csv(sys.argv[1], dtype={'CustomerID': str, 'InvoiceNo': str, 'StockCode': str})
df = df[df.CustomerID.notna() & (df.Quantity > 0) & (df.UnitPrice > 0) & (df.Country == 'United Kingdom')]
df = df.assign(ts=pd.to_datetime(df.InvoiceDate), amount=df.Quantity * df.UnitPrice)
g = df.groupby('CustomerID').agg(last=('ts', 'max'), f=('ts', 'count'), m=('amount', 'sum'))
g['r'] = (pd.Timestamp('2011-12-10') - g['last']).dt.days + 1
out = {'rows': int(len(df)), 'duplicates': int(df.duplicated(subset=[c for c in df.columns if c not in ('ts', 'amount')]).sum()), 'users': {}, 'cuts': {}}
scores = {c: (pd.qcut(g[c], 5, labels=False) + 1).astype(int) for c in 'rfm'}
for c in 'rfm':
    out['cuts'][c] = [float(x) for x in np.quantile(g[c], [0.2, 0.4, 0.6, 0.8])]
for cid in g.index:
    out['users'][cid] = [int(g.r[cid]), int(g.f[cid]), float(g.m[cid]), int(scores['r'][cid]), int(scores['f'][cid]), int(scores['m'][cid])]
json.dump(out, sys.stdout)
`;

interface PandasAnswer {
  readonly rows: number;
  readonly duplicates: number;
  /** CustomerID -> [recency, frequency, monetary, qcut r band, qcut f band, qcut m band]. */
  readonly users: Record<string, [number, number, number, number, number, number]>;
  readonly cuts: Record<'r' | 'f' | 'm', number[]>;
}

interface UserRow {
  user_id: string;
  recency: number;
  frequency: number;
  monetary: number;
  r: number;
  f: number;
  m: number;
  segment: string;
}

describe.skipIf(!present)('the published Online Retail RFM summary through the CLI', () => {
  let retail: RetailWorkspace | undefined;
  let ingest: { read: number; stored: number; rejected: number; duplicates: number };
  let table: RfmResult;

  beforeAll(async () => {
    retail = await retailWorkspace('strata-retail-rfm-');
    await writeFile(path.join(retail.ws, 'strata.yaml'), `version: 1\n${PLAN}${RFM_SECTION}`);
    ingest = await retail.json('ingest', 'events', DATA, ...RETAIL_EVENTS, '--row-ids');
    table = await retail.json<RfmResult>('rfm', '--as-of', AS_OF);
  }, 600_000);

  afterAll(async () => retail?.remove());

  it('keeps every line item with a customer as its own event (row ids), exact repeats included', () => {
    // 541,909 rows, 135,080 without a CustomerID (published, see online-retail.test.ts).
    expect(ingest).toMatchObject({ read: 541_909, rejected: 135_080, stored: 406_829, duplicates: 0 });
  });

  it('has the published summary: 3,920 customers and the mean recency, frequency and monetary value to 6 decimals', () => {
    expect(table.users).toBe(3_920);
    expect(table.recency.mean!.toFixed(6)).toBe('92.742092');
    expect(table.frequency.mean!.toFixed(6)).toBe('90.388010');
    expect(table.monetary.mean!.toFixed(6)).toBe('1864.385601');
    // Frequency counts every line item of the UK subset: 354,321 rows.
    expect(Math.round(table.frequency.mean! * table.users)).toBe(354_321);
  });

  describe.skipIf(!hasPython)('against pandas on the same customers', () => {
    let pandas: PandasAnswer;
    let users: UserRow[];

    beforeAll(async () => {
      const run = spawnSync(PYTHON, ['-c', PANDAS, DATA], { encoding: 'utf8', maxBuffer: 1 << 28 });
      if (run.status !== 0) throw new Error(`pandas failed: ${run.stderr}`);
      pandas = JSON.parse(run.stdout) as PandasAnswer;
      const out = path.join(retail!.dir, 'users.jsonl');
      await retail!.json('rfm', '--as-of', AS_OF, '--out', out, '--format', 'jsonl');
      users = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as UserRow);
    }, 120_000);

    it('counts the subset as pandas does: 354,321 rows, 5,118 of them exact repeats', () => {
      expect(pandas.rows).toBe(354_321);
      expect(pandas.duplicates).toBe(5_118);
    });

    it('gives every customer the measures and the pandas.qcut scores pandas gives (recency reversed)', () => {
      expect(users).toHaveLength(Object.keys(pandas.users).length);
      for (const u of users) {
        const p = pandas.users[u.user_id];
        expect(p, u.user_id).toBeDefined();
        const [r, f, m, qr, qf, qm] = p!;
        expect([u.recency, u.frequency, u.r, u.f, u.m], u.user_id).toEqual([r, f, 6 - qr, qf, qm]);
        expect(u.monetary, u.user_id).toBeCloseTo(m, 6);
      }
      const counts = (i: 3 | 4 | 5, reverse: boolean) => {
        const out = [0, 0, 0, 0, 0];
        for (const p of Object.values(pandas.users)) out[(reverse ? 6 - p[i] : p[i]) - 1]!++;
        return out;
      };
      expect(table.scoreCounts).toEqual({ r: counts(3, true), f: counts(4, false), m: counts(5, false) });
      expect(table.recency.cuts).toEqual(pandas.cuts.r);
      expect(table.frequency.cuts).toEqual(pandas.cuts.f);
      table.monetary.cuts.forEach((c, i) => expect(c).toBeCloseTo(pandas.cuts.m[i]!, 6));
    });
  });

  it('makes ready-made segments whose sizes as of 2011-12-10 are the sizes of their cells', async () => {
    const generated = await retail!.json<{ segments: { definition: { key: string }; name: string; users: number }[]; skipped: unknown[] }>('rfm', 'segments', '--as-of', AS_OF, '--add');
    expect(generated.skipped).toEqual([]);
    expect(generated.segments).toHaveLength(11);
    const computed = await retail!.json<{ key: string; size: number }[]>('segment', 'compute', '--as-of', AS_OF);
    const sizes = new Map(computed.map((c) => [c.key, c.size]));
    for (const s of generated.segments) {
      expect(sizes.get(s.definition.key), s.name).toBe(table.segments.find((t) => t.name === s.name)!.users);
    }
    expect(generated.segments.reduce((n, s) => n + s.users, 0)).toBe(3_920);
  }, 120_000);
});
