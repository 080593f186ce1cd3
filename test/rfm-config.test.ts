/**
 * The `rfm:` section of strata.yaml: defaults, every setting, and errors that name the
 * exact setting (and, read from a file, its line).
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { defaultRfmMap, nameGrid, nameRectangles, type RfmConfig } from '../src/analysis/rfm/index.js';
import { createConfig } from '../src/config/index.js';
import { isStrataError } from '../src/errors/errors.js';
import { cli, withTempDir } from './cli-helpers.js';
import { PLAN_YAML } from './rfm-fixtures.js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

function rfmOf(section: string): RfmConfig {
  return createConfig({ workspaceDir: '/tmp', document: parse(`${PLAN_YAML}${section}`) }).rfm;
}

/** The error details (path: message) of a section that fails. */
function problems(section: string): string[] {
  try {
    rfmOf(section);
  } catch (e) {
    if (isStrataError(e) && e.code === 'CONFIG_INVALID') return e.details.map((d) => `${d.path?.replace(/^strata\.yaml /, '')}: ${d.message}`);
    throw e;
  }
  throw new Error('expected the section to be refused');
}

describe('rfm: section', () => {
  it('defaults to no purchase, five levels, linear quantiles and the default map', () => {
    expect(rfmOf('')).toEqual({ purchase: null, scores: 5, quantileMethod: 'linear', map: null });
  });

  it('reads every setting, with where as IR property predicates', () => {
    const rfm = rfmOf(
      'rfm:\n  event: purchase\n  value: amount\n  quantity: qty\n  where:\n    - { property: qty, gt: 0 }\n    - { property: channel, in: [web, shop] }\n  scores: 4\n  quantile_method: midpoint\n',
    );
    expect(rfm).toEqual({
      purchase: {
        event: 'purchase',
        value: 'amount',
        quantity: 'qty',
        where: [
          { property: 'qty', type: 'number', cmp: { op: 'gt', value: { kind: 'number', value: 0 } } },
          { property: 'channel', type: 'string', cmp: { op: 'in', values: [{ kind: 'string', value: 'web' }, { kind: 'string', value: 'shop' }] } },
        ],
      },
      scores: 4,
      quantileMethod: 'midpoint',
      map: null,
    });
  });

  it('names the setting of each mistake', () => {
    expect(problems('rfm:\n  event: purchase\n  value: channel\n')).toEqual([
      'rfm.value: expected a number property of purchase ("channel" is a string); its number properties: "amount", "qty"; got "channel"',
    ]);
    expect(problems('rfm:\n  event: purchse\n  value: amount\n')[0]).toMatch(/^rfm\.event: expected the purchase event, .*got "purchse" \(did you mean "purchase"\?\)/);
    expect(problems('rfm:\n  event: purchase\n')).toEqual(['rfm.value: required: a number property of purchase holding the amount (or unit price)']);
    expect(problems('rfm:\n  event: purchase\n  value: amount\n  quantity: qtty\n')[0]).toMatch(/^rfm\.quantity: expected a number property of purchase \(did you mean "qty"\?\)/);
    const where = problems('rfm:\n  event: purchase\n  value: amount\n  where:\n    - { property: qty, gt: zero }\n    - { property: colour, eq: red }\n');
    expect(where).toHaveLength(2);
    expect(where[0]).toMatch(/^rfm\.where\[0\]\.gt: /);
    expect(where[1]).toMatch(/^rfm\.where\[1\]\.property: property "colour" is not declared on event "purchase"/);
    expect(problems('rfm:\n  event: purchase\n  value: amount\n  scores: 10\n  quantile_method: median\n  colour: red\n')).toEqual([
      'rfm.colour: unknown key; expected one of event, value, quantity, where, scores, quantile_method, map',
      'rfm.scores: expected 4 or 5 (score levels: quartiles or quintiles), got 10',
      "rfm.quantile_method: expected one of linear, lower, higher, nearest, midpoint (numpy's methods; linear is the default of numpy and pandas), got \"median\"",
    ]);
  });

  it('checks a custom map covers every cell once', () => {
    const ok = rfmOf('rfm:\n  event: purchase\n  value: amount\n  scores: 4\n  map:\n    - { name: Top, r: 4, f: [1, 4] }\n    - { name: Rest, r: [1, 3], f: [1, 4] }\n');
    expect(ok.map).toEqual([
      { name: 'Top', r: [4, 4], f: [1, 4] },
      { name: 'Rest', r: [1, 3], f: [1, 4] },
    ]);
    expect(problems('rfm:\n  event: purchase\n  value: amount\n  scores: 4\n  map:\n    - { name: Top, r: [3, 4], f: [1, 4] }\n    - { name: Rest, r: [1, 3], f: [1, 3] }\n')).toEqual([
      'rfm.map[1]: cell R 3 F 1 is already in rfm.map[0] (Top); each cell takes one name',
      'rfm.map[1]: cell R 3 F 2 is already in rfm.map[0] (Top); each cell takes one name',
      'rfm.map[1]: cell R 3 F 3 is already in rfm.map[0] (Top); each cell takes one name',
      'rfm.map: every cell needs a name; none for R 2 F 4, R 1 F 4 (scores 1 to 4)',
    ]);
    expect(problems('rfm:\n  event: purchase\n  value: amount\n  map:\n    - { name: "!!", r: 6, f: [2, 1] }\n')).toEqual([
      'rfm.map[0].name: expected a name with letters or digits (it also names the ready-made segment), got "!!"',
      'rfm.map[0].r: expected a score 1 to 5 or a range [lo, hi] of them, got 6',
      'rfm.map[0].f: expected a score 1 to 5 or a range [lo, hi] of them, got [2,1]',
    ]);
  });

  it('points at the strata.yaml line through the CLI', async () => {
    await withTempDir('strata-rfm-config-', async (dir) => {
      await writeFile(path.join(dir, 'strata.yaml'), `version: 1\n${PLAN_YAML}rfm:\n  event: purchase\n  value: channel\n`);
      const run = await cli(dir, 'rfm');
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('strata.yaml:12 rfm.value: expected a number property of purchase');
    });
  });
});

describe('the default maps', () => {
  it('names all 25 cells of the five-level grid as the R x F grid it documents', () => {
    const grid = nameGrid(defaultRfmMap(5), 5);
    // Rows R = 5 down to 1, columns F = 1..5 (rfm-map.ts header).
    expect([...grid].reverse()).toEqual([
      ['New customers', 'Potential loyalists', 'Potential loyalists', 'Champions', 'Champions'],
      ['Promising', 'Potential loyalists', 'Potential loyalists', 'Loyal', 'Loyal'],
      ['About to sleep', 'About to sleep', 'Need attention', 'Loyal', 'Loyal'],
      ['Hibernating', 'Hibernating', 'At risk', 'At risk', 'Cannot lose them'],
      ['Lost', 'Hibernating', 'At risk', 'At risk', 'Cannot lose them'],
    ]);
  });

  it('reads four-level scores 1, 2, 3, 4 as five-level 1, 2, 4, 5 (the middle of each quantile band)', () => {
    const grid = nameGrid(defaultRfmMap(4), 4);
    expect([...grid].reverse()).toEqual([
      ['New customers', 'Potential loyalists', 'Champions', 'Champions'],
      ['Promising', 'Potential loyalists', 'Loyal', 'Loyal'],
      ['Hibernating', 'Hibernating', 'At risk', 'Cannot lose them'],
      ['Lost', 'Hibernating', 'At risk', 'Cannot lose them'],
    ]);
  });

  it('describes each name with few rectangles', () => {
    const grid = nameGrid(defaultRfmMap(5), 5);
    expect(nameRectangles(grid, 'Hibernating')).toEqual([
      { name: 'Hibernating', r: [1, 1], f: [2, 2] },
      { name: 'Hibernating', r: [2, 2], f: [1, 2] },
    ]);
    expect(nameRectangles(grid, 'Loyal')).toEqual([{ name: 'Loyal', r: [3, 4], f: [4, 5] }]);
  });
});
