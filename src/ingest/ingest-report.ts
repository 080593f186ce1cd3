/**
 * What an ingest run did, and the one line the CLI prints about it.
 */
import type { IngestPrivacyCounts } from '../store/event-store.js';

export interface IngestReport {
  readonly runId: string;
  readonly kind: 'events' | 'profiles';
  /** The files as given (`<records>` for in-process batches). */
  readonly files: string[];
  /** Rows read from the sources. */
  readonly read: number;
  /** Rows stored: new events, or profile rows applied (upserted trait by trait). */
  readonly stored: number;
  readonly rejected: number;
  /** Valid events already stored, or repeated within the run (same event id or content hash). */
  readonly duplicates: number;
  /** Undeclared fields dropped, by name: how many stored rows had a value for it. */
  readonly droppedFields: Record<string, number>;
  /** Rejected rows by reason. */
  readonly rejectReasons: Record<string, number>;
  /**
   * What privacy did (issue 7): suppressed rows (in `read`, not in `rejected`), events
   * discarded without consent and stored ones removed after an opt-out, pseudonymized ids,
   * pii and IP values changed or dropped per field.
   */
  readonly privacy?: IngestPrivacyCounts;
  /** Where the rejected rows were written (JSONL); null when there were none or no path was given. */
  readonly rejectsPath: string | null;
  readonly elapsedMs: number;
  /** Rows read per second of the whole run (reading, validating, storing, committing). */
  readonly rowsPerSecond: number;
}

export interface IngestProgress {
  /** `reading` (done/total in bytes of the run's files), `validating` and `storing` (rows of the current file). */
  readonly phase: 'reading' | 'validating' | 'storing';
  readonly done: number;
  readonly total: number;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** `read 1,000 · stored 990 · rejected 10 · duplicates 0 · fields dropped 0 · 250,000 rows/s` and where the rejects went. */
export function formatIngestSummary(report: IngestReport): string {
  const dropped = Object.entries(report.droppedFields).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const droppedTotal = dropped.reduce((s, [, n]) => s + n, 0);
  const droppedNames =
    dropped.length === 0 ? '' : ` (${dropped.slice(0, 3).map(([name, n]) => `${name} ${count(n)}`).join(', ')}${dropped.length > 3 ? `, ${dropped.length - 3} more` : ''})`;
  const parts = [
    `read ${count(report.read)}`,
    `stored ${count(report.stored)}`,
    `rejected ${count(report.rejected)}`,
    `duplicates ${count(report.duplicates)}`,
    `fields dropped ${count(droppedTotal)}${droppedNames}`,
    `${count(report.rowsPerSecond)} rows/s`,
  ];
  return parts.join(' · ') + (report.rejectsPath ? ` · rejects in ${report.rejectsPath}` : '') + formatPrivacy(report.privacy);
}

/** The privacy line: only what happened, on its own line (empty when privacy changed nothing). */
function formatPrivacy(p: IngestPrivacyCounts | undefined): string {
  if (!p) return '';
  const byField = (label: string, r: Readonly<Record<string, number>>) => {
    const e = Object.entries(r).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    if (e.length === 0) return [];
    return [`${label} ${count(e.reduce((s, [, n]) => s + n, 0))} (${e.map(([name, n]) => `${name} ${count(n)}`).join(', ')})`];
  };
  const parts = [
    ...(p.suppressed > 0 ? [`suppressed ${count(p.suppressed)}`] : []),
    ...(p.noConsent > 0 ? [`no consent ${count(p.noConsent)}`] : []),
    ...(p.removedAfterOptOut > 0 ? [`removed after opt-out ${count(p.removedAfterOptOut)}`] : []),
    ...(p.consentFromProfiles > 0 ? [`consent records from profiles ${count(p.consentFromProfiles)}`] : []),
    ...(p.pseudonymized > 0 ? [`pseudonymized ${count(p.pseudonymized)}`] : []),
    ...byField('pii hashed', p.piiHashed),
    ...byField('pii dropped', p.piiDropped),
    ...byField('ip truncated', p.ipTruncated),
    ...byField('ip dropped', p.ipDropped),
    ...byField('invalid ip dropped', p.ipInvalid),
  ];
  return parts.length === 0 ? '' : `\nprivacy: ${parts.join(' · ')}`;
}
