/**
 * A user's consent as the store holds it: their `$consent` events (the history: when, which
 * purpose, granted or denied, from where) and, from them, the consent per purpose as of an
 * instant with where it came from (a record or the workspace default). The rule is the one
 * every segment engine applies to `{consent: PURPOSE}` (consent-event.ts; ConsentNode in
 * src/segments/ir/nodes.ts): the latest record before asOf, a denial winning at one instant,
 * a record without `granted` being no record.
 */
import type { EventStore } from '../../store/event-store.js';
import { TABLES, propertyColumn } from '../../store/schema.js';
import { consentDecision } from '../../segments/ir/consent-filters.js';
import { CONSENT_PURPOSES, type ConsentPurpose, type PrivacyConfig } from '../privacy-config.js';
import { CONSENT_EVENT, GRANTED_PROPERTY, PURPOSE_PROPERTY, SOURCE_PROPERTY } from './consent-event.js';

/** One `$consent` event of the user. */
export interface ConsentRecord {
  /** Epoch ms. */
  readonly atMs: number;
  /** As recorded: normally one of CONSENT_PURPOSES; null when the record has none. */
  readonly purpose: string | null;
  /** null: the record says neither (it is then no record for the rules). */
  readonly granted: boolean | null;
  readonly source: string | null;
}

/** A purpose's consent as of an instant, and where it came from. */
export interface ConsentStatus {
  readonly granted: boolean;
  readonly from: 'record' | 'default';
  /** The deciding record (the latest before asOf), null for the default. */
  readonly record: ConsentRecord | null;
}

export type ConsentState = Readonly<Record<ConsentPurpose, ConsentStatus>>;

/** The user's `$consent` events in time order (same instant: denials first, as they win there). Empty when the plan has never declared them. */
export async function consentHistory(store: EventStore, storedUserId: string): Promise<ConsentRecord[]> {
  const d = store.dialect;
  const col = (p: string) => d.quoteIdentifier(propertyColumn(p));
  let rows: Record<string, unknown>[];
  try {
    rows = await store.query(
      `SELECT ${d.epochMs('ts')} AS at_ms, ${col(PURPOSE_PROPERTY)} AS purpose, ${col(GRANTED_PROPERTY)} AS granted, ${col(SOURCE_PROPERTY)} AS source
FROM ${d.table(TABLES.events)}
WHERE user_id = ${d.stringLiteral(storedUserId)} AND event = ${d.stringLiteral(CONSENT_EVENT)}`,
    );
  } catch (e) {
    // A store whose plan never declared $consent has no such columns, and no consent records.
    if (!(await hasConsentColumns(store))) return [];
    throw e;
  }
  return rows.map(toRecord).sort(byTime);
}

async function hasConsentColumns(store: EventStore): Promise<boolean> {
  const d = store.dialect;
  try {
    await store.query(`SELECT ${d.quoteIdentifier(propertyColumn(GRANTED_PROPERTY))} FROM ${d.table(TABLES.events)} WHERE 1 = 0`);
    return true;
  } catch {
    return false;
  }
}

function toRecord(r: Record<string, unknown>): ConsentRecord {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  // ClickHouse stores booleans as UInt8.
  const g = r.granted;
  const granted = g === null || g === undefined ? null : g === true || Number(g) === 1;
  return { atMs: Number(r.at_ms), purpose: text(r.purpose), granted, source: text(r.source) };
}

function byTime(a: ConsentRecord, b: ConsentRecord): number {
  return a.atMs - b.atMs || Number(a.granted ?? 2) - Number(b.granted ?? 2);
}

/** Consent per purpose as of asOfMs from the user's history (records at or after asOf do not count). */
export function consentState(history: readonly ConsentRecord[], defaults: PrivacyConfig['consentDefaults'], asOfMs: number): ConsentState {
  const out = {} as Record<ConsentPurpose, ConsentStatus>;
  for (const purpose of CONSENT_PURPOSES) {
    let lastGrant: ConsentRecord | undefined;
    let lastDeny: ConsentRecord | undefined;
    for (const r of history) {
      if (r.purpose !== purpose || r.granted === null || !(r.atMs < asOfMs)) continue;
      if (r.granted && (lastGrant === undefined || r.atMs >= lastGrant.atMs)) lastGrant = r;
      if (!r.granted && (lastDeny === undefined || r.atMs >= lastDeny.atMs)) lastDeny = r;
    }
    const granted = consentDecision(lastGrant?.atMs, lastDeny?.atMs, defaults[purpose]);
    const record = lastGrant === undefined && lastDeny === undefined ? null : granted ? lastGrant! : lastDeny!;
    out[purpose] = { granted, from: record === null ? 'default' : 'record', record };
  }
  return out;
}
