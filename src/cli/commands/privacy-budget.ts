/**
 * `strata privacy budget`: the differential-privacy ledger (src/privacy/dp/ledger.ts):
 * every private release (when, who, what, mechanism, ε or ρ, the δ of partition
 * selection) and, per budget, spent / limit / remaining, with the combined (ε, δ)
 * guarantee of all releases together.
 */
import type { Command } from 'commander';
import { budgetReport, type BudgetReport } from '../../privacy/dp/ledger.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatFields, formatTable } from '../table.js';

export function registerPrivacyBudget(parent: Command, io: CliIo): void {
  parent
    .command('budget')
    .summary('the privacy-budget ledger: every private release and what is left')
    .description(
      'Every differentially private release (--private on reports) in order:\n' +
        'when, actor, what was released, the mechanism, its epsilon (discrete\n' +
        'Laplace, pure DP) or rho (discrete Gaussian, zCDP), and the delta spent on\n' +
        'partition selection when group keys came from the data. Then each budget:\n' +
        'spent, limit (privacy.budget in strata.yaml) and remaining; a release that\n' +
        'would overspend is refused.\n\n' +
        'The combined line states all releases together as one (epsilon, delta)-DP\n' +
        'guarantee: pure releases are converted to zCDP (epsilon-DP is\n' +
        'epsilon^2/2-zCDP) and added to rho, and rho-zCDP is stated as\n' +
        '(rho + 2*sqrt(rho*ln(1/delta)), delta)-DP at privacy.budget.delta (Bun &\n' +
        'Steinke 2016, Propositions 1.4 and 1.3), plus the selection deltas; when\n' +
        'simply adding up the epsilons is tighter, that is shown instead.',
    )
    .addHelpText('after', '\nExamples:\n  $ strata privacy budget\n  $ strata privacy budget --json')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const report = await ctx.withStore((store, config) => budgetReport(store, config.privacy));
      ctx.emit(report, renderBudget);
    });
}

/** A spend as written: up to 6 significant digits, no trailing zeros. */
function num(x: number): string {
  return x === 0 ? '0' : String(Number(x.toPrecision(6)));
}

export function renderBudget(r: BudgetReport): string {
  const parts: string[] = [];
  if (r.releases.length === 0) parts.push('No private releases yet: the whole budget is left.');
  else {
    parts.push(
      formatTable(
        [{ header: '#', align: 'right' }, { header: 'when' }, { header: 'actor' }, { header: 'release' }, { header: 'mechanism' }, { header: 'epsilon', align: 'right' }, { header: 'rho', align: 'right' }, { header: 'delta', align: 'right' }],
        r.releases.map((e) => [
          String(e.releaseId),
          `${e.at.slice(0, 19)}Z`,
          e.actor,
          e.release,
          e.mechanism === 'laplace' ? 'discrete Laplace' : 'discrete Gaussian',
          e.mechanism === 'laplace' ? num(e.epsilon) : '-',
          e.mechanism === 'gaussian' ? num(e.rho) : '-',
          e.delta > 0 ? num(e.delta) : '-',
        ]),
      ),
    );
  }
  const line = (b: BudgetReport['epsilon']) => `spent ${num(b.spent)} of ${num(b.limit)}, ${num(Math.max(0, b.remaining))} left${b.remaining < 0 ? ` (overspent by ${num(-b.remaining)})` : ''}`;
  const combined =
    r.combined.basis === 'nothing-spent'
      ? 'nothing spent'
      : `(${num(r.combined.epsilon)}, ${num(r.combined.delta)})-DP over ${formatCount(r.releases.length)} release${r.releases.length === 1 ? '' : 's'} (${r.combined.basis === 'zcdp' ? `via zCDP at delta ${num(r.configuredDelta)}` : 'basic composition'})`;
  parts.push(
    formatFields([
      ['epsilon (pure DP)', line(r.epsilon)],
      ['rho (zCDP)', line(r.rho)],
      ['combined', combined],
    ]),
  );
  return parts.join('\n\n');
}
