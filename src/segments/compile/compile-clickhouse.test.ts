/**
 * The ClickHouse rendering of the one compiler: the exact SQL for a few small segments on
 * a shard (local tables, FINAL for replaced-by-version tables, one JOIN per SELECT, arrays
 * where DuckDB has window functions and ASOF joins), and a probe of the real server (the
 * Debian 18.16 one here) for every function the dialect emits over the spec vectors and
 * the demo segments. What the queries return is tested on every engine elsewhere
 * (compile-engines.test.ts, test/spec-segments.test.ts, test/differential.test.ts).
 *
 * Instants: 2024-05-01T00:00Z = 1714521600000 ms, minus 7 days = 1713916800000.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlan } from '../../schema/tracking-plan.js';
import { ClickHouseStore } from '../../store/clickhouse/clickhouse-store.js';
import { SHARDED_TABLES } from '../../store/clickhouse/migrations.js';
import { buildSegmentIR, validateSegment, type SegmentDefinition } from '../language/index.js';
import type { SegmentIR } from '../ir/nodes.js';
import { clickhouseDialect } from './clickhouse-dialect.js';
import { compileSegmentBatch, compileSegmentMembers, duckdbDialect } from './index.js';
import { DAY, HOUR, MINUTE, afterEvent, all, cmp, did, dur, gte, not, on, segment, str, trait, within } from './test-support/ir-builders.js';
import { clickhouseAvailable, startClickHouse, type LocalClickHouse } from '../../../test/support/clickhouse-server.js';
import { readSpecFiles, specScoreRuns } from '../../../test/support/spec-case.js';
import { instantMs, specModels } from '../../../test/support/to-memory.js';
import { loadDemoSegments } from '../../../bench/support/demo-segments.js';
import { demoPlan } from '../../demo/demo-plan.js';

const asOfMs = Date.UTC(2024, 4, 1);
const shard = { dialect: clickhouseDialect({ tables: 'local', sharded: SHARDED_TABLES }), asOfMs };
const AS_OF = 'toInt64(1714521600000)';

describe('ClickHouse SQL', () => {
  it('reads a shard-local profiles table through FINAL, unqualified', () => {
    expect(compileSegmentMembers(segment('pro', trait('plan', 'string', cmp('eq', str('pro')))), shard)).toBe(
      ['SELECT user_id', 'FROM (SELECT * FROM profiles_local FINAL) p', "WHERE `t_plan` = 'pro'"].join('\n'),
    );
  });

  it('nests each further join, naming the columns, which are unique in the query and read unqualified', () => {
    const { sql } = compileSegmentBatch([segment('a', not(trait('plan', 'string', cmp('eq', str('pro'))))), segment('b', did(on('open'), within(7 * DAY)))], shard);
    expect(sql).toBe(
      [
        'SELECT user_id AS user_id,',
        "  (NOT coalesce(`t_plan` = 'pro', 0)) AS `s_0`,",
        '  coalesce(ev_m0, 0) >= 1 AS `s_1`',
        'FROM (',
        '  SELECT user_id, first_event_at, has_profile, ev_m0',
        '  FROM (SELECT * FROM users_local FINAL) u',
        '  ANY LEFT JOIN (',
        '    SELECT e.user_id,',
        '      count() AS ev_m0',
        '    FROM events_local e',
        `    WHERE e.ts < ${AS_OF}`,
        "      AND e.event = 'open'",
        '      AND e.ts >= toInt64(1713916800000)',
        '    GROUP BY e.user_id',
        '  ) ev USING user_id',
        ') u',
        'ANY LEFT JOIN (SELECT * FROM profiles_local FINAL) p USING user_id',
        `WHERE (has_profile OR first_event_at < ${AS_OF})`,
      ].join('\n'),
    );
  });

  it('joins an anchored pass to the one GROUP BY computing its anchor', () => {
    const { sql } = compileSegmentBatch([segment('a', did(on('open'), afterEvent(on('signup'), 7 * DAY))), segment('b', did(on('buy'), within(7 * DAY), gte(2)))], shard);
    // ev has two GROUP BYs (recent buys, all signups) joined FULL; the anchored pass reads the signup one only.
    expect(sql).toContain('ALL FULL OUTER JOIN');
    expect(sql).toContain(
      [
        '  FROM events_local e',
        '  ANY LEFT JOIN (',
        '    SELECT e.user_id,',
        '      if(countIf((e.ts IS NOT NULL)) = 0, NULL, minIf(e.ts, (e.ts IS NOT NULL))) AS ev_m0',
        '    FROM events_local e',
        `    WHERE e.ts < ${AS_OF}`,
        "      AND e.event = 'signup'",
        '    GROUP BY e.user_id',
        '  ) ev_1 USING user_id',
      ].join('\n'),
    );
  });

  it('finds session edges in each user sorted array of event times, without window functions', () => {
    const sql = compileSegmentMembers(segment('s', { kind: 'sessions', gapMs: 30 * MINUTE, window: within(7 * DAY), cmp: gte(2) }), shard);
    expect(sql).not.toMatch(/ OVER \(/);
    expect(sql).toContain('SELECT e.user_id, arraySort(groupArray(e.ts)) AS stamps');
    expect(sql).toContain('SELECT user_id, stamps, arrayPushFront(arrayPopFront(arrayMap(x -> x >= 1800000, arrayDifference(stamps))), 1) AS starts');
    expect(sql).toContain('ARRAY JOIN stamps AS ts, starts AS is_start');
  });

  it('pairs each session start with its end by session number for the longest session', () => {
    const sql = compileSegmentMembers(segment('s', { kind: 'sessionDuration', stat: 'max', gapMs: 30 * MINUTE, window: within(7 * DAY), cmp: cmp('gte', dur(HOUR)) }), shard);
    expect(sql).toContain('arrayCumSum(arrayPushFront(');
    expect(sql).toContain('ARRAY JOIN stamps AS ts, starts AS is_start, ends AS is_end, session_no AS k');
    expect(sql).toContain('arrayElement(session_ends, k) AS end_t');
  });

  it('follows a sequence in per-user arrays of step times, in one pass over the events, not with ASOF joins', () => {
    const sql = compileSegmentMembers(segment('q', { kind: 'sequence', steps: [on('signup'), on('activate')], spanMs: DAY, window: within(7 * DAY) }), shard);
    const next = 'arrayFirstIndex((x, after) -> x > after, steps_2, replicate(s, steps_2))';
    expect(sql).toBe(
      [
        'SELECT user_id',
        'FROM (',
        '  SELECT user_id,',
        '    if(countIf((level IS NOT NULL)) = 0, NULL, maxIf(level, (level IS NOT NULL))) AS sqa0_reached,',
        '    countIf((level = 2)) AS sqa0_starts',
        '  FROM (',
        `    SELECT user_id, CASE WHEN (${next} > 0 AND arrayElement(steps_2, ${next}) < s + 86400000) THEN 2 ELSE 1 END AS level`,
        '    FROM (',
        '      SELECT e.user_id,',
        "        arraySort(groupArrayIf(e.ts, e.event = 'signup')) AS starts,",
        "        arraySort(groupArrayIf(e.ts, e.event = 'activate')) AS steps_2",
        '      FROM events_local e',
        `      WHERE e.ts < ${AS_OF}`,
        '        AND e.ts >= toInt64(1713916800000)',
        '      GROUP BY e.user_id',
        '    ) per_user',
        '    ARRAY JOIN starts AS s',
        '  ) chain_starts',
        '  GROUP BY user_id',
        ') sqa0',
        'WHERE sqa0_starts >= 1',
      ].join('\n'),
    );
  });

  it('computes one chain once for a sequence and a funnel over the same steps', () => {
    const steps = [on('signup'), on('activate'), on('pay')];
    const { sql } = compileSegmentBatch(
      [segment('q', { kind: 'sequence', steps, spanMs: DAY, window: all }), segment('f', { kind: 'funnel', steps, spanMs: DAY, window: all, cmp: gte(2) })],
      shard,
    );
    expect(sql.match(/AS starts,/g)).toHaveLength(1);
    expect(sql).toContain('coalesce(sqa0_starts, 0) >= 1');
    expect(sql).toContain('sqa0_reached');
  });

  it('keeps a missing value out of notIn', () => {
    const sql = compileSegmentMembers(segment('n', trait('plan', 'string', { op: 'notIn', values: [str('a')] })), shard);
    expect(sql).toContain("(`t_plan` IS NOT NULL AND `t_plan` NOT IN ('a'))");
  });

  it('names the plain tables for a query sent to the initiator or a single node', () => {
    const sql = compileSegmentBatch([segment('b', did(on('open'), within(7 * DAY)))], { dialect: clickhouseDialect(), asOfMs }).sql;
    expect(sql).toContain('FROM events e');
    expect(sql).toContain('(SELECT * FROM users FINAL) u');
    expect(sql).not.toContain('_local');
  });
});

/** Every segment of the spec vectors and the demo, as compiled batches and member lists. */
function broadSql(): string[] {
  const out: string[] = [];
  const d = clickhouseDialect({ tables: 'local', sharded: SHARDED_TABLES });
  for (const [, spec] of readSpecFiles(fileURLToPath(new URL('../../../spec/segments', import.meta.url)))) {
    const plan = parsePlan(spec.plan);
    for (const c of spec.cases) {
      const runs = specScoreRuns(c);
      const context = { models: specModels(runs) };
      const refs = new Map<string, SegmentDefinition>();
      for (const raw of c.segments ?? []) {
        const def = validateSegment(raw, plan, context);
        refs.set(def.key, def);
      }
      const ir = buildSegmentIR(validateSegment(c.definition, plan, context), plan, (key) => refs.get(key), context);
      // Any run id will do for the functions used: each model reads its last run.
      const scoreRuns = new Map(runs.map((r, i) => [r.model, i + 1]));
      const options = { dialect: d, asOfMs: instantMs(c.asOf, 'asOf'), scoreRuns };
      out.push(compileSegmentBatch([ir], options).sql, compileSegmentMembers(ir, options));
    }
  }
  const demo: SegmentIR[] = loadDemoSegments(demoPlan()).map((s) => s.ir);
  out.push(compileSegmentBatch(demo, { dialect: d, asOfMs }).sql);
  return out;
}

/** The names called as functions in SQL text: `name(`, outside string literals and quoted identifiers. */
function calledFunctions(sql: string): Set<string> {
  const bare = sql.replace(/'(?:[^'\\]|\\.)*'/g, "''").replace(/`(?:[^`\\]|\\.)*`/g, '``');
  return new Set([...bare.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\(/g)].map((m) => m[1]!));
}

describe.skipIf(!clickhouseAvailable())('ClickHouse functions the dialect emits', () => {
  let server: LocalClickHouse;
  let store: ClickHouseStore;
  beforeAll(async () => {
    server = await startClickHouse();
    store = await ClickHouseStore.open({ url: server.urls[0]!, database: 'strata_functions' });
  }, 60_000);
  afterAll(async () => {
    await store?.dropDatabase();
    await store?.close();
    await server?.stop();
  });

  it('all exist on the server, as functions or as aggregate functions with a combinator (countIf)', async () => {
    const functions = new Set((await store.query('SELECT name FROM system.functions')).map((r) => String(r.name)));
    const combinators = (await store.query('SELECT name FROM system.aggregate_function_combinators')).map((r) => String(r.name));
    const used = new Set(broadSql().flatMap((sql) => [...calledFunctions(sql)]));
    // The probe sees what the compiler writes: the array functions of sessions and chains are among them.
    for (const name of ['arraySort', 'groupArray', 'arrayFirstIndex', 'replicate', 'arrayCumSum', 'countIf', 'uniqExact']) expect(used).toContain(name);
    const exists = (name: string) => functions.has(name) || combinators.some((c) => name.endsWith(c) && functions.has(name.slice(0, -c.length)));
    expect([...used].filter((name) => !exists(name)).sort()).toEqual([]);
    // And DuckDB's spellings never leak into the ClickHouse dialect.
    expect([...used].filter((name) => ['epoch_ms', 'make_timestamp', 'lag', 'lead', 'starts_with', 'contains'].includes(name))).toEqual([]);
  });
});

it('gives DuckDB the same shapes as before the ClickHouse dialect (window functions, ASOF joins)', () => {
  const sql = compileSegmentMembers(segment('s', { kind: 'sessions', gapMs: 30 * MINUTE, window: within(7 * DAY), cmp: gte(2) }), { dialect: duckdbDialect, asOfMs });
  expect(sql).toContain('lag(t) OVER (PARTITION BY user_id ORDER BY t) AS prev_t');
  expect(compileSegmentMembers(segment('q', { kind: 'sequence', steps: [on('a'), on('b')], spanMs: DAY, window: all }), { dialect: duckdbDialect, asOfMs })).toContain('ASOF JOIN');
});
