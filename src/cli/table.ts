/**
 * Plain-text tables and number formats for human output. Numbers align right, text left,
 * and nothing depends on a terminal library, so output reads the same in a pipe.
 */
export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
}

export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(displayWidth(c.header), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const pad = ' '.repeat(Math.max(0, widths[i]! - displayWidth(cell)));
        return c.align === 'right' ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(columns.map((c) => c.header)), rule, ...rows.map(line)].join('\n');
}

/** `key: value` lines with the values aligned. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...fields.map(([k]) => displayWidth(k)));
  return fields.map(([k, v]) => `${k}:${' '.repeat(width - displayWidth(k) + 1)}${v}`).join('\n');
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatPercent(share: number, digits = 1): string {
  if (!Number.isFinite(share)) return '-';
  return `${(share * 100).toFixed(digits)}%`;
}

export function formatRatio(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined) return '-';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-';
  return x.toFixed(digits);
}

export function formatSeconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** Columns a string takes in a terminal; wide CJK and emoji count as two. */
function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    w += cp >= 0x1100 && (cp <= 0x115f || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd)) ? 2 : 1;
  }
  return w;
}
