/**
 * One user's rows read from the store, typed the way the in-memory evaluator reads them
 * (src/segments/evaluate/memory-dataset.ts): timestamp-typed values as epoch ms, booleans
 * as booleans whatever the engine stores (ClickHouse: UInt8), absent values left out.
 * Only this user's rows are read: a point lookup per table.
 */
import { StrataError } from '../../errors/errors.js';
import { propertyTypes, type FieldType, type TrackingPlan } from '../../schema/tracking-plan.js';
import type { MemoryEvent, MemoryValue } from '../../segments/evaluate/index.js';
import type { EventStore, Row } from '../../store/event-store.js';
import { propertyColumn, TABLES, traitColumn } from '../../store/schema.js';

export interface StoredUser {
  readonly userId: string;
  readonly hasProfile: boolean;
  /** Epoch ms of the user's earliest stored event (all time, not cut at asOf); null without events. */
  readonly firstEventMs: number | null;
  /** Epoch ms of the last profile update; null without a profile. */
  readonly profileUpdatedMs: number | null;
  /** Current traits (profiles are upserted, not versioned by time). */
  readonly traits: Readonly<Record<string, MemoryValue>> | undefined;
  /** Events before asOf, in time order. */
  readonly events: readonly MemoryEvent[];
}

/** The user's row in the population index, profile and events before asOf; USER_NOT_FOUND when the store has no such user. */
export async function readUser(store: EventStore, plan: TrackingPlan, userId: string, asOfMs: number): Promise<StoredUser> {
  const d = store.dialect;
  const id = d.stringLiteral(userId);
  const index = await store.query(
    `SELECT has_profile, ${d.epochMs('first_event_at')} AS first_ms FROM ${d.table(TABLES.users)} u WHERE user_id = ${id}`,
  );
  if (index.length === 0) {
    throw new StrataError('USER_NOT_FOUND', `no user ${JSON.stringify(userId)} in the store`, [
      { path: 'USER_ID', message: 'expected the id of a user with a stored event or profile (ids are case-sensitive)' },
    ]);
  }
  // Typed plan columns exist only once the plan was applied; reading them needs them.
  await store.applyPlan(plan);
  const hasProfile = truthy(index[0]!.has_profile);
  const firstEventMs = numberOrNull(index[0]!.first_ms);

  const traitNames = Object.keys(plan.traits);
  let traits: Record<string, MemoryValue> | undefined;
  let profileUpdatedMs: number | null = null;
  if (hasProfile) {
    const rows = await store.query(
      `SELECT ${[`${d.epochMs('updated_at')} AS updated_ms`, ...traitNames.map((name, i) => `${readAs(d.quoteIdentifier(traitColumn(name)), plan.traits[name]!.type, d.epochMs)} AS c${i}`)].join(', ')}
FROM ${d.table(TABLES.profiles)} p WHERE user_id = ${id}`,
    );
    if (rows[0]) {
      profileUpdatedMs = numberOrNull(rows[0].updated_ms);
      traits = present(traitNames.map((name, i) => [name, typed(rows[0]![`c${i}`], plan.traits[name]!.type)]));
    }
  }

  const types = [...propertyTypes(plan)];
  const eventRows = await store.query(
    `SELECT ${['event', `${d.epochMs('ts')} AS ts_ms`, ...types.map(([name, type], i) => `${readAs(d.quoteIdentifier(propertyColumn(name)), type, d.epochMs)} AS c${i}`)].join(', ')}
FROM ${d.table(TABLES.events)} e WHERE user_id = ${id} AND ts < ${d.timestampLiteral(asOfMs)} ORDER BY ts, event`,
  );
  const events = eventRows.map((r: Row): MemoryEvent => {
    const event = String(r.event);
    const declared = plan.events[event]?.properties ?? {};
    const properties = present(types.flatMap(([name, type], i) => (Object.hasOwn(declared, name) ? [[name, typed(r[`c${i}`], type)] as const] : [])));
    return { userId, event, ts: Number(r.ts_ms), properties };
  });
  return { userId, hasProfile, firstEventMs, profileUpdatedMs, traits, events };
}

function readAs(column: string, type: FieldType, epochMs: (e: string) => string): string {
  return type === 'timestamp' ? epochMs(column) : column;
}

function typed(value: unknown, type: FieldType): MemoryValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (type === 'boolean') return truthy(value);
  if (type === 'number' || type === 'timestamp') return Number(value);
  return String(value);
}

/** fromEntries keeps a name such as __proto__ as data. */
function present(entries: readonly (readonly [string, MemoryValue | undefined])[]): Record<string, MemoryValue> {
  return Object.fromEntries(entries.filter((e): e is readonly [string, MemoryValue] => e[1] !== undefined));
}

function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === 1n || value === '1' || value === 'true';
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}
