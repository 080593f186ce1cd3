/**
 * TypeBox errors translated into the language's own: JSON-pointer paths (`/where/1/gt`)
 * become dotted paths under a base (`match.any[0].where[1].gt`), and messages say what
 * was expected (from the schema's description) and what was found.
 */
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import type { ErrorDetail } from '../../errors/errors.js';
import { closest, indexPath, keyPath, show } from './messages.js';

/** Errors of `value` against `schema`, one per path (TypeBox can report a path twice). */
export function schemaErrors(schema: TSchema, value: unknown, base: string): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const seen = new Set<string>();
  for (const error of Value.Errors(schema, value)) {
    const { path, lastKey } = convertPointer(error.path, value, base);
    if (seen.has(path)) continue;
    seen.add(path);
    out.push({ path, message: describe(error, lastKey) });
  }
  return out;
}

/** Walk the value alongside the pointer, because only the value tells an array index from a numeric key. */
function convertPointer(pointer: string, value: unknown, base: string): { path: string; lastKey: string } {
  let path = base;
  let current: unknown = value;
  let lastKey = '';
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    lastKey = token;
    if (Array.isArray(current)) {
      path = indexPath(path, Number(token));
      current = current[Number(token)];
    } else {
      path = keyPath(path, token);
      current = typeof current === 'object' && current !== null && Object.hasOwn(current, token) ? (current as Record<string, unknown>)[token] : undefined;
    }
  }
  return { path, lastKey };
}

function describe(error: ValueError, lastKey: string): string {
  const expected = typeof error.schema.description === 'string' ? error.schema.description : error.message.replace(/^Expected /, '').toLowerCase();
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return `required: expected ${expected}`;
    case ValueErrorType.ObjectAdditionalProperties: {
      const allowed = Object.keys((error.schema as { properties?: Record<string, unknown> }).properties ?? {});
      const suggestion = closest(lastKey, allowed);
      return `unknown key${suggestion ? ` (did you mean ${suggestion}?)` : ''}; expected one of ${allowed.join(', ')}`;
    }
    default:
      return `expected ${expected}, got ${show(error.value)}`;
  }
}
