/**
 * Data minimization at ingest (issue 7), as pure functions over one value. The store maps
 * each DISTINCT value of a column through them (src/store/duckdb/ingest-privacy.ts), so
 * the rules are written and tested once, here.
 *
 * - `pii: true` fields: `privacy.pii: hash` stores a digest, `drop` stores nothing. With a
 *   pseudonymization key the digest is HMAC-SHA256(key, value), the function user ids go
 *   through (a pii value equal to a user id maps to the same pseudonym, so a hashed email
 *   can still be matched against hashed ids); without a key it is SHA-256 of
 *   `strata-pii-v1:` + value. The prefix keeps Strata's digests out of generic precomputed
 *   SHA-256 tables, but it is public: an unkeyed digest of a guessable value (an email, a
 *   phone number) can be confirmed by anyone who guesses it. That is minimization, not
 *   anonymization; configure a key to make the digests unguessable. Digests are hex text,
 *   so only string fields can hold one: a pii field of another type is dropped under
 *   `hash` too (and counted as dropped).
 * - IP fields (`ip: true`, or a string field named `ip` or `ip_address` without `ip:
 *   false`): `privacy.ip: truncate` keeps an IPv4 address's /24 (last octet zeroed) and an
 *   IPv6 address's /48 (the first three groups, RFC 5952 text); an IPv4-mapped IPv6
 *   address (::ffff:a.b.c.d) is truncated as the IPv4 address it carries. `drop` stores
 *   nothing. A value that is not an IP address is dropped and counted (`ipInvalid`), not
 *   kept: a field meant for an address may hold anything, and rejecting the row would copy
 *   the value into the rejects file.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { FieldSpec } from '../schema/tracking-plan.js';
import { pseudonymizeUserId } from './pseudonymize.js';

/** Prefixed to pii values before unkeyed SHA-256 (the version lets the scheme change later). */
export const PII_HASH_PREFIX = 'strata-pii-v1:';

/** Field names treated as IP addresses when the plan does not say (`ip: false` opts out). */
export const IP_FIELD_NAMES: readonly string[] = ['ip', 'ip_address'];

/** The stored digest of a pii value: keyed HMAC when the workspace has a key, else prefixed SHA-256. Lower-case hex. */
export function hashPiiValue(value: string, key: Uint8Array | null): string {
  if (key !== null) return pseudonymizeUserId(key, value);
  return createHash('sha256').update(PII_HASH_PREFIX + value, 'utf8').digest('hex');
}

/** Whether a declared field holds IP addresses: its `ip` flag, else a string field with a conventional name. */
export function isIpField(name: string, spec: Pick<FieldSpec, 'type' | 'ip'>): boolean {
  if (spec.ip !== undefined) return spec.ip && spec.type === 'string';
  return spec.type === 'string' && IP_FIELD_NAMES.includes(name);
}

/**
 * An IP address truncated to its network: IPv4 /24 (`192.0.2.77` → `192.0.2.0`), IPv6 /48
 * (`2001:db8:85a3:8d3:1319:8a2e:370:7348` → `2001:db8:85a3::`). Null when the text is not an
 * IP address (surrounding spaces, zone ids and leading zeros in IPv4 octets are not accepted).
 */
export function truncateIp(text: string): string | null {
  if (isIPv4(text)) return truncateIpv4(text);
  if (!isIPv6(text) || text.includes('%')) return null;
  const groups = ipv6Groups(text);
  if (groups === null) return null;
  // IPv4-mapped (::ffff:a.b.c.d): the address is the IPv4 one.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.0`;
  }
  return formatIpv6([groups[0]!, groups[1]!, groups[2]!, 0, 0, 0, 0, 0]);
}

function truncateIpv4(text: string): string | null {
  const octets = text.split('.');
  // node accepts no leading zeros either, but say so here: "010" would read as octal elsewhere.
  if (octets.some((o) => o.length > 1 && o.startsWith('0'))) return null;
  return `${octets[0]}.${octets[1]}.${octets[2]}.0`;
}

/** The eight 16-bit groups of an IPv6 address text (already checked by isIPv6). */
function ipv6Groups(text: string): number[] | null {
  let body = text;
  const lastColon = body.lastIndexOf(':');
  const last = body.slice(lastColon + 1);
  if (last.includes('.')) {
    // A trailing dotted quad is the last two groups.
    if (!isIPv4(last)) return null;
    const o = last.split('.').map(Number);
    body = `${body.slice(0, lastColon + 1)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const parts = body.split('::');
  if (parts.length > 2) return null;
  const parse = (s: string | undefined) => (s === undefined || s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = parse(parts[0]);
  const right = parse(parts[1]);
  const missing = 8 - left.length - right.length;
  if (parts.length === 1 ? missing !== 0 : missing < 1) return null;
  if ([...left, ...right].some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return null;
  return [...left, ...new Array<number>(missing).fill(0), ...right];
}

/** RFC 5952 text: lower-case hex without leading zeros, the longest run (2+) of zero groups as `::` (the first on a tie). */
function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
