/**
 * A funnel for `strata funnel`: its document, and the checks that turn it into steps, a
 * span and an entry window the SQL can use.
 *
 * The document is the segment language's `funnel` condition without `reached` (the
 * analysis reports every step), plus `order` and an optional `name`:
 *
 *   funnel:                       # the steps, as in the language: E or {event: E, where: [P...]}
 *     - signed_up
 *     - event: onboarding_started
 *       where: [{property: method, eq: email}]
 *     - core_task_completed
 *   span: 7d                      # step k strictly before step 1 + span
 *   within: 90d                   # entry window on step 1: within | during | since (none: all history)
 *   order: sequential             # sequential (default) | strict | any
 *
 * Steps, span and window are checked by the language's own condition checker on exactly
 * that condition, so a funnel accepts what a `funnel` condition accepts and every error
 * names the same path (`funnel[1].where[0].property`).
 */
import { StrataError, type ErrorDetail } from '../../errors/errors.js';
import type { TrackingPlan } from '../../schema/tracking-plan.js';
import type { EventFilter, Literal, PropertyPredicate, Window } from '../../segments/ir/nodes.js';
import { ConditionChecker, isRecord } from '../../segments/language/condition-checker.js';
import { closest, keyPath, listOf, quote, show } from '../../segments/language/messages.js';

export const FUNNEL_ORDERS = ['sequential', 'strict', 'any'] as const;

/** More steps than anyone reads in a table; the bound also keeps the SQL's attempt key within 64 bits. */
export const MAX_FUNNEL_STEPS = 100;
export type FunnelOrder = (typeof FUNNEL_ORDERS)[number];

/** A step as written: an event name, or `{event, where}`. */
export type FunnelStepDocument = string | { readonly event: string; readonly where?: readonly unknown[] };

/** The entry window as written (one of within, during, since), or none. */
export type FunnelWindowDocument = { readonly within: string } | { readonly during: readonly [string, string] } | { readonly since: string };

/** A funnel as its author wrote it: what `--save-dropoff` turns back into a `funnel` condition. */
export interface FunnelDocument {
  readonly name?: string;
  readonly funnel: readonly FunnelStepDocument[];
  readonly span: string;
  readonly window: FunnelWindowDocument | null;
  readonly order: FunnelOrder;
}

/** A checked funnel: the document and what it means. */
export interface FunnelDefinition {
  readonly document: FunnelDocument;
  readonly steps: readonly EventFilter[];
  /** One label per step for tables: the event, and its predicates when it has any. */
  readonly labels: readonly string[];
  readonly spanMs: number;
  /** `all`, `relative` (within) or `absolute` (during, since). */
  readonly window: Window;
  readonly order: FunnelOrder;
}

const WINDOW_KEYS = ['within', 'during', 'since'] as const;
const DOCUMENT_KEYS = ['funnel', 'span', 'order', 'name', ...WINDOW_KEYS] as const;
/** Keys of the `funnel` condition or of other documents that do not belong in a funnel analysis, with why. */
const MISPLACED: Readonly<Record<string, string>> = {
  reached: 'reached belongs to the funnel condition of a segment; the analysis reports every step (save a drop-off with --save-dropoff)',
  after: 'the funnel analysis takes within, during or since as its entry window; after (an anchored window) is not supported here',
  steps: 'the steps are written under funnel: (as in the language\'s funnel condition)',
};

/**
 * Check a funnel document (parsed YAML or JSON) against the language and the plan.
 * Throws INPUT_INVALID listing every error, each path prefixed with `source` when given.
 */
export function checkFunnelDocument(raw: unknown, plan: TrackingPlan, source = ''): FunnelDefinition {
  const errors: ErrorDetail[] = [];
  const fail = (): never => {
    const where = source === '' ? 'the funnel definition' : `funnel definition ${source}`;
    throw new StrataError('INPUT_INVALID', `${where} is invalid (${errors.length === 1 ? '1 error' : `${errors.length} errors`})`, errors.map((e) => located(e, source)));
  };
  if (!isRecord(raw)) {
    errors.push({ message: `expected a mapping with funnel (the steps), span and optionally within, during or since, and order; got ${show(raw)}` });
    return fail();
  }
  for (const key of Object.keys(raw)) {
    if ((DOCUMENT_KEYS as readonly string[]).includes(key)) continue;
    const near = closest(key, DOCUMENT_KEYS);
    errors.push({
      path: keyPath('', key),
      message: MISPLACED[key] ?? `unknown key${near ? ` (did you mean ${near}?)` : ''}; expected ${listOf([...DOCUMENT_KEYS])}`,
    });
  }
  const order = raw.order ?? 'sequential';
  if (!(FUNNEL_ORDERS as readonly unknown[]).includes(order)) {
    errors.push({ path: 'order', message: `expected one of ${FUNNEL_ORDERS.join(', ')}, got ${show(order)}` });
  }
  if (Object.hasOwn(raw, 'name') && (typeof raw.name !== 'string' || raw.name.trim() === '')) {
    errors.push({ path: 'name', message: `expected a non-empty string, got ${show(raw.name)}` });
  }
  if (!Object.hasOwn(raw, 'funnel')) {
    errors.push({ path: 'funnel', message: 'required: expected the steps, a list of event names or {event: E, where: [P...]}' });
    return fail();
  }
  if (Array.isArray(raw.funnel) && raw.funnel.length > MAX_FUNNEL_STEPS) {
    errors.push({ path: 'funnel', message: `expected at most ${MAX_FUNNEL_STEPS} steps, got ${raw.funnel.length}` });
  }
  // The same checker as a segment's funnel condition; `reached` is the analysis's, not the author's.
  const condition = Object.fromEntries([
    ...Object.entries(raw).filter(([k]) => k === 'funnel' || k === 'span' || (WINDOW_KEYS as readonly string[]).includes(k)),
    ['reached', { gte: 0 }],
  ]);
  const checker = new ConditionChecker(plan);
  const checked = checker.check(condition, '');
  errors.push(...checker.errors);
  if (errors.length > 0) return fail();
  if (checked === undefined || checked.kind !== 'funnel') throw new StrataError('INTERNAL', 'the funnel checker produced no funnel and no error');

  const windowKey = WINDOW_KEYS.find((k) => Object.hasOwn(raw, k));
  const document: FunnelDocument = {
    ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
    funnel: raw.funnel as FunnelStepDocument[],
    span: raw.span as string,
    window: windowKey === undefined ? null : ({ [windowKey]: raw[windowKey] } as FunnelWindowDocument),
    order: order as FunnelOrder,
  };
  return {
    document,
    steps: checked.steps,
    labels: checked.steps.map(stepLabel),
    spanMs: checked.spanMs,
    window: checked.window,
    order: document.order,
  };
}

/** What the command line gives: event names, span, one window option, order. */
export interface FunnelArguments {
  readonly steps: readonly string[];
  readonly span?: string;
  readonly within?: string;
  /** `FROM,TO`. */
  readonly during?: string;
  readonly since?: string;
  readonly order?: string;
}

const OPTION_OF: Readonly<Record<string, string>> = { span: '--span', within: '--within', during: '--during', since: '--since', order: '--order' };

/**
 * A funnel from command-line arguments, checked like a document; errors name the argument
 * (`STEP 2 (onboarding_startd)`, `--span`) instead of a document path.
 */
export function funnelFromArguments(args: FunnelArguments, plan: TrackingPlan): FunnelDefinition {
  const given = WINDOW_KEYS.filter((k) => args[k] !== undefined);
  if (given.length > 1) {
    throw new StrataError('INPUT_INVALID', `give one entry window: ${given.map((k) => OPTION_OF[k]).join(' and ')} were both given`, [
      { path: OPTION_OF[given[1]!]!, message: 'expected at most one of --within, --during, --since' },
    ]);
  }
  if (args.span === undefined) {
    throw new StrataError('INPUT_INVALID', '--span is required: the conversion window, step k strictly before step 1 + span', [
      { path: '--span', message: 'expected a duration such as 7d (a whole number and a unit m, h, d or w)' },
    ]);
  }
  const document: Record<string, unknown> = { funnel: [...args.steps], span: args.span };
  if (args.within !== undefined) document.within = args.within;
  if (args.since !== undefined) document.since = args.since;
  if (args.during !== undefined) {
    const parts = args.during.split(',');
    if (parts.length !== 2 || parts.some((p) => p.trim() === '')) {
      throw new StrataError('INPUT_INVALID', `--during: expected FROM,TO (two ISO dates or instants), got ${quote(args.during)}`, [
        { path: '--during', message: 'expected FROM,TO such as 2025-01-01,2025-02-01' },
      ]);
    }
    document.during = parts.map((p) => p.trim());
  }
  if (args.order !== undefined) document.order = args.order;
  try {
    return checkFunnelDocument(document, plan);
  } catch (e) {
    if (!(e instanceof StrataError) || e.code !== 'INPUT_INVALID') throw e;
    const details = e.details.map((d) => ({ ...d, ...(d.path !== undefined ? { path: argumentPath(d.path, args.steps) } : {}) }));
    throw new StrataError('INPUT_INVALID', `the funnel is invalid (${details.length === 1 ? '1 error' : `${details.length} errors`})`, details, { cause: e });
  }
}

/** `funnel[1]` -> `STEP 2 (name)`, `span` -> `--span`, `during[0]` -> `--during`. */
function argumentPath(path: string, steps: readonly string[]): string {
  const step = /^funnel\[(\d+)\]/.exec(path);
  if (step) return `STEP ${Number(step[1]) + 1} (${steps[Number(step[1])] ?? ''})`;
  if (path === 'funnel') return 'STEP...';
  const head = /^[a-z]+/.exec(path)?.[0] ?? path;
  return OPTION_OF[head] ?? path;
}

function located(detail: ErrorDetail, source: string): ErrorDetail {
  if (source === '') return detail;
  return { ...detail, path: detail.path === undefined || detail.path === '' ? source : `${source} ${detail.path}` };
}

/** `purchase`, `purchase where amount >= 10, currency = "EUR"`, `any event` for `*`. */
export function stepLabel(step: EventFilter): string {
  const event = step.event ?? 'any event';
  if (step.where.length === 0) return event;
  return `${event} where ${step.where.map(predicateLabel).join(', ')}`;
}

const OP_SYMBOLS: Readonly<Record<string, string>> = { eq: '=', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' };

function predicateLabel(p: PropertyPredicate): string {
  const cmp = p.cmp;
  switch (cmp.op) {
    case 'in':
    case 'notIn':
      return `${p.property} ${cmp.op === 'in' ? 'in' : 'not in'} [${cmp.values.map(literalLabel).join(', ')}]`;
    case 'between':
      return `${p.property} between ${literalLabel(cmp.lo)} and ${literalLabel(cmp.hi)}`;
    case 'exists':
      return `${p.property} ${cmp.value ? 'exists' : 'is missing'}`;
    case 'contains':
    case 'startsWith':
      return `${p.property} ${cmp.op === 'contains' ? 'contains' : 'starts with'} ${literalLabel(cmp.value)}`;
    default:
      return `${p.property} ${OP_SYMBOLS[cmp.op]} ${literalLabel(cmp.value)}`;
  }
}

function literalLabel(l: Literal): string {
  switch (l.kind) {
    case 'string':
      return JSON.stringify(l.value);
    case 'number':
    case 'boolean':
      return String(l.value);
    case 'timestamp':
      return new Date(l.epochMs).toISOString();
    case 'relativeTime':
      return `${l.offsetMs < 0 ? '-' : '+'}${Math.abs(l.offsetMs)}ms`;
    case 'duration':
      return `${l.ms}ms`;
  }
}
