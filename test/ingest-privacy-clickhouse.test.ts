/**
 * Privacy at ingest on ClickHouse, a single node and a two-shard cluster, held to DuckDB
 * (the oracle: the same runs into a DuckDB store must give the same reports, privacy
 * counts, stored events, users and profiles): pseudonymized ids, pii and IP minimization,
 * a suppressed user refused, consent enforced against stored and in-run records, stored
 * events removed after a new opt-out (users.first_event_at kept), and profile consent
 * traits recorded as $consent events.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles, type IngestReport } from '../src/ingest/index.js';
import { DEFAULT_PRIVACY_CONFIG } from '../src/privacy/privacy-config.js';
import { pseudonymizeUserId } from '../src/privacy/pseudonymize.js';
import { suppressionHash } from '../src/privacy/suppression.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import type { EventStore } from '../src/store/event-store.js';
import { KEY, PRIVACY_PLAN } from './ingest-privacy-fixtures.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { LAYOUTS, startLayouts, type ClickHouseLayouts } from './support/clickhouse-layouts.js';

const key = Buffer.from(KEY);
const privacy = { ...DEFAULT_PRIVACY_CONFIG, pseudonymize: { keyEnv: 'K' } };
const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
const pv = (user: string, day: string, props: Record<string, unknown> = {}) => ({ user_id: user, event: 'page_view', timestamp: `2024-01-${day}T00:00:00Z`, properties: { path: '/', ...props } });
const consent = (user: string, day: string, granted: boolean) => ({ user_id: user, event: '$consent', timestamp: `2024-01-${day}T00:00:00Z`, properties: { purpose: 'analytics', granted, source: 'banner' } });

let layouts: ClickHouseLayouts;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'strata-ch-privacy-test-'));
  if (clickhouseAvailable()) layouts = await startLayouts('strata_privacy_ingest');
}, 60_000);
afterAll(async () => {
  await layouts?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, rows: unknown[]): string {
  const p = path.join(dir, name);
  writeFileSync(p, jsonl(rows));
  return p;
}

/** The runs, in order; the same files for every engine. */
function runs(): { kind: 'events' | 'profiles'; files: string[] }[] {
  const users = ['a', 'b', 'c', 'd', 'e', 'f', 'gone'];
  const events = users.flatMap((u, i) =>
    ['02', '05', '09', '12', '20'].map((d, j) =>
      pv(u, d, { ip: `10.${i}.${j}.${i + j}`, client_ip: j === 3 ? 'garbage' : `2001:db8:${i}:${j}::${i}`, email: `${u}@example.com`, age: 20 + i }),
    ),
  );
  return [
    { kind: 'events', files: [file('e1.jsonl', events), file('c1.jsonl', [consent('b', '09', false), consent('c', '05', false), consent('c', '12', true)])] },
    // A new opt-out for a user with stored events, and one in the past for another.
    { kind: 'events', files: [file('c2.jsonl', [consent('d', '06', false), consent('e', '01', false), consent('e', '10', true), pv('d', '25')])] },
    {
      kind: 'profiles',
      files: [
        file('p1.jsonl', [
          { user_id: 'a', traits: { email: 'a@example.com', ip_address: '192.0.2.55', plan: 'pro' } },
          { user_id: 'f', traits: { consent_analytics: false, consent_marketing: true } },
          { user_id: 'gone', traits: { plan: 'free' } },
        ]),
      ],
    },
  ];
}

const plain = (v: unknown) => (typeof v === 'bigint' ? Number(v) : typeof v === 'string' && /^-?\d+$/.test(v) && v.length < 16 ? Number(v) : v);
const bool = (v: unknown) => (v === null || v === undefined ? null : v === true || v === 1 || v === '1');
const norm = (rs: Record<string, unknown>[]) => rs.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])));

async function contents(store: EventStore) {
  const duck = store.engine === 'duckdb';
  const t = (c: string) => (duck ? `epoch_ms(${c})` : c);
  const events = norm(
    await store.query(
      `SELECT event_id, user_id, event, ${t('ts')} AS ts, p_ip, p_client_ip, p_email, p_age, p_purpose, p_granted, p_source FROM events
       WHERE event = 'page_view' OR p_source <> 'profile' ORDER BY event_id`,
    ),
  ).map((r): Record<string, unknown> => ({ ...r, p_granted: bool(r.p_granted) }));
  // Profile consent events carry the run's instant, which differs per engine's run: compared without it.
  const profileConsent = norm(await store.query(`SELECT user_id, p_purpose, p_granted FROM events WHERE p_source = 'profile' ORDER BY user_id, p_purpose`)).map((r) => ({
    ...r,
    p_granted: bool(r.p_granted),
  }));
  const users = norm(await store.query(`SELECT user_id, ${t('first_event_at')} AS first, has_profile FROM ${store.dialect.table('users')} u WHERE first_event_at IS NULL OR first_event_at < ${duck ? `TIMESTAMP '2030-01-01'` : '1893456000000'} ORDER BY user_id`)).map(
    (r) => ({ ...r, has_profile: bool(r.has_profile) }),
  );
  const profiles = norm(await store.query(`SELECT user_id, t_email, t_ip_address, t_plan FROM ${store.dialect.table('profiles')} p ORDER BY user_id`));
  const recorded = (await store.query(`SELECT kind, privacy FROM ingest_runs`)).map((r) => `${String(r.kind)} ${String(r.privacy)}`).sort();
  return { events, profileConsent, users, profiles, recorded };
}

function comparable(r: IngestReport) {
  const { runId: _r, elapsedMs: _e, rowsPerSecond: _s, rejectsPath: _p, files: _f, ...rest } = r;
  return rest;
}

async function runAll(store: EventStore): Promise<ReturnType<typeof comparable>[]> {
  const reports = [];
  for (const [i, r] of runs().entries()) {
    reports.push(comparable(await ingestFiles(store, { ...r, plan: PRIVACY_PLAN, rejectsPath: path.join(dir, `rejects-${store.engine}-${i}.jsonl`), privacy, pseudonymKey: key })));
  }
  return reports;
}

const goneHash = suppressionHash(pseudonymizeUserId(key, 'gone'));

describe.skipIf(!clickhouseAvailable())('privacy at ingest on ClickHouse agrees with DuckDB', () => {
  let oracle: { reports: ReturnType<typeof comparable>[]; contents: Awaited<ReturnType<typeof contents>> };

  beforeAll(async () => {
    const duck = await DuckDbStore.open({ path: path.join(dir, 'oracle.duckdb'), threads: 2 });
    try {
      await duck.execute(`INSERT INTO suppressions VALUES ('${goneHash}', now()::TIMESTAMP, 1)`);
      oracle = { reports: await runAll(duck), contents: await contents(duck) };
    } finally {
      await duck.close();
    }
  }, 60_000);

  it('the DuckDB oracle did what the rules say', () => {
    const [first, second, third] = oracle.reports;
    // gone: 5 events refused; b from Jan 9 (3 events), c in [Jan 5, Jan 12) (2 events) discarded;
    // every row read had its id pseudonymized (38, the refused ones included).
    expect(first!.privacy).toMatchObject({ suppressed: 5, noConsent: 5, pseudonymized: 38, piiHashed: { email: 30 }, piiDropped: { age: 30 }, ipInvalid: { client_ip: 6 } });
    // d's stored Jan 9, 12, 20 and the new Jan 25; e's stored Jan 2, 5, 9.
    expect(second!.privacy).toMatchObject({ noConsent: 1, removedAfterOptOut: 6 });
    expect(third!.privacy).toMatchObject({ suppressed: 1, consentFromProfiles: 2, piiHashed: { email: 1 }, ipTruncated: { ip_address: 1 } });
    const ids = new Set(oracle.contents.events.map((e) => e.user_id));
    expect(ids.has(pseudonymizeUserId(key, 'a'))).toBe(true);
    expect(ids.has(pseudonymizeUserId(key, 'gone'))).toBe(false);
  });

  it.each(LAYOUTS)('%s: same reports and same stored rows', async (layout) => {
    const store = await layouts.open(layout);
    try {
      await store.execute(`INSERT INTO suppressions VALUES ('${goneHash}', 0, 1)`);
      const reports = await runAll(store);
      expect(reports).toEqual(oracle.reports);
      expect(await contents(store)).toEqual(oracle.contents);
    } finally {
      await store.close();
    }
  }, 120_000);
});
