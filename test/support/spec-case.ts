/**
 * The shape of the spec vectors in spec/segments/*.json (documented in spec/README.md),
 * and reading them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInstantMs } from '../../src/time/time.js';
import { parsePrivacySection, type PrivacyConfig } from '../../src/privacy/privacy-config.js';

export type SpecValue = string | number | boolean;

export interface SpecEvent {
  readonly user_id: string;
  readonly event: string;
  /** An ISO-8601 instant; see time/time.ts parseInstantMs. */
  readonly timestamp: string;
  readonly properties?: Readonly<Record<string, SpecValue>>;
}

export interface SpecProfile {
  readonly user_id: string;
  readonly traits: Readonly<Record<string, SpecValue>>;
}

/**
 * A scoring run of a spec case (spec/README.md, "Scoring runs"), as the runners use it:
 * `as_of` parsed to epoch ms. Run ids follow the array order (the first run is 1). A score
 * run (`churn`/`propensity`) holds `scores` (percentiles are `percentileRanks` of them over
 * the run's users); a `personas` run holds `clusters`.
 */
export interface SpecScoreRun {
  readonly model: string;
  readonly kind: 'churn' | 'propensity' | 'personas';
  readonly asOfMs: number;
  readonly scores?: Readonly<Record<string, number>>;
  readonly clusters?: Readonly<Record<string, number>>;
}

/** A scoring run as written in the JSON file. */
export interface SpecScoreRunJson {
  readonly model: string;
  readonly kind: 'churn' | 'propensity' | 'personas';
  readonly as_of: string;
  readonly scores?: Readonly<Record<string, number>>;
  readonly clusters?: Readonly<Record<string, number>>;
}

export interface SpecCase {
  readonly name: string;
  readonly why: string;
  readonly asOf: string;
  readonly events: readonly SpecEvent[];
  readonly profiles: readonly SpecProfile[];
  readonly segments?: readonly unknown[];
  readonly definition: unknown;
  /** Optional: the models' scoring runs (run ids in array order); see specScoreRuns. */
  readonly scoreRuns?: readonly SpecScoreRunJson[];
  /** Optional: the workspace's consent defaults as strata.yaml's privacy.consent writes them (purpose -> granted | denied); the rest built in. */
  readonly consentDefaults?: Readonly<Record<string, 'granted' | 'denied'>>;
  readonly expected: readonly string[];
}

export interface SpecFile {
  /** The tracking plan as written in strata.yaml: {events, traits, session_gap?, undeclared?}. */
  readonly plan: unknown;
  readonly cases: readonly SpecCase[];
}

/** Every spec file of a folder, in name order: [file name, parsed content]. */
export function readSpecFiles(dir: string): [string, SpecFile][] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as SpecFile]);
}

function asOfOf(c: SpecCase, i: number, text: string): number {
  const ms = parseInstantMs(text);
  if (ms === undefined) throw new Error(`${c.name}: scoreRuns[${i}].as_of: not an ISO-8601 instant: ${JSON.stringify(text)}`);
  return ms;
}

/** A case's scoring runs with `as_of` parsed (empty when it has none); run id i + 1 is the i-th. */
export function specScoreRuns(c: SpecCase): SpecScoreRun[] {
  return (c.scoreRuns ?? []).map((r, i) => {
    if ((r.scores === undefined) === (r.clusters === undefined)) throw new Error(`${c.name}: scoreRuns[${i}] needs exactly one of scores and clusters`);
    if ((r.kind === 'personas') !== (r.clusters !== undefined)) throw new Error(`${c.name}: scoreRuns[${i}]: a ${r.kind} run holds ${r.kind === 'personas' ? 'clusters' : 'scores'}`);
    return { model: r.model, kind: r.kind, asOfMs: asOfOf(c, i, r.as_of), ...(r.scores ? { scores: r.scores } : {}), ...(r.clusters ? { clusters: r.clusters } : {}) };
  });
}

/** A case's consent defaults for the SegmentContext (`consentDefaults`), parsed as strata.yaml's privacy.consent is; undefined when it has none. */
export function specConsentDefaults(c: SpecCase): PrivacyConfig['consentDefaults'] | undefined {
  if (c.consentDefaults === undefined) return undefined;
  const problems: string[] = [];
  const parsed = parsePrivacySection({ consent: c.consentDefaults }, (path, message) => problems.push(`${path}: ${message}`));
  if (problems.length > 0) throw new Error(`${c.name}: consentDefaults: ${problems.join('; ')}`);
  return parsed.consentDefaults;
}
