/**
 * Shared by the RFM tests: a seeded purchase log as CSV (with exact duplicate rows, returns,
 * excluded channels, purchases without an amount, events after asOf), its strata.yaml, an
 * independent per-user oracle computed here from the rows, and numpy / pandas as the named
 * reference for quantiles and scores (/usr/bin/python3, pandas 1.5, numpy 1.24).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { prng } from './support/prng.js';

export const DAY = 86_400_000;
export const AS_OF = '2024-03-01';
export const AS_OF_MS = Date.UTC(2024, 2, 1);

export const PLAN_YAML = `plan:
  events:
    visit: {}
    purchase:
      properties:
        amount: number
        qty: number
        channel: string
`;

export const RFM_YAML = `rfm:
  event: purchase
  value: amount
  quantity: qty
  where:
    - { property: qty, gt: 0 }
    - { property: channel, ne: test }
`;

export interface PurchaseRow {
  readonly user: string;
  readonly event: 'purchase' | 'visit';
  readonly ts: number;
  readonly amount: number | null;
  readonly qty: number | null;
  readonly channel: string;
}

/** A purchase log for `users` users over the 400 days before AS_OF (and a few rows after). */
export function purchaseLog(seed: number, users: number): PurchaseRow[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const rows: PurchaseRow[] = [];
  for (let u = 0; u < users; u++) {
    const user = u % 17 === 3 ? `user "${u}", quoted` : `u${String(u).padStart(4, '0')}`;
    // Heavy-tailed purchase counts, and days on a coarse grid so recencies tie.
    const n = Math.floor(Math.pow(rand(), 3) * 40);
    for (let i = 0; i < n; i++) {
      const day = Math.floor(rand() * 80) * 5 + 1;
      const ts = AS_OF_MS - day * DAY + Math.floor(rand() * 20) * 3_600_000;
      const row: PurchaseRow = {
        user,
        event: 'purchase',
        ts,
        amount: rand() < 0.05 ? null : pick([1.25, 2.55, 3.75, 0.85, 4.95, 12.5, 0.1, 19.99]),
        qty: rand() < 0.08 ? -pick([1, 2, 6]) : pick([1, 1, 2, 3, 6, 12, 24]),
        channel: rand() < 0.07 ? 'test' : pick(['web', 'shop']),
      };
      rows.push(row);
      // Exact repeats of a line item: distinct events only with --row-ids.
      if (rand() < 0.1) rows.push({ ...row });
    }
    if (rand() < 0.5) rows.push({ user, event: 'visit', ts: AS_OF_MS - Math.floor(rand() * 30) * DAY, amount: null, qty: null, channel: 'web' });
    if (rand() < 0.1) rows.push({ user, event: 'purchase', ts: AS_OF_MS + 5 * DAY, amount: 99, qty: 1, channel: 'web' });
  }
  return rows;
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function toCsv(rows: readonly PurchaseRow[]): string {
  const lines = rows.map((r) =>
    [csvField(r.user), r.event, new Date(r.ts).toISOString(), r.amount ?? '', r.qty ?? '', r.event === 'purchase' ? r.channel : ''].join(','),
  );
  return `user_id,event,timestamp,amount,qty,channel\n${lines.join('\n')}\n`;
}

export interface OracleOptions {
  readonly asOfMs: number;
  readonly withinMs?: number | null;
  readonly members?: ReadonlySet<string> | null;
}

export interface OracleUser {
  readonly user: string;
  readonly recency: number;
  readonly frequency: number;
  readonly monetary: number;
}

/**
 * Per-user RFM computed directly from the rows: qualifying purchases are the purchase rows
 * with qty > 0 and channel != test before asOf (in the window); recency = floor((asOf -
 * last) / day) + 1; frequency counts them (duplicates included: they are distinct events
 * with row ids); monetary adds amount x qty over those with an amount, in ascending order.
 */
export function oracleUsers(rows: readonly PurchaseRow[], o: OracleOptions): OracleUser[] {
  const by = new Map<string, PurchaseRow[]>();
  for (const r of rows) {
    if (r.event !== 'purchase' || r.ts >= o.asOfMs) continue;
    if (o.withinMs != null && r.ts < o.asOfMs - o.withinMs) continue;
    if (!(r.qty !== null && r.qty > 0) || r.channel === 'test') continue;
    if (o.members && !o.members.has(r.user)) continue;
    const list = by.get(r.user) ?? [];
    list.push(r);
    by.set(r.user, list);
  }
  return [...by].map(([user, list]) => {
    const last = Math.max(...list.map((r) => r.ts));
    const amounts = list.filter((r) => r.amount !== null).map((r) => r.amount! * r.qty!).sort((a, b) => a - b);
    return { user, recency: Math.floor((o.asOfMs - last) / DAY) + 1, frequency: list.length, monetary: amounts.reduce((a, b) => a + b, 0) };
  });
}

export const PYTHON = '/usr/bin/python3';

/** Whether the reference interpreter is there; under CI its absence is an error (.ci/run installs it). */
export function pythonAvailable(): boolean {
  const ok = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import numpy, pandas'], { encoding: 'utf8' }).status === 0;
  if (!ok) {
    const message = `${PYTHON} with numpy and pandas is missing: the RFM quantile tests need them as their reference (apt-get install python3-pandas; .ci/run does this)`;
    if (process.env.CI) throw new Error(message);
    console.warn(`\n*** SKIPPED: ${message} ***\n`);
  }
  return ok;
}

export interface ReferenceRequest {
  readonly values: readonly number[];
  readonly levels: number;
  readonly method: string;
}

export interface ReferenceAnswer {
  /** numpy.quantile(values, [i/levels for i in 1..levels-1], method=method). */
  readonly cuts: number[];
  /** numpy.searchsorted(cuts, values, side='left') + 1: the right-closed band of each value. */
  readonly bands: number[];
  /** pandas.qcut(values, levels, labels=False) + 1, or null when pandas refuses (duplicate edges). */
  readonly qcut: number[] | null;
  /** numpy.median(values). */
  readonly median: number;
}

const SCRIPT = `
import json, sys
import numpy as np, pandas as pd
out = []
for req in json.load(sys.stdin):
    x = np.asarray(req['values'], dtype=float)
    k = req['levels']
    cuts = np.quantile(x, [i / k for i in range(1, k)], method=req['method'])
    bands = (np.searchsorted(cuts, x, side='left') + 1).tolist()
    try:
        qcut = (pd.qcut(x, k, labels=False) + 1).astype(int).tolist()
    except ValueError:
        qcut = None
    out.append({'cuts': [float(c) for c in cuts], 'bands': bands, 'qcut': qcut, 'median': float(np.median(x))})
json.dump(out, sys.stdout)
`;

/** Ask numpy and pandas, in one process for all requests. */
export function reference(requests: readonly ReferenceRequest[]): ReferenceAnswer[] {
  const run = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify(requests), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (run.status !== 0) throw new Error(`${PYTHON} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as ReferenceAnswer[];
}
