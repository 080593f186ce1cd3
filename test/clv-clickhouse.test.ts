/**
 * `strata clv` on ClickHouse, one node and a two-shard cluster, through the CLI: ingest with
 * --row-ids, BG/NBD and Pareto/NBD fits, the stored fits, and the per-user scores. The
 * oracle is the same commands on a DuckDB workspace with the same file, whose per-user
 * summaries are in turn held to the summaries computed from the rows (clv-fixtures.ts).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliJson } from './cli-helpers.js';
import { oracleSummaries } from './clv-fixtures.js';
import { DAY, PLAN_YAML, RFM_YAML, purchaseLog, toCsv } from './rfm-fixtures.js';
import { clickhouseAvailable } from './support/clickhouse-server.js';
import { LAYOUTS, startLayouts, type ClickHouseLayouts, type Layout } from './support/clickhouse-layouts.js';
import { layoutWorkspace, storeYaml, writeWorkspace } from './support/clickhouse-workspace.js';

const ROWS = purchaseLog(23, 150);
const END = '2024-02-20';
const END_DAY = Math.floor(Date.UTC(2024, 1, 20) / DAY);

let root = '';
let layouts: ClickHouseLayouts | undefined;

const workspace = (name: string, layout: Layout | 'duckdb', database: string) => writeWorkspace(path.join(root, name), storeYaml(layouts, layout, database), `${PLAN_YAML}${RFM_YAML}`);

/**
 * Creation times and output paths left out; numbers compared exactly: day values and their
 * totals are added in ascending order on every engine (dialect.orderedSum), so the
 * summaries have the same bits and so do the fits the optimizer reaches from them.
 */
function rounded<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v) => (k === 'createdAtMs' || k === 'out' ? undefined : v)));
}

async function session(ws: string) {
  await cliJson(ws, 'ingest', 'events', '../files/purchases.csv', '--row-ids');
  const bgnbd = await cliJson(ws, 'clv', 'fit', '--calibration-end', END);
  const pareto = await cliJson(ws, 'clv', 'fit', '--model', 'paretonbd', '--unit', 'day', '--calibration-end', END);
  const shown = await cliJson<unknown[]>(ws, 'clv', 'show');
  const scored = await cliJson(ws, 'clv', 'score', '--fit', '1', '--horizon', '26w', '--out', 'scores.jsonl');
  const users = (await readFile(path.join(ws, 'scores.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
  return { bgnbd: rounded(bgnbd), pareto: rounded(pareto), shown: rounded(shown), scored: rounded(scored), users: rounded(users) };
}

let oracle: Awaited<ReturnType<typeof session>>;

beforeAll(async () => {
  if (!clickhouseAvailable()) return;
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-clv-ch-'));
  await mkdir(path.join(root, 'files'));
  await writeFile(path.join(root, 'files', 'purchases.csv'), toCsv(ROWS));
  layouts = await startLayouts('strata_clv_test');
  oracle = await session(await workspace('duckdb', 'duckdb', 'unused'));
}, 180_000);

afterAll(async () => {
  await layouts?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe.skipIf(!clickhouseAvailable())('the DuckDB oracle of this file', () => {
  it('scores exactly the customers summarized from the rows, with their x, t_x, T and repeat mean', () => {
    const want = oracleSummaries(ROWS, END_DAY, 7);
    expect(oracle.users.map((u) => [u.user_id, u.x, u.tx, u.T])).toEqual(want.map((w) => [w.user, w.x, w.tx, w.T]));
    oracle.users.forEach((u, i) => expect(u.monetary as number).toBeCloseTo(want[i]!.monetary, 9));
    expect(oracle.shown).toHaveLength(2);
  });
});

describe.skipIf(!clickhouseAvailable()).each(LAYOUTS)('strata clv on ClickHouse (%s)', (layout) => {
  const current = layoutWorkspace(() => layouts!, layout, (database) => workspace(layout, layout, database));

  it('fits, stores and scores as DuckDB does', async () => {
    const out = await session(current.ws);
    expect(out.bgnbd).toEqual(oracle.bgnbd);
    expect(out.pareto).toEqual(oracle.pareto);
    expect(out.shown).toEqual(oracle.shown);
    expect(out.scored).toEqual(oracle.scored);
    expect(out.users).toEqual(oracle.users);
  }, 180_000);
});
