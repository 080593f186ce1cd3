/**
 * The commander program and `runCli`, which runs it in-process and returns the exit code.
 * Tests call `runCli` with their own io; `main.ts` wires it to the real process.
 */
import { Command, CommanderError, Option } from 'commander';
import { describeFailure, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import type { CliIo } from './context.js';
import { registerDemo } from './commands/demo.js';
import { registerIngest } from './commands/ingest.js';
import { registerInit } from './commands/init.js';
import { registerPlan } from './commands/plan.js';
import { registerSegment } from './commands/segment.js';
import { registerStream } from './commands/stream.js';
import { registerLifecycle } from './commands/lifecycle.js';
import { registerMoments } from './commands/moments.js';
import { registerFunnel } from './commands/funnel.js';
import { registerRetention } from './commands/retention.js';
import { registerRfm } from './commands/rfm.js';
import { registerUser } from './commands/user.js';
import { registerExperiment } from './commands/experiment.js';
import { registerClv } from './commands/clv.js';
import { registerModel } from './commands/model.js';
import { registerDiscover } from './commands/discover.js';
import { registerPrivacy } from './commands/privacy.js';
import { registerAudit } from './commands/audit.js';

export const VERSION = '0.1.0';

export function buildProgram(io: CliIo): Command {
  const program = new Command('strata')
    .description(
      'Strata: user segmentation for product teams. Ingest events and profiles, define\n' +
        'segments in a small YAML language, compute who is in them as of any instant, and see\n' +
        'what distinguishes them.',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .addOption(new Option('--workspace <DIR>', 'the workspace folder (default: the folder holding strata.yaml, searched upward from here)'))
    .addOption(new Option('--json', 'machine-readable JSON on stdout instead of tables'))
    .addOption(new Option('--actor <NAME>', 'who is acting, for the audit log (default: $STRATA_ACTOR, else $USER)'))
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata demo                          generate a SaaS product, ingest it, compute ten segments\n' +
        '  $ strata init && strata plan infer events.csv --write\n' +
        '  $ strata ingest events events.csv\n' +
        '  $ strata segment add segments/ && strata segment compute\n' +
        '  $ strata segment report power-users --json\n' +
        '  $ cat events.jsonl | strata stream > changes.jsonl',
    );
  registerInit(program, io);
  registerPlan(program, io);
  registerIngest(program, io);
  registerSegment(program, io);
  registerStream(program, io);
  registerLifecycle(program, io);
  registerMoments(program, io);
  registerFunnel(program, io);
  registerRetention(program, io);
  registerRfm(program, io);
  registerUser(program, io);
  registerExperiment(program, io);
  registerClv(program, io);
  registerModel(program, io);
  registerDiscover(program, io);
  registerPrivacy(program, io);
  registerAudit(program, io);
  registerDemo(program, io);
  configureRecursively(program, io);
  return program;
}

/** Every command writes through io, throws instead of exiting, and lists the global options in its help. */
function configureRecursively(cmd: Command, io: CliIo): void {
  cmd
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => undefined })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false });
  for (const sub of cmd.commands) configureRecursively(sub, io);
}

/** Run the CLI on `argv` (without node and script) and return the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError && e.exitCode === 0) return EXIT_OK;
    // `strata segment` without a subcommand: commander has printed the help to stderr already.
    if (e instanceof CommanderError && e.code === 'commander.help') return EXIT_USAGE;
    const failure = describeFailure(e);
    if (argv.includes('--json')) io.stdout(`${JSON.stringify(failure.json)}\n`);
    io.stderr(`${failure.line}\n`);
    return failure.exitCode;
  }
}
