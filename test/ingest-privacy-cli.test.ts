/**
 * Privacy at ingest through the CLI on a DuckDB file workspace: the key comes from the
 * environment variable strata.yaml names (io.env), a missing key refuses the run, the
 * privacy line and --json carry every count (pii, IP, pseudonyms, consent, a later opt-out
 * removing a stored event, a forgotten user refused without a rejects file, a profile
 * opt-out recorded as $consent), the run record keeps them, and `strata user` still masks
 * pii traits (now holding digests). Oracle: Python's hmac for the stored ids.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../src/cli/program.js';
import { suppressionHash } from '../src/privacy/suppression.js';
import { planToYaml } from '../src/schema/tracking-plan.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { withTempDir } from './cli-helpers.js';
import { KEY, PRIVACY_PLAN } from './ingest-privacy-fixtures.js';

async function strata(cwd: string, env: Record<string, string>, ...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd, env });
  return { code, stdout, stderr };
}

function workspace(dir: string): void {
  const doc = {
    version: 1,
    data_dir: 'data',
    store: { engine: 'duckdb', path: 'strata.duckdb' },
    plan: planToYaml(PRIVACY_PLAN),
    privacy: { pii: 'hash', ip: 'truncate', pseudonymize: { key_env: 'STRATA_TEST_KEY' }, consent: { analytics: 'granted' } },
  };
  writeFileSync(path.join(dir, 'strata.yaml'), stringify(doc));
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const rows = [
    { user_id: 'alice', event: 'page_view', timestamp: '2024-01-01T00:00:00Z', properties: { path: '/', ip: '203.0.113.9', email: 'alice@example.com' } },
    { user_id: 'alice', event: '$consent', timestamp: '2024-01-02T00:00:00Z', properties: { purpose: 'analytics', granted: false, source: 'banner' } },
    { user_id: 'alice', event: 'page_view', timestamp: '2024-01-03T00:00:00Z', properties: { path: '/' } },
    { user_id: 'bob', event: 'page_view', timestamp: '2024-01-03T00:00:00Z', properties: { path: '/', ip: 'nope' } },
  ];
  writeFileSync(path.join(dir, 'events.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
  writeFileSync(path.join(dir, 'profiles.jsonl'), JSON.stringify({ user_id: 'alice', traits: { email: 'alice@example.com', plan: 'pro' } }));
  // Later: bob opts out on Jan 2 (his Jan 3 event goes), carol is forgotten, dave opts out in his profile.
  const later = [
    { user_id: 'bob', event: '$consent', timestamp: '2024-01-02T00:00:00Z', properties: { purpose: 'analytics', granted: false, source: 'settings' } },
    { user_id: 'carol', event: 'page_view', timestamp: '2024-01-04T00:00:00Z', properties: { path: '/' } },
    { user_id: 'carol', event: 'page_view', timestamp: 'not a time', properties: { path: '/' } },
  ];
  writeFileSync(path.join(dir, 'later.jsonl'), later.map((r) => JSON.stringify(r)).join('\n'));
  writeFileSync(path.join(dir, 'optout.jsonl'), JSON.stringify({ user_id: 'dave', traits: { consent_analytics: false } }));
}

const hmacOf = (id: string) =>
  execFileSync('/usr/bin/python3', ['-c', 'import sys, hmac, hashlib; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())', KEY, id]).toString().trim();

describe('strata ingest with privacy settings', () => {
  it('refuses to ingest without the key, then ingests with it, reporting and recording every count', async () => {
    await withTempDir('strata-privacy-cli-', async (dir) => {
      workspace(dir);
      const refused = await strata(dir, {}, 'ingest', 'events', 'events.jsonl');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('STRATA_TEST_KEY is not set');
      expect(refused.stderr).toContain('privacy.pseudonymize.key_env');
      const short = await strata(dir, { STRATA_TEST_KEY: 'too short' }, 'ingest', 'events', 'events.jsonl');
      expect(short.code).toBe(2);
      expect(short.stderr).toContain('expected at least 32');

      const env = { STRATA_TEST_KEY: KEY };
      const human = await strata(dir, env, 'ingest', 'events', 'events.jsonl');
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/read 4 · stored 3 · rejected 0/);
      expect(human.stdout).toContain('privacy: no consent 1 · pseudonymized 4 · pii hashed 1 (email 1) · ip truncated 1 (ip 1) · invalid ip dropped 1 (ip 1)');

      const json = await strata(dir, env, 'ingest', 'profiles', 'profiles.jsonl', '--json');
      expect(json.code, json.stderr).toBe(0);
      const report = JSON.parse(json.stdout);
      expect(report.privacy).toMatchObject({ pseudonymized: 1, piiHashed: { email: 1 }, suppressed: 0, noConsent: 0 });

      const alice = hmacOf('alice');
      const user = await strata(dir, env, 'user', alice, '--json');
      expect(user.code, user.stderr).toBe(0);
      expect(JSON.parse(user.stdout).traits.find((t: { name: string }) => t.name === 'email')).toMatchObject({ pii: true, masked: true, value: null });

      const dbPath = path.join(dir, 'data', 'strata.duckdb');
      const forget = await DuckDbStore.open({ path: dbPath });
      await forget.execute(`INSERT INTO suppressions VALUES ('${suppressionHash(hmacOf('carol'))}', now()::TIMESTAMP, 1)`);
      await forget.close();
      const later = await strata(dir, env, 'ingest', 'events', 'later.jsonl', '--json');
      expect(later.code, later.stderr).toBe(0);
      expect(JSON.parse(later.stdout)).toMatchObject({ read: 3, stored: 1, rejected: 0, rejectsPath: null, privacy: { suppressed: 2, removedAfterOptOut: 1 } });
      const optOut = await strata(dir, env, 'ingest', 'profiles', 'optout.jsonl');
      expect(optOut.code, optOut.stderr).toBe(0);
      expect(optOut.stdout).toContain('privacy: consent records from profiles 1 · pseudonymized 1');

      const store = await DuckDbStore.open({ path: dbPath });
      try {
        expect(await store.query(`SELECT count(*)::INTEGER AS n FROM events WHERE user_id = '${hmacOf('bob')}' AND event = 'page_view'`)).toEqual([{ n: 0 }]);
        expect(await store.query(`SELECT p_source AS source, p_granted AS granted FROM events WHERE user_id = '${hmacOf('dave')}'`)).toEqual([{ source: 'profile', granted: false }]);
        expect((await store.query(`SELECT DISTINCT user_id FROM events ORDER BY user_id`)).map((r) => r.user_id)).toEqual([alice, hmacOf('bob'), hmacOf('dave')].sort());
        const runs = await store.query(`SELECT kind, privacy FROM ingest_runs ORDER BY started_at`);
        expect(runs.map((r) => [r.kind, JSON.parse(String(r.privacy)).pseudonymized])).toEqual([
          ['events', 4],
          ['profiles', 1],
          ['events', 3],
          ['profiles', 1],
        ]);
        expect(JSON.parse(String(runs[2]!.privacy))).toMatchObject({ suppressed: 2, removedAfterOptOut: 1 });
        expect(JSON.parse(String(runs[0]!.privacy))).toMatchObject({ noConsent: 1, ipInvalid: { ip: 1 }, ipTruncated: { ip: 1 } });
      } finally {
        await store.close();
      }
    });
  }, 60_000);
});
