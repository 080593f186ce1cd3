/**
 * Privacy at ingest on a DuckDB file store, through the library (issue 7): pii hashed or
 * dropped, IP addresses truncated or dropped, user ids pseudonymized, suppressed users
 * refused, analytics consent enforced (discarded and removed events counted), profile
 * consent traits recorded as $consent events, and the run record's counts.
 *
 * Oracles: Python's hashlib and hmac (/usr/bin/python3) for the stored digests and
 * pseudonyms; RFC 4231 test case 2 for HMAC-SHA256; hand-worked consent timelines.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestEventRecords, ingestFiles, ingestProfileRecords, type EventRecord } from '../src/ingest/index.js';
import { DEFAULT_PRIVACY_CONFIG, type PrivacyConfig } from '../src/privacy/privacy-config.js';
import { PII_HASH_PREFIX, truncateIp } from '../src/privacy/minimize.js';
import { pseudonymizeUserId, resolvePseudonymKey } from '../src/privacy/pseudonymize.js';
import { suppressionHash } from '../src/privacy/suppression.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { StrataError } from '../src/errors/errors.js';
import { sandbox, type Sandbox } from './ingest-helpers.js';
import { KEY, PRIVACY_PLAN } from './ingest-privacy-fixtures.js';

const privacy = (over: Partial<PrivacyConfig> = {}): PrivacyConfig => ({ ...DEFAULT_PRIVACY_CONFIG, ...over });

/** Python as the oracle: sha256 of prefixed values and HMAC-SHA256 with a key. */
function python(code: string, input: unknown): unknown {
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', `import sys, json, hashlib, hmac\nd = json.load(sys.stdin)\n${code}`], { input: JSON.stringify(input) }).toString());
}

const pv = (user: string, iso: string, props: Record<string, unknown> = {}): EventRecord => ({ user_id: user, event: 'page_view', timestamp: iso, properties: { path: '/', ...props } });
const consent = (user: string, iso: string, granted: boolean, purpose = 'analytics'): EventRecord => ({
  user_id: user,
  event: '$consent',
  timestamp: iso,
  properties: { purpose, granted, source: 'banner' },
});

let box: Sandbox;
beforeEach(async () => {
  box = await sandbox();
});
afterEach(async () => {
  await box.close();
});

async function stored(where = `event = 'page_view'`): Promise<Record<string, unknown>[]> {
  return box.rows(`SELECT user_id, epoch_ms(ts) AS ts, p_email AS email, p_age AS age, p_ip AS ip, p_client_ip AS client_ip, event_id FROM events WHERE ${where} ORDER BY user_id, ts`);
}

describe('pii at ingest', () => {
  it('stores SHA-256 of the prefixed value by default (no key), and drops pii numbers, counting each field', async () => {
    const emails = ['a@example.com', 'b@example.com', 'ünï@example.com'];
    const report = await ingestEventRecords(
      box.store,
      emails.map((email, i) => pv(`u${i}`, `2024-01-0${i + 1}T00:00:00Z`, { email, age: 30 + i })),
      PRIVACY_PLAN,
    );
    const expected = python(`print(json.dumps([hashlib.sha256((d['p'] + e).encode('utf-8')).hexdigest() for e in d['e']]))`, { p: PII_HASH_PREFIX, e: emails });
    expect((await stored()).map((r) => r.email)).toEqual(expected);
    expect((await stored()).map((r) => r.age)).toEqual([null, null, null]);
    expect(report.stored).toBe(3);
    expect(report.privacy).toMatchObject({ piiHashed: { email: 3 }, piiDropped: { age: 3 } });
  });

  it('uses HMAC-SHA256 with the pseudonymization key when one is configured', async () => {
    const key = Buffer.from(KEY);
    await ingestEventRecords(box.store, [pv('u1', '2024-01-01T00:00:00Z', { email: 'a@example.com' })], PRIVACY_PLAN, {
      privacy: privacy({ pseudonymize: { keyEnv: 'K' } }),
      pseudonymKey: key,
    });
    const expected = python(`print(json.dumps(hmac.new(d['k'].encode(), d['v'].encode(), hashlib.sha256).hexdigest()))`, { k: KEY, v: 'a@example.com' });
    expect((await stored())[0]!.email).toBe(expected);
  });

  it('drops pii values with privacy.pii: drop, counted per field, for traits too', async () => {
    const report = await ingestEventRecords(box.store, [pv('u1', '2024-01-01T00:00:00Z', { email: 'a@x', age: 3 }), pv('u2', '2024-01-02T00:00:00Z')], PRIVACY_PLAN, {
      privacy: privacy({ pii: 'drop' }),
    });
    expect((await stored()).map((r) => r.email)).toEqual([null, null]);
    expect(report.privacy).toMatchObject({ piiDropped: { email: 1, age: 1 }, piiHashed: {} });
    const profiles = await ingestProfileRecords(box.store, [{ user_id: 'u1', traits: { email: 'a@x', plan: 'pro' } }], PRIVACY_PLAN, { privacy: privacy({ pii: 'drop' }) });
    expect(profiles.privacy).toMatchObject({ piiDropped: { email: 1 } });
    expect(await box.rows(`SELECT t_email AS email, t_plan AS plan FROM profiles`)).toEqual([{ email: null, plan: 'pro' }]);
  });
});

describe('IP addresses at ingest', () => {
  it('truncates IPv4 to /24 and IPv6 to /48, drops invalid values, and treats a string field named ip as one', async () => {
    const rows = [
      pv('u1', '2024-01-01T00:00:00Z', { ip: '192.0.2.77', client_ip: '2001:db8:85a3:8d3:1319:8a2e:370:7348' }),
      pv('u2', '2024-01-02T00:00:00Z', { ip: '::ffff:10.1.2.3', client_ip: 'not an address' }),
      pv('u3', '2024-01-03T00:00:00Z', { ip: '10.0.0.1 ', client_ip: '2001:db8::1' }),
    ];
    const report = await ingestEventRecords(box.store, rows, PRIVACY_PLAN);
    expect((await stored()).map((r) => [r.ip, r.client_ip])).toEqual([
      ['192.0.2.0', '2001:db8:85a3::'],
      ['10.1.2.0', null],
      [null, '2001:db8::'],
    ]);
    expect(report.privacy).toMatchObject({ ipTruncated: { ip: 2, client_ip: 2 }, ipInvalid: { ip: 1, client_ip: 1 } });
    // The stored value is what the pure function gives, for every input.
    expect((await stored()).map((r) => r.ip)).toEqual(rows.map((r) => truncateIp(String(r.properties!.ip))));
  });

  it('drops IP values with privacy.ip: drop, and truncates a trait named ip_address', async () => {
    const report = await ingestEventRecords(box.store, [pv('u1', '2024-01-01T00:00:00Z', { ip: '192.0.2.1', client_ip: '192.0.2.2' })], PRIVACY_PLAN, { privacy: privacy({ ip: 'drop' }) });
    expect((await stored()).map((r) => [r.ip, r.client_ip])).toEqual([[null, null]]);
    expect(report.privacy).toMatchObject({ ipDropped: { ip: 1, client_ip: 1 } });
    const p = await ingestProfileRecords(box.store, [{ user_id: 'u1', traits: { ip_address: '198.51.100.200' } }], PRIVACY_PLAN);
    expect(p.privacy).toMatchObject({ ipTruncated: { ip_address: 1 } });
    expect(await box.rows(`SELECT t_ip_address AS ip FROM profiles`)).toEqual([{ ip: '198.51.100.0' }]);
  });

  it('parses the ip flag with paths and round-trips it through planToYaml, false included', async () => {
    const { planToYaml } = await import('../src/schema/tracking-plan.js');
    const plan = parsePlan({ traits: { ip: { type: 'string', ip: false }, last_ip: { type: 'string', ip: true } } });
    expect(parsePlan(planToYaml(plan))).toEqual(plan);
    expect(() => parsePlan({ traits: { n: { type: 'number', ip: true } } })).toThrowError(
      expect.objectContaining({ details: [expect.objectContaining({ path: 'plan.traits.n.ip' })] }),
    );
    expect(() => parsePlan({ traits: { n: { type: 'string', ip: 'yes' } } })).toThrowError(
      expect.objectContaining({ details: [expect.objectContaining({ path: 'plan.traits.n.ip', message: 'expected true or false' })] }),
    );
    // ip: false opts a conventionally named field out.
    const report = await ingestProfileRecords(box.store, [{ user_id: 'u1', traits: { ip: '192.0.2.9' } }], plan);
    expect(await box.rows(`SELECT t_ip AS ip FROM profiles`)).toEqual([{ ip: '192.0.2.9' }]);
    expect(report.privacy?.ipTruncated).toEqual({});
  });
});

describe('pseudonymization', () => {
  it('HMAC-SHA256 reproduces RFC 4231 test case 2', () => {
    expect(pseudonymizeUserId(Buffer.from('Jefe'), 'what do ya want for nothing?')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('stores HMAC(key, id) for every user id, as Python computes it, and re-ingest adds nothing', async () => {
    const key = Buffer.from(KEY);
    const users = ['alice', 'bob', 'émile'];
    const records = users.map((u, i) => pv(u, `2024-01-0${i + 1}T00:00:00Z`));
    const options = { privacy: privacy({ pseudonymize: { keyEnv: 'K' } }), pseudonymKey: key };
    const report = await ingestEventRecords(box.store, records, PRIVACY_PLAN, options);
    const expected = python(`print(json.dumps(sorted(hmac.new(d['k'].encode(), u.encode('utf-8'), hashlib.sha256).hexdigest() for u in d['u'])))`, { k: KEY, u: users });
    expect((await box.rows(`SELECT user_id FROM users ORDER BY user_id`)).map((r) => r.user_id)).toEqual(expected);
    expect((await stored()).map((r) => r.user_id).sort()).toEqual(expected);
    expect(report.privacy?.pseudonymized).toBe(3);
    // Content-hash ids are computed over the stored (pseudonymized) values: stable across runs.
    const again = await ingestEventRecords(box.store, records, PRIVACY_PLAN, options);
    expect(again).toMatchObject({ stored: 0, duplicates: 3 });
    const ids = (await stored()).map((r) => String(r.event_id));
    expect(ids.every((id) => id.startsWith('h:'))).toBe(true);
  });

  it("maps every id inside a caller's transaction too (staged row ids then start at a large base)", async () => {
    const key = Buffer.from(KEY);
    const users = Array.from({ length: 50 }, (_, i) => `user-${i}`);
    await box.store.transaction(() =>
      ingestEventRecords(box.store, users.map((u) => pv(u, '2024-01-01T00:00:00Z')), PRIVACY_PLAN, { privacy: privacy({ pseudonymize: { keyEnv: 'K' } }), pseudonymKey: key }),
    );
    expect((await box.rows(`SELECT user_id FROM events ORDER BY user_id`)).map((r) => r.user_id)).toEqual(users.map((u) => pseudonymizeUserId(key, u)).sort());
  });

  it('refuses a workspace that pseudonymizes without a key', async () => {
    await expect(ingestEventRecords(box.store, [pv('u', '2024-01-01T00:00:00Z')], PRIVACY_PLAN, { privacy: privacy({ pseudonymize: { keyEnv: 'K' } }) })).rejects.toMatchObject({
      code: 'PRIVACY_KEY_INVALID',
    });
    expect(await box.rows(`SELECT count(*)::INTEGER AS n FROM events`)).toEqual([{ n: 0 }]);
  });

  it('resolves the key from the environment or a file outside the data folder, refusing bad keys with the setting named', () => {
    const ws = { dataDir: path.join(box.dir, 'data'), workspaceDir: box.dir };
    const env = (keyEnv: string) => ({ ...ws, privacy: { pseudonymize: { keyEnv } } });
    const file = (keyFile: string) => ({ ...ws, privacy: { pseudonymize: { keyFile } } });
    const fail = (f: () => unknown, setting: string, text: RegExp) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(StrataError);
        expect((e as StrataError).code).toBe('PRIVACY_KEY_INVALID');
        expect((e as StrataError).details[0]!.path).toBe(setting);
        expect(`${(e as StrataError).message} ${(e as StrataError).details[0]!.message}`).toMatch(text);
        return;
      }
      throw new Error('expected PRIVACY_KEY_INVALID');
    };
    expect(resolvePseudonymKey({ ...ws, privacy: { pseudonymize: null } }, {})).toBeNull();
    expect(resolvePseudonymKey(env('K'), { K: KEY })!.toString()).toBe(KEY);
    fail(() => resolvePseudonymKey(env('K'), {}), 'privacy.pseudonymize.key_env', /K is not set/);
    fail(() => resolvePseudonymKey(env('K'), { K: '' }), 'privacy.pseudonymize.key_env', /K is empty/);
    fail(() => resolvePseudonymKey(env('K'), { K: 'short' }), 'privacy.pseudonymize.key_env', /5 bytes; expected at least 32/);
    mkdirSync(ws.dataDir, { recursive: true });
    writeFileSync(path.join(ws.dataDir, 'key'), KEY);
    fail(() => resolvePseudonymKey(file('data/key'), {}), 'privacy.pseudonymize.key_file', /inside the data folder/);
    writeFileSync(path.join(box.dir, 'key'), `${KEY}\n`);
    expect(resolvePseudonymKey(file('key'), {})!.toString()).toBe(KEY);
    fail(() => resolvePseudonymKey(file('missing'), {}), 'privacy.pseudonymize.key_file', /cannot be read/);
  });
});

describe('suppression', () => {
  it('refuses and counts the rows of suppressed users, valid or not, and writes none of them to the rejects file', async () => {
    const key = Buffer.from(KEY);
    const gone = pseudonymizeUserId(key, 'gone');
    await box.store.execute(`INSERT INTO suppressions VALUES ('${suppressionHash(gone)}', now()::TIMESTAMP, 1)`);
    const rejects = box.rejectsPath();
    const report = await ingestEventRecords(
      box.store,
      [pv('gone', '2024-01-01T00:00:00Z'), { user_id: 'gone', event: 'page_view', timestamp: 'not a time' }, pv('kept', '2024-01-01T00:00:00Z'), { user_id: 'kept', event: 'page_view', timestamp: 'bad' }],
      PRIVACY_PLAN,
      { privacy: privacy({ pseudonymize: { keyEnv: 'K' } }), pseudonymKey: key, rejectsPath: rejects },
    );
    expect(report).toMatchObject({ read: 4, stored: 1, rejected: 1, duplicates: 0 });
    expect(report.privacy?.suppressed).toBe(2);
    expect(box.rejects().map((r) => r.line)).toEqual([4]);
    expect(JSON.stringify(box.rejects())).not.toContain('gone');
    expect(await box.rows(`SELECT count(*)::INTEGER AS n FROM users WHERE user_id = '${gone}'`)).toEqual([{ n: 0 }]);
    const profiles = await ingestProfileRecords(box.store, [{ user_id: 'gone', traits: { plan: 'pro' } }], PRIVACY_PLAN, { privacy: privacy({ pseudonymize: { keyEnv: 'K' } }), pseudonymKey: key });
    expect(profiles).toMatchObject({ read: 1, stored: 0, rejected: 0 });
    expect(profiles.privacy?.suppressed).toBe(1);
    expect(await box.rows(`SELECT count(*)::INTEGER AS n FROM profiles`)).toEqual([{ n: 0 }]);
  });
});

/** Hand-worked reference: is analytics denied for `user` at `t` given the records (ts <= t; a denial wins at one instant)? */
function deniedAt(records: readonly { user: string; t: number; granted: boolean }[], user: string, t: number, byDefault: boolean): boolean {
  const before = records.filter((r) => r.user === user && r.t <= t);
  if (before.length === 0) return !byDefault;
  const last = Math.max(...before.map((r) => r.t));
  return before.some((r) => r.t === last && !r.granted);
}

describe('analytics consent at ingest', () => {
  it('discards events from an opt-out on, across files and against stored records, and stores $consent events', async () => {
    // Stored first: u1 opted out on Jan 10.
    await ingestEventRecords(box.store, [consent('u1', '2024-01-10T00:00:00Z', false)], PRIVACY_PLAN);
    // One run, two files: events in one, u1's re-grant on Jan 20 and u2's opt-out on Jan 15 in the other.
    const events = box.file(
      'events.jsonl',
      ['u1', 'u2']
        .flatMap((u) => ['2024-01-05', '2024-01-10', '2024-01-12', '2024-01-15', '2024-01-20', '2024-01-25'].map((d) => pv(u, `${d}T00:00:00Z`)))
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const consents = box.file('consent.jsonl', [consent('u1', '2024-01-20T00:00:00Z', true), consent('u2', '2024-01-15T00:00:00Z', false), consent('u2', '2024-01-15T00:00:00Z', true)].map((r) => JSON.stringify(r)).join('\n'));
    const report = await ingestFiles(box.store, { kind: 'events', files: [events, consents], plan: PRIVACY_PLAN, rejectsPath: box.rejectsPath() });
    const records = [
      { user: 'u1', t: Date.parse('2024-01-10T00:00:00Z'), granted: false },
      { user: 'u1', t: Date.parse('2024-01-20T00:00:00Z'), granted: true },
      { user: 'u2', t: Date.parse('2024-01-15T00:00:00Z'), granted: false },
      { user: 'u2', t: Date.parse('2024-01-15T00:00:00Z'), granted: true },
    ];
    const all = ['u1', 'u2'].flatMap((u) => ['2024-01-05', '2024-01-10', '2024-01-12', '2024-01-15', '2024-01-20', '2024-01-25'].map((d) => ({ u, t: Date.parse(`${d}T00:00:00Z`) })));
    const kept = all.filter((e) => !deniedAt(records, e.u, e.t, true));
    expect((await stored()).map((r) => [r.user_id, Number(r.ts)])).toEqual(kept.map((e) => [e.u, e.t]));
    // u1: Jan 5, 20, 25; u2: Jan 5, 10, 12 (at Jan 15 the denial wins, and holds on).
    expect(kept).toHaveLength(6);
    expect(report).toMatchObject({ read: 15, stored: 9, rejected: 0, duplicates: 0 });
    expect(report.privacy).toMatchObject({ noConsent: 6, removedAfterOptOut: 0 });
    expect(await box.rows(`SELECT count(*)::INTEGER AS n FROM events WHERE event = '$consent'`)).toEqual([{ n: 4 }]);
  });

  it('removes stored events a newly ingested opt-out covers, in the same run, and keeps first_event_at', async () => {
    await ingestEventRecords(box.store, ['2024-01-01', '2024-02-01', '2024-03-01'].map((d) => pv('u1', `${d}T00:00:00Z`)), PRIVACY_PLAN);
    const report = await ingestEventRecords(box.store, [consent('u1', '2023-12-01T00:00:00Z', false), consent('u1', '2024-02-01T00:00:00Z', true), consent('u1', '2024-02-15T00:00:00Z', false)], PRIVACY_PLAN);
    expect(report.privacy).toMatchObject({ removedAfterOptOut: 2 });
    expect((await stored()).map((r) => new Date(Number(r.ts)).toISOString())).toEqual(['2024-02-01T00:00:00.000Z']);
    expect(await box.rows(`SELECT first_event_at FROM users WHERE user_id = 'u1'`)).toEqual([{ first_event_at: new Date('2023-12-01T00:00:00Z') }]);
    const [run] = await box.rows(`SELECT privacy FROM ingest_runs ORDER BY finished_at DESC LIMIT 1`);
    expect(JSON.parse(String(run!.privacy))).toMatchObject({ removedAfterOptOut: 2, noConsent: 0 });
  });

  it('stores events only after a grant when the workspace denies analytics by default', async () => {
    const denied = privacy({ consentDefaults: { ...DEFAULT_PRIVACY_CONFIG.consentDefaults, analytics: false } });
    const report = await ingestEventRecords(
      box.store,
      [pv('u1', '2024-01-01T00:00:00Z'), consent('u1', '2024-01-02T00:00:00Z', true), pv('u1', '2024-01-02T00:00:00Z'), pv('u2', '2024-01-03T00:00:00Z')],
      PRIVACY_PLAN,
      { privacy: denied },
    );
    expect((await stored()).map((r) => [r.user_id, new Date(Number(r.ts)).toISOString()])).toEqual([['u1', '2024-01-02T00:00:00.000Z']]);
    expect(report.privacy?.noConsent).toBe(2);
    expect(await box.rows(`SELECT user_id FROM users ORDER BY user_id`)).toEqual([{ user_id: 'u1' }]);
  });

  it('refuses a workspace that denies analytics by default when the plan cannot record consent', async () => {
    const plan = parsePlan({ events: { page_view: { properties: { path: 'string' } } } });
    const denied = privacy({ consentDefaults: { ...DEFAULT_PRIVACY_CONFIG.consentDefaults, analytics: false } });
    await expect(ingestEventRecords(box.store, [pv('u1', '2024-01-01T00:00:00Z')], plan, { privacy: denied })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      details: expect.arrayContaining([expect.objectContaining({ message: expect.stringContaining('$consent') })]),
    });
    // Granted by default, a plan without $consent simply does not enforce consent at ingest.
    expect(await ingestEventRecords(box.store, [pv('u1', '2024-01-01T00:00:00Z')], plan)).toMatchObject({ stored: 1 });
  });

  it('turns profile consent traits into $consent events at the run instant, and an opt-out removes later events', async () => {
    await ingestEventRecords(box.store, [pv('u1', '2099-01-01T00:00:00Z'), pv('u2', '2099-01-01T00:00:00Z')], PRIVACY_PLAN);
    const before = Date.now();
    const report = await ingestProfileRecords(
      box.store,
      [
        { user_id: 'u1', traits: { consent_analytics: false, consent_marketing: true } },
        { user_id: 'u2', traits: { plan: 'pro' } },
      ],
      PRIVACY_PLAN,
    );
    const rows = await box.rows(`SELECT user_id, epoch_ms(ts) AS ts, p_purpose AS purpose, p_granted AS granted, p_source AS source FROM events WHERE event = '$consent' ORDER BY purpose`);
    expect(rows.map((r) => [r.user_id, r.purpose, r.granted, r.source])).toEqual([
      ['u1', 'analytics', false, 'profile'],
      ['u1', 'marketing', true, 'profile'],
    ]);
    expect(Number(rows[0]!.ts)).toBeGreaterThanOrEqual(before - 1000);
    expect(Number(rows[0]!.ts)).toBeLessThanOrEqual(Date.now());
    expect(report.privacy).toMatchObject({ consentFromProfiles: 2, removedAfterOptOut: 1 });
    expect((await stored()).map((r) => r.user_id)).toEqual(['u2']);
  });
});

describe('the strata init template', () => {
  it('offers a privacy section and a $consent declaration that read back once uncommented', async () => {
    const { strataYamlTemplate } = await import('../src/config/strata-yaml.js');
    const { parse } = await import('yaml');
    const { parsePrivacySection } = await import('../src/privacy/privacy-config.js');
    const { consentPlanProblems } = await import('../src/privacy/consent/consent-event.js');
    const lines = strataYamlTemplate().split('\n');
    const block = (first: string, indent: string) => {
      const start = lines.findIndex((l) => l === first);
      expect(start).toBeGreaterThan(0);
      const out: string[] = [];
      for (const l of lines.slice(start)) {
        if (!l.startsWith(indent) || l.trim() === indent.trim()) break;
        out.push(l.slice(indent.length));
      }
      return parse(out.join('\n'));
    };
    const errors: string[] = [];
    const config = parsePrivacySection(block('# privacy:', '# ').privacy, (p, m) => errors.push(`${p}: ${m}`));
    expect(errors).toEqual([]);
    expect(config).toMatchObject({ pii: 'hash', ip: 'truncate', pseudonymize: { keyEnv: 'STRATA_PSEUDONYM_KEY' }, consentDefaults: { analytics: true, personalization: false, marketing: false } });
    const events = block('  #   $consent:', '  #   ');
    const plan = parsePlan({ events });
    expect(consentPlanProblems(plan)).toEqual([]);
    expect(plan.events.page_view!.properties.client_ip).toEqual({ type: 'string', ip: true });
  });
});
