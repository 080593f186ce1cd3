/**
 * Exact arithmetic on non-negative rationals (BigInt numerator and denominator) for noise
 * scales and budget sums: 0.1 + 0.2 must be exactly 0.3 when deciding whether a release
 * overspends, which floating point does not give (0.30000000000000004 > 0.3).
 */
import { StrataError } from '../../errors/errors.js';

/** A non-negative rational p/q (q > 0). */
export interface Rational {
  readonly p: bigint;
  readonly q: bigint;
}

/**
 * A positive finite number as an exact rational: decimal parameters such as ε = 0.1 are
 * taken as written (1/10), not as their binary approximation, through their shortest
 * round-trip decimal form.
 */
export function rationalOf(x: number, what = 'value'): Rational {
  if (!(Number.isFinite(x) && x > 0)) throw new StrataError('INPUT_INVALID', `${what} must be a positive finite number, got ${x}`);
  const [mantissa, exponentText] = x.toExponential().split('e') as [string, string];
  const [whole, fraction = ''] = mantissa.split('.') as [string, string?];
  const digits = BigInt(whole + fraction);
  const exponent = Number(exponentText) - fraction.length;
  return exponent >= 0 ? ratio(digits * 10n ** BigInt(exponent), 1n) : ratio(digits, 10n ** BigInt(-exponent));
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a < 0n ? -a : a;
}

export const ZERO: Rational = { p: 0n, q: 1n };

export function ratio(p: bigint, q: bigint): Rational {
  const g = gcd(p, q);
  return g > 1n ? { p: p / g, q: q / g } : { p, q };
}

/** A non-negative finite number exactly as written in decimal (0 allowed, unlike rationalOf). */
export function exactOf(x: number, what = 'value'): Rational {
  return x === 0 ? ZERO : rationalOf(x, what);
}

export function add(a: Rational, b: Rational): Rational {
  return ratio(a.p * b.q + b.p * a.q, a.q * b.q);
}

export function sub(a: Rational, b: Rational): Rational {
  return ratio(a.p * b.q - b.p * a.q, a.q * b.q);
}

export function mul(a: Rational, b: Rational): Rational {
  return ratio(a.p * b.p, a.q * b.q);
}

export function div(a: Rational, b: Rational): Rational {
  return ratio(a.p * b.q, a.q * b.p);
}

export function whole(n: number | bigint): Rational {
  return { p: BigInt(n), q: 1n };
}

/** -1, 0 or 1 as a <, =, > b. */
export function compare(a: Rational, b: Rational): number {
  const l = a.p * b.q;
  const r = b.p * a.q;
  return l < r ? -1 : l > r ? 1 : 0;
}

/** The nearest double (exact for the decimals budgets are written in, within one ulp otherwise). */
export function toNumber(r: Rational): number {
  if (r.p === 0n) return 0;
  const n = Number(r.p) / Number(r.q);
  if (Number.isFinite(n) && n !== 0) return n;
  // Numerator or denominator beyond a double's range: drop the same low bits from both first.
  const shift = BigInt(Math.max(0, Math.max(r.p.toString(2).length, r.q.toString(2).length) - 1000));
  return Number(r.p >> shift) / Number(r.q >> shift);
}

/** `p/q`, or `p` when whole: how scales are written in the ledger's detail. */
export function formatRational(r: Rational): string {
  return r.q === 1n ? r.p.toString() : `${r.p}/${r.q}`;
}
