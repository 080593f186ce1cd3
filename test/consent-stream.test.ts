/**
 * Consent in `strata stream`'s evaluator, hand-worked: a marketing segment (AND {consent:
 * marketing} around {did: view}) whose members enter and leave as `$consent` events arrive,
 * a same-instant denial winning, a late grant behind the watermark, and a restart from a
 * saved state file keeping each user's latest consent record. The oracle is the rule in
 * src/privacy/consent/consent-event.ts (membership changes `at` the last instant with the
 * old membership: an event at t counts from t + 1, so a change it causes is at t).
 * Random logs are in test/stream-property.test.ts (consentScenarioWith).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlan } from '../src/schema/tracking-plan.js';
import { buildSegmentIR, validateSegment } from '../src/segments/language/index.js';
import { createStreamEvaluator, readStreamState, StreamEvaluator, writeStreamState, type MembershipChange } from '../src/segments/stream/index.js';
import { MS } from '../src/time/time.js';

const PLAN = parsePlan({ events: { $consent: { properties: { purpose: 'string', granted: 'boolean', source: 'string' } }, view: {} } });
const T0 = Date.UTC(2024, 5, 1);
const H = MS.h;

const segment = (purpose: string, match: unknown, key = 'target') => {
  const def = validateSegment({ key, name: key, objective: 'other', rationale: 'stream consent test', owner: 'privacy', purpose, match }, PLAN);
  return buildSegmentIR(def, PLAN, () => undefined);
};
const view = (user: string, ts: number) => ({ userId: user, event: 'view', ts, properties: {} });
const consent = (user: string, purpose: string, granted: boolean, ts: number) => ({ userId: user, event: '$consent', ts, properties: { purpose, granted, source: 'banner' } });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strata-consent-stream-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('consent in the stream', () => {
  it('a $consent event flips membership of a targeting segment; a same-instant denial wins', () => {
    const changes: MembershipChange[] = [];
    const ev = createStreamEvaluator({ segments: [segment('marketing', { did: 'view' })], clock: 'event', latenessMs: 0, onChange: (c) => changes.push(c) });
    ev.push(view('u1', T0));
    ev.push(view('u2', T0));
    expect([...ev.membership('target')]).toEqual([]);
    ev.push(consent('u1', 'marketing', true, T0 + H));
    ev.push(consent('u1', 'personalization', false, T0 + 2 * H));
    ev.push(consent('u2', 'marketing', true, T0 + 3 * H));
    ev.push(consent('u2', 'marketing', false, T0 + 3 * H));
    ev.push(consent('u1', 'marketing', false, T0 + 4 * H));
    ev.tick(T0 + 5 * H);
    // The stream reports what it has seen: u2's grant alone makes them a member until the
    // denial of the same instant arrives, which wins; both changes are at that instant, so
    // replaying them leaves u2 out, as the batch evaluators say.
    expect(changes).toEqual([
      { type: 'entered', segment: 'target', user: 'u1', at: T0 + H },
      { type: 'entered', segment: 'target', user: 'u2', at: T0 + 3 * H },
      { type: 'left', segment: 'target', user: 'u2', at: T0 + 3 * H },
      { type: 'left', segment: 'target', user: 'u1', at: T0 + 4 * H },
    ]);
    expect([...ev.membership('target')]).toEqual([]);
  });

  it('with analytics granted by default, a late grant within the lateness overtakes an earlier denial from the clock on', () => {
    const changes: MembershipChange[] = [];
    const ev = createStreamEvaluator({ segments: [segment('analytics', { consent: 'analytics' }, 'tracked')], clock: 'event', latenessMs: 2 * H, onChange: (c) => changes.push(c) });
    ev.push(view('u1', T0));
    ev.push(consent('u1', 'analytics', false, T0 + H));
    ev.push(view('u1', T0 + 4 * H));
    // Arrives late but within the lateness: a grant after the denial.
    ev.push(consent('u1', 'analytics', true, T0 + 3 * H));
    ev.tick(T0 + 10 * H);
    expect(changes).toEqual([
      { type: 'entered', segment: 'tracked', user: 'u1', at: T0 },
      { type: 'left', segment: 'tracked', user: 'u1', at: T0 + H },
      // The clock had passed T0 + 4h when the grant arrived: the change is reported then (history is not rewritten).
      { type: 'entered', segment: 'tracked', user: 'u1', at: T0 + 4 * H },
    ]);
    expect(ev.isMember('tracked', 'u1')).toBe(true);
  });

  it('keeps each user\'s latest consent record across a restart from a state file', async () => {
    const segments = [segment('personalization', { did: 'view' })];
    const options = { segments, clock: 'event' as const, latenessMs: 0 };
    const first = createStreamEvaluator(options);
    first.push(view('u1', T0));
    first.push(consent('u1', 'personalization', true, T0 + H));
    first.push(view('u2', T0 + H));
    first.push(consent('u2', 'personalization', true, T0 + H));
    first.push(consent('u2', 'personalization', false, T0 + H));
    const file = path.join(dir, 'state.jsonl');
    await writeStreamState(file, first.snapshot());
    const changes: MembershipChange[] = [];
    const second = StreamEvaluator.restore({ ...options, onChange: (c) => changes.push(c) }, await readStreamState(file));
    expect([...second.membership('target')].sort()).toEqual(['u1']);
    // u2's tie was a denial; a later grant lets them in, a view alone changes nothing for u1.
    second.push(view('u1', T0 + 2 * H));
    second.push(consent('u2', 'personalization', true, T0 + 3 * H));
    second.tick(T0 + 4 * H);
    expect(changes).toEqual([{ type: 'entered', segment: 'target', user: 'u2', at: T0 + 3 * H }]);
  });
});
