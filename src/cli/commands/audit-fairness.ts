/**
 * `strata audit fairness [SEGMENT|MODEL...]`: selection rates by sensitive attribute, the
 * disparate-impact ratio (four-fifths rule), the demographic-parity difference, pairwise
 * tests under one multiple-comparison correction, and for models with known outcomes equal
 * opportunity and calibration by group. The work is in src/governance/fairness; this
 * shell parses options and renders the report.
 */
import { Option, type Command } from 'commander';
import { StrataError } from '../../errors/errors.js';
import type { Correction } from '../../experiments/stats/multiple.js';
import {
  DEFAULT_FAIRNESS_ALPHA,
  DEFAULT_SCORE_THRESHOLD,
  FOUR_FIFTHS,
  listFairnessAudits,
  runFairnessAudit,
  type AttributeAudit,
  type StoredFairnessAudit,
  type FairnessAuditOptions,
  type FairnessAuditResult,
  type FairnessWorkspace,
  type SubjectAudit,
} from '../../governance/fairness/index.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatPercent, formatRatio, formatTable } from '../table.js';
import { AS_OF_HELP, parseAsOf } from './segment.js';

interface FairnessCliOptions {
  readonly asOf?: string;
  readonly attribute?: string[];
  readonly threshold?: string;
  readonly top?: string;
  readonly targeting?: boolean;
  readonly correction: string;
  readonly alpha: string;
  readonly minRatio: string;
  readonly store: boolean;
  readonly strict?: boolean;
  readonly history?: boolean;
}

export function registerAuditFairness(parent: Command, io: CliIo): void {
  parent
    .command('fairness')
    .summary('selection rates by sensitive attribute: disparate impact, parity, equal opportunity, calibration')
    .description(
      'Audit segments and models against the sensitive traits of the tracking plan.\n' +
        'Per attribute and group: the selection rate (segment members, or model users\n' +
        'scoring >= --threshold) with a Wilson interval; the disparate-impact ratio\n' +
        '(lowest rate / highest, Katz interval), flagged below 0.8 (the four-fifths\n' +
        'rule); the demographic-parity difference (highest - lowest, Newcombe\n' +
        'interval); each group tested against the most-selected one (chi-square, or\n' +
        "Fisher's exact test for small counts), every p-value of the audit corrected\n" +
        'together (Holm, or BH). Users without the trait are the group "(missing)":\n' +
        'shown, never compared. For a model whose label window has ended: the\n' +
        'true-positive rate by group (equal opportunity) and calibration by group\n' +
        '(mean predicted vs observed, by score decile, calibration-in-the-large test).\n' +
        'Each subject\'s report is stored (fairness_audits) and written to the audit log.',
    )
    .argument('[SUBJECT...]', 'segment or model keys (segment:KEY or model:KEY when a name is both)')
    .addOption(new Option('--as-of <T>', AS_OF_HELP))
    .option('--attribute <TRAIT...>', 'sensitive traits to audit (default: every sensitive string or boolean trait)')
    .option('--threshold <P>', `models: selected when score >= P (default ${DEFAULT_SCORE_THRESHOLD})`)
    .option('--top <PCT>', 'models: selected when in the top PCT percent of the run (e.g. 10: the top decile)')
    .option('--targeting', 'audit every targeting segment (purpose personalization or marketing) too')
    .addOption(new Option('--correction <M>', 'multiple-comparison correction across every test of the audit').choices(['holm', 'bh']).default('holm'))
    .option('--alpha <A>', 'level of the intervals and of the corrected tests', String(DEFAULT_FAIRNESS_ALPHA))
    .option('--min-ratio <R>', 'flag a disparate-impact ratio below R', String(FOUR_FIFTHS))
    .option('--no-store', 'do not store the reports (nor record them in the audit log)')
    .option('--strict', 'exit with FAIRNESS_FLAGGED (status 1) when anything is flagged')
    .option('--history', 'list the stored audits (of the SUBJECTs, or all) instead of auditing')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata audit fairness --targeting --as-of 2025-06-02\n' +
        '  $ strata audit fairness upgrade-candidates --attribute age_band --json\n' +
        '  $ strata audit fairness churn-risk --top 10 --as-of 2025-05-01 --strict\n' +
        '  $ strata audit fairness --history ai-assist-promo',
    )
    .action(async (subjects: string[], opts: FairnessCliOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      if (opts.history) {
        const stored = await ctx.withStore(async (store) => {
          if (subjects.length === 0) return listFairnessAudits(store);
          return (await Promise.all(subjects.map((s) => listFairnessAudits(store, s)))).flat().sort((a, b) => a.auditId - b.auditId);
        });
        ctx.emit(stored, renderHistory);
        return;
      }
      if (subjects.length === 0 && !opts.targeting) {
        throw new StrataError('INPUT_INVALID', 'nothing to audit: name segments or models, or give --targeting', [{ path: 'SUBJECT', message: 'e.g. strata audit fairness --targeting' }]);
      }
      const progress = ctx.progress();
      try {
        const result = await ctx.withRegistry(async (registry, config, store) => {
          const ws: FairnessWorkspace = { store, plan: config.plan, purchase: config.rfm.purchase, segments: registry };
          return runFairnessAudit(ws, {
            subjects,
            targeting: opts.targeting === true,
            asOfMs: opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : Date.now(),
            ...(opts.attribute ? { attributes: opts.attribute } : {}),
            ...(opts.threshold !== undefined ? { threshold: numberOption(opts.threshold, '--threshold') } : {}),
            ...(opts.top !== undefined ? { topPercent: numberOption(opts.top, '--top') } : {}),
            correction: correctionOption(opts.correction),
            alpha: numberOption(opts.alpha, '--alpha'),
            minRatio: numberOption(opts.minRatio, '--min-ratio'),
            save: opts.store,
            actor: ctx.actor(),
            onProgress: (done, total) => progress.update({ phase: 'auditing', done, total }),
          } satisfies FairnessAuditOptions);
        });
        progress.stop();
        ctx.emit(result, renderFairnessAudit);
        if (opts.strict && result.flagged.length > 0) {
          throw new StrataError('FAIRNESS_FLAGGED', `the fairness audit flagged ${result.flagged.join(', ')}`, [
            { message: `a disparate-impact ratio below ${result.minRatio} (four-fifths rule); see the report` },
          ]);
        }
      } finally {
        progress.stop();
      }
    });
}

function numberOption(text: string, option: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new StrataError('INPUT_INVALID', `${option}: expected a number, got ${JSON.stringify(text)}`);
  return n;
}

function correctionOption(text: string): Correction {
  return text === 'bh' ? 'benjamini-hochberg' : 'holm';
}

const correctionName = (c: Correction) => (c === 'holm' ? 'Holm' : 'Benjamini-Hochberg');

function formatInterval(ci: readonly [number, number] | null | undefined, digits = 2): string {
  return ci ? `[${formatRatio(ci[0], digits)}, ${formatRatio(ci[1], digits)}]` : '[-]';
}

function formatP(p: number): string {
  return Number.isNaN(p) ? '-' : p < 0.001 ? '<0.001' : formatRatio(p, 3);
}

/** The whole report for people. */
export function renderFairnessAudit(r: FairnessAuditResult): string {
  const level = `${formatRatio((1 - r.alpha) * 100, 0)}%`;
  const out: string[] = [];
  out.push(
    `Fairness audit as of ${r.asOf}: ${r.subjects.length} subject${r.subjects.length === 1 ? '' : 's'}, ${r.flagged.length} flagged ` +
      `(disparate-impact ratio below ${r.minRatio}); ${r.tests} tests corrected together (${correctionName(r.correction)}, alpha ${r.alpha}); intervals at ${level}`,
  );
  for (const s of r.subjects) {
    out.push('');
    out.push(...subjectHeader(s));
    for (const a of s.attributes) out.push(...attributeLines(a, r));
  }
  out.push('');
  out.push('Flagged: the point ratio is below the threshold (four-fifths rule, EEOC 1978); "significant" is the corrected test of the lowest group against the highest, reported separately.');
  return out.join('\n');
}

function subjectHeader(s: SubjectAudit): string[] {
  const flag = s.flagged ? '  FLAGGED' : '';
  if (s.kind === 'segment') {
    const h = s.header;
    return [
      `segment ${s.key}: ${h.name} (version ${h.version}, purpose ${h.purpose})${flag}`,
      `  objective ${h.objective}; owner ${h.owner ?? '-'}${s.auditId !== null ? `; stored as audit ${s.auditId}` : ''}`,
      `  rationale: ${h.rationale.replace(/\s+/g, ' ')}`,
      `  ${formatCount(h.size)} members of ${h.population === null ? '-' : formatCount(h.population)} users`,
    ];
  }
  const h = s.header;
  const rule = 'threshold' in h.selection ? `score >= ${h.selection.threshold}` : `top ${h.selection.topPercent}%`;
  const outcomes = h.outcomes.known
    ? `outcomes known (label window ended ${h.outcomes.horizonEnd}; ${formatCount(h.outcomes.users)} users labelled)`
    : `outcomes not known yet (label window ends ${h.outcomes.horizonEnd}, data ends ${h.outcomes.dataEnd})`;
  return [
    `model ${s.key}: ${h.kind}, version ${h.version}, run ${h.runId} as of ${h.runAsOf}${flag}`,
    `  selected: ${rule}, ${formatCount(h.selected)} of ${formatCount(h.scored)} scored users${s.auditId !== null ? `; stored as audit ${s.auditId}` : ''}`,
    `  ${outcomes}`,
  ];
}

/** One attribute's summary line: ratio, interval, groups, flag and significance. */
export function attributeSummary(a: AttributeAudit, correction: Correction): string {
  if (!a.ratio) return `${a.attribute}: ${a.highest === null ? 'fewer than two groups to compare' : 'no one selected'}`;
  const sig = a.significant === null ? '' : a.significant ? `, significant (${correctionName(correction)})` : `, not significant (${correctionName(correction)})`;
  const diff = a.difference ? `; parity difference ${formatRatio(a.difference.value, 3)} ${formatInterval(a.difference.ci, 3)}` : '';
  return `${a.attribute}: disparate impact ${formatRatio(a.ratio.value)} ${formatInterval(a.ratio.ci)} (${a.lowest} vs ${a.highest})${a.flagged ? ' FLAGGED' : ''}${sig}${diff}`;
}

function attributeLines(a: AttributeAudit, r: FairnessAuditResult): string[] {
  const out = [`  ${attributeSummary(a, r.correction)}`];
  const tests = new Map(a.pairwise.map((p) => [p.group, p]));
  const table = formatTable(
    [
      { header: 'GROUP' },
      { header: 'USERS', align: 'right' },
      { header: 'SELECTED', align: 'right' },
      { header: 'RATE', align: 'right' },
      { header: 'INTERVAL', align: 'right' },
      { header: 'RATIO', align: 'right' },
      { header: 'P (ADJ)', align: 'right' },
    ],
    a.groups.map((g) => {
      const t = tests.get(g.group);
      return [
        g.group,
        formatCount(g.population),
        formatCount(g.selected),
        formatPercent(g.rate),
        `${formatPercent(g.ci[0])}-${formatPercent(g.ci[1])}`,
        !g.compared ? '(not compared)' : g.group === a.highest ? '1 (ref)' : formatRatio(t?.ratio),
        t ? formatP(t.adjustedP) : '',
      ];
    }),
  );
  out.push(table.replace(/^/gm, '    '));
  if (a.equalOpportunity) {
    const eo = a.equalOpportunity;
    out.push(
      `    equal opportunity (true-positive rate by group): ${eo.difference ? `difference ${formatRatio(eo.difference.value, 3)} ${formatInterval(eo.difference.ci, 3)} (${eo.highest} vs ${eo.lowest})` : 'fewer than two groups with positives'}`,
    );
    out.push(`    ${eo.groups.filter((g) => g.compared).map((g) => `${g.group} ${formatPercent(g.rate)} of ${formatCount(g.population)}`).join('; ')}`);
  }
  if (a.calibration) {
    out.push('    calibration by group (mean predicted vs observed; calibration in the large: observed / expected, corrected p; by score decile in --json)');
    out.push(
      formatTable(
        [{ header: 'GROUP' }, { header: 'USERS', align: 'right' }, { header: 'PREDICTED', align: 'right' }, { header: 'OBSERVED', align: 'right' }, { header: 'INTERVAL', align: 'right' }, { header: 'O/E', align: 'right' }, { header: 'P (ADJ)', align: 'right' }],
        a.calibration.map((c) => [
          c.group,
          formatCount(c.overall.users),
          formatPercent(c.overall.meanPredicted),
          formatPercent(c.overall.observed),
          `${formatPercent(c.overall.observedCi[0])}-${formatPercent(c.overall.observedCi[1])}`,
          formatRatio(c.inTheLarge.observedOverExpected),
          formatP(c.inTheLarge.adjustedP),
        ]),
      ).replace(/^/gm, '      '),
    );
  } else if (a.calibration === null) {
    out.push('    equal opportunity and calibration: the outcomes are not known yet');
  }
  return out;
}

/** Stored audits, one line each: when, as of, the subject, the flag and each attribute's ratio. */
function renderHistory(stored: readonly StoredFairnessAudit[]): string {
  if (stored.length === 0) return 'No stored fairness audits.';
  return formatTable(
    [{ header: 'ID', align: 'right' }, { header: 'AT' }, { header: 'AS OF' }, { header: 'SUBJECT' }, { header: 'FLAGGED' }, { header: 'RATIOS' }],
    stored.map((a) => {
      const attributes = (a.body as { attributes?: { attribute: string; ratio: { value: number } | null }[] }).attributes ?? [];
      return [
        String(a.auditId),
        a.at,
        a.asOf,
        `${a.subjectKind}:${a.subject}`,
        a.flagged ? 'yes' : 'no',
        attributes.map((x) => `${x.attribute} ${formatRatio(x.ratio?.value ?? null)}`).join(', '),
      ];
    }),
  );
}
