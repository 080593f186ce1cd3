/**
 * Deterministic hash bucketing for experiments, hash version 1.
 *
 * The scheme, exactly (SDKs in any language must reproduce it; vectors in spec/hash.json):
 * 1. input: the string `<seed>:<purpose>:<user_id>`, encoded as UTF-8 bytes exactly as
 *    given: no Unicode normalization, no trimming, no case folding (an NFC and an NFD
 *    spelling of the same name are different ids and hash differently). ':' inside the
 *    seed or the user id needs no escaping: the purpose is one of two fixed words and a
 *    seed cannot contain ':' (^[A-Za-z0-9._-]{1,128}$), so the split is unambiguous.
 *    `purpose` is `coverage` (is the user in the experiment) or `variant` (which arm);
 * 2. hash: SHA-256 of those bytes (FIPS 180-4);
 * 3. the first 4 bytes of the digest read as an unsigned 32-bit integer, big-endian
 *    (digest hex `a1b2c3d4...` gives 0xa1b2c3d4);
 * 4. bucket = that integer modulo 10000 (HASH_BUCKETS), so 0..9999.
 *
 * SHA-256 rather than a faster non-cryptographic hash because every engine and every SDK
 * language has it built in and documented (DuckDB `sha256`, ClickHouse `SHA256`, Python
 * `hashlib`, the JVM, browsers' SubtleCrypto), so a variant is the same everywhere without
 * porting a hash function. Both engines were probed before choosing it: DuckDB
 * (@duckdb/node-api 1.5) `sha256(VARCHAR)` gives the lowercase hex digest of the UTF-8
 * bytes, ClickHouse 18.16.1 `SHA256(String)` the raw digest, and both match hashlib on
 * non-ASCII ids (spec/hash.json runs on both), so the MD5 fallback was not needed. The
 * SQL form is the dialect hook `hashBucket` (assignment-sql.ts). Modulo bias: buckets
 * 0..7295 get 429,497 of the 2^32 values and the others 429,496, a relative difference
 * of 2.3e-6, far under any sampling noise.
 *
 * Version promise: hash version 1 never changes meaning. A different scheme (another hash,
 * another modulus, normalization) would be hash version 2, chosen per experiment, so
 * running experiments keep their assignments forever.
 */
import { createHash } from 'node:crypto';
import { StrataError } from '../../errors/errors.js';
import type { HashVersion } from './types.js';

/** Buckets per hash: a bucket is an integer in [0, HASH_BUCKETS). Coverage and weights resolve to 1/10000. */
export const HASH_BUCKETS = 10000;

/** What a hash decides: `coverage` (in the experiment or not) and `variant` (which arm), hashed separately. */
export type HashPurpose = 'coverage' | 'variant';

/** The exact bytes hashed (as a string, before UTF-8 encoding). */
export function hashInput(seed: string, purpose: HashPurpose, userId: string): string {
  return `${seed}:${purpose}:${userId}`;
}

/** The bucket in [0, 10000) of a user for one purpose, by the scheme in this file's header. */
export function hashBucket(seed: string, purpose: HashPurpose, userId: string, version: HashVersion = 1): number {
  if (version !== 1) throw new StrataError('INPUT_INVALID', `unknown hash version ${String(version)} (this Strata knows version 1)`);
  // Node's utf8 encoding turns a lone surrogate into U+FFFD; user ids from SQL and JSON never hold one.
  const digest = createHash('sha256').update(hashInput(seed, purpose, userId), 'utf8').digest();
  return digest.readUInt32BE(0) % HASH_BUCKETS;
}
