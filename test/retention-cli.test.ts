/**
 * `strata retention` end to end, in-process (runCli) against a temp DuckDB workspace with
 * hand-written data, so every number below is worked out in the comments. Also: a
 * retention file gives the same table as the same options, options override the file,
 * and errors name the option or the file line they come from.
 *
 * Weeks (Monday, UTC): W1 = 2024-01-01, W2 = 01-08, W3 = 01-15, W4 = 01-22. asOf 2024-01-19.
 *   a (pro):  signup Mon 01-01; task 01-03 (n 5); task 01-10 (n 1)   cohort W1
 *   b (free): signup Sun 01-07; task 01-15 (n 5)                     cohort W1
 *   c:        signup Tue 01-09; task 01-19 (at asOf: not counted)    cohort W2
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetentionResult } from '../src/analysis/retention/index.js';
import { initWorkspace } from '../src/config/index.js';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { cli, cliJson } from './cli-helpers.js';

const PLAN = parsePlan({ events: { signup: {}, task: { properties: { n: 'number' } } }, traits: { plan: 'string' } });
const D = (day: number) => new Date(Date.UTC(2024, 0, day, 9)).toISOString();
const EVENTS = [
  { user_id: 'a', event: 'signup', timestamp: D(1) },
  { user_id: 'a', event: 'task', timestamp: D(3), properties: { n: 5 } },
  { user_id: 'a', event: 'task', timestamp: D(10), properties: { n: 1 } },
  { user_id: 'b', event: 'signup', timestamp: D(7) },
  { user_id: 'b', event: 'task', timestamp: D(15), properties: { n: 5 } },
  { user_id: 'c', event: 'signup', timestamp: D(9) },
  { user_id: 'c', event: 'task', timestamp: '2024-01-19T00:00:00Z', properties: { n: 5 } },
];
const AS_OF = '2024-01-19';

let root = '';
let ws = '';
const run = (...argv: string[]) => cli(ws, ...argv);
const json = (...argv: string[]) => cliJson<RetentionResult>(ws, ...argv);
const cells = (r: RetentionResult, field: 'returned' | 'onOrAfter') => r.groups.map((g) => [g.group, g.cohorts.map((c) => [c.cohort, c.size, c.cells.map((x) => `${x[field]}${x.complete ? '' : '*'}`)])]);

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-retention-cli-'));
  ws = path.join(root, 'ws');
  await initWorkspace(ws, { plan: PLAN });
  await writeFile(path.join(root, 'events.jsonl'), EVENTS.map((e) => JSON.stringify(e)).join('\n'));
  await writeFile(path.join(root, 'profiles.jsonl'), [{ user_id: 'a', traits: { plan: 'pro' } }, { user_id: 'b', traits: { plan: 'free' } }].map((p) => JSON.stringify(p)).join('\n'));
  expect((await run('ingest', 'events', path.join(root, 'events.jsonl'))).code).toBe(0);
  expect((await run('ingest', 'profiles', path.join(root, 'profiles.jsonl'))).code).toBe(0);
  await writeFile(path.join(root, 'doers.yaml'), 'key: doers\nname: Doers\nobjective: engagement\nrationale: Did a task with n 5.\nowner: growth\nmatch: { did: task, where: [{ property: n, eq: 5 }] }\n');
  expect((await run('segment', 'add', path.join(root, 'doers.yaml'))).code).toBe(0);
}, 60_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('strata retention', () => {
  it('prints weekly first-seen cohorts with both tables, incomplete cells marked', async () => {
    const r = await json('retention', '--cohort', 'week', '--periods', '3', '--as-of', AS_OF);
    // W1 (a, b): period 0 both; 1: a (01-10); 2: b (01-15, W3 still open at asOf). W2 (c): period 0; W3 is open.
    expect(cells(r, 'returned')).toEqual([['all', [['2024-W01', 2, ['2', '1', '1*']], ['2024-W02', 1, ['1', '0*']]]]]);
    // On or after: in W1, a (W2) and b (W3) both came back in period 1 or later.
    expect(cells(r, 'onOrAfter')).toEqual([['all', [['2024-W01', 2, ['2', '2', '1*']], ['2024-W02', 1, ['1', '0*']]]]]);
    expect(r).toMatchObject({ cohort: 'week', alignment: 'calendar', periods: 3, mode: 'both', startEvent: null, returnEvent: { event: '*', where: [] }, asOf: '2024-01-19T00:00:00.000Z' });

    const human = await run('retention', '--cohort', 'week', '--periods', '3', '--as-of', AS_OF);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Retention of weekly cohorts by first seen; return: any event; calendar weeks after the cohort week');
    expect(human.stdout).toContain('Returned in week k or later (on or after)');
    expect(human.stdout).toMatch(/2024-W01\s+2\s+100\.0%\s+50\.0%\s+50\.0%\*/);
    expect(human.stdout).toMatch(/all cohorts\s+3\s+100\.0%\s+50\.0%/);
  });

  it('takes start and return events with property predicates, and a file gives the same table', async () => {
    const viaOptions = await json(
      'retention', '--cohort', 'day', '--start-event', 'task', '--start-where', '{property: n, gte: 5}', '--return-event', 'task', '--periods', '14', '--mode', 'returned', '--as-of', AS_OF,
    );
    // a starts 01-03, b 01-15 (c's task is at asOf). a's n = 1 task on 01-10 is day 7.
    expect(viaOptions.groups[0]!.cohorts.map((c) => [c.cohort, c.size, c.cells.filter((x) => x.returned! > 0).map((x) => x.period)])).toEqual([
      ['2024-01-03', 1, [0, 7]],
      ['2024-01-15', 1, [0]],
    ]);
    expect(viaOptions.startEvent).toEqual({ event: 'task', where: ['n gte 5'] });
    const file = path.join(root, 'retention.yaml');
    await writeFile(file, 'cohort: day\nstart:\n  event: task\n  where:\n    - { property: n, gte: 5 }\nreturn: task\nperiods: 14\nmode: on-or-after\n');
    // --mode on the command line replaces the file's.
    const viaFile = await json('retention', '--file', file, '--mode', 'returned', '--as-of', AS_OF);
    expect(viaFile).toEqual(viaOptions);
  });

  it('breaks down by a trait and restricts to a segment', async () => {
    const byPlan = await json('retention', '--periods', '1', '--by', 'plan', '--as-of', AS_OF, '--mode', 'returned');
    expect(byPlan.breakdown).toBe('trait plan');
    // Groups in byte order, users without the trait last.
    expect(cells(byPlan, 'returned')).toEqual([
      ['free', [['2024-W01', 1, ['1', '0']]]],
      ['pro', [['2024-W01', 1, ['1', '1']]]],
      ['(none)', [['2024-W02', 1, ['1', '0*']]]],
    ]);
    // doers as of asOf: a and b (c's n = 5 task is at asOf).
    const doers = await json('retention', '--periods', '1', '--segment', 'doers', '--as-of', AS_OF, '--mode', 'returned');
    expect(doers.segment?.key).toBe('doers');
    expect(cells(doers, 'returned')).toEqual([['all', [['2024-W01', 2, ['2', '1']]]]]);
    const bySegment = await json('retention', '--periods', '1', '--by', 'segment:doers', '--as-of', AS_OF, '--mode', 'returned');
    expect(bySegment.groups.map((g) => [g.group, g.size])).toEqual([
      ['member', 2],
      ['non-member', 1],
    ]);
  });

  it('names the option or the file line of each error', async () => {
    const elapsedMonths = await run('retention', '--cohort', 'month', '--alignment', 'elapsed');
    expect(elapsedMonths.code).toBe(2);
    expect(elapsedMonths.stderr).toMatch(/--alignment: elapsed periods need a fixed length and months have none/);

    const badPredicate = await run('retention', '--start-event', 'task', '--start-where', '{property: nope, eq: 1}');
    expect(badPredicate.code).toBe(2);
    expect(badPredicate.stderr).toContain('--start-where #1 (property)');
    expect(badPredicate.stderr).toContain('property "nope" is not declared on event "task"');

    const noEvent = await run('retention', '--start-where', '{property: n, eq: 1}');
    expect(noEvent.code).toBe(2);
    expect(noEvent.stderr).toContain('--start-where needs --start-event');

    const file = path.join(root, 'bad.yaml');
    await writeFile(file, 'cohort: week\nreturn:\n  event: task\n  where:\n    - { property: n, gte: lots }\nperiods: -2\n');
    const badFile = await run('retention', '--file', file);
    expect(badFile.code).toBe(2);
    expect(badFile.stderr).toMatch(/^strata: the retention definition is invalid: \S*bad\.yaml:\d+ \S+: .* \(and 1 more\)$/m);
    const all = await run('retention', '--file', file, '--json');
    const details = (JSON.parse(all.stdout) as { error: { details: { path: string; message: string }[] } }).error.details;
    expect(details.map((d) => d.path.replace(/^.*bad\.yaml/, 'bad.yaml')).sort()).toEqual(['bad.yaml:5 return.where[0].gte', 'bad.yaml:6 periods']);

    const unknownBy = await run('retention', '--by', 'nothing');
    expect(unknownBy.code).toBe(2);
    expect(unknownBy.stderr).toContain('--by nothing');
  });
});
