/**
 * JSON lines for `strata stream` follow ingest's rules. Oracles: for value conversion,
 * the store's own SQL converters (src/store/duckdb/ingest-values.ts, run in DuckDB, the
 * rules every ingested row goes through); for timestamps, src/ingest/event-time.ts
 * `parseEventTimeMs` (which test/ingest-timestamps.test.ts holds to that SQL).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStrataError } from '../../errors/errors.js';
import { parseEventTimeMs } from '../../ingest/event-time.js';
import { parsePlan } from '../../schema/tracking-plan.js';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.js';
import { booleanFromText, numberFromText } from '../../store/duckdb/ingest-values.js';
import { StreamRecordParser } from './stream-input.js';

const PLAN = parsePlan({
  events: {
    purchase: { properties: { amount: 'number', paid: 'boolean', at: 'timestamp', note: 'string', constructor: 'string' } },
    view: { properties: { page: 'string' } },
  },
  traits: { plan: 'string', seats: 'number' },
});
const STRICT = parsePlan({ undeclared: 'reject', events: { view: { properties: { page: 'string' } } }, traits: { plan: 'string' } });

function failure(fn: () => unknown): { message: string; path: string | undefined } {
  try {
    fn();
  } catch (e) {
    if (!isStrataError(e)) throw e;
    return { message: e.message, path: e.details[0]?.path };
  }
  throw new Error('expected an error');
}

let store: DuckDbStore;
beforeAll(async () => {
  store = await DuckDbStore.open({ path: ':memory:', threads: 1 });
});
afterAll(async () => {
  await store?.close();
});

/** What the store's SQL makes of texts for one type (null: no value fits). */
async function sqlConvert(texts: readonly string[], convert: (x: string) => string): Promise<unknown[]> {
  const d = store.dialect;
  const rows = await store.query(`SELECT i, ${convert('x')} AS v FROM (VALUES ${texts.map((t, i) => `(${i}, ${d.stringLiteral(t)})`).join(', ')}) AS t(i, x) ORDER BY i`);
  return rows.map((r) => (r.v === null ? null : r.v));
}

describe('StreamRecordParser: values convert as ingest converts them', () => {
  const parser = new StreamRecordParser(PLAN);
  const amountOf = (raw: unknown) => {
    try {
      return (parser.parse({ user_id: 'u', event: 'purchase', timestamp: '2024-05-01', properties: { amount: raw } }, 1) as { properties: Record<string, unknown> }).properties.amount ?? null;
    } catch {
      return null;
    }
  };
  const paidOf = (raw: unknown) => {
    try {
      return (parser.parse({ user_id: 'u', event: 'purchase', timestamp: '2024-05-01', properties: { paid: raw } }, 1) as { properties: Record<string, unknown> }).properties.paid ?? null;
    } catch {
      return null;
    }
  };

  it('numbers from text: the same as the store', async () => {
    const texts = ['12', ' 12 ', '1e3', '.5', '5.', '+5', '-5', '0x10', 'Infinity', 'NaN', '1_000', '1,5', '12abc', '\t7\n', '1e400', '- 5', '00012', '1.5e-3', 'abc', '1__0', '_1'];
    expect(texts.map(amountOf)).toEqual(await sqlConvert(texts, numberFromText));
  });

  it('booleans from text: the same as the store', async () => {
    const texts = ['true', 'TRUE', 'False', '1', '0', 'yes', 't', ' true', '2'];
    expect(texts.map(paidOf)).toEqual(await sqlConvert(texts, booleanFromText));
  });

  it('JSON numbers and booleans, null and empty text', () => {
    expect([amountOf(12.5), amountOf(true), amountOf(null), amountOf('')]).toEqual([12.5, null, null, null]);
    expect([paidOf(true), paidOf(1), paidOf(0), paidOf(2), paidOf(null)]).toEqual([true, true, false, null, null]);
    const note = (raw: unknown) => (parser.parse({ user_id: 'u', event: 'purchase', timestamp: '2024-05-01', properties: { note: raw } }, 1) as { properties: Record<string, unknown> }).properties.note;
    expect([note('x'), note(12), note(false), note({ a: 1 }), note('')]).toEqual(['x', '12', 'false', '{"a":1}', '']);
  });

  it('a value that does not fit names the line, the property and what was expected', () => {
    const f = failure(() => parser.parseLine('{"user_id":"u","event":"purchase","timestamp":"2024-05-01","properties":{"amount":"ten"}}', 7));
    expect(f).toEqual({ message: 'line 7: properties.amount: property "amount": expected a finite number, got "ten"', path: 'line 7: properties.amount' });
  });
});

describe('StreamRecordParser: timestamps', () => {
  const parser = new StreamRecordParser(PLAN);
  const table = [
    '2024-05-01T12:30:05.123Z',
    '2024-05-01T12:30:05Z',
    '2024-05-01T23:59:59.999Z',
    '2024-05-01T24:00:00.000Z',
    '2024-05-01T12:60:00.000Z',
    '2024-05-01T12:30:60.000Z',
    '2024-02-30T12:30:05.123Z',
    '2024-02-29T12:30:05.123Z',
    '2023-02-29T12:30:05.123Z',
    '2024-13-01T12:30:05.123Z',
    '2024-05-01T12:30:05,123Z',
    '2024-05-01T12:3a:05.123Z',
    '2024-05-01t12:30:05.123Z',
    '2024-05-01T12:30:05.123z',
    '2024-05-01 12:30:05.123Z',
    '2024-05-01',
    '2024-05-01T12:30:05+02:00',
    '1714566605',
    '1714566605.5',
    '1714566605123',
    '0001-01-01T00:00:00.000Z',
  ];

  it('agrees with parseEventTimeMs on a table of inputs, in any order (the day cache)', () => {
    for (const order of [table, [...table].reverse()]) {
      for (const text of order) expect([text, parser.timeMs(text)]).toEqual([text, parseEventTimeMs(text)]);
    }
  });

  it('agrees with parseEventTimeMs on random near-ISO inputs', () => {
    const digits = (n: number) => fc.string({ unit: fc.constantFrom('0', '1', '2', '3', '5', '9'), minLength: n, maxLength: n });
    const text = fc
      .tuple(fc.constantFrom('2023', '2024', '1999'), digits(2), digits(2), digits(2), digits(2), digits(2), fc.constantFrom('.123', '.000', '', '.5', '.1234'), fc.constantFrom('Z', 'z', '', '+01:00'))
      .map(([y, mo, d, h, mi, s, f, z]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${f}${z}`);
    fc.assert(fc.property(text, (t) => parser.timeMs(t) === parseEventTimeMs(t)), { numRuns: process.env.CI ? 5000 : 1000 });
  });

  it('takes JSON numbers as epoch seconds or milliseconds and reports a bad one', () => {
    const ts = (raw: unknown) => (parser.parse({ user_id: 'u', event: 'view', timestamp: raw }, 1) as { ts: number }).ts;
    expect([ts(1714566605), ts(1714566605123)]).toEqual([1714566605000, 1714566605123]);
    expect(failure(() => ts('yesterday')).message).toBe(
      'line 1: timestamp: unparseable timestamp: expected a timestamp (ISO-8601, YYYY-MM-DD HH:MM:SS, or epoch seconds or milliseconds), got "yesterday"',
    );
    expect(failure(() => ts(undefined)).message).toBe('line 1: timestamp: missing timestamp (timestamp)');
  });
});

describe('StreamRecordParser: records', () => {
  const parser = new StreamRecordParser(PLAN);

  it('reads events with properties nested or flat (nested wins), user_id or userId', () => {
    expect(parser.parseLine('{"userId":42,"event":"view","timestamp":"2024-05-01","page":"/a"}', 1)).toEqual({
      kind: 'event',
      userId: '42',
      event: 'view',
      ts: Date.UTC(2024, 4, 1),
      properties: { page: '/a' },
    });
    const both = parser.parseLine('{"user_id":"u","event":"view","timestamp":"2024-05-01","page":"/flat","properties":{"page":"/nested"}}', 1);
    expect(both).toMatchObject({ properties: { page: '/nested' } });
  });

  it('drops undeclared properties, or rejects the line when the plan says so', () => {
    expect(parser.parseLine('{"user_id":"u","event":"view","timestamp":"2024-05-01","properties":{"page":"/a","extra":1},"other":2}', 1)).toMatchObject({ properties: { page: '/a' } });
    const strict = new StreamRecordParser(STRICT);
    expect(failure(() => strict.parseLine('{"user_id":"u","event":"view","timestamp":"2024-05-01","properties":{"extra":1}}', 3)).message).toBe(
      'line 3: properties.extra: undeclared property "extra" (the plan rejects undeclared fields)',
    );
    expect(failure(() => strict.parseLine('{"user_id":"u","event":"view","timestamp":"2024-05-01","other":2}', 4)).path).toBe('line 4: other');
    expect(failure(() => strict.parseLine('{"type":"profile","user_id":"u","traits":{"age":3}}', 5)).message).toBe('line 5: traits.age: undeclared trait "age" (the plan rejects undeclared fields)');
  });

  it('reads a property named like an Object.prototype member as data, and never finds the prototype value', () => {
    const r = parser.parseLine('{"user_id":"u","event":"purchase","timestamp":"2024-05-01","properties":{"constructor":"x"}}', 1) as { properties: Record<string, unknown> };
    expect(Object.hasOwn(r.properties, 'constructor')).toBe(true);
    expect(r.properties.constructor).toBe('x');
    const absent = parser.parseLine('{"user_id":"u","event":"purchase","timestamp":"2024-05-01"}', 1) as { properties: Record<string, unknown> };
    expect(Object.hasOwn(absent.properties, 'constructor')).toBe(false);
  });

  it('reads profiles; null keeps the stored value (left out here)', () => {
    expect(parser.parseLine('{"type":"profile","user_id":"u","traits":{"plan":"pro","seats":"3"},"seats":9}', 1)).toEqual({ kind: 'profile', userId: 'u', traits: { plan: 'pro', seats: 3 } });
    expect(parser.parseLine('{"type":"profile","user_id":"u","traits":{"plan":null}}', 1)).toEqual({ kind: 'profile', userId: 'u', traits: {} });
  });

  it('says what is wrong with a line, and skips blank ones', () => {
    expect(parser.parseLine('   ', 1)).toBeNull();
    const cases: [string, string][] = [
      ['not json', 'line 2: not valid JSON'],
      ['[1]', 'line 2: expected a JSON object'],
      ['{"event":"view","timestamp":"2024-05-01"}', 'line 2: user_id: missing user (user_id)'],
      ['{"user_id":"u","timestamp":"2024-05-01"}', 'line 2: event: missing event (event)'],
      ['{"user_id":"u","event":"nope","timestamp":"2024-05-01"}', 'line 2: event: event "nope" is not in the tracking plan'],
      ['{"user_id":"u","event":"view","timestamp":"2024-05-01","properties":[1]}', 'line 2: properties: "properties" is not an object'],
      ['{"type":"other","user_id":"u"}', 'line 2: type: expected "event", "profile" or "score", got "other"'],
    ];
    for (const [line, message] of cases) expect(failure(() => parser.parseLine(line, 2)).message.startsWith(message)).toBe(true);
  });

  describe('score records', () => {
    const models = new Map([
      ['churn-risk', 'churn' as const],
      ['upgrade', 'propensity' as const],
      ['personas', 'personas' as const],
    ]);
    const scoring = new StreamRecordParser(PLAN, { models });

    it('reads a score row and a persona row, with as_of as any timestamp ingest reads', () => {
      expect(scoring.parseLine('{"type":"score","model":"churn-risk","run":12,"as_of":"2024-05-01T00:00:00Z","user_id":"u1","score":0.83,"percentile":91.5}', 1)).toEqual({
        kind: 'score',
        model: 'churn-risk',
        runId: 12,
        asOfMs: Date.parse('2024-05-01T00:00:00Z'),
        userId: 'u1',
        score: 0.83,
        percentile: 91.5,
        cluster: null,
      });
      expect(scoring.parseLine('{"type":"score","model":"personas","run":3,"as_of":1714521600,"userId":7,"cluster":2}', 1)).toEqual({
        kind: 'score',
        model: 'personas',
        runId: 3,
        asOfMs: parseEventTimeMs('1714521600'),
        userId: '7',
        score: null,
        percentile: null,
        cluster: 2,
      });
    });

    it('names the field at fault', () => {
      const head = '"type":"score","run":1,"as_of":"2024-05-01","user_id":"u"';
      const cases: [string, string][] = [
        [`{${head},"model":"nope","score":0.1,"percentile":10}`, 'line 3: model: model "nope" is not in the model catalogue (stored: churn-risk, upgrade, personas;'],
        [`{${head},"score":0.1,"percentile":10}`, 'line 3: model: expected a model key, got undefined'],
        ['{"type":"score","model":"upgrade","run":0,"as_of":"2024-05-01","user_id":"u","score":0.1,"percentile":10}', 'line 3: run: expected a run id (a whole number >= 1), got 0'],
        ['{"type":"score","model":"upgrade","run":"2","as_of":"2024-05-01","user_id":"u","score":0.1,"percentile":10}', 'line 3: run: expected a run id'],
        ['{"type":"score","model":"upgrade","run":2,"user_id":"u","score":0.1,"percentile":10}', 'line 3: as_of: missing the instant the run is as of (as_of)'],
        ['{"type":"score","model":"upgrade","run":2,"as_of":"soon","user_id":"u","score":0.1,"percentile":10}', 'line 3: as_of: unparseable timestamp'],
        ['{"type":"score","model":"upgrade","run":2,"as_of":"2024-05-01","score":0.1,"percentile":10}', 'line 3: user_id: missing user (user_id)'],
        [`{${head},"model":"upgrade","percentile":10}`, 'line 3: score: expected a finite number, got undefined'],
        [`{${head},"model":"upgrade","score":"0.5","percentile":10}`, 'line 3: score: expected a finite number, got "0.5"'],
        [`{${head},"model":"upgrade","score":0.5}`, 'line 3: percentile: expected the score\'s percentile rank within the run (a number from 0 to 100), got undefined'],
        [`{${head},"model":"upgrade","score":0.5,"percentile":101}`, 'line 3: percentile: expected the score\'s percentile rank'],
        [`{${head},"model":"upgrade","score":0.5,"percentile":50,"cluster":1}`, 'line 3: cluster: "upgrade" is a propensity model: its rows hold a score and a percentile, not a cluster'],
        [`{${head},"model":"personas","cluster":1.5}`, 'line 3: cluster: expected a persona id (a whole number), got 1.5'],
        [`{${head},"model":"personas","cluster":1,"score":0.2}`, 'line 3: score: "personas" is a personas model: its rows hold a cluster, not a score'],
        [`{${head},"model":"personas","cluster":1,"asOf":"2024-05-01"}`, 'line 3: asOf: unknown field of a score record'],
      ];
      for (const [line, message] of cases) {
        const f = failure(() => scoring.parseLine(line, 3));
        expect({ line, message: f.message.slice(0, message.length) }).toEqual({ line, message });
        expect(f.path).toBe(message.split(': ').slice(0, 2).join(': '));
      }
    });

    it('refuses every score record when no model is stored', () => {
      expect(failure(() => parser.parseLine('{"type":"score","model":"churn-risk","run":1,"as_of":"2024-05-01","user_id":"u","score":0.1,"percentile":10}', 1)).message).toBe(
        'line 1: model: model "churn-risk" is not in the model catalogue (stored: none; train it with strata model train)',
      );
    });
  });
});
