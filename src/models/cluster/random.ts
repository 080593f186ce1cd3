/**
 * Seeded uniform doubles for clustering (k-means++ seeding, restarts, silhouette samples):
 * pure-rand's xoroshiro128+, two 32-bit draws per 53-bit double, so one seed always gives the
 * same model.
 */
import { xoroshiro128plus, type RandomGenerator } from 'pure-rand';

export class SeededRandom {
  private readonly rng: RandomGenerator;

  constructor(seed: number) {
    this.rng = xoroshiro128plus(seed | 0);
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float(): number {
    const hi = (this.rng.unsafeNext() >>> 0) >>> 5; // 27 bits
    const lo = (this.rng.unsafeNext() >>> 0) >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** A 31-bit seed for a derived stream (one per restart). */
  seed(): number {
    return this.rng.unsafeNext() | 0;
  }

  /** `size` distinct indices from [0, n), in increasing order (partial Fisher–Yates over a lazy map). */
  sampleIndices(n: number, size: number): Uint32Array {
    const m = Math.min(size, n);
    const swapped = new Map<number, number>();
    const out = new Uint32Array(m);
    for (let i = 0; i < m; i++) {
      const j = i + this.int(n - i);
      const vi = swapped.get(i) ?? i;
      const vj = swapped.get(j) ?? j;
      out[i] = vj;
      swapped.set(j, vi);
    }
    return out.sort();
  }
}
