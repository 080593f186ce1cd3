/**
 * JSON is read by shape (a STRUCT of the keys the plan knows, fast) when DuckDB's sample of
 * the file shows no other top-level key, else by keys (a MAP, exact for any key). The
 * oracle here is the by-keys reading: on random files in the shape where both apply, the
 * staged rows (values, event ids, reasons, dropped fields; no list and an empty one both
 * mean none dropped) must be the same.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFields } from '../src/ingest/ingest-fields.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import type { IngestSpec, SourceFile } from '../src/store/event-store.js';
import { stagingSql } from '../src/store/duckdb/ingest-sql.js';
import { sandbox, type Sandbox } from './ingest-helpers.js';

const PLAN = parsePlan({
  traits: { plan: 'string', age: 'number', vip: 'boolean' },
  events: {
    purchase: { properties: { amount: 'number', currency: 'string', gift: 'boolean' } },
    signup: { properties: { channel: 'string', at: 'timestamp' } },
    view: { properties: { amount: 'number' } },
  },
});

let box: Sandbox;
beforeAll(async () => {
  box = await sandbox();
});
afterAll(async () => {
  await box.close();
});

const value = fc.oneof(
  fc.constantFrom('12', 'abc', '', 'true', 'FALSE', '2024-01-01', 'EUR', '1e3'),
  fc.integer({ min: -5, max: 5 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant({ nested: 1 }),
);
const key = fc.constantFrom('amount', 'currency', 'gift', 'channel', 'at', 'coupon', 'utm');
const row = fc.record(
  {
    user_id: fc.constantFrom('u1', 'u2', '', null),
    event: fc.constantFrom('purchase', 'signup', 'view', 'refund'),
    timestamp: fc.constantFrom('2024-01-01T00:00:00Z', '2024-01-02 10:00:00', 1704067200, 'bad'),
    event_id: fc.constantFrom('e1', 'e2', null),
    properties: fc.dictionary(key, value, { maxKeys: 4 }),
    // Flat declared fields next to the nested ones.
    amount: value,
    channel: value,
  },
  { requiredKeys: ['user_id', 'event', 'timestamp'] },
);

async function staged(table: string, source: SourceFile, spec: IngestSpec, byKeys: boolean) {
  const shape = await box.store.describeSource(source);
  const plan = stagingSql(table, source, shape, spec, { byKeys });
  await box.store.execute(plan.sql);
  const cols = plan.fields.map((f) => `${f.column} AS ${JSON.stringify(f.field.name)}`).join(', ');
  const eventColumns = spec.kind === 'events' ? 'event, epoch_ms(ts)::DOUBLE AS ts, event_id, ' : '';
  const rows = await box.store.query(
    `SELECT rowid AS line, user_id, ${eventColumns}${cols}, coalesce(list_sort(_dropped), []) AS dropped, _reason FROM "${table}" ORDER BY rowid`,
  );
  await box.store.execute(`DROP TABLE "${table}"`);
  return { byShape: plan.byShape, rows: rows.map((r) => ({ ...r, line: Number(r.line) })) };
}

describe('JSON read by shape and by keys', () => {
  it('stages the same rows both ways', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 80 }), async (rows) => {
        const path = box.file(`paths-${n++}.jsonl`, rows.map((r) => JSON.stringify(r)).join('\n'));
        const source: SourceFile = { path, label: path, format: 'jsonl', jsonLayout: 'lines' };
        const spec: IngestSpec = {
          kind: 'events',
          user: 'user_id',
          time: 'timestamp',
          event: { column: 'event' },
          id: 'event_id',
          container: 'properties',
          fields: ingestFields('events', PLAN),
          declaredEvents: Object.keys(PLAN.events),
          undeclared: 'drop',
        };
        const fast = await staged('by_shape', source, spec, false);
        const exact = await staged('by_keys', source, spec, true);
        expect(fast.byShape).toBe(true);
        expect(exact.byShape).toBe(false);
        expect(fast.rows).toEqual(exact.rows);
      }),
      { numRuns: 30 },
    );
  });

  it('stages the same profile rows both ways', async () => {
    const trait = fc.constantFrom('plan', 'age', 'vip', 'shoe_size');
    const profile = fc.record(
      { user_id: fc.constantFrom('u1', 'u2', '', null), traits: fc.dictionary(trait, value, { maxKeys: 3 }), plan: value, age: value },
      { requiredKeys: ['user_id'] },
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(profile, { minLength: 1, maxLength: 60 }), async (rows) => {
        const path = box.file(`profiles-${n++}.jsonl`, rows.map((r) => JSON.stringify(r)).join('\n'));
        const source: SourceFile = { path, label: path, format: 'jsonl', jsonLayout: 'lines' };
        const spec: IngestSpec = {
          kind: 'profiles',
          user: 'user_id',
          time: null,
          event: null,
          id: null,
          container: 'traits',
          fields: ingestFields('profiles', PLAN),
          declaredEvents: [],
          undeclared: 'drop',
        };
        const fast = await staged('by_shape', source, spec, false);
        const exact = await staged('by_keys', source, spec, true);
        expect(fast.byShape).toBe(true);
        expect(fast.rows).toEqual(exact.rows);
      }),
      { numRuns: 15 },
    );
  });

  it('reads by keys when the sample shows another top-level key', async () => {
    const path = box.file('extra.jsonl', JSON.stringify({ user_id: 'a', event: 'view', timestamp: '2024-01-01', utm: 'x' }));
    const source: SourceFile = { path, label: path, format: 'jsonl', jsonLayout: 'lines' };
    const shape = await box.store.describeSource(source);
    expect(shape.sampledKeys).toEqual(['user_id', 'event', 'timestamp', 'utm']);
    const spec: IngestSpec = {
      kind: 'events',
      user: 'user_id',
      time: 'timestamp',
      event: { column: 'event' },
      id: 'event_id',
      container: 'properties',
      fields: ingestFields('events', PLAN),
      declaredEvents: Object.keys(PLAN.events),
      undeclared: 'drop',
    };
    expect(stagingSql('t', source, shape, spec).byShape).toBe(false);
    expect(stagingSql('t', source, { ...shape, sampledKeys: ['user_id', 'event', 'timestamp'] }, spec).byShape).toBe(true);
    expect(stagingSql('t', source, { ...shape, sampledKeys: ['user_id', 'event', 'timestamp'] }, { ...spec, undeclared: 'reject' }).byShape).toBe(false);
  });
});
