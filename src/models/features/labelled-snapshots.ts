/**
 * Training sets for supervised models: for each past snapshot instant T, the features as of
 * T (events before T only) and a label read from the horizon [T, T + H):
 * - churn: 1 when the user has no event at all in [T, T + H), else 0;
 * - conversion: 1 when the user has the event in [T, T + H), else 0.
 * A snapshot is used only when its horizon has ended by the end of the data (T + H <= the
 * instant of the latest stored event, or `dataEndMs`), so every label is known; the others
 * are reported as skipped. Every snapshot uses the one-hot values of the first (or the
 * given `categories`), so all matrices have the same columns. Features and labels never read the same events: features stop
 * strictly before T, labels start at T.
 */
import { StrataError } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import { toNullableNumber } from '../../segments/registry/registry-sql.js';
import type { EventStore } from '../../store/event-store.js';
import { TABLES } from '../../store/schema.js';
import { buildFeatures, type FeatureMatrix } from './build-features.js';
import { DAY_MS, type FeatureOptions } from './feature-options.js';
import { activeUsersSql } from './feature-sql.js';

export type LabelSpec = { readonly kind: 'churn' } | { readonly kind: 'conversion'; readonly event: string };

export interface LabelledSnapshotOptions extends Omit<FeatureOptions, 'asOfMs'> {
  readonly snapshotsMs: readonly number[];
  readonly horizonDays: number;
  readonly label: LabelSpec;
  /** The end of the observed data (default: the latest stored event's instant). */
  readonly dataEndMs?: number;
}

export interface LabelledSnapshot {
  readonly asOfMs: number;
  readonly features: FeatureMatrix;
  /** One 0/1 label per row of `features`. */
  readonly labels: Float64Array;
}

export interface LabelledSnapshots {
  readonly horizonMs: number;
  readonly dataEndMs: number | null;
  /** In ascending order of T. */
  readonly snapshots: readonly LabelledSnapshot[];
  readonly skipped: readonly { readonly asOfMs: number; readonly reason: string }[];
}

/** The instant of the latest stored event (null: no events). */
export async function latestEventMs(store: EventStore): Promise<number | null> {
  const d = store.dialect;
  const rows = await store.query(`SELECT ${d.aggregate('max', d.epochMs('ts'), null)} AS last_ms FROM ${d.table(TABLES.events)}`);
  return toNullableNumber(rows[0]?.last_ms);
}

function checkOptions(plan: TrackingPlan, o: LabelledSnapshotOptions): void {
  if (!(Number.isSafeInteger(o.horizonDays) && o.horizonDays > 0)) {
    throw new StrataError('INPUT_INVALID', `horizonDays must be a positive whole number of days, got ${o.horizonDays}`, [{ path: 'horizonDays', message: 'expected days such as 28' }]);
  }
  if (o.label.kind === 'conversion' && !Object.hasOwn(plan.events, o.label.event)) {
    throw new StrataError('INPUT_INVALID', `the label event "${o.label.event}" is not declared in the tracking plan`, [{ path: 'label.event', message: 'expected a declared event' }]);
  }
  for (const t of o.snapshotsMs) if (!Number.isSafeInteger(t)) throw new StrataError('INPUT_INVALID', `snapshot instants must be epoch ms, got ${t}`, [{ path: 'snapshotsMs', message: 'expected instants' }]);
}

/**
 * The default instant of model and discovery commands: 1 ms after the latest stored event,
 * so every stored event counts and a workspace whose data stopped long ago is read as of its
 * end, not as of a "now" at which nobody is active; live data gives (almost) now.
 */
export async function defaultModelAsOf(store: EventStore): Promise<number> {
  const last = await latestEventMs(store);
  if (last === null) throw new StrataError('INPUT_INVALID', 'the store has no events');
  return last + 1;
}

export async function labelledSnapshots(store: EventStore, plan: TrackingPlan, options: LabelledSnapshotOptions): Promise<LabelledSnapshots> {
  checkOptions(plan, options);
  const horizonMs = options.horizonDays * DAY_MS;
  const dataEndMs = options.dataEndMs ?? (await latestEventMs(store));
  const { snapshotsMs, horizonDays: _h, label, dataEndMs: _e, ...featureOptions } = options;
  const snapshots: LabelledSnapshot[] = [];
  const skipped: { asOfMs: number; reason: string }[] = [];
  for (const asOfMs of [...new Set(snapshotsMs)].sort((a, b) => a - b)) {
    if (dataEndMs === null || asOfMs + horizonMs > dataEndMs) {
      skipped.push({ asOfMs, reason: dataEndMs === null ? 'the store has no events' : `the horizon ends at ${new Date(asOfMs + horizonMs).toISOString()}, after the data's end ${new Date(dataEndMs).toISOString()}` });
      continue;
    }
    // Every snapshot gets the first one's one-hot values, so the columns line up across the set.
    const categories = featureOptions.categories ?? snapshots[0]?.features.categories;
    const features = await buildFeatures(store, plan, { ...featureOptions, asOfMs, ...(categories ? { categories } : {}) });
    const event = label.kind === 'conversion' ? label.event : null;
    const active = new Set((await store.queryByUser((d) => activeUsersSql(d, asOfMs, asOfMs + horizonMs, event))).map((r) => String(r.user_id)));
    const labels = new Float64Array(features.userIds.length);
    features.userIds.forEach((u, i) => {
      labels[i] = label.kind === 'churn' ? (active.has(u) ? 0 : 1) : active.has(u) ? 1 : 0;
    });
    snapshots.push({ asOfMs, features, labels });
  }
  return { horizonMs, dataEndMs, snapshots, skipped };
}
