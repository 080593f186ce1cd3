/**
 * Safe by construction: event, property and trait names and values full of quotes,
 * backslashes, backticks, semicolons, comment markers, newlines, LIKE wildcards and
 * non-ASCII text reach SQL only through quoteIdentifier / stringLiteral. The queries run
 * for real on every engine (DuckDB; ClickHouse single node and cluster, where the
 * backslash is an escape character), return exactly the rows a plain string comparison
 * says, and leave every table intact. On ClickHouse, every hostile string also makes the
 * round trip through a SELECT unchanged, as a value and as a column name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrataError } from '../../errors/errors.js';
import { parsePlan } from '../../schema/tracking-plan.js';
import { TABLES } from '../../store/schema.js';
import { ClickHouseStore } from '../../store/clickhouse/clickhouse-store.js';
import type { Condition } from '../ir/nodes.js';
import { clickhouseIdentifier, clickhouseString } from './clickhouse-dialect.js';
import { compileSegmentMembers, duckdbDialect } from './index.js';
import { DAY, all, cmp, did, inList, on, prop, segment, str, trait, within } from './test-support/ir-builders.js';
import { clickhouseAvailable, startClickHouse, type LocalClickHouse } from '../../../test/support/clickhouse-server.js';
import { seedDataset } from '../../../test/support/load-duckdb.js';
import { ENGINE_KINDS, SegmentEngine, engineAvailable, startServerFor } from '../../../test/support/segment-engines.js';

const T = Date.UTC(2024, 0, 10);
const EVIL_EVENT = `it's "q"; DROP TABLE events; --`;
const EVIL_EVENT_2 = 'x/* y */ \\ é `tick`';
const EVIL_PROP = 'a"b\\c;--/*`';
const EVIL_TRAIT = `t'"; DROP TABLE profiles; --\\`;
const UNICODE_TRAIT = '日本語 😀';
const VALUES = [
  "O'Brien",
  'back\\slash',
  'semi;colon',
  '--comment',
  '/* block',
  'line\nbreak',
  '100%_sure',
  '日本語😀',
  `'); DROP TABLE users; --`,
  // Backslash sequences ClickHouse would decode if the backslash were not escaped.
  "\\'",
  'ends in a backslash\\',
  '\\x41\\n\\0\\N',
  '`back`tick`',
] as const;

const plan = parsePlan({
  events: { [EVIL_EVENT]: { properties: { [EVIL_PROP]: 'string' } }, [EVIL_EVENT_2]: {} },
  traits: { [EVIL_TRAIT]: 'string', [UNICODE_TRAIT]: 'string' },
});

// User i holds VALUES[i] as trait and property value, so each value selects exactly user i.
const userOf = (i: number) => `u${i}'"\\${i}`;
const events = VALUES.flatMap((v, i) => [
  { user: userOf(i), event: EVIL_EVENT, at: T - (i + 1) * 3_600_000, props: { [EVIL_PROP]: v } },
  ...(i % 2 === 0 ? [{ user: userOf(i), event: EVIL_EVENT_2, at: T - 1_800_000 + i }] : []),
]);
const profiles = Object.fromEntries(VALUES.map((v, i) => [userOf(i), { [EVIL_TRAIT]: v, [UNICODE_TRAIT]: v }]));
const evenUsers = VALUES.map((_, i) => i).filter((i) => i % 2 === 0).map(userOf);

const cases: [string, Condition, string[]][] = [
  ...VALUES.map((v, i): [string, Condition, string[]] => [`trait eq ${JSON.stringify(v)}`, trait(EVIL_TRAIT, 'string', cmp('eq', str(v))), [userOf(i)]]),
  ...VALUES.map((v, i): [string, Condition, string[]] => [`unicode trait name eq ${JSON.stringify(v)}`, trait(UNICODE_TRAIT, 'string', cmp('eq', str(v))), [userOf(i)]]),
  ...VALUES.map((v, i): [string, Condition, string[]] => [`property eq ${JSON.stringify(v)}`, did(on(EVIL_EVENT, prop(EVIL_PROP, 'string', cmp('eq', str(v))))), [userOf(i)]]),
  // `%` and `_` are LIKE wildcards: a contains test must treat them as plain characters.
  ['contains a literal %_', trait(EVIL_TRAIT, 'string', cmp('contains', str('%_'))), [userOf(6)]],
  ['startsWith --', trait(EVIL_TRAIT, 'string', cmp('startsWith', str('--'))), [userOf(3)]],
  ['contains a backslash', trait(EVIL_TRAIT, 'string', cmp('contains', str('\\'))), [1, 9, 10, 11].map(userOf)],
  ['contains a backtick', trait(EVIL_TRAIT, 'string', cmp('contains', str('`'))), [userOf(12)]],
  ['in a list of hostile values', trait(EVIL_TRAIT, 'string', inList(str(VALUES[0]), str(VALUES[8]), str(VALUES[10]))), [0, 8, 10].map(userOf)],
  ['a hostile event name', did(on(EVIL_EVENT_2), within(DAY)), evenUsers],
  ['a sequence of hostile event names', { kind: 'sequence', steps: [on(EVIL_EVENT), on(EVIL_EVENT_2)], spanMs: DAY, window: all }, evenUsers],
];

for (const kind of ENGINE_KINDS) {
  describe.skipIf(!engineAvailable(kind))(`hostile names and values on ${kind}`, () => {
    let server: LocalClickHouse | null = null;
    let engine: SegmentEngine;

    beforeAll(async () => {
      server = await startServerFor(kind);
      engine = await SegmentEngine.open(kind, plan, server, 'strata_hostile');
      await engine.load(plan, seedDataset({ events, profiles }));
    }, 60_000);
    afterAll(async () => {
      await engine?.close();
      await server?.stop();
    });

    it.each(cases)('%s', async (_name, condition, expected) => {
      const s = segment(`k'"; --\\`, condition);
      expect(await engine.members(s, T)).toEqual([...expected].sort());
      expect((await engine.batch([s], T)).members.get(s.key)).toEqual([...expected].sort());
    });

    it('runs them all as one batch and leaves every table intact', async () => {
      const got = await engine.batch(
        cases.map(([name, condition]) => segment(name, condition)),
        T,
      );
      for (const [name, , expected] of cases) expect(got.members.get(name), name).toEqual([...expected].sort());
      const count = engine.store.dialect.aggregate('count', null, null);
      const counts = await engine.store.query(
        `SELECT (SELECT ${count} FROM ${TABLES.events}) AS events, (SELECT ${count} FROM ${TABLES.users}) AS users, (SELECT ${count} FROM ${TABLES.profiles}) AS profiles`,
      );
      // DuckDB counts are BIGINT (bigint in JS), ClickHouse's plain numbers.
      expect(Object.fromEntries(Object.entries(counts[0]!).map(([k, v]) => [k, Number(v)]))).toEqual({ events: events.length, users: VALUES.length, profiles: VALUES.length });
    });
  });
}

it('rejects a NUL character, which no quoting can carry', () => {
  expect(() => compileSegmentMembers(segment('nul', trait(EVIL_TRAIT, 'string', cmp('eq', str('a\u0000b')))), { dialect: duckdbDialect, asOfMs: T })).toThrow(StrataError);
  expect(() => clickhouseString('a\u0000b')).toThrow(StrataError);
  expect(() => clickhouseIdentifier('a\u0000b')).toThrow(StrataError);
});

/** Strings that break naive escaping in ClickHouse, where `\` escapes inside quotes and backquotes. */
const ROUND_TRIP = [
  ...VALUES,
  EVIL_EVENT,
  EVIL_EVENT_2,
  EVIL_PROP,
  EVIL_TRAIT,
  UNICODE_TRAIT,
  '',
  '\\',
  '\\\\',
  "'",
  "''",
  "\\\\'",
  '`',
  '\\`',
  'a\tb\rc\n',
  '\u2028\u2029',
  'e\u0301 \u{1F600} \uFFFD',
  '?{0}$1:name',
];

describe.skipIf(!clickhouseAvailable())('ClickHouse escaping round trips', () => {
  let server: LocalClickHouse;
  let store: ClickHouseStore;
  beforeAll(async () => {
    server = await startClickHouse();
    store = await ClickHouseStore.open({ url: server.urls[0]!, database: 'strata_escaping' });
  }, 60_000);
  afterAll(async () => {
    await store?.dropDatabase();
    await store?.close();
    await server?.stop();
  });

  it('returns every string literal unchanged', async () => {
    const rows = await store.query(`SELECT ${ROUND_TRIP.map((v, i) => `${clickhouseString(v)} AS c${i}`).join(', ')}`);
    expect(ROUND_TRIP.map((_, i) => rows[0]![`c${i}`])).toEqual([...ROUND_TRIP]);
  });

  it('returns every quoted identifier unchanged as a column name', async () => {
    // One column per query: the output format may not hold two columns of one name ('' and '').
    for (const name of ROUND_TRIP.filter((v) => v !== '')) {
      const rows = await store.query(`SELECT 1 AS ${clickhouseIdentifier(name)}`);
      expect(Object.keys(rows[0]!), JSON.stringify(name)).toEqual([name]);
    }
  });

  it('compares stored hostile values with hostile literals exactly', async () => {
    const table = clickhouseIdentifier(`t'\\\`${EVIL_TRAIT}`);
    const column = clickhouseIdentifier(EVIL_PROP);
    await store.execute(`CREATE TABLE ${table} (i UInt32, ${column} String) ENGINE = MergeTree ORDER BY i`);
    await store.execute(`INSERT INTO ${table} (i, ${column}) VALUES ${ROUND_TRIP.map((v, i) => `(${i}, ${clickhouseString(v)})`).join(', ')}`);
    const stored = await store.query(`SELECT i, ${column} AS v FROM ${table} ORDER BY i`);
    expect(stored.map((r) => r.v)).toEqual([...ROUND_TRIP]);
    for (const [i, v] of ROUND_TRIP.entries()) {
      const hits = await store.query(`SELECT i FROM ${table} WHERE ${column} = ${clickhouseString(v)}`);
      // Equal strings in the list match together; each literal finds exactly its own.
      expect(hits.map((r) => Number(r.i)).sort((a, b) => a - b), JSON.stringify(v)).toEqual(ROUND_TRIP.flatMap((w, j) => (w === v ? [j] : [])));
      expect(hits.map((r) => Number(r.i))).toContain(i);
    }
  });
});
