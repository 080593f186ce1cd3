/**
 * Output of a benchmark: a plain-text table on stdout for people, and the same figures as
 * JSON in bench/results/<name>.json for tools and for the closing note.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

export type Cell = string | number;

/** A plain-text table: a header, a rule, then the rows. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  // A column of figures (numbers, optionally with a unit, or n/a) is right-aligned.
  const figure = /^(-?[\d.,]+(%| ?[KMG]?i?B)?|n\/a)$/;
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || figure.test(String(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n');
}

export function printTable(title: string, headers: readonly string[], rows: readonly (readonly Cell[])[]): void {
  process.stdout.write(`\n${title}\n${formatTable(headers, rows)}\n`);
}

export function seconds(s: number): string {
  return s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s >= 1 ? s.toFixed(2) : s.toFixed(3);
}

export function ratio(r: number): string {
  return Number.isFinite(r) ? r.toFixed(2) : 'n/a';
}

export function rate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString('en-US');
}

export interface Environment {
  readonly node: string;
  readonly duckdb: string;
  readonly platform: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly startedAt: string;
}

export function environment(duckdbVersion: string): Environment {
  const list = cpus();
  return {
    node: process.version,
    duckdb: duckdbVersion,
    platform: `${platform()} ${release()}`,
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    startedAt: new Date().toISOString(),
  };
}

/** Write bench/results/<name>.json and return its path. */
export function writeResults(name: string, results: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(results, (_, v) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n`);
  return path;
}
