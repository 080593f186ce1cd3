/**
 * Recording consent through the library or `strata privacy consent --set`: each setting
 * becomes a `$consent` event ingested through the normal ingest path (validation against
 * the plan, the workspace's privacy at ingest, dedupe), then one `consent.set` audit record
 * names who recorded what. Consent is only ever stored as those events (consent-event.ts).
 */
import { StrataError } from '../../errors/errors.js';
import { appendAudit, LIBRARY_ACTOR } from '../../governance/audit-log.js';
import { ingestEventRecords, type EventRecord, type IngestRecordsOptions } from '../../ingest/ingest-records.js';
import type { IngestReport } from '../../ingest/ingest-report.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { EventStore } from '../../store/event-store.js';
import { formatInstant } from '../../time/time.js';
import type { PrivacyConfig } from '../privacy-config.js';
import { pseudonymizeUserId } from '../pseudonymize.js';
import { suppressionHash } from '../suppression.js';
import { CONSENT_EVENT, CONSENT_PLAN_FIX, CONSENT_PURPOSES, GRANTED_PROPERTY, PURPOSE_PROPERTY, SOURCE_PROPERTY, consentPlanProblems, isConsentPurpose, type ConsentPurpose } from './consent-event.js';

export interface ConsentSetting {
  readonly purpose: ConsentPurpose;
  readonly granted: boolean;
}

export interface SetConsentRequest {
  /** The user id as ingest receives it (a pseudonymizing workspace maps it at ingest). */
  readonly userId: string;
  /** One or more purposes; or `purpose` and `granted` for one. */
  readonly settings?: readonly ConsentSetting[];
  readonly purpose?: ConsentPurpose;
  readonly granted?: boolean;
  /** Where the consent came from (banner, api, cli, ...); default `api`. */
  readonly source?: string;
  /** When it was given, epoch ms; default now. */
  readonly atMs?: number;
  /** Who records it, for the audit log; default `library`. */
  readonly actor?: string;
}

export interface SetConsentResult {
  readonly userId: string;
  readonly settings: readonly ConsentSetting[];
  readonly source: string;
  readonly atMs: number;
  /** The id as stored: the pseudonym when `pseudonymKey` was given, else userId. */
  readonly storedUserId: string;
  /** The ingest run that stored the records (`stored` 0 with `duplicates` > 0: the same records were already stored). */
  readonly ingest: IngestReport;
  /** The `consent.set` audit record's sequence number. */
  readonly auditSeq: number;
}

export const DEFAULT_CONSENT_SOURCE = 'api';

/**
 * Record consent settings for one user. `config.privacy` (the workspace's) applies at ingest
 * as for any event; on a pseudonymizing workspace pass the key as `ingestOptions.pseudonymKey`
 * (`resolvePseudonymKey(config, env)`). Throws PLAN_INVALID when the plan cannot carry
 * consent, INPUT_INVALID for a bad purpose, source or instant, and INPUT_INVALID when ingest
 * refuses the records (its reasons in the details).
 *
 * @example
 *   await setConsent(config, store, { userId: 'u1', purpose: 'marketing', granted: true, source: 'banner', actor: 'ana' })
 */
export async function setConsent(
  config: { readonly plan: TrackingPlan; readonly privacy?: PrivacyConfig },
  store: EventStore,
  request: SetConsentRequest,
  ingestOptions: IngestRecordsOptions = {},
): Promise<SetConsentResult> {
  const problems = consentPlanProblems(config.plan);
  if (problems.length > 0) {
    throw new StrataError('PLAN_INVALID', `consent cannot be recorded: ${problems.join('; ')}`, [{ path: 'plan.events', message: CONSENT_PLAN_FIX }]);
  }
  const settings = settingsOf(request);
  const source = request.source ?? DEFAULT_CONSENT_SOURCE;
  if (source.trim() === '') throw new StrataError('INPUT_INVALID', 'the consent source is empty', [{ path: 'source', message: 'expected where the consent came from, such as banner, api or cli' }]);
  if (request.userId === '') throw new StrataError('INPUT_INVALID', 'the user id is empty', [{ path: 'userId', message: 'expected a user id' }]);
  const atMs = request.atMs ?? Date.now();
  if (!Number.isSafeInteger(atMs)) throw new StrataError('INPUT_INVALID', `the consent instant must be whole epoch milliseconds, got ${atMs}`, [{ path: 'atMs', message: 'expected epoch ms' }]);

  const timestamp = formatInstant(atMs);
  const records: EventRecord[] = settings.map((s) => ({
    user_id: request.userId,
    event: CONSENT_EVENT,
    timestamp,
    properties: { [PURPOSE_PROPERTY]: s.purpose, [GRANTED_PROPERTY]: s.granted, [SOURCE_PROPERTY]: source },
  }));
  // The normal ingest path with the workspace's privacy at ingest (pseudonymization needs the key: `ingestOptions.pseudonymKey`).
  const ingest = await ingestEventRecords(store, records, config.plan, { ...(config.privacy ? { privacy: config.privacy } : {}), ...ingestOptions });
  if (ingest.rejected > 0) {
    throw new StrataError(
      'INPUT_INVALID',
      `ingest refused ${ingest.rejected} of ${records.length} consent record${records.length === 1 ? '' : 's'}`,
      Object.entries(ingest.rejectReasons).map(([reason, n]) => ({ path: 'records', message: `${n} x ${reason}` })),
    );
  }
  const key = ingestOptions.pseudonymKey;
  const storedUserId = key ? pseudonymizeUserId(key, request.userId) : request.userId;
  // The audit log is append-only and outlives erasure: it names the user by the SHA-256 of the stored id, as erasure does.
  const audit = await appendAudit(store, {
    actor: request.actor ?? LIBRARY_ACTOR,
    action: 'consent.set',
    target: `user:${suppressionHash(storedUserId)}`,
    detail: { settings, source, at: timestamp, stored: ingest.stored, duplicates: ingest.duplicates },
  });
  return { userId: request.userId, storedUserId, settings, source, atMs, ingest, auditSeq: audit.seq };
}

function settingsOf(request: SetConsentRequest): ConsentSetting[] {
  const single = request.purpose !== undefined || request.granted !== undefined;
  if (single === (request.settings !== undefined)) {
    throw new StrataError('INPUT_INVALID', 'expected either settings or purpose and granted', [{ path: 'settings', message: 'give settings: [{purpose, granted}, ...] or purpose and granted' }]);
  }
  const settings = request.settings ?? [{ purpose: request.purpose!, granted: request.granted! }];
  if (settings.length === 0) throw new StrataError('INPUT_INVALID', 'no consent settings given', [{ path: 'settings', message: 'expected at least one {purpose, granted}' }]);
  const seen = new Set<string>();
  settings.forEach((s, i) => {
    if (!isConsentPurpose(s.purpose)) {
      throw new StrataError('INPUT_INVALID', `unknown consent purpose ${JSON.stringify(s.purpose)}`, [{ path: `settings[${i}].purpose`, message: `expected one of ${CONSENT_PURPOSES.join(', ')}` }]);
    }
    if (typeof s.granted !== 'boolean') {
      throw new StrataError('INPUT_INVALID', `consent for ${s.purpose} must be granted (true) or denied (false)`, [{ path: `settings[${i}].granted`, message: `expected true or false, got ${JSON.stringify(s.granted)}` }]);
    }
    // Two settings of one purpose at one instant would be a tie that the denial wins: say so instead.
    if (seen.has(s.purpose)) throw new StrataError('INPUT_INVALID', `consent for ${s.purpose} is given twice`, [{ path: `settings[${i}].purpose`, message: 'expected each purpose once' }]);
    seen.add(s.purpose);
  });
  return settings.map((s) => ({ purpose: s.purpose, granted: s.granted }));
}
