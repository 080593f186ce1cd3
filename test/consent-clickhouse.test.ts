/**
 * Consent records on ClickHouse (a single node and a two-shard cluster) against DuckDB:
 * setConsent through ClickHouse's ingest, the audit record, the history (booleans as UInt8,
 * read through the Distributed table) and the state per purpose, and a targeting segment's
 * snapshot through the registry. The oracle is DuckDB, itself held to hand-worked answers
 * in test/consent.test.ts; the segment engines are held together on every engine by
 * spec/segments/consent.json and test/differential.test.ts.
 *
 * Without the ClickHouse server binary the file is skipped with a loud notice, except under
 * CI, where that is an error (test/support/clickhouse-server.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditLog } from '../src/governance/audit-log.js';
import { ingestEventRecords } from '../src/ingest/ingest-records.js';
import { consentHistory, consentState, setConsent } from '../src/privacy/consent/index.js';
import { DEFAULT_PRIVACY_CONFIG } from '../src/privacy/privacy-config.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import type { SegmentDefinition } from '../src/segments/language/index.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import type { EventStore } from '../src/store/event-store.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { LAYOUTS, startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';

const PLAN = parsePlan({ events: { $consent: { properties: { purpose: 'string', granted: 'boolean', source: 'string' } }, view: {} } });
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 5, 1);
const USERS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];

/**
 * The same consent story in any store: views and raw $consent records in one ingest run (u3 a
 * same-instant tie, u4 a later change of mind), then two setConsent calls (ingest runs are
 * what costs time on ClickHouse).
 */
async function story(store: EventStore): Promise<void> {
  await store.applyPlan(PLAN);
  const record = (u: string, purpose: string, granted: boolean, atMs: number, source = 'banner') => ({ user_id: u, event: '$consent', timestamp: atMs, properties: { purpose, granted, source } });
  await ingestEventRecords(
    store,
    [
      ...USERS.map((u) => ({ user_id: u, event: 'view', timestamp: T0 })),
      record('u3', 'marketing', true, T0 + 2 * DAY),
      record('u3', 'marketing', false, T0 + 2 * DAY, 'support'),
      record('u4', 'marketing', false, T0 + DAY),
      record('u4', 'marketing', true, T0 + 3 * DAY),
    ],
    PLAN,
  );
  const config = { plan: PLAN, privacy: DEFAULT_PRIVACY_CONFIG };
  await setConsent(config, store, { userId: 'u1', purpose: 'marketing', granted: true, source: 'banner', atMs: T0 + DAY, actor: 'ana' });
  await setConsent(config, store, { userId: 'u2', settings: [{ purpose: 'marketing', granted: false }, { purpose: 'personalization', granted: true }], atMs: T0 + DAY });
}

/** What a store says: per user the history and state, the audit targets, and the marketing segment's members. */
async function observe(store: EventStore): Promise<unknown> {
  const asOfMs = T0 + 10 * DAY;
  const users: Record<string, unknown> = {};
  for (const u of USERS) {
    const history = await consentHistory(store, u);
    users[u] = { history, state: consentState(history, DEFAULT_PRIVACY_CONFIG.consentDefaults, asOfMs) };
  }
  const audit = (await readAuditLog(store, {})).filter((a) => a.action === 'consent.set').map((a) => [a.actor, a.target]);
  const registry = new SegmentRegistry(store, PLAN, { now: () => asOfMs });
  const def = { key: 'reachable', name: 'Reachable', objective: 'engagement', rationale: 'consent on ClickHouse', owner: 'growth', purpose: 'marketing', match: { did: 'view' } };
  await registry.add([def as SegmentDefinition]);
  const ids: string[] = [];
  for await (const id of (await registry.members('reachable', { asOfMs })).ids) ids.push(id);
  return { users, audit, members: ids.sort() };
}

describe.skipIf(!clickhouseAvailable())('consent on ClickHouse agrees with DuckDB', () => {
  let layouts: ClickHouseLayouts;
  let expected: unknown;
  beforeAll(async () => {
    layouts = await startLayouts('strata_consent');
    const duck = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    try {
      await story(duck);
      expected = await observe(duck);
    } finally {
      await duck.close();
    }
  }, 120_000);
  afterAll(async () => {
    await layouts?.stop();
  });

  it('DuckDB gives the hand-worked answer', () => {
    expect((expected as { members: string[] }).members).toEqual(['u1', 'u4']);
  });

  for (const layout of LAYOUTS) {
    it(`on a ClickHouse ${layout}`, async () => {
      const store = await layouts.open(layout);
      try {
        await story(store);
        expect(await observe(store)).toEqual(expected);
      } finally {
        await store.dropDatabase();
        await store.close();
      }
    }, 120_000);
  }
});
