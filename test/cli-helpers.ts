/**
 * Running the CLI in-process for tests: the real commander program, real DuckDB files in
 * temp folders, output captured instead of printed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../src/cli/program.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function cli(cwd: string, ...argv: string[]): Promise<CliRun> {
  return cliWith({ cwd }, ...argv);
}

/** Like `cli`, with a stand-in terminal for progress bars. */
export async function cliWith(options: { cwd: string; progressStream?: NodeJS.WritableStream }, ...argv: string[]): Promise<CliRun> {
  const cwd = options.cwd;
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    ...(options.progressStream ? { progressStream: options.progressStream } : {}),
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    cwd,
    env: {},
  });
  return { code, stdout, stderr };
}

/** Run and require exit 0, returning the parsed --json output. */
export async function cliJson<T = unknown>(cwd: string, ...argv: string[]): Promise<T> {
  const run = await cli(cwd, ...argv, '--json');
  if (run.code !== 0) throw new Error(`strata ${argv.join(' ')} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
