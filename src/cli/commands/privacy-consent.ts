/**
 * `strata privacy consent USER_ID`: a user's consent history ($consent records) and the
 * consent per purpose as of an instant, with where it came from; `--set PURPOSE=granted|denied`
 * records consent through ingest and the audit log (src/privacy/consent).
 */
import type { Command } from 'commander';
import { StrataError } from '../../errors/errors.js';
import { consentHistory, consentState, setConsent, type ConsentRecord, type ConsentSetting, type ConsentState } from '../../privacy/consent/index.js';
import { CONSENT_PURPOSES, type ConsentPurpose } from '../../privacy/privacy-config.js';
import { pseudonymizeUserId, resolvePseudonymKey } from '../../privacy/pseudonymize.js';
import { closest } from '../../segments/language/messages.js';
import { formatInstant } from '../../time/time.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatTable } from '../table.js';
import { AS_OF_HELP, parseAsOf } from './segment.js';

export const CLI_CONSENT_SOURCE = 'cli';

interface ConsentCliOptions {
  asOf?: string;
  set?: string[];
  source?: string;
  at?: string;
  storedId?: boolean;
}

/** The command's JSON. */
export interface ConsentReport {
  readonly userId: string;
  readonly asOf: string;
  /** Present after --set: what was recorded. */
  readonly recorded?: { readonly settings: readonly ConsentSetting[]; readonly source: string; readonly at: string; readonly stored: number; readonly duplicates: number; readonly auditSeq: number };
  readonly history: readonly { readonly at: string; readonly purpose: string | null; readonly status: 'granted' | 'denied' | 'unset'; readonly source: string | null }[];
  readonly current: Readonly<Record<ConsentPurpose, { readonly status: 'granted' | 'denied'; readonly from: 'record' | 'default'; readonly at: string | null; readonly source: string | null }>>;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function registerPrivacyConsent(parent: Command, io: CliIo): void {
  parent
    .command('consent')
    .summary("a user's consent history and current consent per purpose; --set records consent")
    .description(
      "Show a user's consent: every $consent record (when, purpose, granted or denied,\n" +
        'source) and, per purpose (analytics, personalization, marketing), the consent as of\n' +
        '--as-of with where it came from: the latest record before that instant (at one\n' +
        "instant a denial wins) or, with none, the workspace default (strata.yaml\n" +
        'privacy.consent; analytics granted, the others denied unless set).\n' +
        '\n' +
        '--set PURPOSE=granted|denied (repeatable) records consent first: one $consent event\n' +
        'per purpose at --at (default now) from --source (default cli), ingested like any\n' +
        'event (so pseudonymization and the plan apply), and one consent.set audit record\n' +
        '(--actor). Targeting segments (purpose personalization or marketing) and\n' +
        '{consent: PURPOSE} conditions read these records as of each evaluation.',
    )
    .argument('<USER_ID>', 'the user id, exactly as ingested (case-sensitive)')
    .option('--as-of <T>', AS_OF_HELP)
    .option('--set <PURPOSE=STATE>', 'record consent: analytics|personalization|marketing = granted|denied (repeatable)', collect)
    .option('--source <S>', `where the consent came from, with --set (default ${CLI_CONSENT_SOURCE})`)
    .option('--at <T>', 'when the consent was given, with --set: an ISO date or instant, now, or an offset like -1d (default: now)')
    .option('--stored-id', 'the id is given as stored (the pseudonym on a workspace with privacy.pseudonymize); not with --set')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata privacy consent u000042\n' +
        '  $ strata privacy consent u000042 --as-of 2026-01-01 --json\n' +
        '  $ strata privacy consent u000042 --set marketing=granted --source banner\n' +
        '  $ strata --actor dpo privacy consent u000042 --set personalization=denied --set marketing=denied',
    )
    .action(async (userId: string, opts: ConsentCliOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const settings = (opts.set ?? []).map(parseSetting);
      if (settings.length === 0 && (opts.source !== undefined || opts.at !== undefined)) {
        throw new StrataError('INPUT_INVALID', 'privacy consent: --source and --at go with --set PURPOSE=granted|denied');
      }
      if (settings.length > 0 && opts.storedId === true) {
        throw new StrataError('INPUT_INVALID', 'privacy consent: --set records consent through ingest, which takes the id as ingested; leave out --stored-id');
      }
      const nowMs = Date.now();
      const report = await ctx.withStore(async (store, config) => {
        const key = opts.storedId === true ? null : resolvePseudonymKey(config, io.env);
        const storedId = key ? pseudonymizeUserId(key, userId) : userId;
        let recorded: ConsentReport['recorded'];
        let atMs = nowMs;
        if (settings.length > 0) {
          atMs = opts.at !== undefined ? parseAsOf(opts.at, '--at', nowMs) : nowMs;
          const r = await setConsent(config, store, { userId, settings, source: opts.source ?? CLI_CONSENT_SOURCE, atMs, actor: ctx.actor() }, { pseudonymKey: key });
          recorded = { settings: r.settings, source: r.source, at: formatInstant(r.atMs), stored: r.ingest.stored, duplicates: r.ingest.duplicates, auditSeq: r.auditSeq };
        }
        // Without --as-of, the state just after what was recorded (a record counts from the next millisecond).
        const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', nowMs) : Math.max(nowMs, recorded ? atMs + 1 : nowMs);
        const history = await consentHistory(store, storedId);
        return consentReport(userId, asOfMs, history, consentState(history, config.privacy.consentDefaults, asOfMs), recorded);
      });
      ctx.emit(report, renderConsent);
    });
}

/** `marketing=granted` -> {purpose, granted}; errors name the closest purpose. */
export function parseSetting(text: string): ConsentSetting {
  const m = /^\s*([^=\s]+)\s*=\s*([^=\s]+)\s*$/.exec(text);
  if (!m) throw new StrataError('INPUT_INVALID', `--set: expected PURPOSE=granted or PURPOSE=denied (such as marketing=granted), got ${JSON.stringify(text)}`);
  const [, purpose, state] = m as unknown as [string, string, string];
  if (!(CONSENT_PURPOSES as readonly string[]).includes(purpose)) {
    const near = closest(purpose, CONSENT_PURPOSES);
    throw new StrataError('INPUT_INVALID', `--set: unknown consent purpose ${JSON.stringify(purpose)}${near ? ` (did you mean ${near}?)` : ''}; expected one of ${CONSENT_PURPOSES.join(', ')}`);
  }
  if (state !== 'granted' && state !== 'denied') {
    throw new StrataError('INPUT_INVALID', `--set ${purpose}=${state}: expected granted or denied`);
  }
  return { purpose: purpose as ConsentPurpose, granted: state === 'granted' };
}

export function consentReport(userId: string, asOfMs: number, history: readonly ConsentRecord[], state: ConsentState, recorded?: ConsentReport['recorded']): ConsentReport {
  const status = (g: boolean) => (g ? 'granted' : 'denied') as 'granted' | 'denied';
  return {
    userId,
    asOf: formatInstant(asOfMs),
    ...(recorded ? { recorded } : {}),
    history: history.map((r) => ({ at: formatInstant(r.atMs), purpose: r.purpose, status: r.granted === null ? 'unset' : status(r.granted), source: r.source })),
    current: Object.fromEntries(
      CONSENT_PURPOSES.map((p) => {
        const s = state[p];
        return [p, { status: status(s.granted), from: s.from, at: s.record ? formatInstant(s.record.atMs) : null, source: s.record?.source ?? null }];
      }),
    ) as ConsentReport['current'],
  };
}

export function renderConsent(r: ConsentReport): string {
  const out: string[] = [];
  if (r.recorded) {
    const what = r.recorded.settings.map((s) => `${s.purpose} ${s.granted ? 'granted' : 'denied'}`).join(', ');
    const note = r.recorded.stored === 0 && r.recorded.duplicates > 0 ? ' (already recorded: nothing new stored)' : '';
    out.push(`recorded ${what} for ${r.userId} at ${r.recorded.at} (source ${r.recorded.source}; audit #${r.recorded.auditSeq})${note}`, '');
  }
  out.push(`consent of ${r.userId} as of ${r.asOf}`);
  out.push(
    formatTable(
      [{ header: 'purpose' }, { header: 'consent' }, { header: 'from' }, { header: 'since' }, { header: 'source' }],
      CONSENT_PURPOSES.map((p) => {
        const c = r.current[p];
        return [p, c.status, c.from === 'record' ? 'record' : 'workspace default', c.at ?? '-', c.source ?? '-'];
      }),
    ),
  );
  out.push('', r.history.length === 0 ? 'history: no $consent records' : `history (${r.history.length} record${r.history.length === 1 ? '' : 's'}):`);
  if (r.history.length > 0) {
    out.push(formatTable([{ header: 'at' }, { header: 'purpose' }, { header: 'consent' }, { header: 'source' }], r.history.map((h) => [h.at, h.purpose ?? '-', h.status, h.source ?? '-'])));
  }
  return out.join('\n');
}
