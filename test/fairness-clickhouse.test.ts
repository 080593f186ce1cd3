/**
 * Fairness audits on ClickHouse (one node and the two-shard cluster) give DuckDB's answers
 * (the oracle): the demo product (seeded, with its $consent records and age-correlated
 * AI-assist use) is ingested into the three stores, the demo's targeting segments and two
 * example segments are added, and the same audit runs on each: group counts per age band
 * (the per-user SQL, summed over shards), ratios, intervals and corrected p-values (exact
 * up to 1e-9 relative), the stored reports (fairness_audits, Int64 times and UInt8 flags on
 * ClickHouse) and the audit log records. The trait read for model audits is compared too.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_END_MS, demoPlan, writeDemoFiles } from '../src/demo/index.js';
import { demoAssetFiles } from '../src/demo/demo-assets.js';
import { listFairnessAudits, runFairnessAudit, traitValues, type FairnessAuditResult } from '../src/governance/fairness/index.js';
import { readAuditLog } from '../src/governance/audit-log.js';
import { parseSegmentText, validateSegment, type SegmentDefinition } from '../src/segments/language/index.js';
import type { SegmentRegistry } from '../src/segments/registry/index.js';
import type { EventStore } from '../src/store/event-store.js';
import { MS } from '../src/time/time.js';
import { ENGINES, closeEngineStores, ingestIntoEach, openEngineStores, registriesOn, withoutKeys, type Engine } from './support/agreement-stores.js';
import { demoDefinitions } from './support/demo-fixtures.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';

const plan = demoPlan();
let layouts: ClickHouseLayouts | undefined;
let dir = '';
let stores = new Map<Engine, EventStore>();
let registries = new Map<Engine, SegmentRegistry>();

function expectClose(actual: unknown, expected: unknown, at = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number' && !(Number.isInteger(expected) && Number.isInteger(actual))) {
    expect(Math.abs(actual - expected), `${at}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
    return;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    expect(actual.length, `${at}.length`).toBe(expected.length);
    expected.forEach((e, i) => expectClose(actual[i], e, `${at}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === 'object' && actual !== null && typeof actual === 'object') {
    expect(Object.keys(actual).sort(), `${at} keys`).toEqual(Object.keys(expected).sort());
    for (const [k, e] of Object.entries(expected)) expectClose((actual as Record<string, unknown>)[k], e, `${at}.${k}`);
    return;
  }
  expect(actual, at).toEqual(expected);
}

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  dir = mkdtempSync(path.join(tmpdir(), 'strata-ch-fairness-test-'));
  const [started, files] = await Promise.all([
    startLayouts('strata_fairness_test'),
    writeDemoFiles({ seed: 13, users: 600, eventsFile: path.join(dir, 'events.jsonl'), profilesFile: path.join(dir, 'profiles.jsonl') }),
  ]);
  layouts = started;
  stores = await openEngineStores(layouts, path.join(dir, 'oracle.duckdb'));
  await ingestIntoEach(stores, plan, dir, { events: [files.eventsFile], profiles: files.profilesFile });
  const examples = (await demoDefinitions(plan)).filter((d) => ['power-users', 'enterprise-prospects'].includes(d.key));
  const targeting: SegmentDefinition[] = [];
  for (const f of await demoAssetFiles('targeting-segments')) targeting.push(validateSegment(parseSegmentText(readFileSync(f, 'utf8'), f), plan));
  registries = await registriesOn(stores, plan, { now: () => DEMO_END_MS + MS.h }, [...examples, ...targeting]);
}, 180_000);

afterAll(async () => {
  await closeEngineStores(stores.values());
  await layouts?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!clickhouseAvailable()).sequential('fairness audits on ClickHouse match DuckDB', () => {
  it('audits the targeting and example segments with the same counts, ratios, intervals and corrected p-values, and stores the same reports', async () => {
    const results = {} as Record<Engine, FairnessAuditResult>;
    for (const engine of ENGINES) {
      const store = stores.get(engine)!;
      results[engine] = await runFairnessAudit(
        { store, plan, purchase: null, segments: registries.get(engine)! },
        { subjects: ['power-users', 'enterprise-prospects'], targeting: true, asOfMs: DEMO_END_MS, actor: 'ch-test', nowMs: DEMO_END_MS + MS.h },
      );
    }
    // Snapshot ids are per store; everything else must agree.
    const comparable = (r: FairnessAuditResult) => withoutKeys(r, ['snapshotId']);
    expectClose(comparable(results.single), comparable(results.duckdb));
    expectClose(comparable(results.cluster), comparable(results.duckdb));
    const r = results.duckdb;
    expect(r.subjects.map((s) => s.key)).toEqual(['power-users', 'enterprise-prospects', 'ai-assist-promo', 'whats-new-tour']);
    // The data means something: every subject has members and every band is a group.
    for (const s of r.subjects) {
      expect(s.kind === 'segment' && s.header.size > 0, s.key).toBe(true);
      expect(s.attributes[0]!.groups.filter((g) => g.compared).map((g) => g.group)).toEqual(['18-24', '25-34', '35-44', '45-54', '55+']);
    }
    for (const engine of ENGINES) {
      const store = stores.get(engine)!;
      const stored = await listFairnessAudits(store);
      expect(stored.map((a) => [a.auditId, a.subject, a.flagged, a.asOf, a.at]), engine).toEqual(
        r.subjects.map((s, i) => [i + 1, s.key, s.flagged, '2025-06-02T00:00:00.000Z', '2025-06-02T01:00:00.000Z']),
      );
      const log = await readAuditLog(store, { action: 'fairness.audit' });
      expect(log.map((l) => l.target), engine).toEqual(r.subjects.map((s) => `segment:${s.key}`));
    }
  });

  it('reads the same sensitive trait values for model audits', async () => {
    const values = {} as Record<Engine, [string, string][]>;
    for (const engine of ENGINES) values[engine] = [...(await traitValues(stores.get(engine)!, { trait: 'age_band', type: 'string' }))].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    expect(values.duckdb).toHaveLength(600);
    expect(values.single).toEqual(values.duckdb);
    expect(values.cluster).toEqual(values.duckdb);
  });
});
