/**
 * Privacy-budget accounting (src/privacy/dp/accounting.ts), the ledger (ledger.ts) and
 * `strata privacy budget`. Oracles: hand-computed values of basic composition, ε-DP ⇒
 * ε²/2-zCDP (Bun & Steinke 2016, Prop. 1.4) and ρ-zCDP ⇒ (ρ + 2·sqrt(ρ·ln(1/δ)), δ)-DP
 * (Prop. 1.3), written out as decimals in each test; exact rational sums (0.1 + 0.2 is
 * 0.3); the ledger and audit rows read back from a real DuckDB store.
 */
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, openStore } from '../src/config/index.js';
import { readAuditLog, verifyAuditLog } from '../src/governance/audit-log.js';
import { checkBudget, combinedGuarantee, epsilonOfZcdp, totalSpent, zcdpOfPureDp, zcdpOfPureRelease, type SpendRecord } from '../src/privacy/dp/accounting.js';
import type { UniformSource } from '../src/privacy/dp/discrete-noise.js';
import { cryptoUniform } from '../src/privacy/dp/discrete-noise.js';
import { budgetState, readLedger, type BudgetReport } from '../src/privacy/dp/ledger.js';
import { releasePrivately } from '../src/privacy/dp/release.js';
import type { DpSpend, ReleaseRequest } from '../src/privacy/dp/release-types.js';
import { DEFAULT_PRIVACY_CONFIG, type PrivacyConfig } from '../src/privacy/privacy-config.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import type { EventStore } from '../src/store/event-store.js';
import { cli, cliJson, withTempDir } from './cli-helpers.js';
import { closeEngineStores, openEngineStores, type Engine } from './support/agreement-stores.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';

const pure = (epsilon: number, queries = 1): SpendRecord => ({ mechanism: 'laplace', epsilon, rho: 0, delta: 0, zcdpRho: zcdpOfPureRelease(epsilon, queries) });
const zcdp = (rho: number): SpendRecord => ({ mechanism: 'gaussian', epsilon: 0, rho, delta: 0, zcdpRho: rho });
const LN_1E6 = 13.815510557964274; // ln(10^6)

describe('conversions (Bun & Steinke 2016)', () => {
  it('ε-DP is ε²/2-zCDP (Prop. 1.4), per query: a release of ε over n queries is n·(ε/n)²/2', () => {
    expect(zcdpOfPureDp(1)).toBe(0.5);
    expect(zcdpOfPureDp(0.2)).toBeCloseTo(0.02, 15);
    expect(zcdpOfPureRelease(1, 4)).toBeCloseTo(0.125, 15); // 4 · (1/4)²/2
  });

  it('ρ-zCDP is (ρ + 2·sqrt(ρ·ln(1/δ)), δ)-DP (Prop. 1.3): hand values', () => {
    // ρ = 0.5, δ = 1e-6: 0.5 + 2·sqrt(0.5 · 13.8155106) = 0.5 + 2·2.6282609 = 5.7565218
    expect(epsilonOfZcdp(0.5, 1e-6)).toBeCloseTo(5.7565218, 6);
    // ρ = 0.01, δ = 1e-5: 0.01 + 2·sqrt(0.01 · 11.5129255) = 0.01 + 2·0.3393070 = 0.6886140
    expect(epsilonOfZcdp(0.01, 1e-5)).toBeCloseTo(0.688614, 6);
    expect(epsilonOfZcdp(0, 1e-6)).toBe(0);
    expect(() => epsilonOfZcdp(1, 0)).toThrow(/delta must be in \(0, 1\)/);
  });
});

describe('composition and the combined guarantee', () => {
  it('pure ε add up exactly (basic composition); ρ add up (zCDP composition); δ of selection add up', () => {
    const t = totalSpent([pure(0.1), pure(0.2), zcdp(0.25), zcdp(0.125), { ...pure(0.3), delta: 1e-6 }, { ...zcdp(0.125), delta: 2e-6 }]);
    expect(t.epsilon).toEqual({ p: 3n, q: 5n }); // 0.1 + 0.2 + 0.3 = 3/5 exactly (floating point: 0.6000000000000001)
    expect(t.rho).toEqual({ p: 1n, q: 2n });
    expect(t.selectionDelta).toBeCloseTo(3e-6, 18);
    expect(t.releases).toBe(6);
  });

  it('one large pure release: adding up is tighter, (ε, Σδ_sel) = (1, 0)', () => {
    expect(combinedGuarantee(totalSpent([pure(1)]), 1e-6)).toEqual({ epsilon: 1, delta: 0, basis: 'basic-composition' });
  });

  it('100 releases of ε = 0.1: Σε = 10, but via zCDP ρ = 100 · 0.005 = 0.5, so (5.7565, 1e-6)', () => {
    const g = combinedGuarantee(totalSpent(Array.from({ length: 100 }, () => pure(0.1))), 1e-6);
    expect(g.basis).toBe('zcdp');
    expect(g.epsilon).toBeCloseTo(0.5 + 2 * Math.sqrt(0.5 * LN_1E6), 9);
    expect(g.epsilon).toBeCloseTo(5.7565218, 6);
    expect(g.delta).toBe(1e-6);
  });

  it('mixed: ε = 1 and ρ = 0.5 give 1 + 5.7565 = 6.7565 by adding up, against 1 + 2·sqrt(13.8155) = 8.434 with both in zCDP', () => {
    const g = combinedGuarantee(totalSpent([pure(1), { ...zcdp(0.5), delta: 1e-6 }]), 1e-6);
    expect(g.basis).toBe('basic-composition');
    expect(g.epsilon).toBeCloseTo(6.7565218, 6);
    expect(g.delta).toBeCloseTo(2e-6, 18); // the configured δ plus the selection δ
  });

  it('nothing spent: (0, 0)', () => {
    expect(combinedGuarantee(totalSpent([]), 1e-6)).toEqual({ epsilon: 0, delta: 0, basis: 'nothing-spent' });
  });

  it('the limit check is exact: ten releases of 0.1 fill a budget of 1, 0.1 + 0.2 fits a budget of 0.3', () => {
    const budget = { epsilon: 1, rho: 0.3, delta: 1e-6 };
    const ten = totalSpent(Array.from({ length: 10 }, () => pure(0.1)));
    expect(() => checkBudget(totalSpent(Array.from({ length: 9 }, () => pure(0.1))), { mechanism: 'laplace', epsilon: 0.1 }, budget, 'x')).not.toThrow();
    expect(() => checkBudget(ten, { mechanism: 'laplace', epsilon: 1e-9 }, budget, 'x')).toThrow(/spend epsilon 1e-9 .* has spent 1 of its limit 1 .* 0 is left and the total would be 1.000000001/);
    expect(() => checkBudget(totalSpent([zcdp(0.1)]), { mechanism: 'gaussian', rho: 0.2 }, budget, 'x')).not.toThrow();
    // Budgets are separate: a full epsilon budget does not stop a zCDP release.
    expect(() => checkBudget(ten, { mechanism: 'gaussian', rho: 0.3 }, budget, 'x')).not.toThrow();
  });
});

describe('the limit check against integer arithmetic (property)', () => {
  it('spends written with up to 3 decimals are accepted exactly when their sum in thousandths fits the limit in thousandths', () => {
    const numRuns = process.env.CI ? 1000 : 300;
    const thousandths = fc.integer({ min: 1, max: 3000 });
    fc.assert(
      fc.property(fc.array(thousandths, { maxLength: 30 }), thousandths, fc.integer({ min: 1, max: 40_000 }), fc.boolean(), (spent, next, limit, gaussian) => {
        const records = spent.map((m) => (gaussian ? zcdp(m / 1000) : pure(m / 1000)));
        const budget = { epsilon: limit / 1000, rho: limit / 1000, delta: 1e-6 };
        const spend: DpSpend = gaussian ? { mechanism: 'gaussian', rho: next / 1000 } : { mechanism: 'laplace', epsilon: next / 1000 };
        const fits = spent.reduce((a, m) => a + m, 0) + next <= limit;
        const run = () => checkBudget(totalSpent(records), spend, budget, 'x');
        if (fits) expect(run).not.toThrow();
        else expect(run).toThrow(/^refused "x": it would spend/);
      }),
      { numRuns },
    );
  });
});

function smallRequest(spend: DpSpend, release = 'segment size power-users as of 2026-11-01'): ReleaseRequest {
  return { release, actor: 'ana', spend, queries: [{ name: 'size', kind: 'count', keys: 'public', maxGroupsPerUser: 1, maxRowsPerUser: 1, groups: [{ key: '', value: 1234 }] }] };
}

const LEDGER_PRIVACY: PrivacyConfig = { ...DEFAULT_PRIVACY_CONFIG, budget: { epsilon: 1, rho: 0.5, delta: 1e-6 } };

/** Three releases, two refusals, then the ledger, the audit log and the budget read back (every engine). */
async function ledgerScenario(store: EventStore): Promise<void> {
  const privacy = LEDGER_PRIVACY;
  const at = Date.UTC(2026, 10, 1, 12);
  const r1 = await releasePrivately(store, privacy, smallRequest({ mechanism: 'laplace', epsilon: 0.7 }), { atMs: at });
  const r2 = await releasePrivately(store, privacy, smallRequest({ mechanism: 'laplace', epsilon: 0.3 }, 'lifecycle stages as of 2026-11-01'), { atMs: at + 1000 });
  const r3 = await releasePrivately(store, privacy, smallRequest({ mechanism: 'gaussian', rho: 0.5 }, 'experiment summary onboarding'), { atMs: at + 2000 });
  expect([r1.releaseId, r2.releaseId, r3.releaseId]).toEqual([1, 2, 3]);
  expect(r2.budget).toMatchObject({ epsilonSpent: 1, epsilonLimit: 1, rhoSpent: 0, releases: 2 });
  expect(r3.budget).toMatchObject({ epsilonSpent: 1, rhoSpent: 0.5, rhoLimit: 0.5, releases: 3 });

  // Spent: the next release of either kind is refused before any randomness is drawn.
  let draws = 0;
  const counting: UniformSource = (n) => {
    draws++;
    return cryptoUniform(n);
  };
  await expect(releasePrivately(store, privacy, smallRequest({ mechanism: 'laplace', epsilon: 0.01 }), { uniform: counting })).rejects.toMatchObject({
    code: 'PRIVACY_BUDGET_EXCEEDED',
    message: expect.stringMatching(/spend epsilon 0.01 .* has spent 1 of its limit 1 .* 0 is left and the total would be 1.01/),
  });
  await expect(releasePrivately(store, privacy, smallRequest({ mechanism: 'gaussian', rho: 0.001 }), { uniform: counting })).rejects.toMatchObject({
    code: 'PRIVACY_BUDGET_EXCEEDED',
    message: expect.stringMatching(/spend rho 0.001 .* has spent 0.5 of its limit 0.5/),
  });
  expect(draws).toBe(0);

  const ledger = await readLedger(store);
  expect(ledger.map((e) => [e.releaseId, e.atMs, e.actor, e.release, e.mechanism, e.epsilon, e.rho])).toEqual([
    [1, at, 'ana', 'segment size power-users as of 2026-11-01', 'laplace', 0.7, 0],
    [2, at + 1000, 'ana', 'lifecycle stages as of 2026-11-01', 'laplace', 0.3, 0],
    [3, at + 2000, 'ana', 'experiment summary onboarding', 'gaussian', 0, 0.5],
  ]);
  expect(ledger[0]!.detail).toMatchObject({ delta: 0, selection: null, minGroupSize: 10, auditSeq: 1 });
  expect(ledger[0]!.zcdpRho).toBeCloseTo(0.245, 15); // 0.7²/2, one query

  const audit = await readAuditLog(store, { action: 'privacy.release' });
  expect(audit.map((a) => [a.seq, a.actor, a.target, (a.detail as { releaseId: number }).releaseId])).toEqual([
    [1, 'ana', 'segment size power-users as of 2026-11-01', 1],
    [2, 'ana', 'lifecycle stages as of 2026-11-01', 2],
    [3, 'ana', 'experiment summary onboarding', 3],
  ]);
  expect(audit[2]!.detail).toMatchObject({ mechanism: 'gaussian', epsilon: 0, rho: 0.5, delta: 0, queries: [{ name: 'size', scale: '1', sensitivityL2: 1 }] });
  // The true value (1234) is nowhere in the records.
  expect(JSON.stringify([ledger, audit])).not.toContain('1234');
  expect((await verifyAuditLog(store)).broken).toBeNull();

  // Mixed ledger: 1 + (0.5 + 2·sqrt(0.5·ln 1e6)) = 6.7565 by adding up.
  const state = await budgetState(store, privacy);
  expect(state.combined.epsilon).toBeCloseTo(6.7565218, 6);
  expect(state.combined.delta).toBe(1e-6);
}

describe('the ledger: check and spend, refusal, audit records', () => {
  let store: EventStore;
  beforeEach(async () => {
    store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
  });

  it('records one ledger row and one audit record per release; refuses once spent, drawing no noise and recording nothing', async () => {
    await ledgerScenario(store);
  });

  it('concurrent releases through one store are queued: with room for two of three, exactly the last is refused', async () => {
    const results = await Promise.allSettled([0, 1, 2].map((i) => releasePrivately(store, LEDGER_PRIVACY, smallRequest({ mechanism: 'laplace', epsilon: 0.5 }, `release ${i}`))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((await readLedger(store)).map((e) => e.releaseId)).toEqual([1, 2]);
    expect((await readAuditLog(store)).length).toBe(2);
  });
});

describe.skipIf(!clickhouseAvailable())('the ledger on ClickHouse (node and two-shard cluster; metadata on the initiator)', () => {
  let layouts: ClickHouseLayouts | undefined;
  let stores: Map<Engine, EventStore> | undefined;
  beforeAll(async () => {
    layouts = await startLayouts('dp_ledger');
    stores = await openEngineStores(layouts);
  }, 120_000);
  afterAll(async () => {
    if (stores) await closeEngineStores(stores.values());
    await layouts?.stop();
  });

  it.each(['single', 'cluster'] as const)('%s: the same ledger, refusals and audit records as on DuckDB', async (engine) => {
    await ledgerScenario(stores!.get(engine)!);
  });
});

describe('strata privacy budget', () => {
  it('lists the ledger and the totals against the limits in strata.yaml, and --json', async () => {
    await withTempDir('strata-dp-budget-', async (root) => {
      expect((await cli(root, 'init', 'ws')).code).toBe(0);
      const ws = path.join(root, 'ws');
      const empty = await cli(ws, 'privacy', 'budget');
      expect(empty.code).toBe(0);
      expect(empty.stdout).toContain('No private releases yet');
      await appendFile(path.join(ws, 'strata.yaml'), '\nprivacy:\n  budget:\n    epsilon: 2\n    rho: 0.25\n    delta: 1e-5\n');
      const config = await loadConfig({ cwd: ws, env: {} });
      const store = await openStore(config);
      try {
        await releasePrivately(store, config.privacy, smallRequest({ mechanism: 'laplace', epsilon: 0.5 }), { atMs: Date.UTC(2026, 10, 1) });
        await releasePrivately(store, config.privacy, { ...smallRequest({ mechanism: 'gaussian', rho: 0.01 }, 'breakdown by country'), queries: [{ name: 'users', kind: 'count', keys: 'private', maxGroupsPerUser: 1, maxRowsPerUser: 1, groups: [{ key: 'FR', value: 400 }] }] }, { atMs: Date.UTC(2026, 10, 2) });
      } finally {
        await store.close();
      }
      const human = await cli(ws, 'privacy', 'budget');
      expect(human.code).toBe(0);
      const lines = human.stdout.split('\n');
      expect(lines[0]).toMatch(/^#\s+when\s+actor\s+release\s+mechanism\s+epsilon\s+rho\s+delta$/);
      expect(lines[2]).toMatch(/^1\s+2026-11-01T00:00:00Z\s+ana\s+segment size power-users as of 2026-11-01\s+discrete Laplace\s+0.5\s+-\s+-$/);
      expect(lines[3]).toMatch(/^2\s+2026-11-02T00:00:00Z\s+ana\s+breakdown by country\s+discrete Gaussian\s+-\s+0.01\s+0.00001$/);
      expect(human.stdout).toContain('epsilon (pure DP): spent 0.5 of 2, 1.5 left');
      expect(human.stdout).toContain('rho (zCDP):        spent 0.01 of 0.25, 0.24 left');
      // Via zCDP: ρ = 0.01 + 0.5²/2 = 0.135 → 0.135 + 2·sqrt(0.135·ln 1e5) = 2.6284 > basic: 0.5 + 0.01 + 2·sqrt(0.01·11.5129) = 1.18861.
      expect(human.stdout).toContain('combined:          (1.18861, 0.00002)-DP over 2 releases (basic composition)');

      const json = await cliJson<BudgetReport>(ws, 'privacy', 'budget');
      expect(json.epsilon).toEqual({ spent: 0.5, limit: 2, remaining: 1.5 });
      expect(json.rho).toEqual({ spent: 0.01, limit: 0.25, remaining: 0.24 });
      expect(json.combined.basis).toBe('basic-composition');
      expect(json.combined.epsilon).toBeCloseTo(0.5 + 0.01 + 2 * Math.sqrt(0.01 * Math.log(1e5)), 12);
      expect(json.combined.delta).toBeCloseTo(2e-5, 18);
      expect(json.configuredDelta).toBe(1e-5);
      expect(json.releases.map((r) => [r.releaseId, r.mechanism, r.epsilon, r.rho, r.delta])).toEqual([
        [1, 'laplace', 0.5, 0, 0],
        [2, 'gaussian', 0, 0.01, 1e-5],
      ]);

      const help = await cli(ws, 'privacy', 'budget', '--help');
      expect(help.stdout).toContain('(rho + 2*sqrt(rho*ln(1/delta)), delta)-DP at privacy.budget.delta');
    });
  });
});
