import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, StrataError, type ErrorCode } from '../errors/errors.js';
import { describeFailure } from './exit-codes.js';

describe('describeFailure', () => {
  it('uses the catalogue exit code of every StrataError code', () => {
    for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
      expect(describeFailure(new StrataError(code, 'x')).exitCode).toBe(ERROR_CATALOGUE[code].exit);
    }
  });

  it('keeps a multi-line driver message on one line', () => {
    const e = new StrataError('STORE_ERROR', 'IO Error: Could not set lock on file "a.duckdb":\nConflicting lock is held\n\nSee also https://duckdb.org');
    const f = describeFailure(e);
    expect(f.line).toBe('strata: IO Error: Could not set lock on file "a.duckdb": Conflicting lock is held See also https://duckdb.org');
    expect(f.json).toEqual({ error: { code: 'STORE_ERROR', message: e.message, details: [] } });
  });

  it('names the first detail and how many more', () => {
    const e = new StrataError('SEGMENT_INVALID', '2 problems', [
      { path: 'a.yaml match.did', message: 'unknown event' },
      { path: 'b.yaml key', message: 'bad key' },
    ]);
    expect(describeFailure(e).line).toBe('strata: 2 problems: a.yaml match.did: unknown event (and 1 more)');
  });

  it('maps usage errors to 2 and anything else to 70', () => {
    expect(describeFailure(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"))).toMatchObject({ exitCode: 2, line: "strata: unknown option '--x'" });
    expect(describeFailure(new TypeError('boom\n  at somewhere'))).toMatchObject({ exitCode: 70, line: 'strata: internal error: boom' });
  });
});
