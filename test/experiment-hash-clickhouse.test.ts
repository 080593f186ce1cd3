/**
 * Experiment hash bucketing on a real ClickHouse node (Debian's 18.16 in CI;
 * test/support/clickhouse-server.ts): the dialect's `hashBucket` hook and variantSql give
 * the hashlib oracle's answers (spec/hash.json, written by spec/hash-oracle.py) and agree
 * with TypeScript's assignVariant on random unicode ids under random coverages and weights
 * (fast-check). The same checks on DuckDB are in test/experiment-hash.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashInput, type HashPurpose } from '../src/experiments/design/hash.js';
import { clickhouseAvailable, startClickHouse, type LocalClickHouse } from './support/clickhouse-server.js';
import { clickhouseHashEngine, literalBuckets, checkSqlAgainstAssignVariant, nullIdColumns, sqlAssignments, type HashEngine } from './support/experiment-hash-engines.js';
import { hashSpec, specExperiments } from './support/experiment-hash-spec.js';

const spec = hashSpec();

describe.skipIf(!clickhouseAvailable())('ClickHouse node (dialect hook and variantSql)', () => {
  let server: LocalClickHouse | undefined;
  let engine: HashEngine;
  beforeAll(async () => {
    server = await startClickHouse();
    engine = await clickhouseHashEngine(server.urls[0]!);
  }, 60_000);
  afterAll(async () => {
    await engine?.close();
    await server?.stop();
  });

  it('the hook gives the oracle bucket for every vector (string literals)', async () => {
    const buckets = await literalBuckets(engine, spec.vectors.map((v) => hashInput(v.seed, v.purpose as HashPurpose, v.userId)));
    expect(buckets).toEqual(spec.vectors.map((v) => v.bucket));
  });

  it('variantSql and the bucket SQL give the oracle answer for every assignment case (ids in a column)', async () => {
    for (const { experiment, cases } of specExperiments(spec)) {
      await engine.load(cases.map((c) => c.userId));
      const got = await sqlAssignments(engine, experiment);
      expect(got).toEqual(cases.map((c) => ({ coverageBucket: c.coverageBucket, variantBucket: c.variantBucket, covered: c.covered, variant: c.variant, variantOrNull: c.covered ? c.variant : null })));
    }
  });

  it('a NULL user id gives NULL buckets and a NULL variant', async () => {
    const def = { seed: 's', hashVersion: 1 as const, coverage: 0.5, variants: [{ key: 'a', weight: 1 }, { key: 'b', weight: 1 }] };
    const [row] = await engine.query(`SELECT ${nullIdColumns(engine, def)} FROM (SELECT CAST(NULL AS Nullable(String)) AS id)`);
    expect(row).toEqual({ cb: null, vb: null, v: null, hv: null });
  });

  it('agrees with assignVariant on random unicode ids, coverages and weights (fast-check)', async () => {
    const checked = await checkSqlAgainstAssignVariant(engine, process.env.CI ? 40 : 20);
    // A few thousand ids in all (batches of 150 to 300).
    expect(checked).toBeGreaterThanOrEqual(3000);
  }, 120_000);
});
