/**
 * Privacy at ingest, the domain side (issue 7): what a run must do, from the workspace's
 * `privacy:` section and the plan, and the counts of what it did. The work itself is the
 * store's (src/store/duckdb/ingest-privacy.ts; ClickHouse runs the same DuckDB session).
 *
 * - pii fields hashed or dropped, IP fields truncated or dropped (src/privacy/minimize.ts);
 * - user ids pseudonymized with the workspace key (src/privacy/pseudonymize.ts); a workspace
 *   that asks for pseudonymization without a key is refused, never ingested in the clear;
 * - rows of users on the suppression list refused and counted;
 * - analytics consent enforced when the plan declares `$consent`: an event is discarded when
 *   the user's latest analytics `$consent` record at or before the event's instant (stored,
 *   or anywhere in the run; at one instant a denial wins) denies it, or when there is none
 *   and `privacy.consent.analytics` is denied; `$consent` events are always stored; stored
 *   events that a newly ingested opt-out covers are deleted in the same run.
 */
import { StrataError } from '../errors/errors.js';
import { CONSENT_PLAN_FIX, consentPlanProblems } from '../privacy/consent/consent-event.js';
import { DEFAULT_PRIVACY_CONFIG, type PrivacyConfig } from '../privacy/privacy-config.js';
import type { TrackingPlan } from '../schema/tracking-plan.js';
import { emptyPrivacyCounts, type IngestFinishResult, type IngestPrivacy, type IngestPrivacyCounts } from '../store/event-store.js';

/** The store's privacy instructions for one run. */
export function ingestPrivacy(plan: TrackingPlan, config: PrivacyConfig | undefined, key: Uint8Array | null | undefined, ingestedAtMs: number): IngestPrivacy {
  const privacy = config ?? DEFAULT_PRIVACY_CONFIG;
  if (privacy.pseudonymize !== null && (key === null || key === undefined)) {
    const where = 'keyEnv' in privacy.pseudonymize ? 'privacy.pseudonymize.key_env' : 'privacy.pseudonymize.key_file';
    throw new StrataError('PRIVACY_KEY_INVALID', 'the workspace pseudonymizes user ids, but no key was given to ingest', [
      { path: where, message: 'expected the key: pass pseudonymKey = resolvePseudonymKey(config, env) (the CLI does this)' },
    ]);
  }
  const problems = consentPlanProblems(plan);
  if (problems.length > 0 && !privacy.consentDefaults.analytics) {
    // Nobody could ever grant: every event would be discarded.
    throw new StrataError('CONFIG_INVALID', 'privacy.consent.analytics is denied, but the plan cannot record consent', [
      ...problems.map((message) => ({ path: 'plan.events', message })),
      { path: 'plan.events', message: CONSENT_PLAN_FIX },
    ]);
  }
  return {
    pseudonymKey: privacy.pseudonymize === null ? null : key!,
    pii: privacy.pii,
    ip: privacy.ip,
    consent: problems.length === 0 ? { analyticsDefault: privacy.consentDefaults.analytics } : null,
    ingestedAtMs,
  };
}

type Counts = { -readonly [K in keyof IngestPrivacyCounts]: IngestPrivacyCounts[K] extends number ? number : Record<string, number> };

/** Adds up the privacy counts of a run's sources, stores and finish. */
export class PrivacyTally {
  // Fresh objects: the counts are only ever changed here.
  private readonly c = emptyPrivacyCounts() as Counts;

  set noConsent(n: number) {
    this.c.noConsent = n;
  }

  get noConsent(): number {
    return this.c.noConsent;
  }

  addStaged(p: IngestPrivacyCounts | undefined): void {
    if (!p) return;
    this.c.suppressed += p.suppressed;
    this.c.pseudonymized += p.pseudonymized;
    for (const k of ['piiHashed', 'piiDropped', 'ipTruncated', 'ipDropped', 'ipInvalid'] as const) {
      for (const [name, n] of Object.entries(p[k])) this.c[k][name] = (this.c[k][name] ?? 0) + n;
    }
  }

  addFinished(f: IngestFinishResult): void {
    this.c.removedAfterOptOut += f.removedAfterOptOut;
    this.c.consentFromProfiles += f.consentFromProfiles;
  }

  counts(): IngestPrivacyCounts {
    return structuredClone(this.c);
  }
}

/** Every value or row privacy changed or discarded, summed (0: privacy did nothing to the run). */
export function privacyTotal(p: IngestPrivacyCounts): number {
  const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((s, n) => s + n, 0);
  return p.suppressed + p.noConsent + p.removedAfterOptOut + p.pseudonymized + sum(p.piiHashed) + sum(p.piiDropped) + sum(p.ipTruncated) + sum(p.ipDropped) + sum(p.ipInvalid);
}
