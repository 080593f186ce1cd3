/**
 * The store's catalogue of user-keyed tables must name every table that holds a user id,
 * so erasure and export (which walk it) cannot miss one. And migrations are versioned:
 * reopening a store applies nothing twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { MIGRATIONS } from '../src/store/duckdb/migrations.js';
import { USER_KEYED_TABLES } from '../src/store/schema.js';

describe('the DuckDB store schema', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'strata-catalogue-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('registers every table with a user column in USER_KEYED_TABLES', async () => {
    const store = await DuckDbStore.open({ path: path.join(dir, 'a.duckdb') });
    try {
      // A trait or property literally named user_id must not confuse the walk: columns are prefixed.
      await store.applyPlan(parsePlan({ events: { e: { properties: { user_id: 'string' } } }, traits: { user_id: 'string' } }));
      const rows = await store.query(
        `SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'user_id' ORDER BY table_name`,
      );
      const live = rows.map((r) => String(r.table_name));
      expect(live.length).toBeGreaterThan(0);
      expect([...USER_KEYED_TABLES.map((t) => t.table)].sort()).toEqual(live);
    } finally {
      await store.close();
    }
  });

  it('applies each migration once, in order, and reopens without re-applying', async () => {
    const file = path.join(dir, 'b.duckdb');
    const first = await DuckDbStore.open({ path: file });
    const applied = await first.query(`SELECT version FROM schema_migrations ORDER BY version`);
    await first.close();
    expect(applied.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
    const again = await DuckDbStore.open({ path: file });
    const count = await again.query(`SELECT count(*) AS n FROM schema_migrations`);
    await again.close();
    expect(Number(count[0]!.n)).toBe(MIGRATIONS.length);
  });
});
