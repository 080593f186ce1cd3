/**
 * Human renderings of the `--private` results (segment compute, lifecycle report,
 * experiment analyze). Each says it is private first and ends with the privacy note
 * (mechanism, spend, the noise's 95% intervals, suppressed groups, the budget left).
 */
import type { PrivateExperimentSummary, PrivateVariantMetric } from '../../privacy/dp/private-experiment.js';
import type { PrivateLifecycleReport, PrivateStageCount } from '../../privacy/dp/private-lifecycle.js';
import { formatNoisy, renderPrivacyNote } from '../../privacy/dp/private-release.js';
import type { PrivateSegmentSizes } from '../../privacy/dp/private-segment.js';
import { formatPercent, formatTable } from '../table.js';

export function renderPrivateSizes(r: PrivateSegmentSizes): string {
  const head = `PRIVATE segment sizes as of ${r.asOf}${r.by ? `, by ${r.by.label}` : ''} (the stored snapshots keep the exact sizes; only these leave)`;
  if (!r.by) {
    const table = formatTable(
      [{ header: 'SEGMENT' }, { header: 'VERSION', align: 'right' }, { header: 'SIZE (noisy)', align: 'right' }],
      r.segments.map((s) => [s.key, `v${s.version}`, formatNoisy(s.size, s.ci95, s.suppressed)]),
    );
    return `${head}\n${table}\n\n${renderPrivacyNote(r.privacy)}`;
  }
  const table = formatTable(
    [{ header: 'SEGMENT' }, { header: 'GROUP' }, { header: 'USERS (noisy)', align: 'right' }, { header: 'SHARE', align: 'right' }],
    r.segments.flatMap((s) => [
      [s.key, '(all)', formatNoisy(s.size, s.ci95, s.suppressed), ''],
      ...(s.groups ?? []).map((g) => ['', g.group, formatNoisy(g.users, r.by!.ci95, g.suppressed), g.share === null ? '-' : formatPercent(g.share)]),
    ]),
  );
  return `${head}\n${table}\n(shares are of the released groups of each segment)\n\n${renderPrivacyNote(r.privacy)}`;
}

export function renderPrivateLifecycle(r: PrivateLifecycleReport): string {
  const head = `PRIVATE lifecycle stages as of ${r.asOf}${r.segment ? ` among members of ${r.segment}` : ''}: about ${Math.round(r.population).toLocaleString('en-US')} users (sum of the released counts)`;
  const count = (s: PrivateStageCount | undefined) => (s ? formatNoisy(s.users, null, s.suppressed) : '-');
  const share = (s: PrivateStageCount | undefined) => (s && s.share !== null ? ` (${formatPercent(s.share)})` : '');
  let table: string;
  if (!r.by) {
    table = formatTable(
      [{ header: 'STAGE' }, { header: 'NAME' }, { header: 'USERS', align: 'right' }, { header: 'SHARE', align: 'right' }],
      r.stages.map((s) => [s.stage, s.name, count(s), s.share === null ? '-' : formatPercent(s.share)]),
    );
  } else {
    const groups = r.by.groups;
    table = formatTable(
      [{ header: 'STAGE' }, { header: 'ALL', align: 'right' }, ...groups.map((g) => ({ header: g.group, align: 'right' as const }))],
      [
        ...r.stages.map((s) => [s.stage, count(s) + share(s), ...groups.map((g) => {
          const c = g.stages.find((x) => x.stage === s.stage);
          return count(c) + share(c);
        })]),
        ['total', Math.round(r.population).toLocaleString('en-US'), ...groups.map((g) => Math.round(g.population).toLocaleString('en-US'))],
      ],
    );
  }
  const by = r.by ? `, by ${r.by.label} (shares of each column's released counts)` : '';
  return `${head}${by}\n\n${table}\n\n${renderPrivacyNote(r.privacy)}`;
}

export function renderPrivateExperiment(r: PrivateExperimentSummary): string {
  const out = [`PRIVATE summary of experiment ${r.experiment} (v${r.version}): ${r.name}`];
  out.push(`as of ${r.asOf}; ran ${r.start.slice(0, 10)} to ${r.stop ? r.stop.slice(0, 10) : 'now'}; noisy counts, rates and means; no significance tests`);
  for (const scope of r.scopes) {
    out.push('', scope.breakdown === null ? 'Whole experiment' : `Breakdown by ${scope.breakdown} (as of the start)`);
    if (scope.groups.length === 0) {
      out.push('  No group passed partition selection: too few users per group for this spend.');
      continue;
    }
    for (const g of scope.groups) {
      const where = g.group === null ? '' : `${g.group}: `;
      out.push(`  ${where}exposed users ${g.exposures.map((e) => `${e.variant} ${formatNoisy(e.value, e.ci95, e.suppressed)}`).join(', ')}`);
    }
    for (const info of r.metrics) {
      const clamp = info.clamp
        ? `, each user clamped to [${info.clamp.lower}, ${info.clamp.upper}]${info.clamp.denominator ? `, denominator to [${info.clamp.denominator.lower}, ${info.clamp.denominator.upper}]` : ''}`
        : '';
      out.push('', `${info.role[0]!.toUpperCase()}${info.role.slice(1)} metric ${info.key}: ${info.name} (${info.type}${clamp})`);
      const rate = info.type === 'conversion' || info.type === 'retention';
      const rows = scope.groups.flatMap((g) => (g.metrics.find((m) => m.metric === info.key)?.variants ?? []).map((v) => metricRow(g.group, v, rate, r.difference)));
      out.push(
        formatTable(
          [
            { header: 'group' },
            { header: 'variant' },
            { header: 'users', align: 'right' },
            { header: rate ? 'conversions' : 'sum', align: 'right' },
            { header: rate ? 'rate' : 'mean', align: 'right' },
            { header: `diff (${r.difference})`, align: 'right' },
          ],
          rows,
        ),
      );
    }
  }
  out.push('', renderPrivacyNote(r.privacy));
  return out.join('\n');
}

function metricRow(group: string | null, v: PrivateVariantMetric, rate: boolean, difference: 'relative' | 'absolute'): string[] {
  const value = v.value.value === null ? formatNoisy(null, null, v.value.suppressed) : rate ? `${formatPercent(v.value.value)} ±${formatPercent(v.value.ci95 ?? 0)}` : `${v.value.value.toFixed(2)} ±${(v.value.ci95 ?? 0).toFixed(2)}`;
  const diff = v.difference === null ? '' : difference === 'relative' ? `${v.difference >= 0 ? '+' : ''}${formatPercent(v.difference)}` : `${v.difference >= 0 ? '+' : ''}${v.difference.toFixed(rate ? 4 : 2)}`;
  const numerator = formatNoisy(v.numerator.value, null, v.numerator.suppressed, rate ? 0 : 2);
  return [group ?? '(all)', v.variant, formatNoisy(v.n.value, null, v.n.suppressed), numerator, value, diff];
}
