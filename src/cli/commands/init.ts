import path from 'node:path';
import type { Command } from 'commander';
import { initWorkspace, storeLocation } from '../../config/index.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatFields } from '../table.js';

export function registerInit(program: Command, io: CliIo): void {
  program
    .command('init')
    .summary('create a workspace: a commented strata.yaml and the data folder')
    .description(
      'Create a Strata workspace in DIR (default: the current folder): a commented strata.yaml\n' +
        'explaining every setting, a data/ folder for the DuckDB store and rejects, and a\n' +
        'segments/ folder for definitions. Refuses to overwrite an existing strata.yaml.',
    )
    .argument('[DIR]', 'the workspace folder, created if missing', '.')
    .addHelpText('after', '\nExamples:\n  $ strata init\n  $ strata init analytics && cd analytics')
    .action(async (dir: string, _opts: unknown, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const { config } = await initWorkspace(path.resolve(io.cwd, dir));
      ctx.emit(
        { workspace: config.workspaceDir, config: config.configPath, dataDir: config.dataDir, segmentsDir: config.segmentsDir, store: config.store },
        (r) =>
          `Created a Strata workspace in ${r.workspace}\n` +
          formatFields([
            ['config', r.config],
            ['data', r.dataDir],
            ['segments', r.segmentsDir],
            ['store', `${r.store.engine} ${storeLocation(r.store)}`],
          ]) +
          `\n\nNext: strata plan infer events.csv --write, then strata ingest events events.csv`,
      );
    });
}
