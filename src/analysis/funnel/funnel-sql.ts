/**
 * The funnel in SQL, per user, for any store dialect (run it with `store.queryByUser`).
 *
 * Per user the query finds K, the furthest step reached, and the attempt whose times the
 * table reports: among the starts reaching K, the earliest. An attempt is followed from a
 * start s (an event of step 1 in the entry window; for `any` order, an event of any step):
 * - sequential: each next step at the earliest event of that step strictly after the
 *   previous step (greedy: for a fixed start this reaches furthest);
 * - strict: the user's next instant strictly after the previous step, which must hold an
 *   event of the next step (so no event of any kind lies strictly between two steps);
 * - any: each step j at its earliest event at or after s; the attempt reaches k when steps
 *   1..k are all found and s is the time of one of them (s is the attempt's first event).
 * Every step must lie strictly before s + span. `c<j>` is the instant the attempt had
 * completed steps 1..j: the step's own time in sequential and strict order, the latest of
 * steps 1..j in any order (so time from the previous step is never negative).
 *
 * Two renderings of the same relation, chosen by capability (segments/compile/dialect.ts):
 * - with ASOF joins and CTEs (DuckDB): one relation per step holding the starts still in
 *   the chain, each next step found by an ASOF join (as batch-plan.ts follows a segment's
 *   funnel chain; strict order also finds each step instant's next instant, by one ASOF
 *   join into all events), the chains' levels UNIONed and reduced per user with argMin;
 * - without (ClickHouse 18.16): one GROUP BY per user into sorted arrays of each step's
 *   times, one row per start by ARRAY JOIN, each next step found by a search in its array
 *   (`ArrayFunctions.firstIndex`), then the same per-user reduction.
 *
 * The table is either computed in SQL with exact quantiles (dialects with
 * `exactQuantiles`, on a store answering in one part) or returned as an exact frequency
 * table of (group, K, time from the previous step per step) for TypeScript to merge across
 * parts (funnel-quantiles.ts).
 */
import { StrataError } from '../../errors/errors.js';
import { comparisonSql } from '../../segments/compile/comparison-sql.js';
import type { ArrayFunctions, SqlDialect } from '../../segments/compile/dialect.js';
import type { EventFilter, Window } from '../../segments/ir/nodes.js';
import { TABLES, propertyColumn } from '../../store/schema.js';
import { breakdownRelation, defaultGroup, memberFilter, type BoundBreakdown } from '../breakdown.js';
import { MAX_FUNNEL_STEPS, type FunnelOrder } from './funnel-definition.js';

export interface FunnelQuery {
  readonly steps: readonly EventFilter[];
  readonly spanMs: number;
  /** The entry window on step 1 (any order: on the attempt's first event): all, relative or absolute. */
  readonly window: Window;
  readonly order: FunnelOrder;
  readonly asOfMs: number;
  /** Count only members of this snapshot (`--segment`). */
  readonly memberSnapshotId: number | null;
  readonly breakdown: BoundBreakdown | null;
}

/** The quantiles of time from the previous step that the table reports. */
export const QUANTILE_FRACTIONS = [0.25, 0.5, 0.75] as const;

/** Column names of the table queries. */
export const FUNNEL_COLUMNS = {
  group: 'funnel_group',
  level: 'k',
  users: 'users',
  reached: (step: number) => `reached_${step}`,
  quantiles: (step: number) => `quantiles_${step}`,
  delta: (step: number) => `delta_${step}`,
} as const;

const E = 'e';
/** Instants earlier than any JavaScript Date bound nothing (as in batch-plan.ts). */
const EARLIEST_MS = -8.64e15;

/** Whether this dialect and store compute the table with quantiles in SQL (else frequency tables). */
export function quantilesInSql(d: SqlDialect, parts: number): boolean {
  return parts === 1 && d.exactQuantiles !== undefined;
}

/** The table in SQL: one row per group with each step's users reached and its quantiles (a list per step). */
export function funnelTableSql(d: SqlDialect, q: FunnelQuery): string {
  const exact = d.exactQuantiles;
  if (exact === undefined) throw new StrataError('INTERNAL', `dialect ${d.name} has no exact quantiles; use funnelFrequencySql`);
  const n = q.steps.length;
  const columns: string[] = [];
  for (let j = 1; j <= n; j++) columns.push(`${d.aggregate('count', null, `k >= ${j}`)} AS ${FUNNEL_COLUMNS.reached(j)}`);
  for (let j = 2; j <= n; j++) columns.push(`${exact(`c${j} - c${j - 1}`, QUANTILE_FRACTIONS, `k >= ${j}`)} AS ${FUNNEL_COLUMNS.quantiles(j)}`);
  return tableQuery(d, q, columns, false);
}

/**
 * The exact frequency table: users per (group, K, time from the previous step at each
 * step up to K). Sums over parts are exact; quantiles follow in funnel-quantiles.ts.
 */
export function funnelFrequencySql(d: SqlDialect, q: FunnelQuery): string {
  const n = q.steps.length;
  const deltas = Array.from({ length: n - 1 }, (_, i) => `CASE WHEN k >= ${i + 2} THEN c${i + 2} - c${i + 1} END`);
  const columns = [FUNNEL_COLUMNS.level, ...deltas.map((x, i) => `${x} AS ${FUNNEL_COLUMNS.delta(i + 2)}`), `${d.aggregate('count', null, null)} AS ${FUNNEL_COLUMNS.users}`];
  return tableQuery(d, q, columns, true, ['k', ...deltas]);
}

/** SELECT [group,] columns FROM the per-user relation [joined to the breakdown] [GROUP BY group, keys]. */
function tableQuery(d: SqlDialect, q: FunnelQuery, columns: readonly string[], grouped: boolean, keys: readonly string[] = []): string {
  const { ctes, users } = perUserRelation(d, q);
  const b = q.breakdown;
  const group = b === null ? null : `coalesce(grp, ${d.stringLiteral(defaultGroup(b))})`;
  const from =
    b === null
      ? `FROM ${users}`
      : (() => {
          const join = d.userJoin('left', 'fu', 'g');
          return `FROM ${users} ${join.keyword} ${breakdownRelation(d, b)} g ${join.condition}`;
        })();
  const groupBy = [...(group === null ? [] : [group]), ...(grouped ? keys : [])];
  const select = [...(group === null ? [] : [`${group} AS ${FUNNEL_COLUMNS.group}`]), ...columns];
  return [
    ...(ctes.length === 0 ? [] : [`WITH ${ctes.map(([name, body]) => `${name} AS (\n${indent(body)}\n)`).join(',\n')}`]),
    `SELECT ${select.join(',\n  ')}`,
    from,
    ...(groupBy.length === 0 ? [] : [`GROUP BY ${groupBy.join(', ')}`]),
  ].join('\n');
}

/**
 * The per-user relation `fu` (user_id, k >= 1, c1..cn) and the CTEs it needs: `users` is
 * what a FROM names (the CTE `fu`, or the whole query inlined as `(...) fu`).
 */
function perUserRelation(d: SqlDialect, q: FunnelQuery): { ctes: [string, string][]; users: string } {
  if (q.steps.length === 0) throw new StrataError('INTERNAL', 'a funnel needs at least one step');
  const c = d.capabilities;
  if (c.asofJoin && c.commonTableExpressions) {
    const ctes = asofChains(d, q);
    return { ctes, users: 'fu' };
  }
  const a = d.arrays;
  if (a === undefined) throw new StrataError('INTERNAL', `dialect ${d.name} has neither ASOF joins with CTEs nor array functions`);
  return { ctes: [], users: `(\n${indent(arrayChains(d, a, q))}\n) fu` };
}

// ---- shared pieces ------------------------------------------------------------------------

interface Bounds {
  /** Starts lie in [fromMs, toMs); fromMs null: no lower bound. */
  readonly fromMs: number | null;
  readonly toMs: number;
  /** No later step can be at or after this: min(asOf, toMs + span). */
  readonly endMs: number;
}

function bounds(q: FunnelQuery): Bounds {
  const asOf = q.asOfMs;
  let fromMs: number | null;
  let toMs: number;
  switch (q.window.kind) {
    case 'all':
      [fromMs, toMs] = [null, asOf];
      break;
    case 'relative':
      [fromMs, toMs] = [asOf - q.window.startMs, Math.min(asOf, asOf - q.window.endMs)];
      break;
    case 'absolute':
      [fromMs, toMs] = [q.window.fromMs, Math.min(asOf, q.window.toMs ?? asOf)];
      break;
    case 'anchored':
      throw new StrataError('INTERNAL', 'the funnel analysis takes within, during or since; an anchored window reached the SQL');
  }
  if (fromMs !== null && fromMs <= EARLIEST_MS) fromMs = null;
  return { fromMs, toMs, endMs: Math.min(asOf, toMs + q.spanMs) };
}

/** Whether an event (alias `e`) matches a step; the dialect's true for `*` without predicates. */
function stepSql(d: SqlDialect, step: EventFilter, asOfMs: number): string {
  const parts = [
    ...(step.event === null ? [] : [`${E}.event = ${d.stringLiteral(step.event)}`]),
    ...step.where.map((p) => comparisonSql(`${E}.${d.quoteIdentifier(propertyColumn(p.property))}`, p.cmp, { dialect: d, asOfMs })),
  ];
  return parts.length === 0 ? d.booleanLiteral(true) : parts.map((p) => `(${p})`).join(' AND ');
}

function anyStepSql(d: SqlDialect, q: FunnelQuery): string {
  const distinct = [...new Set(q.steps.map((s) => stepSql(d, s, q.asOfMs)))];
  return distinct.length === 1 ? distinct[0]! : `(${distinct.map((s) => `(${s})`).join(' OR ')})`;
}

/** The conditions every scanned event meets: before `beforeMs`, from the window's start, a member when restricted. */
function scanWhere(d: SqlDialect, q: FunnelQuery, b: Bounds, beforeMs: number, extra: readonly string[]): string {
  const parts = [
    ...(b.fromMs === null ? [] : [`${E}.ts >= ${d.timestampLiteral(b.fromMs)}`]),
    `${E}.ts < ${d.timestampLiteral(beforeMs)}`,
    ...(q.memberSnapshotId === null ? [] : [memberFilter(d, q.memberSnapshotId, `${E}.user_id`)]),
    ...extra.filter((x) => x !== d.booleanLiteral(true)),
  ];
  return parts.join('\n  AND ');
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

// ---- ASOF rendering ------------------------------------------------------------------------

/**
 * CTEs ending in `fu`. `fc<j>` holds the starts whose attempt reaches step j (user_id, s,
 * c1..cj; any order also `hit`: s is one of steps 1..j); `fl` their levels; `fu` per user
 * K and the times of the earliest start reaching K.
 */
function asofChains(d: SqlDialect, q: FunnelQuery): [string, string][] {
  const n = q.steps.length;
  const b = bounds(q);
  const t = d.epochMs(`${E}.ts`);
  const span = d.numberLiteral(q.spanMs);
  const ctes: [string, string][] = [];
  const events = d.table(TABLES.events);
  const cs = (j: number, prefix = '') => range(1, j).map((i) => `${prefix}c${i}`);

  // One relation of (user_id, t) per distinct step filter that a join reads.
  const stepRelations = new Map<string, string>();
  const stepRows = (step: EventFilter): string => {
    const sql = stepSql(d, step, q.asOfMs);
    let name = stepRelations.get(sql);
    if (name === undefined) {
      name = `fr${stepRelations.size}`;
      stepRelations.set(sql, name);
      ctes.push([name, `SELECT ${E}.user_id, ${t} AS t\nFROM ${events} ${E}\nWHERE ${scanWhere(d, q, b, b.endMs, [sql])}`]);
    }
    return name;
  };
  const join = (left: string, right: string, leftTime: string) => {
    const j = d.nextMatchJoin({ leftKey: 'q.user_id', rightKey: 'r.user_id', leftTime, rightTime: 'r.t' });
    return `FROM ${left} q\n${j.keyword} ${right} r ON ${j.condition}`;
  };

  if (q.order === 'strict') {
    // Sequential, and each step's event must be at the user's next instant after the step
    // before. The next instant after every instant holding a step (but the last) comes from one
    // ASOF join into all events of the range (`fx`); step rows carry it (`next_t`), and a chain
    // goes on only where the next step's earliest event is at that instant.
    const until = q.steps.slice(0, -1).map((st) => stepSql(d, st, q.asOfMs));
    const continuing = until.length === 0 ? null : until.length === 1 ? until[0]! : `(${[...new Set(until)].map((x) => `(${x})`).join(' OR ')})`;
    if (continuing !== null) {
      ctes.push(['fa', `SELECT ${E}.user_id, ${t} AS t\nFROM ${events} ${E}\nWHERE ${scanWhere(d, q, b, b.endMs, [])}`]);
      const instants = `SELECT DISTINCT ${E}.user_id, ${t} AS t\nFROM ${events} ${E}\nWHERE ${scanWhere(d, q, b, b.endMs, [continuing])}`;
      ctes.push(['fx', `SELECT q.user_id, q.t, r.t AS next_t\n${join(`(\n${indent(instants)}\n)`, 'fa', 'q.t')}`]);
    }
    const withNext = (sql: string, beforeMs: number, columns: string) =>
      `SELECT ${E}.user_id, ${columns}, x.next_t\nFROM ${events} ${E}\nLEFT JOIN fx x ON x.user_id = ${E}.user_id AND x.t = ${t}\nWHERE ${scanWhere(d, q, b, beforeMs, [sql])}`;
    const first = stepSql(d, q.steps[0]!, q.asOfMs);
    ctes.push(['fc1', n === 1 ? `SELECT ${E}.user_id, ${t} AS s, ${t} AS c1\nFROM ${events} ${E}\nWHERE ${scanWhere(d, q, b, b.toMs, [first])}` : withNext(first, b.toMs, `${t} AS s, ${t} AS c1`)]);
    for (const j of range(2, n)) {
      const sql = stepSql(d, q.steps[j - 1]!, q.asOfMs);
      let r: string;
      if (j === n) r = stepRows(q.steps[j - 1]!);
      else {
        r = `fn${j}`;
        ctes.push([r, withNext(sql, b.endMs, `${t} AS t`)]);
      }
      const next = j === n ? '' : ', r.next_t';
      ctes.push([`fc${j}`, `SELECT q.user_id, q.s, ${cs(j - 1, 'q.').join(', ')}, r.t AS c${j}${next}\n${join(`fc${j - 1}`, r, `q.c${j - 1}`)}\nWHERE r.t = q.next_t AND r.t < q.s + ${span}`]);
    }
  } else if (q.order === 'sequential') {
    ctes.push(['fc1', `SELECT ${E}.user_id, ${t} AS s, ${t} AS c1\nFROM ${events} ${E}\nWHERE ${scanWhere(d, q, b, b.toMs, [stepSql(d, q.steps[0]!, q.asOfMs)])}`]);
    for (const j of range(2, n)) {
      const r = stepRows(q.steps[j - 1]!);
      ctes.push([`fc${j}`, `SELECT q.user_id, q.s, ${cs(j - 1, 'q.').join(', ')}, r.t AS c${j}\n${join(`fc${j - 1}`, r, `q.c${j - 1}`)}\nWHERE r.t < q.s + ${span}`]);
    }
  } else {
    // Any order: a start is any step's event in the window; each step's first event at or after it (t > s - 1 ms).
    ctes.push(['fs', `SELECT ${E}.user_id, ${t} AS s\nFROM ${events} ${E}\nWHERE ${scanWhere(d, q, b, b.toMs, [anyStepSql(d, q)])}`]);
    for (const j of range(1, n)) {
      const r = stepRows(q.steps[j - 1]!);
      const previous = j === 1 ? [] : cs(j - 1, 'q.');
      const reached = j === 1 ? 'r.t' : `greatest(q.c${j - 1}, r.t)`;
      const hit = j === 1 ? '(r.t = q.s)' : '(q.hit OR r.t = q.s)';
      ctes.push([
        `fc${j}`,
        `SELECT q.user_id, q.s, ${[...previous, `${reached} AS c${j}`, `${hit} AS hit`].join(', ')}\n${join(j === 1 ? 'fs' : `fc${j - 1}`, r, 'q.s - 1')}\nWHERE r.t < q.s + ${span}`,
      ]);
    }
  }
  // Deepest level first, so the UNION takes its column types from a branch without NULLs.
  const levels = range(1, n)
    .reverse()
    .map((j) => {
      const padded = [...cs(j), ...range(j + 1, n).map(() => 'NULL')];
      return `SELECT user_id, ${j} AS lvl, s, ${padded.join(', ')} FROM fc${j}${q.order === 'any' ? ' WHERE hit' : ''}`;
    });
  ctes.push(['fl', levels.join('\nUNION ALL\n')]);
  ctes.push(['fu', perUserReduction(d, q, 'fl')]);
  return ctes;
}

/**
 * Per user: K = the deepest level; each c<j> from the earliest start at that level. The
 * attempt is the smallest (-lvl, s); as one 64-bit integer `s - lvl * W`, with W a power of
 * two wider than the starts' range, it orders the same and compares several times faster
 * than a tuple (DuckDB). With at most MAX_FUNNEL_STEPS levels and instants within a
 * JavaScript Date's range, the key stays far inside 64 bits.
 */
function perUserReduction(d: SqlDialect, q: FunnelQuery, from: string): string {
  const n = q.steps.length;
  if (n > MAX_FUNNEL_STEPS) throw new StrataError('INTERNAL', `a funnel of ${n} steps reached the SQL; at most ${MAX_FUNNEL_STEPS} are allowed`);
  const b = bounds(q);
  const widest = BigInt(b.toMs) - BigInt(b.fromMs ?? EARLIEST_MS);
  // At least 2^32, so the literal is a 64-bit integer in every engine (lvl * 2^30 would overflow 32 bits).
  let width = 2n ** 32n;
  while (width <= widest) width *= 2n;
  // An integer literal reads the same in every dialect; numberLiteral would round one beyond 2^53.
  const key = `s - lvl * ${width.toString()}`;
  const times = range(1, n).map((j) => `${d.argMin(`c${j}`, [key])} AS c${j}`);
  return `SELECT user_id, ${d.aggregate('max', 'lvl', null)} AS k, ${times.join(', ')}\nFROM ${from}\nGROUP BY user_id`;
}

// ---- array rendering -----------------------------------------------------------------------

/**
 * The same relation in one nested query: per user the sorted times of the starts (`starts`)
 * and of each step (`a<j>`; strict also every instant, `times`), one row per start, then one
 * subquery per step computing c<j>, whether the attempt is still going (`ok`), any order's
 * `hit`, and the level so far (`lvl`); lambdas read only their parameters (dialect.ts).
 */
function arrayChains(d: SqlDialect, a: ArrayFunctions, q: FunnelQuery): string {
  const n = q.steps.length;
  const b = bounds(q);
  const t = d.epochMs(`${E}.ts`);
  const span = d.numberLiteral(q.spanMs);
  const before = (ms: number) => `${E}.ts < ${d.timestampLiteral(ms)}`;
  const step = (j: number) => stepSql(d, q.steps[j - 1]!, q.asOfMs);
  const and = (...xs: string[]) => xs.filter((x) => x !== d.booleanLiteral(true)).map((x) => `(${x})`).join(' AND ') || d.booleanLiteral(true);

  const firstStep = q.order === 'sequential' || q.order === 'strict' ? 2 : 1;
  const stepArrays = range(firstStep, n).map((j) => ({ name: `a${j}`, sql: `${a.sortedGroupArray(t, step(j))} AS a${j}` }));
  const startFilter = q.order === 'any' ? anyStepSql(d, q) : step(1);
  const perUserColumns = [
    `${E}.user_id`,
    `${a.sortedGroupArray(t, and(startFilter, before(b.toMs)))} AS starts`,
    ...(q.order === 'strict' ? [`${a.sortedGroupArray(t, null)} AS times`] : []),
    ...stepArrays.map((x) => x.sql),
  ];
  // Strict order reads every event (any event between two steps breaks the chain); the others only the steps'.
  const perUser = `SELECT ${perUserColumns.join(',\n  ')}\nFROM ${d.table(TABLES.events)} ${E}\nWHERE ${scanWhere(d, q, b, b.endMs, q.order === 'strict' ? [] : [anyStepSql(d, q)])}\nGROUP BY ${E}.user_id`;

  const one = d.booleanLiteral(true);
  let carried = ['user_id', 's', ...(q.order === 'strict' ? ['times'] : []), ...stepArrays.map((x) => x.name)];
  let body: string;
  if (q.order === 'any') {
    body = `SELECT ${[...carried, `${one} AS ok`, `${d.booleanLiteral(false)} AS hit`, '0 AS lvl'].join(', ')}\nFROM (\n${indent(perUser)}\n) per_user\n${a.unnest([{ array: 'starts', alias: 's' }])}`;
    carried = [...carried, 'ok', 'hit', 'lvl'];
  } else {
    body = `SELECT ${[...carried, 's AS c1', `${one} AS ok`, '1 AS lvl'].join(', ')}\nFROM (\n${indent(perUser)}\n) per_user\n${a.unnest([{ array: 'starts', alias: 's' }])}`;
    carried = [...carried, 'c1', 'ok', 'lvl'];
  }

  const search = (array: string, after: string, op: '>' | '>=') => a.firstIndex(['x', 'p'], `x ${op} p`, [array, a.repeat(after, array)]);
  for (const j of range(firstStep, n)) {
    const arr = `a${j}`;
    let columns: Record<string, string>;
    if (q.order === 'sequential') {
      const idx = search(arr, `c${j - 1}`, '>');
      const at = a.element(arr, idx);
      columns = { [`c${j}`]: at, ok: and('ok', `${idx} > 0`, `${at} < s + ${span}`) };
    } else if (q.order === 'strict') {
      const next = search('times', `c${j - 1}`, '>');
      const own = search(arr, `c${j - 1}`, '>');
      const at = a.element('times', next);
      columns = { [`c${j}`]: at, ok: and('ok', `${next} > 0`, `${own} > 0`, `${a.element(arr, own)} = ${at}`, `${at} < s + ${span}`) };
    } else {
      const idx = search(arr, 's', '>=');
      const at = a.element(arr, idx);
      columns = {
        [`c${j}`]: j === 1 ? at : `greatest(c${j - 1}, ${at})`,
        ok: and('ok', `${idx} > 0`, `${at} < s + ${span}`),
        hit: `(hit OR (${idx} > 0 AND ${at} = s))`,
      };
    }
    // The attempt's level so far: j where it still holds (any order: and s is one of steps 1..j).
    const holds = q.order === 'any' ? `${columns.ok} AND ${columns.hit}` : columns.ok!;
    columns.lvl = `CASE WHEN ${holds} THEN ${j} ELSE lvl END`;
    // Each step's array is read by its own subquery only.
    const kept = carried.filter((x) => !(x in columns) && x !== arr);
    body = `SELECT ${[...kept, ...Object.entries(columns).map(([name, sql]) => `${sql} AS ${name}`)].join(',\n  ')}\nFROM (\n${indent(body)}\n) chain_${j}`;
    carried = [...kept, ...Object.keys(columns)];
  }
  const perStart = `SELECT user_id, s, lvl, ${range(1, n).map((j) => `c${j}`).join(', ')}\nFROM (\n${indent(body)}\n) chain\nWHERE lvl > 0`;
  return perUserReduction(d, q, `(\n${indent(perStart)}\n) per_start`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
