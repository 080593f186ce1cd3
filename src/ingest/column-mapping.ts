/**
 * Where the user, the time, the event name and the event id are in a source. Tabular
 * files name columns; JSON names top-level keys, and nests the rest under `properties`
 * (events) or `traits` (profiles) or keeps them flat.
 */
import path from 'node:path';
import { StrataError, type ErrorDetail } from '../errors/errors.js';
import { isValidName } from '../schema/tracking-plan.js';
import type { SourceMapping, SourceShape } from '../store/event-store.js';

export interface ColumnMapping {
  /** The user id column (default `user_id`). */
  readonly user?: string;
  /** The timestamp column of events (default `timestamp`). */
  readonly time?: string;
  /** The event name column (default `event`), or one event name for every row of the file. */
  readonly event?: string | { readonly literal: string };
  /** A unique event id column (default `event_id` when the file has one); without it a content hash stands in. */
  readonly id?: string;
  /**
   * Events: each row's id is its file's base name and line (`orders.csv:1234`), so exact
   * repeated rows are distinct events and re-ingesting the same file stays idempotent.
   * Excludes `id`.
   */
  readonly rowIds?: boolean;
}

export const DEFAULT_MAPPING = { user: 'user_id', time: 'timestamp', event: 'event', id: 'event_id' } as const;

/** The mapping for one source, checked against its columns (a tabular file must have every mapped column). */
export function resolveMapping(kind: 'events' | 'profiles', mapping: ColumnMapping | undefined, shape: SourceShape, label: string): SourceMapping {
  const user = mapping?.user ?? DEFAULT_MAPPING.user;
  const columns = shape.columns?.map((c) => c.name) ?? null;
  if (kind === 'profiles') {
    requireColumns(label, columns, [{ column: user, role: 'user id', option: '--user' }]);
    return { kind, user, time: null, event: null, id: null, container: 'traits' };
  }
  const time = mapping?.time ?? DEFAULT_MAPPING.time;
  const given = mapping?.event;
  const event: { column: string } | { literal: string } = typeof given === 'object' ? { literal: given.literal } : { column: given ?? DEFAULT_MAPPING.event };
  if ('literal' in event && !isValidName(event.literal)) {
    throw new StrataError('MAPPING_INVALID', `the event name ${JSON.stringify(event.literal)} is not a valid name`, [
      { path: '--event', message: 'expected 1 to 128 characters without control characters' },
    ]);
  }
  if (mapping?.rowIds === true && mapping.id !== undefined) {
    throw new StrataError('MAPPING_INVALID', '--row-ids and --id both say where event ids come from; give one', [
      { path: '--row-ids', message: 'row ids (file name and line) replace an id column: drop --id, or drop --row-ids to use the column' },
    ]);
  }
  if (mapping?.rowIds === true) {
    requireColumns(label, columns, eventColumns(user, time, event));
    return { kind, user, time, event, id: null, rowIds: rowIdPrefix(label), container: 'properties' };
  }
  // The default id column is optional; one named explicitly must exist.
  const explicitId = mapping?.id;
  const id = explicitId ?? (columns === null || columns.includes(DEFAULT_MAPPING.id) ? DEFAULT_MAPPING.id : null);
  const wanted = eventColumns(user, time, event);
  if (explicitId !== undefined) wanted.push({ column: explicitId, role: 'event id', option: '--id' });
  requireColumns(label, columns, wanted);
  return { kind, user, time, event, id, container: 'properties' };
}

function eventColumns(user: string, time: string, event: { column: string } | { literal: string }): Wanted[] {
  const wanted: Wanted[] = [
    { column: user, role: 'user id', option: '--user' },
    { column: time, role: 'timestamp', option: '--time' },
  ];
  if ('column' in event) wanted.push({ column: event.column, role: 'event name', option: '--event' });
  return wanted;
}

/** The id prefix of a file's rows under `rowIds`: its base name (`orders.csv.gz`). */
export function rowIdPrefix(label: string): string {
  return path.basename(label);
}

/**
 * Row ids are unique only while base names are: two files of one run with the same base
 * name would give their rows the same ids (and the second file's rows would be dropped as
 * duplicates), so such a run is refused.
 */
export function checkRowIdFiles(labels: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const label of labels) {
    const base = rowIdPrefix(label);
    const first = seen.get(base);
    if (first !== undefined) {
      throw new StrataError('MAPPING_INVALID', `--row-ids: ${first} and ${label} have the same base name ${JSON.stringify(base)}, so their rows would get the same ids`, [
        { path: label, message: 'rename one of the files (row ids are the base name and the line)' },
      ]);
    }
    seen.set(base, label);
  }
}

interface Wanted {
  readonly column: string;
  readonly role: string;
  readonly option: string;
}

function requireColumns(label: string, columns: readonly string[] | null, wanted: readonly Wanted[]): void {
  if (columns === null) return;
  const missing = wanted.filter((w) => !columns.includes(w.column));
  if (missing.length === 0) return;
  const available = columns.map((c) => JSON.stringify(c)).join(', ');
  const details: ErrorDetail[] = missing.map((w) => ({
    path: `${label}: ${w.option}`,
    message: `no column ${JSON.stringify(w.column)} for the ${w.role}; the columns are ${available}`,
  }));
  throw new StrataError(
    'MAPPING_INVALID',
    `${label} has no column ${missing.map((w) => JSON.stringify(w.column)).join(' or ')}; name the right ones with ${missing.map((w) => w.option).join(', ')}`,
    details,
  );
}
