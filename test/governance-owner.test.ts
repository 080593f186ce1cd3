/**
 * Segments require an owner (issue 7: "objective, rationale and owner are required on
 * segments and shown in reports"): a new definition without one is refused with its path;
 * a version stored before the requirement still loads, computes, is referenced and is shown
 * with owner "(none)"; `segment list`, `show` and `report` show the objective, rationale
 * and owner, for people and in --json. Oracle: the definitions the test writes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWorkspace } from '../src/config/index.js';
import { StrataError } from '../src/errors/errors.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { canonicalDefinitionJson, definitionHash } from '../src/segments/language/index.js';
import { SegmentRegistry } from '../src/segments/registry/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { TABLES } from '../src/store/schema.js';
import { cli, cliJson } from './cli-helpers.js';

const PLAN = parsePlan({ events: { signup: {}, task: {} }, traits: { plan: 'string' } });
const EVENTS = [
  { user_id: 'a', event: 'signup', timestamp: '2024-01-01T00:00:00Z' },
  { user_id: 'a', event: 'task', timestamp: '2024-01-02T00:00:00Z' },
  { user_id: 'b', event: 'signup', timestamp: '2024-01-03T00:00:00Z' },
  { user_id: 'c', event: 'signup', timestamp: '2024-01-04T00:00:00Z' },
];
/** A definition as Strata stored it before owners were required. */
const LEGACY = { key: 'legacy-doers', name: 'Legacy doers', objective: 'engagement' as const, rationale: 'Stored before owners were required.', match: { did: 'task' } };

/** Insert a version the way an earlier Strata wrote it: no owner. */
function legacyInsertSql(atSql: string): string {
  return `INSERT INTO ${TABLES.segmentVersions} (key, version, definition, definition_hash, created_at) VALUES ('${LEGACY.key}', 1, '${canonicalDefinitionJson(LEGACY)}', '${definitionHash(LEGACY)}', ${atSql})`;
}

describe('owner is required on new segments; stored versions without one still load (library, DuckDB)', () => {
  it('refuses a new definition without an owner, and computes, references and lists a legacy version', async () => {
    const store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
    try {
      await store.migrate();
      const registry = new SegmentRegistry(store, PLAN);
      const error = await registry.add([{ ...LEGACY, key: 'new-doers' }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StrataError);
      expect((error as StrataError).details).toEqual([{ path: 'owner', message: 'required: expected an owner: who is accountable for the segment, a team or a person (owner: growth)' }]);

      await store.execute(legacyInsertSql('now()'));
      // A new segment may reference the legacy one; both compute.
      await registry.add([{ key: 'legacy-signups', name: 'Legacy and signed up', objective: 'other', rationale: 'r', owner: 'growth', match: { all: [{ segment: LEGACY.key }, { did: 'signup' }] } }]);
      await store.applyPlan(PLAN);
      const computed = await registry.compute(undefined, { asOfMs: Date.parse('2024-02-01') });
      expect(computed.map((c) => [c.key, c.size])).toEqual([['legacy-doers', 0], ['legacy-signups', 0]]);
      expect((await registry.list()).map((s) => [s.key, s.owner])).toEqual([['legacy-doers', null], ['legacy-signups', 'growth']]);
      expect((await registry.show(LEGACY.key)).definition.owner).toBeUndefined();
      // The next version of the legacy segment must name an owner.
      const again = await registry.add([{ ...LEGACY, match: { did: 'signup' } }]).catch((e: unknown) => e);
      expect((again as StrataError).details.map((d) => d.path)).toEqual(['owner']);
      const [next] = await registry.add([{ ...LEGACY, owner: 'product' }]);
      expect(next).toEqual({ key: LEGACY.key, version: 2, status: 'updated' });
    } finally {
      await store.close();
    }
  });
});

describe('segment list, show and report show the objective, rationale and owner (CLI)', () => {
  let root = '';
  let ws = '';
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'strata-owner-'));
    ws = path.join(root, 'ws');
    await initWorkspace(ws, { plan: PLAN });
    await writeFile(path.join(root, 'events.jsonl'), EVENTS.map((e) => JSON.stringify(e)).join('\n'));
    expect((await cli(ws, 'ingest', 'events', path.join(root, 'events.jsonl'))).code).toBe(0);
    await writeFile(path.join(root, 'doers.yaml'), 'key: doers\nname: Doers\nobjective: engagement\nrationale: >\n  Did the core task:\n  the activation benchmark.\nowner: product-analytics\nmatch: { did: task }\n');
    expect((await cli(ws, 'segment', 'add', path.join(root, 'doers.yaml'))).code).toBe(0);
    // A version stored before owners were required, written straight into the workspace's file.
    const instance = await DuckDBInstance.create(path.join(ws, 'data', 'strata.duckdb'));
    const connection = await instance.connect();
    await connection.run(legacyInsertSql('now()::TIMESTAMP'));
    connection.closeSync();
    instance.closeSync();
  }, 60_000);
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('list has an OWNER column, "(none)" for a legacy version', async () => {
    const table = await cli(ws, 'segment', 'list');
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^SEGMENT\s+NAME\s+OBJECTIVE\s+OWNER\s+VERSION/);
    expect(lines.find((l) => l.startsWith('doers'))).toMatch(/^doers\s+Doers\s+engagement\s+product-analytics\s+v1/);
    expect(lines.find((l) => l.startsWith('legacy-doers'))).toMatch(/^legacy-doers\s+Legacy doers\s+engagement\s+\(none\)\s+v1/);
    const json = await cliJson<{ key: string; owner: string | null }[]>(ws, 'segment', 'list');
    expect(json.map((s) => [s.key, s.owner])).toEqual([['doers', 'product-analytics'], ['legacy-doers', null]]);
  });

  it('show gives the owner and rationale', async () => {
    const shown = await cli(ws, 'segment', 'show', 'doers');
    expect(shown.stdout).toMatch(/^objective: engagement$/m);
    expect(shown.stdout).toMatch(/^owner: {5}product-analytics$/m);
    expect(shown.stdout).toMatch(/rationale:\n\s+Did the core task: the activation benchmark\./);
    expect((await cli(ws, 'segment', 'show', LEGACY.key)).stdout).toMatch(/^owner: {5}\(none\)$/m);
  });

  it('report opens with the name, objective, owner and rationale, for people and in --json', async () => {
    const report = await cli(ws, 'segment', 'report', 'doers', '--as-of', '2024-02-01');
    expect(report.code).toBe(0);
    const head = report.stdout.split('\n').slice(0, 4);
    expect(head[0]).toMatch(/^doers \(v1\) as of 2024-02-01T00:00:00\.000Z: 1 of 3 users \(33\.3%\)$/);
    expect(head.slice(1)).toEqual(['Doers', 'objective: engagement; owner: product-analytics', 'rationale: Did the core task: the activation benchmark.']);
    const json = await cliJson<{ name: string; objective: string; rationale: string; owner: string | null }>(ws, 'segment', 'report', 'doers', '--as-of', '2024-02-01');
    expect(json).toMatchObject({ name: 'Doers', objective: 'engagement', owner: 'product-analytics', rationale: 'Did the core task: the activation benchmark.\n' });
    const legacy = await cliJson<{ owner: string | null }>(ws, 'segment', 'report', LEGACY.key, '--as-of', '2024-02-01');
    expect(legacy.owner).toBeNull();
    expect((await cli(ws, 'segment', 'report', LEGACY.key, '--as-of', '2024-02-01')).stdout).toMatch(/^objective: engagement; owner: \(none\)$/m);
  });
});
