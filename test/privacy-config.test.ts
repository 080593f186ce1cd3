/**
 * The `privacy:` section of strata.yaml: defaults, every setting, and errors that name the
 * exact setting (and, read from a file, its line).
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createConfig } from '../src/config/index.js';
import { isStrataError } from '../src/errors/errors.js';
import { DEFAULT_PRIVACY_CONFIG, type PrivacyConfig } from '../src/privacy/privacy-config.js';
import { cli, withTempDir } from './cli-helpers.js';

function privacyOf(section: string): PrivacyConfig {
  return createConfig({ workspaceDir: '/tmp', document: parse(section) ?? {} }).privacy;
}

function problems(section: string): string[] {
  try {
    privacyOf(section);
  } catch (e) {
    if (isStrataError(e) && e.code === 'CONFIG_INVALID') return e.details.map((d) => `${d.path?.replace(/^strata\.yaml /, '')}: ${d.message}`);
    throw e;
  }
  throw new Error('expected the section to be refused');
}

describe('privacy: section', () => {
  it('defaults: pii hashed, IPs truncated, no pseudonymization, analytics opt-out, the rest opt-in', () => {
    expect(privacyOf('')).toEqual(DEFAULT_PRIVACY_CONFIG);
    expect(DEFAULT_PRIVACY_CONFIG.consentDefaults).toEqual({ analytics: true, personalization: false, marketing: false });
  });

  it('reads every setting', () => {
    const p = privacyOf(
      'privacy:\n  pii: drop\n  ip: drop\n  pseudonymize: {key_env: MY_KEY}\n  consent: {analytics: denied, marketing: granted}\n' +
        '  retention: {snapshots_days: 400, scores_days: 90}\n  budget: {epsilon: 3, rho: 0.5, delta: 1e-7}\n  min_group_size: 25\n',
    );
    expect(p).toEqual({
      pii: 'drop',
      ip: 'drop',
      pseudonymize: { keyEnv: 'MY_KEY' },
      consentDefaults: { analytics: false, personalization: false, marketing: true },
      retention: { snapshotsDays: 400, scoresDays: 90 },
      budget: { epsilon: 3, rho: 0.5, delta: 1e-7 },
      minGroupSize: 25,
    });
    expect(privacyOf('privacy:\n  pseudonymize: {key_file: /etc/strata/key}\n').pseudonymize).toEqual({ keyFile: '/etc/strata/key' });
  });

  it('names each bad setting', () => {
    expect(
      problems(
        'privacy:\n  pii: mask\n  ip: keep\n  consent: {marketting: granted, analytics: yes}\n  budget: {epsilon: -1, delta: 2}\n  min_group_size: 2.5\n  retention: {scores_days: 0}\n  pseudonymise: {}\n',
      ),
    ).toEqual([
      'privacy.pseudonymise: unknown key (did you mean pseudonymize?); expected one of pii, ip, pseudonymize, consent, retention, budget, min_group_size',
      'privacy.pii: expected one of hash, drop, got "mask"',
      'privacy.ip: expected one of truncate, drop, got "keep"',
      'privacy.consent.marketting: unknown key (did you mean marketing?); expected one of analytics, personalization, marketing',
      'privacy.consent.analytics: expected granted or denied, got "yes"',
      'privacy.retention.scores_days: expected a positive whole number, got 0',
      'privacy.budget.delta: expected a number below 1 (for example 1e-6), got 2',
      'privacy.budget.epsilon: expected a positive number, got -1',
      'privacy.min_group_size: expected a positive whole number, got 2.5',
    ]);
  });

  it('refuses a key in strata.yaml and both key sources at once', () => {
    expect(problems('privacy:\n  pseudonymize: {key: abc}\n')).toEqual([
      'privacy.pseudonymize.key: unknown key; expected one of key_env, key_file',
      'privacy.pseudonymize: expected exactly one of key_env or key_file (the key itself never goes in strata.yaml)',
    ]);
    expect(problems('privacy:\n  pseudonymize: {key_env: A, key_file: /k}\n')).toEqual([
      'privacy.pseudonymize: expected exactly one of key_env or key_file (the key itself never goes in strata.yaml)',
    ]);
    expect(problems('privacy:\n  pseudonymize: {key_env: "not a name"}\n')).toEqual(['privacy.pseudonymize.key_env: expected an environment variable name, got "not a name"']);
  });

  it('reports the strata.yaml line of a bad setting', async () => {
    await withTempDir('strata-privacy-config-', async (dir) => {
      await writeFile(path.join(dir, 'strata.yaml'), 'version: 1\nprivacy:\n  min_group_size: 0\n');
      const r = await cli(dir, 'segment', 'list');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('strata.yaml:3 privacy.min_group_size: expected a positive whole number, got 0');
    });
  });
});
