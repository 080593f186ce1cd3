/**
 * The one place where failures become exit codes and the one-line reason on stderr.
 * StrataError carries its own code from the catalogue; a command-line usage mistake
 * (unknown option, missing argument) is a 2 like any other bad input; anything else is
 * a bug and exits 70, the BSD "internal software error".
 */
import { CommanderError } from 'commander';
import { ERROR_CATALOGUE, StrataError } from '../errors/errors.js';

export const EXIT_OK = 0;
export const EXIT_USAGE = 2;

export interface Failure {
  readonly exitCode: number;
  /** One line for stderr, without the trailing newline. */
  readonly line: string;
  /** The --json form of the failure. */
  readonly json: { readonly error: { readonly code: string; readonly message: string; readonly details: readonly { path?: string; message: string }[] } };
}

export function describeFailure(e: unknown): Failure {
  if (e instanceof StrataError) {
    return { exitCode: e.exitCode, line: `strata: ${oneLine(e.toLine())}`, json: { error: e.toJSON() } };
  }
  if (e instanceof CommanderError) {
    const message = e.message.replace(/^error:\s*/, '');
    return { exitCode: EXIT_USAGE, line: `strata: ${oneLine(message)}`, json: { error: { code: 'USAGE', message, details: [] } } };
  }
  const message = e instanceof Error ? e.message : String(e);
  return {
    exitCode: ERROR_CATALOGUE.INTERNAL.exit,
    line: `strata: internal error: ${firstLine(message)}`,
    json: { error: { code: 'INTERNAL', message, details: [] } },
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/** Driver messages (DuckDB's among them) can span lines; stderr gets exactly one. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
