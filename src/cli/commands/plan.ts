import path from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { writePlan, type Config } from '../../config/index.js';
import { appendAudit } from '../../governance/audit-log.js';
import { isEmptyDiff, jsonDiff } from '../../governance/diff.js';
import { inferPlan, mergePlanWithReport } from '../../ingest/index.js';
import { StrataError } from '../../errors/errors.js';
import { planToYaml, type TrackingPlan } from '../../schema/tracking-plan.js';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.js';
import { CommandContext, type CliIo } from '../context.js';
import { addEventMappingOptions, addFormatOption, toColumnMapping, type MappingOptions } from './mapping.js';

interface InferOptions extends MappingOptions {
  profiles?: string[];
  traits?: string[];
  write?: boolean;
}

/** What a merge added to the plan, for the summary after --write. */
export interface PlanChanges {
  readonly events: readonly string[];
  readonly properties: readonly string[];
  readonly traits: readonly string[];
}

export function registerPlan(program: Command, io: CliIo): void {
  const plan = program
    .command('plan')
    .summary('show or infer the tracking plan (events, properties, traits and their types)')
    .description('The tracking plan lives under `plan:` in strata.yaml; ingestion validates every row against it.');

  const infer = plan
    .command('infer')
    .summary('propose a tracking plan from data files')
    .description(
      'Read event files (and profile files with --profiles) and propose the tracking plan:\n' +
        'the event names, each property with its type, and the traits with theirs. Prints the\n' +
        'proposal as YAML; --write merges it into strata.yaml (new events, properties and traits\n' +
        'are added; what is already declared stays as it is, comments included).',
    )
    .argument('[FILE...]', 'event files: JSONL, CSV or Parquet, optionally gzipped')
    .option('--profiles <FILE...>', 'profile files whose columns become traits')
    .option('--traits <COL...>', 'keep only these profile columns as traits (the rest of a profile row is then undeclared and dropped at ingest)')
    .option('--write', 'merge the proposal into the workspace strata.yaml');
  addEventMappingOptions(infer);
  addFormatOption(infer);
  infer
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ strata plan infer events.jsonl.gz\n' +
        '  $ strata plan infer events.csv --profiles users.csv --write\n' +
        '  $ strata plan infer online-retail.csv.gz --user CustomerID --time InvoiceDate --event =purchase --write\n' +
        '  $ strata plan infer --profiles online-retail.csv.gz --user CustomerID --traits Country --write',
    )
    .action(async (files: string[], opts: InferOptions, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const events = files.map((f) => path.resolve(io.cwd, f));
      const profiles = (opts.profiles ?? []).map((f) => path.resolve(io.cwd, f));
      if (events.length === 0 && profiles.length === 0) {
        command.error('plan infer needs at least one event FILE or --profiles FILE', { code: 'strata.usage', exitCode: 2 });
      }
      const config = opts.write ? await ctx.loadConfig() : undefined;
      const mapping = toColumnMapping(opts);
      const scratch = await DuckDbStore.open({ path: ':memory:' });
      let proposed: TrackingPlan;
      try {
        proposed = await inferPlan(scratch, {
          events,
          profiles,
          ...(mapping ? { mapping } : {}),
          ...(opts.format ? { format: opts.format } : {}),
        });
      } finally {
        await scratch.close();
      }
      if (opts.traits) proposed = keepTraits(proposed, opts.traits);
      if (!config) {
        ctx.emit({ plan: planToYaml(proposed), written: false }, (r) => stringify({ plan: r.plan }, { lineWidth: 0 }));
        return;
      }
      const { plan: merged, conflicts } = mergePlanWithReport(config.plan, proposed);
      const changes = planChanges(config.plan, merged);
      await writePlan(config, merged);
      await auditPlanWrite(ctx, config, merged, changes);
      ctx.emit({ plan: planToYaml(merged), written: true, config: config.configPath, added: changes, conflicts }, (r) => {
        const parts = [
          `${r.added.events.length} event${r.added.events.length === 1 ? '' : 's'}`,
          `${r.added.properties.length} propert${r.added.properties.length === 1 ? 'y' : 'ies'}`,
          `${r.added.traits.length} trait${r.added.traits.length === 1 ? '' : 's'}`,
        ];
        const list = (label: string, names: readonly string[]) => (names.length > 0 ? `\n  ${label}: ${names.join(', ')}` : '');
        const kept = r.conflicts.map((c) => `\n  kept ${c.path}: ${c.declared} (the data look like ${c.inferred})`).join('');
        return (
          `Updated ${r.config}: added ${parts.join(', ')}` +
          list('events', r.added.events) +
          list('properties', r.added.properties) +
          list('traits', r.added.traits) +
          kept
        );
      });
    });

  plan
    .command('show')
    .summary('print the tracking plan of the workspace')
    .description('Print the tracking plan as strata.yaml declares it (YAML; JSON with --json).')
    .addHelpText('after', '\nExamples:\n  $ strata plan show\n  $ strata plan show --json')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = CommandContext.from(io, command);
      const config = await ctx.loadConfig();
      ctx.emit({ config: config.configPath, plan: planToYaml(config.plan) }, (r) => stringify({ plan: r.plan }, { lineWidth: 0 }));
    });
}

/**
 * The audit record of a plan change (the plan lives in strata.yaml, outside the store, so it
 * is recorded right after the file is written); nothing is recorded when nothing changed.
 */
async function auditPlanWrite(ctx: CommandContext, config: Config, merged: TrackingPlan, changes: PlanChanges): Promise<void> {
  const diff = jsonDiff(planToYaml(config.plan), planToYaml(merged));
  if (isEmptyDiff(diff)) return;
  await ctx.withStore((store) => appendAudit(store, { actor: ctx.actor(), action: 'plan.write', target: 'plan', detail: { config: config.configPath, added: changes, diff } }), config);
}

/** Restrict the inferred traits to the named profile columns; naming a column the files lack is an error. */
function keepTraits(plan: TrackingPlan, names: readonly string[]): TrackingPlan {
  const missing = names.filter((n) => !(n in plan.traits));
  if (missing.length > 0) {
    throw new StrataError('MAPPING_INVALID', `--traits names columns the profile files do not have: ${missing.join(', ')}`, [
      { path: '--traits', message: `expected one of: ${Object.keys(plan.traits).join(', ') || '(no profile columns; pass --profiles FILE)'}` },
    ]);
  }
  return { ...plan, traits: Object.fromEntries(names.map((n) => [n, plan.traits[n]!])) };
}

export function planChanges(before: TrackingPlan, after: TrackingPlan): PlanChanges {
  const events = Object.keys(after.events).filter((e) => !(e in before.events));
  const properties: string[] = [];
  for (const [name, spec] of Object.entries(after.events)) {
    for (const p of Object.keys(spec.properties)) {
      if (!(p in (before.events[name]?.properties ?? {}))) properties.push(`${name}.${p}`);
    }
  }
  const traits = Object.keys(after.traits).filter((t) => !(t in before.traits));
  return { events, properties, traits };
}
