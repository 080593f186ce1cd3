/**
 * `strata user USER_ID`: one user's profile as of an instant (src/analysis/user).
 */
import type { Command } from 'commander';
import { lifecycleStageIRs } from '../../analysis/lifecycle/index.js';
import { userMoments } from '../../analysis/moments/index.js';
import { DEFAULT_RECENT_EVENTS, userProfile, type ProfileValue, type UserProfile } from '../../analysis/user/index.js';
import { StrataError } from '../../errors/errors.js';
import { CommandContext, type CliIo } from '../context.js';
import { formatCount, formatFields, formatTable } from '../table.js';
import { shortInstant } from './segment-history.js';
import { AS_OF_HELP, parseAsOf } from './segment.js';

export function registerUser(program: Command, io: CliIo): void {
  program
    .command('user')
    .summary('one user: traits, activity, segments, lifecycle stage, moments and membership history')
    .description(
      'Everything Strata holds on a user as of an instant: profile traits (pii values\n' +
        'masked unless --show-pii; sensitive traits marked), first and last seen, event\n' +
        'counts, the most recent events, the segments the user is in and the lifecycle\n' +
        "stage (evaluated in memory over the user's own events and profile, with the same\n" +
        'semantics as compute; no snapshot is written), key moments, and membership over\n' +
        'the stored snapshots (entered and left between them).',
    )
    .argument('<USER_ID>', 'the user id, exactly as ingested')
    .option('--as-of <T>', AS_OF_HELP)
    .option('--events <N>', 'recent events listed', String(DEFAULT_RECENT_EVENTS))
    .option('--show-pii', 'show the values of pii traits and properties')
    .addHelpText('after', '\nExamples:\n  $ strata user u000042\n  $ strata user u000042 --as-of 2025-06-02 --events 50 --json')
    .action(async (userId: string, opts: { asOf?: string; events: string; showPii?: boolean }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : Date.now();
      const recentEvents = wholeNumber(opts.events, '--events');
      const profile = await ctx.withRegistry(async (registry, config, store) =>
        userProfile(
          {
            store,
            plan: config.plan,
            segments: await registry.currentSegments(),
            lifecycleStages: lifecycleStageIRs(config.lifecycle, config.plan),
            moments: (id, at) => userMoments(store, config, id, { asOfMs: at }),
          },
          userId,
          { asOfMs, recentEvents, showPii: opts.showPii === true },
        ),
      );
      ctx.emit(profile, renderUser);
    });
}

function wholeNumber(text: string, option: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new StrataError('INPUT_INVALID', `${option}: expected a whole number, got ${JSON.stringify(text)}`);
  return n;
}

function show(value: ProfileValue | null): string {
  if (value === null) return '-';
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T.*Z$/.test(value) ? shortInstant(value) : String(value);
}

export function renderUser(p: UserProfile): string {
  const out: string[] = [];
  out.push(`user ${p.userId} as of ${shortInstant(p.asOf)}`);
  out.push(
    formatFields([
      ['in population', p.inPopulation ? 'yes' : 'no (no profile, and no event before this instant)'],
      ['profile', p.hasProfile ? `updated ${p.profileUpdatedAt ? shortInstant(p.profileUpdatedAt) : '-'}` : 'none'],
      ['first seen', p.firstSeen ? shortInstant(p.firstSeen) : '-'],
      ['last seen', p.lastSeen ? shortInstant(p.lastSeen) : '-'],
      ['events', formatCount(p.totalEvents)],
      ['lifecycle', p.lifecycle === null ? '-' : p.lifecycle.stage === null ? '- (not in the population)' : `${p.lifecycle.stage}${p.lifecycle.name && p.lifecycle.name !== p.lifecycle.stage ? ` (${p.lifecycle.name})` : ''}`],
    ]),
  );

  out.push('', `Segments (${p.segments.length} of ${p.segmentsEvaluated})`);
  out.push(p.segments.length === 0 ? '  none' : `  ${p.segments.map((s) => `${s.key} v${s.version}`).join(', ')}`);

  if (p.traits.length > 0) {
    out.push('', 'Traits (current profile)');
    out.push(
      formatTable(
        [{ header: 'TRAIT' }, { header: 'VALUE' }, { header: 'FLAGS' }],
        p.traits.map((t) => [
          t.name,
          t.masked ? '***' : show(t.value),
          [t.pii ? `pii${t.masked ? ' (--show-pii shows it)' : ''}` : '', t.sensitive ? 'sensitive (audits only)' : ''].filter(Boolean).join(', '),
        ]),
      ),
    );
  }

  if (p.moments !== null && p.moments.length > 0) {
    const reached = p.moments.filter((m) => m.at !== null);
    const missing = p.moments.filter((m) => m.at === null);
    out.push('', 'Key moments');
    if (reached.length > 0) out.push(formatTable([{ header: 'MOMENT' }, { header: 'AT' }], reached.map((m) => [m.key, shortInstant(m.at!)])));
    if (missing.length > 0) out.push(`not reached: ${missing.map((m) => m.key).join(', ')}`);
  }

  if (p.eventCounts.length > 0) {
    out.push('', 'Events before asOf');
    out.push(formatTable([{ header: 'EVENT' }, { header: 'COUNT', align: 'right' }], p.eventCounts.map((c) => [c.event, formatCount(c.count)])));
  }
  if (p.recentEvents.length > 0) {
    out.push('', `Most recent events (${p.recentEvents.length}, newest first)`);
    out.push(
      formatTable(
        [{ header: 'AT' }, { header: 'EVENT' }, { header: 'PROPERTIES' }],
        p.recentEvents.map((e) => [
          shortInstant(e.at),
          e.event,
          Object.entries(e.properties)
            .map(([k, v]) => `${k}=${e.masked.includes(k) ? '***' : show(v)}`)
            .join(' '),
        ]),
      ),
    );
  }

  if (p.membershipHistory.length > 0) {
    out.push('', 'Membership over the stored snapshots');
    out.push(
      formatTable(
        [{ header: 'SEGMENT' }, { header: 'SNAPSHOTS', align: 'right' }, { header: 'MEMBER IN', align: 'right' }, { header: 'AT LAST' }, { header: 'CHANGES' }],
        p.membershipHistory.map((h) => [
          h.key,
          formatCount(h.snapshots),
          formatCount(h.memberIn),
          `${h.memberAtLast ? 'member' : 'not'} (${shortInstant(h.last)})`,
          h.transitions.length === 0 ? '-' : h.transitions.map((t) => `${t.change} ${shortInstant(t.asOf)}`).join(', '),
        ]),
      ),
    );
  }
  return out.join('\n');
}
