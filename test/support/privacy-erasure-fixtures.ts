/**
 * A small hand-written product for the erasure, export and retention tests: five users,
 * every user-keyed table filled (events with `$consent` and `$exposure`, users, profiles,
 * snapshot members, model scores) and rejected rows of two users. Every expected number in
 * the tests is worked out from these rows.
 *
 *   user-alpha   signup 01-05; $consent marketing granted 01-05 (banner), personalization
 *                granted 02-01 (banner), marketing denied 04-01 (settings); $exposure
 *                onboarding/checklist 01-10; page_viewed 01-06, 03-01, 05-01; purchase 03-02
 *                (30); profile: email (pii, hashed at ingest), plan pro; 1 rejected row
 *   user-bravo   signup 01-03; page_viewed 01-04; purchase 02-10 (50); $exposure
 *                onboarding/control 01-08; profile: plan free; 1 rejected row
 *   user-charlie page_viewed 02-01, 05-10; no profile
 *   user-delta   profile only (plan free)
 *   user-echo    page_viewed 2024-10-01 only; no profile
 * (all 2025 unless said, 09:00 UTC)
 */
import { appendFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { initWorkspace, loadConfig, openStore } from '../../src/config/index.js';
import { writeScoreRun } from '../../src/models/registry/model-store.js';
import { parsePlan, type TrackingPlan } from '../../src/schema/tracking-plan.js';
import { parseSegmentText, validateSegment, type SegmentDefinition } from '../../src/segments/language/index.js';
import type { EventStore } from '../../src/store/event-store.js';

export const ALPHA = 'user-alpha';
export const BRAVO = 'user-bravo';
export const CHARLIE = 'user-charlie';
export const DELTA = 'user-delta';
export const ECHO = 'user-echo';

/** The plan; `retention` adds retention_days per event type. */
export function erasurePlan(retention: Readonly<Record<string, number>> = {}): TrackingPlan {
  const events: Record<string, { properties?: Record<string, string>; retention_days?: number }> = {
    signup: {},
    page_viewed: { properties: { page: 'string' } },
    purchase: { properties: { amount: 'number' } },
    $consent: { properties: { purpose: 'string', granted: 'boolean', source: 'string' } },
    $exposure: { properties: { experiment: 'string', variant: 'string' } },
  };
  for (const [event, days] of Object.entries(retention)) events[event] = { ...events[event], retention_days: days };
  return parsePlan({ events, traits: { email: { type: 'string', pii: true }, plan: 'string' } });
}

export const at = (month: number, day: number, year = 2025) => new Date(Date.UTC(year, month - 1, day, 9)).toISOString();
export const atMs = (month: number, day: number, year = 2025) => Date.UTC(year, month - 1, day, 9);

export const EVENTS: readonly Record<string, unknown>[] = [
  { user_id: ALPHA, event: 'signup', timestamp: at(1, 5) },
  { user_id: ALPHA, event: '$consent', timestamp: at(1, 5), properties: { purpose: 'marketing', granted: true, source: 'banner' } },
  { user_id: ALPHA, event: 'page_viewed', timestamp: at(1, 6), properties: { page: 'home' } },
  { user_id: ALPHA, event: '$exposure', timestamp: at(1, 10), properties: { experiment: 'onboarding', variant: 'checklist' } },
  { user_id: ALPHA, event: '$consent', timestamp: at(2, 1), properties: { purpose: 'personalization', granted: true, source: 'banner' } },
  { user_id: ALPHA, event: 'page_viewed', timestamp: at(3, 1), properties: { page: 'pricing' } },
  { user_id: ALPHA, event: 'purchase', timestamp: at(3, 2), properties: { amount: 30 } },
  { user_id: ALPHA, event: '$consent', timestamp: at(4, 1), properties: { purpose: 'marketing', granted: false, source: 'settings' } },
  { user_id: ALPHA, event: 'page_viewed', timestamp: at(5, 1), properties: { page: 'home' } },
  { user_id: ALPHA, event: 'refund', timestamp: at(5, 2) }, // rejected: not in the plan
  { user_id: BRAVO, event: 'signup', timestamp: at(1, 3) },
  { user_id: BRAVO, event: 'page_viewed', timestamp: at(1, 4), properties: { page: 'home' } },
  { user_id: BRAVO, event: '$exposure', timestamp: at(1, 8), properties: { experiment: 'onboarding', variant: 'control' } },
  { user_id: BRAVO, event: 'purchase', timestamp: at(2, 10), properties: { amount: 50 } },
  { user_id: BRAVO, event: 'refund', timestamp: at(2, 11) }, // rejected
  { user_id: CHARLIE, event: 'page_viewed', timestamp: at(2, 1), properties: { page: 'docs' } },
  { user_id: CHARLIE, event: 'page_viewed', timestamp: at(5, 10), properties: { page: 'docs' } },
  { user_id: ECHO, event: 'page_viewed', timestamp: at(10, 1, 2024), properties: { page: 'home' } },
];
/** Events stored (the two refunds are rejected). */
export const STORED_EVENTS = EVENTS.filter((e) => e.event !== 'refund');

export const PROFILES: readonly Record<string, unknown>[] = [
  { user_id: ALPHA, traits: { email: 'alpha@example.com', plan: 'pro' } },
  { user_id: BRAVO, traits: { plan: 'free' } },
  { user_id: DELTA, traits: { plan: 'free' } },
];

export const BUYERS_YAML = `key: buyers
name: Buyers
objective: conversion
rationale: Users who purchased, for the erasure tests.
owner: privacy-tests
match: { did: purchase }
`;

export function buyersDefinition(plan: TrackingPlan): SegmentDefinition {
  return validateSegment(parseSegmentText(BUYERS_YAML, 'buyers.yaml'), plan);
}

/** Snapshot instants of `buyers`: 03-01 (bravo only: alpha buys 03-02) and 05-25 (both). */
export const SNAPSHOT_EARLY_MS = atMs(3, 1);
export const SNAPSHOT_LATE_MS = atMs(5, 25);
/** Score run instants: 03-01 (alpha, bravo, charlie) and 05-20 (alpha, bravo). */
export const RUN_EARLY_MS = atMs(3, 1);
export const RUN_LATE_MS = atMs(5, 20);

export async function writeFixtureFiles(dir: string): Promise<{ events: string; profiles: string }> {
  const events = path.join(dir, 'events.jsonl');
  const profiles = path.join(dir, 'profiles.jsonl');
  await writeFile(events, EVENTS.map((e) => JSON.stringify(e)).join('\n') + '\n');
  await writeFile(profiles, PROFILES.map((p) => JSON.stringify(p)).join('\n') + '\n');
  return { events, profiles };
}

/**
 * The fixture workspace at `ws` through the CLI: the plan (with `retention` days per event
 * and any extra strata.yaml text), events and profiles ingested, `buyers` added and computed
 * at the two snapshot instants, and the two scoring runs. Returns the written source files.
 */
export async function buildFixtureWorkspace(
  root: string,
  ws: string,
  run: (...argv: string[]) => Promise<{ readonly code: number }>,
  options: { readonly retention?: Readonly<Record<string, number>>; readonly extraYaml?: string } = {},
): Promise<{ events: string; profiles: string }> {
  await initWorkspace(ws, { plan: erasurePlan(options.retention) });
  if (options.extraYaml !== undefined) await appendFile(path.join(ws, 'strata.yaml'), options.extraYaml);
  const files = await writeFixtureFiles(root);
  expect((await run('ingest', 'events', files.events)).code).toBe(0);
  expect((await run('ingest', 'profiles', files.profiles)).code).toBe(0);
  await appendFile(path.join(root, 'buyers.yaml'), BUYERS_YAML);
  expect((await run('segment', 'add', path.join(root, 'buyers.yaml'))).code).toBe(0);
  expect((await run('segment', 'compute', 'buyers', '--as-of', at(3, 1))).code).toBe(0);
  expect((await run('segment', 'compute', 'buyers', '--as-of', at(5, 25))).code).toBe(0);
  const store = await openStore(await loadConfig({ cwd: ws, env: {} }));
  try {
    await writeFixtureScores(store);
  } finally {
    await store.close();
  }
  return files;
}

/** Two scoring runs of model `churn` v1. */
export async function writeFixtureScores(store: EventStore): Promise<void> {
  await writeScoreRun(store, { modelKey: 'churn', modelVersion: 1, asOfMs: RUN_EARLY_MS, createdAtMs: RUN_EARLY_MS, userIds: [ALPHA, BRAVO, CHARLIE], scores: Float64Array.from([0.2, 0.6, 0.9]) });
  await writeScoreRun(store, { modelKey: 'churn', modelVersion: 1, asOfMs: RUN_LATE_MS, createdAtMs: RUN_LATE_MS, userIds: [ALPHA, BRAVO], scores: Float64Array.from([0.3, 0.1]) });
}

/** Rows per user-keyed table for a user (physical rows, no FINAL: every version counts). */
export async function physicalRows(store: EventStore, table: string, userId: string): Promise<number> {
  const [r] = await store.query(`SELECT count(*) AS n FROM ${table} WHERE user_id = ${store.dialect.stringLiteral(userId)}`);
  return Number(r?.n ?? 0);
}

/** users.first_event_at (epoch ms or null) and has_profile per user, through the dialect (FINAL on ClickHouse). */
export async function populationIndex(store: EventStore): Promise<Record<string, { first: number | null; profile: boolean }>> {
  const d = store.dialect;
  const rows = await store.query(`SELECT user_id, ${d.epochMs('first_event_at')} AS f, has_profile FROM ${d.table('users')} ORDER BY user_id`);
  return Object.fromEntries(
    rows.map((r) => [String(r.user_id), { first: r.f === null || r.f === undefined ? null : Number(r.f), profile: r.has_profile === true || Number(r.has_profile) === 1 }]),
  );
}
