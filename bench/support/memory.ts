/**
 * Resident memory of this process. VmHWM (the kernel's high-water mark of RSS) can be reset
 * by writing 5 to /proc/self/clear_refs, which lets one process measure the peak of each
 * phase; getrusage's maxRSS cannot be reset, so it is only the fallback where /proc is missing.
 */
import { readFileSync, writeFileSync } from 'node:fs';

function statusKb(field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Peak RSS in bytes since the process started or since the last successful `resetPeakRss`. */
export function peakRssBytes(): number {
  const hwm = statusKb('VmHWM');
  // resourceUsage().maxRSS is in kilobytes on Linux.
  return (hwm ?? process.resourceUsage().maxRSS) * 1024;
}

export function currentRssBytes(): number {
  return process.memoryUsage.rss();
}

/** Reset the high-water mark to the current RSS; false where the kernel does not allow it. */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return statusKb('VmHWM') !== undefined;
  } catch {
    return false;
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
