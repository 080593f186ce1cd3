/**
 * Consent (issue 7) outside the spec vectors: the language's errors for `{consent: PURPOSE}`
 * and targeting purposes (exact paths and messages), the IR the front end builds (defaults
 * from the SegmentContext, targeting segments wrapped, referenced ones too), the library
 * API (setConsent through ingest, history, state, the audit record) and registry snapshots
 * on DuckDB, and `strata privacy consent` end to end (with experiment targeting and a
 * pseudonymizing workspace). The oracle throughout is the rule in
 * src/privacy/consent/consent-event.ts, worked by hand for each case below.
 * (spec/segments/consent.json holds the engines to the same rule on DuckDB, ClickHouse and the stream.)
 */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWorkspace, loadConfig, openStore } from '../src/config/index.js';
import { isStrataError } from '../src/errors/errors.js';
import { readAuditLog } from '../src/governance/audit-log.js';
import { consentHistory, consentState, setConsent } from '../src/privacy/consent/index.js';
import { DEFAULT_PRIVACY_CONFIG } from '../src/privacy/privacy-config.js';
import { suppressionHash } from '../src/privacy/suppression.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { buildSegmentIR, validateSegment, type SegmentDefinition } from '../src/segments/language/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { cli, cliJson } from './cli-helpers.js';

const CONSENT = { properties: { purpose: 'string', granted: 'boolean', source: 'string' } };
const PLAN = parsePlan({ events: { $consent: CONSENT, view: {} }, traits: { plan: 'string' } });
const NO_CONSENT_PLAN = parsePlan({ events: { view: {} }, traits: { plan: 'string' } });
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 5, 1);

const def = (match: unknown, extra: Record<string, unknown> = {}) => ({ key: 'subject', name: 'Subject', objective: 'other', rationale: 'consent test', owner: 'privacy', match, ...extra });

/** The SEGMENT_INVALID details of validating `raw`, as [path, message] pairs. */
function errorsOf(raw: unknown, plan = PLAN): [string | undefined, string][] {
  try {
    validateSegment(raw, plan);
  } catch (e) {
    if (isStrataError(e) && e.code === 'SEGMENT_INVALID') return e.details.map((d) => [d.path, d.message]);
    throw e;
  }
  throw new Error('expected SEGMENT_INVALID');
}

describe('the consent condition in the language', () => {
  it('names the closest purpose for a typo, at the exact path', () => {
    expect(errorsOf(def({ all: [{ did: 'view' }, { consent: 'marketting' }] }))).toEqual([
      ['match.all[1].consent', 'unknown consent purpose "marketting" (did you mean "marketing"?); expected one of analytics, personalization, marketing'],
    ]);
  });

  it('rejects a purpose that is not a string, and extra keys', () => {
    expect(errorsOf(def({ consent: true }))).toEqual([['match.consent', 'expected a consent purpose: analytics, personalization or marketing, got true']]);
    expect(errorsOf(def({ consent: 'marketing', eq: true }))[0]).toEqual(['match.eq', 'unknown key; expected one of consent']);
  });

  it('requires the plan to declare $consent, naming the fix', () => {
    expect(errorsOf(def({ not: { consent: 'analytics' } }), NO_CONSENT_PLAN)).toEqual([
      [
        'match.not.consent',
        '{consent: analytics} reads consent records: consent is recorded as $consent events, but the tracking plan does not declare $consent; add to strata.yaml under plan.events:  "$consent": {properties: {purpose: string, granted: boolean, source: string}}',
      ],
    ]);
    const wrongType = parsePlan({ events: { $consent: { properties: { purpose: 'string', granted: 'string', source: 'string' } } } });
    expect(errorsOf(def({ consent: 'marketing' }), wrongType)[0]![1]).toContain('$consent needs the boolean property "granted", but the plan declares it string');
  });

  it('requires $consent for a targeting purpose, at path purpose; analytics segments do not need it', () => {
    expect(errorsOf(def({ did: 'view' }, { purpose: 'marketing' }), NO_CONSENT_PLAN)).toEqual([
      [
        'purpose',
        'a marketing segment only has members who granted marketing consent, so it reads consent records: consent is recorded as $consent events, but the tracking plan does not declare $consent; add to strata.yaml under plan.events:  "$consent": {properties: {purpose: string, granted: boolean, source: string}}',
      ],
    ]);
    expect(validateSegment(def({ did: 'view' }, { purpose: 'analytics' }), NO_CONSENT_PLAN).purpose).toBe('analytics');
  });
});

describe('consent in the IR', () => {
  const ir = (raw: unknown, context = {}, resolve: (key: string) => SegmentDefinition | undefined = () => undefined) => buildSegmentIR(validateSegment(raw, PLAN, context), PLAN, resolve, context).root;

  it('carries the default for the purpose: built in, or the context workspace defaults', () => {
    expect(ir(def({ consent: 'analytics' }))).toEqual({ kind: 'consent', purpose: 'analytics', defaultGranted: true });
    expect(ir(def({ consent: 'marketing' }))).toEqual({ kind: 'consent', purpose: 'marketing', defaultGranted: false });
    const consentDefaults = { ...DEFAULT_PRIVACY_CONFIG.consentDefaults, marketing: true };
    expect(ir(def({ consent: 'marketing' }), { consentDefaults })).toEqual({ kind: 'consent', purpose: 'marketing', defaultGranted: true });
  });

  it('wraps a targeting segment in its purpose, and a referenced one too; analytics is not wrapped', () => {
    const view = { kind: 'eventCount', filter: { event: 'view', where: [] }, window: { kind: 'all' }, cmp: { op: 'gte', value: { kind: 'number', value: 1 } } };
    const personalization = { kind: 'consent', purpose: 'personalization', defaultGranted: false };
    expect(ir(def({ did: 'view' }, { purpose: 'personalization' }))).toEqual({ kind: 'and', children: [personalization, view] });
    expect(ir(def({ did: 'view' }, { purpose: 'analytics' }))).toEqual(view);
    const base = validateSegment({ ...def({ did: 'view' }, { purpose: 'personalization' }), key: 'base' }, PLAN);
    expect(ir(def({ not: { segment: 'base' } }), {}, (k) => (k === 'base' ? base : undefined))).toEqual({ kind: 'not', child: { kind: 'and', children: [personalization, view] } });
  });
});

describe('the library API on DuckDB', () => {
  let store: DuckDbStore;
  beforeAll(async () => {
    store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    await store.applyPlan(PLAN);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('records consent through ingest with an audit record, and reads history and state as of any instant', async () => {
    const config = { plan: PLAN };
    const first = await setConsent(config, store, { userId: 'u1', purpose: 'marketing', granted: true, source: 'banner', atMs: T0, actor: 'ana' });
    expect(first.ingest.stored).toBe(1);
    await setConsent(config, store, { userId: 'u1', settings: [{ purpose: 'marketing', granted: false }, { purpose: 'personalization', granted: true }], atMs: T0 + 2 * DAY });
    // The same records again: ingest dedupes by content hash, and the audit log still says who tried.
    const again = await setConsent(config, store, { userId: 'u1', purpose: 'personalization', granted: true, atMs: T0 + 2 * DAY });
    expect({ stored: again.ingest.stored, duplicates: again.ingest.duplicates }).toEqual({ stored: 0, duplicates: 1 });

    const history = await consentHistory(store, 'u1');
    expect(history).toEqual([
      { atMs: T0, purpose: 'marketing', granted: true, source: 'banner' },
      { atMs: T0 + 2 * DAY, purpose: 'marketing', granted: false, source: 'api' },
      { atMs: T0 + 2 * DAY, purpose: 'personalization', granted: true, source: 'api' },
    ]);
    const defaults = DEFAULT_PRIVACY_CONFIG.consentDefaults;
    const before = consentState(history, defaults, T0 + DAY);
    expect(before.marketing).toEqual({ granted: true, from: 'record', record: history[0] });
    expect(before.personalization).toEqual({ granted: false, from: 'default', record: null });
    expect(before.analytics).toEqual({ granted: true, from: 'default', record: null });
    // A record counts from the next millisecond: exactly at its instant it is not there yet.
    expect(consentState(history, defaults, T0 + 2 * DAY).marketing.granted).toBe(true);
    const after = consentState(history, defaults, T0 + 2 * DAY + 1);
    expect([after.marketing.granted, after.personalization.granted]).toEqual([false, true]);

    const audit = await readAuditLog(store, {});
    const sets = audit.filter((a) => a.action === 'consent.set');
    expect(sets.map((a) => [a.actor, a.target])).toEqual([
      ['ana', `user:${suppressionHash('u1')}`],
      ['library', `user:${suppressionHash('u1')}`],
      ['library', `user:${suppressionHash('u1')}`],
    ]);
    expect(sets[0]!.detail).toMatchObject({ settings: [{ purpose: 'marketing', granted: true }], source: 'banner', stored: 1 });
  });

  it('refuses bad requests and a plan without $consent', async () => {
    const fails = async (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (isStrataError(e) ? `${e.code}: ${e.message}` : String(e)));
    expect(await fails(setConsent({ plan: NO_CONSENT_PLAN }, store, { userId: 'u1', purpose: 'marketing', granted: true }))).toMatch(/^PLAN_INVALID: consent cannot be recorded: consent is recorded as \$consent events/);
    expect(await fails(setConsent({ plan: PLAN }, store, { userId: 'u1', purpose: 'ads' as never, granted: true }))).toBe('INPUT_INVALID: unknown consent purpose "ads"');
    expect(await fails(setConsent({ plan: PLAN }, store, { userId: 'u1', settings: [{ purpose: 'marketing', granted: true }, { purpose: 'marketing', granted: false }] }))).toBe(
      'INPUT_INVALID: consent for marketing is given twice',
    );
  });

  it('holds targeting segments to consent in registry snapshots, with the workspace defaults', async () => {
    const plain = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    try {
      await plain.applyPlan(PLAN);
      const config = { plan: PLAN };
      // u1..u4 viewed; u1 granted marketing, u2 denied it, u3 granted then denied, u4 has no record.
      const { ingestEventRecords } = await import('../src/ingest/ingest-records.js');
      await ingestEventRecords(plain, ['u1', 'u2', 'u3', 'u4'].map((u) => ({ user_id: u, event: 'view', timestamp: T0 })), PLAN);
      await setConsent(config, plain, { userId: 'u1', purpose: 'marketing', granted: true, atMs: T0 });
      await setConsent(config, plain, { userId: 'u2', purpose: 'marketing', granted: false, atMs: T0 });
      await setConsent(config, plain, { userId: 'u3', purpose: 'marketing', granted: true, atMs: T0 });
      await setConsent(config, plain, { userId: 'u3', purpose: 'marketing', granted: false, atMs: T0 + DAY });
      const segment = def({ did: 'view' }, { key: 'viewers', purpose: 'marketing' });
      const members = async (consentDefaults?: typeof DEFAULT_PRIVACY_CONFIG.consentDefaults) => {
        const registry = new SegmentRegistry(plain, PLAN, { now: () => T0 + 10 * DAY, ...(consentDefaults ? { consentDefaults } : {}) });
        await registry.add([segment as SegmentDefinition]);
        await registry.compute(['viewers'], { asOfMs: T0 + 10 * DAY });
        const ids: string[] = [];
        for await (const id of (await registry.members('viewers', { asOfMs: T0 + 10 * DAY })).ids) ids.push(id);
        return ids.sort();
      };
      expect(await members()).toEqual(['u1']);
      // Marketing granted by default: only the users whose latest record denies it are out.
      expect(await members({ ...DEFAULT_PRIVACY_CONFIG.consentDefaults, marketing: true })).toEqual(['u1', 'u4']);
    } finally {
      await plain.close();
    }
  });
});

describe('strata privacy consent', () => {
  let root: string;
  let ws: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'strata-consent-cli-'));
    ws = path.join(root, 'ws');
    await initWorkspace(ws, { plan: PLAN });
    await appendFile(path.join(ws, 'strata.yaml'), '\nprivacy:\n  consent:\n    personalization: granted\n');
    await writeFile(path.join(root, 'events.jsonl'), ['u1', 'u2'].map((u) => JSON.stringify({ user_id: u, event: 'view', timestamp: '2024-06-01T00:00:00Z' })).join('\n'));
    expect((await cli(ws, 'ingest', 'events', path.join(root, 'events.jsonl'))).code).toBe(0);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('records with --set, shows history and state with where it came from, and audits the actor', async () => {
    const set = await cliJson<Record<string, unknown>>(ws, '--actor', 'dpo', 'privacy', 'consent', 'u1', '--set', 'marketing=granted', '--set', 'analytics=denied', '--source', 'banner', '--at', '2024-06-02T00:00:00Z');
    expect(set.recorded).toMatchObject({ settings: [{ purpose: 'marketing', granted: true }, { purpose: 'analytics', granted: false }], source: 'banner', at: '2024-06-02T00:00:00.000Z', stored: 2 });
    await cliJson(ws, 'privacy', 'consent', 'u1', '--set', 'marketing=denied', '--at', '2024-06-05T00:00:00Z');

    const now = await cliJson<{ current: Record<string, unknown>; history: unknown[] }>(ws, 'privacy', 'consent', 'u1');
    expect(now.current).toEqual({
      analytics: { status: 'denied', from: 'record', at: '2024-06-02T00:00:00.000Z', source: 'banner' },
      // strata.yaml grants personalization by default.
      personalization: { status: 'granted', from: 'default', at: null, source: null },
      marketing: { status: 'denied', from: 'record', at: '2024-06-05T00:00:00.000Z', source: 'cli' },
    });
    expect(now.history).toEqual([
      { at: '2024-06-02T00:00:00.000Z', purpose: 'analytics', status: 'denied', source: 'banner' },
      { at: '2024-06-02T00:00:00.000Z', purpose: 'marketing', status: 'granted', source: 'banner' },
      { at: '2024-06-05T00:00:00.000Z', purpose: 'marketing', status: 'denied', source: 'cli' },
    ]);
    const then = await cliJson<{ current: { marketing: unknown } }>(ws, 'privacy', 'consent', 'u1', '--as-of', '2024-06-03');
    expect(then.current.marketing).toEqual({ status: 'granted', from: 'record', at: '2024-06-02T00:00:00.000Z', source: 'banner' });

    const human = await cli(ws, 'privacy', 'consent', 'u1', '--as-of', '2024-06-03');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('consent of u1 as of 2024-06-03T00:00:00.000Z');
    expect(human.stdout).toMatch(/personalization\s+granted\s+workspace default/);
    expect(human.stdout).toContain('history (3 records):');

    const config = await loadConfig({ cwd: ws, env: {}, workspace: ws });
    const store = await openStore(config);
    try {
      const sets = (await readAuditLog(store, {})).filter((a) => a.action === 'consent.set');
      expect(sets.map((a) => a.actor)).toEqual(['dpo', expect.any(String)]);
    } finally {
      await store.close();
    }
  });

  it('keeps a personalization segment to users with personalization consent, by record or workspace default', async () => {
    await writeFile(path.join(root, 'seg.yaml'), 'key: nudge\nname: Nudge\nobjective: engagement\nrationale: consent test\nowner: growth\npurpose: personalization\nmatch: {did: view}\n');
    expect((await cli(ws, 'segment', 'add', path.join(root, 'seg.yaml'))).code).toBe(0);
    await cliJson(ws, 'privacy', 'consent', 'u2', '--set', 'personalization=denied', '--at', '2024-06-03T00:00:00Z');
    // personalization is granted by default in this workspace: u1 (no record) stays, u2 denied.
    const { members } = await cliJson<{ members: string[] }>(ws, 'segment', 'members', 'nudge', '--as-of', '2024-06-10');
    expect(members.sort()).toEqual(['u1']);
    const before = await cliJson<{ members: string[] }>(ws, 'segment', 'members', 'nudge', '--as-of', '2024-06-02');
    expect(before.members.sort()).toEqual(['u1', 'u2']);
  });

  it('keeps users without the consent out of experiment targeting (experiment assign reads their $consent records)', async () => {
    const doc = {
      key: 'nudge-test',
      name: 'Nudge test',
      hypothesis: 'A nudge helps.',
      owner: 'growth',
      targeting: ['nudge'],
      variants: [{ key: 'control', weight: 1 }, { key: 'nudge', weight: 1 }],
      start: '2024-06-01',
      exposure: 'assignment',
      metrics: { primary: { key: 'views', type: 'count', event: 'view' } },
    };
    await writeFile(path.join(root, 'experiment.json'), JSON.stringify(doc));
    expect((await cli(ws, 'experiment', 'add', path.join(root, 'experiment.json'))).code).toBe(0);
    const targeted = async (user: string) =>
      (await cliJson<{ targeting: { segment: string; member: boolean }[] }>(ws, 'experiment', 'assign', 'nudge-test', user, '--as-of', '2024-06-10')).targeting;
    // u1 has personalization by the workspace default; u2 denied it on 2024-06-03.
    expect(await targeted('u1')).toMatchObject([{ segment: 'nudge', member: true }]);
    expect(await targeted('u2')).toMatchObject([{ segment: 'nudge', member: false }]);
  });

  it('explains bad --set values and misplaced options', async () => {
    const typo = await cli(ws, 'privacy', 'consent', 'u1', '--set', 'marketting=granted');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('--set: unknown consent purpose "marketting" (did you mean marketing?); expected one of analytics, personalization, marketing');
    const state = await cli(ws, 'privacy', 'consent', 'u1', '--set', 'marketing=yes');
    expect(state.stderr).toContain('--set marketing=yes: expected granted or denied');
    const alone = await cli(ws, 'privacy', 'consent', 'u1', '--source', 'banner');
    expect(alone.stderr).toContain('--source and --at go with --set');
  });
});

describe('strata privacy consent on a pseudonymizing workspace', () => {
  let root: string;
  let ws: string;
  const KEY = 'k'.repeat(64);
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'strata-consent-pseudo-'));
    ws = path.join(root, 'ws');
    await initWorkspace(ws, { plan: PLAN });
    await writeFile(path.join(root, 'key'), KEY);
    await appendFile(path.join(ws, 'strata.yaml'), '\nprivacy:\n  pseudonymize:\n    key_file: ../key\n');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('records under the pseudonym (HMAC-SHA256 of the id) and finds the user by the id as ingested', async () => {
    const { pseudonymizeUserId } = await import('../src/privacy/pseudonymize.js');
    const pseudonym = pseudonymizeUserId(Buffer.from(KEY), 'alice@example.com');
    await cliJson(ws, 'privacy', 'consent', 'alice@example.com', '--set', 'marketing=granted', '--at', '2024-06-02T00:00:00Z');
    const byId = await cliJson<{ current: { marketing: { status: string; from: string } } }>(ws, 'privacy', 'consent', 'alice@example.com');
    expect(byId.current.marketing).toMatchObject({ status: 'granted', from: 'record' });
    const byPseudonym = await cliJson<{ history: unknown[] }>(ws, 'privacy', 'consent', pseudonym, '--stored-id');
    expect(byPseudonym.history).toHaveLength(1);
    const config = await loadConfig({ cwd: ws, env: {}, workspace: ws });
    const store = await openStore(config);
    try {
      // Nothing is stored under the raw id; the audit record names the SHA-256 of the pseudonym.
      expect(await consentHistory(store, 'alice@example.com')).toEqual([]);
      expect((await consentHistory(store, pseudonym)).map((r) => r.purpose)).toEqual(['marketing']);
      const [audit] = (await readAuditLog(store, {})).filter((a) => a.action === 'consent.set');
      expect(audit!.target).toBe(`user:${suppressionHash(pseudonym)}`);
    } finally {
      await store.close();
    }
  });
});
