/**
 * The spec vectors (spec/segments/*.json, format in spec/README.md) run against every
 * engine: each case's definition is validated against its file's plan, built into IR,
 * then evaluated by the in-memory evaluator and, through the SQL compiler, by DuckDB, a
 * ClickHouse single node and a two-shard ClickHouse cluster (both the batch query and the
 * members-only query; on the cluster each shard answers for its own users). A case's
 * scoring runs (`scoreRuns`) go into the store through the model layer (saveModelVersion,
 * writeScoreRun) and into the in-memory dataset with the same run ids. The oracle is
 * `expected`, worked out by hand from DESIGN.md; each case's `why` names the rule.
 *
 * Without the ClickHouse server binary the ClickHouse engines are skipped with a loud
 * notice, except under CI, where that is an error (test/support/clickhouse-server.ts).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStrataError } from '../src/errors/errors.js';
import { parsePlan, type TrackingPlan } from '../src/schema/tracking-plan.js';
import { evaluateSegments, indexDataset } from '../src/segments/evaluate/index.js';
import type { SegmentIR } from '../src/segments/ir/nodes.js';
import { buildSegmentIR, validateSegment, type SegmentDefinition } from '../src/segments/language/index.js';
import type { LocalClickHouse } from './support/clickhouse-server.js';
import { ENGINE_KINDS, SegmentEngine, engineAvailable, startServerFor } from './support/segment-engines.js';
import { readSpecFiles, specConsentDefaults, specScoreRuns, type SpecCase } from './support/spec-case.js';
import { instantMs, specModels, toMemoryDataset, toMemoryScoreRuns } from './support/to-memory.js';

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

/** The case's definition as IR; the models its scoring runs name are the stored catalogue. */
function segmentOf(c: SpecCase, plan: TrackingPlan): SegmentIR {
  const consentDefaults = specConsentDefaults(c);
  const context = { models: specModels(specScoreRuns(c)), ...(consentDefaults ? { consentDefaults } : {}) };
  const referenced = new Map<string, SegmentDefinition>();
  for (const [i, raw] of (c.segments ?? []).entries()) {
    const def = explained(`segments[${i}]`, () => validateSegment(raw, plan, context));
    referenced.set(def.key, def);
  }
  const def = explained('definition', () => validateSegment(c.definition, plan, context));
  return explained('definition', () => buildSegmentIR(def, plan, (key) => referenced.get(key), context));
}

describe('spec vectors', () => {
  it('holds at least 70 cases with unique names per file', () => {
    expect(files.reduce((n, [, f]) => n + f.cases.length, 0)).toBeGreaterThanOrEqual(70);
    for (const [, f] of files) expect(new Set(f.cases.map((c) => c.name)).size).toBe(f.cases.length);
  });
});

for (const kind of ENGINE_KINDS) {
  describe.skipIf(!engineAvailable(kind))(`spec vectors on ${kind}`, () => {
    let server: LocalClickHouse | null = null;
    beforeAll(async () => {
      server = await startServerFor(kind);
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });

    for (const [index, [file, spec]] of files.entries()) {
      describe(file, () => {
        const plan = parsePlan(spec.plan);
        let engine: SegmentEngine;

        beforeAll(async () => {
          engine = await SegmentEngine.open(kind, plan, server, `strata_spec_${index}`);
        }, 60_000);
        afterAll(async () => {
          await engine?.close();
        });

        for (const c of spec.cases) {
          it(c.name, async () => {
            const asOfMs = instantMs(c.asOf, 'asOf');
            const segment = segmentOf(c, plan);
            const runs = specScoreRuns(c);
            const data = { ...toMemoryDataset(c.events, c.profiles, plan), scoreRuns: toMemoryScoreRuns(runs) };
            const expected = [...c.expected].sort();
            const population = [...indexDataset(data, asOfMs).keys()].sort();

            const memory = [...evaluateSegments([segment], data, asOfMs).get(segment.key)!].sort();

            await engine.load(plan, data, specModels(runs));
            const batch = await engine.batch([segment], asOfMs);
            const membersOnly = await engine.members(segment, asOfMs);

            expect({ memory, batch: batch.members.get(segment.key), membersOnly }).toEqual({ memory: expected, batch: expected, membersOnly: expected });
            // The batch query has one row per user of the population (DESIGN.md, "Evaluation").
            expect(batch.users).toEqual(population);
          });
        }
      });
    }
  });
}
