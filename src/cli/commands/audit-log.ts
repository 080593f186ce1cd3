import type { Command } from 'commander';
import type { CliIo } from '../context.js';

/** Scaffold: the helper that owns this file replaces it. */
export function registerAuditLog(_parent: Command, _io: CliIo): void {}
