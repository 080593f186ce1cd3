/**
 * Real ClickHouse servers for tests and benchmarks, started from the machine's binary on
 * loopback ports in a temporary folder: a single node, or a cluster of N one-replica shards
 * (N processes on one machine) described in every node's `remote_servers` as cluster
 * `strata`. Works with Debian's clickhouse-server 18.16 (`clickhouse-server`) and with
 * current releases (`clickhouse server`).
 *
 * Without a binary, `clickhouseOrSkip` tells the caller to skip with a loud notice, except
 * under CI (CI=true), where the missing binary is an error: CI installs it (.ci/run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const CLUSTER_NAME = 'strata';

export interface LocalClickHouse {
  /** HTTP URL of each node; node 0 is where queries are sent. */
  readonly urls: readonly string[];
  /** The cluster name in `remote_servers` (cluster mode only). */
  readonly cluster: string | null;
  /**
   * Rewrite every node's `remote_servers` to list the first `count` nodes as the shards of
   * the cluster (adding or removing a shard), and wait until every node has reloaded it.
   */
  listShards(count: number): Promise<void>;
  stop(): Promise<void>;
}

interface Binary {
  readonly command: string;
  readonly args: readonly string[];
}

/**
 * The server binary: CLICKHOUSE_SERVER when set (and nothing else then), else Debian's,
 * else a current release's single binary (`clickhouse server`).
 */
export function findClickHouseBinary(): Binary | null {
  const explicit = process.env.CLICKHOUSE_SERVER;
  if (explicit) {
    if (!existsSync(explicit)) return null;
    return path.basename(explicit) === 'clickhouse' ? { command: explicit, args: ['server'] } : { command: explicit, args: [] };
  }
  for (const p of ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server']) if (existsSync(p)) return { command: p, args: [] };
  for (const p of ['/usr/bin/clickhouse', '/usr/local/bin/clickhouse']) if (existsSync(p)) return { command: p, args: ['server'] };
  return null;
}

const MISSING =
  'ClickHouse server binary not found (looked for $CLICKHOUSE_SERVER, /usr/sbin/clickhouse-server, /usr/bin/clickhouse). ' +
  'Install Debian\'s package: apt-get update && apt-get install -y clickhouse-server (.ci/run does this).';

/**
 * Whether ClickHouse tests can run here. Under CI a missing binary throws (the suite must
 * not pass without its engines); elsewhere it prints a loud notice once and returns false.
 */
export function clickhouseAvailable(): boolean {
  if (findClickHouseBinary() !== null) return true;
  if (process.env.CI) throw new Error(`CI=true: ${MISSING}`);
  if (!warned) {
    warned = true;
    process.stderr.write(`\n!!! SKIPPING ClickHouse tests: ${MISSING}\n\n`);
  }
  return false;
}
let warned = false;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface NodePorts {
  readonly http: number;
  readonly tcp: number;
}

function nodeConfig(dir: string, ports: NodePorts, shards: readonly NodePorts[] | null): string {
  const remote =
    shards === null
      ? ''
      : `<remote_servers><${CLUSTER_NAME}>${shards
          .map((s) => `<shard><replica><host>127.0.0.1</host><port>${s.tcp}</port></replica></shard>`)
          .join('')}</${CLUSTER_NAME}></remote_servers>`;
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog><console>0</console></logger>
  <http_port>${ports.http}</http_port>
  <tcp_port>${ports.tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>64</max_concurrent_queries>
  ${remote}
</yandex>
`;
}

const USERS = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

async function waitReady(url: string, child: ChildProcess, dir: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/?query=SELECT%201`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = ['server.err.log', 'stderr'].map((f) => path.join(dir, f)).filter(existsSync).map((f) => readFileSync(f, 'utf8').slice(-2000)).join('\n');
  throw new Error(`ClickHouse at ${url} did not start (exit ${child.exitCode ?? 'none'}):\n${log}`);
}

/**
 * Start `shards` servers (1: a single node, no cluster). Stop them with `stop()`. A port
 * taken between choosing it and the server binding it (other test files start servers
 * too) costs a retry with fresh ports.
 */
export async function startClickHouse(options: StartOptions = {}): Promise<LocalClickHouse> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (e) {
      if (attempt >= 4 || !/Address already in use/.test((e as Error).message)) throw e;
    }
  }
}

export interface StartOptions {
  /** Servers to start (1: a single node, no cluster). */
  readonly shards?: number;
  /** How many of them the cluster lists at first (default: all); `listShards` changes it. */
  readonly listed?: number;
}

async function startOnce(options: StartOptions): Promise<LocalClickHouse> {
  const binary = findClickHouseBinary();
  if (binary === null) throw new Error(MISSING);
  const n = options.shards ?? 1;
  const root = mkdtempSync(path.join(tmpdir(), 'strata-ch-'));
  const ports: NodePorts[] = [];
  for (let i = 0; i < n; i++) ports.push({ http: await freePort(), tcp: await freePort() });
  const children: ChildProcess[] = [];
  // The data is thrown away with the folder, so there is nothing to shut down cleanly; a
  // graceful stop of 18.16 waits about 8 s for idle connections.
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < n; i++) {
      const dir = path.join(root, `node${i}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'users.xml'), USERS);
      writeFileSync(path.join(dir, 'config.xml'), nodeConfig(dir, ports[i]!, n > 1 ? ports.slice(0, options.listed ?? n) : null));
      const child = spawn(binary.command, [...binary.args, `--config-file=${path.join(dir, 'config.xml')}`], {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.on('data', (b: Buffer) => writeFileSync(path.join(dir, 'stderr'), b, { flag: 'a' }));
      children.push(child);
    }
    const urls = ports.map((p) => `http://127.0.0.1:${p.http}`);
    await Promise.all(urls.map((u, i) => waitReady(u, children[i]!, path.join(root, `node${i}`))));
    const listShards = async (count: number) => {
      for (let i = 0; i < n; i++) {
        const dir = path.join(root, `node${i}`);
        writeFileSync(path.join(dir, 'config.xml'), nodeConfig(dir, ports[i]!, ports.slice(0, count)));
      }
      // The servers reload changed configuration files by themselves, every few seconds.
      const query = encodeURIComponent(`SELECT count() FROM system.clusters WHERE cluster = '${CLUSTER_NAME}'`);
      const until = Date.now() + 30_000;
      for (const url of urls) {
        while ((await (await fetch(`${url}/?query=${query}`)).text()).trim() !== String(count)) {
          if (Date.now() > until) throw new Error(`${url} did not reload remote_servers with ${count} shards`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    return { urls, cluster: n > 1 ? CLUSTER_NAME : null, listShards, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
