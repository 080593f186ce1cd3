/**
 * `strata discover personas|drivers`: pattern discovery. Subcommands live in
 * discover-personas.ts and discover-drivers.ts.
 */
import type { Command } from 'commander';
import type { CliIo } from '../context.js';
import { registerDiscoverDrivers } from './discover-drivers.js';
import { registerDiscoverPersonas } from './discover-personas.js';

export function registerDiscover(program: Command, io: CliIo): void {
  const discover = program
    .command('discover')
    .summary('discovery: personas (clusters of behaviour) and drivers (early behaviours that predict an outcome)')
    .description(
      'Patterns that manual analysis misses.\n' +
        '  personas  k-means on standardized behavioural features, named, ids kept across refreshes\n' +
        '  drivers   early behaviours that predict conversion, retention or revenue',
    );
  registerDiscoverPersonas(discover, io);
  registerDiscoverDrivers(discover, io);
}
