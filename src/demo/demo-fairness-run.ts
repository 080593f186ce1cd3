/**
 * `strata demo`'s last step: the targeting segments of src/demo/targeting-segments (a
 * marketing campaign and a personalization tour) added and computed, the consent filter
 * checked against the `$consent` records, and the fairness audit over every targeting
 * segment (`strata audit fairness --targeting`), which flags the campaign: it is keyed on
 * AI-assist use, which the product's younger users do far more (synthetic-product.ts).
 */
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { runFairnessAudit, type FairnessAuditResult } from '../governance/fairness/index.js';
import { CONSENT_EVENT, GRANTED_PROPERTY, PURPOSE_PROPERTY } from '../privacy/consent/consent-event.js';
import type { ConsentPurpose } from '../privacy/privacy-config.js';
import { parseSegmentText, validateSegment, type SegmentDefinition } from '../segments/language/index.js';
import type { SegmentRegistry } from '../segments/registry/index.js';
import type { EventStore } from '../store/event-store.js';
import { propertyColumn } from '../store/schema.js';
import { demoAssetFiles } from './demo-assets.js';

/** Who the demo's audit records in the audit log. */
export const DEMO_ACTOR = 'strata-demo';

export interface DemoTargetingSegment {
  readonly key: string;
  readonly name: string;
  readonly purpose: string;
  readonly size: number;
  readonly population: number;
  /** Members whose consent for the segment's purpose is granted as of the end (the `$consent` records read here, independently of the registry). */
  readonly consented: number;
}

export interface DemoFairnessResult {
  readonly segments: readonly DemoTargetingSegment[];
  /** Every member of every targeting segment has consented: the registry applies the consent filter. */
  readonly consentFiltered: boolean;
  readonly audit: FairnessAuditResult;
}

export async function runDemoFairness(store: EventStore, registry: SegmentRegistry, config: Config, asOfMs: number): Promise<DemoFairnessResult> {
  const context = await registry.segmentContext();
  const definitions: SegmentDefinition[] = [];
  for (const file of await demoAssetFiles('targeting-segments')) {
    const target = path.join(config.segmentsDir, path.basename(file));
    await copyFile(file, target);
    definitions.push(validateSegment(parseSegmentText(await readFile(target, 'utf8'), path.relative(config.workspaceDir, target)), config.plan, context));
  }
  await registry.add(definitions, { actor: DEMO_ACTOR });
  const computed = await registry.compute(definitions.map((d) => d.key), { asOfMs });
  const segments: DemoTargetingSegment[] = [];
  for (const d of definitions) {
    const c = computed.find((x) => x.key === d.key)!;
    const purpose = (d.purpose ?? 'analytics') as ConsentPurpose;
    const granted = await grantedUsers(store, purpose, config.privacy.consentDefaults[purpose], asOfMs);
    let consented = 0;
    for await (const id of registry.memberIds(c.snapshotId)) if (granted(id)) consented++;
    segments.push({ key: d.key, name: d.name, purpose, size: c.size, population: c.population, consented });
  }
  const audit = await runFairnessAudit(
    { store, plan: config.plan, purchase: config.rfm.purchase, segments: registry },
    { targeting: true, asOfMs, actor: DEMO_ACTOR },
  );
  return { segments, consentFiltered: segments.every((s) => s.consented === s.size), audit };
}

/**
 * Whether a user's consent for `purpose` is granted as of asOf: the latest `$consent` record
 * for it before asOf (a denial wins at the same instant), else the workspace default.
 */
async function grantedUsers(store: EventStore, purpose: ConsentPurpose, byDefault: boolean, asOfMs: number): Promise<(userId: string) => boolean> {
  const d = store.dialect;
  const rows = await store.query(
    `SELECT user_id, ${d.epochMs('ts')} AS ms, ${d.quoteIdentifier(propertyColumn(GRANTED_PROPERTY))} AS granted FROM events
WHERE event = ${d.stringLiteral(CONSENT_EVENT)} AND ${d.quoteIdentifier(propertyColumn(PURPOSE_PROPERTY))} = ${d.stringLiteral(purpose)} AND ts < ${d.timestampLiteral(asOfMs)}`,
  );
  const latest = new Map<string, { ms: number; granted: boolean }>();
  for (const r of rows) {
    const user = String(r.user_id);
    const ms = Number(r.ms);
    const granted = r.granted === true || Number(r.granted) === 1;
    const prev = latest.get(user);
    if (!prev || ms > prev.ms || (ms === prev.ms && !granted)) latest.set(user, { ms, granted });
  }
  return (userId) => latest.get(userId)?.granted ?? byDefault;
}
