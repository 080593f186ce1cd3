/**
 * The ids `privacy forget` and `privacy export` act on. On a workspace that pseudonymizes
 * user ids (`privacy.pseudonymize`), the store holds HMAC-SHA256(key, raw id): a raw id is
 * mapped with the workspace's key (src/privacy/pseudonymize.ts), and `storedForm` says the
 * ids are given as stored already (the pseudonym, e.g. read from a segment's member list).
 * Without pseudonymization the stored id is the id given.
 */
import { pseudonymizeUserId, resolvePseudonymKey, type PseudonymKeyConfig } from '../pseudonymize.js';
import type { ErasureId } from './forget.js';

export function erasureIds(
  config: PseudonymKeyConfig,
  env: Readonly<Record<string, string | undefined>>,
  ids: readonly string[],
  options: { readonly storedForm?: boolean } = {},
): ErasureId[] {
  if (options.storedForm === true || config.privacy.pseudonymize === null) return ids.map((id) => ({ given: id, stored: id }));
  const key = resolvePseudonymKey(config, env)!;
  return ids.map((id) => ({ given: id, stored: pseudonymizeUserId(key, id) }));
}
