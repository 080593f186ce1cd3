/**
 * Runs experiment assignment SQL (src/experiments/design/assignment-sql.ts) on a real
 * engine over a table of user ids, for test/experiment-hash*.test.ts: DuckDB in memory, or
 * a ClickHouse node (Debian's 18.16 in CI). Ids go into a table `hash_ids (i, id)` (DuckDB:
 * literals from the dialect; ClickHouse: JSON lines), so the hash runs over a column as
 * derived exposures do.
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { expect } from 'vitest';
import { assignVariant } from '../../src/experiments/design/assign.js';
import { randomAssignmentCase } from './experiment-hash-spec.js';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { SqlDialect } from '../../src/segments/compile/dialect.js';
import { duckdbDialect } from '../../src/segments/compile/duckdb-dialect.js';
import { clickhouseDialect } from '../../src/segments/compile/clickhouse-dialect.js';
import { bucketSql, coveredSql, hashedVariantSql, variantSql } from '../../src/experiments/design/assignment-sql.js';
import type { AssignmentDefinition } from '../../src/experiments/design/assign.js';

export interface HashEngine {
  readonly dialect: SqlDialect;
  /** Replace the ids table with these ids (row i holds ids[i]). */
  load(ids: readonly string[]): Promise<void>;
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** What the SQL says for each loaded id, in id order. */
export interface SqlAssignment {
  readonly coverageBucket: number;
  readonly variantBucket: number;
  readonly covered: boolean;
  readonly variant: string;
  /** variantSql: the variant inside coverage, null outside. */
  readonly variantOrNull: string | null;
}

export async function sqlAssignments(engine: HashEngine, def: AssignmentDefinition): Promise<SqlAssignment[]> {
  const d = engine.dialect;
  const id = d.quoteIdentifier('id');
  const rows = await engine.query(
    `SELECT i, ${bucketSql(d, def, 'coverage', id)} AS cb, ${bucketSql(d, def, 'variant', id)} AS vb, ` +
      `${coveredSql(d, def, id)} AS covered, ${hashedVariantSql(d, def, id)} AS variant, ${variantSql(d, def, id)} AS v ` +
      `FROM hash_ids ORDER BY i`,
  );
  return rows.map((r) => ({
    coverageBucket: Number(r.cb),
    variantBucket: Number(r.vb),
    covered: r.covered === true || r.covered === 1,
    variant: String(r.variant),
    variantOrNull: r.v === null ? null : String(r.v),
  }));
}

/** Buckets and variants of a column `id` (for a row whose id is NULL): cb, vb, v (variantSql), hv (hashedVariantSql). */
export function nullIdColumns(engine: HashEngine, def: AssignmentDefinition): string {
  const d = engine.dialect;
  return `${bucketSql(d, def, 'coverage', 'id')} AS cb, ${bucketSql(d, def, 'variant', 'id')} AS vb, ${variantSql(d, def, 'id')} AS v, ${hashedVariantSql(d, def, 'id')} AS hv`;
}

/** The bucket of each literal input string, through the dialect hook alone. */
export async function literalBuckets(engine: HashEngine, inputs: readonly string[]): Promise<number[]> {
  const d = engine.dialect;
  const out: number[] = [];
  for (let at = 0; at < inputs.length; at += 100) {
    const part = inputs.slice(at, at + 100);
    const rows = await engine.query(part.map((s, i) => `SELECT ${i} AS i, ${d.hashBucket(d.stringLiteral(s))} AS b`).join(' UNION ALL '));
    const byIndex = new Map(rows.map((r) => [Number(r.i), Number(r.b)]));
    out.push(...part.map((_, i) => byIndex.get(i)!));
  }
  return out;
}

export async function duckdbHashEngine(): Promise<HashEngine> {
  const instance = await DuckDBInstance.create(':memory:');
  const con: DuckDBConnection = await instance.connect();
  const d = duckdbDialect;
  return {
    dialect: d,
    async load(ids) {
      await con.run('CREATE OR REPLACE TABLE hash_ids (i INTEGER, id VARCHAR)');
      for (let at = 0; at < ids.length; at += 500) {
        const values = ids.slice(at, at + 500).map((s, k) => `(${at + k}, ${d.stringLiteral(s)})`);
        await con.run(`INSERT INTO hash_ids VALUES ${values.join(', ')}`);
      }
    },
    async query(sql) {
      return (await con.runAndReadAll(sql)).getRowObjects() as Record<string, unknown>[];
    },
    async close() {
      con.closeSync();
      instance.closeSync();
    },
  };
}

export async function clickhouseHashEngine(url: string): Promise<HashEngine> {
  const client: ClickHouseClient = createClient({ url });
  return {
    dialect: clickhouseDialect(),
    async load(ids) {
      await client.command({ query: 'DROP TABLE IF EXISTS hash_ids' });
      await client.command({ query: 'CREATE TABLE hash_ids (i UInt32, id String) ENGINE = Memory' });
      const lines = ids.map((id, i) => `${JSON.stringify({ i, id })}\n`);
      const result = await client.exec({ query: 'INSERT INTO hash_ids (i, id) FORMAT JSONEachRow', values: Readable.from(lines) });
      for await (const chunk of result.stream) if (/Exception/.test(String(chunk))) throw new Error(String(chunk));
    },
    async query(sql) {
      return (await (await client.query({ query: sql, format: 'JSONEachRow' })).json()) as Record<string, unknown>[];
    },
    async close() {
      await client.close();
    },
  };
}

/**
 * fast-check: the engine's SQL gives assignVariant's buckets and variants for random unicode
 * ids, coverages and weights; returns how many ids were checked (batches of 150 to 300).
 */
export async function checkSqlAgainstAssignVariant(engine: HashEngine, numRuns: number): Promise<number> {
  let checked = 0;
  await fc.assert(
    fc.asyncProperty(randomAssignmentCase(), async ({ def, ids }) => {
      checked += ids.length;
      await engine.load(ids);
      const got = await sqlAssignments(engine, def);
      const want = ids.map((id) => {
        const a = assignVariant(def, id);
        return { ...a, variantOrNull: a.covered ? a.variant : null };
      });
      expect(got).toEqual(want);
    }),
    { numRuns },
  );
  return checked;
}
