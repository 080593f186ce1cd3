/**
 * `strata segment compute --every D`: refresh cycles in the foreground, on the library
 * scheduler (segments/registry/scheduler.ts). Each refresh opens the workspace afresh, so
 * ingest and `segment add` can run between refreshes (DuckDB holds a file lock only while
 * it is open) and a segment added meanwhile joins the next refresh. With --audit-fairness,
 * each refresh ends with the fairness audit of every targeting segment as of its tick
 * (governance/fairness; stored and logged like `strata audit fairness --targeting`).
 */
import { StrataError } from '../../errors/errors.js';
import { createSnapshotScheduler, type ComputeResult, type SnapshotRefresh } from '../../segments/registry/index.js';
import { formatDuration, formatInstant, parseDurationMs } from '../../time/time.js';
import { describeFailure } from '../exit-codes.js';
import { jsonReplacer, type CommandContext } from '../context.js';
import { formatCount, formatPercent, formatRatio, formatSeconds } from '../table.js';
import { runFairnessAudit, type FairnessAuditResult } from '../../governance/fairness/index.js';

export interface ComputeEveryOptions {
  readonly every?: string;
  readonly count?: string;
  readonly catchUp?: boolean;
  readonly asOf?: string;
  /** After each refresh, the fairness audit of every targeting segment as of the tick (stored). */
  readonly auditFairness?: boolean;
}

const SECONDS_RE = /^(\d{1,9})s$/;

/** A refresh period: the durations of the segment language (`15m`, `1h`, `1d`, `1w`) or seconds (`30s`). */
export function parseEvery(text: string, option = '--every'): number {
  const seconds = SECONDS_RE.exec(text);
  const ms = seconds ? Number(seconds[1]) * 1000 : parseDurationMs(text);
  if (ms === undefined || ms <= 0) {
    throw new StrataError('TIME_INVALID', `${option}: expected a positive duration such as 30s, 15m, 1h or 1d; got ${JSON.stringify(text)}`);
  }
  return ms;
}

function formatPeriod(ms: number): string {
  return ms % 60_000 === 0 ? formatDuration(ms) : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Run refreshes until `--count` is reached or a signal arrives; the exit status is the last refresh's. */
export async function computeEvery(ctx: CommandContext, keys: readonly string[], opts: ComputeEveryOptions): Promise<void> {
  if (opts.every === undefined) {
    const given = opts.count !== undefined ? '--count' : opts.catchUp ? '--catch-up' : '--audit-fairness';
    throw new StrataError('INPUT_INVALID', `${given} needs --every: it belongs to refresh cycles (strata segment compute --every 1h ${given}${given === '--count' ? ' N' : ''})`);
  }
  if (opts.asOf !== undefined) {
    throw new StrataError('INPUT_INVALID', '--every and --as-of cannot be combined: each refresh computes as of its own tick (multiples of the period since the epoch)');
  }
  const everyMs = parseEvery(opts.every);
  const count = opts.count === undefined ? undefined : positiveCount(opts.count);
  const targets = keys.length > 0 ? [...keys] : undefined;
  // Unknown keys fail now rather than at every refresh.
  const segments = await ctx.withRegistry((registry) => registry.currentSegments(targets));

  const json = ctx.globals.json;
  const out = (line: unknown) => ctx.io.stdout(`${JSON.stringify(line, jsonReplacer)}\n`);
  let runs = 0;
  let lastFailure: unknown = null;
  let finish = () => undefined as void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const counted = () => {
    runs++;
    if (count !== undefined && runs >= count) finish();
  };

  const scheduler = createSnapshotScheduler({
    everyMs,
    ...(targets ? { keys: targets } : {}),
    ...(opts.catchUp ? { catchUp: true } : {}),
    registry: { compute: (k, o) => ctx.withRegistry((registry) => registry.compute(k, o)) },
    ...(opts.auditFairness ? { afterRefresh: (tick: { tickMs: number }) => auditTargeting(ctx, tick.tickMs) } : {}),
    onRefresh: (r) => {
      lastFailure = null;
      if (json) out({ type: 'refresh', asOf: r.asOf, elapsedMs: r.finishedMs - r.startedMs, results: r.results });
      else ctx.io.stdout(`${refreshLine(r)}\n`);
      if (r.after !== undefined) {
        const audit = r.after as FairnessAuditResult;
        if (json) out({ type: 'fairness', asOf: r.asOf, flagged: audit.flagged, audit });
        else ctx.io.stdout(`${fairnessLine(audit)}\n`);
      }
      counted();
    },
    onError: (error, tick) => {
      lastFailure = error;
      const failure = describeFailure(error);
      if (json) out({ type: 'error', asOf: tick.asOf, ...failure.json });
      else ctx.io.stderr(`as of ${tick.asOf}: refresh failed: ${failure.line.replace(/^strata: /, '')}\n`);
      counted();
    },
    onSkipped: (s) => {
      if (json) out({ type: 'skipped', asOf: s.asOf, reason: s.reason });
      else ctx.io.stderr(`as of ${s.asOf}: skipped (${s.reason === 'busy' ? 'the previous refresh was still running' : 'the tick passed while the process was not running'})\n`);
    },
  });

  // Ctrl-C or TERM: no new refresh; the one in flight finishes and is reported. A second Ctrl-C kills.
  const onSignal = () => finish();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    scheduler.start();
    const next = scheduler.nextTickMs();
    ctx.note(
      `Refreshing ${targets ? targets.join(', ') : `all ${segments.length} segments`} every ${formatPeriod(everyMs)}` +
        `${opts.catchUp ? ` from ${formatInstant(Math.floor(Date.now() / everyMs) * everyMs)}` : next !== null ? `, first as of ${formatInstant(next)}` : ''}` +
        `${count !== undefined ? `, ${count} time${count === 1 ? '' : 's'}` : ''}. Ctrl-C stops after the refresh in flight.`,
    );
    await finished;
  } finally {
    await scheduler.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (lastFailure !== null) throw lastFailure;
}

/** The scheduled fairness audit: every targeting segment as of the tick, stored and logged. */
function auditTargeting(ctx: CommandContext, tickMs: number): Promise<FairnessAuditResult> {
  return ctx.withRegistry((registry, config, store) =>
    runFairnessAudit({ store, plan: config.plan, purchase: config.rfm.purchase, segments: registry }, { targeting: true, asOfMs: tickMs, actor: ctx.actor() }),
  );
}

/** One line per scheduled audit: what was audited and what is flagged, with the worst ratio. */
export function fairnessLine(a: FairnessAuditResult): string {
  const flagged = a.subjects
    .filter((s) => s.flagged)
    .map((s) => `${s.key} (${s.attributes.filter((x) => x.flagged).map((x) => `${x.attribute} ${formatRatio(x.ratio?.value ?? null)}`).join(', ')})`);
  return `as of ${a.asOf}: fairness audit of ${a.subjects.length} targeting segment${a.subjects.length === 1 ? '' : 's'}: ${flagged.length > 0 ? `flagged ${flagged.join(', ')}` : 'nothing flagged'}`;
}

/** One line per refresh: the instant, the time it took, the population and each segment's size. */
export function refreshLine(r: SnapshotRefresh): string {
  const population = r.results[0]?.population ?? 0;
  const sizes = r.results.map((c: ComputeResult) => `${c.key} ${formatCount(c.size)}${population > 0 ? ` (${formatPercent(c.size / population)})` : ''}`);
  return `as of ${r.asOf}: ${r.results.length} segment${r.results.length === 1 ? '' : 's'} in ${formatSeconds(r.finishedMs - r.startedMs)}, population ${formatCount(population)}${sizes.length > 0 ? `: ${sizes.join(', ')}` : ''}`;
}

function positiveCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new StrataError('INPUT_INVALID', `--count: expected a whole number of at least 1, got ${JSON.stringify(text)}`);
  return n;
}
