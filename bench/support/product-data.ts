/**
 * A synthetic SaaS product shaped like the demo's (same events, properties and traits as
 * src/demo/demo-plan.ts), generated entirely inside DuckDB so that 100M events take
 * minutes, not hours. Deterministic: every random draw is `hash(key...)` of the user index
 * and a label, so the same shape always gives the same rows, on any machine.
 *
 * What makes it realistic enough to benchmark segments on:
 * - signups grow over the 180 days (density rising linearly), during the day in UTC;
 * - a lognormal engagement per user, so activity is heavy-tailed (a few power users);
 * - 30% of users leave within days, the rest have exponential lifetimes (mean 75 days),
 *   and 15% of the churned come back in the last three weeks (resurrection);
 * - an onboarding funnel (signed_up, onboarding_started, profile_completed,
 *   first_project_created, then the core workflow) with drop-off at each step and delays
 *   from minutes to days, so sequence and funnel segments have both outcomes;
 * - activity in sessions of 2 to 8 events a few minutes apart, fewer on weekends;
 * - upgrades to pro or team with monthly or annual purchases in the user's currency,
 *   cancellations (back to free) for paying users who churned.
 */
import type { TrackingPlan } from '../../src/schema/tracking-plan.js';
import { propertyTypes } from '../../src/schema/tracking-plan.js';
import { EXPERIMENT_PROPERTY, EXPOSURE_EVENT, VARIANT_PROPERTY } from '../../src/experiments/design/exposure.js';
import { CONSENT_EVENT, GRANTED_PROPERTY, PURPOSE_PROPERTY, SOURCE_PROPERTY } from '../../src/privacy/consent/consent-event.js';
import type { EventStore } from '../../src/store/event-store.js';
import { TABLES, propertyColumn, traitColumn } from '../../src/store/schema.js';

export const DAY_MS = 86_400_000;

/** All the generator needs of a store: it writes with plain SQL. */
export type SqlStore = Pick<EventStore, 'query' | 'execute'>;

export interface ProductShape {
  /** How many users (the population). */
  readonly users: number;
  /** About how many events in total; the generator lands within a few percent. */
  readonly events: number;
  /** Days of history, ending at `endMs`. */
  readonly days: number;
  /** The end of the data (exclusive), the natural asOf. */
  readonly endMs: number;
}

/** 2025-01-01T00:00:00Z: a fixed end so every run sees the same data. */
export const DEFAULT_END_MS = Date.UTC(2025, 0, 1);

/** The columns the generator fills: every property and trait of the demo plan, by name. */
const GENERATED_PROPERTIES = ['method', 'template', 'duration_s', 'feature', 'page', 'amount', 'currency', 'plan', 'billing'] as const;
const GENERATED_TRAITS = ['plan', 'signup_at', 'channel', 'device', 'locale', 'country', 'company_size', 'role', 'email', 'age_band'] as const;
const GENERATED_EVENTS = [
  'signed_up',
  'onboarding_started',
  'profile_completed',
  'first_project_created',
  'project_created',
  'core_task_completed',
  'feature_used',
  'page_viewed',
  'pricing_viewed',
  'purchase',
  'subscription_cancelled',
  'invite_sent',
] as const;

/**
 * The generator writes exactly the demo's plan; if that plan changes, say what no longer
 * fits rather than benchmark on data that does not match the segments.
 */
export function checkPlanFits(plan: TrackingPlan): void {
  const problems: string[] = [];
  const same = (what: string, planned: Iterable<string>, generated: readonly string[]) => {
    const p = new Set(planned);
    for (const n of p) if (!generated.includes(n)) problems.push(`${what} "${n}" is in the plan but not generated`);
    for (const n of generated) if (!p.has(n)) problems.push(`${what} "${n}" is generated but not in the plan`);
  };
  // The product has no experiments and no consent records: the plan's `$exposure` and
  // `$consent` events and their properties are declared for the demo and never occur here.
  const notGenerated = new Set([EXPERIMENT_PROPERTY, VARIANT_PROPERTY, PURPOSE_PROPERTY, GRANTED_PROPERTY, SOURCE_PROPERTY]);
  same('event', Object.keys(plan.events).filter((e) => e !== EXPOSURE_EVENT && e !== CONSENT_EVENT), GENERATED_EVENTS);
  same('property', [...propertyTypes(plan).keys()].filter((p) => !notGenerated.has(p)), GENERATED_PROPERTIES);
  same('trait', Object.keys(plan.traits), GENERATED_TRAITS);
  if (problems.length > 0) throw new Error(`bench/support/product-data.ts no longer matches the demo plan:\n  ${problems.join('\n  ')}`);
}

/** `pick(u, [['a', 0.5], ['b', 0.5]])`: a categorical draw from a uniform u in [0, 1). */
function pick(u: string, choices: readonly (readonly [string, number])[]): string {
  let acc = 0;
  const arms = choices.slice(0, -1).map(([value, p]) => {
    acc += p;
    return `WHEN ${u} < ${acc.toFixed(6)} THEN '${value}'`;
  });
  return `CASE ${arms.join(' ')} ELSE '${choices[choices.length - 1]![0]}' END`;
}

// The demo's vocabularies (src/demo/synthetic-product.ts), with similar popularity.
const FEATURES: readonly (readonly [string, number])[] = [
  ['editor', 0.22], ['comments', 0.14], ['search', 0.12], ['templates', 0.1], ['sharing', 0.09], ['export', 0.08],
  ['dashboards', 0.07], ['automation', 0.06], ['integrations', 0.05], ['version_history', 0.04], ['api', 0.02], ['ai_assist', 0.01],
];
const PAGES: readonly (readonly [string, number])[] = [
  ['dashboard', 0.3], ['project', 0.28], ['projects', 0.14], ['reports', 0.08], ['settings', 0.06], ['team', 0.05],
  ['docs', 0.05], ['integrations', 0.03], ['billing', 0.01],
];
const TEMPLATES: readonly (readonly [string, number])[] = [
  ['blank', 0.35], ['kanban', 0.25], ['roadmap', 0.15], ['sprint', 0.12], ['crm', 0.08], ['okr', 0.05],
];
const GEO: readonly { country: string; locale: string; currency: string; fx: number; share: number }[] = [
  { country: 'US', locale: 'en-US', currency: 'USD', fx: 1, share: 0.35 },
  { country: 'GB', locale: 'en-GB', currency: 'GBP', fx: 0.8, share: 0.1 },
  { country: 'DE', locale: 'de-DE', currency: 'EUR', fx: 0.92, share: 0.12 },
  { country: 'FR', locale: 'fr-FR', currency: 'EUR', fx: 0.92, share: 0.1 },
  { country: 'ES', locale: 'es-ES', currency: 'EUR', fx: 0.92, share: 0.06 },
  { country: 'BR', locale: 'pt-BR', currency: 'BRL', fx: 5, share: 0.09 },
  { country: 'IN', locale: 'en-IN', currency: 'INR', fx: 83, share: 0.1 },
  { country: 'JP', locale: 'ja-JP', currency: 'JPY', fx: 150, share: 0.08 },
];
/** Monthly list prices in USD; annual billing is ten months' worth. */
const PRICE_USD = { pro: 12, team: 30 } as const;

/**
 * Create (or replace) the temp table `gen_users`: one row per user with its traits and the
 * latent quantities (engagement, lifetime, funnel progress, paid plan) that drive its events.
 */
export async function generateUsers(store: SqlStore, shape: ProductShape): Promise<void> {
  const { users, days, endMs } = shape;
  const start = endMs - days * DAY_MS;
  // Uniform draws in [0, 1) from the top 53 bits of a hash. DuckDB's hash(a, b) combines by
  // XOR, so hash(i, 'x') < t and hash(i, 'y') < t would agree for most i: re-hash instead.
  await store.execute(`CREATE OR REPLACE TEMP MACRO gen_u(a, b) AS ((hash(xor(hash(a), hash(b))) >> 11)::DOUBLE / 9007199254740992.0)`);
  await store.execute(
    `CREATE OR REPLACE TEMP MACRO gen_u3(a, b, c) AS ((hash(xor(hash(xor(hash(a), hash(b))), hash(c))) >> 11)::DOUBLE / 9007199254740992.0)`,
  );
  const geoIndex = (u: string) => {
    let acc = 0;
    return `CASE ${GEO.slice(0, -1).map((g, k) => ((acc += g.share), `WHEN ${u} < ${acc.toFixed(6)} THEN ${k}`)).join(' ')} ELSE ${GEO.length - 1} END`;
  };
  const geoField = (field: 'country' | 'locale' | 'currency') => `[${GEO.map((g) => `'${g[field]}'`).join(', ')}][geo + 1]`;
  await store.execute(`
    CREATE OR REPLACE TEMP TABLE gen_users AS
    WITH draw AS (
      SELECT i, printf('u%07d', i) AS user_id,
        gen_u(i, 'signup') AS r_signup, gen_u(i, 'tod') AS r_tod, gen_u(i, 'life') AS r_life,
        gen_u(i, 'churn') AS r_churn, gen_u(i, 'res') AS r_res, gen_u(i, 'paid') AS r_paid,
        -- lognormal engagement (sigma 0.9) from a Box-Muller normal
        exp(0.9 * sqrt(-2 * ln(1 - gen_u(i, 'eng1'))) * cos(2 * pi() * gen_u(i, 'eng2'))) AS engagement,
        ${geoIndex(`gen_u(i, 'geo')`)} AS geo
      FROM range(${users}) t(i)
    ), life AS (
      SELECT *,
        ${start} + floor(sqrt(r_signup) * ${days - 1})::BIGINT * ${DAY_MS} + (6 * 3600000 + floor(r_tod * 16 * 3600000))::BIGINT AS signup_ms,
        r_churn < 0.3 AS fleeting,
        -- lifetime in days: a few days for the fleeting, exponential (mean 75) for the rest
        CASE WHEN r_churn < 0.3 THEN r_life * 3 ELSE -ln(1 - r_life) * 75 END AS lifetime_days
      FROM draw
    ), funnel AS (
      SELECT *,
        least(${endMs}, signup_ms + greatest(3600000, floor(lifetime_days * ${DAY_MS}))::BIGINT) AS active_end,
        gen_u(i, 'onb1') < CASE WHEN fleeting THEN 0.6 ELSE 0.92 END AS started,
        gen_u(i, 'onb2') < CASE WHEN fleeting THEN 0.4 ELSE 0.8 END AS profiled,
        gen_u(i, 'onb3') < CASE WHEN fleeting THEN 0.25 ELSE 0.75 END AS projected,
        signup_ms + 60000 + floor(gen_u(i, 'd1') * 14 * 60000)::BIGINT AS started_ms,
        120000 + floor(gen_u(i, 'd2') * 38 * 60000)::BIGINT AS profile_delay,
        -- most create their first project the same hour, the rest within ten days
        CASE WHEN gen_u(i, 'd3') < 0.6 THEN 60000 + floor(gen_u(i, 'd4') * 50 * 60000)
             ELSE floor(gen_u(i, 'd4') * 10 * ${DAY_MS}) END::BIGINT AS project_delay
      FROM life
    ), steps AS (
      SELECT *,
        CASE WHEN started THEN started_ms END AS onboarding_ms,
        CASE WHEN started AND profiled THEN started_ms + profile_delay END AS profile_ms,
        CASE WHEN started AND profiled AND projected THEN started_ms + profile_delay + project_delay END AS first_project_ms
      FROM funnel
    ), paid AS (
      SELECT *,
        first_project_ms IS NOT NULL AND NOT fleeting AND r_paid < 0.1 + 0.25 * least(1, engagement / 4) AS upgrades,
        first_project_ms + floor((2 + gen_u(i, 'upg') * 40) * ${DAY_MS})::BIGINT AS upgrade_at,
        CASE WHEN gen_u(i, 'tier') < 0.75 THEN 'pro' ELSE 'team' END AS tier,
        CASE WHEN gen_u(i, 'bill') < 0.8 THEN 'monthly' ELSE 'annual' END AS billing,
        active_end < ${endMs - 45 * DAY_MS} AND r_res < 0.15 AS resurrected
      FROM steps
    )
    SELECT i, user_id, signup_ms, engagement, fleeting, active_end, resurrected,
      onboarding_ms, profile_ms, first_project_ms,
      coalesce(first_project_ms, signup_ms) AS activity_from,
      CASE WHEN upgrades AND upgrade_at < active_end AND upgrade_at < ${endMs} THEN upgrade_at END AS upgrade_ms,
      CASE WHEN upgrades AND upgrade_at < active_end AND active_end < ${endMs - 7 * DAY_MS} THEN active_end END AS cancel_ms,
      tier, billing,
      ${pick(`gen_u(i, 'method')`, [['email', 0.55], ['google', 0.35], ['github', 0.1]])} AS signup_method,
      ${geoField('country')} AS country, ${geoField('locale')} AS locale, ${geoField('currency')} AS currency,
      [${GEO.map((g) => g.fx).join(', ')}][geo + 1] AS fx,
      ${pick(`gen_u(i, 'channel')`, [['organic', 0.38], ['paid_search', 0.22], ['social', 0.14], ['referral', 0.16], ['partner', 0.1]])} AS channel,
      ${pick(`gen_u(i, 'device')`, [['desktop', 0.58], ['mobile', 0.34], ['tablet', 0.08]])} AS device,
      greatest(1, round(exp(2.5 + 1.5 * sqrt(-2 * ln(1 - gen_u(i, 'size1'))) * cos(2 * pi() * gen_u(i, 'size2')))))::DOUBLE AS company_size,
      ${pick(`gen_u(i, 'role')`, [['engineer', 0.28], ['product', 0.18], ['designer', 0.14], ['marketing', 0.14], ['founder', 0.1], ['operations', 0.09], ['student', 0.07]])} AS role,
      ${pick(`gen_u(i, 'age')`, [['18-24', 0.15], ['25-34', 0.4], ['35-44', 0.25], ['45-54', 0.13], ['55+', 0.07]])} AS age_band,
      2 + floor(gen_u(i, 'sess') * 7)::BIGINT AS session_size,
      ${pick(`gen_u(i, 'fav')`, FEATURES)} AS favourite_feature
    FROM paid
  `);
  // Plan as of the end of the data: the paid tier unless cancelled.
  await store.execute(`ALTER TABLE gen_users ADD COLUMN plan VARCHAR`);
  await store.execute(`UPDATE gen_users SET plan = CASE WHEN upgrade_ms IS NOT NULL AND cancel_ms IS NULL THEN tier ELSE 'free' END`);
}

/**
 * The SELECT producing every event of the product from `gen_users`, with the store's event
 * columns (event_id, user_id, event, ts, ingested_at, p_<property>), in no particular order.
 * `activityPerUser` is the mean number of activity events (sessions of page views, features,
 * tasks...) per user, on top of the lifecycle events (funnel, purchases, cancellations).
 */
function eventsSelect(shape: ProductShape, activityPerUser: number, meanWeight: number): string {
  const { endMs } = shape;
  const p = propertyColumn;
  const cols = (e: Partial<Record<(typeof GENERATED_PROPERTIES)[number], string>>) =>
    GENERATED_PROPERTIES.map((name) => `${e[name] ?? 'NULL'}::${name === 'duration_s' || name === 'amount' ? 'DOUBLE' : 'VARCHAR'} AS "${p(name)}"`).join(', ');
  const lifecycle = (event: string, ms: string, props: Partial<Record<(typeof GENERATED_PROPERTIES)[number], string>> = {}) =>
    `SELECT user_id, '${event}' AS event, ${ms} AS ms, '${event}' AS stream, 0::BIGINT AS j, ${cols(props)} FROM gen_users WHERE ${ms} IS NOT NULL AND ${ms} < ${endMs}`;
  const monthlyAmount = (tier: string) => `CASE ${tier} WHEN 'pro' THEN ${PRICE_USD.pro} ELSE ${PRICE_USD.team} END`;
  // Activity: each user's share of the activity budget is proportional to engagement times
  // active days, so long-lived engaged users dominate, as in real products.
  const weight = `engagement * ((active_end - activity_from) / ${DAY_MS} + 0.5 + CASE WHEN resurrected THEN 10 ELSE 0 END)`;
  const act = `gen_u3(i, j, 'kind')`;
  const onboardedMix = pick(act, [
    ['page_viewed', 0.38], ['feature_used', 0.28], ['core_task_completed', 0.22], ['project_created', 0.04],
    ['invite_sent', 0.03], ['pricing_viewed', 0.03], ['page_viewed', 0.02],
  ]);
  const visitorMix = pick(act, [['page_viewed', 0.8], ['feature_used', 0.15], ['pricing_viewed', 0.05]]);
  // Users have a favourite feature they come back to; otherwise features follow their popularity.
  const featureDraw = `CASE WHEN gen_u3(i, j, 'fav') < 0.4 THEN favourite_feature ELSE ${pick(`gen_u3(i, j, 'p')`, FEATURES)} END`;
  const session = `gen_u3(i, s, 'day')`;
  const activity = `
    SELECT user_id, event, ms, 'a' AS stream, j,
      ${cols({
        method: `CASE WHEN event = 'invite_sent' THEN CASE WHEN gen_u3(i, j, 'p') < 0.7 THEN 'email' ELSE 'link' END END`,
        template: `CASE WHEN event = 'project_created' THEN ${pick(`gen_u3(i, j, 'p')`, TEMPLATES)} END`,
        duration_s: `CASE WHEN event = 'core_task_completed' THEN 20 + floor(-ln(1 - gen_u3(i, j, 'p')) * 280) END`,
        feature: `CASE WHEN event = 'feature_used' THEN ${featureDraw} END`,
        page: `CASE WHEN event = 'page_viewed' THEN ${pick(`gen_u3(i, j, 'p')`, PAGES)} END`,
      })}
    FROM (
      -- j-th event of session s: 90 s to 150 s after the one before
      SELECT *, session_ms + (j % session_size) * 90000 + floor(gen_u3(i, j, 'gap') * 60000)::BIGINT AS ms
      FROM (
        -- a session starts on a uniform day of the span, between 07:00 and 21:00 UTC peaking
        -- mid-day; 60% of weekend sessions move to the Friday or Monday. Spans under two days
        -- (the fleeting users) just take a uniform instant.
        SELECT *,
          CASE WHEN span_to - span_from < ${2 * DAY_MS} THEN span_from + floor(${session} * (span_to - span_from))::BIGINT
          ELSE day_ms
            + CASE WHEN dow = 6 AND gen_u3(i, s, 'we') < 0.6 THEN -${DAY_MS} WHEN dow = 0 AND gen_u3(i, s, 'we') < 0.6 THEN ${DAY_MS} ELSE 0 END
            + 25200000 + floor((gen_u3(i, s, 't1') + gen_u3(i, s, 't2')) * 25200000)::BIGINT END AS session_ms
        FROM (
          SELECT *, ((day_ms // ${DAY_MS}) + 4) % 7 AS dow
          FROM (
            SELECT *, (span_from // ${DAY_MS} + floor(${session} * ((span_to - span_from) / ${DAY_MS}))::BIGINT) * ${DAY_MS} AS day_ms
            FROM (
              SELECT *,
                CASE WHEN first_project_ms IS NOT NULL THEN ${onboardedMix} ELSE ${visitorMix} END AS event,
                CASE WHEN back THEN ${endMs - 21 * DAY_MS} ELSE activity_from END AS span_from,
                CASE WHEN back THEN ${endMs} ELSE active_end END AS span_to
              FROM (
                SELECT *, j // session_size AS s, resurrected AND gen_u3(i, j // session_size, 'back') < 0.35 AS back
                FROM (
                  SELECT *, floor(${activityPerUser} * ${weight} / ${meanWeight} + gen_u(i, 'frac'))::BIGINT AS n_activity FROM gen_users
                ) u, LATERAL range(u.n_activity) r(j)
              )
            )
          )
        )
      )
    )
    WHERE ms >= span_from AND ms < span_to AND ms < ${endMs}`;
  const purchases = `
    SELECT user_id, 'purchase' AS event, upgrade_ms + k * ${30 * DAY_MS} AS ms, 'purchase' AS stream, k AS j,
      ${cols({
        amount: `round(${monthlyAmount('tier')} * CASE billing WHEN 'annual' THEN 10 ELSE 1 END * fx, 2)`,
        currency: 'currency',
        plan: 'tier',
        billing: 'billing',
      })}
    FROM (SELECT * FROM gen_users WHERE upgrade_ms IS NOT NULL) u,
      LATERAL range(CASE WHEN billing = 'annual' THEN 1 ELSE 1 + (coalesce(cancel_ms, ${endMs}) - 1 - upgrade_ms) // ${30 * DAY_MS} END) r(k)
    WHERE upgrade_ms + k * ${30 * DAY_MS} < coalesce(cancel_ms, ${endMs})`;
  const body = [
    lifecycle('signed_up', 'signup_ms', { method: 'signup_method' }),
    lifecycle('onboarding_started', 'onboarding_ms'),
    lifecycle('profile_completed', 'profile_ms'),
    lifecycle('first_project_created', 'first_project_ms', { template: pick(`gen_u(i, 'tpl')`, TEMPLATES) }),
    // Most look at pricing the hour before they pay.
    lifecycle('pricing_viewed', `CASE WHEN gen_u(i, 'pv') < 0.7 THEN upgrade_ms - 3600000 END`),
    purchases,
    lifecycle('subscription_cancelled', 'cancel_ms', { plan: 'tier' }),
    activity,
  ].join('\nUNION ALL\n');
  return `
    SELECT user_id || ':' || stream || ':' || j AS event_id, user_id, event, epoch_ms(ms) AS ts,
      epoch_ms(${endMs}::BIGINT) AS ingested_at, ${GENERATED_PROPERTIES.map((n) => `"${p(n)}"`).join(', ')}
    FROM (${body})`;
}

/** The lifecycle events per user (funnel, purchases, cancellations) and the mean activity weight. */
async function calibration(store: SqlStore, shape: ProductShape): Promise<{ lifecyclePerUser: number; meanWeight: number }> {
  const rows = await store.query(`
    SELECT avg(1 + (onboarding_ms IS NOT NULL)::INT + (profile_ms IS NOT NULL)::INT + (first_project_ms IS NOT NULL)::INT
             + CASE WHEN upgrade_ms IS NULL THEN 0
                    ELSE 0.7 + (cancel_ms IS NOT NULL)::INT
                       + CASE WHEN billing = 'annual' THEN 1 ELSE 1 + (coalesce(cancel_ms, ${shape.endMs}) - 1 - upgrade_ms) // ${30 * DAY_MS} END END) AS lifecycle,
      avg(engagement * ((active_end - activity_from) / ${DAY_MS} + 0.5 + CASE WHEN resurrected THEN 10 ELSE 0 END)) AS weight
    FROM gen_users`);
  return { lifecyclePerUser: Number(rows[0]!.lifecycle), meanWeight: Number(rows[0]!.weight) };
}

/** `gen_users` must exist; returns the SELECT of all events for `shape`. */
export async function productEventsQuery(store: SqlStore, shape: ProductShape): Promise<string> {
  const { lifecyclePerUser, meanWeight } = await calibration(store, shape);
  const activityPerUser = Math.max(0, shape.events / shape.users - lifecyclePerUser);
  return eventsSelect(shape, activityPerUser, meanWeight);
}

/** The SELECT of one profile per user with the store's trait columns `t_<trait>`. */
export function productProfilesSelect(shape: ProductShape): string {
  const t = (name: (typeof GENERATED_TRAITS)[number]) => `"${traitColumn(name)}"`;
  return `
    SELECT user_id, epoch_ms(${shape.endMs}::BIGINT) AS updated_at,
      plan AS ${t('plan')}, epoch_ms(signup_ms) AS ${t('signup_at')}, channel AS ${t('channel')}, device AS ${t('device')},
      locale AS ${t('locale')}, country AS ${t('country')}, company_size AS ${t('company_size')}, role AS ${t('role')},
      'user' || i || '@example.com' AS ${t('email')}, age_band AS ${t('age_band')}
    FROM gen_users`;
}

/**
 * Fill the store's events, users and profiles tables with the product (the store must be
 * empty and have had `applyPlan(plan)`). Events are inserted in time order, as a product's
 * stream arrives. Returns the numbers of events and users written.
 */
export async function generateProductStore(store: SqlStore, plan: TrackingPlan, shape: ProductShape): Promise<{ events: number; users: number }> {
  checkPlanFits(plan);
  await generateUsers(store, shape);
  const select = await productEventsQuery(store, shape);
  await store.execute(`INSERT INTO ${TABLES.events} BY NAME SELECT * FROM (${select}) ORDER BY ts`);
  await store.execute(`INSERT INTO ${TABLES.profiles} BY NAME ${productProfilesSelect(shape)}`);
  // The population index: every user has a profile, and signed_up is each user's first event.
  await store.execute(`
    INSERT INTO ${TABLES.users} (user_id, first_event_at, has_profile)
    SELECT user_id, min(ts), true FROM ${TABLES.events} GROUP BY user_id`);
  await store.execute(`DROP TABLE gen_users`);
  const counts = await store.query(`SELECT (SELECT count(*) FROM ${TABLES.events}) AS events, (SELECT count(*) FROM ${TABLES.users}) AS users`);
  return { events: Number(counts[0]!.events), users: Number(counts[0]!.users) };
}
