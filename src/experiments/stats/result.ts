/**
 * Degenerate data gives a typed answer naming what is wrong, never NaN or numbers that look
 * real. Impossible input (negative counts, conversions above n, non-finite values) is a
 * different matter and throws StrataError INPUT_INVALID.
 */
export type DegenerateReason =
  | 'empty-arm'
  | 'too-few-users'
  | 'zero-variance'
  | 'zero-control-mean'
  | 'no-users'
  /** A ratio metric whose denominators sum to zero in an arm. */
  | 'zero-denominator'
  /** A heterogeneity test with fewer than two segments that have an effect. */
  | 'too-few-segments';

export interface Degenerate {
  readonly ok: false;
  readonly reason: DegenerateReason;
  readonly message: string;
}

export function degenerate(reason: DegenerateReason, message: string): Degenerate {
  return { ok: false, reason, message };
}

export function isDegenerate(value: object): value is Degenerate {
  return 'ok' in value && (value as { ok: unknown }).ok === false;
}
