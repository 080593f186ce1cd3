/**
 * Fairness audits (issue 7): selection rates of segments and models by sensitive attribute,
 * the disparate-impact ratio (four-fifths rule), the demographic-parity difference, equal
 * opportunity and calibration by group, with intervals and one multiple-comparison
 * correction per audit; stored in `fairness_audits` and the audit log.
 */
export * from './fairness-stats.js';
export * from './fairness-sql.js';
export * from './fairness-audit.js';
