/**
 * One line per audit record for `strata audit log`'s table: what the detail says, in the
 * few words a reviewer scans for (the version and the paths a definition change touched,
 * a model's holdout AUC, a plan's additions); `--json` has the whole detail.
 */
import type { AuditRecord } from './audit-log.js';
import { diffSummary, type JsonDiff } from './diff.js';

const MAX = 100;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isDiff(v: unknown): v is JsonDiff {
  return isRecord(v) && Array.isArray(v.added) && Array.isArray(v.removed) && Array.isArray(v.changed);
}

function clip(text: string): string {
  return text.length > MAX ? `${text.slice(0, MAX - 3)}...` : text;
}

/** `v2 (was v1): ~match.did` or `v1: created`. */
function versionPart(d: Record<string, unknown>): string {
  if (typeof d.version !== 'number') return '';
  if (typeof d.previousVersion !== 'number') return `v${d.version}: created`;
  return `v${d.version} (was v${d.previousVersion})${isDiff(d.diff) ? `: ${diffSummary(d.diff, 3)}` : ''}`;
}

function num(v: unknown, digits: number): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
}

/** Scalars of the detail as `key=value`, for actions without a dedicated summary. */
function scalars(d: Record<string, unknown>): string {
  return Object.entries(d)
    .flatMap(([k, v]) => {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return [`${k}=${String(v)}`];
      if (Array.isArray(v)) return [`${k}=[${v.length}]`];
      return [];
    })
    .join(' ');
}

export function auditRecordSummary(r: Pick<AuditRecord, 'action' | 'detail'>): string {
  const d = r.detail;
  if (!isRecord(d)) return clip(d === null || d === undefined ? '' : JSON.stringify(d));
  switch (r.action) {
    case 'segment.add':
    case 'experiment.add':
      return clip(versionPart(d));
    case 'model.train': {
      const h = isRecord(d.holdout) ? d.holdout : null;
      return clip(`${versionPart(d)}; holdout ${h ? `AUC ${num(h.auc, 3)}, log loss ${num(h.logLoss, 3)}, ${String(h.rows)} rows` : 'none'}`);
    }
    case 'personas.save':
      return clip(`${versionPart(d)}; ${typeof d.k === 'number' ? `${d.k} personas` : ''}${typeof d.asOf === 'string' ? ` as of ${d.asOf}` : ''}`);
    case 'plan.write': {
      const a = isRecord(d.added) ? d.added : {};
      const n = (k: string) => (Array.isArray(a[k]) ? (a[k] as unknown[]).length : 0);
      return clip(`+${n('events')} events, +${n('properties')} properties, +${n('traits')} traits${isDiff(d.diff) ? `: ${diffSummary(d.diff, 3)}` : ''}`);
    }
    default:
      return clip(scalars(d));
  }
}
