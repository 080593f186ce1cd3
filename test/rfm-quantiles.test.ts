/**
 * Quantile cut points and scores against numpy and pandas (the named reference:
 * numpy.quantile with each method, pandas.qcut for the bands, numpy.median), on random
 * samples drawn by fast-check (heavy ties, wide and tiny values, one to hundreds of values)
 * and on hand-made ties. Frequency tables split as a sharded store would send them must
 * give the same answers as one table.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QUANTILE_METHODS, bandOf, cutPoints, describeTable, frequencyTable, type FrequencyTable } from '../src/analysis/rfm/index.js';
import { pythonAvailable, reference, type ReferenceRequest } from './rfm-fixtures.js';

const hasPython = pythonAvailable();

function tableOf(values: readonly number[]): FrequencyTable {
  return frequencyTable(values.map((v) => [v, 1] as const));
}

const sample = fc.oneof(
  // Few distinct values: ties everywhere, often equal cut points.
  fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 80 }),
  // Counts and day numbers, as recency and frequency are.
  fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 300 }),
  // Amounts: any finite doubles of moderate size, and sums of cents.
  fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 120 }),
  fc.array(fc.integer({ min: 0, max: 200_000 }).map((c) => c / 100), { minLength: 1, maxLength: 200 }),
);

describe.skipIf(!hasPython)('quantile cut points and scores against numpy and pandas', () => {
  const runs = process.env.CI ? 400 : 120;
  const samples = fc.sample(sample, { numRuns: runs, seed: 20_240_301 });
  // Hand-made ties: all equal, two values, a value exactly at a cut point, one value.
  samples.push([7, 7, 7, 7, 7], [1, 1, 1, 1, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [42], [1, 2], [0, -0, 0, 1], [3, 1, 2, 2, 2, 2, 2, 9, 9, 9]);
  const requests: ReferenceRequest[] = samples.flatMap((values) => QUANTILE_METHODS.flatMap((method) => [4, 5].map((levels) => ({ values, levels, method }))));
  const answers = reference(requests);

  it('gives numpy.quantile cut points to the bit, for every method and 4 or 5 levels', () => {
    requests.forEach((req, i) => {
      const cuts = cutPoints(tableOf(req.values), req.levels, req.method as (typeof QUANTILE_METHODS)[number]);
      expect({ req, cuts }).toEqual({ req, cuts: answers[i]!.cuts });
    });
  });

  it('scores like numpy.searchsorted(cuts, x, "left") + 1, and like pandas.qcut wherever pandas accepts the edges', () => {
    let qcutCompared = 0;
    requests.forEach((req, i) => {
      const a = answers[i]!;
      const cuts = cutPoints(tableOf(req.values), req.levels, req.method as (typeof QUANTILE_METHODS)[number]);
      const bands = req.values.map((v) => bandOf(v, cuts));
      expect({ req, bands }).toEqual({ req, bands: a.bands });
      if (req.method === 'linear' && a.qcut !== null) {
        expect({ req, bands }).toEqual({ req, bands: a.qcut });
        qcutCompared++;
      }
    });
    // Most samples have distinct edges, so pandas.qcut was the reference for them.
    expect(qcutCompared).toBeGreaterThan(runs / 2);
  });

  it('gives numpy.median, and the same answers from a table merged out of parts', () => {
    requests
      .filter((r) => r.method === 'linear' && r.levels === 5)
      .forEach((req) => {
        const i = requests.indexOf(req);
        const whole = tableOf(req.values);
        expect(describeTable(whole).median).toBe(answers[i]!.median);
        // Split into three parts in arbitrary order, each a table of value counts.
        const parts = [0, 1, 2].map((p) => frequencyTable(req.values.filter((_, j) => j % 3 === p).map((v) => [v, 1] as const)));
        const merged = frequencyTable(parts.reverse().flatMap((t) => t.values.map((v, j) => [v, t.counts[j]!] as const)));
        expect(cutPoints(merged, 5, 'linear')).toEqual(cutPoints(whole, 5, 'linear'));
        expect(merged.n).toBe(req.values.length);
      });
  });
});

describe('quantiles without a reference process', () => {
  it('has no cut points and no summary for an empty sample', () => {
    const empty = frequencyTable([]);
    expect(cutPoints(empty, 5, 'linear')).toEqual([]);
    expect(describeTable(empty)).toEqual({ mean: null, median: null, min: null, max: null });
  });

  it('leaves a band empty between equal cut points instead of renumbering (worked by hand)', () => {
    // 1,1,1,1,1,1,1,2,3,4: h = 9 i/5 = 1.8, 3.6, 5.4, 7.2 -> cuts 1, 1, 1, 2.2 (linear).
    const cuts = cutPoints(tableOf([1, 1, 1, 1, 1, 1, 1, 2, 3, 4]), 5, 'linear');
    expect(cuts).toEqual([1, 1, 1, 2.2]);
    expect([1, 2, 3, 4].map((v) => bandOf(v, cuts))).toEqual([1, 4, 5, 5]);
  });
});
