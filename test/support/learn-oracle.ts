/**
 * Runs a Python oracle (Debian's numpy/sklearn in /usr/bin/python3) on arrays the test writes
 * to a temp folder as raw little-endian files: X.f64 (row-major n×p), y.u8, s.f64 (scores).
 * The script sees N, P and DIR and loads them with numpy.fromfile; it prints one JSON value.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mulberry32 } from '../../src/models/learn/gbt.js';

export const PYTHON = '/usr/bin/python3';

export function pythonHas(modules: readonly string[]): boolean {
  try {
    execFileSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface OracleInput {
  readonly x?: Float64Array;
  readonly n: number;
  readonly p?: number;
  readonly y?: Uint8Array;
  readonly scores?: Float64Array;
}

export function runOracle<T>(input: OracleInput, body: string): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'strata-learn-'));
  try {
    if (input.x) writeFileSync(path.join(dir, 'X.f64'), Buffer.from(input.x.buffer, input.x.byteOffset, input.x.byteLength));
    if (input.y) writeFileSync(path.join(dir, 'y.u8'), Buffer.from(input.y.buffer, input.y.byteOffset, input.y.byteLength));
    if (input.scores) writeFileSync(path.join(dir, 's.f64'), Buffer.from(input.scores.buffer, input.scores.byteOffset, input.scores.byteLength));
    const prelude = [
      'import json, os, sys, warnings',
      'import numpy as np',
      'warnings.simplefilter("ignore")',
      `N, P, DIR = ${input.n}, ${input.p ?? 0}, ${JSON.stringify(dir)}`,
      "X = np.fromfile(os.path.join(DIR, 'X.f64'), dtype='<f8').reshape(N, P) if os.path.exists(os.path.join(DIR, 'X.f64')) else None",
      "y = np.fromfile(os.path.join(DIR, 'y.u8'), dtype=np.uint8).astype(np.int64) if os.path.exists(os.path.join(DIR, 'y.u8')) else None",
      "s = np.fromfile(os.path.join(DIR, 's.f64'), dtype='<f8') if os.path.exists(os.path.join(DIR, 's.f64')) else None",
      'def out(v): print(json.dumps(v))',
    ].join('\n');
    const stdout = execFileSync(PYTHON, ['-c', `${prelude}\n${body}`], { encoding: 'utf8', maxBuffer: 1 << 28 });
    return JSON.parse(stdout) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Standard normal draws (Box–Muller) from a seeded generator. */
export function normals(rand: () => number, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const u = 1 - rand();
    out[k] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  }
  return out;
}

/**
 * A synthetic classification set: n rows × p standard-normal features (feature j scaled by
 * 1 + j/4 and shifted by j so standardization matters), labels drawn from a logistic model
 * (linear) or a nonlinear one (interactions, thresholds, a sine) on the first features.
 */
export function syntheticData(n: number, p: number, seed: number, shape: 'linear' | 'nonlinear'): { x: Float64Array; y: Uint8Array } {
  const rand = mulberry32(seed);
  const z = normals(rand, n * p);
  const x = new Float64Array(n * p);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = (j: number) => z[i * p + j]!;
    let f: number;
    if (shape === 'linear') {
      f = -0.5;
      for (let j = 0; j < p; j++) f += ((j % 3) - 1) * (0.8 / (1 + j / 3)) * r(j);
    } else {
      f = -0.3 + 1.5 * r(0) * r(1) + (r(2) > 0.5 ? 1.2 : -0.8) + 1.5 * Math.sin(2 * r(3)) + (p > 4 ? 0.5 * r(4) * r(4) - 0.5 : 0);
    }
    for (let j = 0; j < p; j++) x[i * p + j] = r(j) * (1 + j / 4) + j;
    y[i] = rand() < 1 / (1 + Math.exp(-f)) ? 1 : 0;
  }
  return { x, y };
}
