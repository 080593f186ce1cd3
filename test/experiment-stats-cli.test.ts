/**
 * `strata experiment stats` and `strata experiment power` through the real CLI.
 * Oracles: scipy.stats.ttest_ind_from_stats (via the library function it prints, whose own test
 * checks it against scipy: src/experiments/stats/request.test.ts) — here the CLI output is
 * compared with runStatsRequest on the same JSON; Chow, Shao & Wang (2008) §4.2: 0.65 against
 * 0.85 at alpha 0.05, power 0.8 needs 70 per group; the sample size of means by the formula
 * n = (z(0.975) + z(0.8))² 2σ²/δ² per arm with z from scipy.stats.norm.ppf (values written
 * out: 1.959963984540054, 0.8416212335729143); additionalUsersForPower for the 2-arm
 * mid-experiment case.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { additionalUsersForPower } from '../src/experiments/stats/power.js';
import { runStatsRequest } from '../src/experiments/stats/request.js';
import { cli, withTempDir } from './cli-helpers.js';

const REQUEST = {
  metric: { type: 'mean' },
  difference: 'absolute',
  variants: [
    { name: 'control', n: 3407, sum: 1396.87, sumSquares: 52377.9767 },
    { name: 'checklist', n: 3350, sum: 1580.2, sumSquares: 50001.3 },
  ],
};

async function withStdin(cwd: string, input: string, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd, env: {}, stdin: Readable.from([input]) });
  return { code, stdout, stderr };
}

describe('strata experiment stats', () => {
  it('reads a file and prints the same numbers as the library, as JSON and as a table', async () => {
    await withTempDir('strata-exp-stats-', async (dir) => {
      await writeFile(path.join(dir, 'req.json'), JSON.stringify(REQUEST));
      const json = await cli(dir, 'experiment', 'stats', 'req.json', '--json');
      expect(json.code, json.stderr).toBe(0);
      const out = JSON.parse(json.stdout);
      expect(out).toEqual(JSON.parse(JSON.stringify(runStatsRequest(REQUEST))));
      expect(Object.keys(out.treatments[0])).toEqual(expect.arrayContaining(['name', 'effect', 'ci', 'pValue', 'chanceToWin', 'risk', 'se']));
      expect(typeof out.srmPValue).toBe('number');
      const table = await cli(dir, 'experiment', 'stats', 'req.json');
      expect(table.code).toBe(0);
      expect(table.stdout).toContain('frequentist, absolute difference, two-sided, alpha 0.05');
      expect(table.stdout).toMatch(/checklist\s+0\.4100\s+0\.4717\s+0\.0617\s+\[/);
    });
  });

  it('reads stdin with -, and reports bad JSON and bad fields with the path', async () => {
    await withTempDir('strata-exp-stats-', async (dir) => {
      const run = await withStdin(dir, JSON.stringify({ ...REQUEST, method: 'bayesian' }), 'experiment', 'stats', '-', '--json');
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).treatments[0].chanceToWin).toBeGreaterThan(0.5);
      const bad = await withStdin(dir, '{"metric": ', 'experiment', 'stats', '-');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/stdin: not valid JSON/);
      const wrong = await withStdin(dir, JSON.stringify({ ...REQUEST, variants: [REQUEST.variants[0], { name: 'b', n: 5, sum: 1, sumSquares: 'x' }] }), 'experiment', 'stats', '-');
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain('stdin: the stats request is invalid: $.variants[1].sumSquares: expected a number, got "x"');
      const missing = await cli(dir, 'experiment', 'stats', 'nope.json');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/no such file: nope\.json/);
    });
  });

  it('help fits 80 columns and has examples', async () => {
    for (const sub of ['stats', 'power']) {
      const help = await cli(process.cwd(), 'experiment', sub, '--help');
      const text = help.stdout + help.stderr;
      expect(text).toContain('Examples:');
      for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    }
  });
});

describe('strata experiment power', () => {
  it('gives 70 per group for 0.65 against 0.85 (Chow, Shao & Wang 2008) and prints the formula', async () => {
    const run = await cli(process.cwd(), 'experiment', 'power', '--baseline', '0.65', '--mde', String(0.85 / 0.65 - 1), '--json');
    expect(run.code, run.stderr).toBe(0);
    const plan = JSON.parse(run.stdout);
    expect(plan.sampleSize).toEqual({ perArm: [70, 70], total: 140 });
    const text = await cli(process.cwd(), 'experiment', 'power', '--baseline', '65%', '--mde', String(0.85 / 0.65 - 1));
    expect(text.stdout).toContain('N = (z(1-a/2) + z(1-b))^2 * (vA/wA + vB/wB) / delta^2');
    for (const line of text.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  it('sizes a mean metric with three arms, the duration, and the MDE of a number of users', async () => {
    const plan = JSON.parse((await cli(process.cwd(), 'experiment', 'power', '--metric', 'mean', '--baseline', '42', '--sd', '30', '--mde', '0.03', '--weights', '1,1,1', '--daily-users', '2000', '--coverage', '0.5', '--json')).stdout);
    // Each pair splits 1:1, so per arm n = (z(0.975) + z(0.8))² 2σ²/δ² · (1/2) · 2 = (z + z)² 2σ²/δ².
    const z = 1.959963984540054 + 0.8416212335729143;
    const perArm = Math.ceil((z * z * 2 * 900) / (0.03 * 42) ** 2);
    expect(plan.sampleSize.perArm).toEqual([perArm, perArm, perArm]);
    expect(plan.duration.days).toBe(Math.ceil((3 * perArm) / 1000));
    const mde = JSON.parse((await cli(process.cwd(), 'experiment', 'power', '--metric', 'mean', '--baseline', '42', '--sd', '30', '--users', '20000', '--json')).stdout);
    expect(mde.mdeForUsers.absolute).toBeCloseTo(z * 30 * Math.sqrt(1 / 10000 + 1 / 10000), 12);
  });

  it('answers how many more users mid-experiment (two arms: additionalUsersForPower)', async () => {
    const plan = JSON.parse((await cli(process.cwd(), 'experiment', 'power', '--baseline', '0.12', '--mde', '5%', '--current-n', '9000,9100', '--observed', '0.11', '--json')).stdout);
    const pB = 0.11 * 1.05;
    const ref = additionalUsersForPower({ nControl: 9000, nTreatment: 9100, varianceControl: 0.11 * 0.89, varianceTreatment: pB * (1 - pB) }, pB - 0.11, { alpha: 0.05, power: 0.8 });
    expect(plan.more.additionalPerArm).toEqual([...ref.additionalPerArm]);
    expect(plan.more.currentPower).toBeCloseTo(ref.currentPower, 14);
  });

  it('names the option at fault', async () => {
    const none = await cli(process.cwd(), 'experiment', 'power', '--baseline', '0.1');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--mde: give the relative MDE/);
    const bad = await cli(process.cwd(), 'experiment', 'power', '--baseline', '0.1', '--mde', 'x');
    expect(bad.stderr).toMatch(/--mde: expected a number/);
    const rate = await cli(process.cwd(), 'experiment', 'power', '--baseline', '1.5', '--mde', '0.1');
    expect(rate.stderr).toMatch(/--baseline: a conversion rate strictly between 0 and 1/);
  });
});
