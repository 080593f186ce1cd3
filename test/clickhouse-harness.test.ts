/**
 * The ClickHouse test servers: a missing binary fails under CI with a message that says
 * what to install, and elsewhere skips with a loud notice; a found binary starts a real
 * single node and a real two-shard cluster whose nodes both know the cluster.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clickhouseAvailable, findClickHouseBinary, startClickHouse } from './support/clickhouse-server.js';

const saved = { server: process.env.CLICKHOUSE_SERVER, ci: process.env.CI };
afterEach(() => {
  for (const [key, value] of [['CLICKHOUSE_SERVER', saved.server], ['CI', saved.ci]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  vi.restoreAllMocks();
});

describe('without a ClickHouse binary', () => {
  it('fails under CI, naming the package to install', () => {
    process.env.CLICKHOUSE_SERVER = '/nonexistent/clickhouse-server';
    process.env.CI = 'true';
    expect(findClickHouseBinary()).toBeNull();
    expect(() => clickhouseAvailable()).toThrow(/CI=true: ClickHouse server binary not found.*apt-get install -y clickhouse-server/);
  });

  it('skips with a loud notice elsewhere', () => {
    process.env.CLICKHOUSE_SERVER = '/nonexistent/clickhouse-server';
    delete process.env.CI;
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(clickhouseAvailable()).toBe(false);
    expect(write.mock.calls.map((c) => String(c[0])).join('')).toMatch(/!!! SKIPPING ClickHouse tests/);
  });
});

describe.skipIf(!clickhouseAvailable())('with the machine binary', () => {
  it('starts a two-shard cluster on loopback whose nodes both list the two shards', async () => {
    const ch = await startClickHouse({ shards: 2 });
    try {
      expect(ch.urls).toHaveLength(2);
      for (const url of ch.urls) {
        const res = await fetch(`${url}/?query=${encodeURIComponent(`SELECT count() FROM system.clusters WHERE cluster = '${ch.cluster}'`)}`);
        expect((await res.text()).trim()).toBe('2');
      }
    } finally {
      await ch.stop();
    }
    for (const url of ch.urls) await expect(fetch(`${url}/?query=SELECT%201`)).rejects.toThrow();
  });
});
