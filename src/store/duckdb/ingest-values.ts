/**
 * DuckDB SQL that turns the values of a source row into typed values, set-based. Ingest
 * and plan inference share these expressions, so a value that infers as a number also
 * ingests as one.
 *
 * Every function takes a column reference (never a computed expression) because the
 * reference is repeated inside the CASE expressions it builds.
 */
import type { FieldType } from '../../schema/tracking-plan.js';

/**
 * The ISO-8601 forms that src/time/time.ts `parseInstantMs` accepts: a date alone, or a
 * date, `T` or a space, `HH:MM`, optional seconds and fraction, optional `Z` or `±HH[:]MM`.
 * RE2's `\d`, like JavaScript's, is ASCII only.
 */
const ISO_PATTERN = '\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2})?)?';
/**
 * The two most common forms, `2024-05-01T12:30:05.123Z` and `2024-05-01 12:30:05`, are
 * recognised by GLOB, which is several times cheaper than the regular expression; both are
 * also in ISO_PATTERN, so this only decides how fast a value is parsed, never whether. They
 * carry at most milliseconds, so they need no truncation either.
 */
const D2 = '[0-9][0-9]';
const COMMON_FORMS = [`${D2}${D2}-${D2}-${D2}[T ]${D2}:${D2}:${D2}`, `${D2}${D2}-${D2}-${D2}T${D2}:${D2}:${D2}.[0-9]${D2}Z`];
/** Epoch seconds or milliseconds: digits with an optional fraction, no sign, no exponent. */
const EPOCH_PATTERN = '\\d{1,18}(\\.\\d+)?';
/** Integer parts below this are epoch seconds (up to the year 5138); from it, milliseconds. */
export const EPOCH_SECONDS_BELOW = 100_000_000_000;
/** Integer parts from this on (year 5138 in milliseconds) are rejected: microseconds and beyond are ambiguous. */
export const EPOCH_MILLIS_BELOW = 100_000_000_000_000;

/** True for text in the ISO grammar (not epoch numbers): plan inference calls such columns timestamps. */
export function isoLikeText(x: string): string {
  return `regexp_full_match(${x}, '${ISO_PATTERN}')`;
}

/**
 * Text to a UTC TIMESTAMP truncated to the millisecond, or NULL when it is not one of the
 * accepted forms. Mirrors src/ingest/event-time.ts `parseEventTimeMs` (a test compares them):
 *  - ISO-8601 as `parseInstantMs` reads it. DuckDB's cast does the calendar work; the
 *    checks around it keep it exactly as strict as the TypeScript parser: DuckDB would
 *    also take `24:00:00`, years below 100 and single-digit fields, and it needs seconds
 *    before a zone, so `HH:MM` gets `:00`. The zone-aware value becomes a UTC TIMESTAMP
 *    through its epoch microseconds: the same instant, without a time-zone conversion.
 *  - Epoch numbers: an integer part below 1e11 is seconds (a fraction keeps its first three
 *    digits), below 1e14 milliseconds (fraction dropped), anything larger is rejected.
 */
export function timestampFromText(x: string): string {
  const intPart = `split_part(${x}, '.', 1)::BIGINT`;
  const fracMs = `rpad(left(split_part(${x}, '.', 2), 3), 3, '0')::BIGINT`;
  const withSeconds = `CASE WHEN length(${x}) > 10 AND substr(${x}, 17, 1) <> ':' THEN substr(${x}, 1, 16) || ':00' || substr(${x}, 17) ELSE ${x} END`;
  return `CASE
      WHEN (${COMMON_FORMS.map((p) => `${x} GLOB '${p}'`).join(' OR ')}) AND substr(${x}, 1, 2) <> '00' AND substr(${x}, 12, 2) <= '23'
        THEN make_timestamp(epoch_us(try_cast(${x} AS TIMESTAMPTZ)))
      WHEN ${isoLikeText(x)} AND substr(${x}, 1, 2) <> '00' AND (length(${x}) = 10 OR substr(${x}, 12, 2) <= '23')
        THEN date_trunc('millisecond', make_timestamp(epoch_us(try_cast(${withSeconds} AS TIMESTAMPTZ))))
      WHEN regexp_full_match(${x}, '${EPOCH_PATTERN}') THEN CASE
        WHEN ${intPart} < ${EPOCH_SECONDS_BELOW} THEN make_timestamp(${intPart} * 1000000 + ${fracMs} * 1000)
        WHEN ${intPart} < ${EPOCH_MILLIS_BELOW} THEN make_timestamp(${intPart} * 1000)
      END
    END`;
}

/** Text to a finite DOUBLE (as DuckDB reads numbers: `12`, `-3.5`, `1e3`, `17850.0`), else NULL. */
export function numberFromText(x: string): string {
  return `CASE WHEN isfinite(TRY_CAST(${x} AS DOUBLE)) THEN TRY_CAST(${x} AS DOUBLE) END`;
}

/** `true`/`false` in any case, or `1`/`0`; anything else is NULL. */
export function booleanFromText(x: string): string {
  return `CASE lower(${x}) WHEN 'true' THEN true WHEN '1' THEN true WHEN 'false' THEN false WHEN '0' THEN false END`;
}

/** `true`/`false` words only: for inference, where a 0/1 column is a number. */
export function isBooleanWord(x: string): string {
  return `lower(${x}) IN ('true', 'false')`;
}

/**
 * How a source column is handed to the converter: typed columns (Parquet) skip the text
 * round trip when the target type matches; everything else is read as text, so CSV,
 * JSON and Parquet go through one set of rules.
 */
export type ValueSource = 'text' | 'number' | 'boolean' | 'timestamp';

const NUMERIC_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL(\(\d+,\s*\d+\))?)$/;
const TEMPORAL_TYPE = /^(DATE|TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|TIMESTAMP WITH TIME ZONE)$/;

export function valueSource(nativeType: string, target: FieldType): ValueSource {
  if (target === 'number' && NUMERIC_TYPE.test(nativeType)) return 'number';
  if (target === 'boolean' && nativeType === 'BOOLEAN') return 'boolean';
  if (target === 'timestamp' && TEMPORAL_TYPE.test(nativeType)) return 'timestamp';
  return 'text';
}

/** What inference should call a typed column without looking at its values; undefined for text. */
export function nativeFieldType(nativeType: string): FieldType | undefined {
  if (NUMERIC_TYPE.test(nativeType)) return 'number';
  if (nativeType === 'BOOLEAN') return 'boolean';
  if (TEMPORAL_TYPE.test(nativeType)) return 'timestamp';
  if (nativeType === 'VARCHAR' || nativeType === 'JSON') return undefined;
  return 'string';
}

/** The column as the converter wants it: itself when typed, else its text. */
export function sourceValue(column: string, nativeType: string, source: ValueSource): string {
  if (source !== 'text' || nativeType === 'VARCHAR') return column;
  return `CAST(${column} AS VARCHAR)`;
}

/** Convert a source value (see `sourceValue`) to the column type of `target`; NULL when it does not fit. */
export function convertValue(x: string, source: ValueSource, target: FieldType): string {
  switch (source) {
    case 'number':
      return `CASE WHEN isfinite(${x}::DOUBLE) THEN ${x}::DOUBLE END`;
    case 'boolean':
      return x;
    case 'timestamp':
      // epoch_us reads any DuckDB date or timestamp as UTC, with no session time zone involved.
      return `date_trunc('millisecond', make_timestamp(epoch_us(${x})))`;
    case 'text':
      switch (target) {
        case 'string':
          return x;
        case 'number':
          return numberFromText(x);
        case 'boolean':
          return booleanFromText(x);
        case 'timestamp':
          return timestampFromText(x);
      }
  }
}

/** A canonical text of a typed value, for the content hash: the same event hashes alike from any format. */
export function canonicalText(x: string, type: FieldType): string {
  switch (type) {
    case 'string':
      return x;
    case 'number':
    case 'boolean':
      return `CAST(${x} AS VARCHAR)`;
    case 'timestamp':
      return `CAST(epoch_ms(${x}) AS VARCHAR)`;
  }
}
