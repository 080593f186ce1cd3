/**
 * Segment compute against hand-written DuckDB, on a generated product of 10M (and 100M)
 * events for about 1M users.
 *
 * - Per demo segment: Strata's compiled member query (compileSegmentMembers) against the
 *   hand-written query in hand-queries.ts, both counted with `SELECT count(*) FROM (...)`,
 *   interleaved, medians of the repetitions. Goal: strata / hand <= 1.2.
 * - All segments as one batch (compileSegmentBatch, every column materialized with
 *   count_if) against the sum of the single compiled computes. Goal: batch / sum <= 0.5.
 * Before any timing, both queries of a segment must return the same members (count and
 * sum of hash(user_id)), and the batch's column counts must equal the single counts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoPlan } from '../src/demo/demo-plan.js';
import { compileSegmentBatch, compileSegmentMembers } from '../src/segments/compile/index.js';
import { HAND_QUERIES, timestampLiteral } from './hand-queries.js';
import { loadDemoSegments } from './support/demo-segments.js';
import { formatProfile, profileQuery } from './support/explain.js';
import { interleave, repeat, secondsOf, type Timing } from './support/measure.js';
import { eachScale, withProductStore, type ProductBenchOptions, type ProductScale } from './support/product-store.js';
import { RESULTS_DIR, printTable, ratio, seconds } from './support/report.js';
import { formatCount } from './support/scale.js';

export interface SegmentsBenchOptions extends ProductBenchOptions {
  /** Write EXPLAIN ANALYZE of both queries for segments slower than the goal. */
  readonly explain: boolean;
}

export const SEGMENT_GOAL = 1.2;
const EXPLAIN_DIR = join(RESULTS_DIR, 'explain');
export const BATCH_GOAL = 0.5;

export interface SegmentFigure {
  readonly key: string;
  readonly members: number;
  readonly sameMembers: boolean;
  readonly strata: Timing;
  readonly hand: Timing | null;
  /** strata median / hand median. */
  readonly ratio: number | null;
}

export interface SegmentsScaleResult extends ProductScale {
  readonly population: number;
  readonly segments: readonly SegmentFigure[];
  readonly batch: {
    readonly timing: Timing;
    /** Median time of all single compiled computes run back to back (interleaved with the batch). */
    readonly sumOfSingles: number;
    /** The sum of the per-segment medians measured earlier, for cross-checking. */
    readonly sumOfSingleMedians: number;
    readonly ratio: number;
    readonly countsMatch: boolean;
  };
}

const countOf = (sql: string) => `SELECT count(*) AS n FROM (${sql})`;
const fingerprintOf = (sql: string) => `SELECT count(*) AS n, coalesce(sum(hash(user_id)), 0)::VARCHAR AS h FROM (${sql})`;

export function runSegmentsBench(options: SegmentsBenchOptions): Promise<SegmentsScaleResult[]> {
  return eachScale(options, (events) => runScale(events, options));
}

function runScale(events: number, options: SegmentsBenchOptions): Promise<SegmentsScaleResult> {
  const plan = demoPlan();
  const segments = loadDemoSegments(plan);
  return withProductStore('segments', events, plan, options, async ({ store, asOfMs, scale }) => {
    const asOf = timestampLiteral(asOfMs);
    const dialect = store.dialect;
    const population = Number((await store.query(`SELECT count(*) AS n FROM users WHERE has_profile OR first_event_at < ${asOf}`))[0]!.n);

    if (options.explain) mkdirSync(EXPLAIN_DIR, { recursive: true });
    const figures: SegmentFigure[] = [];
    for (const segment of segments) {
      const strataSql = compileSegmentMembers(segment.ir, { dialect, asOfMs });
      const hand = HAND_QUERIES[segment.key];
      const handSql = hand?.(asOf);
      // Verification doubles as the warm-up run of both queries.
      const [s] = await store.query(fingerprintOf(strataSql));
      const members = Number(s!.n);
      let sameMembers = true;
      if (handSql) {
        const [h] = await store.query(fingerprintOf(handSql));
        sameMembers = Number(h!.n) === members && h!.h === s!.h;
        if (!sameMembers) {
          process.stdout.write(`  MISMATCH ${segment.key}: strata ${members} members (hash ${s!.h}), hand-written ${h!.n} (hash ${h!.h})\n`);
        }
      } else {
        process.stdout.write(`  no hand-written query for ${segment.key} (add one to bench/hand-queries.ts)\n`);
      }
      const timings = handSql
        ? await interleave(options.repetitions, {
            strata: () => secondsOf(() => store.query(countOf(strataSql))),
            hand: () => secondsOf(() => store.query(countOf(handSql))),
          })
        : { strata: await repeat(options.repetitions, () => secondsOf(() => store.query(countOf(strataSql)))), hand: null };
      const r = timings.hand ? timings.strata.median / timings.hand.median : null;
      figures.push({ key: segment.key, members, sameMembers, strata: timings.strata, hand: timings.hand, ratio: r });
      process.stdout.write(
        `  ${segment.key}: ${members} members, strata ${seconds(timings.strata.median)} s` +
          (timings.hand ? `, hand ${seconds(timings.hand.median)} s, ratio ${ratio(r!)}` : '') +
          '\n',
      );
      if (options.explain && handSql && r !== null && r > SEGMENT_GOAL) {
        const base = join(EXPLAIN_DIR, `segments-${formatCount(events)}-${segment.key}`);
        const strataProfile = await profileQuery(store, countOf(strataSql));
        const handProfile = await profileQuery(store, countOf(handSql));
        const summary = `${formatProfile('strata', strataProfile)}\n\n${formatProfile('hand-written', handProfile)}\n`;
        writeFileSync(`${base}.explain.txt`, `${summary}\n-- strata (compiled)\n${strataSql}\n\n-- hand-written\n${handSql}\n`);
        writeFileSync(`${base}.strata.profile.json`, strataProfile.json);
        writeFileSync(`${base}.hand.profile.json`, handProfile.json);
        process.stdout.write(`${summary.replace(/^/gm, '    ')}\n    (profiles in ${base}.*)\n`);
      }
    }

    const batch = compileSegmentBatch(
      segments.map((s) => s.ir),
      { dialect, asOfMs },
    );
    const batchCount = `SELECT count(*) AS population, ${batch.columns.map((c, i) => `count_if(${dialect.quoteIdentifier(c.column)}) AS c${i}`).join(', ')} FROM (${batch.sql})`;
    const [b] = await store.query(batchCount);
    let countsMatch = Number(b!.population) === population;
    if (!countsMatch) process.stdout.write(`  MISMATCH batch: ${b!.population} rows, population ${population}\n`);
    batch.columns.forEach((c, i) => {
      const single = figures.find((f) => f.key === c.key);
      if (!single || Number(b![`c${i}`]) !== single.members) {
        countsMatch = false;
        process.stdout.write(`  MISMATCH batch column ${c.key}: ${b![`c${i}`]} members, single compute ${single?.members}\n`);
      }
    });
    // The batch against all single computes run back to back, interleaved like the rest.
    const singles = segments.map((s) => countOf(compileSegmentMembers(s.ir, { dialect, asOfMs })));
    const batchTimings = await interleave(options.repetitions, {
      batch: () => secondsOf(() => store.query(batchCount)),
      singles: () => secondsOf(async () => {
        for (const sql of singles) await store.query(sql);
      }),
    });
    const batchTiming = batchTimings.batch;
    const sumOfSingles = batchTimings.singles.median;
    if (options.explain && batchTiming.median / sumOfSingles > BATCH_GOAL) {
      const base = join(EXPLAIN_DIR, `segments-${formatCount(events)}-batch`);
      const profile = await profileQuery(store, batchCount, 12);
      writeFileSync(`${base}.explain.txt`, `${formatProfile('batch', profile)}\n\n${batch.sql}\n`);
      writeFileSync(`${base}.profile.json`, profile.json);
      process.stdout.write(`${formatProfile('batch', profile).replace(/^/gm, '    ')}\n    (profile in ${base}.*)\n`);
    }
    const result: SegmentsScaleResult = {
      events: scale.events,
      users: scale.users,
      population,
      asOf: scale.asOf,
      generateSeconds: scale.generateSeconds,
      segments: figures,
      batch: {
        timing: batchTiming,
        sumOfSingles,
        sumOfSingleMedians: figures.reduce((acc, f) => acc + f.strata.median, 0),
        ratio: batchTiming.median / sumOfSingles,
        countsMatch,
      },
    };
    printScale(result);
    return result;
  });
}

function printScale(r: SegmentsScaleResult): void {
  const share = (n: number) => `${((100 * n) / r.population).toFixed(1)}%`;
  printTable(
    `Segments on ${r.events.toLocaleString('en-US')} events, ${r.users.toLocaleString('en-US')} users (population ${r.population.toLocaleString('en-US')}), as of ${r.asOf}; medians in seconds; goal strata/hand <= ${SEGMENT_GOAL}`,
    ['segment', 'members', 'share', 'same', 'strata s', 'hand s', 'strata/hand', 'goal'],
    [
      ...r.segments.map((f) => [
        f.key,
        f.members,
        share(f.members),
        f.hand ? (f.sameMembers ? 'yes' : 'NO') : 'n/a',
        seconds(f.strata.median),
        f.hand ? seconds(f.hand.median) : 'n/a',
        f.ratio === null ? 'n/a' : ratio(f.ratio),
        f.ratio === null ? '' : f.ratio <= SEGMENT_GOAL ? 'met' : 'MISSED',
      ]),
    ],
  );
  printTable(
    `All ${r.segments.length} segments as one batch against the sum of the single computes; goal batch/sum <= ${BATCH_GOAL}`,
    ['batch s', 'singles in sequence s', 'sum of single medians s', 'batch/sum', 'counts match', 'goal'],
    [
      [
        seconds(r.batch.timing.median),
        seconds(r.batch.sumOfSingles),
        seconds(r.batch.sumOfSingleMedians),
        ratio(r.batch.ratio),
        r.batch.countsMatch ? 'yes' : 'NO',
        r.batch.ratio <= BATCH_GOAL ? 'met' : 'MISSED',
      ],
    ],
  );
}
