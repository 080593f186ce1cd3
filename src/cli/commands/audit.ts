/**
 * `strata audit`: the append-only audit log and fairness audits.
 */
import type { Command } from 'commander';
import type { CliIo } from '../context.js';
import { registerAuditLog } from './audit-log.js';
import { registerAuditFairness } from './audit-fairness.js';

export function registerAudit(program: Command, io: CliIo): void {
  const audit = program.command('audit').description('the audit log of definition changes and privacy operations, and fairness audits');
  registerAuditLog(audit, io);
  registerAuditFairness(audit, io);
}
