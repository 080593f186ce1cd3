/**
 * `strata discover personas` through the CLI on a DuckDB workspace file: events with three
 * planted behaviour groups ingested by `strata ingest`, personas discovered, stored, refreshed
 * and shown. Oracles: the planted group of each user (adjusted Rand index of the stored run's
 * persona ids against it), and the library's report for the same options.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adjustedRandIndex } from '../src/models/cluster/index.js';
import type { PersonaReport } from '../src/models/discover/index.js';
import { readScores } from '../src/models/registry/index.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';
import { cli, cliJson, cliWith } from './cli-helpers.js';
import { AS_OF, AS_OF_MS, PLAN_YAML, RFM_YAML, plantedUsers, toJsonl } from './personas-fixtures.js';

const DAY = 86_400_000;
const planted = plantedUsers(31, [110, 90, 70, 0], 'u');
const lapsed = Array.from({ length: 4 }, (_, i) => ({ user: `lapsed-${i}`, event: 'view', at: AS_OF_MS - (120 + i) * DAY, props: { page: 'home' } }));

let root = '';
let ws = '';

const BUYERS_YAML = `key: buyers
name: Buyers
objective: monetization
rationale: Users who bought at least once; their personas feed pricing work.
owner: growth
match:
  did: purchase
`;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strata-personas-cli-'));
  ws = path.join(root, 'ws');
  await mkdir(ws);
  await writeFile(path.join(ws, 'strata.yaml'), `version: 1\n${PLAN_YAML}${RFM_YAML}`);
  await writeFile(path.join(root, 'events.jsonl'), toJsonl([...planted.events, ...lapsed]));
  await writeFile(path.join(root, 'buyers.yaml'), BUYERS_YAML);
  await cliJson(ws, 'ingest', 'events', '../events.jsonl');
  await cliJson(ws, 'segment', 'add', '../buyers.yaml');
}, 60_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function storedClusters(runId: number): Promise<Map<string, number>> {
  const store = await DuckDbStore.open({ path: path.join(ws, 'data', 'strata.duckdb') });
  try {
    return new Map((await readScores(store, runId)).map((r) => [r.userId, r.cluster!]));
  } finally {
    await store.close();
  }
}

describe('strata discover personas (oracle: the planted groups)', () => {
  let first: PersonaReport;

  it('recovers the three planted groups, names them distinctly and stores the run', async () => {
    first = await cliJson<PersonaReport>(ws, 'discover', 'personas', '--as-of', AS_OF);
    expect(first).toMatchObject({ key: 'personas', version: 1, k: 3, chosenBy: 'silhouette', population: { segment: null, activeDays: 90, users: 270 } });
    expect(new Set(first.personas.map((p) => p.name)).size).toBe(3);
    const clusters = await storedClusters(first.runId!);
    expect(clusters.size).toBe(270);
    const users = [...planted.truth.keys()];
    const ari = adjustedRandIndex(Int32Array.from(users, (u) => planted.truth.get(u)!), Int32Array.from(users, (u) => clusters.get(u)!));
    expect(ari).toBeGreaterThanOrEqual(0.9);
    // Each persona's reported size is its number of rows in the run.
    for (const p of first.personas) expect([...clusters.values()].filter((c) => c === p.id).length).toBe(p.size);
  });

  it('is the data of the cluster condition: {cluster: personas, eq: ID} has the users of that persona', async () => {
    const persona = first.personas[1]!;
    await writeFile(path.join(root, 'persona.yaml'), `key: second-persona\nname: Second persona\nobjective: other\nrationale: The users of one discovered persona.\nowner: growth\nmatch: {cluster: personas, eq: ${persona.id}}\n`);
    await cliJson(ws, 'segment', 'add', '../persona.yaml');
    const members = await cliJson<{ members: string[] }>(ws, 'segment', 'members', 'second-persona', '--as-of', AS_OF);
    const clusters = await storedClusters(first.runId!);
    expect(members.members).toEqual([...clusters].filter(([, c]) => c === persona.id).map(([u]) => u).sort());
    expect(members.members).toHaveLength(persona.size);
    // Before the run's instant there is no run: nobody is in a persona.
    const before = await cliJson<{ members: string[] }>(ws, 'segment', 'members', 'second-persona', '--as-of', '2026-05-01');
    expect(before.members).toEqual([]);
  });

  it('prints each persona with its features against the rest, the k search and the id changes', async () => {
    const run = await cli(ws, 'discover', 'personas', '--as-of', AS_OF, '--no-save');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Personas: +personas, not stored \(--no-save\)$/m);
    expect(run.stdout).toMatch(/^Population: +270 users, active in the 90 days before T$/m);
    expect(run.stdout).toMatch(/^k: +3 \(best silhouette\), silhouette 0\.\d+$/m);
    expect(run.stdout).toMatch(/^k search: +k=2 [\d.]+, k=3 [\d.]+\*, k=4/m);
    expect(run.stdout).toMatch(/^Ids: +since version 1: kept 1, 2, 3; new none; vanished none$/m);
    for (const p of first.personas) expect(run.stdout).toContain(`#${p.id} ${p.name}: ${p.size} users (`);
    expect(run.stdout).toMatch(/^ {3}feature +persona +rest +d$/m);
  });

  it('keeps ids on a refresh and shows stored versions', async () => {
    const second = await cliJson<PersonaReport>(ws, 'discover', 'personas', '--as-of', AS_OF, '--seed', '9');
    expect(second.version).toBe(2);
    expect(second.changes).toMatchObject({ previousVersion: 1, created: [], vanished: [] });
    const a = await storedClusters(first.runId!);
    const b = await storedClusters(second.runId!);
    expect([...a].filter(([u, c]) => b.get(u) !== c).length).toBeLessThanOrEqual(3);
    const shown = await cliJson<PersonaReport>(ws, 'discover', 'personas', '--show', '--at-version', '1');
    expect(shown.personas).toEqual(first.personas);
    expect(shown.version).toBe(1);
    const latest = await cli(ws, 'discover', 'personas', '--show');
    expect(latest.stdout).toMatch(/^Personas: +personas, version 2, run \d+: \{cluster: personas, eq: ID\}$/m);
  });

  it('clusters a segment\'s members with --segment, and everyone with --active all', async () => {
    const buyers = await cliJson<PersonaReport>(ws, 'discover', 'personas', '--as-of', AS_OF, '--segment', 'buyers', '--key', 'buyer-personas', '--k', '2');
    expect(buyers.population).toEqual({ segment: { key: 'buyers', version: 1 }, activeDays: null, users: 70 });
    expect(buyers).toMatchObject({ key: 'buyer-personas', version: 1, k: 2, chosenBy: 'given' });
    // Both: the segment's members active in the last day (counted from the planted rows).
    const activeBuyers = new Set(planted.events.filter((e) => planted.truth.get(e.user) === 2 && e.at >= AS_OF_MS - DAY && e.at < AS_OF_MS).map((e) => e.user));
    expect(activeBuyers.size).toBeGreaterThanOrEqual(3);
    const both = await cliJson<PersonaReport>(ws, 'discover', 'personas', '--as-of', AS_OF, '--segment', 'buyers', '--active', '1d', '--k', '2', '--no-save');
    expect(both.population).toEqual({ segment: { key: 'buyers', version: 1 }, activeDays: 1, users: activeBuyers.size });
    const everyone = await cliJson<PersonaReport>(ws, 'discover', 'personas', '--as-of', AS_OF, '--active', 'all', '--no-save', '--k', '3');
    expect(everyone.population.users).toBe(274);
    const recent = await cliJson<PersonaReport>(ws, 'discover', 'personas', '--as-of', AS_OF, '--active', '2w', '--no-save', '--k', '3');
    expect(recent.population.activeDays).toBe(14);
  });

  it('draws a progress bar on a terminal', async () => {
    const tty = new PassThrough();
    const chunks: Buffer[] = [];
    tty.on('data', (c: Buffer) => chunks.push(c));
    expect((await cliWith({ cwd: ws, progressStream: tty }, 'discover', 'personas', '--as-of', AS_OF, '--no-save')).code).toBe(0);
    expect(Buffer.concat(chunks).toString('utf8')).toContain('features');
  });

  it('explains bad options', async () => {
    const bad = async (args: string[], message: RegExp) => {
      const run = await cli(ws, 'discover', 'personas', ...args);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(message);
    };
    await bad(['--active', 'soon'], /--active: expected a duration such as 90d or 2w, or all/);
    await bad(['--k', '1'], /--k: expected a whole number >= 2/);
    await bad(['--key', 'My Personas', '--no-save'], /model key "My Personas" must match/);
    await bad(['--at-version', '1'], /--at-version needs --show/);
    await bad(['--show', '--key', 'nope'], /no model "nope" \(stored: buyer-personas, personas\)/);
    await bad(['--show', '--at-version', '7'], /model "personas" has no version 7/);
    await bad(['--traits', 'health', '--as-of', AS_OF], /sensitive traits are never model features/);
  });

  it('keeps its help under 80 columns', async () => {
    const run = await cli(ws, 'discover', 'personas', '--help');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.filter((l) => l.length >= 80)).toEqual([]);
    expect(run.stdout).toContain('--at-version <N>');
  });
});
