/**
 * The analysis sections of the demo workspace's strata.yaml (`lifecycle:`, `moments:`,
 * `rfm:`), appended as text after `strata init` wrote the file, so the workspace reads like
 * one a team configured by hand, comments included.
 */

export const DEMO_ANALYSIS_YAML = `
# Lifecycle stages: where each user is (strata lifecycle report | flow, and
# {lifecycle: STAGE} in segments). The activity stages (new, engaged, at_risk,
# dormant, resurrected) use their defaults; see the README for every setting.
lifecycle:
  # Finishing a task is the value of the product: a user who did it is activated.
  core_action: core_task_completed
  # Inviting a colleague is how users recommend us.
  advocacy_event: invite_sent

# Key moments: computed per user with their instant (strata moments list | show KEY).
moments:
  first-action-after-signup:
    name: First action after signup
    first: '*'
    after: {event: signed_up}
  first-core-action:
    name: First core action
    first: core_task_completed
  activated-first-week:
    name: Core action within 7 days of signup
    first: core_task_completed
    after: {trait: signup_at}
    within: 7d
  monthly-regular:
    name: Active on 8 days of a calendar month
    threshold: core_task_completed
    activeDays: 8
  monthly-power:
    name: 40 core tasks in a calendar month
    threshold: core_task_completed
    events: 40
  stalled-activation:
    name: 3 days after signup without a core action
    absence: core_task_completed
    after: {trait: signup_at}
    within: 3d
  first-invite:
    name: First invite sent
    first: invite_sent
  first-paid-purchase:
    name: First paid purchase
    first: purchase
    where: [{property: amount, gt: 0}]

# What a purchase is and what it is worth: strata rfm, and conversion and revenue in
# strata segment report. Upgrades and renewals are both purchase events; amounts are in
# the billing currency (USD, EUR or GBP), close enough to rank customers.
rfm:
  event: purchase
  value: amount
`;

/** strata.yaml's text with the analysis sections after everything `strata init` wrote. */
export function withDemoAnalysis(strataYaml: string): string {
  return `${strataYaml.trimEnd()}\n${DEMO_ANALYSIS_YAML}`;
}
