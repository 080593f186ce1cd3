/**
 * The lifecycle model as data: parameters, the default stages built from them as
 * segment-language condition documents, the priority order and the fallback stage.
 *
 * A user's stage is the FIRST stage in priority order whose condition holds; a user of the
 * population matching none is in the fallback stage. So stage k is "C_k and not any of
 * C_1..C_{k-1}", and the stages partition the population.
 *
 * This file depends on nothing but time formatting: the segment language imports it for
 * the default model (a `{lifecycle: STAGE}` condition with no model given), and the
 * strata.yaml parser (lifecycle-config.ts) builds configured models with it.
 */
import { MS, formatDuration, parseDurationMs } from '../../time/time.js';

/** An event reference of a parameter: `event`, or `{event, where}` (where as written, checked against the plan). */
export interface LifecycleEvent {
  readonly event: string;
  readonly where?: readonly unknown[];
}

export interface LifecycleParameters {
  /** What counts as activity for new, engaged, at_risk, dormant and resurrected; null: any event. */
  readonly activity: LifecycleEvent | null;
  /** The core action (activated); null: not configured, the stage is left out. */
  readonly coreAction: LifecycleEvent | null;
  /** The advocacy event (advocate); null: not configured, the stage is left out. */
  readonly advocacyEvent: LifecycleEvent | null;
  /** Durations as written (`7d`). */
  readonly newWithin: string;
  readonly engaged: { readonly activeDays: number; readonly of: string };
  /** The fraction engaged activity must fall by (0 < drop < 1). */
  readonly atRiskDrop: number;
  readonly dormantAfter: string;
  readonly resurrectedWithin: string;
}

/** A condition document of the segment language, as a segment's `match` would hold it. */
export type ConditionDocument = Readonly<Record<string, unknown>>;

export interface LifecycleStage {
  /** `^[a-z][a-z0-9_]*$`, unique in the model. */
  readonly key: string;
  readonly name: string;
  readonly description: string;
  /** The stage's own condition, before the stages ahead of it are excluded. */
  readonly match: ConditionDocument;
  /** default: built from the parameters; overridden: a default stage with a configured match; added: configured. */
  readonly origin: 'default' | 'overridden' | 'added';
}

export interface FallbackStage {
  readonly key: string;
  readonly name: string;
  readonly description: string;
}

/** A default stage left out because the setting it is built from is not configured. */
export interface UnavailableStage {
  readonly key: string;
  readonly name: string;
  /** The strata.yaml setting to add, e.g. `lifecycle.core_action`. */
  readonly setting: string;
}

export interface LifecycleModel {
  readonly parameters: LifecycleParameters;
  /** In priority order (the first whose condition holds wins); never empty. */
  readonly stages: readonly LifecycleStage[];
  readonly fallback: FallbackStage;
  readonly unavailable: readonly UnavailableStage[];
}

export const DEFAULT_PARAMETERS: LifecycleParameters = {
  activity: null,
  coreAction: null,
  advocacyEvent: null,
  newWithin: '7d',
  engaged: { activeDays: 8, of: '28d' },
  atRiskDrop: 0.5,
  dormantAfter: '30d',
  resurrectedWithin: '14d',
};

export const DEFAULT_ORDER = ['dormant', 'resurrected', 'at_risk', 'advocate', 'engaged', 'activated', 'new'] as const;
export type DefaultStageKey = (typeof DEFAULT_ORDER)[number];

export const DEFAULT_FALLBACK: FallbackStage = {
  key: 'unactivated',
  name: 'Unactivated',
  description: 'In the population but in no other stage: seen before, not new, never did the core action, not lapsed.',
};

export const STAGE_KEY_PATTERN = '^[a-z][a-z0-9_]{0,62}$';

/** The number of active days in the last period below which an engaged user is at risk: ceil(N x (1 - drop)). */
export function atRiskThreshold(p: LifecycleParameters): number {
  // The epsilon keeps 10 x (1 - 0.7) = 3.0000000000000004 at 3.
  return Math.max(1, Math.ceil(p.engaged.activeDays * (1 - p.atRiskDrop) - 1e-9));
}

interface DefaultStage {
  readonly name: string;
  readonly describe: (p: LifecycleParameters) => string;
  /** The setting the stage needs, when it needs one that has no default. */
  readonly needs?: { readonly setting: string; readonly present: (p: LifecycleParameters) => boolean };
  readonly build: (p: LifecycleParameters) => ConditionDocument;
}

const ms = (text: string) => parseDurationMs(text) ?? 0;
/** A duration in days when it is whole days (the unit the parameters are usually given in), else the shortest form. */
const days = (durationMs: number) => (durationMs % MS.d === 0 ? `${durationMs / MS.d}d` : formatDuration(durationMs));
const eventName = (e: LifecycleEvent | null) => (e === null ? 'any event' : e.where && e.where.length > 0 ? `${e.event} (with conditions)` : e.event);

/** `on`/`where` for measures over activity (any event when not configured). */
function activityOn(p: LifecycleParameters): Record<string, unknown> {
  if (p.activity === null) return {};
  return { on: p.activity.event, ...(p.activity.where && p.activity.where.length > 0 ? { where: p.activity.where } : {}) };
}

function didEvent(e: LifecycleEvent): Record<string, unknown> {
  return { did: e.event, ...(e.where && e.where.length > 0 ? { where: e.where } : {}) };
}

export const DEFAULT_STAGES: Readonly<Record<DefaultStageKey, DefaultStage>> = {
  new: {
    name: 'New',
    describe: (p) => `First active within the last ${p.newWithin}.`,
    build: (p) => ({ firstSeen: { lt: p.newWithin }, ...activityOn(p) }),
  },
  activated: {
    name: 'Activated',
    describe: (p) => `Did the core action (${eventName(p.coreAction)}) at least once.`,
    needs: { setting: 'lifecycle.core_action', present: (p) => p.coreAction !== null },
    build: (p) => didEvent(p.coreAction!),
  },
  engaged: {
    name: 'Engaged',
    describe: (p) => `Active on at least ${p.engaged.activeDays} days of the last ${p.engaged.of}.`,
    build: (p) => ({ activeDays: { gte: p.engaged.activeDays }, ...activityOn(p), within: p.engaged.of }),
  },
  advocate: {
    name: 'Advocate',
    describe: (p) => `Did the advocacy event (${eventName(p.advocacyEvent)}) at least once.`,
    needs: { setting: 'lifecycle.advocacy_event', present: (p) => p.advocacyEvent !== null },
    build: (p) => didEvent(p.advocacyEvent!),
  },
  at_risk: {
    name: 'At risk',
    describe: (p) =>
      `Was engaged in the ${p.engaged.of} before the last ${p.engaged.of} (active on at least ${p.engaged.activeDays} days), ` +
      `and active on fewer than ${atRiskThreshold(p)} days of the last ${p.engaged.of} (activity fell by ${Math.round(p.atRiskDrop * 100)}% or more).`,
    build: (p) => {
      const period = ms(p.engaged.of);
      return {
        all: [
          { activeDays: { gte: p.engaged.activeDays }, ...activityOn(p), during: [`-${days(2 * period)}`, `-${days(period)}`] },
          { activeDays: { lt: atRiskThreshold(p) }, ...activityOn(p), within: p.engaged.of },
        ],
      };
    },
  },
  dormant: {
    name: 'Dormant',
    describe: (p) => `No activity for ${p.dormantAfter} or more.`,
    build: (p) => ({ lastSeen: { gte: p.dormantAfter }, ...activityOn(p) }),
  },
  resurrected: {
    name: 'Resurrected',
    describe: (p) => `Active within the last ${p.resurrectedWithin} after a gap of at least ${p.dormantAfter} without activity, and first active before that gap.`,
    build: (p) => {
      const before = days(ms(p.resurrectedWithin) + ms(p.dormantAfter));
      const on = activityOn(p);
      return {
        all: [
          { started: p.activity?.event ?? '*', ...(on.where ? { where: on.where } : {}), recent: p.resurrectedWithin, prior: p.dormantAfter },
          { firstSeen: { gte: before }, ...on },
        ],
      };
    },
  },
};

export function isDefaultStageKey(key: string): key is DefaultStageKey {
  return (DEFAULT_ORDER as readonly string[]).includes(key);
}

/** A default stage built from the parameters, or the setting it lacks. */
export function defaultStage(key: DefaultStageKey, p: LifecycleParameters): LifecycleStage | UnavailableStage {
  const spec = DEFAULT_STAGES[key];
  if (spec.needs && !spec.needs.present(p)) return { key, name: spec.name, setting: spec.needs.setting };
  return { key, name: spec.name, description: spec.describe(p), match: spec.build(p), origin: 'default' };
}

export function isUnavailable(s: LifecycleStage | UnavailableStage): s is UnavailableStage {
  return Object.hasOwn(s, 'setting');
}

/**
 * The model of an empty `lifecycle:` section: activity is any event, no core action and no
 * advocacy event (so activated and advocate are left out), the default durations.
 */
export function defaultLifecycleModel(parameters: LifecycleParameters = DEFAULT_PARAMETERS): LifecycleModel {
  const built = DEFAULT_ORDER.map((key) => defaultStage(key, parameters));
  return {
    parameters,
    stages: built.filter((s): s is LifecycleStage => !isUnavailable(s)),
    fallback: DEFAULT_FALLBACK,
    unavailable: built.filter(isUnavailable),
  };
}

/** Every stage key of the model in priority order, the fallback last. */
export function stageKeys(model: LifecycleModel): string[] {
  return [...model.stages.map((s) => s.key), model.fallback.key];
}
