/**
 * `strata demo` through the CLI with a small population: the same seed gives the same
 * product, segments and analyses, a different seed a different one, and every example
 * segment is non-trivial (some members, not everyone). The analyses are held to
 * independent SQL over the demo's store (step 1 of the funnel, purchasers, core-action
 * users, cohort sizes), to each other (lifecycle report against the flow's column totals),
 * and to the commands the "Explore it" hints name, run on the demo workspace.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FunnelResult } from '../src/analysis/funnel/index.js';
import type { LifecycleReport } from '../src/analysis/lifecycle/index.js';
import type { MomentsReport } from '../src/analysis/moments/index.js';
import type { RetentionResult } from '../src/analysis/retention/index.js';
import type { RfmResult } from '../src/analysis/rfm/index.js';
import type { UserProfile } from '../src/analysis/user/index.js';
import { loadConfig, openStore } from '../src/config/index.js';
import type { DemoResult } from '../src/demo/index.js';
import type { FairnessAuditResult } from '../src/governance/fairness/index.js';
import { DEMO_ANALYSIS_SETTINGS, DEMO_END_MS, demoSegmentFiles } from '../src/demo/index.js';
import { MS } from '../src/time/time.js';
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
    analyses: rounded(r.analyses),
    models: rounded(r.models),
    fairness: rounded({ segments: r.fairness.segments, subjects: r.fairness.audit.subjects.map((s) => ({ ...s, auditId: null })) }),
    exampleUser: r.exampleUser,
  };
}

/**
 * Numbers to 10 significant digits: sums of amounts (RFM's monetary means) are floating
 * point sums whose last bits depend on the order DuckDB's threads add them in.
 */
function rounded<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(10)) : v))) as T;
}

/** A TIMESTAMP literal for DuckDB (the store keeps UTC instants as TIMESTAMP). */
const ts = (ms: number) => `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`;

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
      // The example segments, the segments that read the models' scores, and the targeting segments.
      expect((await readdir(path.join(ws, 'segments'))).length).toBe(files.length + a.models.segments.length + a.fairness.segments.length);
      const list = await cliJson<{ key: string; lastSnapshot: { size: number } | null }[]>(ws, 'segment', 'list');
      expect(Object.fromEntries(list.map((l) => [l.key, l.lastSnapshot?.size]))).toEqual(
        Object.fromEntries([...a.segments, ...a.models.segments, ...a.fairness.segments].map((s) => [s.key, s.size])),
      );

      // Consent: the $consent records were ingested with the rest, and a targeting segment holds
      // only users whose latest record (read independently by the demo) grants its purpose.
      expect(a.generated.eventCounts.$consent).toBeGreaterThan(1500);
      expect(a.fairness.segments.map((s) => [s.key, s.purpose])).toEqual([
        ['ai-assist-promo', 'marketing'],
        ['whats-new-tour', 'personalization'],
      ]);
      for (const s of a.fairness.segments) {
        expect(s.size, s.key).toBeGreaterThan(0);
        expect(s.consented, s.key).toBe(s.size);
      }
      expect(a.fairness.consentFiltered).toBe(true);
      // The fairness audit over the targeting segments flags the campaign keyed on AI-assist use
      // (the generator makes younger users use it more): its lowest-band rate is under 4/5 of the highest's.
      const audit = a.fairness.audit;
      expect(audit.subjects.map((s) => s.key)).toEqual(['ai-assist-promo', 'whats-new-tour']);
      expect(audit.flagged).toContain('segment:ai-assist-promo');
      const age = audit.subjects[0]!.attributes.find((x) => x.attribute === 'age_band')!;
      expect(age.flagged).toBe(true);
      expect(age.ratio!.value).toBeLessThan(0.5);
      expect(age.highest).toBe('18-24');
      // The same audit from the command, on the stored snapshots.
      const again = await cliJson<typeof audit>(ws, 'audit', 'fairness', '--targeting', '--as-of', '2025-06-02', '--no-store');
      expect(again.subjects.map((s) => [s.key, s.flagged, s.attributes[0]!.ratio?.value])).toEqual(audit.subjects.map((s) => [s.key, s.flagged, s.attributes[0]!.ratio?.value]));
    });
    // Three demos: well over the default timeout when the machine is busy.
  }, 300_000);

  it('trains, evaluates and scores its models; the score segments are the stored scores filtered by hand; personas and drivers cover their users', async () => {
    await withTempDir('strata-demo-models-', async (root) => {
      const r = await cliJson<DemoResult>(root, 'demo', '--users', USERS, '--seed', '5', '--dir', 'w');
      const m = r.models;
      expect(m.models.map((x) => [x.key, x.kind, x.family])).toEqual([
        ['churn-risk', 'churn', 'gbt'],
        ['upgrade-propensity', 'propensity', 'logistic'],
      ]);
      for (const x of m.models) {
        // Churn and upgrades follow engagement in the simulation: the holdout ranks them well above chance.
        expect(x.holdout!.auc!, x.key).toBeGreaterThan(0.75);
        expect(x.training.rows).toBeGreaterThan(x.holdout!.rows);
        expect(x.scored.users).toBeGreaterThan(0);
      }
      const ws = path.join(root, 'w');
      const config = await loadConfig({ cwd: ws, workspace: ws });
      const store = await openStore(config);
      try {
        const count = async (sql: string) => Number((await store.query(sql))[0]!.n);
        const run = (model: string) => `(SELECT max(run_id) FROM score_runs WHERE model_key = '${model}')`;
        const sizes = Object.fromEntries(m.segments.map((s) => [s.key, s.size]));
        // The segments' members are the stored scores filtered as the definitions say (independent SQL).
        expect(sizes['churn-risk-paying']).toBe(
          await count(`SELECT count(*) AS n FROM model_scores s JOIN profiles p USING (user_id) WHERE s.run_id = ${run('churn-risk')} AND p.t_plan IN ('pro', 'team') AND s.score >= 0.2`),
        );
        expect(sizes['ready-to-upgrade']).toBe(await count(`SELECT count(*) AS n FROM model_scores WHERE run_id = ${run('upgrade-propensity')} AND score >= 0.3`));
        expect(sizes['top-churn-decile']).toBe(await count(`SELECT count(*) AS n FROM model_scores WHERE run_id = ${run('churn-risk')} AND percentile > 90`));
        expect(sizes['top-churn-decile']).toBeGreaterThan(0);
        // Every active user has exactly one persona, and the cluster run holds them.
        const personas = m.personas.personas.reduce((sum, p) => sum + p.size, 0);
        expect(personas).toBe(m.personas.population.users);
        expect(await count(`SELECT count(*) AS n FROM model_scores WHERE run_id = ${run('personas')} AND cluster IS NOT NULL`)).toBe(personas);
      } finally {
        await store.close();
      }
      // Drivers: the analysed users split by every behaviour; q-values never below p-values.
      for (const c of m.drivers.candidates) {
        expect(c.with.users + c.without.users).toBe(m.drivers.analysed);
        expect(c.qValue).toBeGreaterThanOrEqual(c.pValue);
      }
      // A fairness audit of the churn model where its outcomes are known: scored as of 2025-04-20,
      // labels over the 28 days after (ended by the data's end). Oracle: the labels `model
      // evaluate --out` writes for that instant and the stored run's scores and percentiles,
      // grouped by age band here.
      await cliJson(ws, 'model', 'score', 'churn-risk', '--as-of', '2025-04-20');
      const csv = path.join(root, 'eval.csv');
      await cliJson(ws, 'model', 'evaluate', 'churn-risk', '--as-of', '2025-04-20', '--out', csv);
      const labels = new Map((await readFile(csv, 'utf8')).trim().split('\n').slice(1).map((l) => [l.split(',')[0]!, Number(l.split(',')[1])] as const));
      const fa = await cliJson<FairnessAuditResult>(ws, 'audit', 'fairness', 'churn-risk', '--top', '10', '--as-of', '2025-04-21', '--no-store');
      const subject = fa.subjects[0]!;
      if (subject.kind !== 'model') throw new Error('expected a model');
      expect(subject.header.outcomes.known).toBe(true);
      expect(subject.header.outcomes.users).toBe(labels.size);
      const store2 = await openStore(config);
      let rows: Record<string, unknown>[] = [];
      try {
        rows = await store2.query(
          `SELECT s.user_id AS u, s.score AS score, s.percentile AS pct, p.t_age_band AS age FROM model_scores s LEFT JOIN profiles p USING (user_id) WHERE s.run_id = ${subject.header.runId}`,
        );
      } finally {
        await store2.close();
      }
      const hand = new Map<string, { n: number; sel: number; pos: number; tp: number; labelled: number; o: number; e: number }>();
      for (const row of rows) {
        const g = row.age === null ? '(missing)' : String(row.age);
        const h = hand.get(g) ?? { n: 0, sel: 0, pos: 0, tp: 0, labelled: 0, o: 0, e: 0 };
        const selected = Number(row.pct) > 90;
        const y = labels.get(String(row.u));
        h.n++;
        if (selected) h.sel++;
        if (y !== undefined) {
          h.labelled++;
          h.o += y;
          h.e += Number(row.score);
          if (y === 1) {
            h.pos++;
            if (selected) h.tp++;
          }
        }
        hand.set(g, h);
      }
      const fattr = subject.attributes[0]!;
      expect(fattr.groups.map((g) => [g.group, g.population, g.selected])).toEqual(fattr.groups.map((g) => [g.group, hand.get(g.group)!.n, hand.get(g.group)!.sel]));
      expect(fattr.groups.length).toBe(hand.size);
      for (const g of fattr.equalOpportunity!.groups) expect([g.group, g.population, g.selected]).toEqual([g.group, hand.get(g.group)!.pos, hand.get(g.group)!.tp]);
      for (const c of fattr.calibration!) {
        const h = hand.get(c.group)!;
        expect([c.overall.users, c.overall.positives]).toEqual([h.labelled, h.o]);
        expect(c.overall.meanPredicted).toBeCloseTo(h.e / h.labelled, 12);
        expect(c.deciles.reduce((sum, d) => sum + d.users, 0)).toBe(h.labelled);
      }

      // The commands the hints name work on the demo workspace.
      const list = await cliJson<{ key: string; kind: string }[]>(ws, 'model', 'list');
      expect(list.map((l) => [l.key, l.kind])).toEqual([
        ['churn-risk', 'churn'],
        ['personas', 'personas'],
        ['upgrade-propensity', 'propensity'],
      ]);
    });
  }, 300_000);

  it('runs lifecycle, funnel, retention, RFM and key moments, consistent with the store and with the commands', async () => {
    await withTempDir('strata-demo-', async (root) => {
      const r = await cliJson<DemoResult>(root, 'demo', '--users', '1000', '--seed', '3', '--dir', 'w');
      const a = r.analyses;
      const ws = path.join(root, 'w');
      const asOf = '2025-06-02';

      // The workspace's strata.yaml holds the analysis sections, read back by the loader.
      const config = await loadConfig({ cwd: ws });
      expect(config.lifecycle.stages.map((s) => s.key)).toEqual(expect.arrayContaining(['activated', 'advocate', 'at_risk']));
      expect(config.moments.moments.map((m) => m.key)).toContain('first-core-action');
      expect(config.rfm.purchase).toMatchObject({ event: 'purchase', value: 'amount' });

      // Lifecycle: every user of the population in exactly one stage; the flow ends where the report is.
      expect(a.lifecycle.population).toBe(r.population);
      expect(a.lifecycle.stages.reduce((sum, s) => sum + s.users, 0)).toBe(r.population);
      expect(a.lifecycleFlow.to).toBe(a.lifecycle.asOf);
      expect(a.lifecycleFlow.from).toBe(new Date(DEMO_END_MS - 28 * MS.d).toISOString());
      expect(a.lifecycleFlow.totals.map((t) => [t.stage, t.users])).toEqual(a.lifecycle.stages.map((s) => [s.stage, s.users]));
      expect(a.lifecycleFlow.users).toBe(r.population);
      // The lifecycle segment holds paying users in the at_risk stage, so no more than that stage.
      const atRisk = r.segments.find((s) => s.key === 'at-risk-paying')!;
      expect(atRisk.size).toBeLessThanOrEqual(a.lifecycle.stages.find((s) => s.stage === 'at_risk')!.users);

      // Funnel: five steps, each reached by no more users than the one before, drop-offs the differences.
      const steps = a.funnel.groups[0]!.steps;
      expect(steps.map((s) => s.label)).toEqual([...DEMO_ANALYSIS_SETTINGS.funnel.funnel]);
      for (let k = 1; k < steps.length; k++) {
        expect(steps[k]!.reached).toBeLessThanOrEqual(steps[k - 1]!.reached);
        expect(steps[k]!.droppedOff).toBe(steps[k - 1]!.reached - steps[k]!.reached);
        expect(steps[k]!.timeFromPrevious!.median).toBeGreaterThan(0);
      }
      expect(steps[4]!.reached).toBeGreaterThan(0);

      // Retention: weekly cohorts of the last 12 weeks, periods 0 to 8, returned counts within the cohort.
      const cohorts = a.retention.groups[0]!.cohorts;
      expect(a.retention.cohort).toBe('week');
      expect(cohorts).toHaveLength(12);
      expect(cohorts[0]!.cells).toHaveLength(9);
      for (const c of cohorts) for (const cell of c.cells) expect(cell.returned!).toBeLessThanOrEqual(c.size);

      // RFM: the named cells partition the users scored; first paid purchase is reached by every purchaser.
      expect(a.rfm.users).toBeGreaterThan(0);
      expect(a.rfm.segments.reduce((sum, s) => sum + s.users, 0)).toBe(a.rfm.users);
      const reached = Object.fromEntries(a.moments.moments.map((m) => [m.key, m.reached]));
      expect(reached['first-paid-purchase']).toBe(a.rfm.users);
      expect(a.moments.population).toBe(r.population);

      // The commands the hints name give the same numbers on the workspace.
      expect(await cliJson<LifecycleReport>(ws, 'lifecycle', 'report', '--as-of', asOf)).toEqual(a.lifecycle);
      const f = DEMO_ANALYSIS_SETTINGS.funnel;
      const funnel = await cliJson<FunnelResult>(ws, 'funnel', ...f.funnel, '--span', f.span, '--within', f.within, '--as-of', asOf);
      expect(funnel.groups).toEqual(a.funnel.groups);
      const t = DEMO_ANALYSIS_SETTINGS.retention;
      const retention = await cliJson<RetentionResult>(ws, 'retention', '--cohort', t.cohort, '--return-event', t.return, '--periods', String(t.periods), '--from', t.from, '--mode', t.mode, '--as-of', asOf);
      expect(retention).toEqual(a.retention);
      expect(rounded(await cliJson<RfmResult>(ws, 'rfm', '--as-of', asOf))).toEqual(rounded(a.rfm));
      expect((await cliJson<MomentsReport>(ws, 'moments', 'list', '--as-of', asOf)).moments.map((m) => [m.key, m.reached])).toEqual(a.moments.moments.map((m) => [m.key, m.reached]));
      const user = await cliJson<UserProfile>(ws, 'user', r.exampleUser, '--as-of', asOf);
      // The example user is the first member of the lifecycle segment (7 members with this seed).
      expect(atRisk.size).toBeGreaterThan(0);
      expect(user.inPopulation).toBe(true);
      expect(user.segments.map((s) => s.key)).toContain('at-risk-paying');
      expect(user.lifecycle?.stage).toBe('at_risk');

      // Independent SQL over the demo's store.
      const store = await openStore(config);
      try {
        const count = async (sql: string) => Number((await store.query(sql))[0]!.n);
        const end = DEMO_END_MS;
        expect(steps[0]!.reached).toBe(
          await count(`SELECT count(DISTINCT user_id) AS n FROM events WHERE event = 'signed_up' AND ts >= ${ts(end - 90 * MS.d)} AND ts < ${ts(end)}`),
        );
        expect(a.rfm.users).toBe(await count(`SELECT count(DISTINCT user_id) AS n FROM events WHERE event = 'purchase' AND ts < ${ts(end)}`));
        const revenue = Number((await store.query(`SELECT sum(p_amount) AS s FROM events WHERE event = 'purchase' AND ts < ${ts(end)}`))[0]!.s);
        expect(a.rfm.monetary.mean!).toBeCloseTo(revenue / a.rfm.users, 6);
        expect(reached['first-core-action']).toBe(await count(`SELECT count(DISTINCT user_id) AS n FROM events WHERE event = 'core_task_completed' AND ts < ${ts(end)}`));
        // Cohorts by first seen (first event of any name) in [asOf - 12w, asOf).
        expect(cohorts.reduce((sum, c) => sum + c.size, 0)).toBe(
          await count(`SELECT count(*) AS n FROM (SELECT user_id, min(ts) AS first FROM events GROUP BY user_id) AS u WHERE first >= ${ts(end - 12 * MS.w)} AND first < ${ts(end)}`),
        );
      } finally {
        await store.close();
      }
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
      expect(first.stdout).toContain('last 28d, members vs population: active days');
      for (const heading of ['Lifecycle stages as of', 'Lifecycle flow from 2025-05-05', 'Funnel onboarding as of', 'Retention of weekly cohorts', 'RFM as of', 'Key moments as of']) {
        expect(first.stdout).toContain(heading);
      }
      expect(first.stdout).toMatch(/^ {2}npx strata funnel signed_up onboarding_started profile_completed first_project_created core_task_completed --span 7d /m);
      expect(first.stdout).toMatch(/^ {2}npx strata user u\d{6} --as-of 2025-06-02$/m);
      expect(first.stdout).toContain('  npx strata segment lint --as-of 2025-06-02');
      expect(first.stdout).toContain('Fairness audit of the targeting segments as of 2025-06-02T00:00:00.000Z');
      expect(first.stdout).toMatch(/^ {2}ai-assist-promo: FLAGGED$/m);
      expect(first.stdout).toMatch(/^ {4}age_band: disparate impact \d\.\d\d \[[^\]]+\] \([^)]+ vs [^)]+\) FLAGGED/m);
      expect(first.stdout).toContain('  npx strata audit fairness --targeting --as-of 2025-06-02');

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
