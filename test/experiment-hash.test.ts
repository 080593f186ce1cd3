/**
 * Experiment hash bucketing (src/experiments/design/hash.ts, assign.ts, assignment-sql.ts)
 * against independent oracles:
 * - spec/hash.json, written by spec/hash-oracle.py with Python's hashlib (the file is
 *   regenerated here with /usr/bin/python3 and must equal its output), checked on
 *   TypeScript and on DuckDB through the dialect hook and variantSql;
 * - uniformity: 100,000 synthetic ids per purpose, 100 groups of 100 buckets, Pearson
 *   chi-square against uniform by src/experiments/stats/srm.ts, cross-checked with
 *   scipy.stats.chisquare on counts Python computes itself with hashlib
 *   (test/support/hash-uniformity-oracle.py);
 * - realized variant shares for 50/50, thirds and 90/10 (SRM chi-square p above 0.001 and
 *   within 0.5 percentage points);
 * - DuckDB SQL agrees with TypeScript on random ids (fast-check, unicode included) under
 *   random coverages and weights.
 * ClickHouse 18.16: test/experiment-hash-clickhouse.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBucket, hashInput, HASH_BUCKETS, type HashPurpose } from '../src/experiments/design/hash.js';
import { assignVariant, type AssignmentDefinition } from '../src/experiments/design/assign.js';
import { srmTest } from '../src/experiments/stats/srm.js';
import { duckdbHashEngine, literalBuckets, checkSqlAgainstAssignVariant, nullIdColumns, sqlAssignments, type HashEngine } from './support/experiment-hash-engines.js';
import { hashSpec, specExperiments } from './support/experiment-hash-spec.js';

const PYTHON = '/usr/bin/python3';
const ROOT = path.resolve(import.meta.dirname, '..');
const spec = hashSpec();

describe('spec/hash.json', () => {
  it.skipIf(!existsSync(PYTHON))('is exactly what the hashlib oracle (spec/hash-oracle.py) writes', () => {
    const generated = execFileSync(PYTHON, [path.join(ROOT, 'spec/hash-oracle.py'), '--stdout'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(generated === readFileSync(path.join(ROOT, 'spec/hash.json'), 'utf8'), 'run /usr/bin/python3 spec/hash-oracle.py').toBe(true);
  });

  it('covers non-ASCII, normalization forms, ZWJ emoji, long ids and ids with ":"', () => {
    const ids = spec.vectors.map((v) => v.userId);
    expect(ids).toContain('caf\u00e9');
    expect(ids).toContain('cafe\u0301');
    expect(ids).toContain('\u{1F469}\u200d\u{1F469}\u200d\u{1F467}\u200d\u{1F466}');
    expect(ids.some((id) => /[\u4e00-\u9fff]/.test(id))).toBe(true);
    expect(ids.some((id) => id.length >= 5000)).toBe(true);
    expect(ids).toContain('user:42:variant');
  });

  it('hashes NFC and NFD spellings differently: the input is the raw UTF-8 bytes', () => {
    const bucketOf = (userId: string) => spec.vectors.find((v) => v.userId === userId && v.purpose === 'variant')!.bucket;
    for (const word of ['café', 'Müller', 'Zoë Ångström', '한국어']) {
      expect(word.normalize('NFC')).not.toBe(word.normalize('NFD'));
      expect(bucketOf(word.normalize('NFC'))).not.toBe(bucketOf(word.normalize('NFD')));
    }
  });

  it('vectors: TypeScript gives the oracle bucket for every one', () => {
    const wrong = spec.vectors.filter((v) => hashBucket(v.seed, v.purpose, v.userId) !== v.bucket);
    expect(wrong).toEqual([]);
    expect(spec.vectors.length).toBeGreaterThan(300);
  });

  it('assignments: TypeScript gives the oracle buckets, coverage and variant for every case', () => {
    for (const c of spec.assignments) {
      const { coverageBucket, variantBucket, covered, variant } = c;
      expect(assignVariant(c.experiment, c.userId), `${c.experiment.seed} ${JSON.stringify(c.userId)}`).toEqual({ coverageBucket, variantBucket, covered, variant });
    }
    // Both sides of every bound are in the file (ids `edge-*`), and the half-up tie is exercised.
    expect(spec.assignments.filter((c) => c.userId.startsWith('edge-')).length).toBeGreaterThanOrEqual(20);
    expect(spec.assignments.find((c) => c.experiment.seed === 'half-up' && c.coverageBucket === 12)?.covered).toBe(true);
    expect(spec.assignments.find((c) => c.experiment.seed === 'half-up' && c.variantBucket === 12)?.variant).toBe('tiny');
  });
});

describe('uniformity (oracle: scipy.stats.chisquare over hashlib buckets)', () => {
  const N = 100_000;
  const GROUPS = 100;
  const ids = Array.from({ length: N }, (_, i) => `user-${i}`);

  for (const purpose of ['coverage', 'variant'] as const) {
    it(`${purpose} buckets of ${N} ids are uniform over ${GROUPS} groups`, () => {
      const counts = new Array<number>(GROUPS).fill(0);
      for (const id of ids) counts[Math.floor(hashBucket('onboarding-checklist', purpose, id) / (HASH_BUCKETS / GROUPS))]! += 1;
      const ours = srmTest(counts, new Array<number>(GROUPS).fill(1));
      if (!ours.ok) throw new Error('degenerate');
      // Deterministic ids: this p-value is fixed; a broken hash gives p ~ 0.
      expect(ours.pValue).toBeGreaterThan(0.01);
      if (!existsSync(PYTHON)) return;
      const oracle = JSON.parse(
        execFileSync(PYTHON, [path.join(ROOT, 'test/support/hash-uniformity-oracle.py'), 'onboarding-checklist', purpose, String(N), String(GROUPS)], { encoding: 'utf8' }),
      ) as { counts: number[]; chiSquare: number; pValue: number };
      expect(counts).toEqual(oracle.counts);
      expect(ours.chiSquare).toBeCloseTo(oracle.chiSquare, 9);
      expect(Math.abs(ours.pValue - oracle.pValue)).toBeLessThan(1e-9 * Math.max(1, oracle.pValue) + 1e-12);
    });
  }

  const splits: [string, number[]][] = [
    ['50/50', [1, 1]],
    ['1/3 each', [1, 1, 1]],
    ['90/10', [0.9, 0.1]],
  ];
  for (const [name, weights] of splits) {
    it(`realized shares match ${name} (SRM chi-square p > 0.001, within 0.5 points)`, () => {
      const def: AssignmentDefinition = { seed: `split-${name}`, hashVersion: 1, coverage: 1, variants: weights.map((weight, i) => ({ key: `v${i}`, weight })) };
      const counts = new Map(def.variants.map((v) => [v.key, 0]));
      for (const id of ids) {
        const v = assignVariant(def, id).variant;
        counts.set(v, counts.get(v)! + 1);
      }
      const observed = def.variants.map((v) => counts.get(v.key)!);
      const total = weights.reduce((s, w) => s + w, 0);
      observed.forEach((c, i) => expect(Math.abs(c / N - weights[i]! / total)).toBeLessThan(0.005));
      const srm = srmTest(observed, weights);
      expect(srm.ok && srm.pValue > 0.001).toBe(true);
    });
  }
});

describe('DuckDB (dialect hook and variantSql)', () => {
  let engine: HashEngine;
  beforeAll(async () => {
    engine = await duckdbHashEngine();
  });
  afterAll(async () => engine?.close());

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

  it('agrees with assignVariant on random unicode ids, coverages and weights (fast-check)', async () => {
    const checked = await checkSqlAgainstAssignVariant(engine, process.env.CI ? 40 : 20);
    // A few thousand ids in all (batches of 150 to 300).
    expect(checked).toBeGreaterThanOrEqual(3000);
  });
});

describe('DuckDB: a NULL user id', () => {
  it('gives NULL buckets and a NULL variant, not the empty id\'s', async () => {
    const engine = await duckdbHashEngine();
    try {
      const def: AssignmentDefinition = { seed: 's', hashVersion: 1, coverage: 0.5, variants: [{ key: 'a', weight: 1 }, { key: 'b', weight: 1 }] };
      const [row] = await engine.query(`SELECT ${nullIdColumns(engine, def)} FROM (SELECT NULL::VARCHAR AS id)`);
      expect(row).toEqual({ cb: null, vb: null, v: null, hv: null });
    } finally {
      await engine.close();
    }
  });
});
