/**
 * The `privacy:` section of strata.yaml (issue 7): minimization at ingest, pseudonymization,
 * consent defaults, retention of derived data, the differential-privacy budget and the
 * smallest group a release may show.
 *
 * ```yaml
 * privacy:
 *   pii: hash                  # hash (default) | drop: properties and traits flagged pii
 *   ip: truncate               # truncate (default: IPv4 /24, IPv6 /48) | drop: fields flagged ip
 *   pseudonymize:              # optional: user ids replaced at ingest by HMAC-SHA256(key, id)
 *     key_env: STRATA_PSEUDONYM_KEY   # the environment variable holding the key, or
 *     # key_file: /etc/strata/key     # a file outside the data folder
 *   consent:
 *     analytics: granted       # what a user without any consent record has (default granted: opt-out)
 *     personalization: denied  # default denied (opt-in)
 *     marketing: denied        # default denied (opt-in)
 *   retention:
 *     snapshots_days: 400      # optional: snapshot members older than this are deleted by `privacy enforce`
 *     scores_days: 400         # optional: scoring runs older than this are deleted
 *   budget:
 *     epsilon: 10              # pure-DP releases (discrete Laplace) spend epsilon; the total may not exceed this
 *     rho: 1                   # zCDP releases (discrete Gaussian) spend rho; the total may not exceed this
 *     delta: 1e-6              # the delta at which the ledger states the combined (epsilon, delta) guarantee
 *   min_group_size: 10         # groups whose (noisy) size is below this are suppressed in releases
 * ```
 */
import { closest } from '../segments/language/messages.js';

export const CONSENT_PURPOSES = ['analytics', 'personalization', 'marketing'] as const;
export type ConsentPurpose = (typeof CONSENT_PURPOSES)[number];

export interface PrivacyConfig {
  readonly pii: 'hash' | 'drop';
  readonly ip: 'truncate' | 'drop';
  /** Where the pseudonymization key comes from; null: user ids are stored as given. */
  readonly pseudonymize: { readonly keyEnv: string } | { readonly keyFile: string } | null;
  /** Consent a user has for each purpose before any record of theirs says otherwise. */
  readonly consentDefaults: Readonly<Record<ConsentPurpose, boolean>>;
  readonly retention: { readonly snapshotsDays: number | null; readonly scoresDays: number | null };
  readonly budget: { readonly epsilon: number; readonly rho: number; readonly delta: number };
  readonly minGroupSize: number;
}

export const DEFAULT_PRIVACY_CONFIG: PrivacyConfig = {
  pii: 'hash',
  ip: 'truncate',
  pseudonymize: null,
  consentDefaults: { analytics: true, personalization: false, marketing: false },
  retention: { snapshotsDays: null, scoresDays: null },
  budget: { epsilon: 10, rho: 1, delta: 1e-6 },
  minGroupSize: 10,
};

const KEYS = ['pii', 'ip', 'pseudonymize', 'consent', 'retention', 'budget', 'min_group_size'];

type Err = (jsonPath: string, message: string) => void;

function unknownKeys(doc: Record<string, unknown>, keys: readonly string[], base: string, err: Err): void {
  for (const key of Object.keys(doc)) {
    if (keys.includes(key)) continue;
    const near = closest(key, keys);
    err(`${base}.${key}`, `unknown key${near ? ` (did you mean ${near}?)` : ''}; expected one of ${keys.join(', ')}`);
  }
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function choice<T extends string>(v: unknown, options: readonly T[], fallback: T, at: string, err: Err): T {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'string' && (options as readonly string[]).includes(v)) return v as T;
  err(at, `expected one of ${options.join(', ')}, got ${JSON.stringify(v)}`);
  return fallback;
}

function positive(v: unknown, fallback: number, at: string, err: Err, integer = false): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0 && (!integer || Number.isInteger(v))) return v;
  err(at, `expected a positive ${integer ? 'whole number' : 'number'}, got ${JSON.stringify(v)}`);
  return fallback;
}

/** The `privacy:` section. Problems go to `err` with the JSON path, which config.ts maps to a line. */
export function parsePrivacySection(value: unknown, err: Err): PrivacyConfig {
  if (value === undefined || value === null) return DEFAULT_PRIVACY_CONFIG;
  if (!isMapping(value)) {
    err('privacy', `expected a mapping with some of ${KEYS.join(', ')}`);
    return DEFAULT_PRIVACY_CONFIG;
  }
  unknownKeys(value, KEYS, 'privacy', err);
  const d = DEFAULT_PRIVACY_CONFIG;
  return {
    pii: choice(value.pii, ['hash', 'drop'] as const, d.pii, 'privacy.pii', err),
    ip: choice(value.ip, ['truncate', 'drop'] as const, d.ip, 'privacy.ip', err),
    pseudonymize: pseudonymizeSetting(value.pseudonymize, err),
    consentDefaults: consentSetting(value.consent, err),
    retention: retentionSetting(value.retention, err),
    budget: budgetSetting(value.budget, err),
    minGroupSize: positive(value.min_group_size, d.minGroupSize, 'privacy.min_group_size', err, true),
  };
}

function pseudonymizeSetting(v: unknown, err: Err): PrivacyConfig['pseudonymize'] {
  if (v === undefined || v === null || v === false) return null;
  if (!isMapping(v)) {
    err('privacy.pseudonymize', 'expected a mapping with key_env (an environment variable) or key_file (a path outside the data folder)');
    return null;
  }
  unknownKeys(v, ['key_env', 'key_file'], 'privacy.pseudonymize', err);
  const hasEnv = v.key_env !== undefined;
  const hasFile = v.key_file !== undefined;
  if (hasEnv === hasFile) {
    err('privacy.pseudonymize', 'expected exactly one of key_env or key_file (the key itself never goes in strata.yaml)');
    return null;
  }
  const name = hasEnv ? v.key_env : v.key_file;
  if (typeof name !== 'string' || name.length === 0) {
    err(`privacy.pseudonymize.${hasEnv ? 'key_env' : 'key_file'}`, 'expected a non-empty string');
    return null;
  }
  if (hasEnv && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    err('privacy.pseudonymize.key_env', `expected an environment variable name, got ${JSON.stringify(name)}`);
    return null;
  }
  return hasEnv ? { keyEnv: name } : { keyFile: name };
}

function consentSetting(v: unknown, err: Err): PrivacyConfig['consentDefaults'] {
  const defaults = { ...DEFAULT_PRIVACY_CONFIG.consentDefaults };
  if (v === undefined || v === null) return defaults;
  if (!isMapping(v)) {
    err('privacy.consent', `expected a mapping of purpose (${CONSENT_PURPOSES.join(', ')}) to granted or denied`);
    return defaults;
  }
  unknownKeys(v, CONSENT_PURPOSES, 'privacy.consent', err);
  for (const purpose of CONSENT_PURPOSES) {
    const s = v[purpose];
    if (s === undefined) continue;
    if (s === 'granted' || s === 'denied') defaults[purpose] = s === 'granted';
    else err(`privacy.consent.${purpose}`, `expected granted or denied, got ${JSON.stringify(s)}`);
  }
  return defaults;
}

function retentionSetting(v: unknown, err: Err): PrivacyConfig['retention'] {
  if (v === undefined || v === null) return DEFAULT_PRIVACY_CONFIG.retention;
  if (!isMapping(v)) {
    err('privacy.retention', 'expected a mapping with snapshots_days and/or scores_days');
    return DEFAULT_PRIVACY_CONFIG.retention;
  }
  unknownKeys(v, ['snapshots_days', 'scores_days'], 'privacy.retention', err);
  const days = (x: unknown, at: string) => (x === undefined || x === null ? null : positive(x, 0, at, err, true) || null);
  return { snapshotsDays: days(v.snapshots_days, 'privacy.retention.snapshots_days'), scoresDays: days(v.scores_days, 'privacy.retention.scores_days') };
}

function budgetSetting(v: unknown, err: Err): PrivacyConfig['budget'] {
  const d = DEFAULT_PRIVACY_CONFIG.budget;
  if (v === undefined || v === null) return d;
  if (!isMapping(v)) {
    err('privacy.budget', 'expected a mapping with epsilon, rho and delta');
    return d;
  }
  unknownKeys(v, ['epsilon', 'rho', 'delta'], 'privacy.budget', err);
  const delta = positive(v.delta, d.delta, 'privacy.budget.delta', err);
  if (delta >= 1) err('privacy.budget.delta', `expected a number below 1 (for example 1e-6), got ${delta}`);
  return { epsilon: positive(v.epsilon, d.epsilon, 'privacy.budget.epsilon', err), rho: positive(v.rho, d.rho, 'privacy.budget.rho', err), delta };
}
