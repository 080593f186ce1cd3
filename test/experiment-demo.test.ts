/**
 * The demo's onboarding-checklist experiment end to end: the demo product exposes stalled
 * users with `$exposure` events (variants by Strata's own hashing), the treatment works on
 * desktop and tablet and not on mobile (src/demo/demo-experiment.ts), and the experiment is
 * added from src/demo/experiments and analysed. Oracles: the simulation's design (an effect
 * on desktop, none on mobile), assignVariant for every exposed user, and the CLI's `experiment
 * add` + `analyze --json` giving the report the demo computed through the library.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, openStore } from '../src/config/index.js';
import { DEMO_ASSIGNMENT, DEMO_EXPERIMENT, EXPOSURE_EVENT, demoExperimentFiles, runDemo, simulateUser } from '../src/demo/index.js';
import type { ExperimentReport } from '../src/experiments/analyze/index.js';
import { assignVariant } from '../src/experiments/design/assign.js';
import { parseExperimentText, validateExperiment } from '../src/experiments/design/definition.js';
import { demoPlan } from '../src/demo/index.js';
import type { AnalyzeOutput } from '../src/cli/commands/experiment-analyze.js';
import { cli, cliJson, withTempDir } from './cli-helpers.js';

const USERS = 6000;
const AS_OF = '2025-06-02';

function group(report: ExperimentReport, metric: string, g: string | null) {
  const c = report.metrics.find((m) => m.key === metric)!.groups.find((x) => x.group === g)!.comparisons[0]!;
  return c;
}

describe('the demo experiment', () => {
  it('matches the assignment the simulation uses', async () => {
    const [file] = await demoExperimentFiles();
    const def = validateExperiment(parseExperimentText(await readFile(file!, 'utf8'), file!).value, demoPlan(), { segmentKeys: [] });
    expect(def.key).toBe(DEMO_EXPERIMENT.key);
    expect([def.seed, def.coverage, def.hashVersion]).toEqual([DEMO_ASSIGNMENT.seed, DEMO_ASSIGNMENT.coverage, DEMO_ASSIGNMENT.hashVersion]);
    expect(def.variants.map((v) => [v.key, v.weight])).toEqual(DEMO_ASSIGNMENT.variants.map((v) => [v.key, v.weight]));
    expect([def.startMs, def.stopMs]).toEqual([DEMO_EXPERIMENT.startMs, DEMO_EXPERIMENT.stopMs]);
  });

  it('exposes only stalled users, once, inside the window, with the hashed variant', () => {
    const events = new Map<string, { event: string; ts: number; properties: Readonly<Record<string, string | number>> | null }[]>();
    for (let i = 0; i < 2000; i++) {
      simulateUser(i, { seed: 3 }, {
        event: (userId, event, ts, properties) => events.set(userId, [...(events.get(userId) ?? []), { event, ts, properties }]),
        profile: () => undefined,
      });
    }
    let exposed = 0;
    for (const [user, list] of events) {
      for (let k = 1; k < list.length; k++) expect(list[k]!.ts).toBeGreaterThan(list[k - 1]!.ts);
      const exposures = list.filter((e) => e.event === EXPOSURE_EVENT);
      if (exposures.length === 0) continue;
      exposed++;
      expect(exposures.length).toBe(1);
      const x = exposures[0]!;
      expect(x.ts).toBeGreaterThanOrEqual(DEMO_EXPERIMENT.startMs);
      expect(x.ts).toBeLessThan(DEMO_EXPERIMENT.stopMs);
      expect(x.properties).toEqual({ experiment: DEMO_EXPERIMENT.key, variant: assignVariant(DEMO_ASSIGNMENT, user).variant });
      // Stalled: the onboarding steps before the first visit back started onboarding and
      // stopped short of the core task (the simulation's onboarding chain).
      const chain = list.slice(0, list.findIndex((e) => e.event === 'page_viewed')).map((e) => e.event);
      expect(chain).toContain('onboarding_started');
      expect(chain).not.toContain('core_task_completed');
    }
    expect(exposed).toBeGreaterThan(100);
  });

  it('finds the effect on desktop and none on mobile, through the library and the CLI', async () => {
    await withTempDir('strata-exp-demo-', async (root) => {
      const dir = path.join(root, 'demo');
      const demo = await runDemo({ dir, users: USERS, seed: 42, reportLimit: 5 });
      const byDevice = demo.experiment.byDevice;

      // Every exposed user got the variant Strata's hashing gives them, once.
      const config = await loadConfig({ cwd: dir, workspace: dir });
      const store = await openStore(config);
      try {
        const rows = await store.query(`SELECT user_id, p_variant AS variant, count(*) AS n FROM events WHERE event = '$exposure' GROUP BY user_id, p_variant`);
        expect(rows.length).toBeGreaterThan(300);
        for (const r of rows) {
          expect(Number(r.n)).toBe(1);
          expect(r.variant).toBe(assignVariant(DEMO_ASSIGNMENT, String(r.user_id)).variant);
        }
      } finally {
        await store.close();
      }

      expect(byDevice.multipleExposures).toBe(0);
      for (const s of byDevice.srm) expect(s.ok && s.flagged).toBe(false);
      expect(byDevice.groups).toEqual(expect.arrayContaining(['desktop', 'mobile']));
      const desktop = group(byDevice, 'activated', 'desktop');
      const mobile = group(byDevice, 'activated', 'mobile');
      expect(desktop.result.ok && desktop.result.effect).toBeGreaterThan(0.1);
      expect(desktop.adjusted!.pValue).toBeLessThan(byDevice.alpha);
      expect(desktop.significant).toBe(true);
      expect(mobile.adjusted!.pValue).toBeGreaterThanOrEqual(byDevice.alpha);
      expect(mobile.significant).toBe(false);
      expect(demo.experiment.overall.recommendation.decision).toBe('ship');

      // The same through the CLI: add is unchanged (the demo added it), analyze gives the same report.
      const add = await cli(dir, 'experiment', 'add', path.join('experiments', `${DEMO_EXPERIMENT.key}.yaml`));
      expect(add.code).toBe(0);
      const viaCli = await cliJson<ExperimentReport>(dir, 'experiment', 'analyze', DEMO_EXPERIMENT.key, '--as-of', AS_OF, '--by', 'device', '--json');
      expect(viaCli).toEqual(JSON.parse(JSON.stringify(byDevice)));
      const human = await cli(dir, 'experiment', 'analyze', DEMO_EXPERIMENT.key, '--as-of', AS_OF, '--by', 'device');
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/Recommendation: SHIP checklist/);
      expect(human.stdout).toMatch(/^desktop +checklist/m);

      // `segments:` in the definition: without --by, one breakdown per listed segment (a new version).
      const yaml = await readFile(path.join(dir, 'experiments', `${DEMO_EXPERIMENT.key}.yaml`), 'utf8');
      await writeFile(path.join(dir, 'experiments', `${DEMO_EXPERIMENT.key}.yaml`), `${yaml}segments: [enterprise-prospects]\n`);
      expect((await cli(dir, 'experiment', 'add', 'experiments')).code).toBe(0);
      const withSegments = await cliJson<AnalyzeOutput>(dir, 'experiment', 'analyze', DEMO_EXPERIMENT.key, '--as-of', AS_OF, '--json');
      expect(withSegments.version).toBe(2);
      expect(withSegments.breakdown).toBeNull();
      expect(withSegments.recommendation).toEqual(demo.experiment.overall.recommendation);
      expect(withSegments.segmentBreakdowns!.map((b) => [b.breakdown, [...b.groups].sort()])).toEqual([['segment enterprise-prospects', ['member', 'non-member']]]);
    });
  }, 180_000);
});
