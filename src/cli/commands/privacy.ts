/**
 * `strata privacy`: consent, erasure, export, retention and the differential-privacy
 * budget. Each group of subcommands lives in its own file.
 */
import type { Command } from 'commander';
import type { CliIo } from '../context.js';
import { registerPrivacyConsent } from './privacy-consent.js';
import { registerPrivacyErasure } from './privacy-erasure.js';
import { registerPrivacyBudget } from './privacy-budget.js';

export function registerPrivacy(program: Command, io: CliIo): void {
  const privacy = program
    .command('privacy')
    .description('consent, erasure (forget), export, retention (enforce) and the privacy budget');
  registerPrivacyConsent(privacy, io);
  registerPrivacyErasure(privacy, io);
  registerPrivacyBudget(privacy, io);
}
