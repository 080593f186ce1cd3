/**
 * Every file format (JSONL canonical and flat, JSON arrays, CSV, TSV, Parquet, each also
 * gzipped) lands the same events in the store, and files that cannot be read fail the run
 * with an error naming the file and what was expected.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StrataError } from '../src/errors/errors.js';
import { ingestFiles, type IngestReport } from '../src/ingest/index.js';
import { TEST_PLAN, ms, sandbox, type Sandbox } from './ingest-helpers.js';

let box: Sandbox;
beforeEach(async () => {
  box = await sandbox();
});
afterEach(async () => {
  await box.close();
});

/** The three events every format below spells, as the store should hold them. */
const EXPECTED = [
  {
    user_id: 'u1',
    event: 'purchase',
    ts: ms('2024-03-01T10:00:00.123Z'),
    amount: 12.5,
    currency: 'EUR',
    gift: true,
    shipped_at: ms('2024-03-02T00:00:00Z'),
    channel: null,
    path: null,
  },
  { user_id: 'u2', event: 'signup', ts: ms('2024-03-01T11:00:00Z'), amount: null, currency: null, gift: null, shipped_at: null, channel: 'ads', path: null },
  { user_id: 'u1', event: 'page_view', ts: ms('2024-03-02T09:30:00Z'), amount: 0, currency: null, gift: null, shipped_at: null, channel: null, path: '/home' },
];

const CANONICAL_JSONL = [
  { user_id: 'u1', event: 'purchase', timestamp: '2024-03-01T10:00:00.123Z', properties: { amount: 12.5, currency: 'EUR', gift: true, shipped_at: '2024-03-02' } },
  { user_id: 'u2', event: 'signup', timestamp: '2024-03-01T11:00:00Z', properties: { channel: 'ads' } },
  { user_id: 'u1', event: 'page_view', timestamp: '2024-03-02T09:30:00Z', properties: { path: '/home', amount: 0 } },
]
  .map((r) => JSON.stringify(r))
  .join('\n');

const FLAT_JSONL = [
  { user_id: 'u1', event: 'purchase', timestamp: '2024-03-01T10:00:00.123Z', amount: 12.5, currency: 'EUR', gift: true, shipped_at: '2024-03-02' },
  { user_id: 'u2', event: 'signup', timestamp: '2024-03-01T11:00:00Z', channel: 'ads' },
  { user_id: 'u1', event: 'page_view', timestamp: '2024-03-02T09:30:00Z', path: '/home', amount: 0 },
]
  .map((r) => JSON.stringify(r))
  .join('\n');

const CSV =
  'user_id,event,timestamp,amount,currency,gift,shipped_at,channel,path\n' +
  'u1,purchase,2024-03-01T10:00:00.123Z,12.5,EUR,true,2024-03-02,,\n' +
  'u2,signup,2024-03-01 11:00:00,,,,,ads,\n' +
  'u1,page_view,2024-03-02T09:30:00Z,0,,,,,/home\n';

async function stored(): Promise<Record<string, unknown>[]> {
  const rows = await box.rows(
    `SELECT user_id, event, epoch_ms(ts) AS ts, p_amount AS amount, p_currency AS currency, p_gift AS gift,
            epoch_ms(p_shipped_at) AS shipped_at, p_channel AS channel, p_path AS path
     FROM events ORDER BY ts, event`,
  );
  return rows.map((r) => ({ ...r, ts: Number(r.ts), shipped_at: r.shipped_at === null ? null : Number(r.shipped_at) }));
}

async function ingest(files: string[], extra: Partial<Parameters<typeof ingestFiles>[1]> = {}): Promise<IngestReport> {
  return ingestFiles(box.store, { kind: 'events', files, plan: TEST_PLAN, rejectsPath: box.rejectsPath(), ...extra });
}

async function writeParquet(name: string, gzip: boolean): Promise<string> {
  const path = box.file(name.replace(/\.gz$/, ''), '');
  // Typed columns: DOUBLE, BOOLEAN and TIMESTAMP skip the text round trip; ts stays text.
  await box.store.execute(
    `COPY (
       SELECT * FROM (VALUES
         ('u1', 'purchase', '2024-03-01T10:00:00.123Z', 12.5::DOUBLE, 'EUR', true, TIMESTAMP '2024-03-02 00:00:00', NULL, NULL),
         ('u2', 'signup', '2024-03-01 11:00:00', NULL, NULL, NULL, NULL, 'ads', NULL),
         ('u1', 'page_view', '1709371800', 0::DOUBLE, NULL, NULL, NULL, NULL, '/home')
       ) AS t(user_id, event, timestamp, amount, currency, gift, shipped_at, channel, path)
     ) TO '${path}' (FORMAT parquet)`,
  );
  if (!gzip) return path;
  const gz = `${path}.gz`;
  writeFileSync(gz, gzipSync(readFileSync(path)));
  return gz;
}

describe('formats', () => {
  const cases: [string, () => Promise<string>][] = [
    ['canonical JSONL', async () => box.file('events.jsonl', CANONICAL_JSONL)],
    ['canonical JSONL, gzipped', async () => box.file('events.jsonl.gz', CANONICAL_JSONL)],
    ['flat NDJSON', async () => box.file('events.ndjson', FLAT_JSONL)],
    ['flat NDJSON, gzipped', async () => box.file('events.ndjson.gz', FLAT_JSONL)],
    ['a JSON array', async () => box.file('events.json', `[${CANONICAL_JSONL.split('\n').join(',\n')}]`)],
    ['CSV', async () => box.file('events.csv', CSV)],
    ['CSV, gzipped', async () => box.file('events.csv.gz', CSV)],
    ['TSV', async () => box.file('events.tsv', CSV.replaceAll(',', '\t'))],
    ['TSV, gzipped', async () => box.file('events.tsv.gz', CSV.replaceAll(',', '\t'))],
    ['Parquet', () => writeParquet('events.parquet', false)],
    ['Parquet, gzipped', () => writeParquet('events.parquet.gz', true)],
  ];
  for (const [name, make] of cases) {
    it(`stores the same events from ${name}`, async () => {
      const file = await make();
      const report = await ingest([file]);
      expect(report).toMatchObject({ read: 3, stored: 3, rejected: 0, duplicates: 0, droppedFields: {}, rejectsPath: null });
      expect(await stored()).toEqual(EXPECTED);
    });
  }

  it('reads a file by the format option when its name does not say', async () => {
    const file = box.file('events.txt', CSV);
    await expect(ingest([file])).rejects.toMatchObject({ code: 'FORMAT_UNSUPPORTED' });
    expect((await ingest([file], { format: 'csv' })).stored).toBe(3);
  });

  it('hashes an event alike from every format, so the same events in another format are duplicates', async () => {
    await ingest([box.file('events.jsonl', CANONICAL_JSONL)]);
    const fromCsv = await ingest([box.file('events.csv', CSV)]);
    const fromParquet = await ingest([await writeParquet('events.parquet', false)]);
    expect(fromCsv).toMatchObject({ stored: 0, duplicates: 3 });
    expect(fromParquet).toMatchObject({ stored: 0, duplicates: 3 });
    expect(await box.rows('SELECT count(*)::INTEGER AS n FROM events')).toEqual([{ n: 3 }]);
  });
});

describe('column mapping', () => {
  // The shape of ../shared/data's Online Retail file: one purchase per line item.
  const RETAIL =
    'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n' +
    '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n' +
    '536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom\n' +
    '536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,United Kingdom\n' +
    'C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom\n';
  const RETAIL_PLAN = {
    ...TEST_PLAN,
    events: { purchase: { properties: { Quantity: { type: 'number' as const }, UnitPrice: { type: 'number' as const }, InvoiceNo: { type: 'string' as const } } } },
  };

  it('maps user, time and a literal event, keeps float-looking ids verbatim, and rejects empty users', async () => {
    const file = box.file('online-retail.csv.gz', RETAIL);
    const report = await ingestFiles(box.store, {
      kind: 'events',
      files: [file],
      plan: RETAIL_PLAN,
      rejectsPath: box.rejectsPath(),
      mapping: { user: 'CustomerID', time: 'InvoiceDate', event: { literal: 'purchase' } },
    });
    expect(report).toMatchObject({
      read: 4,
      stored: 3,
      rejected: 1,
      rejectReasons: { 'missing user ("CustomerID")': 1 },
      droppedFields: { StockCode: 3, Description: 3, Country: 3 },
    });
    const rows = await box.rows(
      `SELECT user_id, event, epoch_ms(ts)::DOUBLE AS ts, p_Quantity AS q, p_UnitPrice AS price, p_InvoiceNo AS invoice FROM events ORDER BY ts, q DESC`,
    );
    expect(rows).toEqual([
      { user_id: '17850.0', event: 'purchase', ts: ms('2010-12-01T08:26:00Z'), q: 6, price: 2.55, invoice: '536365' },
      { user_id: '17850.0', event: 'purchase', ts: ms('2010-12-01T08:26:00Z'), q: 6, price: 3.39, invoice: '536365' },
      { user_id: '14527.0', event: 'purchase', ts: ms('2010-12-01T09:41:00Z'), q: -1, price: 27.5, invoice: 'C536379' },
    ]);
    expect(box.rejects()).toEqual([
      {
        file,
        line: 4,
        reason: 'missing user ("CustomerID")',
        row: {
          InvoiceNo: '536366',
          StockCode: '22633',
          Description: 'HAND WARMER UNION JACK',
          Quantity: '6',
          InvoiceDate: '2010-12-01 08:28:00',
          UnitPrice: '1.85',
          CustomerID: null,
          Country: 'United Kingdom',
        },
      },
    ]);
  });

  it('uses an id column for dedupe when mapped', async () => {
    const file = box.file('clicks.csv', 'uid,at,what,click_id\na,2024-01-01,signup,c1\na,2024-01-02,signup,c1\nb,2024-01-02,signup,c2\n');
    const report = await ingest([file], { mapping: { user: 'uid', time: 'at', event: 'what', id: 'click_id' } });
    expect(report).toMatchObject({ read: 3, stored: 2, duplicates: 1 });
    expect(await box.rows('SELECT event_id, user_id FROM events ORDER BY event_id')).toEqual([
      { event_id: 'c1', user_id: 'a' },
      { event_id: 'c2', user_id: 'b' },
    ]);
  });

  it('fails on a missing mapped column, naming the file, the column and the columns it has', async () => {
    const file = box.file('clicks.csv', 'uid,at,what\na,2024-01-01,signup\n');
    const error = await ingest([file], { mapping: { user: 'user', time: 'at', event: 'what' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StrataError);
    expect(error).toMatchObject({ code: 'MAPPING_INVALID' });
    expect((error as StrataError).message).toContain(file);
    expect((error as StrataError).details[0]!.message).toBe('no column "user" for the user id; the columns are "uid", "at", "what"');
    const explicitId = await ingest([file], { mapping: { user: 'uid', time: 'at', event: 'what', id: 'click_id' } }).catch((e: unknown) => e);
    expect(explicitId).toMatchObject({ code: 'MAPPING_INVALID' });
  });

  it('fails when the literal event is not in the tracking plan', async () => {
    const file = box.file('x.csv', 'user_id,timestamp\na,2024-01-01\n');
    await expect(ingest([file], { mapping: { event: { literal: 'refund' } } })).rejects.toMatchObject({
      code: 'MAPPING_INVALID',
      message: 'the event "refund" is not in the tracking plan',
    });
  });
});

describe('unreadable files', () => {
  it('names a missing file', async () => {
    await expect(ingest([`${box.dir}/nope.jsonl`])).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: `no such file: ${box.dir}/nope.jsonl` });
  });

  it('names the file and the expected format when JSON lines are malformed', async () => {
    const file = box.file('bad.jsonl', '{"user_id":"a","event":"signup","timestamp":"2024-01-01"}\n{oops\n');
    const error = (await ingest([file]).catch((e: unknown) => e)) as StrataError;
    expect(error).toMatchObject({ code: 'INPUT_INVALID', message: `cannot read ${file}: expected JSONL (one JSON object per line)` });
    expect(error.details[0]!.message).toMatch(/Malformed JSON/);
  });

  it('names the file when a line is not a JSON object', async () => {
    const file = box.file('array-line.jsonl', '[1, 2]\n');
    await expect(ingest([file])).rejects.toMatchObject({ code: 'INPUT_INVALID', message: `cannot read ${file}: expected JSONL (one JSON object per line)` });
  });

  it('names the file when it is not Parquet', async () => {
    const file = box.file('bad.parquet', 'not parquet at all');
    await expect(ingest([file])).rejects.toMatchObject({ code: 'INPUT_INVALID', message: `cannot read ${file}: expected Parquet` });
  });

  it('names the file when a .gz file is not gzip', async () => {
    const file = `${box.dir}/plain.csv.gz`;
    writeFileSync(file, CSV);
    await expect(ingest([file])).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });
});

describe('profiles', () => {
  it('reads traits from flat CSV and from nested or flat JSONL', async () => {
    const csv = box.file('users.csv', 'user_id,plan,age,vip,signup_at\nu1,pro,31,TRUE,2024-01-05\nu2,free,,0,\n');
    const jsonl = box.file(
      'users.jsonl.gz',
      `${JSON.stringify({ user_id: 'u3', traits: { plan: 'team', age: 40.5, vip: false, signup_at: 1704067200 } })}\n${JSON.stringify({ user_id: 'u4', plan: 'free' })}\n`,
    );
    const report = await ingestFiles(box.store, { kind: 'profiles', files: [csv, jsonl], plan: TEST_PLAN, rejectsPath: box.rejectsPath() });
    expect(report).toMatchObject({ kind: 'profiles', read: 4, stored: 4, rejected: 0 });
    const rows = await box.rows('SELECT user_id, t_plan AS plan, t_age AS age, t_vip AS vip, epoch_ms(t_signup_at)::DOUBLE AS signup_at FROM profiles ORDER BY user_id');
    expect(rows).toEqual([
      { user_id: 'u1', plan: 'pro', age: 31, vip: true, signup_at: ms('2024-01-05T00:00:00Z') },
      { user_id: 'u2', plan: 'free', age: null, vip: false, signup_at: null },
      { user_id: 'u3', plan: 'team', age: 40.5, vip: false, signup_at: ms('2024-01-01T00:00:00Z') },
      { user_id: 'u4', plan: 'free', age: null, vip: null, signup_at: null },
    ]);
  });
});
