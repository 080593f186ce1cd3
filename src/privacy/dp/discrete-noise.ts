/**
 * Exact samplers for integer-valued differential-privacy noise (issue 7, first step):
 * the discrete Laplace (two-sided geometric) distribution, P(x) ∝ exp(−|x|/b), and the
 * discrete Gaussian, P(x) ∝ exp(−x²/(2σ²)), x ∈ ℤ.
 *
 * Algorithms 1-3 of Canonne, Kamath and Steinke, "The Discrete Gaussian for Differential
 * Privacy" (NeurIPS 2020): every step is a comparison of uniform random integers, so no
 * floating-point inverse CDF is ever evaluated (Mironov 2012, "On significance of the
 * least significant bits for differential privacy": floating-point Laplace noise leaks).
 * Parameters are exact rationals (BigInt numerator and denominator); randomness comes from
 * node:crypto unless a source is given (tests pass a seeded one to reproduce a failure).
 * Hand-written: no npm package samples these exactly from a cryptographic source.
 */
import { randomBytes } from 'node:crypto';
import { StrataError } from '../../errors/errors.js';
import { rationalOf, type Rational } from './rational.js';

// Rationals live in rational.ts; re-exported here, where the samplers that take them are.
export { rationalOf, type Rational };

/** A source of uniform random integers in [0, n), n ≥ 1. */
export type UniformSource = (n: bigint) => bigint;

/** Random bytes from node:crypto, drawn 64 KiB at a time (one system call per pool, not per sample). */
const POOL_BYTES = 65_536;
let pool = Buffer.alloc(0);
let poolAt = 0;
function cryptoBytes(n: number): Buffer {
  if (poolAt + n > pool.length) {
    pool = randomBytes(Math.max(POOL_BYTES, n));
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

/** Uniform in [0, n) from node:crypto, by rejection on the smallest covering power of two (no modulo bias). */
export const cryptoUniform: UniformSource = (n) => {
  if (n <= 0n) throw new StrataError('INPUT_INVALID', `a uniform range needs n >= 1, got ${n}`);
  if (n === 1n) return 0n;
  const bits = (n - 1n).toString(2).length;
  if (bits <= 48) {
    // Fits a Number: read 6 bytes, mask, reject (the common case, no BigInt parsing).
    const limit = Number(n);
    const mask = 2 ** bits;
    for (;;) {
      const v = cryptoBytes(6).readUIntBE(0, 6) % mask;
      if (v < limit) return BigInt(v);
    }
  }
  const bytes = Math.ceil(bits / 8);
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    const v = BigInt(`0x${cryptoBytes(bytes).toString('hex')}`) & mask;
    if (v < n) return v;
  }
};

/** Bernoulli(p/q), 0 ≤ p ≤ q. */
function bernoulli(p: bigint, q: bigint, u: UniformSource): boolean {
  return u(q) < p;
}

/** Bernoulli(exp(−p/q)) for p/q ≥ 0 (CKS20 Algorithm 1), exactly. */
export function bernoulliExpMinus(p: bigint, q: bigint, u: UniformSource = cryptoUniform): boolean {
  if (p < 0n || q <= 0n) throw new StrataError('INPUT_INVALID', `exp(-p/q) needs p >= 0 and q > 0, got ${p}/${q}`);
  // exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)): each factor is an independent trial.
  for (let k = 0n; k < p / q; k++) if (!bernoulliExpMinusAtMostOne(1n, 1n, u)) return false;
  return bernoulliExpMinusAtMostOne(p % q, q, u);
}

/** γ = p/q ∈ [0, 1]: K counts up while Bernoulli(γ/K) succeeds; true when K ends odd. */
function bernoulliExpMinusAtMostOne(p: bigint, q: bigint, u: UniformSource): boolean {
  let k = 1n;
  while (bernoulli(p, q * k, u)) k++;
  return k % 2n === 1n;
}

/**
 * The discrete Laplace distribution with scale b = t/s (P(x) ∝ exp(−|x|·s/t)), CKS20
 * Algorithm 2. Var = 2e^{−1/b}/(1 − e^{−1/b})², which is 2b² − 1/6 + O(1/b²) for large b.
 */
export function sampleDiscreteLaplace(scale: Rational, u: UniformSource = cryptoUniform): bigint {
  const t = scale.p; // b = t / s
  const s = scale.q;
  if (t <= 0n || s <= 0n) throw new StrataError('INPUT_INVALID', `the discrete Laplace scale must be positive, got ${scale.p}/${scale.q}`);
  for (;;) {
    const uu = u(t);
    if (!bernoulliExpMinus(uu, t, u)) continue;
    let v = 0n;
    while (bernoulliExpMinus(1n, 1n, u)) v++;
    const x = uu + t * v;
    const y = x / s;
    const negative = u(2n) === 1n;
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/**
 * The discrete Gaussian with variance parameter σ² (a rational), CKS20 Algorithm 3: a
 * discrete Laplace proposal with scale ⌊σ⌋ + 1, accepted with probability
 * exp(−(|y| − σ²/t)² / (2σ²)). Its variance is slightly below σ² (equal to within 1e-8
 * relative once σ ≥ 3).
 */
export function sampleDiscreteGaussian(sigma2: Rational, u: UniformSource = cryptoUniform): bigint {
  const a = sigma2.p;
  const b = sigma2.q;
  if (a <= 0n || b <= 0n) throw new StrataError('INPUT_INVALID', `the discrete Gaussian's σ² must be positive, got ${a}/${b}`);
  // t = ⌊σ⌋ + 1; ⌊√(a/b)⌋ = ⌊√⌊a/b⌋⌋ (k ≤ √x iff k² ≤ ⌊x⌋ for whole k), exactly on integers.
  const tt = isqrt(a / b) + 1n;
  for (;;) {
    const y = sampleDiscreteLaplace({ p: tt, q: 1n }, u);
    const ay = y < 0n ? -y : y;
    // (|y| − σ²/t)² / (2σ²) = (|y|·b·t − a)² / (2·a·b·t²)
    const diff = ay * b * tt - a;
    if (bernoulliExpMinus(diff * diff, 2n * a * b * tt * tt, u)) return y;
  }
}

/** ⌊√n⌋ for n ≥ 0 (Newton on integers). */
function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  while (x * x > n) x--;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}

/** Exact variance of the discrete Laplace with scale b: 2e^{−1/b}/(1 − e^{−1/b})². */
export function discreteLaplaceVariance(b: number): number {
  const r = Math.exp(-1 / b);
  return (2 * r) / ((1 - r) * (1 - r));
}
