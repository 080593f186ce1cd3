/**
 * Progress bars on stderr for long work (ingest, compute, demo). They are off when
 * output must stay machine-readable (--json) or stderr is not a terminal, so pipes and
 * CI logs never fill with carriage returns.
 */
import cliProgress from 'cli-progress';

export interface ProgressUpdate {
  readonly phase: string;
  readonly done: number;
  readonly total: number;
}

export interface Progress {
  update(p: ProgressUpdate): void;
  stop(): void;
}

const SILENT: Progress = { update: () => undefined, stop: () => undefined };

export function createProgress(options: { enabled: boolean; stream?: NodeJS.WritableStream }): Progress {
  if (!options.enabled || !options.stream) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      stream: options.stream,
      format: '{phase} [{bar}] {percentage}% | {duration_formatted}',
      barsize: 30,
      hideCursor: true,
      clearOnComplete: true,
      fps: 8,
      // Whether to draw is decided by the caller (a TTY and no --json), not by the stream.
      noTTYOutput: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const total = Math.max(1, p.total);
      const label = p.phase.padEnd(18);
      if (!started) {
        bar.start(total, Math.min(p.done, total), { phase: label });
        started = true;
        return;
      }
      bar.setTotal(total);
      bar.update(Math.min(p.done, total), { phase: label });
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
