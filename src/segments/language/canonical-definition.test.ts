import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../schema/tracking-plan.js';
import { canonicalDefinitionJson, definitionHash, parseSegmentText, segmentReferences, validateSegment, type SegmentDefinition } from './index.js';

const plan = parsePlan({ events: { purchase: { properties: { amount: 'number' } }, signup: {} }, traits: { plan: 'string' } });

describe('canonicalDefinitionJson and definitionHash', () => {
  const buyers: SegmentDefinition = {
    key: 'buyers',
    name: 'Buyers',
    objective: 'monetization',
    rationale: 'Upsell',
    match: { within: '30d', where: [{ gt: 10, property: 'amount' }], did: 'purchase' },
  };

  it('orders the envelope, then kind and property keys first, the rest sorted', () => {
    expect(canonicalDefinitionJson(buyers)).toBe(
      '{"key":"buyers","name":"Buyers","objective":"monetization","rationale":"Upsell","match":{"did":"purchase","where":[{"property":"amount","gt":10}],"within":"30d"}}',
    );
  });

  it('hashes the canonical text with sha256 (oracle: GNU coreutils sha256sum of the same bytes)', () => {
    expect(definitionHash(buyers)).toBe('7522fc951db1f3b870243156d6626ac6594d6c15f4716e49a2cb04f747663295');
    // Non-ASCII text is hashed as UTF-8: printf '%s' '{"key":"ü",...}' | sha256sum
    const unicode: SegmentDefinition = { key: 'ü', name: '🚀', objective: 'other', rationale: 'r', match: { did: '*' } };
    expect(definitionHash(unicode)).toBe('00314fb8d09c27f1b7931c3a1c64d95d8811620d3341c586fb75d726f931ea36');
  });

  it('gives YAML and JSON spellings of one definition the same text and hash', () => {
    const yaml = [
      '# formatting and key order do not matter',
      'match:',
      '  did: purchase',
      '  within: 30d',
      '  where:',
      '    - {gt: 10, property: amount}',
      'rationale: Upsell',
      'owner: growth',
      'objective: monetization',
      'name: Buyers',
      'key: buyers',
    ].join('\n');
    const fromYaml = validateSegment(parseSegmentText(yaml, 'buyers.yaml'), plan);
    const fromJson = validateSegment(parseSegmentText(JSON.stringify({ ...buyers, owner: 'growth' }), 'buyers.json'), plan);
    expect(canonicalDefinitionJson(fromYaml)).toBe(canonicalDefinitionJson(fromJson));
    expect(definitionHash(fromYaml)).toBe(definitionHash({ ...buyers, owner: 'growth' }));
  });

  it('changes with any change of meaning, including array order', () => {
    const hashes = new Set([
      definitionHash(buyers),
      definitionHash({ ...buyers, match: { ...(buyers.match as object), within: '31d' } }),
      definitionHash({ ...buyers, owner: 'growth' }),
      definitionHash({ ...buyers, tags: ['a', 'b'] }),
      definitionHash({ ...buyers, tags: ['b', 'a'] }),
      definitionHash({ ...buyers, match: { sequence: ['signup', 'purchase'] } }),
      definitionHash({ ...buyers, match: { sequence: ['purchase', 'signup'] } }),
    ]);
    expect(hashes.size).toBe(7);
  });

  it('round-trips: the canonical text validates back to an equal definition', () => {
    const def = validateSegment({ ...buyers, owner: 'growth', tags: ['t'] }, plan);
    const again = validateSegment(JSON.parse(canonicalDefinitionJson(def)), plan);
    expect(again).toEqual(def);
    expect(canonicalDefinitionJson(again)).toBe(canonicalDefinitionJson(def));
  });
});

describe('segmentReferences', () => {
  it('lists each referenced key once, in order, through all, any and not', () => {
    const def: SegmentDefinition = {
      key: 'x',
      name: 'x',
      objective: 'other',
      rationale: 'r',
      owner: 'growth',
      match: { all: [{ segment: 'b' }, { any: [{ not: { segment: 'a' } }, { did: 'signup' }, { segment: 'b' }] }, { not: { all: [{ segment: 'c' }] } }] },
    };
    expect(segmentReferences(def)).toEqual(['b', 'a', 'c']);
  });

  it('is empty without references', () => {
    expect(segmentReferences({ key: 'x', name: 'x', objective: 'other', rationale: 'r', owner: 'growth', match: { trait: 'plan', eq: 'segment' } })).toEqual([]);
  });
});
