/**
 * The store parses timestamps in SQL (timestampFromText); src/ingest/event-time.ts states
 * the rule in TypeScript on top of src/time/time.ts parseInstantMs. The oracle for every
 * case here is that TypeScript rule: the SQL must agree with it on a table of hand-picked
 * inputs, on random inputs from the same alphabet, and end to end through ingest.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles, parseEventTimeMs } from '../src/ingest/index.js';
import { parseInstantMs } from '../src/time/time.js';
import { timestampFromText } from '../src/store/duckdb/ingest-values.js';
import { TEST_PLAN, ms, sandbox, type Sandbox } from './ingest-helpers.js';

let box: Sandbox;
beforeAll(async () => {
  box = await sandbox();
});
afterAll(async () => {
  await box.close();
});

/** Epoch ms (or undefined) per input, as the store's SQL parses them. */
async function sqlParse(inputs: readonly string[]): Promise<(number | undefined)[]> {
  const d = box.store.dialect;
  const values = inputs.map((s, i) => `(${i}, ${d.stringLiteral(s)})`).join(', ');
  const rows = await box.store.query(`SELECT i, epoch_ms(${timestampFromText('x')})::DOUBLE AS t FROM (VALUES ${values}) AS v(i, x) ORDER BY i`);
  return rows.map((r) => (r.t === null ? undefined : Number(r.t)));
}

const VALID_ISO: readonly [string, string][] = [
  ['2024-05-01', '2024-05-01T00:00:00.000Z'],
  ['2024-05-01T12:30', '2024-05-01T12:30:00.000Z'],
  ['2024-05-01 12:30', '2024-05-01T12:30:00.000Z'],
  ['2024-05-01T12:30:05', '2024-05-01T12:30:05.000Z'],
  ['2024-05-01 12:30:05', '2024-05-01T12:30:05.000Z'],
  ['2024-05-01T12:30:05Z', '2024-05-01T12:30:05.000Z'],
  ['2024-05-01T12:30:05.1Z', '2024-05-01T12:30:05.100Z'],
  ['2024-05-01T12:30:05.123456789Z', '2024-05-01T12:30:05.123Z'],
  ['2024-05-01T12:30:05.999999999', '2024-05-01T12:30:05.999Z'],
  ['2024-05-01T12:30Z', '2024-05-01T12:30:00.000Z'],
  ['2024-05-01T12:30+02:00', '2024-05-01T10:30:00.000Z'],
  ['2024-05-01T12:30:05-0530', '2024-05-01T18:00:05.000Z'],
  ['2024-05-01 12:30:05+00:00', '2024-05-01T12:30:05.000Z'],
  ['2024-05-01T12:30:05.5+01:00', '2024-05-01T11:30:05.500Z'],
  ['2024-02-29', '2024-02-29T00:00:00.000Z'],
  ['2024-12-31T23:59:59.999Z', '2024-12-31T23:59:59.999Z'],
  ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
  ['1969-12-31T23:59:59.999Z', '1969-12-31T23:59:59.999Z'],
  ['0100-01-01', '0100-01-01T00:00:00.000Z'],
  ['9999-12-31T23:59:59Z', '9999-12-31T23:59:59.000Z'],
];

const VALID_EPOCH: readonly [string, number][] = [
  ['0', 0],
  ['1', 1000],
  ['1700000000', 1_700_000_000_000],
  ['1700000000.5', 1_700_000_000_500],
  ['1700000000.123456', 1_700_000_000_123],
  ['1700000000.9999', 1_700_000_000_999],
  ['0001700000000', 1_700_000_000_000],
  ['99999999999', 99_999_999_999_000], // just below 1e11: still seconds
  ['100000000000', 100_000_000_000], // 1e11: milliseconds from here
  ['1700000000123', 1_700_000_000_123],
  ['1700000000123.9', 1_700_000_000_123],
  ['99999999999999', 99_999_999_999_999],
];

const INVALID: readonly string[] = [
  // The two common forms the SQL recognises by a fast path, with bad values.
  '2024-02-30T10:00:00.000Z',
  '2024-01-01T24:00:00.000Z',
  '0050-01-01T10:00:00.000Z',
  '2024-13-01 10:00:00',
  '2024-01-01 24:00:00',
  '2024-01-01 23:60:00',
  '0099-01-01 10:00:00',
  '2023-02-29',
  '2024-13-01',
  '2024-00-10',
  '2024-01-32',
  '2024-04-31',
  '2024-01-01T24:00:00',
  '2024-01-01T24:00',
  '2024-01-01T23:60',
  '2024-01-01T23:59:60',
  '2024-1-1',
  '24-01-01',
  '2024-01-01T12',
  '2024-01-01T12:30:05.',
  '2024-01-01T12:30:05.1234567890',
  ' 2024-01-01',
  '2024-01-01 ',
  '2024-01-01T12:30:05+02',
  '2024-01-01T12:30:05 +02:00',
  '2024-01-01T12:30:05z',
  '2024-01-01T12:30:05GMT',
  '2024/01/01',
  '0099-12-31',
  '0000-01-01',
  '２０２４-01-01',
  'now',
  '',
  'abc',
  '100000000000000', // 1e14: microseconds are not guessed
  '999999999999999999',
  '1234567890123456789',
  '-1700000000',
  '+1700000000',
  '1e9',
  '1700000000.',
  '.5',
];

describe('timestamp parsing: SQL against the TypeScript rule', () => {
  it('parses ISO-8601 forms as parseInstantMs does, truncated to the millisecond', async () => {
    const inputs = VALID_ISO.map(([s]) => s);
    const sql = await sqlParse(inputs);
    inputs.forEach((s, i) => {
      const expected = ms(VALID_ISO[i]![1]);
      expect(parseInstantMs(s), s).toBe(expected);
      expect(parseEventTimeMs(s), s).toBe(expected);
      expect(sql[i], s).toBe(expected);
    });
  });

  it('reads epoch numbers below 1e11 as seconds and below 1e14 as milliseconds', async () => {
    const inputs = VALID_EPOCH.map(([s]) => s);
    const sql = await sqlParse(inputs);
    inputs.forEach((s, i) => {
      expect(parseEventTimeMs(s), s).toBe(VALID_EPOCH[i]![1]);
      expect(sql[i], s).toBe(VALID_EPOCH[i]![1]);
    });
  });

  it('rejects the same malformed inputs', async () => {
    const sql = await sqlParse(INVALID);
    INVALID.forEach((s, i) => {
      expect(parseEventTimeMs(s), s).toBeUndefined();
      expect(sql[i], s).toBeUndefined();
    });
  });

  it('agrees on random inputs built from the grammar and its near misses', async () => {
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    const iso = fc
      .record({
        y: fc.integer({ min: 0, max: 9999 }),
        mo: fc.integer({ min: 0, max: 13 }),
        d: fc.integer({ min: 0, max: 32 }),
        time: fc.option(
          fc.record({
            sep: fc.constantFrom('T', ' '),
            h: fc.integer({ min: 0, max: 25 }),
            mi: fc.integer({ min: 0, max: 61 }),
            s: fc.option(fc.record({ s: fc.integer({ min: 0, max: 61 }), frac: fc.option(fc.stringMatching(/^\d{1,10}$/)) })),
            zone: fc.option(
              fc.oneof(
                fc.constant('Z'),
                fc.record({ sign: fc.constantFrom('+', '-'), h: fc.integer({ min: 0, max: 99 }), m: fc.integer({ min: 0, max: 99 }), colon: fc.boolean() }).map(
                  (z) => `${z.sign}${pad(z.h, 2)}${z.colon ? ':' : ''}${pad(z.m, 2)}`,
                ),
              ),
            ),
          }),
        ),
      })
      .map(({ y, mo, d, time }) => {
        let s = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}`;
        if (time) {
          s += `${time.sep}${pad(time.h, 2)}:${pad(time.mi, 2)}`;
          if (time.s) s += `:${pad(time.s.s, 2)}${time.s.frac !== null ? `.${time.s.frac}` : ''}`;
          if (time.zone !== null) s += time.zone;
        }
        return s;
      });
    const epoch = fc
      .tuple(fc.stringMatching(/^\d{1,19}$/), fc.option(fc.stringMatching(/^\d{0,6}$/)))
      .map(([whole, frac]) => (frac === null ? whole : `${whole}.${frac}`));
    const noise = fc.string({ unit: fc.constantFrom(...'0123456789-:T .Z+e'), maxLength: 26 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(iso, iso, epoch, noise), { minLength: 60, maxLength: 60 }), async (inputs) => {
        const sql = await sqlParse(inputs);
        inputs.forEach((s, i) => expect(sql[i], s).toBe(parseEventTimeMs(s)));
      }),
      { numRuns: 20 },
    );
  });
});

describe('timestamps through ingest', () => {
  it('stores every accepted form of event time, timestamp property and timestamp trait as the rule says', async () => {
    const forms = [...VALID_ISO.map(([s]) => s), ...VALID_EPOCH.map(([s]) => s)];
    const lines = forms.map((t, i) =>
      JSON.stringify({ user_id: `u${i}`, event: 'purchase', timestamp: t, event_id: `e${i}`, properties: { shipped_at: t } }),
    );
    // Epoch values also arrive as JSON numbers.
    lines.push(JSON.stringify({ user_id: 'n1', event: 'purchase', timestamp: 1700000000, event_id: 'n1', properties: { shipped_at: 1700000000123 } }));
    const file = box.file('times.jsonl', lines.join('\n'));
    const report = await ingestFiles(box.store, { kind: 'events', files: [file], plan: TEST_PLAN, rejectsPath: box.rejectsPath() });
    expect(report).toMatchObject({ read: forms.length + 1, stored: forms.length + 1, rejected: 0 });
    const rows = await box.store.query(`SELECT event_id, epoch_ms(ts)::DOUBLE AS ts, epoch_ms(p_shipped_at)::DOUBLE AS shipped FROM events`);
    const byId = new Map(rows.map((r) => [String(r.event_id), r]));
    forms.forEach((t, i) => {
      expect(byId.get(`e${i}`), t).toEqual({ event_id: `e${i}`, ts: parseEventTimeMs(t), shipped: parseEventTimeMs(t) });
    });
    expect(byId.get('n1')).toEqual({ event_id: 'n1', ts: 1_700_000_000_000, shipped: 1_700_000_000_123 });

    const traits = box.file('users.csv', `user_id,signup_at\n${forms.map((t, i) => `p${i},${t}`).join('\n')}\n`);
    const profiles = await ingestFiles(box.store, { kind: 'profiles', files: [traits], plan: TEST_PLAN, rejectsPath: box.rejectsPath('p.jsonl') });
    expect(profiles).toMatchObject({ stored: forms.length, rejected: 0 });
    const stored = new Map(
      (await box.store.query(`SELECT user_id, epoch_ms(t_signup_at)::DOUBLE AS t FROM profiles`)).map((r) => [String(r.user_id), Number(r.t)]),
    );
    forms.forEach((t, i) => expect(stored.get(`p${i}`), t).toBe(parseEventTimeMs(t)));
  });
});
