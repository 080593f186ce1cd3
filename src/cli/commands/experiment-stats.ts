/**
 * `strata experiment stats FILE|-`: the experiment statistics straight from sufficient
 * statistics (src/experiments/stats/request.ts has the JSON form), and `strata experiment
 * power`: the sample size / MDE / duration / more-users calculator (power-calculator.ts).
 * Both are pure: no workspace needed.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { StrataError } from '../../errors/errors.js';
import { planPower, type PowerCalculatorInput, type PowerPlan } from '../../experiments/stats/power-calculator.js';
import { runStatsRequest, type StatsResponse, type TreatmentOutput } from '../../experiments/stats/request.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatFields, formatPercent, formatTable } from '../table.js';
import { displayPath } from './segment.js';

export function registerExperimentStats(experiment: Command, io: CliIo): void {
  registerStats(experiment, io);
  registerPower(experiment, io);
}

function registerStats(experiment: Command, io: CliIo): void {
  experiment
    .command('stats')
    .summary('experiment statistics from sufficient statistics (JSON in)')
    .description(
      'Compare every variant against the first (the control) from per-variant\n' +
        'sufficient statistics, for data that lives elsewhere. FILE is a JSON request,\n' +
        'or - for stdin:\n' +
        '  {"metric": {"type": "mean"}, "method": "frequentist",\n' +
        '   "variants": [{"name": "control", "n": 3407, "sum": 1396.87,\n' +
        '                 "sumSquares": 52377.9767}, {"name": "b", ...}]}\n' +
        'metric.type is mean (n, sum, sumSquares), proportion (n, sum = conversions)\n' +
        'or ratio (n, numerator and denominator {sum, sumSquares}, sumProducts). A\n' +
        'covariate {sum, sumSquares, sumProducts} on every variant turns CUPED on.\n' +
        'Defaults: method frequentist, difference relative, alpha 0.05, sides two,\n' +
        'sequentialTuning 5000, equal weights. The README documents every field.',
    )
    .argument('<FILE>', 'the JSON request file, or - to read stdin')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata experiment stats results.json\n' +
        '  $ strata experiment stats results.json --json\n' +
        '  $ cat results.json | strata experiment stats -',
    )
    .action(async (file: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const { text, name } = await readInput(io, file);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        throw new StrataError('INPUT_INVALID', `${name}: not valid JSON (${(e as Error).message})`, [{ path: name, message: 'expected a JSON stats request' }]);
      }
      try {
        ctx.emit(runStatsRequest(value), renderStats);
      } catch (e) {
        if (e instanceof StrataError) throw new StrataError(e.code, `${name}: ${e.message}`, e.details);
        throw e;
      }
    });
}

async function readInput(io: CliIo, file: string): Promise<{ text: string; name: string }> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin ?? process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return { text: Buffer.concat(chunks).toString('utf8'), name: 'stdin' };
  }
  const full = path.resolve(io.cwd, file);
  try {
    return { text: await readFile(full, 'utf8'), name: displayPath(io, full) };
  } catch {
    throw new StrataError('FILE_NOT_FOUND', `no such file: ${displayPath(io, full)}`, [{ path: displayPath(io, full), message: 'expected a JSON stats request (or - for stdin)' }]);
  }
}

function num(x: number | null, digits = 4): string {
  if (x === null) return '-';
  if (x !== 0 && Math.abs(x) < 1e-4) return x.toExponential(2);
  return x.toFixed(digits);
}

function effectText(x: number | null, relative: boolean): string {
  if (x === null) return '-';
  return relative ? formatPercent(x, 2) : num(x);
}

function pText(p: number | null): string {
  if (p === null) return '-';
  if (p === 0) return '0';
  return p < 1e-4 ? p.toExponential(2) : p.toFixed(4);
}

function interval(t: TreatmentOutput, relative: boolean): string {
  if (!t.ci) return '-';
  const end = (x: number | null, open: string) => (x === null ? open : effectText(x, relative));
  return `[${end(t.ci[0], '-inf')}, ${end(t.ci[1], '+inf')}]`;
}

export function renderStats(r: StatsResponse): string {
  const relative = r.difference === 'relative';
  const level = formatPercent(1 - r.alpha, 0);
  const intervalName = r.method === 'bayesian' ? 'credible' : r.method === 'sequential' ? 'sequence' : 'CI';
  const srm = r.srm.ok
    ? `SRM: p = ${pText(r.srm.pValue)}${r.srm.flagged ? '  ! sample ratio mismatch (p < 0.001): check the assignment before trusting the results' : ' (no mismatch)'}`
    : `SRM: not checked (${r.srm.message})`;
  const bayes = r.method === 'bayesian';
  const columns = [
    { header: 'TREATMENT' },
    { header: 'CONTROL', align: 'right' as const },
    { header: 'MEAN', align: 'right' as const },
    { header: relative ? 'EFFECT (REL)' : 'EFFECT', align: 'right' as const },
    { header: `${level} ${intervalName.toUpperCase()}` },
    { header: bayes ? 'CHANCE TO WIN' : 'P-VALUE', align: 'right' as const },
    ...(bayes ? [{ header: 'RISK (SHIP)', align: 'right' as const }] : []),
    { header: 'SE', align: 'right' as const },
  ];
  const rows = r.treatments.map((t) =>
    t.ok
      ? [
          t.name,
          num(t.control!.mean),
          num(t.treatment!.mean),
          effectText(t.effect, relative),
          interval(t, relative),
          bayes ? formatPercent(t.chanceToWin!, 1) : pText(t.pValue),
          ...(bayes ? [effectText(t.risk!.treatment, relative)] : []),
          relative ? formatPercent(t.se!, 2) : num(t.se),
        ]
      : [t.name, '-', '-', '-', '-', '-', ...(bayes ? ['-'] : []), '-'],
  );
  const notes = r.treatments.filter((t) => !t.ok).map((t) => `  ${t.name}: no result: ${t.message}`);
  const cuped = r.treatments.filter((t) => t.cuped).map((t) => `  ${t.name}: CUPED theta ${num(t.cuped!.theta)}, variance reduced by ${formatPercent(t.cuped!.varianceReduction, 1)}`);
  const correctionName = r.correction === 'holm' ? 'Holm' : 'Benjamini-Hochberg';
  const adjusted = r.treatments
    .filter((t) => t.adjusted)
    .map((t) => `  ${t.name}: ${correctionName} p = ${pText(t.adjusted!.pValue)}, interval ${interval({ ...t, ci: t.adjusted!.ci }, relative)}: ${t.adjusted!.rejected ? 'significant' : 'not significant'} across the ${r.treatments.length} treatments`);
  const sides = r.sides === 'two' ? 'two-sided' : `one-sided (H1: effect ${r.sides === 'greater' ? '> 0' : '< 0'})`;
  return [`${r.method}, ${r.difference} difference, ${sides}, alpha ${r.alpha}`, srm, '', formatTable(columns, rows), ...notes, ...cuped, ...adjusted].join('\n');
}

interface PowerCliOptions {
  metric: string;
  baseline?: string;
  sd?: string;
  mde?: string;
  users?: string;
  alpha: string;
  power: string;
  weights?: string;
  dailyUsers?: string;
  coverage?: string;
  currentN?: string;
  observed?: string;
}

function registerPower(experiment: Command, io: CliIo): void {
  experiment
    .command('power')
    .summary('sample size, MDE, duration and "how many more users"')
    .description(
      'A power calculator for a two-sided test (normal approximation, unpooled\n' +
        'variances, as the analysis uses). Users needed for a relative MDE:\n' +
        '  N = (z(1-a/2) + z(1-b))^2 (vA/wA + vB/wB) / delta^2 for control and one\n' +
        '  treatment split wA/wB; proportions v = p(1-p) at the baseline rate pA and\n' +
        '  pB = pA(1+mde); means vA = vB = sd^2, delta = mde*|baseline|.\n' +
        'With more than two arms the plan covers every treatment against the control.\n' +
        '--users gives the MDE of that many users instead; --daily-users the duration;\n' +
        '--current-n (users so far per arm) the users still needed, with the observed\n' +
        'control rate or per-user sd (--observed) when given.',
    )
    .option('--metric <TYPE>', 'proportion (a conversion rate) or mean', 'proportion')
    .option('--baseline <X>', 'control conversion rate (e.g. 0.12 or 12%) or control mean')
    .option('--sd <S>', 'per-user standard deviation (mean metrics)')
    .option('--mde <R>', 'relative minimum detectable effect, e.g. 0.05 or 5%')
    .option('--users <N>', 'total users: report the MDE they can detect')
    .option('--alpha <A>', 'two-sided significance level', '0.05')
    .option('--power <P>', 'power (1 - beta)', '0.8')
    .option('--weights <W,...>', 'traffic weights, control first (default: equal, 2 arms)')
    .option('--daily-users <N>', 'users entering the segment per day: duration')
    .option('--coverage <C>', 'share of them in the experiment, (0, 1]', '1')
    .option('--current-n <N,...>', 'users per arm so far (mid-experiment), control first')
    .option('--observed <X>', 'observed control rate (proportion) or per-user sd (mean)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata experiment power --baseline 0.12 --mde 5%\n' +
        '  $ strata experiment power --metric mean --baseline 42 --sd 30 --mde 0.03 \\\n' +
        '      --weights 1,1,1 --daily-users 2000 --coverage 0.5\n' +
        '  $ strata experiment power --baseline 0.12 --users 20000\n' +
        '  $ strata experiment power --baseline 0.12 --mde 5% --current-n 9000,9100 \\\n' +
        '      --observed 0.11 --daily-users 1500',
    )
    .action((opts: PowerCliOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      let plan: PowerPlan;
      try {
        plan = planPower(powerInput(opts));
      } catch (e) {
        if (!(e instanceof StrataError)) throw e;
        throw new StrataError(e.code, e.message, e.details.map((d) => ({ ...d, ...(d.path ? { path: OPTION_OF[d.path] ?? d.path } : {}) })));
      }
      ctx.emit(plan, renderPower);
    });
}

/** planPower's input fields as the options that set them. */
const OPTION_OF: Readonly<Record<string, string>> = {
  baseline: '--baseline',
  sd: '--sd',
  mde: '--mde',
  users: '--users',
  weights: '--weights',
  'current.n': '--current-n',
  'current.observed': '--observed',
};

function number(text: string, option: string, percent = false): number {
  const t = text.trim();
  const isPercent = percent && t.endsWith('%');
  const x = Number(isPercent ? t.slice(0, -1) : t);
  if (t === '' || !Number.isFinite(x)) throw new StrataError('INPUT_INVALID', `${option}: expected a number${percent ? ' (or a percentage like 5%)' : ''}, got ${JSON.stringify(text)}`, [{ path: option, message: 'expected a number' }]);
  return isPercent ? x / 100 : x;
}

function list(text: string, option: string): number[] {
  return text.split(',').map((part) => number(part, option));
}

function powerInput(opts: PowerCliOptions): PowerCalculatorInput {
  if (opts.metric !== 'proportion' && opts.metric !== 'mean') throw new StrataError('INPUT_INVALID', `--metric: expected proportion or mean, got ${JSON.stringify(opts.metric)}`, [{ path: '--metric', message: 'expected proportion or mean' }]);
  if (opts.baseline === undefined) throw new StrataError('INPUT_INVALID', `--baseline is required: the control ${opts.metric === 'proportion' ? 'conversion rate' : 'mean'}`, [{ path: '--baseline', message: 'required' }]);
  const input: PowerCalculatorInput = {
    metric: opts.metric,
    baseline: number(opts.baseline, '--baseline', opts.metric === 'proportion'),
    alpha: number(opts.alpha, '--alpha'),
    power: number(opts.power, '--power', true),
    ...(opts.sd !== undefined ? { sd: number(opts.sd, '--sd') } : {}),
    ...(opts.mde !== undefined ? { mde: number(opts.mde, '--mde', true) } : {}),
    ...(opts.users !== undefined ? { users: number(opts.users, '--users') } : {}),
    ...(opts.weights !== undefined ? { weights: list(opts.weights, '--weights') } : {}),
    ...(opts.dailyUsers !== undefined ? { dailyUsers: number(opts.dailyUsers, '--daily-users') } : {}),
    ...(opts.coverage !== undefined ? { coverage: number(opts.coverage, '--coverage', true) } : {}),
    ...(opts.currentN !== undefined
      ? { current: { n: list(opts.currentN, '--current-n'), ...(opts.observed !== undefined ? { observed: number(opts.observed, '--observed', opts.metric === 'proportion') } : {}) } }
      : {}),
  };
  if (opts.observed !== undefined && opts.currentN === undefined) throw new StrataError('INPUT_INVALID', '--observed needs --current-n (the users each arm has so far)', [{ path: '--observed', message: 'needs --current-n' }]);
  return input;
}

export function renderPower(p: PowerPlan): string {
  const isRate = p.metric === 'proportion';
  const value = (x: number) => (isRate ? formatPercent(x, 2) : String(x));
  const arms = p.weights.map((_, i) => (i === 0 ? 'control' : `treatment ${i}`));
  const lines = [
    formatFields([
      ['metric', isRate ? `proportion, baseline rate ${value(p.baseline)}` : `mean, baseline ${p.baseline}, sd ${p.sd}`],
      ['test', `two-sided, alpha ${p.alpha}, power ${p.power}`],
      ['weights', p.weights.map((w) => formatPercent(w, 1)).join(' / ')],
    ]),
  ];
  if (p.sampleSize && p.mde !== null && p.delta !== null) {
    lines.push('', `To detect a ${formatPercent(p.mde, 2)} relative change (${isRate ? `${value(p.baseline)} -> ${value(p.baseline + p.delta)}` : `delta ${p.delta}`}):`);
    lines.push(formatTable([{ header: 'ARM' }, { header: 'USERS', align: 'right' }], [...p.sampleSize.perArm.map((n, i) => [arms[i]!, formatCount(n)]), ['total', formatCount(p.sampleSize.total)]]));
  }
  if (p.duration) lines.push(`Duration: ${p.duration.days} day${p.duration.days === 1 ? '' : 's'} at ${formatCount(p.duration.dailyUsers)} users a day with ${formatPercent(p.duration.coverage, 0)} coverage.`);
  if (p.mdeForUsers) {
    const m = p.mdeForUsers;
    lines.push('', m.relative === null ? `${formatCount(m.users)} users cannot detect any change of this rate.` : `${formatCount(m.users)} users detect a ${formatPercent(m.relative, 2)} relative change (absolute ${isRate ? value(m.absolute!) : m.absolute}).`);
  }
  if (p.more) {
    const m = p.more;
    lines.push(
      '',
      `So far: power ${formatPercent(m.currentPower, 1)}. ${m.additionalTotal === 0 ? 'The target power is reached.' : `${formatCount(m.additionalTotal)} more users needed (${m.additionalPerArm.map((n, i) => `${arms[i]} ${formatCount(n)}`).join(', ')})${m.days !== null ? `, about ${m.days} more day${m.days === 1 ? '' : 's'}` : ''}.`}`,
    );
  }
  lines.push('', 'Formula (z: normal quantile, a = alpha, 1 - b = power, w: arm shares):', ...p.formula.split('; ').map((f) => `  ${f}`));
  return lines.join('\n');
}
