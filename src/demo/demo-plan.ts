/**
 * The tracking plan of the demo product, written into the demo workspace's strata.yaml
 * exactly as a team would declare it.
 */
import { parsePlan, type TrackingPlan } from '../schema/tracking-plan.js';

export const DEMO_PLAN_DOCUMENT = {
  undeclared: 'drop',
  session_gap: '30m',
  events: {
    signed_up: { description: 'Account created.', properties: { method: 'string' } },
    onboarding_started: { description: 'Opened the onboarding checklist.', properties: {} },
    profile_completed: { description: 'Filled in role and team size.', properties: {} },
    first_project_created: { description: 'Created the first project (onboarding step 3).', properties: { template: 'string' } },
    project_created: { description: 'Created another project.', properties: { template: 'string' } },
    core_task_completed: { description: 'Finished a task: the core workflow, and the last onboarding step the first time.', properties: { duration_s: 'number' } },
    feature_used: { description: 'Used a feature of the editor.', properties: { feature: 'string' } },
    page_viewed: { description: 'Viewed a page of the app.', properties: { page: 'string' }, retention_days: 90 },
    pricing_viewed: { description: 'Opened the pricing page.', properties: {} },
    purchase: { description: 'A payment: first upgrade or renewal.', properties: { amount: 'number', currency: 'string', plan: 'string', billing: 'string' } },
    subscription_cancelled: { description: 'Cancelled a paid plan (back to free).', properties: { plan: 'string' } },
    invite_sent: { description: 'Invited a colleague.', properties: { method: 'string' } },
    $exposure: { description: 'Saw a variant of an experiment (the onboarding-checklist experiment).', properties: { experiment: 'string', variant: 'string' } },
    $consent: { description: 'A consent choice: banner, signup form or settings (src/demo/demo-consent.ts).', properties: { purpose: 'string', granted: 'boolean', source: 'string' } },
  },
  traits: {
    plan: { type: 'string', description: 'free, pro or team, as of the end of the data' },
    signup_at: 'timestamp',
    channel: { type: 'string', description: 'acquisition channel' },
    device: 'string',
    locale: 'string',
    country: 'string',
    company_size: { type: 'number', description: 'employees' },
    role: 'string',
    email: { type: 'string', pii: true },
    age_band: { type: 'string', sensitive: true, description: 'self-reported; for fairness audits only' },
  },
} as const;

export function demoPlan(): TrackingPlan {
  return parsePlan(DEMO_PLAN_DOCUMENT);
}
