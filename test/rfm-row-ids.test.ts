/**
 * `ingest events --row-ids`: each row's event id is its file's base name and line, so
 * exact repeated rows (line items bought twice on one invoice) stay distinct events, and
 * re-ingesting the same file adds nothing. Lines are counted as in the rejects file (CSV
 * counts its header line), which the tests check by putting a reject among the rows.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles, type ColumnMapping, type IngestReport } from '../src/ingest/index.js';
import { cli, cliJson, withTempDir } from './cli-helpers.js';
import { TEST_PLAN, sandbox, type Sandbox } from './ingest-helpers.js';

let box: Sandbox;
beforeEach(async () => {
  box = await sandbox();
});
afterEach(async () => {
  await box.close();
});

async function ingest(files: string[], mapping: ColumnMapping | undefined): Promise<IngestReport> {
  return ingestFiles(box.store, { kind: 'events', files, plan: TEST_PLAN, rejectsPath: box.rejectsPath(), ...(mapping ? { mapping } : {}) });
}

async function ids(): Promise<string[]> {
  return (await box.rows('SELECT event_id FROM events ORDER BY event_id')).map((r) => String(r.event_id));
}

// Lines 2 and 3 are the same row; line 4 has no user (a reject); line 5 repeats line 2 again.
const CSV = 'user_id,event,timestamp,amount\nu1,purchase,2024-01-01,5\nu1,purchase,2024-01-01,5\n,purchase,2024-01-01,5\nu1,purchase,2024-01-01,5\nu2,purchase,2024-01-02,7\n';

describe('ingest events with row ids', () => {
  it('keeps exact repeated CSV rows as distinct events, ids counting the header as line 1 like rejects', async () => {
    const file = box.file('orders.csv', CSV);
    const report = await ingest([file], { rowIds: true });
    expect(report).toMatchObject({ read: 5, stored: 4, rejected: 1, duplicates: 0 });
    expect(box.rejects().map((r) => r.line)).toEqual([4]);
    expect(await ids()).toEqual(['orders.csv:2', 'orders.csv:3', 'orders.csv:5', 'orders.csv:6']);
    const rows = await box.rows(`SELECT event_id, user_id, p_amount FROM events WHERE event_id = 'orders.csv:6'`);
    expect(rows).toEqual([{ event_id: 'orders.csv:6', user_id: 'u2', p_amount: 7 }]);
  });

  it('collapses the same rows without row ids (the content hash), which is why RFM frequency needs them', async () => {
    const report = await ingest([box.file('orders.csv', CSV)], undefined);
    expect(report).toMatchObject({ read: 5, stored: 2, rejected: 1, duplicates: 2 });
  });

  it('stores nothing new when the same file is ingested again', async () => {
    const file = box.file('orders.csv', CSV);
    await ingest([file], { rowIds: true });
    const again = await ingest([file], { rowIds: true });
    expect(again).toMatchObject({ read: 5, stored: 0, rejected: 1, duplicates: 4 });
    expect(await ids()).toHaveLength(4);
  });

  it('numbers JSONL lines from 1, gzipped or not, by the base name of the file', async () => {
    const lines = [
      { user_id: 'a', event: 'signup', timestamp: '2024-01-01T00:00:00Z' },
      { user_id: 'a', event: 'signup', timestamp: '2024-01-01T00:00:00Z' },
      { user_id: 'a', event: 'nope', timestamp: '2024-01-01T00:00:00Z' },
      { user_id: 'b', event: 'signup', timestamp: '2024-01-03T00:00:00Z' },
    ];
    const text = `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
    const sub = path.join(box.dir, 'nested');
    mkdirSync(sub);
    writeFileSync(path.join(sub, 'plain.jsonl'), text);
    const report = await ingest([path.join(sub, 'plain.jsonl'), box.file('packed.jsonl.gz', text)], { rowIds: true });
    expect(report).toMatchObject({ read: 8, stored: 6, rejected: 2, duplicates: 0 });
    expect(box.rejects().map((r) => r.line)).toEqual([3, 3]);
    expect(await ids()).toEqual(['packed.jsonl.gz:1', 'packed.jsonl.gz:2', 'packed.jsonl.gz:4', 'plain.jsonl:1', 'plain.jsonl:2', 'plain.jsonl:4']);
  });

  it('keeps the ids of rows that a given event_id column would have had as plain columns', async () => {
    // With row ids an event_id column is just an undeclared column: dropped and counted.
    const file = box.file('with-ids.csv', 'event_id,user_id,event,timestamp\nx,u1,signup,2024-01-01\nx,u1,signup,2024-01-01\n');
    const report = await ingest([file], { rowIds: true });
    expect(report).toMatchObject({ read: 2, stored: 2, droppedFields: { event_id: 2 } });
    expect(await ids()).toEqual(['with-ids.csv:2', 'with-ids.csv:3']);
  });

  it('refuses --row-ids with --id, and two files with the same base name', async () => {
    const file = box.file('orders.csv', CSV);
    await expect(ingest([file], { rowIds: true, id: 'user_id' })).rejects.toMatchObject({ code: 'MAPPING_INVALID', message: expect.stringContaining('--row-ids and --id') });
    const sub = path.join(box.dir, 'again');
    mkdirSync(sub);
    writeFileSync(path.join(sub, 'orders.csv'), CSV);
    await expect(ingest([file, path.join(sub, 'orders.csv')], { rowIds: true })).rejects.toMatchObject({
      code: 'MAPPING_INVALID',
      message: expect.stringContaining('the same base name "orders.csv"'),
    });
    expect(await ids()).toEqual([]);
  });
});

describe('strata ingest events --row-ids', () => {
  it('is an option of the CLI, exclusive with --id', async () => {
    await withTempDir('strata-rowids-', async (dir) => {
      writeFileSync(path.join(dir, 'orders.csv'), CSV);
      expect((await cli(dir, 'init', 'ws')).code).toBe(0);
      writeFileSync(path.join(dir, 'ws', 'strata.yaml'), 'version: 1\nplan:\n  events:\n    purchase:\n      properties:\n        amount: number\n');
      const ws = path.join(dir, 'ws');
      const first = await cliJson<IngestReport>(dir, '--workspace', ws, 'ingest', 'events', 'orders.csv', '--row-ids');
      expect(first).toMatchObject({ read: 5, stored: 4, rejected: 1 });
      const again = await cliJson<IngestReport>(dir, '--workspace', ws, 'ingest', 'events', 'orders.csv', '--row-ids');
      expect(again).toMatchObject({ stored: 0, duplicates: 4 });
      const both = await cli(dir, '--workspace', ws, 'ingest', 'events', 'orders.csv', '--row-ids', '--id', 'user_id');
      expect(both.code).toBe(2);
      expect(both.stderr).toContain('--row-ids and --id');
    });
  });
});
