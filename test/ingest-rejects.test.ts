/**
 * Validation against the tracking plan: every reject reason, with the file, the line and
 * the raw row in the rejects file; undeclared fields dropped and counted, or rejected.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIngestSummary, ingestFiles, type IngestReport } from '../src/ingest/index.js';
import { parsePlan, type TrackingPlan } from '../src/schema/tracking-plan.js';
import { TEST_PLAN, sandbox, type Sandbox } from './ingest-helpers.js';

let box: Sandbox;
beforeEach(async () => {
  box = await sandbox();
});
afterEach(async () => {
  await box.close();
});

const TS_EXPECTED = 'a timestamp (ISO-8601, YYYY-MM-DD HH:MM:SS, or epoch seconds or milliseconds)';

async function ingest(kind: 'events' | 'profiles', file: string, plan: TrackingPlan = TEST_PLAN): Promise<IngestReport> {
  return ingestFiles(box.store, { kind, files: [file], plan, rejectsPath: box.rejectsPath() });
}

describe('reject reasons', () => {
  it('rejects each bad JSONL row with its line, reason and raw row', async () => {
    const rows: unknown[] = [
      { user_id: 'ok', event: 'purchase', timestamp: '2024-01-01', properties: { amount: 1, gift: 'TRUE' } }, // line 1: stored
      { event: 'purchase', timestamp: '2024-01-01' }, // 2
      { user_id: '', event: 'purchase', timestamp: '2024-01-01' }, // 3
      { user_id: 'u', timestamp: '2024-01-01' }, // 4
      { user_id: 'u', event: 'purchase' }, // 5
      { user_id: 'u', event: 'purchase', timestamp: '2024-02-30' }, // 6
      { user_id: 'u', event: 'refund', timestamp: '2024-01-01' }, // 7
      { user_id: 'u', event: 'purchase', timestamp: '2024-01-01', properties: { amount: 'abc' } }, // 8
      { user_id: 'u', event: 'purchase', timestamp: '2024-01-01', properties: { amount: 'Infinity' } }, // 9
      { user_id: 'u', event: 'purchase', timestamp: '2024-01-01', properties: { gift: 'yes' } }, // 10
      { user_id: 'u', event: 'purchase', timestamp: '2024-01-01', properties: { shipped_at: 'tomorrow' } }, // 11
      { user_id: 'u', event: 'purchase', timestamp: '2024-01-01', properties: 'not an object' }, // 12
      { user_id: 'u', event: 'purchase', timestamp: '2024-01-01', properties: { amount: { nested: 1 } } }, // 13
      { user_id: 'ok', event: 'signup', timestamp: 1704067200, properties: { channel: 42 } }, // 14: stored, 42 as text
    ];
    const file = box.file('events.jsonl', `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const report = await ingest('events', file);
    const reasons = {
      2: 'missing user ("user_id")',
      3: 'missing user ("user_id")',
      4: 'missing event ("event")',
      5: 'missing timestamp ("timestamp")',
      6: `unparseable timestamp ("timestamp"): expected ${TS_EXPECTED}`,
      7: 'event "refund" is not in the tracking plan',
      8: 'property "amount": expected a finite number',
      9: 'property "amount": expected a finite number',
      10: 'property "gift": expected a boolean (true, false, 1 or 0)',
      11: `property "shipped_at": expected ${TS_EXPECTED}`,
      12: '"properties" is not an object',
      13: 'property "amount": expected a finite number',
    } as const;
    expect(report).toMatchObject({ read: 14, stored: 2, rejected: 12, duplicates: 0, rejectsPath: box.rejectsPath() });
    const summary: Record<string, number> = {};
    for (const r of Object.values(reasons)) summary[r] = (summary[r] ?? 0) + 1;
    expect(report.rejectReasons).toEqual(summary);
    const rejects = box.rejects();
    expect(rejects.map((r) => [r.line, r.reason])).toEqual(Object.entries(reasons).map(([line, reason]) => [Number(line), reason]));
    expect(rejects.every((r) => r.file === file)).toBe(true);
    // The raw row keeps every key; a nested object stays an object.
    expect(rejects.find((r) => r.line === 7)!.row).toEqual({ user_id: 'u', event: 'refund', timestamp: '2024-01-01' });
    expect(rejects.find((r) => r.line === 8)!.row).toEqual({ user_id: 'u', event: 'purchase', timestamp: '2024-01-01', properties: { amount: 'abc' } });
    expect(await box.rows('SELECT event, p_amount, p_gift, p_channel FROM events ORDER BY event')).toEqual([
      { event: 'purchase', p_amount: 1, p_gift: true, p_channel: null },
      { event: 'signup', p_amount: null, p_gift: null, p_channel: '42' },
    ]);
  });

  it('counts CSV lines from the header, which is line 1', async () => {
    const file = box.file(
      'events.csv',
      'user_id,event,timestamp,amount,gift\n' + // 1
        'a,purchase,2024-01-01,1,true\n' + // 2
        ',purchase,2024-01-01,1,true\n' + // 3
        'a,purchase,2024-01-01,1.5e3,FALSE\n' + // 4: stored
        'a,purchase,2024-01-01,NaN,0\n' + // 5
        'a,purchase,2024-01-01,2,maybe\n' + // 6
        'a,,2024-01-01,2,1\n' + // 7
        'a,purchase,1e9,2,1\n', // 8
    );
    const report = await ingest('events', file);
    expect(report).toMatchObject({ read: 7, stored: 2, rejected: 5 });
    expect(box.rejects().map((r) => [r.line, r.reason])).toEqual([
      [3, 'missing user ("user_id")'],
      [5, 'property "amount": expected a finite number'],
      [6, 'property "gift": expected a boolean (true, false, 1 or 0)'],
      [7, 'missing event ("event")'],
      [8, `unparseable timestamp ("timestamp"): expected ${TS_EXPECTED}`],
    ]);
    expect(box.rejects()[0]!.row).toEqual({ user_id: null, event: 'purchase', timestamp: '2024-01-01', amount: '1', gift: 'true' });
    expect(await box.rows('SELECT p_amount, p_gift FROM events ORDER BY p_amount')).toEqual([
      { p_amount: 1, p_gift: true },
      { p_amount: 1500, p_gift: false },
    ]);
  });

  it('numbers Parquet rejects by row', async () => {
    const file = `${box.dir}/events.parquet`;
    await box.store.execute(
      `COPY (SELECT * FROM (VALUES ('a', 'purchase', '2024-01-01'), (NULL, 'purchase', '2024-01-01'), ('b', 'nope', '2024-01-01')) AS t(user_id, event, timestamp))
       TO '${file}' (FORMAT parquet)`,
    );
    await ingest('events', file);
    expect(box.rejects().map((r) => [r.line, r.reason])).toEqual([
      [2, 'missing user ("user_id")'],
      [3, 'event "nope" is not in the tracking plan'],
    ]);
  });

  it('rejects profile rows with a missing user or a wrong trait type', async () => {
    const file = box.file('users.csv', 'user_id,plan,age,vip\nu1,pro,31,true\n,free,20,false\nu2,free,old,false\nu3,free,20,sometimes\n');
    const report = await ingest('profiles', file);
    expect(report).toMatchObject({ read: 4, stored: 1, rejected: 3 });
    expect(box.rejects().map((r) => [r.line, r.reason])).toEqual([
      [3, 'missing user ("user_id")'],
      [4, 'trait "age": expected a finite number'],
      [5, 'trait "vip": expected a boolean (true, false, 1 or 0)'],
    ]);
  });

  it('writes no rejects file when nothing is rejected', async () => {
    const report = await ingest('events', box.file('ok.jsonl', JSON.stringify({ user_id: 'a', event: 'signup', timestamp: '2024-01-01' })));
    expect(report).toMatchObject({ rejected: 0, rejectsPath: null, rejectReasons: {} });
    expect(box.rejects()).toEqual([]);
  });

  it('writes the rejects of every file of a run into one file, in file order', async () => {
    const a = box.file('a.csv', 'user_id,event,timestamp\n,signup,2024-01-01\n');
    const b = box.file('b.jsonl', `${JSON.stringify({ user_id: 'x', event: 'nope', timestamp: '2024-01-01' })}\n`);
    const report = await ingestFiles(box.store, { kind: 'events', files: [a, b], plan: TEST_PLAN, rejectsPath: box.rejectsPath() });
    expect(report.rejected).toBe(2);
    expect(box.rejects().map((r) => [r.file, r.line])).toEqual([
      [a, 2],
      [b, 1],
    ]);
  });
});

describe('undeclared fields', () => {
  const lines = [
    { user_id: 'a', event: 'purchase', timestamp: '2024-01-01', properties: { amount: 5, coupon: 'X', channel: 'ads' } },
    { user_id: 'a', event: 'signup', timestamp: '2024-01-01', properties: { channel: 'ads', amount: 3 }, utm: 'mail' },
    { user_id: 'b', event: 'signup', timestamp: '2024-01-02', properties: { coupon: null } },
  ].map((r) => JSON.stringify(r));

  it('drops them and counts them per field, including a property declared only for another event', async () => {
    const report = await ingest('events', box.file('e.jsonl', lines.join('\n')));
    // coupon: undeclared anywhere; channel on a purchase and amount on a signup: declared for other events;
    // utm: a flat key next to the nested properties; a null value is no value.
    expect(report).toMatchObject({ stored: 3, rejected: 0, droppedFields: { coupon: 1, channel: 1, amount: 1, utm: 1 } });
    expect(await box.rows('SELECT event, p_amount, p_channel FROM events ORDER BY event, user_id')).toEqual([
      { event: 'purchase', p_amount: 5, p_channel: null },
      { event: 'signup', p_amount: null, p_channel: 'ads' },
      { event: 'signup', p_amount: null, p_channel: null },
    ]);
    expect(formatIngestSummary(report)).toMatch(/^read 3 · stored 3 · rejected 0 · duplicates 0 · fields dropped 4 \((amount|channel|coupon|utm) 1, .+, 1 more\) · [\d,]+ rows\/s$/);
    expect(await box.rows(`SELECT dropped FROM ingest_runs`)).toEqual([{ dropped: JSON.stringify(report.droppedFields) }]);
  });

  it('counts CSV columns the plan does not declare', async () => {
    const file = box.file('e.csv', 'user_id,event,timestamp,amount,channel,referrer\na,purchase,2024-01-01,5,ads,\na,signup,2024-01-01,,web,google\n');
    const report = await ingest('events', file);
    expect(report).toMatchObject({ stored: 2, droppedFields: { channel: 1, referrer: 1 } });
  });

  it('rejects the row instead when the plan says undeclared: reject', async () => {
    const strict = parsePlan({ undeclared: 'reject', events: { purchase: { properties: { amount: 'number' } }, signup: { properties: { channel: 'string' } } } });
    const report = await ingest('events', box.file('e.jsonl', lines.join('\n')), strict);
    expect(report).toMatchObject({ stored: 1, rejected: 2, droppedFields: {} });
    expect(box.rejects().map((r) => [r.line, r.reason])).toEqual([
      [1, expect.stringMatching(/^undeclared property "(coupon|channel)"$/)],
      [2, expect.stringMatching(/^undeclared property "(amount|utm)"$/)],
    ]);
    const traits = box.file('u.csv', 'user_id,plan,shoe_size\na,pro,\nb,free,42\n');
    const profiles = await ingestFiles(box.store, {
      kind: 'profiles',
      files: [traits],
      plan: parsePlan({ undeclared: 'reject', traits: { plan: 'string' } }),
      rejectsPath: box.rejectsPath('p.jsonl'),
    });
    expect(profiles).toMatchObject({ stored: 1, rejected: 1, rejectReasons: { 'undeclared trait "shoe_size"': 1 } });
  });
});
