/**
 * `strata audit log`: the append-only audit log of definition changes and privacy
 * operations (src/governance/audit-log.ts), as a table or as JSON, and `--verify`, which
 * recomputes the hash chain and fails naming the first record that was changed or removed.
 */
import type { Command } from 'commander';
import { StrataError } from '../../errors/errors.js';
import { assertAuditLogIntact, readAuditLog, type AuditFilter, type AuditRecord, type AuditVerification } from '../../governance/audit-log.js';
import { auditRecordSummary } from '../../governance/audit-summary.js';
import { formatInstant } from '../../time/time.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatTable } from '../table.js';
import { parseAsOf } from './segment.js';

interface AuditLogOptions {
  action?: string;
  target?: string;
  actor?: string;
  since?: string;
  limit?: string;
  verify?: boolean;
}

export function registerAuditLog(parent: Command, io: CliIo): void {
  parent
    .command('log')
    .summary('the append-only audit log: who changed what, when')
    .description(
      'Every definition change (segment.add, experiment.add, model.train, personas.save,\n' +
        'plan.write) and privacy operation (consent.set, privacy.forget, privacy.export,\n' +
        'privacy.enforce, privacy.release, fairness.audit) in order: seq, when, actor,\n' +
        'action, target and a one-line summary of the detail (--json: the whole records,\n' +
        'diffs included).\n' +
        'Each record carries the SHA-256 of the one before it; --verify recomputes the chain\n' +
        'and exits with code 4 naming the first record that was changed or removed.',
    )
    .option('--action <A>', 'only this action (segment.add), or a family (segment)')
    .option('--target <T>', 'only records about this target (a segment key, plan, user:<hash>)')
    .option('--actor <NAME>', 'only records made by this actor')
    .option('--since <T>', 'only records at or after T: an ISO date or instant, or an offset like -7d')
    .option('--limit <N>', 'only the newest N records (after the filters)')
    .option('--verify', 'recompute the hash chain instead of listing')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata audit log\n' +
        '  $ strata audit log --action segment --target power-users\n' +
        '  $ strata audit log --since -7d --limit 20 --json\n' +
        '  $ strata audit log --verify',
    )
    .action(async (opts: AuditLogOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      if (opts.verify === true) {
        // Broken: AUDIT_LOG_BROKEN (exit 4) naming the first broken record.
        const v = await ctx.withStore((store) => assertAuditLogIntact(store));
        ctx.emit(v, renderVerification);
        return;
      }
      const filter = auditFilter(opts, command);
      const records = await ctx.withStore((store) => readAuditLog(store, filter));
      ctx.emit(records, renderAuditLog);
    });
}

/** The filter from the options; the `--actor` given after `log` filters (the global one names who acts). */
function auditFilter(opts: AuditLogOptions, command: Command): AuditFilter {
  const limit = opts.limit === undefined ? undefined : Number(opts.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new StrataError('INPUT_INVALID', `--limit: expected a whole number of records, 1 or more; got ${JSON.stringify(opts.limit)}`, [{ path: '--limit', message: 'expected a whole number >= 1' }]);
  }
  // The program's global --actor takes the value wherever it is written: on this read-only command it names whose records to show.
  const actor = opts.actor ?? command.optsWithGlobals<{ actor?: string }>().actor;
  return {
    ...(opts.action !== undefined ? { action: opts.action } : {}),
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    ...(actor !== undefined ? { actor } : {}),
    ...(opts.since !== undefined ? { sinceMs: parseAsOf(opts.since, '--since', Date.now()) } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

export function renderAuditLog(records: readonly AuditRecord[]): string {
  if (records.length === 0) return 'No audit records match.';
  return formatTable(
    [{ header: 'SEQ', align: 'right' }, { header: 'WHEN' }, { header: 'ACTOR' }, { header: 'ACTION' }, { header: 'TARGET' }, { header: 'DETAIL' }],
    records.map((r) => [String(r.seq), formatInstant(r.atMs), r.actor, r.action, r.target, auditRecordSummary(r)]),
  );
}

function renderVerification(v: AuditVerification): string {
  if (v.records === 0) return 'The audit log is empty: nothing to verify.';
  return `The audit log is intact: ${formatCount(v.records)} record${v.records === 1 ? '' : 's'}, chain head ${v.head}.`;
}
