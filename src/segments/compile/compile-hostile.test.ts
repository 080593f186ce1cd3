/**
 * Safe by construction: event, property and trait names and values full of quotes,
 * backslashes, semicolons, comment markers, newlines, LIKE wildcards and non-ASCII text
 * reach SQL only through quoteIdentifier / stringLiteral. The queries run for real, return
 * exactly the rows a plain string comparison says, and leave every table intact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrataError } from '../../errors/errors.js';
import { parsePlan } from '../../schema/tracking-plan.js';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.js';
import type { Condition } from '../ir/nodes.js';
import { compileSegmentBatch, compileSegmentMembers, duckdbDialect } from './index.js';
import { DAY, all, cmp, did, inList, on, prop, segment, str, trait, within } from './test-support/ir-builders.js';
import { batchMembers, openSeededStore, userIds } from './test-support/seed-store.js';

const T = Date.UTC(2024, 0, 10);
const EVIL_EVENT = `it's "q"; DROP TABLE events; --`;
const EVIL_EVENT_2 = 'x/* y */ \\ é';
const EVIL_PROP = 'a"b\\c;--/*';
const EVIL_TRAIT = `t'"; DROP TABLE profiles; --`;
const UNICODE_TRAIT = '日本語 😀';
const VALUES = ["O'Brien", 'back\\slash', 'semi;colon', '--comment', '/* block', 'line\nbreak', '100%_sure', '日本語😀', `'); DROP TABLE users; --`] as const;

const plan = parsePlan({
  events: { [EVIL_EVENT]: { properties: { [EVIL_PROP]: 'string' } }, [EVIL_EVENT_2]: {} },
  traits: { [EVIL_TRAIT]: 'string', [UNICODE_TRAIT]: 'string' },
});

// User i holds VALUES[i] as trait and property value, so each value selects exactly user i.
const userOf = (i: number) => `u${i}'"${i}`;
const events = VALUES.flatMap((v, i) => [
  { user: userOf(i), event: EVIL_EVENT, at: T - (i + 1) * 3_600_000, props: { [EVIL_PROP]: v } },
  ...(i % 2 === 0 ? [{ user: userOf(i), event: EVIL_EVENT_2, at: T - 1_800_000 + i }] : []),
]);
const profiles = Object.fromEntries(VALUES.map((v, i) => [userOf(i), { [EVIL_TRAIT]: v, [UNICODE_TRAIT]: v }]));

describe('hostile names and values', () => {
  let store: DuckDbStore;
  const options = { dialect: duckdbDialect, asOfMs: T };

  beforeAll(async () => {
    store = await openSeededStore(plan, { events, profiles });
  });
  afterAll(async () => {
    await store.close();
  });

  const cases: [string, Condition, string[]][] = [
    ...VALUES.map((v, i): [string, Condition, string[]] => [`trait eq ${JSON.stringify(v)}`, trait(EVIL_TRAIT, 'string', cmp('eq', str(v))), [userOf(i)]]),
    ...VALUES.map((v, i): [string, Condition, string[]] => [`unicode trait name eq ${JSON.stringify(v)}`, trait(UNICODE_TRAIT, 'string', cmp('eq', str(v))), [userOf(i)]]),
    ...VALUES.map((v, i): [string, Condition, string[]] => [`property eq ${JSON.stringify(v)}`, did(on(EVIL_EVENT, prop(EVIL_PROP, 'string', cmp('eq', str(v))))), [userOf(i)]]),
    // `%` and `_` are LIKE wildcards: a contains test must treat them as plain characters.
    ['contains a literal %_', trait(EVIL_TRAIT, 'string', cmp('contains', str('%_'))), [userOf(6)]],
    ['startsWith --', trait(EVIL_TRAIT, 'string', cmp('startsWith', str('--'))), [userOf(3)]],
    ['in a list of hostile values', trait(EVIL_TRAIT, 'string', inList(str(VALUES[0]), str(VALUES[8]))), [userOf(0), userOf(8)]],
    ['a hostile event name', did(on(EVIL_EVENT_2), within(DAY)), [0, 2, 4, 6, 8].map(userOf)],
    ['a sequence of hostile event names', { kind: 'sequence', steps: [on(EVIL_EVENT), on(EVIL_EVENT_2)], spanMs: DAY, window: all }, [0, 2, 4, 6, 8].map(userOf)],
  ];

  it.each(cases)('%s', async (_name, condition, expected) => {
    const s = segment(`k'"; --`, condition);
    expect(await userIds(store, compileSegmentMembers(s, options))).toEqual([...expected].sort());
    const batch = compileSegmentBatch([s], options);
    expect((await batchMembers(store, batch.sql, batch.columns)).get(s.key)).toEqual([...expected].sort());
  });

  it('runs them all as one batch and leaves every table intact', async () => {
    const batch = compileSegmentBatch(
      cases.map(([name, condition]) => segment(name, condition)),
      options,
    );
    const got = await batchMembers(store, batch.sql, batch.columns);
    for (const [name, , expected] of cases) expect(got.get(name), name).toEqual([...expected].sort());
    const counts = await store.query(
      `SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM profiles) AS profiles`,
    );
    expect(counts[0]).toEqual({ events: BigInt(events.length), users: BigInt(VALUES.length), profiles: BigInt(VALUES.length) });
  });

  it('rejects a NUL character, which no quoting can carry', () => {
    expect(() => compileSegmentMembers(segment('nul', trait(EVIL_TRAIT, 'string', cmp('eq', str('a\u0000b')))), options)).toThrow(StrataError);
  });
});
