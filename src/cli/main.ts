#!/usr/bin/env node
/**
 * The `strata` binary: the real process wired to runCli.
 */
import { runCli } from './program.js';

// `strata segment members KEY | head` closes the pipe early; that is the reader's choice, not a failure.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  stdoutStream: process.stdout,
  cwd: process.cwd(),
  env: process.env,
  ...(process.stderr.isTTY ? { progressStream: process.stderr } : {}),
});
process.exitCode = code;
