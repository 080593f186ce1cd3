/**
 * EXPLAIN ANALYZE of a query, reduced to what explains a slow segment: the total time and
 * the operators that took the most, with their row counts. The full profile (DuckDB's JSON)
 * is kept beside it for anyone who wants the tree.
 */
import type { EventStore } from '../../src/store/event-store.js';

export interface OperatorTiming {
  readonly operator: string;
  readonly seconds: number;
  readonly rows: number;
  /** The operator's own details (groups, aggregates, join conditions), shortened. */
  readonly info: string;
}

export interface QueryProfile {
  readonly latencySeconds: number;
  readonly top: readonly OperatorTiming[];
  readonly json: string;
}

interface ProfileNode {
  operator_name?: string;
  operator_timing?: number;
  operator_cardinality?: number;
  extra_info?: Record<string, unknown>;
  latency?: number;
  children?: ProfileNode[];
}

export async function profileQuery(store: Pick<EventStore, 'query'>, sql: string, topN = 8): Promise<QueryProfile> {
  const rows = await store.query(`EXPLAIN (ANALYZE, FORMAT json) ${sql}`);
  const json = String(rows[0]?.explain_value ?? '');
  const root = JSON.parse(json) as ProfileNode;
  const flat: OperatorTiming[] = [];
  const walk = (n: ProfileNode) => {
    if (n.operator_name && n.operator_name !== 'EXPLAIN_ANALYZE') {
      flat.push({
        operator: n.operator_name,
        seconds: n.operator_timing ?? 0,
        rows: n.operator_cardinality ?? 0,
        info: shorten(
          Object.entries(n.extra_info ?? {})
            .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`)
            .join('; '),
        ),
      });
    }
    for (const c of n.children ?? []) walk(c);
  };
  walk(root);
  return { latencySeconds: root.latency ?? 0, top: flat.sort((a, b) => b.seconds - a.seconds).slice(0, topN), json };
}

function shorten(s: string, max = 160): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

export function formatProfile(label: string, p: QueryProfile): string {
  const lines = p.top.map((o) => `  ${o.seconds.toFixed(3).padStart(8)} s  ${String(o.rows).padStart(11)} rows  ${o.operator}  ${o.info}`);
  return `${label}: ${p.latencySeconds.toFixed(3)} s\n${lines.join('\n')}`;
}
