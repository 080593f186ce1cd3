/**
 * Plan inference on DuckDB: how the values of each field of a source look, per event,
 * counted set-based over the first `maxRows` rows. The type tests are the ingest
 * converters (ingest-values.ts), so what infers as a number ingests as one.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { StrataError } from '../../errors/errors.js';
import { duckdbDialect } from '../../segments/compile/duckdb-dialect.js';
import type { FieldProfile, SourceFile, SourceMapping, SourceProfile } from '../event-store.js';
import { describeSource, readerSql, sourceError } from './ingest-source.js';
import { isBooleanWord, isoLikeText, nativeFieldType, numberFromText, sourceValue, timestampFromText } from './ingest-values.js';

const q = duckdbDialect.quoteIdentifier;
const lit = duckdbDialect.stringLiteral;

let scratchCounter = 0;

export async function profileSource(connection: DuckDBConnection, source: SourceFile, mapping: SourceMapping, maxRows: number): Promise<SourceProfile> {
  const { columns } = await describeSource(connection, source);
  const events = mapping.kind === 'events';
  const mapped = [mapping.user, mapping.time, mapping.event && 'column' in mapping.event ? mapping.event.column : null, mapping.id].filter(
    (k): k is string => k !== null,
  );
  const limit = Math.max(1, Math.floor(maxRows));
  const rows = async (sql: string) => {
    try {
      return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    } catch (e) {
      throw /^(Invalid Input|IO|Conversion|Invalid) Error/.test((e as Error).message)
        ? sourceError(source, e)
        : new StrataError('STORE_ERROR', `profiling ${source.label} failed: ${(e as Error).message}`, [], { cause: e });
    }
  };
  const textOf = (column: string, nativeType: string) => `nullif(${sourceValue(column, nativeType, 'text')}, '')`;
  const eventOf = (ref: (name: string) => string, nativeType: (name: string) => string) =>
    !events ? 'NULL::VARCHAR' : 'literal' in mapping.event! ? lit(mapping.event.literal) : textOf(ref(mapping.event!.column), nativeType(mapping.event!.column));
  // present, booleans, numbers, timestamps
  const counts = (x: string) => [
    `count(${x})`,
    `count_if(${isBooleanWord(x)})`,
    `count_if(${numberFromText(x)} IS NOT NULL)`,
    `count_if(${isoLikeText(x)} AND ${timestampFromText(x)} IS NOT NULL)`,
  ];

  if (columns !== null) {
    const fields = columns.filter((c) => !mapped.includes(c.name));
    const ref = (name: string) => `_strata_src.${q(name)}`;
    const nativeType = (name: string) => columns.find((c) => c.name === name)?.type ?? 'VARCHAR';
    const aggregates = fields.map((c, k) => {
      const native = nativeFieldType(c.type);
      if (native === undefined) {
        const x = `v${k}`;
        return `[${counts(x).join(', ')}] AS a${k}`;
      }
      // A typed column says what it is; only its presence is counted.
      const n = `count(v${k})`;
      return `[${n}, ${native === 'boolean' ? n : 0}, ${native === 'number' ? n : 0}, ${native === 'timestamp' ? n : 0}] AS a${k}`;
    });
    const values = fields.map((c, k) => `${nativeFieldType(c.type) === undefined ? textOf(ref(c.name), c.type) : ref(c.name)} AS v${k}`);
    const result = await rows(
      `SELECT _event, count(*) AS n${aggregates.map((a) => `, ${a}`).join('')}
       FROM (SELECT ${eventOf(ref, nativeType)} AS _event${values.map((v) => `, ${v}`).join('')} FROM ${readerSql(source)} AS _strata_src LIMIT ${limit})
       ${events ? 'WHERE _event IS NOT NULL' : ''}
       GROUP BY _event`,
    );
    const profile: FieldProfile[] = [];
    for (const r of result) {
      fields.forEach((c, k) => {
        const [present, booleans, numbers, timestamps] = (r[`a${k}`] as unknown[]).map(Number) as [number, number, number, number];
        if (present > 0) profile.push({ event: events ? String(r._event) : null, field: c.name, present, booleans, numbers, timestamps });
      });
    }
    return {
      rows: result.reduce((s, r) => s + Number(r.n), 0),
      events: events ? result.map((r) => ({ event: String(r._event), rows: Number(r.n) })) : [],
      fields: profile,
    };
  }

  // JSON: keys vary per row, so count over the (key, value) entries of the top level and the container.
  const table = `strata_infer_${process.pid}_${++scratchCounter}`;
  const container = `_strata_src.j[${lit(mapping.container)}]`;
  const ref = (name: string) => `_strata_src.j[${lit(name)}]`;
  await rows(
    `CREATE TEMP TABLE ${q(table)} AS
     SELECT ${eventOf(ref, () => 'VARCHAR')} AS _event,
       list_concat(
         list_filter(map_entries(_strata_src.j), lambda e: e.key NOT IN (${[...mapped, mapping.container].map(lit).join(', ')})),
         map_entries(CASE WHEN starts_with(${container}, '{') THEN try(json_transform(${container}, '"MAP(VARCHAR, VARCHAR)"')) END)
       ) AS _entries
     FROM (SELECT * FROM ${readerSql(source)} LIMIT ${limit}) AS _strata_src`,
  );
  try {
    const where = events ? 'WHERE _event IS NOT NULL' : '';
    const perEvent = await rows(`SELECT _event, count(*) AS n FROM ${q(table)} ${where} GROUP BY _event`);
    const perField = await rows(
      `SELECT _event, k, ${counts('v').map((c, i) => `${c} AS c${i}`).join(', ')}
       FROM (SELECT _event, e.key AS k, nullif(e.value, '') AS v FROM (SELECT _event, unnest(_entries) AS e FROM ${q(table)} ${where}))
       WHERE v IS NOT NULL
       GROUP BY _event, k`,
    );
    return {
      rows: perEvent.reduce((s, r) => s + Number(r.n), 0),
      events: events ? perEvent.map((r) => ({ event: String(r._event), rows: Number(r.n) })) : [],
      fields: perField.map((r) => {
        const [present, booleans, numbers, timestamps] = [r.c0, r.c1, r.c2, r.c3].map(Number) as [number, number, number, number];
        return { event: events ? String(r._event) : null, field: String(r.k), present, booleans, numbers, timestamps };
      }),
    };
  } finally {
    await rows(`DROP TABLE IF EXISTS ${q(table)}`);
  }
}
