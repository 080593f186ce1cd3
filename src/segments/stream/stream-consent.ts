/**
 * `{consent: PURPOSE}` in the stream (and the consent a targeting segment is wrapped in):
 * one measure over the series of the purpose's `$consent` events, whose value is the
 * user's consent as of asOf (src/segments/ir/nodes.ts ConsentNode): the latest record's
 * `granted`, a denial winning at one instant, the node's default without a record. The
 * summary is that latest record, which does not depend on the order events arrive in, so
 * the measure is absorbed: each record is folded in on arrival and nothing raw is kept. A
 * `$consent` event dirties the leaf like any event of its series, so it can flip membership.
 */
import { SeriesMeasure, UNCHANGED, type MeasureValue, type SeriesSpec } from './stream-measures.js';
import { payloadValue, type MeasureMode, type WindowSpec } from './stream-windows.js';

/** The latest record: its instant and whether it granted (false when a denial shares the instant). */
interface LatestRecord {
  readonly ts: number;
  readonly granted: boolean;
}

function later(a: LatestRecord | undefined, b: LatestRecord | undefined): LatestRecord | undefined {
  if (a === undefined) return b;
  if (b === undefined || b.ts < a.ts) return a;
  if (b.ts > a.ts) return b;
  return a.granted && b.granted ? a : { ts: a.ts, granted: false };
}

export class ConsentMeasure extends SeriesMeasure {
  constructor(
    series: SeriesSpec,
    window: WindowSpec,
    mode: MeasureMode,
    readonly propIndex: number,
    readonly defaultGranted: boolean,
  ) {
    super(series, [], window, mode, undefined);
  }

  /** A record's `granted`, undefined when it has none (then it is no record). */
  private grantedAt(vals: readonly unknown[] | null, k: number): boolean | undefined {
    const v = vals === null ? undefined : payloadValue(vals[k], this.width, this.propIndex);
    return typeof v === 'boolean' ? v : undefined;
  }

  /** The latest record among entries [i, j) (sorted by time). */
  private latest(ts: readonly number[], vals: readonly unknown[] | null, i: number, j: number): LatestRecord | undefined {
    let best: LatestRecord | undefined;
    for (let k = j - 1; k >= i; k--) {
      if (best !== undefined && ts[k]! < best.ts) break;
      const g = this.grantedAt(vals, k);
      if (g !== undefined) best = later(best, { ts: ts[k]!, granted: g });
    }
    return best;
  }

  /** The latest record decides (its tie already resolved to a denial); none: the default. */
  private decide(record: LatestRecord | undefined): boolean {
    return record === undefined ? this.defaultGranted : record.granted;
  }

  protected reduce(ts: readonly number[], vals: readonly unknown[] | null, i: number, j: number): MeasureValue {
    return this.decide(this.latest(ts, vals, i, j));
  }

  protected combine(state: unknown, ts: readonly number[], vals: readonly unknown[] | null, i: number, j: number): MeasureValue {
    return this.decide(later(state as LatestRecord | undefined, this.latest(ts, vals, i, j)));
  }

  protected foldInto(state: unknown, ts: readonly number[], vals: readonly unknown[] | null, i: number, j: number): unknown {
    return later(state as LatestRecord | undefined, this.latest(ts, vals, i, j));
  }

  override get absorbable(): boolean {
    return true;
  }

  protected override absorbOne(state: unknown, t: number, payload: unknown): unknown {
    const v = payloadValue(payload as never, this.width, this.propIndex);
    if (typeof v !== 'boolean') return UNCHANGED;
    const before = state as LatestRecord | undefined;
    const after = later(before, { ts: t, granted: v });
    return after === before || (before !== undefined && after!.ts === before.ts && after!.granted === before.granted) ? UNCHANGED : after;
  }
}
