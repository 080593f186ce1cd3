import path from 'node:path';
import type { Command } from 'commander';
import { formatIngestSummary } from '../../ingest/index.js';
import type { LifecycleFlow, LifecycleReport } from '../../analysis/lifecycle/index.js';
import type { MomentsReport } from '../../analysis/moments/index.js';
import type { RfmResult } from '../../analysis/rfm/index.js';
import { DEMO_ANALYSIS_SETTINGS, DEMO_DEFAULT_SEED, DEMO_DEFAULT_USERS, DEMO_DISCOVERY, runDemo, type DemoFairnessResult, type DemoModelsResult, type DemoResult } from '../../demo/index.js';
import type { BehaviorMetric, BehaviorReport } from '../../segments/registry/index.js';
import { StrataError } from '../../errors/errors.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatPercent, formatRatio, formatSeconds, formatTable } from '../table.js';
import { attributeSummary } from './audit-fairness.js';
import { renderExperimentReport } from './experiment-analyze.js';
import { renderFunnel } from './funnel.js';
import { renderRetention } from './retention.js';
import { displayPath, overlapMatrix } from './segment.js';

export function registerDemo(program: Command, io: CliIo): void {
  program
    .command('demo')
    .summary('generate a synthetic SaaS product, ingest it, compute example segments and analyses')
    .description(
      'Generate a seeded synthetic SaaS product (20,000 users and about 2 million events over\n' +
        '180 days by default: acquisition channels, devices, locales, free/pro/team plans, an\n' +
        'onboarding funnel with drop-offs, feature depth, upgrades with revenue, churn and\n' +
        'resurrection, busier weekdays), ingest it into a fresh workspace, add thirteen example\n' +
        'segments, compute them in one batch, and print sizes, overlaps and what distinguishes\n' +
        'each; then lifecycle stages and their flow over the last 28 days, the onboarding\n' +
        'funnel, weekly retention, RFM and the key moments configured in its strata.yaml;\n' +
        'last, the onboarding-checklist experiment (stalled users exposed 50/50 with\n' +
        '$exposure events; an effect on desktop and tablet, none on mobile), by device.\n' +
        'The same seed always gives the same data, segments and analyses.',
    )
    .option('--users <N>', 'number of users', String(DEMO_DEFAULT_USERS))
    .option('--seed <S>', 'random seed (a whole number)', String(DEMO_DEFAULT_SEED))
    .option('--dir <DIR>', 'workspace folder to create; an earlier demo there is replaced', 'strata-demo')
    .addHelpText('after', '\nExamples:\n  $ strata demo\n  $ strata demo --users 2000 --seed 7 --dir /tmp/demo\n  $ strata demo --json > demo.json')
    .action(async (opts: { users: string; seed: string; dir: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const users = integer(opts.users, '--users', 1);
      const seed = integer(opts.seed, '--seed', -2_147_483_648);
      const dir = path.resolve(io.cwd, opts.dir);
      const progress = ctx.progress();
      let announced = false;
      let result: DemoResult;
      try {
        result = await runDemo({
          dir,
          users,
          seed,
          onProgress: (p) => {
            // Said once the folder is accepted, so a refusal stays a single line on stderr.
            if (!announced) ctx.note(`Building the demo workspace in ${dir}`);
            announced = true;
            progress.update(p);
          },
        });
      } finally {
        progress.stop();
      }
      ctx.emit(result, (r) => renderDemo(r, io));
    });
}

function integer(text: string, option: string, min: number): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > 2_147_483_647) {
    throw new StrataError('INPUT_INVALID', `${option}: expected a whole number${min > 0 ? ` of at least ${min}` : ''}, got ${JSON.stringify(text)}`);
  }
  return n;
}

export function renderDemo(r: DemoResult, io: CliIo): string {
  const out: string[] = [];
  const asOfDate = r.asOf.slice(0, 10);
  out.push(`Strata demo: a synthetic SaaS product (seed ${r.seed})`);
  out.push(`${formatCount(r.users)} users, ${formatCount(r.generated.events)} events over ${r.days} days ending ${r.asOf}`);
  out.push(`workspace: ${r.workspaceDir}`);
  out.push('');
  out.push(`profiles: ${formatIngestSummary(r.ingest.profiles)}`);
  out.push(`events:   ${formatIngestSummary(r.ingest.events)}`);
  out.push('');
  out.push(`Segments as of ${r.asOf} (population ${formatCount(r.population)})`);
  out.push(
    formatTable(
      [{ header: 'SEGMENT' }, { header: 'NAME' }, { header: 'OBJECTIVE' }, { header: 'SIZE', align: 'right' }, { header: 'SHARE', align: 'right' }],
      r.segments.map((s) => [s.key, s.name, s.objective, formatCount(s.size), s.share === null ? '-' : formatPercent(s.share)]),
    ),
  );
  out.push('');
  out.push('Overlap (Jaccard: shared members / members of either)');
  out.push(overlapMatrix(r.overlap));
  out.push('');
  out.push('What distinguishes each segment (share among members vs everyone else; lift = members / population)');
  for (const rep of r.reports) {
    out.push('');
    out.push(`${rep.key}: ${formatCount(rep.size)} users (${rep.share === null ? '-' : formatPercent(rep.share)})`);
    if (rep.features.length === 0) {
      out.push('  nothing stands out');
      continue;
    }
    // Event features usually dominate the ranking; showing the strongest traits too says who the members are.
    const traits = rep.features.filter((f) => f.kind === 'trait').slice(0, 3);
    const behaviour = rep.features.filter((f) => f.kind !== 'trait').slice(0, 3);
    const shown = rep.features.filter((f) => traits.includes(f) || behaviour.includes(f));
    const table = formatTable(
      [{ header: 'FEATURE' }, { header: 'MEMBERS', align: 'right' }, { header: 'REST', align: 'right' }, { header: 'LIFT', align: 'right' }],
      shown.map((f) => [f.label, f.shareMembers === null ? '-' : formatPercent(f.shareMembers), f.shareRest === null ? '-' : formatPercent(f.shareRest), formatRatio(f.lift)]),
    );
    out.push(table.replace(/^/gm, '  '));
    const numeric = rep.numeric.filter((n) => n.standardizedDifference !== null && Math.abs(n.standardizedDifference) >= 0.2);
    for (const n of numeric.slice(0, 2)) {
      out.push(`  ${n.name}: mean ${formatRatio(n.meanMembers, 1)} among members vs ${formatRatio(n.meanRest, 1)} for the rest (standardized difference ${formatRatio(n.standardizedDifference)})`);
    }
    out.push(`  ${behaviourLine(rep.behavior)}`);
  }
  const a = r.analyses;
  out.push('');
  out.push(renderLifecycle(a.lifecycle));
  out.push('');
  out.push(renderFlow(a.lifecycleFlow));
  out.push('');
  out.push(renderFunnel(a.funnel));
  out.push('');
  out.push(renderRetention(a.retention));
  out.push('');
  out.push(renderRfmSummary(a.rfm));
  out.push('');
  out.push(renderMoments(a.moments));
  out.push('');
  out.push(`Experiment (src/demo/experiments): ${r.experiment.key}, by device as of the start`);
  out.push(renderExperimentReport(r.experiment.byDevice));
  out.push('');
  out.push(renderDemoModels(r.models));
  out.push('');
  out.push(renderDemoFairness(r.fairness));
  out.push('');
  const t = r.timings;
  out.push(
    `Done in ${formatSeconds(t.totalMs)} (generate ${formatSeconds(t.generateMs)}, ingest ${formatSeconds(t.ingestMs)}, add and compute ${formatSeconds(t.computeMs)}, overlap and reports ${formatSeconds(t.analyseMs)}, analyses ${formatSeconds(t.analysesMs)}, experiment ${formatSeconds(t.experimentMs)}, models ${formatSeconds(t.modelsMs)}, fairness ${formatSeconds(t.fairnessMs)})`,
  );
  out.push('');
  out.push('Explore it:');
  out.push(`  cd ${displayPath(io, r.workspaceDir)}`);
  out.push('  npx strata segment list');
  out.push(`  npx strata segment report ${r.segments[1]?.key ?? r.segments[0]?.key ?? 'KEY'} --as-of ${asOfDate}`);
  out.push(`  npx strata segment members ${r.segments[5]?.key ?? r.segments[0]?.key ?? 'KEY'} --as-of ${asOfDate} --out members.csv`);
  out.push(`  npx strata segment diff ${r.segments[1]?.key ?? r.segments[0]?.key ?? 'KEY'} --from 2025-05-01 --to ${asOfDate}`);
  out.push(`  npx strata segment lint --as-of ${asOfDate}`);
  for (const hint of analysisHints(r, asOfDate)) out.push(`  npx strata ${hint}`);
  return out.join('\n');
}

/** The commands that reproduce the demo's analyses (same settings), and a user profile. */
function analysisHints(r: DemoResult, asOfDate: string): string[] {
  const { funnel, retention, flowDays } = DEMO_ANALYSIS_SETTINGS;
  const fromDate = new Date(Date.parse(r.asOf) - flowDays * 86_400_000).toISOString().slice(0, 10);
  return [
    `lifecycle report --as-of ${asOfDate} --by plan`,
    `lifecycle flow --from ${fromDate} --to ${asOfDate}`,
    `funnel ${funnel.funnel.join(' ')} --span ${funnel.span} --within ${funnel.within} --as-of ${asOfDate}`,
    `retention --cohort ${retention.cohort} --return-event ${retention.return} --periods ${retention.periods} --from ${retention.from} --mode ${retention.mode} --as-of ${asOfDate}`,
    `rfm --as-of ${asOfDate}`,
    `moments list --as-of ${asOfDate}`,
    `user ${r.exampleUser} --as-of ${asOfDate}`,
    `experiment analyze ${r.experiment.key} --as-of ${asOfDate} --by device`,
    ...r.models.models.map((m) => `model show ${m.key}`),
    `model explain ${r.models.models[0]?.key ?? 'churn-risk'} ${r.exampleUser} --as-of ${asOfDate}`,
    `discover personas --show`,
    `audit fairness --targeting --as-of ${asOfDate}`,
    `discover drivers --outcome ${DEMO_DISCOVERY.drivers.outcome} --first ${DEMO_DISCOVERY.drivers.firstDays}d --within ${DEMO_DISCOVERY.drivers.withinDays}d --as-of ${asOfDate} --revenue`,
  ];
}

/** One line of the members' behaviour against the population (segment report's behaviour table, abridged). */
function behaviourLine(b: BehaviorReport): string {
  const mean = (m: BehaviorMetric, digits = 1) => `${formatRatio(m.members.mean, digits)} vs ${formatRatio(m.population.mean, digits)}`;
  const share = (m: BehaviorMetric) => `${m.members.mean === null ? '-' : formatPercent(m.members.mean)} vs ${m.population.mean === null ? '-' : formatPercent(m.population.mean)}`;
  const parts = [`active days ${mean(b.engagement.activeDays)}`, `events ${mean(b.engagement.frequency)}`];
  if (b.conversion) parts.push(`did ${b.purchase?.event ?? 'purchase'} ${share(b.conversion)}`);
  if (b.revenue) parts.push(`revenue per user ${mean(b.revenue.perUser, 2)}`);
  return `last ${b.window}, members vs population: ${parts.join('; ')}`;
}

function renderLifecycle(l: LifecycleReport): string {
  return (
    `Lifecycle stages as of ${l.asOf} (${formatCount(l.population)} users; each in the first stage, in this order, whose condition holds)\n` +
    formatTable(
      [{ header: 'STAGE' }, { header: 'NAME' }, { header: 'USERS', align: 'right' }, { header: 'SHARE', align: 'right' }],
      l.stages.map((s) => [s.stage, s.name, formatCount(s.users), formatPercent(s.share)]),
    )
  );
}

function renderFlow(f: LifecycleFlow): string {
  // Rows nobody was in (and who stayed nowhere) say nothing; keep the matrix short.
  const rows = f.rows.filter((row) => row.users > 0);
  return (
    `Lifecycle flow from ${f.from} to ${f.to} (${formatCount(f.users)} users: stage then, by row, against stage now, by column)\n` +
    formatTable(
      [{ header: 'THEN \\ NOW' }, ...f.stages.map((s) => ({ header: s.key, align: 'right' as const })), { header: 'TOTAL', align: 'right' }],
      [...rows.map((row) => [row.stage, ...row.to.map((c) => formatCount(c.users)), formatCount(row.users)]), ['TOTAL', ...f.totals.map((t) => formatCount(t.users)), formatCount(f.users)]],
    )
  );
}

function renderRfmSummary(r: RfmResult): string {
  const head = `RFM as of ${r.asOf} on ${r.event}: ${formatCount(r.users)} customers scored 1-${r.scores} (${r.method} quantiles)`;
  if (r.users === 0) return `${head}\nNo one to score.`;
  const means = `mean recency ${formatRatio(r.recency.mean, 1)} days, frequency ${formatRatio(r.frequency.mean, 2)} purchases, monetary ${formatRatio(r.monetary.mean, 2)}`;
  const table = formatTable(
    [{ header: 'SEGMENT' }, { header: 'USERS', align: 'right' }, { header: 'SHARE', align: 'right' }, { header: 'RECENCY', align: 'right' }, { header: 'FREQUENCY', align: 'right' }, { header: 'MONETARY', align: 'right' }],
    r.segments.map((s) => [s.name, formatCount(s.users), s.share === null ? '-' : formatPercent(s.share), formatRatio(s.recency, 1), formatRatio(s.frequency, 1), formatRatio(s.monetary, 2)]),
  );
  return `${head}\n${means}\n${table}`;
}

function renderMoments(m: MomentsReport): string {
  return (
    `Key moments as of ${m.asOf} (users who reached each, of ${formatCount(m.population)})\n` +
    formatTable(
      [{ header: 'MOMENT' }, { header: 'NAME' }, { header: 'KIND' }, { header: 'REACHED', align: 'right' }, { header: 'SHARE', align: 'right' }],
      m.moments.map((x) => [x.key, x.name, x.kind, formatCount(x.reached), m.population > 0 ? formatPercent(x.reached / m.population) : '-']),
    )
  );
}

/** The predictive step: holdout quality of each model, the segments reading the scores, personas, the top drivers. */
function renderDemoModels(m: DemoModelsResult): string {
  const out: string[] = [];
  out.push('Models (src/demo/models), trained on past snapshots, evaluated on a later holdout, scored as of the end');
  out.push(
    formatTable(
      [
        { header: 'MODEL' },
        { header: 'FAMILY' },
        { header: 'TRAIN ROWS', align: 'right' },
        { header: 'HOLDOUT', align: 'right' },
        { header: 'BASE', align: 'right' },
        { header: 'AUC', align: 'right' },
        { header: 'LOG LOSS', align: 'right' },
        { header: 'TOP 10% LIFT', align: 'right' },
        { header: 'SCORED', align: 'right' },
      ],
      m.models.map((x) => [
        x.key,
        x.family,
        formatCount(x.training.rows),
        x.holdout ? formatCount(x.holdout.rows) : '-',
        x.holdout ? formatPercent(x.holdout.baseRate) : '-',
        formatRatio(x.holdout?.auc ?? null, 3),
        formatRatio(x.holdout?.logLoss ?? null, 3),
        formatRatio(x.holdout?.topDecileLift ?? null, 2),
        formatCount(x.scored.users),
      ]),
    ),
  );
  for (const x of m.models) out.push(`  ${x.key}: strongest features ${x.topFeatures.join(', ')}`);
  out.push('');
  out.push('Segments on the scores (src/demo/model-segments)');
  out.push(
    formatTable(
      [{ header: 'SEGMENT' }, { header: 'NAME' }, { header: 'SIZE', align: 'right' }, { header: 'SHARE', align: 'right' }],
      m.segments.map((s) => [s.key, s.name, formatCount(s.size), s.population > 0 ? formatPercent(s.size / s.population) : '-']),
    ),
  );
  out.push('');
  const p = m.personas;
  out.push(`Personas (k = ${p.personas.length} by silhouette ${formatRatio(p.silhouette, 3)}; users active in the last ${p.population.activeDays ?? '-'} days)`);
  out.push(
    formatTable(
      [{ header: 'ID', align: 'right' }, { header: 'PERSONA' }, { header: 'USERS', align: 'right' }, { header: 'SHARE', align: 'right' }],
      p.personas.map((x) => [String(x.id), x.name, formatCount(x.size), formatPercent(x.share)]),
    ),
  );
  out.push('');
  const d = m.drivers;
  const top = d.candidates.slice(0, 6);
  out.push(
    `Drivers of a first ${DEMO_DISCOVERY.drivers.outcome}: behaviour in the first ${DEMO_DISCOVERY.drivers.firstDays} days, ${DEMO_DISCOVERY.drivers.outcome} in the ${DEMO_DISCOVERY.drivers.withinDays} after (${formatCount(d.analysed)} users; ${d.significant} of ${d.candidates.length} significant, BH at ${d.fdr})`,
  );
  out.push(
    formatTable(
      [{ header: 'BEHAVIOUR' }, { header: 'USERS', align: 'right' }, { header: 'RATE', align: 'right' }, { header: 'W/O', align: 'right' }, { header: 'LIFT', align: 'right' }, { header: 'PHI', align: 'right' }, { header: 'Q', align: 'right' }],
      top.map((c) => [`${c.event} >= ${c.atLeast}`, formatCount(c.with.users), formatPercent(c.with.rate), formatPercent(c.without.rate), formatRatio(c.lift, 2), formatRatio(c.phi, 3), c.qValue < 0.001 ? '<0.001' : formatRatio(c.qValue, 3)]),
    ),
  );
  out.push('Associations, not causes: test a driver with an experiment before acting on it.');
  return out.join('\n');
}

/** The targeting segments with their consent check, and the fairness audit's verdict per segment and attribute. */
function renderDemoFairness(f: DemoFairnessResult): string {
  const out: string[] = [];
  out.push(`Targeting segments (src/demo/targeting-segments): members need the purpose's consent${f.consentFiltered ? '' : ' (the consent filter is not active: some members have not consented)'}`);
  out.push(
    formatTable(
      [{ header: 'SEGMENT' }, { header: 'PURPOSE' }, { header: 'SIZE', align: 'right' }, { header: 'SHARE', align: 'right' }, { header: 'CONSENTED', align: 'right' }],
      f.segments.map((s) => [s.key, s.purpose, formatCount(s.size), s.population > 0 ? formatPercent(s.size / s.population) : '-', formatCount(s.consented)]),
    ),
  );
  out.push('');
  const a = f.audit;
  out.push(`Fairness audit of the targeting segments as of ${a.asOf} (four-fifths rule; ${a.tests} tests, ${a.correction === 'holm' ? 'Holm' : 'Benjamini-Hochberg'}; intervals at ${Math.round((1 - a.alpha) * 100)}%)`);
  for (const s of a.subjects) {
    out.push(`  ${s.key}: ${s.flagged ? 'FLAGGED' : 'not flagged'}`);
    for (const attr of s.attributes) out.push(`    ${attributeSummary(attr, a.correction)}`);
  }
  return out.join('\n');
}
