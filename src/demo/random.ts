/**
 * Seeded randomness for the demo: one xoroshiro128+ stream per user, derived from the
 * seed and the user's index, so a user's history depends only on (seed, index) and the
 * same seed always gives the same product.
 */
import { xoroshiro128plus, type RandomGenerator } from 'pure-rand';

const TWO_POW_32 = 0x1_0000_0000;

export class Rand {
  private readonly rng: RandomGenerator;

  constructor(seed: number) {
    this.rng = xoroshiro128plus(seed | 0);
  }

  /** A stream for item `index` under `seed` (a 32-bit hash mix of both, so neighbours are unrelated). */
  static forItem(seed: number, index: number): Rand {
    let h = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b);
    h ^= h >>> 15;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 13;
    return new Rand(h);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return (this.rng.unsafeNext() >>> 0) / TWO_POW_32;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Exponential with the given mean. */
  exp(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  /** Poisson with mean `lambda` (Knuth; the demo's rates are small). */
  poisson(lambda: number): number {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.float();
    while (p > limit) {
      k++;
      p *= this.float();
    }
    return k;
  }

  /** Geometric number of extra trials with the given mean (0, 1, 2, ...). */
  geometric(mean: number): number {
    return Math.floor(this.exp(mean + 0.5));
  }

  /** One of `items`, with probability proportional to its weight. */
  pick<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let x = this.float() * total;
    for (const [item, w] of items) {
      x -= w;
      if (x < 0) return item;
    }
    return items[items.length - 1]![0];
  }
}
