/**
 * Shared by the persona tests: a product with planted behaviour groups (browsers, creators,
 * buyers, and a fourth group, sharers, that a refresh can add), its tracking plan (as YAML for
 * CLI workspaces and parsed for library tests), and the events as JSON lines for `strata ingest`.
 * Every user is active in the 28 days before AS_OF and was first seen 30 to 200 days before it.
 */
import { parsePlan } from '../src/schema/tracking-plan.js';
import type { SeedEvent } from './support/load-duckdb.js';
import { normal, poisson } from './support/cluster-data.js';
import { prng } from './support/prng.js';

export const AS_OF = '2026-06-01T00:00:00Z';
export const AS_OF_MS = Date.parse(AS_OF);
const DAY = 86_400_000;

export const PLAN_YAML = `plan:
  session_gap: 30m
  events:
    signup: {}
    view:
      properties:
        page: string
    create: {}
    share: {}
    purchase:
      properties:
        amount: number
  traits:
    plan: string
    email: {type: string, pii: true}
    health: {type: string, sensitive: true}
`;

export const RFM_YAML = `rfm:
  event: purchase
  value: amount
`;

export const PERSONA_PLAN = parsePlan({
  session_gap: '30m',
  events: { signup: { properties: {} }, view: { properties: { page: { type: 'string' } } }, create: { properties: {} }, share: { properties: {} }, purchase: { properties: { amount: { type: 'number' } } } },
  traits: { plan: { type: 'string' }, email: { type: 'string', pii: true }, health: { type: 'string', sensitive: true } },
});

export const PURCHASE = { event: 'purchase', value: 'amount', quantity: null, where: [] } as const;

/**
 * Each group's signature: sessions in the last 27 days, events of each kind per session, and
 * tenure (days since signup). Sessions are bursts of events a minute or two apart.
 */
const GROUPS = [
  { name: 'browsers', sessions: 20, perSession: { view: 2 }, tenure: [30, 60] },
  { name: 'creators', sessions: 4, perSession: { view: 3, create: 5 }, tenure: [150, 200] },
  { name: 'buyers', sessions: 4, perSession: { view: 1, purchase: 1 }, tenure: [80, 120] },
  { name: 'sharers', sessions: 8, perSession: { view: 1, share: 3 }, tenure: [40, 90] },
] as const;

export interface PlantedUsers {
  readonly events: SeedEvent[];
  /** user id -> planted group index. */
  readonly truth: Map<string, number>;
}


/** `counts[g]` users of group g, ids `<prefix>-g<g>-<n>`, events before AS_OF (and a few after it, which no feature may read). */
export function plantedUsers(seed: number, counts: readonly number[], prefix: string): PlantedUsers {
  const rand = prng(seed);
  const gauss = normal(rand);
  const events: SeedEvent[] = [];
  const truth = new Map<string, number>();
  counts.forEach((count, g) => {
    const group = GROUPS[g]!;
    for (let n = 0; n < count; n++) {
      const user = `${prefix}-g${g}-${String(n).padStart(4, '0')}`;
      truth.set(user, g);
      const activity = Math.exp(0.2 * gauss());
      const [lo, hi] = group.tenure;
      events.push({ user, event: 'signup', at: AS_OF_MS - Math.floor((lo + rand() * (hi - lo)) * DAY) });
      const sessions = Math.max(1, poisson(rand, group.sessions * activity));
      for (let s = 0; s < sessions; s++) {
        let at = AS_OF_MS - 2 * 3_600_000 - Math.floor(rand() * 27 * DAY);
        for (const [event, mean] of Object.entries(group.perSession)) {
          for (let i = Math.max(1, poisson(rand, mean)); i > 0; i--) {
            at += 60_000 + Math.floor(rand() * 60_000);
            const props: Record<string, string | number> = event === 'view' ? { page: rand() < 0.5 ? 'home' : 'docs' } : event === 'purchase' ? { amount: Math.round(20 + rand() * 60) } : {};
            events.push({ user, event, at, props });
          }
        }
      }
      if (rand() < 0.3) events.push({ user, event: 'purchase', at: AS_OF_MS + Math.floor(rand() * 5 * DAY), props: { amount: 999 } });
    }
  });
  return { events, truth };
}

export function mergePlanted(...parts: readonly PlantedUsers[]): PlantedUsers {
  return { events: parts.flatMap((p) => p.events), truth: new Map(parts.flatMap((p) => [...p.truth])) };
}

/** The events as `strata ingest events` reads them (JSON lines). */
export function toJsonl(events: readonly SeedEvent[]): string {
  return events.map((e) => JSON.stringify({ user_id: e.user, event: e.event, timestamp: new Date(e.at).toISOString(), properties: e.props ?? {} })).join('\n') + '\n';
}
