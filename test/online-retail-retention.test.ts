/**
 * Real data: monthly acquisition cohorts of the UCI Online Retail file (../shared/data),
 * ingested and analysed through the CLI (`strata retention --cohort month`), against
 * the classic pandas cohort analysis run in /usr/bin/python3 as the reference
 * implementation: the invoice month of each row, each customer's cohort = their first
 * invoice month (groupby CustomerID min), the period index = the month difference, and
 * the number of distinct customers per (cohort, index) (`nunique`).
 *
 * Rows: every row with a CustomerID (Strata rejects the others at ingest; pandas drops
 * them), and a second table restricted to Quantity > 0 (no cancellations) on both sides,
 * through --start-where and --return-where. Cohort sizes, every count and every share
 * must match exactly; on-or-after counts are checked against pandas too (customers whose
 * largest period index is k or more).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetentionResult } from '../src/analysis/retention/index.js';
import { ONLINE_RETAIL as DATA, RETAIL_EVENTS, onlineRetailPresent, retailWorkspace, type RetailWorkspace } from './support/online-retail.js';

const PYTHON = '/usr/bin/python3';
const present = onlineRetailPresent('online-retail-retention');

/** After the last invoice (2011-12-09 12:50): every row counts; December 2011 is still open. */
const AS_OF = '2011-12-10';

/** The pandas reference: per cohort, {index: [customers, share]} where some came back, and on-or-after counts for indexes 0..12. */
const PANDAS = `
import json, sys
import pandas as pd
df = pd.read_csv(sys.argv[1], dtype={'CustomerID': str, 'InvoiceNo': str, 'StockCode': str})
df = df[df['CustomerID'].notna()]
if sys.argv[2] == 'positive':
    df = df[df['Quantity'] > 0]
df['InvoiceMonth'] = pd.to_datetime(df['InvoiceDate']).dt.to_period('M')
df['CohortMonth'] = df.groupby('CustomerID')['InvoiceMonth'].transform('min')
df['CohortIndex'] = (df['InvoiceMonth'].dt.year - df['CohortMonth'].dt.year) * 12 + (df['InvoiceMonth'].dt.month - df['CohortMonth'].dt.month)
counts = df.groupby(['CohortMonth', 'CohortIndex'])['CustomerID'].nunique().unstack('CohortIndex')
shares = counts.divide(counts[0], axis=0)
last = df.groupby(['CustomerID', 'CohortMonth'])['CohortIndex'].max().reset_index()
out = {}
for cohort, row in counts.iterrows():
    cohort_last = last[last['CohortMonth'] == cohort]['CohortIndex']
    out[str(cohort)] = {
        'counts': {str(int(k)): [int(v), float(shares.loc[cohort, k])] for k, v in row.dropna().items()},
        'onOrAfter': [int((cohort_last >= k).sum()) for k in range(13)],
    }
print(json.dumps(out))
`;

type Reference = Record<string, { counts: Record<string, [number, number]>; onOrAfter: number[] }>;

function pandasTable(rows: 'all' | 'positive'): Reference {
  return JSON.parse(execFileSync(PYTHON, ['-c', PANDAS, DATA, rows], { encoding: 'utf8', maxBuffer: 16 << 20 })) as Reference;
}

/** Every pandas cell equals Strata's; a Strata cell pandas lacks (no customer came back) is 0. */
function expectSameTable(strata: RetentionResult, reference: Reference): void {
  expect(strata.groups.map((g) => g.group)).toEqual(['all']);
  const cohorts = strata.groups[0]!.cohorts;
  expect(cohorts.map((c) => c.cohort)).toEqual(Object.keys(reference));
  for (const c of cohorts) {
    const ref = reference[c.cohort]!;
    expect(c.size, `${c.cohort} size`).toBe(ref.counts['0']![0]);
    // Every index pandas has is a cell Strata shows (periods 0..12 of cohorts up to December 2011).
    expect(c.cells.length).toBeGreaterThanOrEqual(Object.keys(ref.counts).length);
    for (const cell of c.cells) {
      const [customers, share] = ref.counts[String(cell.period)] ?? [0, 0];
      expect(cell.returned, `${c.cohort} +${cell.period}`).toBe(customers);
      expect(cell.returnedRate, `${c.cohort} +${cell.period} share`).toBe(share);
      expect(cell.onOrAfter, `${c.cohort} +${cell.period} on or after`).toBe(ref.onOrAfter[cell.period]);
    }
  }
}

describe.skipIf(!present)('Online Retail monthly acquisition cohorts through the CLI, against pandas', () => {
  let retail: RetailWorkspace | undefined;
  const retention = (...argv: string[]) => retail!.json<RetentionResult>('retention', '--cohort', 'month', '--periods', '12', '--as-of', AS_OF, ...argv);

  beforeAll(async () => {
    retail = await retailWorkspace('strata-retail-retention-');
    await retail.run('plan', 'infer', DATA, ...RETAIL_EVENTS, '--write');
    await retail.run('ingest', 'events', DATA, ...RETAIL_EVENTS);
  }, 600_000);

  afterAll(async () => retail?.remove());

  it('matches the pandas cohort table on every row with a CustomerID (the December 2010 cohort: 948 customers)', async () => {
    const reference = pandasTable('all');
    expect(reference['2010-12']!.counts['0']![0]).toBe(948);
    const byPurchase = await retention('--start-event', 'purchase', '--return-event', 'purchase');
    expectSameTable(byPurchase, reference);
    // The only event is purchase, so first-seen cohorts returning on any event are the same table.
    const firstSeen = await retention();
    expect(firstSeen.groups).toEqual(byPurchase.groups);
    // December 2011 had not ended at asOf: its cells are open, every earlier month closed.
    const last = byPurchase.groups[0]!.cohorts.at(-1)!;
    expect(last.cohort).toBe('2011-12');
    expect(last.cells.map((c) => c.complete)).toEqual([false]);
    expect(byPurchase.groups[0]!.cohorts[0]!.cells.map((c) => c.complete)).toEqual([...Array(12).fill(true), false]);
  }, 120_000);

  it('matches pandas on the rows with Quantity > 0', async () => {
    const reference = pandasTable('positive');
    const positive = await retention(
      '--start-event', 'purchase', '--start-where', '{property: Quantity, gt: 0}', '--return-event', 'purchase', '--return-where', '{property: Quantity, gt: 0}',
    );
    expectSameTable(positive, reference);
  }, 120_000);
});
