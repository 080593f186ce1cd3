/**
 * The spec vectors (spec/segments/*.json, format in spec/README.md) run against both
 * engines: each case's definition is validated against its file's plan, built into IR,
 * then evaluated by the in-memory evaluator and by DuckDB through the SQL compiler (both
 * the batch query and the members-only query). The oracle is `expected`, worked out by
 * hand from DESIGN.md; each case's `why` names the rule.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStrataError } from '../src/errors/errors.js';
import { parsePlan, type TrackingPlan } from '../src/schema/tracking-plan.js';
import { compileSegmentBatch, compileSegmentMembers } from '../src/segments/compile/index.js';
import { evaluateSegments, indexDataset } from '../src/segments/evaluate/index.js';
import type { SegmentIR } from '../src/segments/ir/nodes.js';
import { buildSegmentIR, validateSegment, type SegmentDefinition } from '../src/segments/language/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { clearDuckDb, loadIntoDuckDb } from './support/load-duckdb.js';
import { readSpecFiles, type SpecCase } from './support/spec-case.js';
import { instantMs, toMemoryDataset } from './support/to-memory.js';

const SPEC_DIR = fileURLToPath(new URL('../spec/segments', import.meta.url));
const files = readSpecFiles(SPEC_DIR);

/** A StrataError's details are where a spec author's mistake is named; put them in the failure. */
function explained<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isStrataError(e)) throw new Error(`${what}: ${e.message}\n${e.details.map((d) => `  ${d.path ?? ''}: ${d.message}`).join('\n')}`);
    throw e;
  }
}

function segmentOf(c: SpecCase, plan: TrackingPlan): SegmentIR {
  const referenced = new Map<string, SegmentDefinition>();
  for (const [i, raw] of (c.segments ?? []).entries()) {
    const def = explained(`segments[${i}]`, () => validateSegment(raw, plan));
    referenced.set(def.key, def);
  }
  const def = explained('definition', () => validateSegment(c.definition, plan));
  return explained('definition', () => buildSegmentIR(def, plan, (key) => referenced.get(key)));
}

describe('spec vectors', () => {
  it('holds at least 70 cases with unique names per file', () => {
    expect(files.reduce((n, [, f]) => n + f.cases.length, 0)).toBeGreaterThanOrEqual(70);
    for (const [, f] of files) expect(new Set(f.cases.map((c) => c.name)).size).toBe(f.cases.length);
  });
});

for (const [file, spec] of files) {
  describe(file, () => {
    const plan = parsePlan(spec.plan);
    let store: DuckDbStore;

    beforeAll(async () => {
      store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
      await store.applyPlan(plan);
    });
    afterAll(async () => {
      await store?.close();
    });

    for (const c of spec.cases) {
      it(c.name, async () => {
        const asOfMs = instantMs(c.asOf, 'asOf');
        const segment = segmentOf(c, plan);
        const data = toMemoryDataset(c.events, c.profiles, plan);
        const expected = [...c.expected].sort();
        const population = [...indexDataset(data, asOfMs).keys()].sort();

        const memory = [...evaluateSegments([segment], data, asOfMs).get(segment.key)!].sort();

        await clearDuckDb(store);
        await loadIntoDuckDb(store, plan, data);
        const batch = compileSegmentBatch([segment], { dialect: store.dialect, asOfMs });
        const rows = await store.query(batch.sql);
        const column = batch.columns[0]!.column;
        const batchUsers = rows.map((r) => String(r.user_id)).sort();
        const duckdb = rows.filter((r) => r[column] === true).map((r) => String(r.user_id)).sort();
        const membersOnly = (await store.query(compileSegmentMembers(segment, { dialect: store.dialect, asOfMs }))).map((r) => String(r.user_id)).sort();

        expect({ memory, duckdb, membersOnly }).toEqual({ memory: expected, duckdb: expected, membersOnly: expected });
        // The batch query has one row per user of the population (DESIGN.md, "Evaluation").
        expect(batchUsers).toEqual(population);
      });
    }
  });
}
