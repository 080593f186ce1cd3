/**
 * The library entry (src/index.ts) offers what the CLI does: a workspace, ingestion,
 * the segment language, the registry, and both engines giving the same members.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as strata from '../src/index.js';
import { withTempDir } from './cli-helpers.js';

const DAY = 86_400_000;
const AS_OF = Date.UTC(2024, 5, 1);

describe('the library entry', () => {
  it('runs a workspace end to end, and the SQL and in-memory engines agree', async () => {
    await withTempDir('strata-lib-', async (dir) => {
      const { config: initial } = await strata.initWorkspace(dir);
      const config = await strata.writePlan(
        initial,
        strata.parsePlan({ events: { login: { properties: { device: 'string' } } }, traits: { tier: 'string' } }),
      );
      expect((await strata.loadConfig({ cwd: path.join(dir, 'data') })).plan).toEqual(config.plan);

      const store = await strata.openStore(config);
      try {
        // a logs in on 3 distinct days in the last week; b once, 20 days ago; c has only a profile.
        const events = [
          { user_id: 'a', event: 'login', timestamp: AS_OF - 1 * DAY, properties: { device: 'ios' } },
          { user_id: 'a', event: 'login', timestamp: AS_OF - 2 * DAY, properties: { device: 'ios' } },
          { user_id: 'a', event: 'login', timestamp: AS_OF - 3 * DAY, properties: { device: 'web' } },
          { user_id: 'b', event: 'login', timestamp: AS_OF - 20 * DAY, properties: { device: 'web' } },
        ];
        const report = await strata.ingestEventRecords(store, events, config.plan);
        expect(report.stored).toBe(4);
        await strata.ingestProfileRecords(store, [{ user_id: 'c', traits: { tier: 'gold' } }], config.plan);

        const raw = strata.parseSegmentText(
          'key: regulars\nname: Regulars\nobjective: engagement\nrationale: Logged in on three days this week.\nowner: growth\nmatch: { activeDays: { gte: 3 }, on: login, within: 7d }\n',
          'regulars.yaml',
        );
        const def = strata.validateSegment(raw, config.plan);
        const registry = new strata.SegmentRegistry(store, config.plan);
        await registry.add([def]);
        const [computed] = await registry.compute(['regulars'], { asOfMs: AS_OF });
        expect(computed).toMatchObject({ key: 'regulars', size: 1, population: 3 });

        const ir = strata.buildSegmentIR(def, config.plan, () => undefined);
        const memory = strata.evaluateSegments(
          [ir],
          {
            events: events.map((e) => ({ userId: e.user_id, event: e.event, ts: e.timestamp, properties: e.properties })),
            profiles: new Map([['c', { tier: 'gold' }]]),
          },
          AS_OF,
        );
        expect([...(memory.get('regulars') ?? [])]).toEqual(['a']);
        const sql = strata.compileSegmentMembers(ir, { dialect: store.dialect, asOfMs: AS_OF });
        expect((await store.query(sql)).map((r) => r.user_id)).toEqual(['a']);
      } finally {
        await store.close();
      }
    });
  });

  it('exposes the CLI and the demo', () => {
    expect(typeof strata.runCli).toBe('function');
    expect(typeof strata.runDemo).toBe('function');
    expect(strata.formatInstant(strata.DEMO_END_MS)).toBe('2025-06-02T00:00:00.000Z');
    expect(Object.keys(strata.demoPlan().events)).toContain('core_task_completed');
  });
});
