/** Number formats shared by the report's messages and the CLI table, so both read the same. */
import type { Difference } from '../stats/effects.js';

/** A relative effect as a signed percentage (+4.12%); an absolute one with 4 significant digits. */
export function formatEffect(x: number, difference: Difference): string {
  if (difference === 'relative') return `${x > 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;
  return `${x > 0 ? '+' : ''}${formatNumber(x)}`;
}

/** 4 significant digits, no exponent for ordinary magnitudes. */
export function formatNumber(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-4) return x.toExponential(3);
  return Number(x.toPrecision(4)).toString();
}

/** A p-value: 4 significant digits, `<1e-6` below that. */
export function formatP(p: number): string {
  if (p < 1e-6) return '<1e-6';
  return p >= 0.001 ? p.toFixed(4) : p.toExponential(2);
}

/** `p = 0.0123`, or `p < 1e-6` for the smallest, for sentences. */
export function pEquals(p: number): string {
  return p < 1e-6 ? 'p < 1e-6' : `p = ${formatP(p)}`;
}

export function formatShare(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}
