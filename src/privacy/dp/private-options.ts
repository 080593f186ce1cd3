/**
 * `--private` and its options, the same names on every command that can release an
 * aggregate outside the analyst's workspace (`segment compute`, `segment size`,
 * `lifecycle report`, `experiment analyze`):
 *
 *   --private               release through a DP mechanism (release.ts): noisy numbers,
 *                           budget spent from the workspace ledger
 *   --epsilon E             discrete Laplace (pure epsilon-DP), spending E (default 1)
 *   --rho R                 discrete Gaussian (rho-zCDP) instead, spending R
 *   --min-group-size N      suppress groups whose noisy count is below N
 *                           (default: privacy.min_group_size in strata.yaml)
 *
 * E or R is the whole command's spend, split evenly over the queries it releases.
 */
import type { Command } from 'commander';
import { StrataError } from '../../errors/errors.js';
import type { DpSpend } from './release-types.js';

/** What one `--private` release spends when neither --epsilon nor --rho is given. */
export const DEFAULT_EPSILON = 1;

export interface PrivateCliOptions {
  readonly private?: boolean;
  readonly epsilon?: string;
  readonly rho?: string;
  readonly minGroupSize?: string;
}

/** The parsed options: what the release spends and the smallest group it shows. */
export interface PrivateSettings {
  readonly spend: DpSpend;
  /** undefined: privacy.min_group_size. */
  readonly minGroupSize?: number;
}

/**
 * Add the shared options to a command (descriptions fit 80 columns with commander's
 * layout), and after its help what --private means with `examples` (command lines).
 */
export function addPrivateOptions(command: Command, examples: readonly string[] = []): Command {
  return command
    .option('--private', 'noisy release (differential privacy); spends budget')
    .option('--epsilon <E>', `with --private: discrete Laplace, spend E (default ${DEFAULT_EPSILON})`)
    .option('--rho <R>', 'with --private: discrete Gaussian (zCDP), spend R')
    .option('--min-group-size <N>', 'with --private: hide groups whose count is below N')
    .addHelpText('after', PRIVATE_HELP_TEXT + examples.map((e) => `\n  $ ${e}`).join(''));
}

/** Help text after the examples: what --private means, the same on every command. */
export const PRIVATE_HELP_TEXT =
  '\nWith --private the numbers shown are noisy (differential privacy) and the\n' +
  'release spends privacy budget (see `strata privacy budget`); what stays in the\n' +
  'workspace (snapshots, the store) is exact. Each result states the mechanism,\n' +
  'the spend, the 95% interval of the noise, suppressed groups and the budget left.\n' +
  'E or R is split evenly over the counts and sums released; --min-group-size\n' +
  'defaults to privacy.min_group_size in strata.yaml.';

/**
 * The settings of `--private`, or null without it. Options that only mean something with
 * --private are refused without it, so nobody believes a plain report was protected.
 */
export function privateSettings(opts: PrivateCliOptions): PrivateSettings | null {
  const dependent = (['epsilon', 'rho', 'minGroupSize'] as const).filter((k) => opts[k] !== undefined);
  if (opts.private !== true) {
    if (dependent.length > 0) {
      const option = optionName(dependent[0]!);
      throw new StrataError('INPUT_INVALID', `${option} only applies to a private release`, [{ path: option, message: 'add --private, or leave the option out' }]);
    }
    return null;
  }
  if (opts.epsilon !== undefined && opts.rho !== undefined) {
    throw new StrataError('INPUT_INVALID', '--epsilon and --rho choose different mechanisms', [
      { path: '--rho', message: 'give --epsilon (discrete Laplace, pure DP) or --rho (discrete Gaussian, zCDP), not both' },
    ]);
  }
  const spend: DpSpend =
    opts.rho !== undefined ? { mechanism: 'gaussian', rho: positive(opts.rho, '--rho') } : { mechanism: 'laplace', epsilon: opts.epsilon !== undefined ? positive(opts.epsilon, '--epsilon') : DEFAULT_EPSILON };
  if (opts.minGroupSize === undefined) return { spend };
  const n = Number(opts.minGroupSize);
  if (!/^\d+$/.test(opts.minGroupSize) || !Number.isSafeInteger(n)) {
    throw new StrataError('INPUT_INVALID', `--min-group-size: expected a whole number, got ${JSON.stringify(opts.minGroupSize)}`, [
      { path: '--min-group-size', message: 'a whole number of users (0 shows every group)' },
    ]);
  }
  return { spend, minGroupSize: n };
}

function positive(text: string, option: string): number {
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x) || x <= 0) {
    throw new StrataError('INPUT_INVALID', `${option}: expected a positive number, got ${JSON.stringify(text)}`, [
      { path: option, message: option === '--rho' ? 'a positive rho, such as 0.1' : 'a positive epsilon, such as 1 or 0.5' },
    ]);
  }
  return x;
}

function optionName(key: 'epsilon' | 'rho' | 'minGroupSize'): string {
  return key === 'minGroupSize' ? '--min-group-size' : `--${key}`;
}
