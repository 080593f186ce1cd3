/**
 * The append-only audit log (issue 7): definition changes recorded with who, when and a
 * diff (segments, experiments, models, personas, the plan) through the CLI on a DuckDB
 * workspace; `strata audit log` and its filters; `--verify` catching a record changed or
 * removed directly in DuckDB; the audit record written in the same transaction as the
 * change; no Strata code path that updates or deletes audit rows; and the log on a
 * ClickHouse node. Oracles: the definitions the test writes (the expected diffs are read
 * off them by hand) and SHA-256 recomputed by the chain's own definition.
 */
import { readdir, readFile, writeFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { appendAudit, readAuditLog, verifyAuditLog, type AuditRecord } from '../src/governance/audit-log.js';
import { jsonDiff, diffSummary } from '../src/governance/diff.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { TABLES } from '../src/store/schema.js';
import { ClickHouseStore } from '../src/store/clickhouse/clickhouse-store.js';
import { cli, cliJson } from './cli-helpers.js';
import { CHURN_YAML, MODEL_PLAN_YAML, eventsCsv, productLog, profilesCsv } from './model-fixtures.js';
import { writeWorkspace } from './support/clickhouse-workspace.js';
import { clickhouseAvailable, startClickHouse, type LocalClickHouse } from './support/clickhouse-server.js';

const LOG = productLog(2, 240);
const PAYING = 'key: paying\nname: Paying\nobjective: monetization\nrationale: Paid plans.\nowner: growth\nmatch:\n  trait: plan\n  in: [pro, team]\n';
const EXPERIMENT = `key: upgrade-nudge
name: Upgrade nudge
hypothesis: A nudge sells more upgrades.
owner: growth
variants: [{key: control, weight: 1}, {key: nudge, weight: 1}]
start: 2026-03-01
exposure: assignment
metrics: {primary: {key: upgraded, type: conversion, event: subscription_upgraded, within: 14d}}
`;

describe('jsonDiff', () => {
  it('lists added, removed and changed paths with the old and new values', () => {
    const d = jsonDiff({ key: 'a', owner: 'x', match: { all: [{ did: 'e' }, { trait: 't', eq: 1 }] }, tags: ['p', 'q'] }, { key: 'a', match: { all: [{ did: 'f' }, { trait: 't', eq: 1 }, { not: { did: 'g' } }] }, tags: ['p'], 'odd key': 1 });
    expect(d.changed).toEqual([{ path: 'match.all[0].did', old: 'e', new: 'f' }]);
    expect(d.removed).toEqual([{ path: 'owner', value: 'x' }, { path: 'tags[1]', value: 'q' }]);
    expect(d.added).toEqual([{ path: 'match.all[2]', value: { not: { did: 'g' } } }, { path: '["odd key"]', value: 1 }]);
    expect(diffSummary(d, 3)).toBe('~match.all[0].did +match.all[2] +["odd key"] (+2 more)');
    // A first version: every top-level key added; a type change: changed at that path.
    expect(jsonDiff(undefined, { key: 'a', n: 1 }).added.map((a) => a.path)).toEqual(['key', 'n']);
    expect(jsonDiff({ a: [1] }, { a: { 0: 1 } }).changed).toEqual([{ path: 'a', old: [1], new: { 0: 1 } }]);
    expect(diffSummary(jsonDiff({ a: 1 }, { a: 1 }))).toBe('no change');
  });
});

describe('the audit log of a DuckDB workspace (CLI)', () => {
  let root = '';
  let ws = '';
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'strata-audit-'));
    await mkdir(path.join(root, 'files'));
    await mkdir(path.join(root, 'segments'));
    await writeFile(path.join(root, 'files', 'events.csv'), eventsCsv(LOG.events));
    await writeFile(path.join(root, 'files', 'profiles.csv'), profilesCsv(LOG));
    await writeFile(path.join(root, 'files', 'teams.csv'), `user_id,team\n${LOG.profiles.map((p, i) => `${p.user},${i % 2 === 0 ? 'a' : 'b'}`).join('\n')}\n`);
    await writeFile(path.join(root, 'segments', 'paying.yaml'), PAYING);
    await writeFile(path.join(root, 'churn.yaml'), CHURN_YAML);
    await writeFile(path.join(root, 'exp.yaml'), EXPERIMENT);
    ws = await writeWorkspace(path.join(root, 'ws'), 'store:\n  engine: duckdb\n', MODEL_PLAN_YAML);
    await cliJson(ws, 'ingest', 'events', '../files/events.csv');
    await cliJson(ws, 'ingest', 'profiles', '../files/profiles.csv');
    // seq 1, 2: a segment, then a new version of it; the same file again stores nothing.
    await cliJson(ws, '--actor', 'alice', 'segment', 'add', '../segments');
    await writeFile(path.join(root, 'segments', 'paying.yaml'), PAYING.replace('[pro, team]', '[team]').replace('owner: growth', 'owner: sales'));
    await cliJson(ws, '--actor', 'bob', 'segment', 'add', '../segments');
    await cliJson(ws, '--actor', 'bob', 'segment', 'add', '../segments');
    // seq 3: an experiment; seq 4, 5: a model trained twice with another C; seq 6: personas; seq 7: the plan.
    await cliJson(ws, '--actor', 'carol', 'experiment', 'add', '../exp.yaml');
    await cliJson(ws, '--actor', 'carol', 'model', 'train', '../churn.yaml');
    await writeFile(path.join(root, 'churn.yaml'), CHURN_YAML.replace('C: 0.5', 'C: 2'));
    await cliJson(ws, '--actor', 'carol', 'model', 'train', '../churn.yaml');
    await cliJson(ws, '--actor', 'dave', 'discover', 'personas', '--k', '2', '--traits', 'seats');
    await cliJson(ws, '--actor', 'erin', 'plan', 'infer', '--profiles', '../files/teams.csv', '--write');
  }, 120_000);
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('records each definition change with its actor, version and diff', async () => {
    const log = await cliJson<AuditRecord[]>(ws, 'audit', 'log');
    expect(log.map((r) => [r.seq, r.actor, r.action, r.target])).toEqual([
      [1, 'alice', 'segment.add', 'paying'],
      [2, 'bob', 'segment.add', 'paying'],
      [3, 'carol', 'experiment.add', 'upgrade-nudge'],
      [4, 'carol', 'model.train', 'churn-risk'],
      [5, 'carol', 'model.train', 'churn-risk'],
      [6, 'dave', 'personas.save', 'personas'],
      [7, 'erin', 'plan.write', 'plan'],
    ]);
    const [s1, s2, e1, m1, m2, p1, plan] = log as [AuditRecord, AuditRecord, AuditRecord, AuditRecord, AuditRecord, AuditRecord, AuditRecord];
    expect(s1.detail).toMatchObject({ version: 1, previousVersion: null });
    expect((s1.detail as { diff: { added: { path: string }[] } }).diff.added.map((a) => a.path)).toEqual(['key', 'name', 'objective', 'rationale', 'owner', 'match']);
    expect(s2.detail).toEqual({
      version: 2,
      previousVersion: 1,
      diff: { added: [], removed: [{ path: 'match.in[1]', value: 'team' }], changed: [{ path: 'owner', old: 'growth', new: 'sales' }, { path: 'match.in[0]', old: 'pro', new: 'team' }] },
    });
    expect(e1.detail).toMatchObject({ version: 1, previousVersion: null });
    expect(m1.detail).toMatchObject({ version: 1, previousVersion: null, holdout: { rows: expect.any(Number) } });
    expect(m2.detail).toMatchObject({ version: 2, previousVersion: 1, diff: { added: [], removed: [], changed: [{ path: 'params.C', old: 0.5, new: 2 }] } });
    const shown = await cliJson<{ body: { evaluation: { holdout: { auc: number } } } }>(ws, 'model', 'show', 'churn-risk');
    expect((m2.detail as { holdout: { auc: number } }).holdout.auc).toBe(shown.body.evaluation.holdout.auc);
    expect(p1.detail).toMatchObject({ version: 1, previousVersion: null, k: 2 });
    expect(plan.detail).toMatchObject({ added: { events: [], properties: [], traits: ['team'] }, diff: { added: [{ path: 'traits.team', value: 'string' }] } });
  });

  it('filters by action family, target, actor, time and count, and prints a readable table', async () => {
    const seqs = async (...args: string[]) => (await cliJson<AuditRecord[]>(ws, 'audit', 'log', ...args)).map((r) => r.seq);
    expect(await seqs('--action', 'segment')).toEqual([1, 2]);
    expect(await seqs('--action', 'model.train', '--limit', '1')).toEqual([5]);
    expect(await seqs('--target', 'churn-risk')).toEqual([4, 5]);
    expect(await seqs('--actor', 'carol')).toEqual([3, 4, 5]);
    expect(await seqs('--since', '2999-01-01')).toEqual([]);
    const table = await cli(ws, 'audit', 'log', '--action', 'segment');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SEQ\s+WHEN\s+ACTOR\s+ACTION\s+TARGET\s+DETAIL$/);
    expect(lines[2]).toMatch(/^\s*1\s+\S+Z\s+alice\s+segment\.add\s+paying\s+v1: created$/);
    expect(lines[3]).toMatch(/bob\s+segment\.add\s+paying\s+v2 \(was v1\): ~owner ~match\.in\[0\] -match\.in\[1\]$/);
    expect((await cli(ws, 'audit', 'log', '--action', 'model')).stdout).toMatch(/v2 \(was v1\): ~params\.C; holdout AUC 0\.\d{3}, log loss/);
    expect((await cli(ws, 'audit', 'log', '--limit', '0')).code).toBe(2);
  });

  it('--verify passes on the intact log, then names the record changed or removed directly in DuckDB (exit 4)', async () => {
    const ok = await cliJson<{ records: number; broken: null; head: string }>(ws, 'audit', 'log', '--verify');
    expect(ok).toMatchObject({ records: 7, broken: null });
    const log = await cliJson<AuditRecord[]>(ws, 'audit', 'log');
    expect(ok.head).toBe(log.at(-1)!.hash);
    const copy = path.join(root, 'tampered');
    // Tamper with copies of the database file, as someone with file access could.
    for (const [name, sql, seq, reason] of [
      ['update', `UPDATE ${TABLES.auditLog} SET detail = replace(detail, '"sales"', '"growth"') WHERE seq = 2`, 2, /changed/],
      ['whitespace', `UPDATE ${TABLES.auditLog} SET detail = detail || ' ' WHERE seq = 6`, 6, /changed/],
      ['delete', `DELETE FROM ${TABLES.auditLog} WHERE seq = 3`, 4, /record 3 next: records are missing/],
      ['actor', `UPDATE ${TABLES.auditLog} SET actor = 'mallory' WHERE seq = 7`, 7, /changed/],
    ] as const) {
      const wsCopy = `${copy}-${name}`;
      await mkdir(path.join(wsCopy, 'data'), { recursive: true });
      await writeFile(path.join(wsCopy, 'strata.yaml'), await readFile(path.join(ws, 'strata.yaml')));
      const dbFile = path.join(wsCopy, 'data', 'strata.duckdb');
      await writeFile(dbFile, await readFile(path.join(ws, 'data', 'strata.duckdb')));
      const instance = await DuckDBInstance.create(dbFile);
      const connection = await instance.connect();
      await connection.run(sql);
      connection.closeSync();
      instance.closeSync();
      const run = await cli(wsCopy, 'audit', 'log', '--verify');
      expect(run.code).toBe(4);
      expect(run.stderr).toMatch(new RegExp(`broken at record ${seq} `));
      expect(run.stderr).toMatch(reason);
      const json = await cli(wsCopy, 'audit', 'log', '--verify', '--json');
      expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'AUDIT_LOG_BROKEN' } });
    }
  });
});

describe('the audit record and its change are one transaction (DuckDB)', () => {
  it('a failing add stores neither versions nor records, and the library actor is the default', async () => {
    const store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    try {
      await store.migrate();
      const plan = parsePlan({ events: { signup: {} }, traits: {} });
      const registry = new SegmentRegistry(store, plan);
      const seg = (key: string, match: unknown) => ({ key, name: key, objective: 'other' as const, rationale: 'r', owner: 'qa', match });
      await registry.add([seg('a', { did: 'signup' })]);
      // b is valid, c references a missing segment: the add fails as a whole.
      await expect(registry.add([seg('b', { did: 'signup' }), seg('c', { segment: 'missing' })])).rejects.toThrow(/missing/);
      const log = await readAuditLog(store);
      expect(log.map((r) => [r.seq, r.actor, r.target])).toEqual([[1, 'library', 'a']]);
      expect((await store.query(`SELECT key FROM ${TABLES.segmentVersions}`)).map((r) => r.key)).toEqual(['a']);
      // An audit append that fails (here: its table is gone) rolls the new version back too.
      await store.execute(`ALTER TABLE ${TABLES.auditLog} RENAME TO audit_log_away`);
      await expect(registry.add([seg('b', { did: 'signup' })])).rejects.toThrow();
      await store.execute(`ALTER TABLE audit_log_away RENAME TO ${TABLES.auditLog}`);
      expect((await store.query(`SELECT key FROM ${TABLES.segmentVersions}`)).map((r) => r.key)).toEqual(['a']);
      expect((await verifyAuditLog(store)).broken).toBeNull();
    } finally {
      await store.close();
    }
  });
});

describe('append-only: no Strata code path updates or deletes audit rows', () => {
  it('src/ never names the audit table in an UPDATE, DELETE, ALTER, TRUNCATE or DROP, nor in deleteWhere', async () => {
    const offenders: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(p);
        else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
          const text = await readFile(p, 'utf8');
          const patterns = [
            /\b(UPDATE|DELETE\s+FROM|ALTER\s+TABLE|TRUNCATE(\s+TABLE)?|DROP\s+TABLE(\s+IF\s+EXISTS)?)\s+\$\{\s*TABLES\.auditLog\s*\}/i,
            /\b(UPDATE|DELETE\s+FROM|ALTER\s+TABLE|TRUNCATE(\s+TABLE)?|DROP\s+TABLE(\s+IF\s+EXISTS)?)\s+["`]?audit_log\b/i,
            /deleteWhere\(\s*TABLES\.auditLog/,
          ];
          for (const re of patterns) if (re.test(text)) offenders.push(`${path.relative(process.cwd(), p)}: ${re.source}`);
        }
      }
    };
    await walk(path.resolve(import.meta.dirname, '../src'));
    expect(offenders).toEqual([]);
  });
});

describe.skipIf(!clickhouseAvailable())('the audit log on a ClickHouse node', () => {
  let server: LocalClickHouse | undefined;
  let store: ClickHouseStore | undefined;
  beforeAll(async () => {
    server = await startClickHouse({ shards: 1 });
    store = await ClickHouseStore.open({ url: server.urls[0]!, database: `audit_${process.pid}` });
  }, 120_000);
  afterAll(async () => {
    if (store) {
      await store.dropDatabase();
      await store.close();
    }
    await server?.stop();
  });
  it('appends a chain, filters it, and verify names a record changed behind Strata\'s back', async () => {
    const plan = parsePlan({ events: { signup: {} }, traits: {} });
    const registry = new SegmentRegistry(store!, plan);
    await registry.add([{ key: 'a', name: 'A', objective: 'other', rationale: 'r', owner: 'qa', match: { did: 'signup' } }], { actor: 'alice' });
    await registry.add([{ key: 'a', name: 'A', objective: 'other', rationale: 'r', owner: 'qa', match: { did: 'signup', within: '7d' } }], { actor: 'bob' });
    await appendAudit(store!, { actor: 'carol', action: 'privacy.forget', target: 'user:abc', detail: { rows: 3 } });
    const log = await readAuditLog(store!);
    expect(log.map((r) => [r.seq, r.actor, r.action])).toEqual([[1, 'alice', 'segment.add'], [2, 'bob', 'segment.add'], [3, 'carol', 'privacy.forget']]);
    expect(log[1]!.detail).toEqual({ version: 2, previousVersion: 1, diff: { added: [{ path: 'match.within', value: '7d' }], removed: [], changed: [] } });
    expect((await readAuditLog(store!, { action: 'segment', actor: 'bob' })).map((r) => r.seq)).toEqual([2]);
    expect(await verifyAuditLog(store!)).toMatchObject({ records: 3, broken: null, head: log[2]!.hash });
    // A mutation behind Strata's back (ALTER TABLE ... DELETE, waited for).
    await store!.deleteWhere(TABLES.auditLog, 'seq = 2');
    expect((await verifyAuditLog(store!)).broken).toEqual({ seq: 3, reason: 'expected record 2 next: records are missing' });
  }, 60_000);
});
