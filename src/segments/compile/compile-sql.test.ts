/**
 * The exact SQL for a few small segments, so a change in the generated text is a
 * deliberate one. Instants: 2024-05-01T00:00Z = 1714521600000 ms, minus 30 days =
 * 1711929600000, minus 7 days = 1713916800000 (checked with Date.UTC).
 */
import { describe, expect, it } from 'vitest';
import { compileSegmentBatch, compileSegmentMembers, duckdbDialect, explainSegmentBatch } from './index.js';
import { DAY, all, between, cmp, did, dur, gte, not, num, on, prop, segment, str, trait, within } from './test-support/ir-builders.js';

const asOfMs = Date.UTC(2024, 4, 1);
const options = { dialect: duckdbDialect, asOfMs };
const AS_OF = 'make_timestamp(1714521600000000::BIGINT)';

describe('generated SQL', () => {
  it('reads only profiles for a trait segment, with a bare comparison the scan can use', () => {
    const sql = compileSegmentMembers(segment('pro', trait('plan', 'string', cmp('eq', str('pro')))), options);
    expect(sql).toBe(['SELECT p.user_id', 'FROM profiles p', `WHERE p."t_plan" = 'pro'`].join('\n'));
  });

  it('starts from the population when a negation can hold for anyone', () => {
    const sql = compileSegmentMembers(segment('not-pro', not(trait('plan', 'string', cmp('eq', str('pro'))))), options);
    expect(sql).toBe(
      [
        'SELECT u.user_id',
        'FROM users u',
        'LEFT JOIN profiles p ON p.user_id = u.user_id',
        `WHERE (u.has_profile OR u.first_event_at < ${AS_OF})`,
        `  AND (NOT coalesce(p."t_plan" = 'pro', FALSE))`,
      ].join('\n'),
    );
  });

  it('pushes the event name, the window start and shared predicates into WHERE', () => {
    const node = did(on('purchase', prop('amount', 'number', cmp('gt', num(10)))), within(30 * DAY), gte(3));
    expect(compileSegmentMembers(segment('buyers', node), options)).toBe(
      [
        'WITH',
        'ev AS (',
        '  SELECT e.user_id,',
        '    count(*) AS m0',
        '  FROM events e',
        `  WHERE e.ts < ${AS_OF}`,
        `    AND e.event = 'purchase'`,
        '    AND e.ts >= make_timestamp(1711929600000000::BIGINT)',
        '    AND e."p_amount" > 10',
        '  GROUP BY e.user_id',
        ')',
        'SELECT ev.user_id',
        'FROM ev',
        'WHERE ev.m0 >= 3',
      ].join('\n'),
    );
  });

  it('computes a measure shared by two segments once, cutting each event at the start its measures need', () => {
    const same = did(on('purchase'), within(7 * DAY));
    const batch = compileSegmentBatch([segment('a', same), segment('b', same), segment('c', did(on('open'), all, cmp('lte', num(2))))], options);
    expect(batch.columns).toEqual([
      { key: 'a', column: 's_0' },
      { key: 'b', column: 's_1' },
      { key: 'c', column: 's_2' },
    ]);
    expect(batch.sql).toBe(
      [
        'WITH',
        'ev_0 AS (',
        '  SELECT e.user_id,',
        '    count(*) AS m1',
        '  FROM events e',
        `  WHERE e.ts < ${AS_OF}`,
        `    AND e.event = 'open'`,
        '  GROUP BY e.user_id',
        '),',
        'ev_1 AS (',
        '  SELECT e.user_id,',
        '    count(*) AS m0',
        '  FROM events e',
        `  WHERE e.ts < ${AS_OF}`,
        `    AND e.event = 'purchase'`,
        '    AND e.ts >= make_timestamp(1713916800000000::BIGINT)',
        '  GROUP BY e.user_id',
        '),',
        'ev AS (',
        '  SELECT *',
        '  FROM ev_0',
        '  FULL JOIN ev_1 USING (user_id)',
        ')',
        'SELECT u.user_id AS user_id,',
        '  coalesce(ev.m0, 0) >= 1 AS "s_0",',
        '  coalesce(ev.m0, 0) >= 1 AS "s_1",',
        '  coalesce(ev.m1, 0) <= 2 AS "s_2"',
        'FROM users u',
        'LEFT JOIN ev ON ev.user_id = u.user_id',
        `WHERE (u.has_profile OR u.first_event_at < ${AS_OF})`,
      ].join('\n'),
    );
  });

  it('compiles a sequence to its starts, one nearest-later-step join per step, and the users with a complete chain', () => {
    const sql = compileSegmentMembers(segment('seq', { kind: 'sequence', steps: [on('view'), on('buy')], spanMs: DAY, window: within(7 * DAY) }), options);
    expect(sql).toBe(
      [
        'WITH',
        'sqr1 AS (',
        '  SELECT e.user_id, epoch_ms(e.ts) AS t',
        '  FROM events e',
        `  WHERE e.ts < ${AS_OF}`,
        '    AND e.ts >= make_timestamp(1713916800000000::BIGINT)',
        `    AND e.event = 'buy'`,
        '),',
        'sq0 AS (',
        '  SELECT e.user_id, epoch_ms(e.ts) AS s, epoch_ms(e.ts) AS t',
        '  FROM events e',
        `  WHERE e.ts < ${AS_OF}`,
        `    AND e.event = 'view'`,
        '    AND e.ts >= make_timestamp(1713916800000000::BIGINT)',
        '),',
        'sq1 AS (',
        '  SELECT q.user_id, q.s, r.t',
        '  FROM sq0 q',
        '  ASOF JOIN sqr1 r ON r.user_id = q.user_id AND r.t > q.t',
        '  WHERE r.t < q.s + 86400000',
        '),',
        'sqd1 AS (',
        '  SELECT user_id, count(*) AS starts',
        '  FROM sq1',
        '  GROUP BY user_id',
        ')',
        'SELECT sqd1.user_id',
        'FROM sqd1',
        'WHERE sqd1.starts >= 1',
      ].join('\n'),
    );
  });

  it('reads first seen of any event from the population index, not from the events', () => {
    const sql = compileSegmentMembers(segment('veteran', { kind: 'firstSeen', filter: on(null), window: all, cmp: cmp('gte', dur(14 * DAY)) }), options);
    expect(sql).toBe(
      [
        'SELECT u.user_id',
        'FROM users u',
        `WHERE (u.has_profile OR u.first_event_at < ${AS_OF})`,
        `  AND (1714521600000 - epoch_ms(CASE WHEN u.first_event_at < ${AS_OF} THEN u.first_event_at END)) >= 1209600000`,
      ].join('\n'),
    );
  });

  it('reads only the days a last-seen comparison can match (60 days back: 1709337600000)', () => {
    const lapsed = segment('lapsed', { kind: 'lastSeen', filter: on('view'), window: all, cmp: between(dur(14 * DAY), dur(60 * DAY)) });
    expect(explainSegmentBatch([lapsed], options).relations).toEqual([
      { name: 'ev', where: [`e.event = 'view'`, 'e.ts >= make_timestamp(1709337600000000::BIGINT)'], measures: [{ column: 'm0', expression: 'max(e.ts)' }] },
    ]);
  });

  it('gives distinct counts a GROUP BY of their own, joined to the other aggregates', () => {
    const explorers = segment('explorers', { kind: 'aggregate', fn: 'distinct', property: 'page', propertyType: 'string', filter: on('view'), window: within(30 * DAY), cmp: gte(3) });
    const buyers = segment('buyers', did(on('buy'), within(30 * DAY)));
    const { sql } = compileSegmentBatch([explorers, buyers], options);
    expect(sql).toContain(['ev AS (', '  SELECT *', '  FROM ev_0', '  FULL JOIN ev_1 USING (user_id)', ')'].join('\n'));
    expect(explainSegmentBatch([explorers, buyers], options).relations.map((r) => [r.name, r.measures.map((m) => m.expression)])).toEqual([
      ['ev_0', ['count(*)']],
      ['ev_1', ['count(DISTINCT e."p_page")']],
    ]);
  });

  it('explains the shared measures per relation', () => {
    const same = did(on('purchase'), within(7 * DAY));
    const ex = explainSegmentBatch([segment('a', same), segment('b', same)], options);
    expect(ex.relations).toEqual([
      {
        name: 'ev',
        where: [`e.event = 'purchase'`, 'e.ts >= make_timestamp(1713916800000000::BIGINT)'],
        measures: [{ column: 'm0', expression: 'count(*)' }],
      },
    ]);
  });
});
