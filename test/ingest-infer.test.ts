/**
 * Plan inference from data files, merging a proposal into a plan, and the round trip:
 * a file ingests without rejects against the plan inferred from it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles, inferPlan, mergePlan, mergePlanWithReport } from '../src/ingest/index.js';
import { DEFAULT_SESSION_GAP_MS, parsePlan } from '../src/schema/tracking-plan.js';
import { sandbox, type Sandbox } from './ingest-helpers.js';

let box: Sandbox;
beforeEach(async () => {
  box = await sandbox();
});
afterEach(async () => {
  await box.close();
});

describe('inferPlan', () => {
  it('infers events and each type from a CSV', async () => {
    const file = box.file(
      'events.csv',
      'user_id,event,timestamp,amount,qty,flag,paid_at,label,mixed,binary,epoch\n' +
        'a,purchase,2024-01-01,12.5,3,true,2024-01-02T10:00:00Z,x,1,1,1700000000\n' +
        'b,purchase,2024-01-01,-1e3,17850.0,FALSE,2024-01-02 10:00:00,y,abc,0,1700000001\n' +
        'c,signup,2024-01-01,,,,,z,2024-01-01,,\n',
    );
    const plan = await inferPlan(box.store, { events: [file] });
    expect(plan).toEqual({
      undeclared: 'drop',
      sessionGapMs: DEFAULT_SESSION_GAP_MS,
      events: {
        purchase: {
          properties: {
            amount: { type: 'number' },
            binary: { type: 'number' },
            epoch: { type: 'number' },
            flag: { type: 'boolean' },
            label: { type: 'string' },
            mixed: { type: 'string' },
            paid_at: { type: 'timestamp' },
            qty: { type: 'number' },
          },
        },
        // A property has one type across events: mixed is a string on signup too.
        signup: { properties: { label: { type: 'string' }, mixed: { type: 'string' } } },
      },
      traits: {},
    });
    // Round trip: the file ingests against its own plan without a reject or a dropped field.
    const report = await ingestFiles(box.store, { kind: 'events', files: [file], plan, rejectsPath: box.rejectsPath() });
    expect(report).toMatchObject({ stored: 3, rejected: 0, droppedFields: {} });
  });

  it('infers from JSONL with nested and flat properties, and traits from profiles', async () => {
    const events = box.file(
      'events.jsonl.gz',
      [
        { user_id: 'a', event: 'purchase', timestamp: 1700000000, properties: { amount: 10, gift: true, sent: '2024-01-01T00:00:00Z' } },
        { user_id: 'a', event: 'purchase', timestamp: 1700000001, properties: { amount: 7.25, gift: false, note: null } },
        { user_id: 'b', event: 'page_view', timestamp: 1700000002, path: '/x', properties: {} },
        { user_id: 'b', event: 'bad\u0001name', timestamp: 1700000002 },
        { user_id: 'b', timestamp: 1700000002 },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const profiles = box.file('users.jsonl', [{ user_id: 'a', traits: { plan: 'pro', age: 30, vip: 'TRUE', signup_at: '2023-05-01' } }, { user_id: 'b', plan: 'free' }].map((r) => JSON.stringify(r)).join('\n'));
    const plan = await inferPlan(box.store, { events: [events], profiles: [profiles] });
    expect(plan.events).toEqual({
      page_view: { properties: { path: { type: 'string' } } },
      purchase: { properties: { amount: { type: 'number' }, gift: { type: 'boolean' }, sent: { type: 'timestamp' } } },
    });
    expect(plan.traits).toEqual({ age: { type: 'number' }, plan: { type: 'string' }, signup_at: { type: 'timestamp' }, vip: { type: 'boolean' } });
  });

  it('uses the column mapping, a literal event, and typed Parquet columns', async () => {
    const file = `${box.dir}/orders.parquet`;
    await box.store.execute(
      `COPY (SELECT 'c' || i AS customer, TIMESTAMP '2024-01-01' + INTERVAL (i) HOUR AS ordered, i * 1.5 AS total, i % 2 = 0 AS first, 'EUR' AS currency
             FROM range(10) AS t(i)) TO '${file}' (FORMAT parquet)`,
    );
    const plan = await inferPlan(box.store, { events: [file], mapping: { user: 'customer', time: 'ordered', event: { literal: 'order' } } });
    expect(plan.events).toEqual({
      order: { properties: { currency: { type: 'string' }, first: { type: 'boolean' }, total: { type: 'number' } } },
    });
  });

  it('reads at most maxRows rows of each file', async () => {
    const rows = ['user_id,event,timestamp,v', 'a,e1,2024-01-01,1', 'a,e1,2024-01-01,2', 'a,e2,2024-01-01,x'];
    const plan = await inferPlan(box.store, { events: [box.file('e.csv', rows.join('\n'))], maxRows: 2 });
    expect(plan.events).toEqual({ e1: { properties: { v: { type: 'number' } } } });
  });

  it('names the file when a mapped column is missing', async () => {
    const file = box.file('e.csv', 'uid,event,timestamp\na,x,2024-01-01\n');
    await expect(inferPlan(box.store, { events: [file] })).rejects.toMatchObject({ code: 'MAPPING_INVALID', message: expect.stringContaining(file) });
  });
});

describe('mergePlan', () => {
  const existing = parsePlan({
    undeclared: 'reject',
    session_gap: '45m',
    events: { purchase: { properties: { amount: 'number', note: { type: 'string', pii: true } }, retention_days: 30 } },
    traits: { plan: { type: 'string', sensitive: true } },
  });
  const inferred = parsePlan({
    events: {
      purchase: { properties: { amount: 'string', coupon: 'string' } },
      refund: { properties: { amount: 'string', reason: 'string' } },
    },
    traits: { plan: 'number', age: 'number' },
  });

  it('adds what is missing and never changes a declaration, reporting conflicts', () => {
    const merged = mergePlanWithReport(existing, inferred);
    expect(merged.plan).toEqual({
      undeclared: 'reject',
      sessionGapMs: 45 * 60_000,
      events: {
        purchase: { properties: { amount: { type: 'number' }, note: { type: 'string', pii: true }, coupon: { type: 'string' } }, retentionDays: 30 },
        // amount is declared a number elsewhere; a property has one type, so the new use takes it.
        refund: { properties: { amount: { type: 'number' }, reason: { type: 'string' } } },
      },
      traits: { plan: { type: 'string', sensitive: true }, age: { type: 'number' } },
    });
    expect(merged.added).toEqual([
      'plan.events.purchase.properties.coupon',
      'plan.events.refund',
      'plan.events.refund.properties.amount',
      'plan.events.refund.properties.reason',
      'plan.traits.age',
    ]);
    expect(merged.conflicts).toEqual([
      { path: 'plan.events.purchase.properties.amount', declared: 'number', inferred: 'string' },
      { path: 'plan.events.refund.properties.amount', declared: 'number', inferred: 'string' },
      { path: 'plan.traits.plan', declared: 'string', inferred: 'number' },
    ]);
    expect(mergePlan(existing, inferred)).toEqual(merged.plan);
  });

  it('changes nothing when the proposal is already declared', () => {
    expect(mergePlanWithReport(existing, existing)).toEqual({ plan: existing, added: [], conflicts: [] });
  });
});
