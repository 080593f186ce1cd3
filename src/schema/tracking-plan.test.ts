/**
 * parsePlan keeps every declared name as data: names that are also Object.prototype
 * members (`__proto__`, `constructor`) are declared like any other.
 */
import { describe, expect, it } from 'vitest';
import { parsePlan, propertyTypes } from './tracking-plan.js';

describe('parsePlan', () => {
  it('declares events, properties and traits named like prototype members', () => {
    const raw = JSON.parse(
      '{"events":{"__proto__":{"properties":{"__proto__":"number","constructor":"string"}}},"traits":{"__proto__":"boolean","toString":"string"}}',
    );
    const plan = parsePlan(raw);
    expect(Object.keys(plan.events)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(plan.events)).toBe(Object.prototype);
    expect(Object.entries(plan.events['__proto__']!.properties).map(([n, f]) => [n, f.type])).toEqual([
      ['__proto__', 'number'],
      ['constructor', 'string'],
    ]);
    expect(Object.entries(plan.traits).map(([n, f]) => [n, f.type])).toEqual([
      ['__proto__', 'boolean'],
      ['toString', 'string'],
    ]);
    expect([...propertyTypes(plan)]).toEqual([
      ['__proto__', 'number'],
      ['constructor', 'string'],
    ]);
  });
});
