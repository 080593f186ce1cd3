/**
 * The data of the experiment benchmark: a DuckDB store holding one A/B test over a product's
 * events, generated inside DuckDB with SQL (hash-based draws, so the same options always
 * give the same rows), written through the same bulk path the other benchmarks use
 * (INSERT ... SELECT into the store's tables after `applyPlan`).
 *
 * - `users` users, each exposed once (`$exposure` with experiment and variant) at a uniform
 *   instant of the experiment's first 30 days; the variant is the hashed assignment of
 *   src/experiments/design/assign.ts (SHA-256 of `<seed>:variant:<user_id>`, first 4 bytes
 *   mod 10000, 50/50), computed here in SQL and checked against `assignVariant` on a sample.
 * - conversion: `core_task_completed` for ~30% of users (33% treated, 36% for treated
 *   members of the segment) up to 10 days after exposure, so some land after the 7-day
 *   window; 20% also had one in the 10 days before exposure.
 * - count: `project_created`, geometric per user (mean 2.5, 2.7 treated), from 5 days
 *   before to 20 days after exposure (the 14-day window keeps about half).
 * - sum: `purchase` with `amount` (lognormal, in cents) for 20% of users (21% treated), one
 *   to three each, from 5 days before to 35 days after exposure.
 * - noise: `page_viewed`, one per user on average, around the exposure.
 * - traits `plan` and `company_size`; the segment `larger-teams` (company_size >= 50, about
 *   17% of users) is stored and snapshotted at the experiment's start, the breakdown.
 * Events end at asOf (45 days after the start, 15 after the stop), so users exposed in the
 * last 28 days before asOf are immature for the 28-day revenue metric.
 *
 * The store is built in `<dir>/experiment-<users>/` and reused by a later run when it was
 * kept (`--keep`) and its `meta.json` says the same generator and size.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assignVariant } from '../../src/experiments/design/assign.js';
import type { ExperimentDefinition, MetricDefinition } from '../../src/experiments/design/types.js';
import { parsePlan, type TrackingPlan } from '../../src/schema/tracking-plan.js';
import { parseSegmentText, validateSegment } from '../../src/segments/language/index.js';
import { SegmentRegistry } from '../../src/segments/registry/index.js';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import { TABLES } from '../../src/store/schema.js';
import { timed } from './measure.js';
import { seconds } from './report.js';
import { formatCount } from './scale.js';

const DAY_MS = 86_400_000;
/** Bump when the generated rows change, so kept stores are rebuilt. */
const GENERATOR_VERSION = 1;

export const EXPERIMENT_KEY = 'checkout-redesign';
export const SEGMENT_KEY = 'larger-teams';
/** 2025-01-01T00:00:00Z. */
export const START_MS = Date.UTC(2025, 0, 1);
export const STOP_MS = START_MS + 30 * DAY_MS;
export const AS_OF_MS = START_MS + 45 * DAY_MS;
export const VARIANTS = ['control', 'treatment'] as const;

export const EXPERIMENT_PLAN: TrackingPlan = parsePlan({
  undeclared: 'drop',
  session_gap: '30m',
  events: {
    $exposure: { properties: { experiment: 'string', variant: 'string' } },
    core_task_completed: { properties: {} },
    project_created: { properties: {} },
    purchase: { properties: { amount: 'number' } },
    page_viewed: { properties: {} },
  },
  traits: { plan: 'string', company_size: 'number' },
});

const SEGMENT_YAML = `
key: ${SEGMENT_KEY}
name: Teams of 50 or more
objective: conversion
rationale: Larger teams may respond differently to the checkout; the benchmark's breakdown.
owner: bench
match:
  all:
    - trait: company_size
      gte: 50
`;

/** The benchmark's three metrics, in the normalized form (src/experiments/design/types.ts). */
export const METRICS = {
  activated: {
    key: 'activated', name: 'Activated in 7 days', type: 'conversion', inverse: false, withinMs: 7 * DAY_MS, covariateWindowMs: null,
    measure: { event: 'core_task_completed', where: [], property: null },
  },
  projects: {
    key: 'projects', name: 'Projects in 14 days', type: 'count', inverse: false, withinMs: 14 * DAY_MS, covariateWindowMs: null,
    measure: { event: 'project_created', where: [], property: null },
  },
  revenue: {
    key: 'revenue', name: 'Revenue per user in 28 days', type: 'sum', inverse: false, withinMs: 28 * DAY_MS, covariateWindowMs: null,
    measure: { event: 'purchase', where: [], property: 'amount' },
  },
} as const satisfies Record<string, MetricDefinition>;

/** The experiment, normalized: 50/50, everyone covered, exposure events, no targeting. */
export const EXPERIMENT: ExperimentDefinition = {
  key: EXPERIMENT_KEY,
  name: 'Checkout redesign',
  hypothesis: 'A shorter checkout gets more users to activate and to buy.',
  owner: 'bench',
  tags: ['bench'],
  targeting: [],
  segments: [SEGMENT_KEY],
  variants: VARIANTS.map((key) => ({ key, weight: 0.5 })),
  factors: null,
  coverage: 1,
  seed: EXPERIMENT_KEY,
  hashVersion: 1,
  startMs: START_MS,
  stopMs: STOP_MS,
  exposure: 'event',
  primary: METRICS.activated,
  secondary: [METRICS.projects, METRICS.revenue],
  guardrails: [],
  mde: 0.05,
  alpha: 0.05,
  power: 0.8,
  method: 'frequentist',
  sides: 'two',
  difference: 'relative',
  sequentialTuning: 5000,
  prior: null,
  bandit: null,
};

export interface ExperimentStoreOptions {
  readonly users: number;
  readonly dir?: string;
  readonly keep: boolean;
  readonly threads?: number;
  readonly memoryLimit?: string;
}

export interface ExperimentScale {
  readonly users: number;
  readonly events: number;
  readonly exposures: number;
  /** Seconds generating took (0 when a kept store was reused). */
  readonly generateSeconds: number;
  readonly reused: boolean;
  readonly storeBytes: number;
  readonly asOf: string;
}

export interface ExperimentStore {
  readonly store: DuckDbStore;
  readonly registry: SegmentRegistry;
  /** The snapshot of the segment at the experiment's start (the breakdown). */
  readonly snapshotId: number;
  readonly scale: ExperimentScale;
}

interface Meta {
  readonly generator: number;
  readonly users: number;
  readonly events: number;
  readonly exposures: number;
  readonly generateSeconds: number;
}

/**
 * Open (generating it when needed) the store for `options.users` users and hand it to
 * `run`; the store is closed, and its folder removed unless --keep, however `run` ends.
 */
export async function withExperimentStore<R>(options: ExperimentStoreOptions, run: (s: ExperimentStore) => Promise<R>): Promise<R> {
  const folder = join(options.dir ?? join(tmpdir(), 'strata-bench'), `experiment-${formatCount(options.users)}`);
  const metaFile = join(folder, 'meta.json');
  const storeFile = join(folder, 'store.duckdb');
  const kept = readMeta(metaFile);
  const reuse = kept !== null && kept.generator === GENERATOR_VERSION && kept.users === options.users && existsSync(storeFile);
  if (!reuse) {
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
  }
  const store = await DuckDbStore.open({
    path: storeFile,
    ...(options.threads ? { threads: options.threads } : {}),
    ...(options.memoryLimit ? { memoryLimit: options.memoryLimit } : {}),
  });
  try {
    await store.applyPlan(EXPERIMENT_PLAN);
    const registry = new SegmentRegistry(store, EXPERIMENT_PLAN);
    let meta: Meta;
    if (reuse) {
      meta = kept;
      process.stdout.write(`\nexperiment: reusing the kept store in ${folder} (${meta.events.toLocaleString('en-US')} events)\n`);
    } else {
      process.stdout.write(`\nexperiment: generating ${formatCount(options.users)} exposed users in ${folder} ...\n`);
      const generated = await timed(async () => {
        await generateExperimentData(store, options.users);
        await registry.add([validateSegment(parseSegmentText(SEGMENT_YAML, 'bench/support/experiment-store.ts'), EXPERIMENT_PLAN)]);
        await registry.snapshot(SEGMENT_KEY, { asOfMs: START_MS });
        await store.execute('CHECKPOINT');
        return counts(store);
      });
      meta = { generator: GENERATOR_VERSION, users: options.users, ...generated.value, generateSeconds: generated.seconds };
      writeFileSync(metaFile, JSON.stringify(meta));
      process.stdout.write(`  ${meta.events.toLocaleString('en-US')} events, ${meta.exposures.toLocaleString('en-US')} exposures in ${seconds(generated.seconds)} s\n`);
    }
    await checkAssignment(store);
    const snapshot = await registry.snapshot(SEGMENT_KEY, { asOfMs: START_MS });
    const storeBytes = Number((await store.query(`SELECT total_blocks * block_size AS bytes FROM pragma_database_size()`))[0]!.bytes);
    const scale: ExperimentScale = {
      users: meta.users,
      events: meta.events,
      exposures: meta.exposures,
      generateSeconds: reuse ? 0 : meta.generateSeconds,
      reused: reuse,
      storeBytes,
      asOf: new Date(AS_OF_MS).toISOString(),
    };
    return await run({ store, registry, snapshotId: snapshot.snapshotId, scale });
  } finally {
    await store.close();
    if (!options.keep) rmSync(folder, { recursive: true, force: true });
  }
}

function readMeta(file: string): Meta | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Meta;
  } catch {
    return null;
  }
}

async function counts(store: DuckDbStore): Promise<{ events: number; exposures: number }> {
  const rows = await store.query(
    `SELECT count(*) AS events, count(*) FILTER (WHERE event = '$exposure') AS exposures FROM ${TABLES.events}`,
  );
  return { events: Number(rows[0]!.events), exposures: Number(rows[0]!.exposures) };
}

/** The variant bucket in SQL, as src/experiments/design/hash.ts defines it for version 1. */
function variantBucketSql(userIdExpr: string): string {
  return `(('0x' || left(sha256('${EXPERIMENT.seed}:variant:' || ${userIdExpr}), 8))::UBIGINT % 10000)`;
}

/** The SQL split must be assign.ts's: compare a sample of users' variants. */
async function checkAssignment(store: DuckDbStore): Promise<void> {
  const rows = await store.query(
    `SELECT user_id, p_variant AS variant FROM ${TABLES.events} WHERE event = '$exposure' USING SAMPLE 2000 ROWS`,
  );
  const wrong = rows.filter((r) => assignVariant(EXPERIMENT, String(r.user_id)).variant !== r.variant);
  if (wrong.length > 0) {
    throw new Error(`bench/support/experiment-store.ts: ${wrong.length} of ${rows.length} sampled users have a variant other than assignVariant's (first: ${String(wrong[0]!.user_id)})`);
  }
}

/** Write the users, their profiles and every event (in time order) into an empty store. */
async function generateExperimentData(store: DuckDbStore, users: number): Promise<void> {
  // Uniform draws in [0, 1) from the top 53 bits of a hash (as support/product-data.ts).
  await store.execute(`CREATE OR REPLACE TEMP MACRO gen_u(a, b) AS ((hash(xor(hash(a), hash(b))) >> 11)::DOUBLE / 9007199254740992.0)`);
  await store.execute(
    `CREATE OR REPLACE TEMP MACRO gen_u3(a, b, c) AS ((hash(xor(hash(xor(hash(a), hash(b))), hash(c))) >> 11)::DOUBLE / 9007199254740992.0)`,
  );
  const half = 5000; // 50/50: variant buckets [0, 5000) control, [5000, 10000) treatment
  await store.execute(`
    CREATE OR REPLACE TEMP TABLE gen_users AS
    SELECT *,
      treated AND company_size >= 50 AS treated_member
    FROM (
      SELECT i, user_id,
        ${START_MS} + floor(gen_u(i, 'exposure') * ${30 * DAY_MS})::BIGINT AS t0,
        ${variantBucketSql('user_id')} >= ${half} AS treated,
        greatest(1, round(exp(2.5 + 1.5 * sqrt(-2 * ln(1 - gen_u(i, 's1'))) * cos(2 * pi() * gen_u(i, 's2')))))::DOUBLE AS company_size,
        CASE WHEN gen_u(i, 'plan') < 0.8 THEN 'free' WHEN gen_u(i, 'plan') < 0.95 THEN 'pro' ELSE 'team' END AS plan
      FROM (SELECT i, printf('u%08d', i) AS user_id FROM range(${users}) t(i))
    )`);
  const row = (event: string, stream: string, j: string, ms: string, extra: { experiment?: string; variant?: string; amount?: string } = {}) =>
    `SELECT user_id, '${event}' AS event, ${ms} AS ms, '${stream}' AS stream, ${j} AS j,
       ${extra.experiment ?? 'NULL'}::VARCHAR AS p_experiment, ${extra.variant ?? 'NULL'}::VARCHAR AS p_variant, ${extra.amount ?? 'NULL'}::DOUBLE AS p_amount`;
  const conversion = `CASE WHEN treated_member THEN 0.36 WHEN treated THEN 0.33 ELSE 0.30 END`;
  const body = [
    row('$exposure', 'x', '0', 't0', { experiment: `'${EXPERIMENT_KEY}'`, variant: `CASE WHEN treated THEN 'treatment' ELSE 'control' END` }) + ' FROM gen_users',
    // converted after exposure (up to 10 days: ~70% inside the 7-day window), and some before
    row('core_task_completed', 'c', '0', `t0 + floor(gen_u(i, 'conv_t') * ${10 * DAY_MS})::BIGINT`) + ` FROM gen_users WHERE gen_u(i, 'conv') < ${conversion}`,
    row('core_task_completed', 'c', '1', `t0 - 1 - floor(gen_u(i, 'pre_t') * ${10 * DAY_MS})::BIGINT`) + ` FROM gen_users WHERE gen_u(i, 'pre') < 0.2`,
    // projects: a geometric count per user, spread over [t0 - 5d, t0 + 20d)
    row('project_created', 'p', 'j', `t0 - ${5 * DAY_MS} + floor(gen_u3(i, j, 'proj_t') * ${25 * DAY_MS})::BIGINT`) +
      ` FROM (SELECT *, floor(-ln(1 - gen_u(i, 'proj')) * CASE WHEN treated THEN 2.7 ELSE 2.5 END)::BIGINT AS n FROM gen_users) u, LATERAL range(u.n) r(j)`,
    // purchases: one to three for a fifth of users, over [t0 - 5d, t0 + 35d)
    row('purchase', 'b', 'j', `t0 - ${5 * DAY_MS} + floor(gen_u3(i, j, 'buy_t') * ${40 * DAY_MS})::BIGINT`, {
      amount: `round(exp(3 + 0.8 * sqrt(-2 * ln(1 - gen_u3(i, j, 'a1'))) * cos(2 * pi() * gen_u3(i, j, 'a2'))), 2)`,
    }) +
      ` FROM (SELECT *, 1 + floor(gen_u(i, 'buys') * 3)::BIGINT AS n FROM gen_users WHERE gen_u(i, 'buyer') < CASE WHEN treated THEN 0.21 ELSE 0.20 END) u, LATERAL range(u.n) r(j)`,
    // noise the metrics must skip: page views around the exposure
    row('page_viewed', 'v', 'j', `t0 - ${10 * DAY_MS} + floor(gen_u3(i, j, 'view_t') * ${40 * DAY_MS})::BIGINT`) +
      ` FROM (SELECT *, floor(gen_u(i, 'views') * 3)::BIGINT AS n FROM gen_users) u, LATERAL range(u.n) r(j)`,
  ].join('\nUNION ALL\n');
  await store.execute(`
    INSERT INTO ${TABLES.events} BY NAME
    SELECT user_id || ':' || stream || ':' || j AS event_id, user_id, event, epoch_ms(ms) AS ts,
      epoch_ms(${AS_OF_MS}::BIGINT) AS ingested_at, p_experiment, p_variant, p_amount
    FROM (${body})
    WHERE ms < ${AS_OF_MS}
    ORDER BY ts`);
  await store.execute(`
    INSERT INTO ${TABLES.profiles} BY NAME
    SELECT user_id, epoch_ms(${START_MS}::BIGINT) AS updated_at, plan AS t_plan, company_size AS t_company_size FROM gen_users`);
  await store.execute(`
    INSERT INTO ${TABLES.users} (user_id, first_event_at, has_profile)
    SELECT user_id, min(ts), true FROM ${TABLES.events} GROUP BY user_id`);
  await store.execute(`DROP TABLE gen_users`);
}
