/**
 * The peer for the segments benchmark: for each demo segment (src/demo/segments/*.yaml),
 * the DuckDB query an analyst who knows the store's schema (src/store/schema.ts) would
 * write by hand to get the same members, as of `asOf` (a TIMESTAMP literal).
 *
 * They are meant to be good queries, not straw men: one pass over the events where one
 * pass suffices, filters on event name and time first, the `users` population index for
 * "first seen" (its first_event_at is each user's first event, so for a user seen before
 * asOf it equals the first event before asOf). The benchmark checks that each returns
 * exactly the compiled query's members (count and a hash of the ids) before timing it.
 */
export type HandQuery = (asOf: string) => string;

export const HAND_QUERIES: Readonly<Record<string, HandQuery>> = {
  // trait plan = free and trait company_size >= 200: a profile lookup. Having a profile puts
  // a user in the population, so no join with users is needed.
  'enterprise-prospects': () => `
    SELECT user_id FROM profiles WHERE t_plan = 'free' AND t_company_size >= 200`,

  // did core_task_completed, count >= 20, within 30d: count per user over the window.
  'power-users': (asOf) => `
    SELECT user_id FROM events
    WHERE event = 'core_task_completed' AND ts >= ${asOf} - INTERVAL 30 DAY AND ts < ${asOf}
    GROUP BY user_id HAVING count(*) >= 20`,

  // distinct feature on feature_used >= 6 within 30d: count(DISTINCT) ignores missing values.
  'feature-explorers': (asOf) => `
    SELECT user_id FROM events
    WHERE event = 'feature_used' AND ts >= ${asOf} - INTERVAL 30 DAY AND ts < ${asOf}
    GROUP BY user_id HAVING count(DISTINCT p_feature) >= 6`,

  // sequence signed_up -> first_project_created -> core_task_completed, span 1d, the signup
  // within 90d: the textbook self-join on the user, each step strictly later than the one
  // before, the last before signup + 1 day (so the middle one is too).
  'fast-activators': (asOf) => `
    WITH signup AS (SELECT user_id, ts FROM events WHERE event = 'signed_up' AND ts >= ${asOf} - INTERVAL 90 DAY AND ts < ${asOf}),
    project AS (SELECT user_id, ts FROM events WHERE event = 'first_project_created' AND ts < ${asOf}),
    task AS (SELECT user_id, ts FROM events WHERE event = 'core_task_completed' AND ts < ${asOf})
    SELECT DISTINCT s.user_id
    FROM signup s
    JOIN project p ON p.user_id = s.user_id AND p.ts > s.ts AND p.ts < s.ts + INTERVAL 1 DAY
    JOIN task t ON t.user_id = s.user_id AND t.ts > p.ts AND t.ts < s.ts + INTERVAL 1 DAY`,

  // funnel of four onboarding steps, span 14d, reached between 1 and 3, step one within 60d;
  // and first seen at least 14 days ago. Reached >= 1 is "started onboarding in the window";
  // reached <= 3 is "no complete four-step chain from such a start within 14 days", found
  // with the same self-join as a sequence and removed with an anti-join.
  'stalled-onboarding': (asOf) => `
    WITH started AS (SELECT user_id, ts FROM events WHERE event = 'onboarding_started' AND ts >= ${asOf} - INTERVAL 60 DAY AND ts < ${asOf}),
    profiled AS (SELECT user_id, ts FROM events WHERE event = 'profile_completed' AND ts < ${asOf}),
    projected AS (SELECT user_id, ts FROM events WHERE event = 'first_project_created' AND ts < ${asOf}),
    tasked AS (SELECT user_id, ts FROM events WHERE event = 'core_task_completed' AND ts < ${asOf}),
    completed AS (
      SELECT DISTINCT s.user_id
      FROM started s
      JOIN profiled p ON p.user_id = s.user_id AND p.ts > s.ts AND p.ts < s.ts + INTERVAL 14 DAY
      JOIN projected f ON f.user_id = s.user_id AND f.ts > p.ts AND f.ts < s.ts + INTERVAL 14 DAY
      JOIN tasked t ON t.user_id = s.user_id AND t.ts > f.ts AND t.ts < s.ts + INTERVAL 14 DAY
    )
    SELECT DISTINCT s.user_id
    FROM started s JOIN users u ON u.user_id = s.user_id
    WHERE u.first_event_at <= ${asOf} - INTERVAL 14 DAY
      AND s.user_id NOT IN (SELECT user_id FROM completed)`,

  // stopped core_task_completed, recent 14d, prior 28d: users with a core task in the last
  // 42 days none of which is in the last 14 (so all are in the prior four weeks).
  'gone-quiet': (asOf) => `
    SELECT user_id FROM events
    WHERE event = 'core_task_completed' AND ts >= ${asOf} - INTERVAL 42 DAY AND ts < ${asOf}
    GROUP BY user_id HAVING count(*) FILTER (WHERE ts >= ${asOf} - INTERVAL 14 DAY) = 0`,

  // regularly core_task_completed every 1w, 8 periods, at least 6: period k holds
  // [asOf-(k+1)w, asOf-kw), i.e. k = (asOf - ts - 1 ms) // 1w in whole milliseconds;
  // count the distinct periods with a task.
  'weekly-regulars': (asOf) => `
    SELECT user_id FROM events
    WHERE event = 'core_task_completed' AND ts >= ${asOf} - INTERVAL 56 DAY AND ts < ${asOf}
    GROUP BY user_id
    HAVING count(DISTINCT (epoch_ms(${asOf}) - epoch_ms(ts) - 1) // 604800000) >= 6`,

  // trait plan in (pro, team) and the last page_viewed between 14 and 60 days before asOf
  // (inclusive): the latest page view per user joined to the profile.
  'lapsing-customers': (asOf) => `
    SELECT p.user_id
    FROM profiles p
    JOIN (SELECT user_id, max(ts) AS last_ts FROM events WHERE event = 'page_viewed' AND ts < ${asOf} GROUP BY user_id) v
      ON v.user_id = p.user_id
    WHERE p.t_plan IN ('pro', 'team')
      AND v.last_ts BETWEEN ${asOf} - INTERVAL 60 DAY AND ${asOf} - INTERVAL 14 DAY`,

  // sessions >= 10 within 14d and their average duration >= 5m. Sessionize with lag() over
  // each user's events; a session belongs to the window of its first event, and the event
  // before a session's first one only matters if it is less than 30 minutes earlier, so
  // reading from 14 days + 30 minutes back is exact. The running sum uses the default RANGE
  // frame so that events at the same instant get the same session number.
  'daily-habit': (asOf) => `
    WITH e AS (
      SELECT user_id, ts,
        CASE WHEN ts - lag(ts) OVER (PARTITION BY user_id ORDER BY ts) < INTERVAL 30 MINUTE THEN 0 ELSE 1 END AS starts
      FROM events WHERE ts >= ${asOf} - INTERVAL 14 DAY - INTERVAL 30 MINUTE AND ts < ${asOf}
    ),
    numbered AS (SELECT user_id, ts, sum(starts) OVER (PARTITION BY user_id ORDER BY ts) AS session FROM e),
    sessions AS (SELECT user_id, min(ts) AS first_ts, epoch_ms(max(ts)) - epoch_ms(min(ts)) AS duration_ms FROM numbered GROUP BY user_id, session)
    SELECT user_id FROM sessions
    WHERE first_ts >= ${asOf} - INTERVAL 14 DAY
    GROUP BY user_id HAVING count(*) >= 10 AND avg(duration_ms) >= 300000`,

  // sum of amount on purchase >= 250 over all history: sum ignores missing amounts, and a
  // user whose purchases all lack one has a null sum, which fails the comparison.
  'big-spenders': (asOf) => `
    SELECT user_id FROM events
    WHERE event = 'purchase' AND ts < ${asOf}
    GROUP BY user_id HAVING sum(p_amount) >= 250`,

  // started page_viewed, recent 14d, prior 30d, and first seen at least 60 days ago: page
  // views in the last 44 days none of which is in the 30 days before the last 14.
  resurrected: (asOf) => `
    SELECT e.user_id
    FROM events e JOIN users u ON u.user_id = e.user_id
    WHERE e.event = 'page_viewed' AND e.ts >= ${asOf} - INTERVAL 44 DAY AND e.ts < ${asOf}
      AND u.first_event_at <= ${asOf} - INTERVAL 60 DAY
    GROUP BY e.user_id HAVING count(*) FILTER (WHERE e.ts < ${asOf} - INTERVAL 14 DAY) = 0`,

  // plan free, (power user or feature explorer), pricing viewed within 30d, never purchased.
  // The three event conditions share the 30-day window, so one pass computes them; the
  // purchase check is an anti-join.
  'upgrade-candidates': (asOf) => `
    WITH recent AS (
      SELECT user_id,
        count(*) FILTER (WHERE event = 'core_task_completed') AS tasks,
        count(DISTINCT p_feature) FILTER (WHERE event = 'feature_used') AS features,
        count(*) FILTER (WHERE event = 'pricing_viewed') AS pricing_views
      FROM events
      WHERE event IN ('core_task_completed', 'feature_used', 'pricing_viewed') AND ts >= ${asOf} - INTERVAL 30 DAY AND ts < ${asOf}
      GROUP BY user_id
    )
    SELECT r.user_id
    FROM recent r JOIN profiles p ON p.user_id = r.user_id
    WHERE p.t_plan = 'free' AND (r.tasks >= 20 OR r.features >= 6) AND r.pricing_views > 0
      AND r.user_id NOT IN (SELECT user_id FROM events WHERE event = 'purchase' AND ts < ${asOf})`,
};

/** A TIMESTAMP literal for epoch ms, as an analyst would type it. */
export function timestampLiteral(epochMs: number): string {
  return `TIMESTAMP '${new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '')}'`;
}
