/** spec/hash.json as typed data, and the random cases the SQL agreement tests draw (fast-check). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { AssignmentDefinition } from '../../src/experiments/design/assign.js';
import type { HashPurpose } from '../../src/experiments/design/hash.js';

export interface HashVector {
  readonly seed: string;
  readonly purpose: HashPurpose;
  readonly userId: string;
  readonly bucket: number;
  readonly note: string;
}

export interface SpecExperiment {
  readonly seed: string;
  readonly coverage: number;
  readonly variants: readonly { readonly key: string; readonly weight: number }[];
}

export interface AssignmentCase {
  readonly experiment: SpecExperiment;
  readonly userId: string;
  readonly coverageBucket: number;
  readonly variantBucket: number;
  readonly covered: boolean;
  readonly variant: string;
}

export interface HashSpec {
  readonly hashVersion: 1;
  readonly buckets: number;
  readonly vectors: readonly HashVector[];
  readonly assignments: readonly (AssignmentCase & { readonly experiment: AssignmentDefinition })[];
}

export function hashSpec(): HashSpec {
  const raw = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../spec/hash.json'), 'utf8')) as {
    vectors: HashVector[];
    assignments: AssignmentCase[];
    buckets: number;
  };
  return {
    hashVersion: 1,
    buckets: raw.buckets,
    vectors: raw.vectors,
    assignments: raw.assignments.map((c) => ({ ...c, experiment: { ...c.experiment, hashVersion: 1 as const } })),
  };
}

/** The assignment cases grouped by experiment, in file order. */
export function specExperiments(spec: HashSpec): { experiment: AssignmentDefinition; cases: HashSpec['assignments'] }[] {
  const groups = new Map<string, { experiment: AssignmentDefinition; cases: HashSpec['assignments'][number][] }>();
  for (const c of spec.assignments) {
    const key = JSON.stringify(c.experiment);
    if (!groups.has(key)) groups.set(key, { experiment: c.experiment, cases: [] });
    groups.get(key)!.cases.push(c);
  }
  return [...groups.values()];
}

/** Ids of every kind of string an engine may hold (no NUL, which no store accepts). */
export const userIdArbitrary: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.string({ unit: 'grapheme-composite', maxLength: 20 }),
    fc.string({ maxLength: 30 }),
    fc.stringMatching(/^[a-z]{1,8}:[0-9]{1,6}$/),
  )
  .filter((s) => !s.includes('\u0000'));

/** A random definition (coverage in 1/10000 steps, 1 to 5 variants) and a batch of ids. */
export function randomAssignmentCase(): fc.Arbitrary<{ def: AssignmentDefinition; ids: string[] }> {
  return fc.record({
    def: fc.record({
      seed: fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/),
      hashVersion: fc.constant(1 as const),
      coverage: fc.integer({ min: 1, max: 10000 }).map((n) => n / 10000),
      variants: fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 5 }).map((ws) => ws.map((weight, i) => ({ key: `v${i}`, weight }))),
    }),
    ids: fc.array(userIdArbitrary, { minLength: 150, maxLength: 300, size: 'max' }),
  });
}
