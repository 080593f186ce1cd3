/**
 * The behavioural analyses `strata demo` runs on the demo product after its segments:
 * lifecycle stages and their flow, the onboarding funnel, weekly retention, RFM and the
 * key moments. Each is the library call its CLI command makes, with the settings the
 * "Explore it" hints repeat (DEMO_ANALYSIS_SETTINGS), so the demo's numbers and the
 * commands' agree.
 */
import { analyzeFunnel, checkFunnelDocument, type FunnelResult } from '../analysis/funnel/index.js';
import { lifecycleFlow, lifecycleReport, type LifecycleFlow, type LifecycleReport } from '../analysis/lifecycle/index.js';
import { momentSummaries, type MomentsReport } from '../analysis/moments/index.js';
import { computeRetention, type RetentionDefinition, type RetentionResult } from '../analysis/retention/index.js';
import { computeRfm, type RfmResult } from '../analysis/rfm/index.js';
import type { Config } from '../config/index.js';
import type { SegmentRegistry } from '../segments/registry/index.js';
import type { EventStore } from '../store/event-store.js';
import { MS } from '../time/time.js';

/** The onboarding checklist, in the order the product asks for it. */
export const DEMO_FUNNEL_STEPS = ['signed_up', 'onboarding_started', 'profile_completed', 'first_project_created', 'core_task_completed'] as const;

export const DEMO_ANALYSIS_SETTINGS = {
  /** The lifecycle flow starts this long before the end of the data. */
  flowDays: 28,
  /** Signups in the last 90 days, each with 7 days to get through onboarding. */
  funnel: { name: 'onboarding', funnel: [...DEMO_FUNNEL_STEPS], span: '7d', within: '90d', order: 'sequential' },
  /** Weekly cohorts of the last 12 weeks by first seen, returning to do the core action. */
  retention: { cohort: 'week', return: 'core_task_completed', periods: 8, from: '-12w', mode: 'returned' } satisfies RetentionDefinition,
} as const;

export interface DemoAnalyses {
  /** Users per lifecycle stage as of the end of the data. */
  readonly lifecycle: LifecycleReport;
  /** Stage 28 days before the end against stage at the end. */
  readonly lifecycleFlow: LifecycleFlow;
  readonly funnel: FunnelResult;
  readonly retention: RetentionResult;
  readonly rfm: RfmResult;
  readonly moments: MomentsReport;
}

export type DemoAnalysisProgress = (p: { phase: string; done: number; total: number }) => void;

/** Run every analysis as of asOfMs on the demo workspace. */
export async function runDemoAnalyses(store: EventStore, registry: SegmentRegistry, config: Config, asOfMs: number, progress: DemoAnalysisProgress): Promise<DemoAnalyses> {
  const total = 6;
  let done = 0;
  const step = <T>(phase: string, work: () => Promise<T>): Promise<T> => {
    progress({ phase, done: done++, total });
    return work();
  };
  const lifecycle = await step('lifecycle stages', () => lifecycleReport(store, config, { asOfMs }));
  const flow = await step('lifecycle flow', () => lifecycleFlow(store, config, { fromMs: asOfMs - DEMO_ANALYSIS_SETTINGS.flowDays * MS.d, toMs: asOfMs }));
  const funnel = await step('funnel', () => analyzeFunnel(store, registry, config.plan, checkFunnelDocument(DEMO_ANALYSIS_SETTINGS.funnel, config.plan), { asOfMs }));
  const retention = await step('retention', () => computeRetention({ store, plan: config.plan, registry }, DEMO_ANALYSIS_SETTINGS.retention, { asOfMs }));
  const rfm = await step('rfm', () => computeRfm(store, config.rfm, { asOfMs }));
  const moments = await step('key moments', () => momentSummaries(store, config, { asOfMs, per: 'month' }));
  progress({ phase: 'key moments', done: total, total });
  return { lifecycle, lifecycleFlow: flow, funnel, retention, rfm, moments };
}
