/**
 * The real-data tests' shared setup: the UCI Online Retail file in ../shared/data (beside
 * the checkout), reported loudly when missing, and a workspace for it driven through the
 * CLI exactly as the README shows.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cli, cliJson, type CliRun } from '../cli-helpers.js';

export const ONLINE_RETAIL = path.resolve(import.meta.dirname, '../../../shared/data/online-retail/online-retail.csv.gz');

/**
 * Whether the file is here. When it is not, `test` (the file's name) is skipped with a loud
 * notice, except under CI, where the real-data tests must run: there it is an error.
 */
export function onlineRetailPresent(test: string): boolean {
  if (existsSync(ONLINE_RETAIL)) return true;
  const message = `${test} test: ${ONLINE_RETAIL} is missing; the real-data test needs ../shared/data (see ../shared/data/README.md)`;
  if (process.env.CI) throw new Error(message);
  console.warn(`\n*** SKIPPED: ${message} ***\n`);
  return false;
}

/** How the file's rows become events (`plan infer` and `ingest events`): one purchase per line item. */
export const RETAIL_EVENTS = ['--user', 'CustomerID', '--time', 'InvoiceDate', '--event', '=purchase'] as const;

export interface RetailWorkspace {
  /** The temporary folder the commands run in. */
  readonly dir: string;
  /** The workspace `strata init` made in it. */
  readonly ws: string;
  /** A command on the workspace; anything but exit 0 throws with its stderr. */
  run(...argv: string[]): Promise<CliRun>;
  /** A command on the workspace with --json, parsed. */
  json<T = unknown>(...argv: string[]): Promise<T>;
  remove(): Promise<void>;
}

/** A temporary folder (named from `prefix`) holding a workspace `retail` made by `strata init`. */
export async function retailWorkspace(prefix: string): Promise<RetailWorkspace> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const ws = path.join(dir, 'retail');
  const run = async (...argv: string[]) => {
    const r = await cli(dir, '--workspace', ws, ...argv);
    if (r.code !== 0) throw new Error(`strata ${argv.join(' ')}: ${r.stderr}`);
    return r;
  };
  try {
    await run('init', ws);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    ws,
    run,
    json: <T>(...argv: string[]) => cliJson<T>(dir, '--workspace', ws, ...argv),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
