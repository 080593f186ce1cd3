/**
 * The one validator: the SQL that reads a source, checks every row against the tracking
 * plan, converts values to their declared types and computes the event id, in a single
 * statement that materializes a scratch table. Rows are never looked at one by one in JS.
 *
 * The staged table keeps file order (DuckDB preserves insertion order for a scan), so its
 * `rowid` is the row's position in the file and gives the line number of a reject.
 *
 * Staged columns: user_id, event, ts, event_id, _hashed (events: the id is the content hash); f0..fn (the declared fields
 * present in the source, typed); _dropped (names of undeclared fields with a value, when
 * the source can have any; NULL on rows without one); _reason (NULL for a valid row);
 * _raw (the row as JSON, rejects only).
 *
 * Three ways to read a row, one validator after them:
 * - tabular (CSV, Parquet): fixed columns;
 * - JSON by keys: each object as a MAP of key to text, so every key of every line is seen;
 * - JSON by shape: each object as a STRUCT of the keys the plan knows (mapped keys, the
 *   container as a MAP, declared fields), which DuckDB parses in one pass without key
 *   lookups. Used when undeclared fields are dropped and DuckDB's sample of the file's
 *   first rows shows no other top-level key. Such values are dropped either way; a
 *   top-level key that first appears after the sample is dropped without being counted.
 */
import { duckdbDialect } from '../../segments/compile/duckdb-dialect.js';
import type { FieldType } from '../../schema/tracking-plan.js';
import type { IngestField, IngestSpec, SourceFile, SourceShape } from '../event-store.js';
import { readerSql } from './ingest-source.js';
import { canonicalText, convertValue, sourceValue, timestampFromText, valueSource, type ValueSource } from './ingest-values.js';

const q = duckdbDialect.quoteIdentifier;
const lit = duckdbDialect.stringLiteral;

export interface StagedField {
  readonly field: IngestField;
  /** The column in the staged table. */
  readonly column: string;
}

export interface StagingPlan {
  readonly sql: string;
  readonly fields: readonly StagedField[];
  /** Whether the staged table has a `_dropped` column (some field can be undeclared for some row). */
  readonly hasDropped: boolean;
  /** JSON read by shape: a line whose container is not an object fails the statement; stage again by keys. */
  readonly byShape: boolean;
}

const EXPECTED: Readonly<Record<FieldType, string>> = {
  string: 'a string',
  number: 'a finite number',
  boolean: 'a boolean (true, false, 1 or 0)',
  timestamp: 'a timestamp (ISO-8601, YYYY-MM-DD HH:MM:SS, or epoch seconds or milliseconds)',
};

const MAP_OF_TEXT = 'MAP(VARCHAR, VARCHAR)';

/** A list literal of strings, typed even when empty. */
function stringList(values: readonly string[]): string {
  return values.length === 0 ? '[]::VARCHAR[]' : `[${values.map(lit).join(', ')}]`;
}

function inList(x: string, values: readonly string[]): string {
  return values.length === 0 ? 'false' : `${x} IN (${values.map(lit).join(', ')})`;
}

/** How the rows of one source are read, before validation. */
interface RowReader {
  readonly from: string;
  /** Columns carried from the reader into the validator. */
  readonly carry: readonly string[];
  /** The non-empty text of a mapped column or key. */
  text(name: string): string;
  has(name: string): boolean;
  /** The source value of a declared field (as `valueSource` says). */
  value(field: IngestField, source: ValueSource): string;
  /**
   * JSON: look a field up only on rows of events that declare it. Its key elsewhere still
   * counts as undeclared, since the JSON undeclared-field check works from the keys.
   */
  readonly lookUpDeclaredOnly: boolean;
  nativeType(name: string): string;
  /**
   * The names of the undeclared fields with a value, or NULL; null when the source cannot
   * have any. Per field: its source value, its test for the row's event, and its typed
   * value (NULL when absent, undeclared for the event, or not of its type).
   */
  dropped(fields: readonly { field: IngestField; value: string; gate: string | null; typed: string }[]): string | null;
  /** True when the container is there but is not an object (JSON only). */
  readonly containerNotObject: string | null;
  /** The row as JSON, for the rejects file. */
  readonly raw: string;
}

export interface StagingOptions {
  /** JSON: read by keys even when reading by shape would do (after a by-shape read failed). */
  readonly byKeys?: boolean;
}

/** `CREATE TEMP TABLE table AS ...` for one source whose shape (and mapping) were checked. */
export function stagingSql(table: string, source: SourceFile, shape: SourceShape, spec: IngestSpec, options: StagingOptions = {}): StagingPlan {
  const events = spec.kind === 'events';
  const noun = events ? 'property' : 'trait';
  const mapped = [...new Set([spec.user, spec.time, spec.event && 'column' in spec.event ? spec.event.column : null, spec.id])].filter(
    (k): k is string => k !== null,
  );
  const reserved = [...new Set([...mapped, spec.container])];
  const columns = shape.columns;
  const byShape = columns === null && !options.byKeys && shapeFits(shape, spec, reserved);
  const reader: RowReader =
    columns !== null ? tabularReader(source, columns, spec, mapped) : byShape ? jsonShapedReader(source, spec, reserved) : jsonKeyedReader(source, spec, reserved);

  // The declared fields this source can hold, each with its test for the events that declare it.
  const present = spec.fields.filter((f) => !mapped.includes(f.name) && reader.has(f.name));
  const staged: StagedField[] = present.map((field, i) => ({ field, column: `f${i}` }));
  const allEvents = new Set(spec.declaredEvents);
  // A property declared by only some events is undeclared on the others' rows. The test is
  // computed once per row (column g<i>) for the conversion, the undeclared-field check and
  // the reject reason.
  const gateTests = present.map((f) =>
    f.events === null || spec.declaredEvents.every((e) => f.events!.includes(e)) ? null : inList('_event', f.events.filter((e) => allEvents.has(e))),
  );
  const gate = (i: number) => (gateTests[i] === null ? null : `g${i}`);
  const sources = present.map((f) => valueSource(reader.nativeType(f.name), f.type));

  // Level 1: the parts of each row as values, straight off the reader.
  const l1: string[] = [...reader.carry];
  l1.push(`${reader.text(spec.user)} AS _user`);
  if (events) {
    const ev = spec.event!;
    l1.push(`${'literal' in ev ? lit(ev.literal) : reader.text(ev.column)} AS _event`);
    l1.push(`${reader.text(spec.time!)} AS _time`);
    l1.push(`${spec.id !== null && reader.has(spec.id) ? reader.text(spec.id) : 'NULL::VARCHAR'} AS _id`);
  }
  const gateColumns = gateTests.flatMap((g, i) => (g === null ? [] : [`${g} AS g${i}`]));
  const values = present.map((f, i) => {
    const found = reader.value(f, sources[i]!);
    const value = reader.lookUpDeclaredOnly && gate(i) ? `CASE WHEN ${gate(i)} THEN ${found} END` : found;
    // An empty text is no value for a typed field (CSV reads empty cells as NULL already; JSON "" too).
    const empty = sources[i] === 'text' && f.type !== 'string';
    return `${empty ? `nullif(${value}, '')` : value} AS v${i}`;
  });
  // Columns are read where the reader is in scope; looked-up JSON values after the gates.
  if (!reader.lookUpDeclaredOnly) l1.push(...values.splice(0));

  // Level 2: typed values.
  const l2: string[] = ['*'];
  if (events) l2.push(`${timestampFromText('_time')} AS _ts`);
  present.forEach((f, i) => {
    const conv = convertValue(`v${i}`, sources[i]!, f.type);
    l2.push(`${gate(i) ? `CASE WHEN ${gate(i)} THEN ${conv} END` : conv} AS f${i}`);
  });
  // Level 3: the undeclared fields of the row.
  const dropped = reader.dropped(present.map((field, i) => ({ field, value: `v${i}`, gate: gate(i), typed: `f${i}` })));

  // Level 4: the first reason a row cannot be stored, in a fixed order.
  const reasons: string[] = [];
  const label = (name: string) => JSON.stringify(name);
  reasons.push(`WHEN _user IS NULL THEN ${lit(`missing user (${label(spec.user)})`)}`);
  if (events) {
    const ev = spec.event!;
    if ('column' in ev) reasons.push(`WHEN _event IS NULL THEN ${lit(`missing event (${label(ev.column)})`)}`);
    reasons.push(`WHEN _time IS NULL THEN ${lit(`missing timestamp (${label(spec.time!)})`)}`);
    reasons.push(`WHEN _ts IS NULL THEN ${lit(`unparseable timestamp (${label(spec.time!)}): expected ${EXPECTED.timestamp}`)}`);
    reasons.push(`WHEN NOT (${inList('_event', spec.declaredEvents)}) THEN 'event ' || to_json(_event)::VARCHAR || ' is not in the tracking plan'`);
  }
  if (reader.containerNotObject) reasons.push(`WHEN _cbad THEN ${lit(`${label(spec.container)} is not an object`)}`);
  present.forEach((f, i) => {
    reasons.push(
      `WHEN v${i} IS NOT NULL AND f${i} IS NULL${gate(i) ? ` AND ${gate(i)}` : ''} THEN ${lit(`${noun} ${label(f.name)}: expected ${EXPECTED[f.type]}`)}`,
    );
  });
  if (dropped && spec.undeclared === 'reject') {
    reasons.push(`WHEN len(_dropped) > 0 THEN ${lit(`undeclared ${noun} `)} || to_json(_dropped[1])::VARCHAR`);
  }

  // Final projection: what the store keeps, the event id, and the raw row of rejects.
  const out: string[] = ['_user AS user_id'];
  if (events) {
    const hash = contentHashSql('_user', '_event', '_ts', staged);
    // _hashed: the id is the content hash, recomputed when privacy changes a value it covers.
    out.push('_event AS event', '_ts AS ts', `CASE WHEN _reason IS NULL THEN coalesce(_id, ${hash}) END AS event_id`, '_id IS NULL AS _hashed');
  }
  for (const s of staged) out.push(s.column);
  if (dropped) out.push('_dropped');
  // Only rejects need their raw row, so it is built for them alone.
  out.push('_reason', `CASE WHEN _reason IS NOT NULL THEN ${reader.raw} END AS _raw`);

  // Each level reads the one below: reader, gates, values, typed values, undeclared fields, reason.
  const levels = [
    `SELECT ${l1.join(', ')} FROM ${reader.from}`,
    `SELECT *${gateColumns.map((g) => `, ${g}`).join('')}`,
    `SELECT *${values.map((v) => `, ${v}`).join('')}`,
    `SELECT ${l2.join(', ')}`,
    `SELECT *${dropped ? `, ${dropped} AS _dropped` : ''}`,
    `SELECT *, CASE ${reasons.join(' ')} END AS _reason`,
    `SELECT ${out.join(', ')}`,
  ];
  const sql = `CREATE TEMP TABLE ${q(table)} AS ${levels.reduce((inner, level) => `${level}${inner ? ` FROM (\n${inner}\n)` : ''}`, '')}`;
  return { sql, fields: staged, hasDropped: dropped !== null, byShape };
}

/**
 * The content-hash event id over the stored values in a canonical text, so the same event
 * hashes alike from any format; absent properties are skipped (NULLs drop out of
 * concat_ws), so declaring a new property does not change the hash of rows without it.
 */
export function contentHashSql(user: string, event: string, ts: string, staged: readonly StagedField[]): string {
  const hashed = [...staged]
    .sort((a, b) => (a.field.name < b.field.name ? -1 : a.field.name > b.field.name ? 1 : 0))
    .map((s) => `${lit(s.field.name)} || chr(30) || ${canonicalText(s.column, s.field.type)}`);
  return `'h:' || md5(concat_ws(chr(31), ${user}, ${event}, CAST(epoch_ms(${ts}) AS VARCHAR)${hashed.map((h) => `, ${h}`).join('')}))`;
}

/** The declared property names of each event, for the per-row undeclared test of keyed JSON. */
function declaredFor(spec: IngestSpec): string {
  if (spec.kind === 'profiles') return stringList(spec.fields.map((f) => f.name));
  if (spec.declaredEvents.length === 0) return '[]::VARCHAR[]';
  const arms = spec.declaredEvents.map((e) => `WHEN ${lit(e)} THEN ${stringList(spec.fields.filter((f) => f.events?.includes(e)).map((f) => f.name))}`);
  return `CASE _event ${arms.join(' ')} ELSE []::VARCHAR[] END`;
}

/**
 * How many declared fields of the row's event have a typed value. A key of a JSON row is a
 * declared field of its event with a value of its type exactly when there are as many keys
 * as such values; only other rows (undeclared keys, nulls, empty or mistyped values) need
 * their keys examined one by one.
 */
function typedCount(fields: readonly { typed: string }[]): string {
  return fields.length === 0 ? '0' : fields.map((f) => `(${f.typed} IS NOT NULL)::INTEGER`).join(' + ');
}

/** Names of the fields with a value whose test says they are undeclared on this row: NULL when there are none. */
function candidateList(candidates: readonly { when: string; name: string }[]): string | null {
  if (candidates.length === 0) return null;
  const list = `list_filter([${candidates.map((c) => `CASE WHEN ${c.when} THEN ${lit(c.name)} END`).join(', ')}], lambda x: x IS NOT NULL)`;
  return `CASE WHEN ${candidates.map((c) => `(${c.when})`).join(' OR ')} THEN ${list} END`;
}

function tabularReader(source: SourceFile, columns: NonNullable<SourceShape['columns']>, spec: IngestSpec, mapped: readonly string[]): RowReader {
  const ref = (name: string) => `_strata_src.${q(name)}`;
  const nativeType = (name: string) => columns.find((c) => c.name === name)?.type ?? 'VARCHAR';
  const names = new Set(columns.map((c) => c.name));
  const declared = new Set(spec.fields.map((f) => f.name));
  // Columns neither mapped nor declared: undeclared wherever they have a value.
  const extra = columns.map((c, k) => ({ name: c.name, column: `u${k}` })).filter((c) => !mapped.includes(c.name) && !declared.has(c.name));
  return {
    from: `${readerSql(source)} AS _strata_src`,
    carry: ['_strata_src AS _row', ...extra.map((c) => `${ref(c.name)} AS ${c.column}`)],
    text: (name) => `nullif(${sourceValue(ref(name), nativeType(name), 'text')}, '')`,
    has: (name) => names.has(name),
    value: (field, src) => sourceValue(ref(field.name), nativeType(field.name), src),
    lookUpDeclaredOnly: false,
    nativeType,
    dropped: (gated) =>
      candidateList([
        ...extra.map((c) => ({ when: `${c.column} IS NOT NULL`, name: c.name })),
        ...gated.filter((g) => g.gate !== null).map((g) => ({ when: `${g.value} IS NOT NULL AND NOT ${g.gate}`, name: g.field.name })),
      ]),
    containerNotObject: null,
    raw: 'to_json(_row)',
  };
}

/**
 * JSON by keys. _extra counts the top-level keys that are not mapped or the container: in
 * the usual nested file it is 0, and no field is looked up at the top level at all.
 */
function jsonKeyedReader(source: SourceFile, spec: IngestSpec, reserved: readonly string[]): RowReader {
  const keys = reserved.map((k, i) => `_strata_src.j[${lit(k)}] AS _k${i}`);
  const container = `_k${reserved.indexOf(spec.container)}`;
  const from = `(SELECT *,
        CASE WHEN starts_with(${container}, '{') THEN try(json_transform(${container}, '"${MAP_OF_TEXT}"')) END AS _c,
        cardinality(_j) - (${reserved.map((_, i) => `(_k${i} IS NOT NULL)::INTEGER`).join(' + ')}) AS _extra
      FROM (SELECT _strata_src.j AS _j, ${keys.join(', ')} FROM ${readerSql(source, { type: MAP_OF_TEXT })} AS _strata_src))`;
  return {
    from,
    carry: ['_j', '_c', '_extra', `${container} IS NOT NULL AND _c IS NULL AS _cbad`],
    text: (name) => `nullif(_k${reserved.indexOf(name)}, '')`,
    has: () => true,
    lookUpDeclaredOnly: true,
    value: (field) =>
      reserved.includes(field.name) ? `_c[${lit(field.name)}]` : `coalesce(_c[${lit(field.name)}], CASE WHEN _extra > 0 THEN _j[${lit(field.name)}] END)`,
    nativeType: () => 'VARCHAR',
    dropped: (gated) => {
      const topLevel = `list_filter(map_entries(_j), lambda e: e.key NOT IN (${reserved.map(lit).join(', ')}))`;
      const names = `list_distinct(list_transform(list_filter(list_concat(${topLevel}, map_entries(_c)), lambda e: e.value IS NOT NULL AND NOT list_contains(${declaredFor(spec)}, e.key)), lambda e: e.key))`;
      return `CASE WHEN _extra + coalesce(cardinality(_c), 0) <> ${typedCount(gated)} THEN ${names} END`;
    },
    containerNotObject: '_cbad',
    // A nested object stays an object in the rejects file rather than escaped text.
    raw: `CASE WHEN _c IS NULL THEN to_json(_j) ELSE json_merge_patch(to_json(_j), json_object(${lit(spec.container)}, to_json(_c))) END`,
  };
}

/** Whether JSON can be read by shape: see the file comment. */
function shapeFits(shape: SourceShape, spec: IngestSpec, reserved: readonly string[]): boolean {
  if (spec.undeclared !== 'drop' || shape.sampledKeys === undefined) return false;
  const known = [...reserved, ...spec.fields.map((f) => f.name).filter((n) => !reserved.includes(n))];
  // STRUCT field names are matched exactly but must differ in more than case.
  if (new Set(known.map((k) => k.toLowerCase())).size !== known.length) return false;
  return shape.sampledKeys.every((k) => known.includes(k));
}

function jsonShapedReader(source: SourceFile, spec: IngestSpec, reserved: readonly string[]): RowReader {
  const flat = spec.fields.filter((f) => !reserved.includes(f.name));
  const members = [
    ...reserved.map((k) => `${q(k)} ${k === spec.container ? MAP_OF_TEXT : 'VARCHAR'}`),
    ...flat.map((f) => `${q(f.name)} VARCHAR`),
  ];
  const member = (name: string) => `_j.${q(name)}`;
  return {
    from: `(SELECT _strata_src.j AS _j, _strata_src.j.${q(spec.container)} AS _c FROM ${readerSql(source, { type: `STRUCT(${members.join(', ')})` })} AS _strata_src)`,
    carry: ['_j', '_c'],
    text: (name) => `nullif(${member(name)}, '')`,
    has: () => true,
    value: (field) => (reserved.includes(field.name) ? `_c[${lit(field.name)}]` : `coalesce(_c[${lit(field.name)}], ${member(field.name)})`),
    lookUpDeclaredOnly: true,
    nativeType: () => 'VARCHAR',
    dropped: (gated) => {
      // Top-level fields can only be declared ones here; the container may hold anything.
      const top = candidateList(
        gated.filter((g) => g.gate !== null && !reserved.includes(g.field.name)).map((g) => ({ when: `${member(g.field.name)} IS NOT NULL AND NOT ${g.gate}`, name: g.field.name })),
      );
      const nested = `list_transform(list_filter(map_entries(_c), lambda e: e.value IS NOT NULL AND NOT list_contains(${declaredFor(spec)}, e.key)), lambda e: e.key)`;
      // Flat members are rare in a nested file: count them only when there is one.
      const flatCount =
        flat.length === 0
          ? ''
          : ` + CASE WHEN coalesce(${flat.map((f) => member(f.name)).join(', ')}) IS NULL THEN 0 ELSE ${flat.map((f) => `(${member(f.name)} IS NOT NULL)::INTEGER`).join(' + ')} END`;
      return `CASE WHEN coalesce(cardinality(_c), 0)${flatCount} <> ${typedCount(gated)} THEN list_distinct(list_concat(${top ?? '[]::VARCHAR[]'}, ${nested})) END`;
    },
    containerNotObject: null,
    // Members the line did not have are null; merging into {} leaves them out.
    raw: `json_merge_patch('{}', to_json(_j))`,
  };
}
