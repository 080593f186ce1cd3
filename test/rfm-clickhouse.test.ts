/**
 * `strata rfm` on ClickHouse, one node and a two-shard cluster, through the CLI: ingest
 * with --row-ids, the RFM table (all history; a window with 4 levels and another method;
 * restricted to a segment), per-user rows, and the ready-made segments added and computed.
 * The oracle is the same commands on a DuckDB workspace with the same files; the per-user
 * rows are also held to measures computed directly from the rows (rfm-fixtures.ts).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliJson } from './cli-helpers.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { LAYOUTS, startLayouts, type ClickHouseLayouts, type Layout } from './support/clickhouse-layouts.js';
import { layoutWorkspace, storeYaml, writeWorkspace } from './support/clickhouse-workspace.js';
import { AS_OF, AS_OF_MS, DAY, PLAN_YAML, RFM_YAML, oracleUsers, purchaseLog, toCsv } from './rfm-fixtures.js';

const ROWS = purchaseLog(7, 160);
const SHOP = 'key: shop-buyers\nname: Bought in the shop\nobjective: other\nrationale: A restriction for rfm --segment.\nowner: growth\nmatch: { did: purchase, where: [{ property: channel, eq: shop }] }\n';

let root = '';
let layouts: ClickHouseLayouts | undefined;

const workspace = (name: string, layout: Layout | 'duckdb', database: string) => writeWorkspace(path.join(root, name), storeYaml(layouts, layout, database), `${PLAN_YAML}${RFM_YAML}`);

/** Numbers to 10 significant digits: monetary sums may differ in the last bits between engines. */
function rounded<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v) => (k === 'out' ? undefined : typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(10)) : v)));
}

async function session(ws: string) {
  const first = await cliJson<{ stored: number; duplicates: number }>(ws, 'ingest', 'events', '../files/purchases.csv', '--row-ids');
  const again = await cliJson<{ stored: number; duplicates: number }>(ws, 'ingest', 'events', '../files/purchases.csv', '--row-ids');
  await cliJson(ws, 'segment', 'add', '../defs');
  const all = await cliJson(ws, 'rfm', '--as-of', AS_OF);
  const windowed = await cliJson(ws, 'rfm', '--as-of', AS_OF, '--within', '60d', '--scores', '4', '--method', 'nearest');
  const restricted = await cliJson(ws, 'rfm', '--as-of', AS_OF, '--segment', 'shop-buyers');
  await cliJson(ws, 'rfm', '--as-of', AS_OF, '--out', 'users.jsonl', '--format', 'jsonl');
  const users = (await readFile(path.join(ws, 'users.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const generated = await cliJson<{ segments: { definition: { key: string }; users: number }[] }>(ws, 'rfm', 'segments', '--as-of', AS_OF, '--add');
  const computed = await cliJson<{ key: string; size: number }[]>(ws, 'segment', 'compute', '--as-of', AS_OF);
  return {
    ingest: [first.stored, first.duplicates, again.stored, again.duplicates],
    all: rounded(all),
    windowed: rounded(windowed),
    restricted: rounded(restricted),
    users: rounded(users),
    generated: generated.segments.map((s) => [s.definition.key, s.users]),
    sizes: Object.fromEntries(computed.map((c) => [c.key, c.size])),
  };
}

let oracle: Awaited<ReturnType<typeof session>>;

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-rfm-ch-'));
  await mkdir(path.join(root, 'files'));
  await writeFile(path.join(root, 'files', 'purchases.csv'), toCsv(ROWS));
  await mkdir(path.join(root, 'defs'));
  await writeFile(path.join(root, 'defs', 'shop-buyers.yaml'), SHOP);
  layouts = await startLayouts('strata_rfm_test');
  oracle = await session(await workspace('duckdb', 'duckdb', 'unused'));
}, 120_000);

afterAll(async () => {
  await layouts?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe.skipIf(!clickhouseAvailable())('the DuckDB oracle of this file', () => {
  it('scores the users measured directly from the rows, and each ready-made segment holds its cell', () => {
    const direct = oracleUsers(ROWS, { asOfMs: AS_OF_MS });
    expect(oracle.users.map((u) => [u.user_id, u.recency, u.frequency])).toEqual(
      direct.sort((a, b) => Buffer.compare(Buffer.from(a.user), Buffer.from(b.user))).map((u) => [u.user, u.recency, u.frequency]),
    );
    expect(oracle.ingest[0]).toBeGreaterThan(0);
    expect(oracle.ingest.slice(1)).toEqual([0, 0, oracle.ingest[0]]);
    for (const [key, users] of oracle.generated) expect(oracle.sizes[key as string]).toBe(users);
    // The restriction and the window keep some users, not all; the window scores 4 levels.
    const count = (r: unknown) => (r as { users: number }).users;
    expect(count(oracle.all)).toBe(direct.length);
    expect(count(oracle.restricted)).toBeGreaterThan(0);
    expect(count(oracle.restricted)).toBeLessThan(direct.length);
    expect(count(oracle.windowed)).toBe(oracleUsers(ROWS, { asOfMs: AS_OF_MS, withinMs: 60 * DAY }).length);
    expect(oracle.windowed).toMatchObject({ scores: 4, method: 'nearest', within: '60d' });
  });
});

describe.skipIf(!clickhouseAvailable()).each(LAYOUTS)('strata rfm on ClickHouse (%s)', (layout) => {
  const current = layoutWorkspace(() => layouts!, layout, (database) => workspace(layout, layout, database));

  it('gives the same tables, user rows and segments as DuckDB', async () => {
    const out = await session(current.ws);
    expect(out.ingest).toEqual(oracle.ingest);
    expect(out.all).toEqual(oracle.all);
    expect(out.windowed).toEqual(oracle.windowed);
    expect(out.restricted).toEqual(oracle.restricted);
    expect(out.users).toEqual(oracle.users);
    expect(out.generated).toEqual(oracle.generated);
    expect(out.sizes).toEqual(oracle.sizes);
  }, 120_000);
});
