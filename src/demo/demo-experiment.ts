/**
 * The demo's experiment: a personalized onboarding checklist for users who stalled in
 * onboarding (started it, did not finish the core task). From 31 March to 19 May 2025,
 * a stalled user who comes back sees the checklist (or not) on the dashboard of that visit,
 * recorded as a `$exposure` event; the variant comes from Strata's own hashing
 * (assignVariant), so `strata experiment assign` agrees with the data.
 *
 * The effect, on purpose: the checklist was built for large screens. On desktop and tablet a
 * treated user is rescued with probability RESCUE_CHANCE: core tasks right after the visit and
 * return visits with more of them over the next days; on mobile, where the checklist sits
 * behind a menu, it changes nothing. So the analysis finds an effect overall, carried by
 * desktop and tablet users, and none on mobile.
 *
 * Decisions and added events use their own random stream per user, and added events are
 * merged into the user's history without moving any other: every user keeps exactly the
 * events the product gave them before the experiment existed, plus `$exposure` and, when
 * rescued, the rescue's events.
 */
import { assignVariant, type AssignmentDefinition } from '../experiments/design/assign.js';
import { MS } from '../time/time.js';
import { Rand } from './random.js';

export { EXPOSURE_EVENT } from '../experiments/design/exposure.js';

export const DEMO_EXPERIMENT = {
  key: 'onboarding-checklist',
  /** Monday 31 March 2025 (63 days before the demo's end). */
  startMs: Date.UTC(2025, 2, 31),
  /** Monday 19 May 2025: two weeks before the end, so every 7- and 14-day window has ended. */
  stopMs: Date.UTC(2025, 4, 19),
  control: 'control',
  treatment: 'checklist',
  /** The devices the checklist works on (large screens); on mobile it sits behind a menu nobody opens. */
  effectDevices: ['desktop', 'tablet'],
} as const;

/** Chance a treated desktop user finishes the core task because of the checklist. */
export const RESCUE_CHANCE = 0.4;

/** The assignment inputs, as the YAML in src/demo/experiments says (seed = key, 50/50, everyone). */
export const DEMO_ASSIGNMENT: AssignmentDefinition = {
  seed: DEMO_EXPERIMENT.key,
  hashVersion: 1,
  coverage: 1,
  variants: [
    { key: DEMO_EXPERIMENT.control, weight: 0.5 },
    { key: DEMO_EXPERIMENT.treatment, weight: 0.5 },
  ],
};

/** An event the experiment adds to a user's history. */
export interface ExtraEvent {
  readonly event: string;
  readonly ts: number;
  readonly properties: Readonly<Record<string, string | number>> | null;
}

export interface Exposure {
  /** The `$exposure` instant. */
  readonly atMs: number;
  readonly variant: string;
  /** What the checklist makes a rescued user do (empty for everyone else). */
  readonly rescue: readonly ExtraEvent[];
}

/** One stalled user's part in the experiment: exposed at most once, at the first visit in the window. */
export class OnboardingExperiment {
  private done = false;

  constructor(
    private readonly seed: number,
    private readonly index: number,
    private readonly userId: string,
    private readonly device: string,
  ) {}

  /** Called at a visit's dashboard instant; the exposure, or null outside the window or after the first. */
  expose(atMs: number, endMs: number): Exposure | null {
    if (this.done || atMs < DEMO_EXPERIMENT.startMs || atMs >= DEMO_EXPERIMENT.stopMs || atMs >= endMs) return null;
    this.done = true;
    const variant = assignVariant(DEMO_ASSIGNMENT, this.userId).variant;
    if (variant !== DEMO_EXPERIMENT.treatment || !(DEMO_EXPERIMENT.effectDevices as readonly string[]).includes(this.device)) return { atMs, variant, rescue: [] };
    // Its own stream (seed mixed with a constant), so the product's stream is untouched.
    const x = Rand.forItem(this.seed ^ 0x636b6c73, this.index);
    return { atMs, variant, rescue: x.chance(RESCUE_CHANCE) ? rescueEvents(x, atMs) : [] };
  }
}

/**
 * A rescued user works through the checklist: a core task or two minutes after seeing it,
 * then comes back on a few of the next days (mostly the first week or two) to do more.
 */
function rescueEvents(x: Rand, exposureMs: number): ExtraEvent[] {
  const out: ExtraEvent[] = [];
  const tasks = (from: number, count: number): void => {
    let t = from;
    for (let k = 0; k < count; k++) {
      t += x.int(1, 8) * MS.m + x.int(0, 59_999);
      out.push({ event: 'core_task_completed', ts: t, properties: { duration_s: Math.round(60 + x.exp(300)) } });
    }
  };
  tasks(exposureMs + MS.m, 1 + x.poisson(1));
  const visits = 1 + x.poisson(2.5);
  for (let k = 0; k < visits; k++) {
    const at = exposureMs + (1 + Math.floor(x.exp(5))) * MS.d + x.int(0, 10 * 60) * MS.m;
    out.push({ event: 'page_viewed', ts: at, properties: { page: 'dashboard' } });
    tasks(at, 1 + x.poisson(1.5));
  }
  return out;
}
