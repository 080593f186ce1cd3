/**
 * Pseudonymization of user ids (issue 7): with `privacy.pseudonymize` set, every user id is
 * replaced at ingest by the lower-case hex HMAC-SHA256(key, UTF-8 id). The mapping is
 * deterministic (the same raw id always lands on the same stored id, so re-ingest dedupes
 * and `privacy forget/export RAW_ID` find the user with `pseudonymizeUserId`) and cannot be
 * inverted or recomputed without the key.
 *
 * The key is never stored in the workspace's data folder: it comes from the environment
 * variable `key_env` names (the CLI passes its environment; nothing under src/ reads
 * process.env) or from `key_file`, a file outside Config.dataDir. Its bytes are the
 * variable's UTF-8 bytes, or the file's bytes less trailing line breaks; at least 32 bytes
 * (the SHA-256 block is 64, its output 32: a shorter key lowers the work of a brute force
 * below the hash's own strength). `openssl rand -hex 32` gives a good 64-byte key.
 */
import { createHmac } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { StrataError } from '../errors/errors.js';
import type { PrivacyConfig } from './privacy-config.js';

/** The shortest key accepted, in bytes. */
export const PSEUDONYM_KEY_MIN_BYTES = 32;

/** What resolving the key needs from the workspace configuration. */
export interface PseudonymKeyConfig {
  readonly privacy: Pick<PrivacyConfig, 'pseudonymize'>;
  /** Where the store and other written files live: the key may not be inside it. */
  readonly dataDir: string;
  /** Relative key_file paths are resolved against the workspace folder. */
  readonly workspaceDir: string;
}

/**
 * The workspace's pseudonymization key, or null when user ids are stored as given.
 * Throws PRIVACY_KEY_INVALID (naming the setting) for a missing or empty key, one shorter
 * than PSEUDONYM_KEY_MIN_BYTES, or a key file inside the data folder.
 */
export function resolvePseudonymKey(config: PseudonymKeyConfig, env: Readonly<Record<string, string | undefined>>): Buffer | null {
  const setting = config.privacy.pseudonymize;
  if (setting === null) return null;
  if ('keyEnv' in setting) {
    const where = 'privacy.pseudonymize.key_env';
    const value = env[setting.keyEnv];
    if (value === undefined || value.length === 0) {
      throw keyError(`the pseudonymization key is missing: the environment variable ${setting.keyEnv} is ${value === undefined ? 'not set' : 'empty'}`, where, `the environment variable ${setting.keyEnv} to hold a key of at least ${PSEUDONYM_KEY_MIN_BYTES} bytes`);
    }
    return checkLength(Buffer.from(value, 'utf8'), where, `the environment variable ${setting.keyEnv}`);
  }
  const where = 'privacy.pseudonymize.key_file';
  const file = path.resolve(config.workspaceDir, setting.keyFile);
  if (isInside(realOrResolved(file), realOrResolved(config.dataDir))) {
    throw keyError(`the pseudonymization key file ${file} is inside the data folder ${config.dataDir}`, where, 'a path outside the data folder (the key must never be stored with the data it protects)');
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw keyError(`the pseudonymization key file ${file} cannot be read: ${(e as Error).message}`, where, 'a readable file holding the key');
  }
  // A key written with `echo` ends with a line break that is not part of it.
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  if (end === 0) throw keyError(`the pseudonymization key file ${file} is empty`, where, 'a file holding the key');
  return checkLength(bytes.subarray(0, end), where, `the key file ${file}`);
}

/** The stored form of a user id: lower-case hex HMAC-SHA256(key, UTF-8 id), 64 characters. */
export function pseudonymizeUserId(key: Uint8Array, userId: string): string {
  return createHmac('sha256', key).update(userId, 'utf8').digest('hex');
}

function checkLength(key: Buffer, where: string, what: string): Buffer {
  if (key.length < PSEUDONYM_KEY_MIN_BYTES) {
    throw keyError(
      `the pseudonymization key from ${what} is ${key.length} bytes; expected at least ${PSEUDONYM_KEY_MIN_BYTES}`,
      where,
      `a key of at least ${PSEUDONYM_KEY_MIN_BYTES} bytes, e.g. the output of \`openssl rand -hex 32\``,
    );
  }
  return key;
}

function keyError(message: string, where: string, expected: string): StrataError {
  return new StrataError('PRIVACY_KEY_INVALID', message, [{ path: where, message: `expected ${expected}` }]);
}

function realOrResolved(p: string): string {
  // The folder or file may not exist yet; then its resolved path is what it will be.
  try {
    return realpathSync(p);
  } catch {
    const parent = path.dirname(p);
    return parent === p ? p : path.join(realOrResolved(parent), path.basename(p));
  }
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
