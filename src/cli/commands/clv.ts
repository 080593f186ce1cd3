/**
 * `strata clv fit|score|show`: customer lifetime value. The work is in src/models/clv;
 * this shell resolves the purchase settings (strata.yaml `rfm:` or --event/--value),
 * options and rendering.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { PurchaseSettings } from '../../analysis/rfm/rfm-config.js';
import type { Config } from '../../config/index.js';
import { StrataError } from '../../errors/errors.js';
import {
  TIME_UNITS,
  TRANSACTION_MODELS,
  fitWorkspaceClv,
  getClvFit,
  listClvFits,
  saveClvFit,
  scoreWorkspaceClv,
  type ClvUserScore,
  type StoredClvFit,
  type TimeUnit,
  type TransactionModel,
} from '../../models/clv/index.js';
import { formatInstant, parseDurationMs } from '../../time/time.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatFields, formatTable } from '../table.js';
import { displayPath, parseAsOf } from './segment.js';

interface FitOptions {
  readonly model: TransactionModel;
  readonly calibrationEnd?: string;
  readonly unit: TimeUnit;
  readonly event?: string;
  readonly value?: string;
}

interface ScoreOptions {
  readonly fit?: string;
  readonly horizon: string;
  readonly discount: string;
  readonly out?: string;
  readonly top: string;
}

const MODEL_NAMES: Record<TransactionModel, string> = { bgnbd: 'BG/NBD', paretonbd: 'Pareto/NBD' };

export function registerClv(program: Command, io: CliIo): void {
  const clv = program
    .command('clv')
    .summary('customer lifetime value: BG/NBD or Pareto/NBD with Gamma-Gamma spend')
    .description(
      'Customer lifetime value from purchase events (strata.yaml `rfm:` names the\n' +
        'purchase event and its value, or give --event and --value). Purchases on one\n' +
        'UTC day are one transaction; per customer: x = repeat transactions, t_x =\n' +
        'time of the last, T = age at the calibration end, in weeks or days.\n' +
        '  fit    fit a transaction model and Gamma-Gamma spend; store the fit\n' +
        '  score  P(alive), expected purchases and spend, discounted CLV per user\n' +
        '  show   the stored fits',
    );

  clv
    .command('fit')
    .summary('fit the models by maximum likelihood and store the fit (a new version)')
    .description(
      'Summarize every purchaser up to the calibration end in SQL, fit the\n' +
        'transaction model (BG/NBD: Fader, Hardie & Lee 2005; Pareto/NBD:\n' +
        'Schmittlein et al. 1987) and Gamma-Gamma spend (on repeat buyers) by maximum\n' +
        'likelihood, and store the fit as the next version.',
    )
    .addOption(new Option('--model <M>', 'transaction model').choices([...TRANSACTION_MODELS]).default('bgnbd'))
    .option('--calibration-end <T>', 'last day of the calibration period, inclusive (default: the day of the latest purchase)')
    .addOption(new Option('--unit <U>', 'time unit of the summaries and parameters').choices([...TIME_UNITS]).default('week'))
    .option('--event <E>', 'the purchase event (default: rfm.event)')
    .option('--value <P>', 'number property holding the value (default: rfm.value)')
    .addHelpText('after', '\nExamples:\n  $ strata clv fit --calibration-end 1997-09-30\n  $ strata clv fit --model paretonbd --unit day --json')
    .action(async (opts: FitOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const progress = ctx.progress();
      const steps = { summaries: 0, transactions: 1, spend: 2 } as const;
      try {
        const fit = await ctx.withStore(async (store, config) => {
          const purchase = purchaseSettings(config, opts);
          const nowMs = Date.now();
          const calibrationEndMs = opts.calibrationEnd === undefined ? null : parseAsOf(opts.calibrationEnd, '--calibration-end', nowMs);
          const fitted = await fitWorkspaceClv(store, {
            purchase,
            model: opts.model,
            unit: opts.unit,
            calibrationEndMs,
            nowMs,
            onStep: (step) => progress.update({ phase: step === 'summaries' ? 'summarizing' : `fitting ${step}`, done: steps[step], total: 3 }),
          });
          return saveClvFit(store, fitted);
        });
        progress.stop();
        ctx.emit(fit, renderFit);
      } finally {
        progress.stop();
      }
    });

  clv
    .command('score')
    .summary('per-user P(alive), expected purchases and spend, and CLV under a stored fit')
    .description(
      'Score every purchaser of the calibration period under a stored fit (the\n' +
        'latest unless --fit). CLV = E[spend] x sum over weekly steps k of the\n' +
        'expected purchases in step k / (1 + discount)^(years to the end of step k).',
    )
    .option('--fit <N>', 'the fit version (default: the latest)')
    .option('--horizon <D>', 'how far ahead: a duration such as 52w or 365d', '52w')
    .option('--discount <R>', 'annual discount rate (0.1 = 10% a year)', '0.1')
    .option('--out <FILE>', 'write every user: CSV, or JSON lines when FILE ends in .jsonl')
    .option('--top <N>', 'users listed by CLV (expected purchases without spend)', '10')
    .addHelpText('after', '\nExamples:\n  $ strata clv score --horizon 52w --discount 0.1\n  $ strata clv score --fit 2 --out clv.csv')
    .action(async (opts: ScoreOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const progress = ctx.progress();
      try {
        const horizonDays = horizonDaysOf(opts.horizon);
        const discountRate = numberOption(opts.discount, '--discount', 0);
        const top = numberOption(opts.top, '--top', 0);
        const fitVersion = opts.fit === undefined ? null : numberOption(opts.fit, '--fit', 1);
        const { fit, users } = await ctx.withStore(async (store) => {
          const fit = await getClvFit(store, fitVersion);
          progress.update({ phase: 'summarizing', done: 0, total: 1 });
          const users = await scoreWorkspaceClv(store, fit, { horizonDays, discountRate, onProgress: (done, total) => progress.update({ phase: 'scoring', done, total }) });
          return { fit, users };
        });
        progress.stop();
        let out: string | null = null;
        if (opts.out !== undefined) {
          out = path.resolve(io.cwd, opts.out);
          await writeScores(users, out);
          ctx.note(`Wrote ${formatCount(users.length)} users to ${displayPath(io, out)}`);
        }
        const summary = scoreSummary(fit, users, { horizonDays, discountRate, top, out });
        ctx.emit(summary, renderScores);
      } finally {
        progress.stop();
      }
    });

  clv
    .command('show')
    .summary('the stored fits: model, calibration end, parameters, log-likelihood')
    .option('--fit <N>', 'only this fit version')
    .action(async (opts: { fit?: string }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const fits = await ctx.withStore(async (store) => (opts.fit === undefined ? listClvFits(store) : [await getClvFit(store, numberOption(opts.fit, '--fit', 1))]));
      ctx.emit(fits, (f) => (f.length === 0 ? 'No CLV fits stored yet: run strata clv fit.' : f.map(renderFit).join('\n\n')));
    });
}

/** --event/--value over strata.yaml's `rfm:` purchase settings, checked against the plan. */
/** The purchase event and value: strata.yaml's `rfm:`, or --event/--value (also `discover drivers --revenue`). */
export function purchaseSettings(config: Config, opts: { readonly event?: string; readonly value?: string }): PurchaseSettings {
  const configured = config.rfm.purchase;
  if (opts.event === undefined && opts.value === undefined) {
    if (configured) return configured;
    throw new StrataError('CONFIG_INVALID', 'no purchase settings: add an rfm: section to strata.yaml (event and value) or give --event and --value', [
      { path: 'rfm', message: 'expected rfm: {event: purchase, value: amount}' },
    ]);
  }
  const event = opts.event ?? configured?.event;
  if (event === undefined || !Object.hasOwn(config.plan.events, event)) {
    throw new StrataError('INPUT_INVALID', `--event: expected one of the tracking plan's events (${Object.keys(config.plan.events).join(', ')}), got ${JSON.stringify(event ?? null)}`);
  }
  const properties = config.plan.events[event]!.properties;
  const value = opts.value ?? (configured?.event === event ? configured.value : null);
  if (value !== null && !(Object.hasOwn(properties, value) && properties[value]!.type === 'number')) {
    const numbers = Object.keys(properties).filter((p) => properties[p]!.type === 'number');
    throw new StrataError('INPUT_INVALID', `--value: expected a number property of ${event} (${numbers.join(', ') || 'none declared'}), got ${JSON.stringify(value)}`);
  }
  // Settings from rfm: apply whole only to their own event; an explicit --value drops the quantity.
  const same = configured?.event === event;
  return { event, value, quantity: same && opts.value === undefined ? configured!.quantity : null, where: same ? configured!.where : [] };
}

function horizonDaysOf(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0) throw new StrataError('TIME_INVALID', `--horizon: expected a duration such as 52w or 365d, got ${JSON.stringify(text)}`);
  return ms / 86_400_000;
}

function numberOption(text: string, option: string, min: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min) throw new StrataError('INPUT_INVALID', `${option}: expected a number >= ${min}, got ${JSON.stringify(text)}`);
  return n;
}

interface ScoreSummary {
  readonly fit: number;
  readonly model: TransactionModel;
  readonly unit: TimeUnit;
  readonly calibrationEnd: string;
  readonly horizonDays: number;
  readonly discountRate: number;
  readonly users: number;
  readonly meanProbabilityAlive: number;
  readonly expectedPurchases: number;
  readonly totalClv: number | null;
  readonly top: readonly ClvUserScore[];
  readonly out: string | null;
}

function scoreSummary(fit: StoredClvFit, users: readonly ClvUserScore[], o: { horizonDays: number; discountRate: number; top: number; out: string | null }): ScoreSummary {
  const sum = (f: (u: ClvUserScore) => number) => users.reduce((a, u) => a + f(u), 0);
  const rank = (u: ClvUserScore) => u.clv ?? u.expected_purchases;
  return {
    fit: fit.version,
    model: fit.transactions.model,
    unit: fit.unit,
    calibrationEnd: formatInstant(fit.calibrationEndMs),
    horizonDays: o.horizonDays,
    discountRate: o.discountRate,
    users: users.length,
    meanProbabilityAlive: users.length === 0 ? 0 : sum((u) => u.probability_alive) / users.length,
    expectedPurchases: sum((u) => u.expected_purchases),
    totalClv: fit.spend ? sum((u) => u.clv!) : null,
    top: [...users].sort((a, b) => rank(b) - rank(a) || (a.user_id < b.user_id ? -1 : 1)).slice(0, o.top),
    out: o.out,
  };
}

const COLUMNS = ['user_id', 'x', 'tx', 'T', 'monetary', 'probability_alive', 'expected_purchases', 'expected_spend', 'clv'] as const;

async function writeScores(users: readonly ClvUserScore[], out: string): Promise<void> {
  const csvCell = (v: unknown) => (v === null ? '' : typeof v === 'string' && /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : String(v));
  const text = out.endsWith('.jsonl')
    ? users.map((u) => JSON.stringify(u)).join('\n') + '\n'
    : `${COLUMNS.join(',')}\n${users.map((u) => COLUMNS.map((c) => csvCell(u[c])).join(',')).join('\n')}\n`;
  try {
    await writeFile(out, text);
  } catch (e) {
    throw new StrataError('INPUT_INVALID', `cannot write ${out}: ${(e as Error).message}`, [{ path: '--out', message: 'expected a writable file path' }], { cause: e });
  }
}

const num = (x: number, digits = 4) => (Number.isFinite(x) ? Number(x.toPrecision(digits)).toString() : String(x));

function renderFit(fit: StoredClvFit): string {
  const t = fit.transactions;
  const params = Object.entries(t.params).map(([k, v]) => `${k} = ${num(v)}`).join(', ');
  const fields: [string, string][] = [
    ['Fit', `version ${fit.version}, ${formatInstant(fit.createdAtMs)}`],
    ['Purchases', `${fit.purchase.event}${fit.purchase.value ? `, value ${fit.purchase.value}${fit.purchase.quantity ? ` x ${fit.purchase.quantity}` : ''}` : ', no value'}`],
    ['Calibration', `to ${formatInstant(fit.calibrationEndMs).slice(0, 10)} inclusive, in ${fit.unit}s`],
    [MODEL_NAMES[t.model], `${params}`],
    [`${MODEL_NAMES[t.model]} fit`, `log-likelihood ${t.logLikelihood.toFixed(1)}, ${formatCount(t.customers)} customers`],
  ];
  if (fit.spend) {
    const g = fit.spend;
    fields.push(['Gamma-Gamma', `p = ${num(g.params.p)}, q = ${num(g.params.q)}, gamma = ${num(g.params.gamma)}`]);
    fields.push(['Gamma-Gamma fit', `log-likelihood ${g.logLikelihood.toFixed(1)}, ${formatCount(g.customers)} repeat buyers`]);
  }
  return formatFields(fields);
}

function renderScores(s: ScoreSummary): string {
  const head = formatFields([
    ['Fit', `version ${s.fit} (${MODEL_NAMES[s.model]}), calibration to ${s.calibrationEnd.slice(0, 10)}`],
    ['Horizon', `${num(s.horizonDays)} days, discount ${num(s.discountRate * 100)}% a year`],
    ['Users', formatCount(s.users)],
    ['Mean P(alive)', num(s.meanProbabilityAlive, 3)],
    ['Expected purchases', num(s.expectedPurchases, 6)],
    ['Total CLV', s.totalClv === null ? '- (purchases have no value)' : num(s.totalClv, 8)],
  ]);
  if (s.top.length === 0) return head;
  const rows = s.top.map((u) => [u.user_id, String(u.x), num(u.probability_alive, 3), num(u.expected_purchases, 3), u.expected_spend === null ? '-' : num(u.expected_spend, 5), u.clv === null ? '-' : num(u.clv, 6)]);
  const table = formatTable(
    [{ header: 'user' }, { header: 'x', align: 'right' }, { header: 'P(alive)', align: 'right' }, { header: 'purchases', align: 'right' }, { header: 'spend', align: 'right' }, { header: 'CLV', align: 'right' }],
    rows,
  );
  return `${head}\n\nTop ${s.top.length} by CLV:\n${table}`;
}
