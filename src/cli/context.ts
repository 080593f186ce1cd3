/**
 * What every command gets: where to write, the global options, and the workspace's
 * Config and store opened on demand (and always closed).
 */
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { loadConfig, openStore, type Config } from '../config/index.js';
import type { EventStore } from '../store/event-store.js';
import { SegmentRegistry } from '../segments/registry/index.js';
import { createProgress, type Progress } from './progress.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The real stdout, for streaming large outputs with backpressure; tests leave it out. */
  readonly stdoutStream?: Writable;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The terminal stream for progress bars; omitted when stderr is not a TTY. */
  readonly progressStream?: NodeJS.WritableStream;
  /** Input for commands that read stdin (`strata stream`); process.stdin when omitted. */
  readonly stdin?: NodeJS.ReadableStream;
}

export interface GlobalOptions {
  readonly workspace?: string;
  readonly json: boolean;
  /** `--actor`: who is acting, for the audit log. */
  readonly actor?: string;
}

export class CommandContext {
  constructor(
    readonly io: CliIo,
    readonly globals: GlobalOptions,
  ) {}

  static from(io: CliIo, command: Command): CommandContext {
    const opts = command.optsWithGlobals<{ workspace?: string; json?: boolean; actor?: string }>();
    return new CommandContext(io, {
      ...(opts.workspace !== undefined ? { workspace: opts.workspace } : {}),
      json: opts.json === true,
      ...(opts.actor !== undefined ? { actor: opts.actor } : {}),
    });
  }

  /** Who is acting, for the audit log: `--actor`, else $STRATA_ACTOR, else $USER, else "unknown". */
  actor(): string {
    const named = this.globals.actor ?? this.io.env.STRATA_ACTOR ?? this.io.env.USER ?? this.io.env.USERNAME;
    return named !== undefined && named.trim().length > 0 ? named.trim() : 'unknown';
  }

  loadConfig(): Promise<Config> {
    return loadConfig({ cwd: this.io.cwd, env: this.io.env, ...(this.globals.workspace !== undefined ? { workspace: this.globals.workspace } : {}) });
  }

  /** Run `fn` with the workspace's store open, closing it whatever happens. */
  async withStore<T>(fn: (store: EventStore, config: Config) => Promise<T>, config?: Config): Promise<T> {
    const cfg = config ?? (await this.loadConfig());
    const store = await openStore(cfg);
    try {
      return await fn(store, cfg);
    } finally {
      await store.close();
    }
  }

  /**
   * Run `fn` with the workspace's segment registry (store open, always closed). Every
   * command that evaluates segments builds its registry here, so the registry always gets
   * the whole workspace configuration.
   */
  withRegistry<T>(fn: (registry: SegmentRegistry, config: Config, store: EventStore) => Promise<T>, config?: Config): Promise<T> {
    return this.withStore((store, cfg) => fn(new SegmentRegistry(store, cfg.plan, { lifecycle: cfg.lifecycle, consentDefaults: cfg.privacy.consentDefaults }), cfg, store), config);
  }

  progress(): Progress {
    return createProgress({ enabled: !this.globals.json, ...(this.io.progressStream ? { stream: this.io.progressStream } : {}) });
  }

  /** The command's result: JSON with --json, else the human rendering. */
  emit<T>(result: T, human: (r: T) => string): void {
    if (this.globals.json) this.io.stdout(`${JSON.stringify(result, jsonReplacer, 2)}\n`);
    else {
      const text = human(result);
      if (text.length > 0) this.io.stdout(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  /** A note for people (where a file went, what to do next); never part of --json output. */
  note(text: string): void {
    if (!this.globals.json) this.io.stderr(`${text}\n`);
  }
}

/** BigInt counts from the store and Sets become plain JSON. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Set) return [...value];
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}
