/**
 * Pretty-printing SQL without ever re-reading it: a query is a list of lines, each built
 * whole, and nesting indents the list. A line may hold a newline inside a string literal
 * or a quoted identifier; since lines are never split on newlines, indentation can never
 * reach into a literal and change its value.
 */
export type Lines = readonly string[];

export function indentLines(lines: Lines): string[] {
  return lines.map((l) => `  ${l}`);
}

/** `head` before the first line, `tail` after the last. */
export function wrapLines(head: string, lines: Lines, tail = ''): string[] {
  const out = [...lines];
  out[0] = `${head}${out[0] ?? ''}`;
  out[out.length - 1] = `${out[out.length - 1]}${tail}`;
  return out;
}

/** `SELECT a,` then one indented item per line. */
export function selectLines(items: readonly string[]): string[] {
  return items.map((item, i) => `${i === 0 ? 'SELECT ' : '  '}${item}${i < items.length - 1 ? ',' : ''}`);
}

/** `WHERE a` then `  AND b` per further condition; nothing when there is none. */
export function whereLines(conditions: readonly string[]): string[] {
  return conditions.map((c, i) => `${i === 0 ? 'WHERE ' : '  AND '}${c}`);
}

/** A derived table: `(`, the indented query, `) alias`. */
export function subqueryLines(query: Lines, alias: string): string[] {
  return ['(', ...indentLines(query), `) ${alias}`];
}
