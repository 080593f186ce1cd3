/**
 * The canonical text of a definition and its hash: two definitions that differ only in
 * key order or formatting (YAML versus JSON, indentation, comments) give the same text,
 * so the registry stores a new version only when the meaning may have changed.
 */
import { createHash } from 'node:crypto';
import { CONDITION_KINDS } from './definition.js';
import type { SegmentDefinition } from './definition.js';

const ENVELOPE_ORDER = ['key', 'name', 'objective', 'rationale', 'owner', 'tags', 'purpose', 'match'] as const;

/**
 * Within the condition, the key that says what an object is (its kind, or `property` in a
 * predicate, `event` in a step) comes first for readability; the rest follow in a fixed
 * order (UTF-16 code units). Array order is kept: it is meaningful in sequences and funnels.
 */
const LEADING_KEYS: ReadonlySet<string> = new Set([...CONDITION_KINDS, 'property', 'event']);

/**
 * @example
 *   canonicalDefinitionJson({ name: 'B', key: 'b', objective: 'other', rationale: 'r', match: { within: '7d', did: 'x' } })
 *   // '{"key":"b","name":"B","objective":"other","rationale":"r","match":{"did":"x","within":"7d"}}'
 */
export function canonicalDefinitionJson(def: SegmentDefinition): string {
  const envelope: Record<string, unknown> = {};
  for (const key of ENVELOPE_ORDER) {
    if (def[key] !== undefined) envelope[key] = key === 'match' ? canonical(def.match) : def[key];
  }
  return JSON.stringify(envelope);
}

/** sha256 (hex) of canonicalDefinitionJson: the registry's version identity. */
export function definitionHash(def: SegmentDefinition): string {
  return createHash('sha256').update(canonicalDefinitionJson(def), 'utf8').digest('hex');
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  const keys = Object.keys(value).sort((a, b) => {
    const leadA = LEADING_KEYS.has(a);
    const leadB = LEADING_KEYS.has(b);
    if (leadA !== leadB) return leadA ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  // fromEntries defines own properties, so even a "__proto__" key stays data.
  return Object.fromEntries(
    keys.filter((key) => (value as Record<string, unknown>)[key] !== undefined).map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  );
}
