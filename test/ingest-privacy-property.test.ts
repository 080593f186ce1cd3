/**
 * Property: pseudonymization changes who users are called, never what they did. The same
 * random data ingested into two DuckDB stores, one with pseudonymized ids and one without,
 * gives every segment the same size, and the pseudonymized store's members are exactly the
 * HMACs of the plain store's (oracle: the plain store, through the same segment engine).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ingestEventRecords, ingestProfileRecords, type EventRecord, type ProfileRecord } from '../src/ingest/index.js';
import { DEFAULT_PRIVACY_CONFIG } from '../src/privacy/privacy-config.js';
import { pseudonymizeUserId } from '../src/privacy/pseudonymize.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { KEY, PRIVACY_PLAN } from './ingest-privacy-fixtures.js';

const key = Buffer.from(KEY);
const AS_OF = Date.parse('2024-02-01T00:00:00Z');
const START = Date.parse('2024-01-01T00:00:00Z');
const USERS = ['u1', 'u2', 'ü3', 'user 4', '5', 'x'];

const seg = (key: string, match: unknown) => ({ key, name: key, objective: 'other' as const, rationale: 'property test', owner: 'qa', match });
const SEGMENTS = [
  seg('viewers', { did: 'page_view' }),
  seg('repeat', { did: 'page_view', count: { gte: 3 } }),
  seg('recent', { did: 'page_view', within: '7d' }),
  seg('active', { activeDays: { gte: 2 } }),
  seg('sessions', { sessions: { gte: 2 } }),
  seg('pro', { trait: 'plan', eq: 'pro' }),
  seg('opted-in', { consent: 'analytics' }),
];

const scenario = fc.record({
  events: fc.array(
    fc.record({
      user: fc.constantFrom(...USERS),
      minutes: fc.integer({ min: 0, max: 40 * 24 * 60 }),
      path: fc.constantFrom('/a', '/b'),
      consent: fc.option(fc.boolean(), { freq: 6 }),
    }),
    { maxLength: 40 },
  ),
  plans: fc.array(fc.record({ user: fc.constantFrom(...USERS), plan: fc.constantFrom('pro', 'free') }), { maxLength: 6 }),
});

async function sizes(events: readonly EventRecord[], profiles: readonly ProfileRecord[], pseudonymize: boolean) {
  const store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
  try {
    const options = pseudonymize ? { privacy: { ...DEFAULT_PRIVACY_CONFIG, pseudonymize: { keyEnv: 'K' } }, pseudonymKey: key } : {};
    if (events.length > 0) await ingestEventRecords(store, events, PRIVACY_PLAN, options);
    if (profiles.length > 0) await ingestProfileRecords(store, profiles, PRIVACY_PLAN, options);
    const registry = new SegmentRegistry(store, PRIVACY_PLAN);
    await registry.add(SEGMENTS);
    const out: Record<string, { size: number; members: string[] }> = {};
    for (const snap of (await registry.snapshots(SEGMENTS.map((s) => s.key), { asOfMs: AS_OF })).values()) {
      const members = (await store.query(`SELECT user_id FROM snapshot_members WHERE snapshot_id = ${snap.snapshotId} ORDER BY user_id`)).map((r) => String(r.user_id));
      out[snap.key] = { size: snap.size, members };
    }
    return out;
  } finally {
    await store.close();
  }
}

describe('pseudonymized ingest', () => {
  it('gives every segment the same size, with members the pseudonyms of the plain members', async () => {
    const numRuns = process.env.CI ? 15 : 8;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const events: EventRecord[] = s.events.map((e) => {
          const timestamp = new Date(START + e.minutes * 60_000).toISOString();
          return e.consent === null
            ? { user_id: e.user, event: 'page_view', timestamp, properties: { path: e.path } }
            : { user_id: e.user, event: '$consent', timestamp, properties: { purpose: 'analytics', granted: e.consent, source: 'banner' } };
        });
        const profiles: ProfileRecord[] = s.plans.map((p) => ({ user_id: p.user, traits: { plan: p.plan } }));
        const plain = await sizes(events, profiles, false);
        const pseudo = await sizes(events, profiles, true);
        for (const k of Object.keys(plain)) {
          expect(pseudo[k]!.size, k).toBe(plain[k]!.size);
          expect(pseudo[k]!.members, k).toEqual(plain[k]!.members.map((u) => pseudonymizeUserId(key, u)).sort());
        }
      }),
      { numRuns },
    );
  }, 120_000);
});
