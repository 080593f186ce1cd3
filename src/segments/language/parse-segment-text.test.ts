import { describe, expect, it } from 'vitest';
import { StrataError } from '../../errors/errors.js';
import { parseSegmentText } from './index.js';

function failure(text: string, source: string): StrataError {
  try {
    parseSegmentText(text, source);
  } catch (e) {
    if (e instanceof StrataError) return e;
    throw e;
  }
  throw new Error('expected parseSegmentText to throw');
}

describe('parseSegmentText: YAML', () => {
  it('reads a definition as plain data', () => {
    const text = [
      'key: stalled-onboarding   # a comment',
      'name: Stalled in onboarding',
      'objective: activation',
      'rationale: >',
      '  Started onboarding but did not',
      '  finish the core workflow.',
      'owner: growth',
      'tags: [onboarding]',
      'match:',
      '  all:',
      '    - trait: plan',
      '      eq: free',
      '    - not:',
      '        sequence: [onboarding_started, core_task_completed]',
      '        span: 7d',
    ].join('\n');
    expect(parseSegmentText(text, 'stalled.yaml')).toEqual({
      key: 'stalled-onboarding',
      name: 'Stalled in onboarding',
      objective: 'activation',
      rationale: 'Started onboarding but did not finish the core workflow.\n',
      owner: 'growth',
      tags: ['onboarding'],
      match: { all: [{ trait: 'plan', eq: 'free' }, { not: { sequence: ['onboarding_started', 'core_task_completed'], span: '7d' } }] },
    });
  });

  it('follows YAML 1.2: on, yes and dates stay strings (YAML 1.1 would make booleans and dates of them)', () => {
    expect(parseSegmentText('\uFEFFon: purchase\r\neq: yes\r\nsince: 2024-01-01\r\nno: off\r\n', 'a.yml')).toEqual({
      on: 'purchase',
      eq: 'yes',
      since: '2024-01-01',
      no: 'off',
    });
  });

  it('keeps quotes, backslashes and unicode in values', () => {
    expect(parseSegmentText(`a: 'it''s "quoted"; -- x'\nb: "back\\\\slash\\nnewline"\nc: ünïcødé 🚀\n`, 'a.yaml')).toEqual({
      a: `it's "quoted"; -- x`,
      b: 'back\\slash\nnewline',
      c: 'ünïcødé 🚀',
    });
  });

  it('names the file, line and column of a syntax error', () => {
    const text = ['key: a', 'name: b', 'match:', '  all:', '    - did: x', '      within: [7d', '    - trait: y'].join('\n');
    const error = failure(text, 'segments/a.yaml');
    expect(error.code).toBe('SEGMENT_INVALID');
    expect(error.details).toEqual([
      { path: 'segments/a.yaml:7:5', message: 'YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]' },
    ]);
    expect(error.message).toBe('segments/a.yaml:7:5: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]');
  });

  it('rejects duplicate keys and tab indentation at their line', () => {
    expect(failure('key: a\nname: b\nkey: c\n', 'a.yaml').details).toEqual([{ path: 'a.yaml:3:1', message: 'YAML syntax error: Map keys must be unique' }]);
    expect(failure('key: a\n\tname: b\n', 'a.yaml').details).toEqual([{ path: 'a.yaml:2:1', message: 'YAML syntax error: Tabs are not allowed as indentation' }]);
  });

  it('rejects several documents in one file', () => {
    expect(failure('key: a\n---\nkey: b\n', 'a.yaml').details).toEqual([
      { path: 'a.yaml:2:1', message: 'YAML syntax error: the file holds more than one YAML document (---); write one definition, or a list of definitions' },
    ]);
  });

  it('rejects an empty file', () => {
    expect(failure('  \n# only a comment\n', 'empty.yaml').details).toEqual([
      { path: 'empty.yaml', message: 'the file holds no definition; expected a mapping with key, name, objective, rationale, owner and match' },
    ]);
  });

  it('refuses alias expansion bombs instead of expanding them', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    ].join('\n');
    const error = failure(bomb, 'bomb.yaml');
    expect(error.code).toBe('SEGMENT_INVALID');
    expect(error.details[0]!.path).toBe('bomb.yaml');
    expect(error.details[0]!.message).toMatch(/^YAML aliases expand too far: /);
  });
});

describe('parseSegmentText: JSON', () => {
  it('reads JSON', () => {
    const def = { key: 'k', name: 'N', objective: 'other', rationale: 'r', owner: 'growth', match: { did: '*', count: { gte: 2.5 }, within: '7d' } };
    expect(parseSegmentText(JSON.stringify(def, null, '\t'), 'k.json')).toEqual(def);
  });

  it("names the line and column of a syntax error with JSON's own message", () => {
    const text = '{\n  "key": "a",\n  "match": {"did": "x"}\n  "name": "b"\n}';
    expect(failure(text, 'a.json').details).toEqual([{ path: 'a.json:4:3', message: "JSON syntax error: Expected ',' or '}' after property value" }]);
    expect(failure('{\n  "key": "a",\n  "name": ', 'a.json').details).toEqual([{ path: 'a.json:3:11', message: 'JSON syntax error: Unexpected end of JSON input' }]);
  });

  it('rejects duplicate keys, which JSON.parse would silently merge', () => {
    expect(failure('{\n  "key": "a",\n  "key": "b"\n}', 'a.json').details).toEqual([{ path: 'a.json:3:3', message: 'JSON syntax error: Map keys must be unique' }]);
  });

  it('recognises JSON by its first character whatever the file name', () => {
    expect(failure('  {"a": 1 "b": 2}', 'from-stdin').details).toEqual([{ path: 'from-stdin:1:11', message: "JSON syntax error: Expected ',' or '}' after property value" }]);
  });
});
