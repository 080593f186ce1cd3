/**
 * The CLI against ClickHouse: a workspace whose strata.yaml says `engine: clickhouse`
 * (a single node, and a two-shard cluster), driven through ingest and every segment
 * command with --json. The oracle is the same commands on a DuckDB workspace with the
 * same plan and files; the small data also has hand-worked answers (in the comments).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, openStore } from '../src/config/index.js';
import { cli, cliJson } from './cli-helpers.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { LAYOUTS, startLayouts, type ClickHouseLayouts, type Layout } from './support/clickhouse-layouts.js';
import { layoutWorkspace, storeYaml, writeWorkspace } from './support/clickhouse-workspace.js';

const DAY = 86_400_000;
const AS_OF = '2024-03-01';
const AS_OF_MS = Date.UTC(2024, 2, 1);
const iso = (ms: number) => new Date(ms).toISOString();
const BEFORE = iso(AS_OF_MS - 30 * DAY);

/**
 * u1 completes a task 3 times in the last 10 days and pays 30; u2 signed up 40 days ago
 * and completed one task then; u3 only has a profile; u4 signs up exactly at AS_OF (not in
 * the population as of AS_OF); "quote'user" checks escaping end to end.
 */
const EVENTS = [
  { user_id: 'u1', event: 'signed_up', timestamp: iso(AS_OF_MS - 20 * DAY) },
  { user_id: 'u1', event: 'task_completed', timestamp: iso(AS_OF_MS - 10 * DAY) },
  { user_id: 'u1', event: 'task_completed', timestamp: iso(AS_OF_MS - 5 * DAY) },
  { user_id: 'u1', event: 'task_completed', timestamp: iso(AS_OF_MS - 1 * DAY) },
  { user_id: 'u1', event: 'purchase', timestamp: iso(AS_OF_MS - 2 * DAY), properties: { amount: 30 } },
  { user_id: 'u2', event: 'signed_up', timestamp: iso(AS_OF_MS - 40 * DAY) },
  { user_id: 'u2', event: 'task_completed', timestamp: iso(AS_OF_MS - 39 * DAY) },
  { user_id: 'u4', event: 'signed_up', timestamp: iso(AS_OF_MS) },
  { user_id: "quote'user", event: 'task_completed', timestamp: iso(AS_OF_MS - 3 * DAY) },
  { user_id: "quote'user", event: 'task_completed', timestamp: iso(AS_OF_MS - 2 * DAY) },
  { user_id: 'bad', event: 'task_completed', timestamp: 'yesterday-ish' },
];
const PROFILES_CSV = 'user_id,plan,country\nu1,pro,DE\nu2,free,FR\nu3,free,DE\n';

const PLAN_YAML = `plan:
  events:
    signed_up: {}
    task_completed: {}
    purchase:
      properties:
        amount: number
  traits:
    plan: string
    country: string
`;

const DEFS: Record<string, string> = {
  'power.yaml': 'key: power\nname: Power\nobjective: engagement\nrationale: Two tasks in 30 days.\nowner: growth\nmatch:\n  did: task_completed\n  count: { gte: 2 }\n  within: 30d\n',
  'germans.yaml': 'key: germans\nname: Germans\nobjective: other\nrationale: Country trait.\nowner: growth\nmatch:\n  trait: country\n  eq: DE\n',
  'paying-power.yaml':
    'key: paying-power\nname: Paying power\nobjective: monetization\nrationale: A reference and an aggregate.\nowner: growth\nmatch:\n  all:\n    - segment: power\n    - aggregate: sum\n      of: amount\n      on: purchase\n      gte: 10\n',
};

let root = '';
let layouts: ClickHouseLayouts | undefined;

const workspace = (name: string, layout: Layout | 'duckdb', database: string) => writeWorkspace(path.join(root, name), storeYaml(layouts, layout, database), PLAN_YAML);

/** The outputs of one pass of commands over a workspace, with what differs between runs removed. */
async function session(ws: string) {
  const strip = <T>(r: T): T => JSON.parse(JSON.stringify(r, (k, v) => (['runId', 'elapsedMs', 'rowsPerSecond', 'rejectsPath', 'computedAt', 'createdAt', 'updatedAt'].includes(k) ? undefined : v)));
  const profiles = strip(await cliJson(ws, 'ingest', 'profiles', '../files/profiles.csv'));
  const events = strip(await cliJson(ws, 'ingest', 'events', '../files/events.jsonl'));
  const again = strip(await cliJson(ws, 'ingest', 'events', '../files/events.jsonl'));
  const added = await cliJson(ws, 'segment', 'add', '../defs');
  const computed = strip(await cliJson<{ key: string; size: number; population: number }[]>(ws, 'segment', 'compute', '--as-of', AS_OF));
  const members = await cli(ws, 'segment', 'members', 'germans', '--as-of', AS_OF);
  const power = await cli(ws, 'segment', 'members', 'power', '--as-of', AS_OF, '--format', 'jsonl');
  const diff = strip(await cliJson(ws, 'segment', 'diff', 'power', '--from', BEFORE, '--to', AS_OF));
  const report = strip(await cliJson(ws, 'segment', 'report', 'germans', '--as-of', AS_OF));
  const overlap = strip(await cliJson(ws, 'segment', 'overlap', '--as-of', AS_OF));
  const list = strip(await cliJson(ws, 'segment', 'list'));
  return { profiles, events, again, added, computed, members: members.stdout, power: power.stdout, diff, report, overlap, list };
}

let oracle: Awaited<ReturnType<typeof session>>;

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-ch-cli-'));
  await mkdir(path.join(root, 'files'));
  await writeFile(path.join(root, 'files', 'events.jsonl'), EVENTS.map((e) => JSON.stringify(e)).join('\n') + '\n');
  await writeFile(path.join(root, 'files', 'profiles.csv'), PROFILES_CSV);
  await mkdir(path.join(root, 'defs'));
  for (const [name, text] of Object.entries(DEFS)) await writeFile(path.join(root, 'defs', name), text);
  layouts = await startLayouts('strata_cli_test');
  oracle = await session(await workspace('duckdb', 'duckdb', 'unused'));
}, 60_000);

afterAll(async () => {
  await layouts?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe.skipIf(!clickhouseAvailable()).each(LAYOUTS)('strata on ClickHouse (%s)', (layout) => {
  const current = layoutWorkspace(() => layouts!, layout, (database) => workspace(layout, layout, database));

  it('runs ingest and every segment command with the same --json output as DuckDB', async () => {
    const out = await session(current.ws);
    expect(out).toEqual(oracle);
    // Hand-worked: 10 events stored, 1 rejected; population as of AS_OF: u1, u2, u3 and quote'user.
    expect(out.events).toMatchObject({ read: 11, stored: 10, rejected: 1 });
    expect(out.again).toMatchObject({ read: 11, stored: 0, duplicates: 10 });
    expect(Object.fromEntries(out.computed.map((c) => [c.key, [c.size, c.population]]))).toEqual({ germans: [2, 4], 'paying-power': [1, 4], power: [2, 4] });
    expect(out.members).toBe('user_id\nu1\nu3\n');
    expect(out.power).toBe(`{"user_id":"quote'user"}\n{"user_id":"u1"}\n`);
  });

  it('opens the store that strata.yaml names, as an EventStore', async () => {
    const config = await loadConfig({ cwd: current.ws });
    expect(config.store).toMatchObject({ engine: 'clickhouse', database: current.database, cluster: layout === 'cluster' ? { name: 'strata' } : null });
    const store = await openStore(config);
    try {
      expect(store.engine).toBe('clickhouse');
      expect(await store.query(`SELECT count() AS n FROM events`)).toEqual([{ n: 10 }]);
    } finally {
      await store.close();
    }
    const human = await cli(current.ws, 'segment', 'list');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^SEGMENT\s+NAME/);
  });
});

describe.skipIf(!clickhouseAvailable())('strata with an unreachable ClickHouse', () => {
  it('fails with one line naming the URL', async () => {
    const ws = await writeWorkspace(path.join(root, 'unreachable'), 'store:\n  engine: clickhouse\n  url: http://127.0.0.1:9\n  database: x\n', PLAN_YAML);
    const run = await cli(ws, 'segment', 'list');
    expect(run.code).not.toBe(0);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('cannot reach ClickHouse at http://127.0.0.1:9');
  });
});
