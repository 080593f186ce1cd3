/**
 * `strata privacy forget | export | enforce`: erasure, subject access export and retention
 * (src/privacy/erasure, src/privacy/retention).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { StrataError } from '../../errors/errors.js';
import { erasureIds, exportUser, forgetUsers, type ForgetResult, type UserExport } from '../../privacy/erasure/index.js';
import { enforceRetention, type EnforceResult } from '../../privacy/retention/index.js';
import { CommandContext, jsonReplacer, type CliIo } from '../context.js';
import { formatCount, formatFields, formatTable } from '../table.js';
import { parseAsOf } from './segment.js';

/** Above this many users, forget's human output summarizes by status instead of listing each user. */
const LIST_LIMIT = 50;

export function registerPrivacyErasure(parent: Command, io: CliIo): void {
  registerForget(parent, io);
  registerExport(parent, io);
  registerEnforce(parent, io);
}

const STORED_ID_HELP = 'the ids are given as stored (the pseudonyms of a workspace with privacy.pseudonymize), not as ingested';

function registerForget(parent: Command, io: CliIo): void {
  parent
    .command('forget')
    .summary('erase users from every user-keyed table, suppress them and audit it')
    .description(
      'Remove every row of each user from every user-keyed table (events, including\n' +
        '$consent and $exposure events; users; profiles; snapshot members; model\n' +
        'scores) in one transaction where the engine has them (ClickHouse: mutations,\n' +
        'each waited for), remove their lines from the rejects files under the data\n' +
        'folder, record a suppression (the SHA-256 of the stored id, never the id) so\n' +
        'ingest refuses their rows from then on, and write one audit record per user\n' +
        '(privacy.forget, target user:<hash>, rows removed per table). Snapshot sizes\n' +
        'and other aggregates stay. On a pseudonymizing workspace ids are mapped with\n' +
        'its key unless --stored-id. A user with nothing held is reported as unknown\n' +
        '(or already-forgotten) and gets no suppression; the others are erased all\n' +
        'the same and the exit code stays 0.',
    )
    .argument('[USER_ID...]', 'user ids, exactly as ingested (case-sensitive)')
    .option('--ids-file <FILE>', 'read more user ids from a file, one per line')
    .option('--stored-id', STORED_ID_HELP)
    .option('--dry-run', 'count what would be removed; change nothing')
    .addHelpText('after', '\nExamples:\n  $ strata privacy forget u000042 u000043\n  $ strata privacy forget --ids-file requests.txt --dry-run --json')
    .action(async (given: string[], opts: { idsFile?: string; storedId?: boolean; dryRun?: boolean }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const ids = [...given, ...(opts.idsFile !== undefined ? await idsFromFile(path.resolve(io.cwd, opts.idsFile)) : [])];
      if (ids.length === 0) throw new StrataError('INPUT_INVALID', 'privacy forget: expected at least one USER_ID or --ids-file FILE');
      const progress = ctx.progress();
      try {
        const result = await ctx.withStore(async (store, config) =>
          forgetUsers(store, erasureIds(config, io.env, ids, { storedForm: opts.storedId === true }), {
            actor: ctx.actor(),
            dryRun: opts.dryRun === true,
            rejectsDir: config.rejectsDir,
            onProgress: (done, total) => progress.update({ phase: 'forgetting users', done, total }),
          }),
        );
        progress.stop();
        ctx.emit(result, renderForget);
      } finally {
        progress.stop();
      }
    });
}

async function idsFromFile(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new StrataError('FILE_NOT_FOUND', `--ids-file: cannot read ${file}: ${(e as Error).message}`);
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

export function renderForget(r: ForgetResult): string {
  const out: string[] = [];
  const verb = r.dryRun ? 'would remove' : 'removed';
  if (r.dryRun) out.push('dry run: nothing was changed');
  const tables = Object.keys(r.totals);
  if (r.users.length <= LIST_LIMIT) {
    out.push(
      formatTable(
        [{ header: 'user' }, { header: 'status' }, ...tables.map((t) => ({ header: t, align: 'right' as const })), { header: 'rejects', align: 'right' }],
        r.users.map((u) => [u.userId, u.status, ...tables.map((t) => formatCount(u.rows[t] ?? 0)), formatCount(u.rejectsLines)]),
      ),
    );
  } else {
    const by = (s: string) => r.users.filter((u) => u.status === s).length;
    out.push(`${formatCount(r.users.length)} users: ${formatCount(by('forgotten'))} ${r.dryRun ? 'to forget' : 'forgotten'}, ${formatCount(by('already-forgotten'))} already forgotten, ${formatCount(by('unknown'))} unknown`);
  }
  out.push('', `${verb}: ${tables.map((t) => `${t} ${formatCount(r.totals[t]!)}`).join(', ')}; rejects lines ${formatCount(r.rejectsLines)} in ${r.rejectsFiles.length} file(s)`);
  const unknown = r.users.filter((u) => u.status === 'unknown');
  if (unknown.length > 0) out.push(`unknown (nothing held, no suppression recorded): ${unknown.slice(0, 10).map((u) => u.userId).join(', ')}${unknown.length > 10 ? `, and ${unknown.length - 10} more` : ''}`);
  if (r.unlistedTables.length > 0) out.push(`note: tables with a user_id column not in USER_KEYED_TABLES were erased too: ${r.unlistedTables.join(', ')}`);
  return out.join('\n');
}

function registerExport(parent: Command, io: CliIo): void {
  parent
    .command('export')
    .summary('everything held on one user, as one JSON document')
    .description(
      'One JSON document (schemaVersion 1) with everything Strata holds on a user:\n' +
        'the population index row, the profile (every trait as stored: pii values as\n' +
        'stored, hashed when the workspace hashes them), every event with its\n' +
        'properties, the consent history ($consent events) and the current consent\n' +
        'per purpose (workspace defaults where there is no record), experiment\n' +
        'exposures, stored segment memberships, model scores, the suppression status,\n' +
        'and per user-keyed table the rows held. Written to --out (created with mode\n' +
        '0600) or printed. Audited as privacy.export.',
    )
    .argument('<USER_ID>', 'the user id, exactly as ingested')
    .option('--out <FILE>', 'write the document to FILE instead of printing it')
    .option('--stored-id', STORED_ID_HELP)
    .addHelpText('after', '\nExamples:\n  $ strata privacy export u000042\n  $ strata privacy export u000042 --out u000042.json')
    .action(async (userId: string, opts: { out?: string; storedId?: boolean }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const doc = await ctx.withStore(async (store, config) => {
        const [id] = erasureIds(config, io.env, [userId], { storedForm: opts.storedId === true });
        return exportUser(store, id!, { actor: ctx.actor(), privacy: config.privacy });
      });
      const text = `${JSON.stringify(doc, jsonReplacer, 2)}\n`;
      if (opts.out === undefined) {
        io.stdout(text);
        return;
      }
      const file = path.resolve(io.cwd, opts.out);
      await writeFile(file, text, { mode: 0o600 });
      ctx.emit({ out: file, userId: doc.userId, tables: doc.tables }, () => exportSummary(file, doc));
    });
}

function exportSummary(file: string, doc: UserExport): string {
  const held = Object.entries(doc.tables).map(([t, c]) => `${t} ${formatCount(c.rows)}`).join(', ');
  return `wrote ${file}: ${held}${doc.suppression ? ` (forgotten ${doc.suppression.forgottenAt})` : ''}`;
}

function registerEnforce(parent: Command, io: CliIo): void {
  parent
    .command('enforce')
    .summary('delete what has outlived its retention (events per type, snapshot members, scores)')
    .description(
      'As of --as-of (default now): delete the events of each event type older than\n' +
        'its plan retention_days (types without one are kept; $consent events are\n' +
        'kept unless the plan gives $consent a retention), keep users.first_event_at\n' +
        'right (the earliest remaining event; users with no event and no profile are\n' +
        'removed), delete the members of snapshots older than\n' +
        'privacy.retention.snapshots_days (the snapshot rows and sizes stay) and the\n' +
        'scoring runs older than privacy.retention.scores_days with their scores.\n' +
        'Reports counts per table and per event type; audited as privacy.enforce.',
    )
    .option('--as-of <T>', 'retention periods end at this instant: an ISO date or instant, now, or an offset like -7d (default: now)')
    .option('--dry-run', 'count what would be deleted; change nothing')
    .addHelpText('after', '\nExamples:\n  $ strata privacy enforce --dry-run\n  $ strata privacy enforce --as-of 2026-01-01 --json')
    .action(async (opts: { asOf?: string; dryRun?: boolean }, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const asOfMs = opts.asOf !== undefined ? parseAsOf(opts.asOf, '--as-of', Date.now()) : Date.now();
      const progress = ctx.progress();
      try {
        const result = await ctx.withStore((store, config) =>
          enforceRetention(store, {
            plan: config.plan,
            retention: config.privacy.retention,
            asOfMs,
            dryRun: opts.dryRun === true,
            actor: ctx.actor(),
            onStep: (step, done, total) => progress.update({ phase: step, done, total }),
          }),
        );
        progress.stop();
        ctx.emit(result, renderEnforce);
      } finally {
        progress.stop();
      }
    });
}

export function renderEnforce(r: EnforceResult): string {
  const out: string[] = [];
  out.push(`retention as of ${r.asOf}${r.dryRun ? ' (dry run: nothing was changed)' : ''}`);
  if (r.events.length === 0) out.push('events: no event type has a retention (plan: events.<name>.retention_days)');
  else
    out.push(
      formatTable(
        [{ header: 'event' }, { header: 'days', align: 'right' }, { header: 'before' }, { header: r.dryRun ? 'would delete' : 'deleted', align: 'right' }],
        r.events.map((e) => [e.event, String(e.retentionDays), e.cutoff, formatCount(e.rows)]),
      ),
    );
  out.push(
    '',
    formatFields([
      ['users', `${formatCount(r.users.updated)} first_event_at moved, ${formatCount(r.users.removed)} removed (no event, no profile)`],
      ['snapshots', r.snapshots === null ? 'no retention (privacy.retention.snapshots_days)' : `${formatCount(r.snapshots.members)} members of ${formatCount(r.snapshots.snapshots)} snapshots before ${r.snapshots.cutoff}`],
      ['scores', r.scores === null ? 'no retention (privacy.retention.scores_days)' : `${formatCount(r.scores.rows)} scores of ${formatCount(r.scores.runs)} runs before ${r.scores.cutoff}`],
      ['rows', Object.entries(r.tables).map(([t, n]) => `${t} ${formatCount(n)}`).join(', ')],
    ]),
  );
  return out.join('\n');
}
