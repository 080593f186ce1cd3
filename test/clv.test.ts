/**
 * CLV: the per-customer summary SQL on DuckDB against summaries computed directly from the
 * rows (clv-fixtures.ts), the derived quantities (P(alive), conditional expected purchases,
 * expected spend, discounted CLV) against an independent Python/scipy rendering of the
 * papers' formulas (scipy.special.hyp2f1 and gammaln, not in logs), a simulation whose
 * generating parameters the fit must recover, and the CLI's errors.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, openStore } from '../src/config/index.js';
import {
  bgnbdExpectedPurchases,
  bgnbdProbabilityAlive,
  customerLifetimeValue,
  customerSummaries,
  fitBgNbd,
  gammaGammaExpectedSpend,
  paretoNbdExpectedPurchases,
  paretoNbdProbabilityAlive,
  summariesFrom,
  type TransactionFit,
} from '../src/models/clv/index.js';
import { cli } from './cli-helpers.js';
import { oracleSummaries } from './clv-fixtures.js';
import { DAY, PLAN_YAML, RFM_YAML, purchaseLog, toCsv } from './rfm-fixtures.js';
import { writeWorkspace } from './support/clickhouse-workspace.js';
import { prng } from './support/prng.js';

const ROWS = purchaseLog(11, 120);
const END_DAY = Math.floor(Date.UTC(2024, 1, 20) / DAY);

let root = '';
let ws = '';

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-clv-'));
  await writeFile(path.join(root, 'purchases.csv'), toCsv(ROWS));
  ws = await writeWorkspace(path.join(root, 'shop'), 'store: { engine: duckdb }\n', `${PLAN_YAML}${RFM_YAML}`);
  const r = await cli(ws, 'ingest', 'events', '../purchases.csv', '--row-ids');
  if (r.code !== 0) throw new Error(r.stderr);
}, 60_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('per-customer summaries in SQL (DuckDB)', () => {
  for (const unit of ['week', 'day'] as const) {
    it(`match the summaries computed from the rows (one transaction per customer-day, ${unit}s)`, async () => {
      const config = await loadConfig({ cwd: ws, env: {} });
      const store = await openStore(config);
      try {
        const s = await customerSummaries(store, { purchase: config.rfm.purchase!, calibrationEndMs: END_DAY * DAY + 3_600_000, unit });
        const want = oracleSummaries(ROWS, END_DAY, unit === 'week' ? 7 : 1);
        expect(s.calibrationEndMs).toBe(END_DAY * DAY);
        expect(s.userIds).toEqual(want.map((w) => w.user));
        want.forEach((w, i) => {
          expect([s.x[i], s.tx[i], s.T[i]]).toEqual([w.x, w.tx, w.T]);
          expect(s.monetary[i]).toBeCloseTo(w.monetary, 9);
        });
        // Some customers bought several times on one day (the day is one transaction), so days < purchases.
        const purchases = ROWS.filter((r) => r.event === 'purchase' && Math.floor(r.ts / DAY) <= END_DAY && r.qty !== null && r.qty > 0 && r.channel !== 'test').length;
        expect(want.reduce((a, w) => a + w.x + 1, 0)).toBeLessThan(purchases);
        expect(want.filter((w) => w.x > 0).length).toBeGreaterThan(20);
      } finally {
        await store.close();
      }
    });
  }

  it('defaults the calibration end to the day of the latest qualifying purchase', async () => {
    const config = await loadConfig({ cwd: ws, env: {} });
    const store = await openStore(config);
    try {
      const s = await customerSummaries(store, { purchase: config.rfm.purchase!, calibrationEndMs: null, unit: 'day', nowMs: Date.UTC(2030, 0, 1) });
      const last = Math.max(...ROWS.filter((r) => r.event === 'purchase' && r.qty !== null && r.qty > 0 && r.channel !== 'test').map((r) => r.ts));
      expect(s.calibrationEndMs).toBe(Math.floor(last / DAY) * DAY);
    } finally {
      await store.close();
    }
  });
});

const PYTHON = '/usr/bin/python3';
const scipyPresent = existsSync(PYTHON) && (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import scipy.special']);
    return true;
  } catch {
    if (process.env.CI) throw new Error('/usr/bin/python3 lacks scipy (.ci/run installs python3-scipy)');
    return false;
  }
})();

const CASES = [
  [0, 0, 38.86],
  [1, 1.71, 38.86],
  [2, 30.43, 38.86],
  [7, 35, 36],
  [20, 10, 60],
  [3, 5, 5],
] as const;

const BG = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const PNBD = [
  { r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 },
  { r: 0.8, alpha: 20, s: 1.4, beta: 6 },
];
const GG = { p: 6.25, q: 3.74, gamma: 15.44 };

describe.skipIf(!scipyPresent)('derived quantities against scipy renderings of the papers', () => {
  // Written from Fader, Hardie & Lee 2005 (eq. 10 and the P(alive) expression), Fader &
  // Hardie's Pareto/NBD note (eq. 22-25, 29, 33) and the Gamma-Gamma note, directly.
  const script = `
import json, sys
import numpy as np
from scipy.special import gammaln, hyp2f1
req = json.load(sys.stdin)
out = []
r, al, a, b = [req['bg'][k] for k in ('r', 'alpha', 'a', 'b')]
for x, tx, T in req['cases']:
    pa = 1.0 if x == 0 else 1 / (1 + (a / (b + x - 1)) * ((al + T) / (al + tx)) ** (r + x))
    t = req['t']
    e = (a + b + x - 1) / (a - 1) * (1 - ((al + T) / (al + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, t / (al + T + t))) * pa
    out.append({'bg_alive': pa, 'bg_e': e})
for k, pn in enumerate(req['pnbd']):
    r, al, s, be = [pn[j] for j in ('r', 'alpha', 's', 'beta')]
    for i, (x, tx, T) in enumerate(req['cases']):
        if al >= be:
            big, bb, gap = al, s + 1, al - be
        else:
            big, bb, gap = be, r + x, be - al
        rsx = r + s + x
        a0 = hyp2f1(rsx, bb, rsx + 1, gap / (big + tx)) / (big + tx) ** rsx - hyp2f1(rsx, bb, rsx + 1, gap / (big + T)) / (big + T) ** rsx
        pa = 1 / (1 + s / rsx * (al + T) ** (r + x) * (be + T) ** s * a0)
        t = req['t']
        e = (r + x) * (be + T) / ((al + T) * (s - 1)) * (1 - ((be + T) / (be + T + t)) ** (s - 1)) * pa
        out[i]['pnbd%d_alive' % k] = pa
        out[i]['pnbd%d_e' % k] = e
p, q, g = req['gg']['p'], req['gg']['q'], req['gg']['gamma']
for i, (x, tx, T) in enumerate(req['cases']):
    m = req['monetary'][i]
    out[i]['spend'] = p * g / (q - 1) if x == 0 else p * (g + x * m) / (p * x + q - 1)
    # CLV: weekly steps to the horizon, each step's expected purchases discounted from its end.
    H, d = req['horizon'], req['discount']
    def ey(t):
        if t == 0: return 0.0
        pa = out[i]['bg_alive']
        return (a + b + x - 1) / (a - 1) * (1 - ((al0 + T) / (al0 + T + t)) ** (r0 + x) * hyp2f1(r0 + x, b + x, a + b + x - 1, t / (al0 + T + t))) * pa
    r0, al0 = req['bg']['r'], req['bg']['alpha']
    a, b = req['bg']['a'], req['bg']['b']
    steps = int(np.ceil(H))
    clv = sum((ey(min(k, H)) - ey(min(k - 1, H))) / (1 + d) ** (min(k, H) / (365.2425 / 7)) for k in range(1, steps + 1))
    out[i]['clv'] = clv * out[i]['spend']
print(json.dumps(out))
`;
  const monetary = CASES.map(([x], i) => (x === 0 ? 0 : 10 + 7 * i));
  const t = 39;
  const request = { bg: BG, pnbd: PNBD, gg: GG, cases: CASES, monetary, t, horizon: 52.5, discount: 0.1 };
  const oracle = scipyPresent ? (JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(request), encoding: 'utf8' })) as Record<string, number>[]) : [];
  const close = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));

  it('P(alive) and expected purchases in the next 39 weeks: BG/NBD', () => {
    CASES.forEach(([x, tx, T], i) => {
      close(bgnbdProbabilityAlive(BG, x, tx, T), oracle[i]!.bg_alive!);
      close(bgnbdExpectedPurchases(BG, t, x, tx, T), oracle[i]!.bg_e!);
    });
  });

  it('P(alive) and expected purchases in the next 39 weeks: Pareto/NBD (alpha < beta and alpha > beta)', () => {
    PNBD.forEach((p, k) =>
      CASES.forEach(([x, tx, T], i) => {
        close(paretoNbdProbabilityAlive(p, x, tx, T), oracle[i]![`pnbd${k}_alive`]!);
        close(paretoNbdExpectedPurchases(p, t, x, tx, T), oracle[i]![`pnbd${k}_e`]!);
      }),
    );
  });

  it('Gamma-Gamma expected spend and the discounted CLV over 52.5 weeks at 10% a year', () => {
    const fit: TransactionFit = { model: 'bgnbd', params: BG, logLikelihood: 0, customers: 0, evaluations: 0, converged: true };
    CASES.forEach(([x, tx, T], i) => {
      const spend = gammaGammaExpectedSpend(GG, x, monetary[i]!);
      close(spend, oracle[i]!.spend!);
      close(customerLifetimeValue(fit, spend, { horizon: 52.5, discountRate: 0.1, unitsPerYear: 365.2425 / 7, step: 1 }, x, tx, T), oracle[i]!.clv!);
    });
  });
});

describe('BG/NBD fit on simulated customers', () => {
  it('recovers the generating parameters (r = 0.5, alpha = 6, a = 0.7, b = 3; 6,000 customers, 40 weeks) within sampling error', () => {
    // The oracle is the generating process of the paper (section 2): gamma rates, beta dropout after each purchase.
    const rand = prng(2005);
    const gamma = (shape: number): number => {
      // Marsaglia–Tsang, with the shape < 1 boost.
      if (shape < 1) return gamma(shape + 1) * Math.pow(rand(), 1 / shape);
      const d = shape - 1 / 3;
      const c = 1 / Math.sqrt(9 * d);
      for (;;) {
        let z: number;
        let v: number;
        do {
          z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
          v = 1 + c * z;
        } while (v <= 0);
        v = v * v * v;
        if (Math.log(1 - rand()) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
      }
    };
    const truth = { r: 0.5, alpha: 6, a: 0.7, b: 3 };
    const rows = Array.from({ length: 6000 }, () => {
      const lambda = gamma(truth.r) / truth.alpha;
      const g1 = gamma(truth.a);
      const p = g1 / (g1 + gamma(truth.b));
      const T = 40;
      let t = 0;
      let x = 0;
      let tx = 0;
      for (;;) {
        t += -Math.log(1 - rand()) / lambda;
        if (t > T) break;
        x++;
        tx = t;
        if (rand() < p) break;
      }
      return { x, tx, T };
    });
    const fit = fitBgNbd(summariesFrom(rows));
    const p = fit.params as typeof truth;
    expect(Math.abs(p.r / truth.r - 1)).toBeLessThan(0.15);
    expect(Math.abs(p.alpha / truth.alpha - 1)).toBeLessThan(0.25);
    expect(Math.abs(p.a / truth.a - 1)).toBeLessThan(0.35);
    expect(Math.abs(p.b / truth.b - 1)).toBeLessThan(0.45);
  }, 60_000);
});

describe('strata clv errors', () => {
  it('score and show before any fit: exit 2 naming clv fit; show lists none', async () => {
    const r = await cli(ws, 'clv', 'score');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('strata clv fit');
    expect((await cli(ws, 'clv', 'show')).stdout).toContain('No CLV fits stored yet');
  });

  it('fit without purchase settings or with a value that is not a number property', async () => {
    const bare = await writeWorkspace(path.join(root, 'bare'), 'store: { engine: duckdb }\n', PLAN_YAML);
    const none = await cli(bare, 'clv', 'fit');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('rfm:');
    const wrong = await cli(bare, 'clv', 'fit', '--event', 'purchase', '--value', 'channel');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--value: expected a number property of purchase (amount, qty)');
    const horizon = await cli(ws, 'clv', 'score', '--horizon', 'soon');
    expect(horizon.code).toBe(2);
    expect(horizon.stderr).toContain('--horizon');
  });

  it('fits without a spend model when purchases have no value property, and scores without CLV', async () => {
    const plain = await writeWorkspace(path.join(root, 'plain'), 'store: { engine: duckdb }\n', PLAN_YAML);
    expect((await cli(plain, 'ingest', 'events', '../purchases.csv', '--row-ids')).code).toBe(0);
    const fit = await cli(plain, '--json', 'clv', 'fit', '--event', 'purchase', '--calibration-end', '2024-02-20');
    expect(fit.code, fit.stderr).toBe(0);
    expect(JSON.parse(fit.stdout)).toMatchObject({ version: 1, purchase: { event: 'purchase', value: null, where: [] }, spend: null });
    const scored = JSON.parse((await cli(plain, '--json', 'clv', 'score', '--top', '2')).stdout) as { totalClv: unknown; top: { clv: unknown; expected_spend: unknown }[] };
    expect(scored.totalClv).toBeNull();
    expect(scored.top.map((u) => [u.clv, u.expected_spend])).toEqual([[null, null], [null, null]]);
    const visits = await cli(plain, 'clv', 'fit', '--event', 'visit');
    expect(visits.code).toBe(2);
    expect(visits.stderr).toContain('needs customers with repeat purchases');
  }, 60_000);

  it('fits on the shop workspace by days and scores with --out as JSON lines', async () => {
    const fit = await cli(ws, '--json', 'clv', 'fit', '--unit', 'day', '--calibration-end', '2024-02-20');
    expect(fit.code, fit.stderr).toBe(0);
    const body = JSON.parse(fit.stdout) as { version: number; unit: string; transactions: { converged: boolean } };
    expect(body).toMatchObject({ unit: 'day', transactions: { converged: true } });
    const scored = await cli(ws, 'clv', 'score', '--out', 'scores.jsonl', '--top', '3');
    expect(scored.code, scored.stderr).toBe(0);
    expect(scored.stdout).toContain('Top 3 by CLV');
    for (const line of scored.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  }, 60_000);
});
