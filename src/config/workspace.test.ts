import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StrataError } from '../errors/errors.js';
import { parsePlan } from '../schema/tracking-plan.js';
import { createConfig, storeLocation } from './config.js';
import { openStore } from './open-store.js';
import { findWorkspace, initWorkspace, loadConfig, replacePlanInText, writePlan } from './workspace.js';
import { strataYamlTemplate } from './strata-yaml.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'strata-config-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function caught(fn: () => unknown): StrataError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StrataError) return e;
    throw e;
  }
  throw new Error('expected a StrataError');
}

describe('initWorkspace', () => {
  it('writes a commented strata.yaml, the data and segments folders, and a config with defaults', async () => {
    const { config } = await initWorkspace(path.join(tmp, 'ws'));
    expect(config.workspaceDir).toBe(path.join(tmp, 'ws'));
    expect(config.dataDir).toBe(path.join(tmp, 'ws', 'data'));
    expect(config.segmentsDir).toBe(path.join(tmp, 'ws', 'segments'));
    expect(config.store).toEqual({ engine: 'duckdb', path: path.join(tmp, 'ws', 'data', 'strata.duckdb') });
    expect(config.plan).toEqual({ undeclared: 'drop', sessionGapMs: 30 * 60_000, events: {}, traits: {} });
    const text = await readFile(config.configPath, 'utf8');
    for (const key of ['data_dir', 'segments_dir', 'store', 'engine', 'undeclared', 'session_gap', 'events', 'traits', 'retention_days', 'pii', 'sensitive']) {
      expect(text).toContain(key);
    }
  });

  it('offers lifecycle, moments and rfm examples, commented out, that read back once uncommented', async () => {
    const template = strataYamlTemplate();
    const { config } = await initWorkspace(path.join(tmp, 'off'));
    // Commented out, they change nothing: no rfm purchase, no moments, the default lifecycle model.
    expect(config.rfm.purchase).toBeNull();
    expect(config.moments.moments).toEqual([]);
    for (const pointer of ['docs/lifecycle.md', 'docs/moments.md', 'docs/rfm.md']) expect(template).toContain(pointer);
    // Uncomment the examples (the `# key:` lines and the indented ones below them) and declare
    // what they name: the oracle is the settings written in the examples themselves.
    const start = template.indexOf('# lifecycle:');
    expect(start).toBeGreaterThan(template.indexOf('plan:'));
    const examples = template
      .slice(start)
      .split('\n')
      .map((line) => line.replace(/^# ((?:lifecycle|moments|rfm):|  )/, '$1'))
      .join('\n');
    const plan = parsePlan({
      events: { task_completed: {}, invite_sent: {}, signed_up: {}, purchase: { properties: { amount: 'number' } } },
      traits: { signup_at: 'timestamp' },
    });
    await writeFile(path.join(tmp, 'strata.yaml'), replacePlanInText(template.slice(0, start) + examples, plan));
    const on = await loadConfig({ cwd: tmp });
    expect(on.lifecycle.unavailable).toEqual([]);
    expect(on.lifecycle.stages.map((s) => s.key)).toContain('advocate');
    expect(on.moments.moments.map((m) => m.key)).toEqual(['first-core-action', 'stalled-activation']);
    expect(on.rfm.purchase).toMatchObject({ event: 'purchase', value: 'amount' });
  });

  it('refuses to overwrite an existing workspace', async () => {
    await initWorkspace(tmp);
    const before = await readFile(path.join(tmp, 'strata.yaml'), 'utf8');
    await expect(initWorkspace(tmp)).rejects.toMatchObject({ code: 'WORKSPACE_EXISTS' });
    expect(await readFile(path.join(tmp, 'strata.yaml'), 'utf8')).toBe(before);
  });
});

describe('findWorkspace and loadConfig', () => {
  it('searches upward like git, and an explicit workspace wins', async () => {
    await initWorkspace(path.join(tmp, 'a'));
    await initWorkspace(path.join(tmp, 'b'));
    const deep = path.join(tmp, 'a', 'x', 'y');
    await mkdir(deep, { recursive: true });
    expect(findWorkspace(deep)).toBe(path.join(tmp, 'a'));
    expect((await loadConfig({ cwd: deep })).workspaceDir).toBe(path.join(tmp, 'a'));
    expect((await loadConfig({ cwd: deep, workspace: '../../../b' })).workspaceDir).toBe(path.join(tmp, 'b'));
    expect((await loadConfig({ cwd: deep, env: { STRATA_WORKSPACE: path.join(tmp, 'b') } })).workspaceDir).toBe(path.join(tmp, 'b'));
  });

  it('reports a missing workspace', async () => {
    await expect(loadConfig({ cwd: tmp })).rejects.toMatchObject({ code: 'WORKSPACE_NOT_FOUND' });
    await expect(loadConfig({ cwd: tmp, workspace: 'nope' })).rejects.toMatchObject({ code: 'WORKSPACE_NOT_FOUND' });
  });

  it('names the line of a bad setting and of a bad plan entry', async () => {
    const text = strataYamlTemplate()
      .replace('engine: duckdb', 'engine: oracle')
      .replace('  events: {}', '  events:\n    purchase:\n      properties:\n        amount: money');
    await writeFile(path.join(tmp, 'strata.yaml'), text);
    const e = await loadConfig({ cwd: tmp }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StrataError);
    const err = e as StrataError;
    expect(err.code).toBe('CONFIG_INVALID');
    const lines = text.split('\n');
    const engineLine = lines.findIndex((l) => l.includes('engine: oracle')) + 1;
    const amountLine = lines.findIndex((l) => l.includes('amount: money')) + 1;
    expect(err.details).toEqual([
      { path: `strata.yaml:${engineLine} store.engine`, message: 'expected one of duckdb, clickhouse' },
      { path: `strata.yaml:${amountLine} plan.events.purchase.properties.amount.type`, message: 'expected one of string, number, boolean, timestamp' },
    ]);
  });

  it('reports YAML syntax errors with line and column', async () => {
    await writeFile(path.join(tmp, 'strata.yaml'), 'store:\n  engine: [duckdb\n');
    const e = (await loadConfig({ cwd: tmp }).catch((x: unknown) => x)) as StrataError;
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.details[0]?.path).toMatch(/^strata\.yaml:\d+:\d+$/);
  });

  it('rejects unknown keys', () => {
    const e = caught(() => createConfig({ workspaceDir: tmp, document: { stor: {} } }));
    expect(e.details).toEqual([{ path: 'strata.yaml stor', message: 'unknown key; expected one of version, data_dir, segments_dir, store, plan, lifecycle, moments, rfm, privacy' }]);
  });
});

describe('writePlan', () => {
  const plan = parsePlan({
    session_gap: '45m',
    events: { purchase: { properties: { amount: 'number', currency: 'string' } }, 'page.viewed': { properties: { url: 'string' } } },
    traits: { email: { type: 'string', pii: true }, country: 'string' },
  });

  it('writes the plan into strata.yaml keeping the comments', async () => {
    const { config } = await initWorkspace(tmp);
    const updated = await writePlan(config, plan);
    expect(updated.plan).toEqual(plan);
    const text = await readFile(config.configPath, 'utf8');
    for (const comment of ['# Strata workspace.', '# Fields the plan does not declare', '# Declared profile traits', '#   email: { type: string, pii: true }', '# lifecycle:', '# moments:', '# rfm:']) {
      expect(text).toContain(comment);
    }
    expect((await loadConfig({ cwd: tmp })).plan).toEqual(plan);
  });

  it('keeps a comment a person wrote on an unchanged event, and adds new events after it', () => {
    const first = replacePlanInText(strataYamlTemplate(), parsePlan({ events: { signup: { properties: { method: 'string' } } } }));
    const annotated = first.replace(/(\n\s+signup:)/, '\n    # the very first event$1');
    const second = replacePlanInText(annotated, parsePlan({ events: { signup: { properties: { method: 'string' } }, login: {} } }));
    expect(second).toContain('# the very first event\n    signup:');
    expect(second.indexOf('signup:')).toBeLessThan(second.indexOf('login:'));
  });
});

describe('openStore', () => {
  it('opens the DuckDB file in the data folder with the plan applied', async () => {
    const { config } = await initWorkspace(tmp);
    const updated = await writePlan(config, plan());
    const store = await openStore(updated);
    try {
      const cols = await store.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'events' ORDER BY column_name`);
      expect(cols.map((r) => r.column_name)).toContain('p_amount');
    } finally {
      await store.close();
    }
    function plan() {
      return parsePlan({ events: { purchase: { properties: { amount: 'number' } } } });
    }
  });
});

describe('a ClickHouse store in strata.yaml', () => {
  it('reads a single node and a cluster, with defaults', () => {
    const single = createConfig({ workspaceDir: tmp, document: { store: { engine: 'clickhouse', url: 'http://localhost:8123/' } } });
    expect(single.store).toEqual({ engine: 'clickhouse', url: 'http://localhost:8123', database: 'strata', cluster: null });
    const cluster = createConfig({
      workspaceDir: tmp,
      document: {
        store: { engine: 'clickhouse', database: 'analytics', username: 'strata', password: 'secret', cluster: { name: 'prod', shards: ['http://ch1:8123', 'http://ch2:8123'] } },
      },
    });
    expect(cluster.store).toEqual({
      engine: 'clickhouse',
      url: 'http://ch1:8123',
      database: 'analytics',
      cluster: { name: 'prod', shards: ['http://ch1:8123', 'http://ch2:8123'] },
      username: 'strata',
      password: 'secret',
    });
  });

  it('names the line and path of every bad setting', async () => {
    const text = [
      'version: 1',
      'store:',
      '  engine: clickhouse',
      '  url: localhost:8123',
      '  path: strata.duckdb',
      '  database: my-db',
      '  cluster:',
      '    name: prod',
      '    shards: [http://ch1:8123, http://ch1:8123]',
      '',
    ].join('\n');
    await writeFile(path.join(tmp, 'strata.yaml'), text);
    const e = (await loadConfig({ cwd: tmp }).catch((x: unknown) => x)) as StrataError;
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.details).toEqual([
      { path: 'strata.yaml:5 store.path', message: 'a setting of the duckdb store, not of clickhouse; clickhouse takes engine, url, database, cluster, username, password' },
      { path: 'strata.yaml:9 store.cluster.shards[1]', message: 'http://ch1:8123 is listed twice; each shard once' },
      { path: 'strata.yaml:4 store.url', message: 'expected the HTTP URL of a ClickHouse server, such as http://localhost:8123' },
      { path: 'strata.yaml:6 store.database', message: 'expected a plain database name (letters, digits and _, not starting with a digit)' },
    ]);
  });

  it('requires a URL on a single node, and one of the shards in a cluster', () => {
    const missing = caught(() => createConfig({ workspaceDir: tmp, document: { store: { engine: 'clickhouse' } } }));
    expect(missing.details).toEqual([{ path: 'strata.yaml store.url', message: 'required: the HTTP URL of the ClickHouse server, such as http://localhost:8123' }]);
    const outside = caught(() =>
      createConfig({ workspaceDir: tmp, document: { store: { engine: 'clickhouse', url: 'http://ch9:8123', cluster: { name: 'prod', shards: ['http://ch1:8123'] } } } }),
    );
    expect(outside.details).toEqual([
      { path: 'strata.yaml store.url', message: 'in cluster mode, expected one of store.cluster.shards (the node holding the metadata tables; default: the first shard)' },
    ]);
    const noShards = caught(() => createConfig({ workspaceDir: tmp, document: { store: { engine: 'clickhouse', cluster: { name: 'prod', shards: [] } } } }));
    expect(noShards.details.map((d) => d.path)).toEqual(['strata.yaml store.cluster.shards', 'strata.yaml store.url']);
  });

  it('describes where the store is', () => {
    const config = createConfig({ workspaceDir: tmp, document: { store: { engine: 'clickhouse', cluster: { name: 'prod', shards: ['http://ch1:8123', 'http://ch2:8123'] } } } });
    expect(storeLocation(config.store)).toBe('http://ch1:8123 database strata (cluster prod, 2 shards)');
  });
});
