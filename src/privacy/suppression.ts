/**
 * The suppression list's key (issue 7): `privacy forget` records the hex SHA-256 of the
 * erased user's id as stored (after pseudonymization, when the workspace pseudonymizes),
 * never the id itself; ingest hashes each incoming (stored-form) user id the same way and
 * refuses the rows of suppressed users, counting them.
 */
import { createHash } from 'node:crypto';

export function suppressionHash(storedUserId: string): string {
  return createHash('sha256').update(storedUserId, 'utf8').digest('hex');
}
