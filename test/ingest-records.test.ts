/**
 * In-process batches go through the file path and its one validator.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIngestSummary, ingestEventRecords, ingestProfileRecords, RECORDS_LABEL, type IngestReport } from '../src/ingest/index.js';
import { TEST_PLAN, ms, sandbox, type Sandbox } from './ingest-helpers.js';

let box: Sandbox;
beforeEach(async () => {
  box = await sandbox();
});
afterEach(async () => {
  await box.close();
});

describe('records', () => {
  it('ingests event records, with rejects named <records> and numbered from 1', async () => {
    const report = await ingestEventRecords(
      box.store,
      [
        { user_id: 'a', event: 'purchase', timestamp: '2024-01-01T10:00:00Z', properties: { amount: 3, shipped_at: new Date('2024-01-02T00:00:00Z') } },
        { user_id: 'a', event: 'purchase', timestamp: 1704103200, properties: { amount: 'three' } },
        { user_id: 'b', event: 'signup', timestamp: 1704103200000, event_id: 'sig-b' },
      ],
      TEST_PLAN,
      { rejectsPath: box.rejectsPath() },
    );
    expect(report).toMatchObject({ files: [RECORDS_LABEL], read: 3, stored: 2, rejected: 1, rejectsPath: box.rejectsPath() });
    expect(box.rejects()).toEqual([
      {
        file: RECORDS_LABEL,
        line: 2,
        reason: 'property "amount": expected a finite number',
        row: { user_id: 'a', event: 'purchase', timestamp: '1704103200', properties: { amount: 'three' } },
      },
    ]);
    expect(await box.rows('SELECT event_id, epoch_ms(ts)::DOUBLE AS ts, epoch_ms(p_shipped_at)::DOUBLE AS shipped FROM events ORDER BY user_id')).toEqual([
      { event_id: expect.stringMatching(/^h:/), ts: ms('2024-01-01T10:00:00Z'), shipped: ms('2024-01-02T00:00:00Z') },
      { event_id: 'sig-b', ts: ms('2024-01-01T10:00:00Z'), shipped: null },
    ]);
  });

  it('counts rejects without a rejects path', async () => {
    const report = await ingestEventRecords(box.store, [{ user_id: 'a', event: 'nope', timestamp: '2024-01-01' }], TEST_PLAN);
    expect(report).toMatchObject({ rejected: 1, rejectsPath: null, rejectReasons: { 'event "nope" is not in the tracking plan': 1 } });
  });

  it('ingests profile records trait by trait', async () => {
    await ingestProfileRecords(box.store, [{ user_id: 'a', traits: { plan: 'free', age: 30 } }], TEST_PLAN);
    const report = await ingestProfileRecords(box.store, [{ user_id: 'a', traits: { plan: 'pro' } }], TEST_PLAN);
    expect(report).toMatchObject({ kind: 'profiles', stored: 1 });
    expect(await box.rows('SELECT t_plan, t_age FROM profiles')).toEqual([{ t_plan: 'pro', t_age: 30 }]);
  });

  it('handles an empty batch', async () => {
    expect(await ingestEventRecords(box.store, [], TEST_PLAN)).toMatchObject({ read: 0, stored: 0, rejected: 0 });
    expect(await ingestProfileRecords(box.store, [], TEST_PLAN)).toMatchObject({ read: 0, stored: 0, rejected: 0 });
    expect(await box.rows('SELECT count(*)::INTEGER AS n FROM ingest_runs')).toEqual([{ n: 2 }]);
  });

  it('refuses records that are not objects', async () => {
    await expect(ingestEventRecords(box.store, [null as never], TEST_PLAN)).rejects.toMatchObject({ code: 'INPUT_INVALID', message: 'record 1 is not an object' });
  });
});

describe('formatIngestSummary', () => {
  it('prints one line with every count', () => {
    const report: IngestReport = {
      runId: 'r',
      kind: 'events',
      files: ['a.csv'],
      read: 1_234_567,
      stored: 1_200_000,
      rejected: 4_567,
      duplicates: 30_000,
      droppedFields: { utm: 10, ref: 20, a: 1, b: 1 },
      rejectReasons: {},
      rejectsPath: '/data/rejects.jsonl',
      elapsedMs: 2000,
      rowsPerSecond: 617_283.5,
    };
    expect(formatIngestSummary(report)).toBe(
      'read 1,234,567 · stored 1,200,000 · rejected 4,567 · duplicates 30,000 · fields dropped 32 (ref 20, utm 10, a 1, 1 more) · 617,284 rows/s · rejects in /data/rejects.jsonl',
    );
  });
});
