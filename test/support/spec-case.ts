/**
 * The shape of the spec vectors in spec/segments/*.json (documented in spec/README.md),
 * and reading them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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

export interface SpecCase {
  readonly name: string;
  readonly why: string;
  readonly asOf: string;
  readonly events: readonly SpecEvent[];
  readonly profiles: readonly SpecProfile[];
  readonly segments?: readonly unknown[];
  readonly definition: unknown;
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
