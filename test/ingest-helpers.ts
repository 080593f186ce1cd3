/**
 * Shared fixtures for the ingest tests: a temporary folder with a real DuckDB file, files
 * written into it, and the tracking plan the tests ingest against.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parsePlan, type TrackingPlan } from '../src/schema/tracking-plan.js';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.js';

export const TEST_PLAN: TrackingPlan = parsePlan({
  events: {
    purchase: { properties: { amount: 'number', currency: 'string', gift: 'boolean', shipped_at: 'timestamp' } },
    signup: { properties: { channel: 'string' } },
    page_view: { properties: { path: 'string', amount: 'number' } },
  },
  traits: { plan: 'string', age: 'number', vip: 'boolean', signup_at: 'timestamp' },
});

export interface Sandbox {
  readonly dir: string;
  readonly store: DuckDbStore;
  /** Write a file (gzipped when the name ends in .gz) and return its path. */
  file(name: string, content: string): string;
  rejectsPath(name?: string): string;
  /** The rejects file as parsed JSON lines; [] when it was not written. */
  rejects(name?: string): { file: string; line: number; reason: string; row: Record<string, unknown> }[];
  rows(sql: string): Promise<Record<string, unknown>[]>;
  /** Reopen the store (to see only what was committed). */
  reopen(): Promise<DuckDbStore>;
  close(): Promise<void>;
}

export async function sandbox(): Promise<Sandbox> {
  const dir = mkdtempSync(path.join(tmpdir(), 'strata-ingest-test-'));
  const dbPath = path.join(dir, 'store.duckdb');
  let store = await DuckDbStore.open({ path: dbPath, threads: 2 });
  const box: Sandbox = {
    dir,
    get store() {
      return store;
    },
    file(name, content) {
      const p = path.join(dir, name);
      writeFileSync(p, name.endsWith('.gz') ? gzipSync(content) : content);
      return p;
    },
    rejectsPath(name = 'rejects.jsonl') {
      return path.join(dir, name);
    },
    rejects(name = 'rejects.jsonl') {
      const p = path.join(dir, name);
      if (!existsSync(p)) return [];
      return readFileSync(p, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l));
    },
    rows: (sql) => store.query(sql),
    async reopen() {
      await store.close();
      store = await DuckDbStore.open({ path: dbPath, threads: 2 });
      return store;
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return box;
}

/** Epoch ms of an ISO instant, for expected values. */
export const ms = (iso: string): number => Date.parse(iso);
