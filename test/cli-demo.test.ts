/**
 * `strata demo` through the CLI with a small population: the same seed gives the same
 * product and the same segments, a different seed a different one, and every example
 * segment is non-trivial (some members, not everyone).
 */
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DemoResult } from '../src/demo/index.js';
import { demoSegmentFiles } from '../src/demo/index.js';
import { PassThrough } from 'node:stream';
import { cli, cliJson, cliWith, withTempDir } from './cli-helpers.js';

const USERS = '1500';

function fingerprint(r: DemoResult) {
  return {
    events: r.generated.events,
    eventCounts: r.generated.eventCounts,
    planCounts: r.generated.planCounts,
    stored: r.ingest.events.stored,
    population: r.population,
    sizes: r.segments.map((s) => [s.key, s.size]),
    pairs: r.overlap.pairs.map((p) => [p.a, p.b, p.intersection]),
  };
}

describe('strata demo', () => {
  it('is deterministic for a seed, and its segments are neither empty nor everyone', async () => {
    await withTempDir('strata-demo-', async (root) => {
      const a = await cliJson<DemoResult>(root, 'demo', '--users', USERS, '--seed', '7', '--dir', 'a');
      const b = await cliJson<DemoResult>(root, 'demo', '--users', USERS, '--seed', '7', '--dir', 'b');
      const c = await cliJson<DemoResult>(root, 'demo', '--users', USERS, '--seed', '8', '--dir', 'c');

      expect(fingerprint(b)).toEqual(fingerprint(a));
      expect(fingerprint(c).eventCounts).not.toEqual(fingerprint(a).eventCounts);

      // Every generated event is valid against the demo plan and unique.
      expect(a.ingest.events.stored).toBe(a.generated.events);
      expect(a.ingest.events.rejected).toBe(0);
      expect(a.ingest.profiles.stored).toBe(1500);
      expect(a.population).toBe(1500);

      const files = await demoSegmentFiles();
      expect(a.segments).toHaveLength(files.length);
      for (const s of a.segments) {
        expect(s.size, `${s.key} has members`).toBeGreaterThan(0);
        expect(s.size, `${s.key} is not everyone`).toBeLessThan(a.population);
        expect(s.rationale.length).toBeGreaterThan(40);
      }
      expect(a.reports.every((r) => r.features.length > 0)).toBe(true);
      // One segment per unordered pair.
      expect(a.overlap.pairs).toHaveLength((files.length * (files.length - 1)) / 2);

      // The workspace is usable with the ordinary commands afterwards.
      const ws = path.join(root, 'a');
      expect((await readdir(path.join(ws, 'segments'))).length).toBe(files.length);
      const list = await cliJson<{ key: string; lastSnapshot: { size: number } | null }[]>(ws, 'segment', 'list');
      expect(Object.fromEntries(list.map((l) => [l.key, l.lastSnapshot?.size]))).toEqual(Object.fromEntries(a.segments.map((s) => [s.key, s.size])));
    });
  });

  it('prints a readable summary and replaces an earlier demo, but not other folders', async () => {
    await withTempDir('strata-demo-', async (root) => {
      const first = await cli(root, 'demo', '--users', '300', '--dir', 'd');
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('Segments as of 2025-06-02T00:00:00.000Z');
      expect(first.stdout).toContain('Overlap (Jaccard');
      expect(first.stdout).toContain('What distinguishes each segment');
      expect(first.stdout).toMatch(/power-users\s+Power users\s+engagement\s+\d/);

      const again = await cli(root, 'demo', '--users', '300', '--dir', 'd');
      expect(again.code).toBe(0);
      expect(existsSync(path.join(root, 'd', 'strata.yaml'))).toBe(true);

      await writeFile(path.join(root, 'precious.txt'), 'keep me');
      const refused = await cli(root, 'demo', '--users', '300', '--dir', '.');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toBe(`strata: ${root} is not empty and was not created by strata demo: choose another folder with --dir, or remove this one\n`);
      expect(existsSync(path.join(root, 'precious.txt'))).toBe(true);
    });
  });

  it('draws progress bars on a terminal, and none with --json', async () => {
    await withTempDir('strata-demo-', async (root) => {
      const drawn = (stream: PassThrough) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        return () => Buffer.concat(chunks).toString('utf8');
      };
      const tty = new PassThrough();
      const seen = drawn(tty);
      expect((await cliWith({ cwd: root, progressStream: tty }, 'demo', '--users', '200', '--dir', 'p')).code).toBe(0);
      expect(seen()).toContain('generating');

      const quiet = new PassThrough();
      const none = drawn(quiet);
      expect((await cliWith({ cwd: root, progressStream: quiet }, 'demo', '--users', '200', '--dir', 'p', '--json')).code).toBe(0);
      expect(none()).toBe('');
    });
  });

  it('rejects a bad --users', async () => {
    await withTempDir('strata-demo-', async (root) => {
      const run = await cli(root, 'demo', '--users', 'many');
      expect(run.code).toBe(2);
      expect(run.stderr).toBe('strata: --users: expected a whole number of at least 1, got "many"\n');
    });
  });
});
